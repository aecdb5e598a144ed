"""Scenes, the registry that names them, and the scene manager (push / pop / replace).

After Tuxemon's state machine.  A scene owns its widgets only while it is
on top: ``enter`` builds them for the current window, ``leave`` kills them.
A resize rebuilds the top scene's widgets from its own state, so every
scene lays itself out for any window and text size.  ``draw`` only paints:
all changes happen in ``on_intent``, ``on_event`` and ``update``.

Scenes reach each other by *name* through the registry (``register``;
``app.scenes.push("glossary")``), never by importing each other, so the
scene modules form no import cycle (``tests/test_ui_structure.py``).

Every action a scene offers is an ``Action``: an intent, a key (with its
modifiers) and usually a button showing the key, so the keyboard reaches
everything the mouse does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pygame
import pygame_gui

from . import draw
from .draw import BACKGROUND, Tooltips

if TYPE_CHECKING:
    from .app import App

#: Scene name -> scene class, filled by ``register`` as ``sim.ui.scenes`` is imported.
REGISTRY: dict[str, type["Scene"]] = {}


def register(cls: type["Scene"]) -> type["Scene"]:
    """Class decorator: make ``cls`` reachable by its ``name``."""
    if cls.name in REGISTRY and REGISTRY[cls.name] is not cls:
        raise ValueError(f"two scenes named {cls.name!r}")
    REGISTRY[cls.name] = cls
    return cls


@dataclass
class Action:
    """Something the player can do in a scene.

    Attributes:
        intent: the scene's name for it (passed to ``on_intent``).
        key: the pygame key that triggers it (None: mouse only, e.g. a list entry).
        button: the widget that triggers it, if any.
        ctrl: the key needs Ctrl (or Cmd) held.
    """

    intent: str
    key: int | None
    button: pygame_gui.elements.UIButton | None = None
    ctrl: bool = False


def key_label(key: int | None, ctrl: bool = False) -> str:
    if key is None:
        return ""
    name = pygame.key.name(key)
    shown = {"return": "Enter", "escape": "Esc", "tab": "Tab", "space": "Space",
             "page up": "PgUp", "page down": "PgDn", "backspace": "Bksp", "delete": "Del",
             "up": "Up", "down": "Down", "left": "Left", "right": "Right"}.get(name, name.upper())
    return f"Ctrl+{shown}" if ctrl else shown


def button_label(label: str, key: int | None, ctrl: bool = False) -> str:
    """A button's text with its key: "End turn  [Enter]"."""
    return f"{label}  [{key_label(key, ctrl)}]" if key is not None else label


