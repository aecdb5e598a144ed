"""Scenes and the scene manager (push / pop / replace), after Tuxemon's state machine.

A scene owns its widgets only while it is on top: ``enter`` builds them for
the current window, ``leave`` kills them.  A resize rebuilds the top scene's
widgets from its own state, so every scene lays itself out for any window.
``draw`` only paints: all changes happen in ``on_intent``, ``on_event`` and
``update``.

Every action a scene offers is an ``Action``: an intent, a key and (usually)
a button showing the key, so the keyboard reaches everything the mouse does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import pygame
import pygame_gui

from .draw import BACKGROUND, Tooltips

if TYPE_CHECKING:
    from .app import App


@dataclass
class Action:
    """Something the player can do in a scene.

    Attributes:
        intent: the scene's name for it (passed to ``on_intent``).
        key: the pygame key that triggers it (None: mouse only, e.g. a list entry).
        button: the widget that triggers it, if any.
    """

    intent: str
    key: int | None
    button: pygame_gui.elements.UIButton | None = None


def key_label(key: int | None) -> str:
    if key is None:
        return ""
    name = pygame.key.name(key)
    return {"return": "Enter", "escape": "Esc", "tab": "Tab", "space": "Space",
            "page up": "PgUp", "page down": "PgDn", "backspace": "Bksp", "delete": "Del"}.get(name, name.upper())


class Scene:
    """A screen of the game.  Subclasses override ``build`` and the hooks they need."""

    #: Short name, used in screenshots and tests.
    name = "scene"

    def __init__(self, app: "App"):
        self.app = app
        self.actions: list[Action] = []
        self.widgets: list = []
        self.tooltips = Tooltips()

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

    # -- helpers for subclasses
    @property
    def ui(self) -> pygame_gui.UIManager:
        return self.app.ui

    @property
    def scale(self) -> float:
        return self.app.scale

    def add(self, widget):
        self.widgets.append(widget)
        return widget

    def action(self, intent: str, key: int | None, label: str | None = None,
               rect: pygame.Rect | None = None, tooltip: str | None = None,
               object_id: str | None = None) -> Action:
        """Register an action; with a label and a rect also a button showing its key."""
        button = None
        if label is not None and rect is not None:
            shown = f"{label}  [{key_label(key)}]" if key is not None else label
            button = self.add(pygame_gui.elements.UIButton(
                rect, shown, self.ui, tool_tip_text=tooltip,
                object_id=pygame_gui.core.ObjectID(object_id=f"#{object_id}") if object_id else None))
        act = Action(intent, key, button)
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
        if key is None:
            self._layer = None
            return
        if key != getattr(self, "_layer_key", None) or getattr(self, "_layer", None) is None \
                or self._layer.get_size() != size:
            # Opaque, in the display's format: blitting it each frame is a plain copy.
            self._layer = pygame.Surface(size).convert() if pygame.display.get_surface() \
                else pygame.Surface(size)
            self._layer.fill(BACKGROUND)
            self.paint(self._layer)
            self._layer_key = key

    def paint(self, surface: pygame.Surface) -> None:
        """Paint the scene onto ``surface`` (under the widgets); changes no state."""

    def draw(self, surface: pygame.Surface) -> None:
        """Show the scene: the cached layer, or a fresh painting; changes no state."""
        layer = getattr(self, "_layer", None)
        if layer is not None and layer.get_size() == surface.get_size():
            surface.blit(layer, (0, 0))
        else:
            self.paint(surface)


class SceneManager:
    """A stack of scenes; only the top one is live."""

    def __init__(self, app: "App"):
        self.app = app
        self.stack: list[Scene] = []

    @property
    def top(self) -> Scene | None:
        return self.stack[-1] if self.stack else None

    def push(self, scene: Scene) -> Scene:
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

    def replace(self, scene: Scene) -> Scene:
        if self.stack:
            self.stack.pop().leave()
        self.stack.append(scene)
        scene.enter()
        return scene

    def reset(self, scene: Scene) -> Scene:
        """Clear the stack and show ``scene`` (new game, back to the title)."""
        while self.stack:
            self.stack.pop().leave()
        return self.push(scene)

    def rebuild(self) -> None:
        """The window changed size: lay the top scene out again."""
        if self.top:
            self.top.enter()


def find_action(scene: Scene, key: int) -> Action | None:
    return next((a for a in scene.actions if a.key == key), None)


Handler = Callable[[str], None]
