"""Layout checks for the game window: nothing clipped, nothing overlapping, everything inside.

``layout_problems(app)`` draws one frame with the layout record on
(``sim.ui.draw.recording``) and checks what was drawn:

* every painted text is whole (not cut with an ellipsis, no paragraph line
  left out) and inside the window;
* no two painted texts overlap (their ink rectangles);
* a text that touches a panel or card lies inside it;
* no painted text lies under a widget (it would be hidden);
* the top-level widgets are inside the window and do not overlap each other;
* every button's and label's text fits its widget.
"""

from __future__ import annotations

import itertools

import pygame
import pygame_gui

from sim.ui import draw


def _label(t) -> str:
    text = t.text if len(t.text) <= 40 else t.text[:37] + "..."
    return repr(text)


def _overlap(a: pygame.Rect, b: pygame.Rect, slack: int = 1) -> bool:
    """True if the rectangles share more than a ``slack``-pixel sliver."""
    return a.inflate(-2 * slack, -2 * slack).colliderect(b.inflate(-2 * slack, -2 * slack))


def top_widgets(app) -> list:
    """The scene's own visible widgets (children of composite widgets left out)."""
    scene = app.scenes.top
    out = []
    for w in scene.widgets:
        if not w.alive() or not w.visible:
            continue
        if isinstance(w, pygame_gui.elements.UIDropDownMenu) \
                and w.current_state is w.menu_states["expanded"]:
            continue            # an open drop-down covers what is below it, by design
        out.append(w)
    return out


def widget_text_problems(app) -> list[str]:
    """Buttons and labels whose text is wider than the widget."""
    problems = []
    for sprite in app.ui.get_sprite_group().sprites():
        if not isinstance(sprite, (pygame_gui.elements.UIButton, pygame_gui.elements.UILabel)):
            continue
        if not sprite.alive() or not sprite.visible or not getattr(sprite, "text", "") or sprite.font is None:
            continue
        width = sprite.font.size(sprite.text)[0]
        room = sprite.rect.width - 4
        if width > room:
            problems.append(f"widget text clipped: {sprite.text!r} needs {width}px, has {room}px")
    return problems


def layout_problems(app, where: str = "", smallest: int = 0) -> list[str]:
    """Everything wrong with the layout of the frame drawn now (empty: all good); with
    ``smallest``, also every text (painted or on a widget) smaller than that many pixels."""
    with draw.recording() as record:
        app.pump(1)
        texts = [t for t in record.texts if t.layer == "scene"]
        panels = list(record.panels)
    screen = app.screen.get_rect()
    prefix = f"{where}: " if where else ""
    problems = []
    for t in texts:
        if t.cut:
            problems.append(f"text cut: {_label(t)}")
        if t.size < smallest:
            problems.append(f"text smaller than {smallest} px: {_label(t)} at {t.size} px")
        if not screen.contains(t.rect):
            problems.append(f"text outside the window: {_label(t)} at {t.rect}")
        for p in panels:
            if t.rect.colliderect(p) and not p.contains(t.rect) and not t.rect.contains(p):
                problems.append(f"text across a panel's edge: {_label(t)} at {t.rect}, panel {p}")
                break
    for a, b in itertools.combinations(texts, 2):
        if _overlap(a.rect, b.rect):
            problems.append(f"texts overlap: {_label(a)} {a.rect} and {_label(b)} {b.rect}")
    widgets = top_widgets(app)
    for w in widgets:
        if not screen.contains(w.rect):
            problems.append(f"widget outside the window: {type(w).__name__} {getattr(w, 'text', '')!r} {w.rect}")
        for t in texts:
            if _overlap(t.rect, w.rect):
                problems.append(f"text under a widget: {_label(t)} {t.rect} under {type(w).__name__} "
                                f"{getattr(w, 'text', '')!r} {w.rect}")
    for a, b in itertools.combinations(widgets, 2):
        if _overlap(a.rect, b.rect, slack=0):
            problems.append(f"widgets overlap: {type(a).__name__} {getattr(a, 'text', '')!r} {a.rect} and "
                            f"{type(b).__name__} {getattr(b, 'text', '')!r} {b.rect}")
    problems += widget_text_problems(app)
    if smallest:
        for sprite in app.ui.get_sprite_group().sprites():
            font = getattr(sprite, "font", None)
            if font is not None and getattr(sprite, "text", "") and sprite.visible and sprite.alive() \
                    and font.get_point_size() < smallest:
                problems.append(f"widget text smaller than {smallest} px: {sprite.text!r} "
                                f"at {font.get_point_size()} px")
    return [prefix + p for p in dict.fromkeys(problems)]