class Scene:
    """A screen of the game.  Subclasses override ``build`` and the hooks they need."""

    #: Short name: the registry's key, used in screenshots and tests.
    name = "scene"
    #: An overlay (dialog, glossary, guide) drawn over a still picture of the scene below.
    modal = False

    def __init__(self, app: "App"):
        self.app = app
        self.actions: list[Action] = []
        self.widgets: list = []
        self.tooltips = Tooltips()
        self.backdrop: pygame.Surface | None = None

    # -- lifecycle
    def enter(self) -> None:
        """Build the widgets for the current window (on push, resume and resize)."""
        self.leave()
        self._layer = None          # the layout changed: paint afresh
        self.build(self.app.screen.get_rect())

    def leave(self) -> None:
        for w in self.widgets:
            w.kill()
        self.widgets.clear()
        self.actions.clear()
        self.tooltips.clear()

    def build(self, rect: pygame.Rect) -> None:
        """Create this scene's widgets inside ``rect`` (the window)."""

    def guide_targets(self) -> dict[str, pygame.Rect]:
        """Named rectangles the guided tour may point at (the layout's own)."""
        return {}

    # -- helpers for subclasses
    @property
    def ui(self) -> pygame_gui.UIManager:
        return self.app.ui

    @property
    def typo(self):
        """The app's typography: text sizes by role for this window and text mode."""
        return self.app.typography

    def add(self, widget):
        self.widgets.append(widget)
        return widget

    def button_width(self, label: str, key: int | None = None, small: bool = False,
                     ctrl: bool = False) -> int:
        """Width a button needs for ``label`` and its key, with padding, pixels."""
        size = self.typo.size("widget_small" if small else "widget")
        return draw.text_width(button_label(label, key, ctrl), size, bold=True) + 2 * size

    def action(self, intent: str, key: int | None, label: str | None = None,
               rect: pygame.Rect | None = None, tooltip: str | None = None,
               object_id: str | None = None, ctrl: bool = False, show_key: bool = True) -> Action:
        """Register an action; with a label and a rect also a button (showing its key unless
        ``show_key`` is False, where room is short: the tooltip and the glossary still say it)."""
        button = None
        if label is not None and rect is not None:
            shown = button_label(label, key, ctrl) if show_key else label
            button = self.add(pygame_gui.elements.UIButton(
                rect, shown, self.ui, tool_tip_text=tooltip,
                object_id=pygame_gui.core.ObjectID(object_id=f"#{object_id}") if object_id else None))
        act = Action(intent, key, button, ctrl)
        self.actions.append(act)
        return act

    # -- events
    def on_event(self, event: pygame.event.Event) -> bool:
        """A pygame or pygame_gui event; return True when handled."""
        return False

    def on_intent(self, intent: str) -> None:
        """Do what an action asks."""

    def update(self, dt: float) -> None:
        """Advance time by ``dt`` seconds (background work, timers)."""

    def layer_key(self):
        """Everything the painting depends on, or None to paint every frame.

        While the key stays the same the painted layer is reused: an idle
        screen costs one blit, not hundreds of text renders.
        """
        return None

    def prepare(self) -> None:
        """Repaint the cached layer if what it shows changed (called after ``update``)."""
        key = self.layer_key()
        size = self.app.screen.get_size()
        if key is None or draw.RECORD is not None:
            # Painting every frame (or recording the layout: every text must be seen drawn).
            self._layer = None
            return
        key = (key, self.app.typography)
        if key != getattr(self, "_layer_key", None) or getattr(self, "_layer", None) is None \
                or self._layer.get_size() != size:
            # Opaque, in the display's format: blitting it each frame is a plain copy.
            self._layer = pygame.Surface(size).convert() if pygame.display.get_surface() \
                else pygame.Surface(size)
            self._paint_all(self._layer)
            self._layer_key = key

    def _paint_all(self, surface: pygame.Surface) -> None:
        if self.backdrop is not None:
            # An overlay: the scene below as it was, dimmed, under this one's painting.
            picture = self.backdrop
            if picture.get_size() != surface.get_size():
                picture = pygame.transform.smoothscale(picture, surface.get_size())
            surface.blit(picture, (0, 0))
            veil = pygame.Surface(surface.get_size(), pygame.SRCALPHA)
            veil.fill((10, 15, 20, 200))
            surface.blit(veil, (0, 0))
        else:
            surface.fill(BACKGROUND)
        self.paint(surface)

    def paint(self, surface: pygame.Surface) -> None:
        """Paint the scene onto ``surface`` (under the widgets); changes no state."""

    def draw(self, surface: pygame.Surface) -> None:
        """Show the scene: the cached layer, or a fresh painting; changes no state."""
        layer = getattr(self, "_layer", None)
        if layer is not None and layer.get_size() == surface.get_size():
            surface.blit(layer, (0, 0))
        else:
            self._paint_all(surface)


class SceneManager:
    """A stack of scenes reached by name; only the top one is live."""

    def __init__(self, app: "App"):
        self.app = app
        self.stack: list[Scene] = []

    @property
    def top(self) -> Scene | None:
        return self.stack[-1] if self.stack else None

    def make(self, scene: "Scene | str", **kwargs) -> Scene:
        """A scene from its registered name (or the scene itself)."""
        if isinstance(scene, Scene):
            return scene
        try:
            cls = REGISTRY[scene]
        except KeyError:
            raise KeyError(f"no scene named {scene!r} (known: {', '.join(sorted(REGISTRY))})") from None
        return cls(self.app, **kwargs)

    def push(self, scene: "Scene | str", **kwargs) -> Scene:
        scene = self.make(scene, **kwargs)
        if scene.modal and scene.backdrop is None:
            # The picture of the screen as the player last saw it, for the overlay's backdrop.
            scene.backdrop = self.app.screen.copy()
        if self.top:
            self.top.leave()
        self.stack.append(scene)
        scene.enter()
        return scene

    def pop(self) -> Scene | None:
        if not self.stack:
            return None
        old = self.stack.pop()
        old.leave()
        if self.top:
            self.top.enter()
        return old

    def replace(self, scene: "Scene | str", **kwargs) -> Scene:
        scene = self.make(scene, **kwargs)
        if self.stack:
            self.stack.pop().leave()
        self.stack.append(scene)
        scene.enter()
        return scene

    def reset(self, scene: "Scene | str", **kwargs) -> Scene:
        """Clear the stack and show ``scene`` (new game, back to the title)."""
        scene = self.make(scene, **kwargs)
        while self.stack:
            self.stack.pop().leave()
        return self.push(scene)

    def rebuild(self) -> None:
        """The window changed size: lay the top scene out again."""
        if self.top:
            self.top.enter()

    def find(self, name: str) -> Scene | None:
        """The topmost scene called ``name`` on the stack, if any."""
        return next((s for s in reversed(self.stack) if s.name == name), None)


def find_action(scene: Scene, key: int, mods: int = 0) -> Action | None:
    """The scene's action for ``key`` with these modifiers (Ctrl must match)."""
    ctrl = bool(mods & (pygame.KMOD_CTRL | pygame.KMOD_META))
    return next((a for a in scene.actions if a.key == key and a.ctrl == ctrl), None)
