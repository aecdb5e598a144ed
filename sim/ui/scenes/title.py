"""The title screen: new game, continue, open a record, settings, glossary, quit."""

from __future__ import annotations

import pygame
import pygame_gui

from ...records import RecordError, read_record
from ...session import AutosaveError, PlayerSession
from .. import draw
from ..layout import cut_top
from ..scene import Scene, register


@register
class TitleScene(Scene):
    """New game, continue the autosave, open a record, settings, glossary, quit."""

    name = "title"

    def __init__(self, app, message: str = ""):
        super().__init__(app)
        self.message = message
        self.dialog = None

    def build(self, rect: pygame.Rect) -> None:
        t = self.typo
        has_save = self.app.autosave_path.exists()
        items = [("new", pygame.K_n, "New game", "Choose a business and a seed, then play.", "primary"),
                 ("continue", pygame.K_c, "Continue", "Resume the autosaved game at the last "
                  "finished turn." if has_save else "No game has been autosaved yet.", None),
                 ("open", pygame.K_o, "Open a record", "Open a finished game's record (its debrief) "
                  "or a saved game.", None),
                 ("settings", pygame.K_s, "Settings", "Window size, full screen, large text, "
                  "chart colours.", None),
                 ("glossary", pygame.K_F1, "Glossary", "What CLV, P(alive), DERT, C3, RFM... mean.", None),
                 ("quit", pygame.K_q, "Quit", None, "danger")]
        w = max(self.button_width(label, key) for _, key, label, _, _ in items)
        w = min(rect.width - 2 * t.em, max(w, int(t.em * 18)))
        h, gap = t.control, max(6, t.em // 2)
        self.heading_bottom = rect.top + int(rect.height * 0.08) + t.line("display") + \
            draw.paragraph_height(self.SUBTITLE, t.body, rect.width - 4 * t.em) + t.em
        column = pygame.Rect(rect.centerx - w // 2, self.heading_bottom + t.em, w,
                             len(items) * (h + gap))
        for i, (intent, key, label, tip, oid) in enumerate(items):
            act = self.action(intent, key, label, pygame.Rect(column.left, column.top + i * (h + gap), w, h),
                              tip, oid)
            if intent == "continue" and not has_save:
                act.button.disable()
        self.action("quit", pygame.K_ESCAPE)
        self.message_rect = pygame.Rect(rect.left + 2 * t.em, column.bottom + t.em, rect.width - 4 * t.em,
                                        rect.bottom - column.bottom - 2 * t.em)

    SUBTITLE = ("Find the customers worth having, keep the ones worth keeping — and prove it in "
                "firm value.")

    def on_intent(self, intent: str) -> None:
        if intent == "new":
            self.app.scenes.push("briefing")
        elif intent == "continue":
            self.resume_from(self.app.autosave_path)
        elif intent == "open":
            self._open_dialog()
        elif intent == "settings":
            self.app.scenes.push("settings")
        elif intent == "glossary":
            self.app.scenes.push("glossary")
        elif intent == "quit":
            self.app.request_quit()

    def resume_from(self, path) -> bool:
        """Resume the saved game at ``path``; on failure show why and stay here."""
        try:
            session = PlayerSession.resume(path)
        except AutosaveError as exc:
            self.message = f"Cannot continue: {exc}"
            return False
        session.autosave_path = self.app.autosave_path
        self.app.start_session(session)
        self.app.scenes.reset("debrief" if session.done else "dashboard")
        return True

    def open_path(self, path) -> bool:
        """Open a record (show its debrief) or a saved game (resume it, asking first if
        that replaces a game in progress)."""
        try:
            record = read_record(path, partial=True)
        except RecordError as exc:
            self.message = f"Cannot open: {exc}"
            return False
        if record.partial:
            in_progress = self.app.saved_game(self.app.autosave_path)
            same = _same_file(path, self.app.autosave_path)
            if in_progress is not None and in_progress[1] < in_progress[2] and not same:
                self.app.confirm(
                    "Open this saved game?",
                    f"It becomes your game in progress and replaces the one saved now "
                    f"({in_progress[0]}, {in_progress[1]} of {in_progress[2]} turns played), "
                    "which cannot be continued afterwards.",
                    "Open it", lambda: self.resume_from(path), "Keep mine")
                return True
            return self.resume_from(path)
        self.app.session = None
        self.app.editor = None
        self.app.scenes.push("debrief", record=record)
        return True

    def _open_dialog(self) -> None:
        size = self.app.size
        t = self.typo
        rect = pygame.Rect(0, 0, min(size[0] - 40, t.em * 46), min(size[1] - 40, t.em * 32))
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
        t = self.typo
        top = rect.top + int(rect.height * 0.08)
        draw.text(surface, "Customer Centricity Simulator", (rect.centerx, top), t.display, bold=True,
                  anchor="midtop", max_width=rect.width - 2 * t.em)
        sub, _ = cut_top(pygame.Rect(rect.left + 2 * t.em, top + t.line("display"), rect.width - 4 * t.em,
                                     rect.height), self.heading_bottom - top - t.line("display"))
        lines = draw.wrap(self.SUBTITLE, t.body, sub.width)
        y = sub.top
        for line in lines:
            draw.text(surface, line, (rect.centerx, y), t.body, draw.MUTED, anchor="midtop")
            y += t.line()
        if self.message:
            draw.paragraph(surface, self.message, self.message_rect, t.body, draw.BAD)


def _same_file(a, b) -> bool:
    import os

    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
