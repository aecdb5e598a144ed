"""The game window: pygame and pygame_gui set up once, the scene stack, the frame loop.

``App`` owns the window, the pygame_gui manager, the settings, the chart
cache and the player's session; scenes read and change those through it.
Nothing is initialised at import time.  The input layer is ``App.handle``:
a key becomes an intent of the top scene's actions unless a text field has
the keyboard (then it types), a resize rebuilds the scene for the new size.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import pygame
import pygame_gui

from ..session import PlayerSession, default_home
from .assets import font, theme_for
from .draw import BACKGROUND, ChartCache
from .scene import SceneManager, find_action

#: Window sizes offered in the settings, pixels.
WINDOW_SIZES = ((1280, 720), (1600, 900), (1920, 1080))
#: The smallest window the layouts are made for.
MIN_SIZE = (960, 600)


@dataclass
class Settings:
    """The player's preferences, kept in settings.json beside the autosave.

    Attributes:
        window: window size in pixels (when not full screen).
        fullscreen: use the whole screen.
        palette: chart colours: "colour-blind safe" (Okabe-Ito, default) or "standard".
    """

    window: tuple[int, int] = (1280, 720)
    fullscreen: bool = False
    palette: str = "colour-blind safe"

    @classmethod
    def load(cls, home: Path) -> "Settings":
        """The saved settings, or the defaults if there are none or they are damaged."""
        try:
            data = json.loads((home / "settings.json").read_text(encoding="utf-8"))
            window = tuple(int(v) for v in data.get("window", (1280, 720)))[:2]
            palette = data.get("palette", "colour-blind safe")
            return cls(window if len(window) == 2 and min(window) > 0 else (1280, 720),
                       bool(data.get("fullscreen", False)),
                       palette if palette in ("colour-blind safe", "standard") else "colour-blind safe")
        except (OSError, ValueError, TypeError, AttributeError):
            return cls()

    def save(self, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        tmp = home / "settings.json.tmp"
        tmp.write_text(json.dumps(asdict(self)), encoding="utf-8")
        os.replace(tmp, home / "settings.json")


class App:
    """The game: a window, a scene stack and a player's session.

    Args:
        size: initial window size, pixels (default: the saved setting).
        home: folder for the autosave and settings (default ``$CCSIM_HOME`` or ~/.ccsim).
        scenario: a shipped scenario name or a file to preselect.
        seed: the seed to preselect.
        prospects: play on a market of this size (tests, demos, benchmarks).
    """

    def __init__(self, size: tuple[int, int] | None = None, home: str | Path | None = None,
                 scenario: str | None = None, seed: int | None = None,
                 prospects: int | None = None):
        self.home = Path(home) if home else default_home()
        self.settings = Settings.load(self.home)
        self.preselect = (scenario, seed)
        self.prospects = prospects
        pygame.init()
        # Fonts from an earlier pygame session (a previous App) died with it.
        font.cache_clear()
        pygame.display.set_caption("Customer Centricity Simulator")
        pygame.key.set_repeat(400, 40)
        self.screen = self._set_mode(size or self.settings.window, self.settings.fullscreen)
        self.ui = self._make_ui()
        self.scenes = SceneManager(self)
        self.charts = ChartCache()
        self.session: PlayerSession | None = None
        self.plan = None            # the decision being edited this turn (a sim.session.Plan)
        self.last_result = None     # the last turn's TurnResult, for the results scene
        self.clock = pygame.time.Clock()
        self.running = True
        self.mouse = (0, 0)
        self.frame_ms = 0.0

        from .scenes.title import TitleScene
        self.scenes.push(TitleScene(self))

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
        w, h = self.size
        return max(0.75, min(w / 1280, h / 720))

    def px(self, base: float) -> int:
        """A size given for 1280x720, in pixels for this window."""
        return int(round(base * self.scale))

    def _set_mode(self, size, fullscreen: bool) -> pygame.Surface:
        size = (max(MIN_SIZE[0], int(size[0])), max(MIN_SIZE[1], int(size[1])))
        flags = pygame.FULLSCREEN if fullscreen else pygame.RESIZABLE
        return pygame.display.set_mode((0, 0) if fullscreen else size, flags)

    def _make_ui(self) -> pygame_gui.UIManager:
        return pygame_gui.UIManager(self.size, theme_for(self.scale), enable_live_theme_updates=False)

    def resize(self, size: tuple[int, int], fullscreen: bool | None = None) -> None:
        """Change the window (or follow the player's drag) and lay the scene out again."""
        if fullscreen is not None:
            self.settings.fullscreen = fullscreen
        self.screen = self._set_mode(size, self.settings.fullscreen)
        top = self.scenes.top
        if top:
            top.leave()
        self.ui = self._make_ui()
        self.charts.clear()
        self.scenes.rebuild()

    # ------------------------------------------------------------ input
    def handle(self, event: pygame.event.Event) -> None:
        """The input layer: window events, widgets, then keys as the scene's intents."""
        if event.type == pygame.QUIT:
            self.running = False
            return
        if event.type == pygame.VIDEORESIZE:
            if event.size != self.size:
                self.resize(event.size)
            return
        if event.type == pygame.MOUSEMOTION:
            self.mouse = event.pos
        scene = self.scenes.top
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
        if handled:
            return
        if event.type == pygame.KEYDOWN and not consumed:
            if self._typing():
                if event.key == pygame.K_ESCAPE:
                    self.ui.set_focus_set(None)     # Esc leaves the field, not the screen
                return
            if event.key == pygame.K_F11:
                self.resize(self.settings.window, not self.settings.fullscreen)
                return
            act = find_action(scene, event.key)
            if act:
                scene.on_intent(act.intent)

    def _typing(self) -> bool:
        """True while a text field has the keyboard (keys type instead of acting)."""
        return any(isinstance(w, pygame_gui.elements.UITextEntryLine) and w.is_focused
                   for w in self.ui.get_focus_set() or ())

    # ------------------------------------------------------------ frames
    def frame(self, dt: float) -> None:
        """One frame: events, update, draw."""
        for event in pygame.event.get():
            self.handle(event)
            if not self.running:
                return
        scene = self.scenes.top
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
        if getattr(scene, "_layer", None) is None:
            self.screen.fill(BACKGROUND)     # (a cached layer covers the whole window)
        if scene:
            scene.draw(self.screen)
        self.ui.draw_ui(self.screen)
        if scene:
            scene.tooltips.draw(self.screen, self.px(14), self.mouse)
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
        path = Path(path)
        pygame.image.save(self.screen, str(path))
        return path

    def start_session(self, session: PlayerSession) -> None:
        """Play ``session`` from now on: its plan for this turn starts as the default."""
        self.session = session
        self.plan = session.default_plan()
        self.last_result = None
        self.charts.clear()

    def quit(self) -> None:
        self.running = False


def run_game(scenario: str | None = None, seed: int | None = None) -> int:
    """Open the game window (``ccsim play``); returns the exit status."""
    from ..references import shutdown_background

    app = App(scenario=scenario, seed=seed)
    try:
        app.run()
    finally:
        shutdown_background()
    return 0
