"""The title screen and the settings screen."""

from __future__ import annotations

import pygame
import pygame_gui

from ...records import RecordError, read_record
from ...session import AutosaveError, PlayerSession
from .. import draw
from ..app import WINDOW_SIZES
from ..scene import Scene


class TitleScene(Scene):
    """New game, continue the autosave, open a record, settings, quit."""

    name = "title"

    def __init__(self, app, message: str = ""):
        super().__init__(app)
        self.message = message
        self.dialog = None

    def build(self, rect: pygame.Rect) -> None:
        px = self.app.px
        w, h = px(360), px(48)
        x = rect.centerx - w // 2
        y = int(rect.height * 0.42)
        has_save = self.app.autosave_path.exists()
        items = [("new", pygame.K_n, "New game", "Choose a business and a seed, then play.", "primary"),
                 ("continue", pygame.K_c, "Continue", "Resume the autosaved game at the last "
                  "finished turn." if has_save else "No game has been autosaved yet.", None),
                 ("open", pygame.K_o, "Open a record", "Open a finished game's record (its debrief) "
                  "or a saved game.", None),
                 ("settings", pygame.K_s, "Settings", "Window size, full screen, chart colours.", None),
                 ("quit", pygame.K_q, "Quit", None, "danger")]
        for i, (intent, key, label, tip, oid) in enumerate(items):
            act = self.action(intent, key, label, pygame.Rect(x, y + i * (h + px(12)), w, h), tip, oid)
            if intent == "continue" and not has_save:
                act.button.disable()
        self.action("quit", pygame.K_ESCAPE)

    def on_intent(self, intent: str) -> None:
        from .briefing import BriefingScene

        if intent == "new":
            self.app.scenes.push(BriefingScene(self.app))
        elif intent == "continue":
            self.resume_from(self.app.autosave_path)
        elif intent == "open":
            self._open_dialog()
        elif intent == "settings":
            self.app.scenes.push(SettingsScene(self.app))
        elif intent == "quit":
            self.app.quit()

    def resume_from(self, path) -> bool:
        """Resume the saved game at ``path``; on failure show why and stay here."""
        from .game import DashboardScene
        from .debrief import DebriefScene

        try:
            session = PlayerSession.resume(path)
        except AutosaveError as exc:
            self.message = f"Cannot continue: {exc}"
            return False
        session.autosave_path = self.app.autosave_path
        self.app.start_session(session)
        self.app.scenes.reset(DebriefScene(self.app) if session.done else DashboardScene(self.app))
        return True

    def open_path(self, path) -> bool:
        """Open a record (show its debrief) or a saved game (resume it)."""
        from .debrief import DebriefScene

        try:
            record = read_record(path, partial=True)
        except RecordError as exc:
            self.message = f"Cannot open: {exc}"
            return False
        if record.partial:
            return self.resume_from(path)
        self.app.session = None
        self.app.scenes.push(DebriefScene(self.app, record=record))
        return True

    def _open_dialog(self) -> None:
        size = self.app.size
        rect = pygame.Rect(0, 0, min(size[0] - 40, self.app.px(720)), min(size[1] - 40, self.app.px(520)))
        rect.center = (size[0] // 2, size[1] // 2)
        self.dialog = self.add(pygame_gui.windows.UIFileDialog(
            rect, self.ui, window_title="Open a game record (.json)",
            initial_file_path=str(self.app.home), allow_existing_files_only=True))

    def on_event(self, event) -> bool:
        if event.type == pygame_gui.UI_FILE_DIALOG_PATH_PICKED and event.ui_element is self.dialog:
            self.dialog = None
            self.open_path(event.text)
            return True
        return False

    def layer_key(self):
        return (self.message,)

    def paint(self, surface: pygame.Surface) -> None:
        rect = surface.get_rect()
        px = self.app.px
        draw.text(surface, "Customer Centricity Simulator", (rect.centerx, int(rect.height * 0.14)),
                  px(44), bold=True, anchor="midtop", max_width=rect.width - 40)
        draw.text(surface, "Find the customers worth having, keep the ones worth keeping — "
                  "and prove it in firm value.", (rect.centerx, int(rect.height * 0.14) + px(64)),
                  px(18), draw.MUTED, anchor="midtop", max_width=rect.width - 40)
        if self.message:
            box = pygame.Rect(rect.width * 0.15, rect.height - px(90), rect.width * 0.7, px(70))
            draw.paragraph(surface, self.message, box, px(16), draw.BAD)


class SettingsScene(Scene):
    """Window size, full screen and the chart palette (saved for next time)."""

    name = "settings"

    def build(self, rect: pygame.Rect) -> None:
        px = self.app.px
        s = self.app.settings
        w, h = px(420), px(46)
        x, y = rect.centerx - w // 2, px(170)
        for i, size in enumerate(WINDOW_SIZES):
            current = tuple(s.window) == size and not s.fullscreen
            self.action(f"size{i}", pygame.K_1 + i, f"Window {size[0]}x{size[1]}" + ("  (now)" if current else ""),
                        pygame.Rect(x, y, w, h), object_id="tab_active" if current else None)
            y += h + px(10)
        self.action("fullscreen", pygame.K_f, f"Full screen: {'on' if s.fullscreen else 'off'}",
                    pygame.Rect(x, y, w, h), "F11 toggles full screen anywhere.")
        y += h + px(10)
        self.action("palette", pygame.K_p, f"Chart colours: {s.palette}", pygame.Rect(x, y, w, h),
                    "Colour-blind safe uses the Okabe-Ito colours, readable with every common "
                    "colour-vision deficiency.")
        y += h + px(24)
        self.action("back", pygame.K_ESCAPE, "Back", pygame.Rect(x, y, w, h))

    def on_intent(self, intent: str) -> None:
        s = self.app.settings
        if intent.startswith("size"):
            s.window = WINDOW_SIZES[int(intent[4:])]
            s.fullscreen = False
            s.save(self.app.home)
            self.app.resize(s.window, False)
        elif intent == "fullscreen":
            s.fullscreen = not s.fullscreen
            s.save(self.app.home)
            self.app.resize(s.window, s.fullscreen)
        elif intent == "palette":
            s.palette = "standard" if s.palette == "colour-blind safe" else "colour-blind safe"
            s.save(self.app.home)
            self.app.charts.clear()
            self.enter()
        elif intent == "back":
            self.app.scenes.pop()

    def layer_key(self):
        return ()

    def paint(self, surface: pygame.Surface) -> None:
        rect = surface.get_rect()
        draw.text(surface, "Settings", (rect.centerx, self.app.px(80)), self.app.px(36), bold=True,
                  anchor="midtop")
