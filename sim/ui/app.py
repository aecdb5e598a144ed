"""The game window: pygame and pygame_gui set up once, the scene stack, the frame loop.

``App`` owns the window, the pygame_gui manager, the settings, the
typography, the chart cache and the player's session (through the
``sim.session_api.GameSession`` interface only); scenes read and change
those through it.  Nothing is initialised at import time.

The input layer is ``App.handle``, and it decides who gets each key:

1. Esc closes the innermost thing open: an expanded drop-down, then a
   focused text field, then the top scene's own Esc (a dialog's Cancel, a
   screen's "back" — which asks first if leaving would lose work).
2. A focused text field takes every other key (so typing "residential"
   in a search field never triggers the screen's letter keys), and the
   character of a key that just triggered an action is not typed into the
   field that action focused.
3. Otherwise a key is the top scene's action for it (with Ctrl where the
   action needs it); F1 opens the glossary anywhere; F11 toggles full screen.

Closing the window asks before quitting, as the Quit button and Esc on the
title do.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pygame
import pygame_gui

from ..output_paths import write_atomically
from ..planning import PlanEditor
from ..session import AutosaveError, default_home, read_autosave, stop_background
from ..session_api import GameSession
from . import draw
from .assets import font, theme_for
from .draw import BACKGROUND, ChartCache
from .scene import SceneManager, find_action
from .settings import Settings, fit_window
from .typography import Typography, window_scale

#: Key repeat for held keys outside text fields (delay, interval), milliseconds.
KEY_REPEAT = (400, 40)


class App:
    """The game: a window, a scene stack and a player's session.

    Args:
        size: initial window size, pixels (default: the saved setting).
        home: folder for the autosave and settings (default ``$CCSIM_HOME`` or ~/.ccsim).
        scenario: a shipped scenario name or a file to preselect.
        seed: the seed to preselect.
        prospects: play on a market of this size (tests, demos, benchmarks).
        large_text: large text for this run (default: the saved setting).
        tour: show the guided first turn (default: unless the settings say it was seen).
    """

    def __init__(self, size: tuple[int, int] | None = None, home: str | Path | None = None,
                 scenario: str | None = None, seed: int | None = None,
                 prospects: int | None = None, large_text: bool | None = None,
                 tour: bool | None = None):
        self.home = Path(home) if home else default_home()
        self.settings, self.settings_message = Settings.load(self.home)
        try:
            self.home.mkdir(parents=True, exist_ok=True)    # the autosave's folder, on first run
        except OSError as exc:
            self.settings_message = (f"{self.home}: cannot be created ({exc.strerror or exc}); "
                                     "games will not be saved")
        if self.settings_message:
            print(self.settings_message, file=sys.stderr)
        self.large_text = self.settings.large_text if large_text is None else bool(large_text)
        self.tour = (not self.settings.tour_done) if tour is None else bool(tour)
        self.tour_seen: set[str] = set()
        self.preselect = (scenario, seed)
        self.prospects = prospects
        pygame.init()
        # Fonts from an earlier pygame session (a previous App) died with it.
        font.cache_clear()
        pygame.display.set_caption("Customer Centricity Simulator")
        pygame.key.set_repeat(*KEY_REPEAT)
        self.screen = self._set_mode(size or self.settings.window, self.settings.fullscreen)
        self.typography = self._typography()
        self.ui = self._make_ui()
        self.scenes = SceneManager(self)
        self.charts = ChartCache()
        self.session: GameSession | None = None
        self.editor: PlanEditor | None = None     # this turn's plan, with undo
        self.last_result = None     # the last turn's TurnResult, for the results scene
        self.notice = ""            # a problem the next screen must tell (an autosave that failed)
        self.handoff: dict = {}     # what an overlay leaves for the screen below (a tier to select)
        self.clock = pygame.time.Clock()
        self.running = True
        self.mouse = (0, 0)
        self._swallow_text: str | None = None

        from . import scenes  # noqa: F401  (registers every scene by name)
        self.scenes.push("title", message=self.settings_message)

    # ------------------------------------------------------------ window
    @property
    def autosave_path(self) -> Path:
        return self.home / "autosave.json"

    @property
    def size(self) -> tuple[int, int]:
        return self.screen.get_size()

    @property
    def scale(self) -> float:
        """Layout scale: 1.0 at 1280x720, 1.5 at 1920x1080 (the smaller of the two ratios)."""
        return window_scale(self.size)

    def px(self, base: float) -> int:
        """A size given for 1280x720, in pixels for this window."""
        return int(round(base * self.scale))

    @property
    def plan(self):
        """The plan being edited this turn (``editor.plan``)."""
        return self.editor.plan if self.editor else None

    def _typography(self) -> Typography:
        # Text never shrinks below 90% of its 1280x720 size: a 1024x768 window keeps readable text
        # (the layouts make room for it).
        return Typography(max(0.9, self.scale), self.large_text)

    @staticmethod
    def display_size() -> tuple[int, int] | None:
        """The screen's size, or None where pygame cannot tell (a headless driver)."""
        if pygame.display.get_driver() in ("dummy", "offscreen"):
            return None
        try:
            sizes = pygame.display.get_desktop_sizes()
        except pygame.error:
            return None
        return tuple(sizes[0]) if sizes else None

    def _set_mode(self, size, fullscreen: bool) -> pygame.Surface:
        if fullscreen:
            return pygame.display.set_mode((0, 0), pygame.FULLSCREEN)
        return pygame.display.set_mode(fit_window(size, self.display_size()), pygame.RESIZABLE)

    def _make_ui(self) -> pygame_gui.UIManager:
        return pygame_gui.UIManager(self.size, theme_for(self.typography), enable_live_theme_updates=False)

    def relayout(self) -> None:
        """Lay the top scene out again for the window and text size now."""
        top = self.scenes.top
        if top:
            top.leave()
        self.typography = self._typography()
        self.ui = self._make_ui()
        self.charts.clear()
        self.scenes.rebuild()

    def resize(self, size: tuple[int, int], fullscreen: bool | None = None) -> None:
        """Change the window (or follow the player's drag) and lay the scene out again."""
        if fullscreen is not None:
            self.settings.fullscreen = fullscreen
        self.screen = self._set_mode(size, self.settings.fullscreen)
        self.relayout()

    def set_large_text(self, on: bool) -> None:
        """Switch large text on or off (and remember it) and lay the screen out again."""
        self.large_text = self.settings.large_text = bool(on)
        self.save_settings()
        self.relayout()

    def save_settings(self) -> str:
        message = self.settings.save(self.home)
        if message:
            print(message, file=sys.stderr)
        return message

    # ------------------------------------------------------------ input
    def handle(self, event: pygame.event.Event) -> None:
        """The input layer (see the module docstring for who gets each key)."""
        if event.type == pygame.QUIT:
            self.request_quit()
            return
        if event.type == pygame.VIDEORESIZE:
            if event.size != self.size:
                self.resize(event.size)
            return
        if event.type == pygame.MOUSEMOTION:
            self.mouse = event.pos
        scene = self.scenes.top
        if event.type == pygame.TEXTINPUT and self._swallow_text is not None:
            swallow, self._swallow_text = self._swallow_text, None
            if event.text == swallow:
                return          # the character of a key that was an action, not typing
        if event.type == pygame.KEYDOWN:
            self._swallow_text = None
            if event.key == pygame.K_ESCAPE and self._close_innermost():
                return
            if event.key == pygame.K_F1 and scene is not None and scene.name != "glossary":
                self.scenes.push("glossary")
                return
        consumed = self.ui.process_events(event)
        if scene is None:
            return
        if event.type == pygame_gui.UI_BUTTON_PRESSED:
            act = next((a for a in scene.actions if a.button is event.ui_element), None)
            if act:
                scene.on_intent(act.intent)
                return
        handled = scene.on_event(event)
        if event.type == pygame_gui.UI_TEXT_ENTRY_FINISHED:
            # Enter in a field confirms it and hands the keyboard back to the scene's keys.
            self.ui.set_focus_set(None)
            pygame.key.set_repeat(*KEY_REPEAT)
        if handled or event.type != pygame.KEYDOWN or consumed:
            return
        if self.typing():
            return                  # a focused field takes every key
        if any(isinstance(w, pygame_gui.elements.UIWindow) and w.alive() for w in scene.widgets):
            return                  # a dialog window (the file picker) is open: the screen's keys wait
        if event.key == pygame.K_F11:
            self.resize(self.settings.window, not self.settings.fullscreen)
            return
        act = find_action(scene, event.key, event.mod if hasattr(event, "mod") else 0)
        if act:
            if getattr(event, "unicode", "") and event.unicode.isprintable():
                self._swallow_text = event.unicode
            scene.on_intent(act.intent)

    def _close_innermost(self) -> bool:
        """Esc: close an open drop-down or leave a focused field; True if one was closed."""
        scene = self.scenes.top
        for widget in reversed(scene.widgets if scene else ()):
            if isinstance(widget, pygame_gui.elements.UIDropDownMenu) \
                    and widget.current_state is widget.menu_states["expanded"]:
                widget._close_dropdown_if_open()
                return True
            if isinstance(widget, pygame_gui.elements.UIWindow) and widget.alive():
                widget.kill()           # a dialog window (the file picker): Esc is its Cancel
                return True
        if self.typing():
            self.ui.set_focus_set(None)
            pygame.key.set_repeat(*KEY_REPEAT)
            return True
        return False

    def typing(self) -> bool:
        """True while a text field has the keyboard (keys type instead of acting)."""
        return any(isinstance(w, pygame_gui.elements.UITextEntryLine) and w.is_focused
                   for w in self.ui.get_focus_set() or ())

    def focus(self, entry) -> None:
        """Give ``entry`` the keyboard (as a click on it would)."""
        self.ui.set_focus_set(entry)

    def confirm(self, question: str, detail: str, yes: str, on_yes, no: str = "Cancel",
                purpose: str = "") -> None:
        """Ask before doing something that loses work; ``on_yes()`` runs only on yes."""
        self.scenes.push("confirm", question=question, detail=detail, yes=yes, no=no,
                         on_yes=on_yes, purpose=purpose)

    def request_quit(self) -> None:
        """Quit, after asking (a second request while asking quits at once)."""
        top = self.scenes.top
        if top is not None and getattr(top, "purpose", "") == "quit":
            self.quit()
            return
        detail = "The game is saved after every turn; Continue resumes it."
        if self.editor is not None and self.editor.edited and self.session is not None \
                and not self.session.done:
            detail = ("This turn's plan has changes that are saved only when you end the turn: "
                      "they will be lost. " + detail)
        self.confirm("Quit the game?", detail, "Quit", self.quit, "Stay", purpose="quit")

    # ------------------------------------------------------------ frames
    def frame(self, dt: float) -> None:
        """One frame: events, update, draw."""
        for event in pygame.event.get():
            self.handle(event)
            if not self.running:
                return
        self.ui.update(dt)
        scene = self.scenes.top      # update may have changed scenes
        if scene:
            scene.update(dt)
            scene = self.scenes.top
            scene.prepare()
            scene.tooltips.update(dt, self.mouse)
        self.draw()

    def draw(self) -> None:
        scene = self.scenes.top
        if draw.RECORD is not None:
            draw.RECORD.clear()
        if getattr(scene, "_layer", None) is None:
            self.screen.fill(BACKGROUND)     # (a cached layer covers the whole window)
        if scene:
            scene.draw(self.screen)
        self.ui.draw_ui(self.screen)
        if scene:
            scene.tooltips.draw(self.screen, self.typography.size("tooltip"), self.mouse)
        pygame.display.flip()

    def run(self) -> None:
        """The main loop at up to 60 frames per second until the player quits."""
        while self.running:
            dt = self.clock.tick(60) / 1000.0
            self.frame(dt)
        pygame.quit()

    def pump(self, frames: int = 1, dt: float = 1 / 60) -> None:
        """Run ``frames`` frames without waiting (tests and the demo)."""
        for _ in range(frames):
            self.frame(dt)

    def screenshot(self, path: str | Path) -> Path:
        """Save the window as a PNG (atomically: ``sim.output_paths``)."""
        png = io.BytesIO()
        pygame.image.save(self.screen, png, "screenshot.png")
        return write_atomically(path, png.getvalue(), "the screenshot")

    # ------------------------------------------------------------ the game
    def start_session(self, session: GameSession) -> None:
        """Play ``session`` from now on: its plan for this turn starts as the default."""
        self.session = session
        self.editor = PlanEditor(session.default_plan()) if not session.done else None
        self.last_result = None
        self.charts.clear()

    def open_session(self, session: GameSession) -> None:
        """Play a game started elsewhere (a class server's): its dashboard, or its debrief if over."""
        self.start_session(session)
        self.scenes.reset("debrief" if session.done else "dashboard")

    def new_turn(self) -> None:
        """A turn was played: the next turn's plan starts from the one just played."""
        if self.session is not None and not self.session.done:
            self.editor = PlanEditor(self.session.default_plan())
        else:
            self.editor = None

    @staticmethod
    def saved_game(path) -> tuple[str, int, int] | None:
        """(business, turns played, turns) of the saved game at ``path``; None if there is none
        or it is not one (a finished game's record counts, with every turn played)."""
        try:
            scenario, _seed, decisions, _books, _lab = read_autosave(path)
        except (AutosaveError, OSError, ValueError):
            return None
        return scenario.name, len(decisions), scenario.turns

    def tour_due(self, screen: str) -> bool:
        """True if the guided first turn should explain ``screen`` now (turn 1, not yet shown)."""
        return (self.tour and screen not in self.tour_seen and self.session is not None
                and self.session.turn == 1)

    def end_tour(self) -> None:
        """The guided tour was finished or skipped: never again (saved in the settings)."""
        self.tour = False
        if not self.settings.tour_done:
            self.settings.tour_done = True
            self.save_settings()

    def quit(self) -> None:
        self.running = False


def run_game(scenario: str | None = None, seed: int | None = None, large_text: bool | None = None,
             session: GameSession | None = None) -> int:
    """Open the game window (``ccsim play``); returns the exit status.

    Args:
        session: a game already under way (a class server's, ``ccsim play --join``):
            the window opens on its dashboard (its debrief once the game is over).
    """
    app = App(scenario=scenario, seed=seed, large_text=large_text or None)
    if session is not None:
        app.open_session(session)
    try:
        app.run()
    finally:
        stop_background()
    return 0
