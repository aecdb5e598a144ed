"""The glossary, over any screen (F1 or its button): CLV, P(alive), DERT, C3, RFM, ..."""

from __future__ import annotations

import pygame
import pygame_gui

from ...glossary import TERMS
from .. import draw
from ..layout import cut_bottom, cut_left
from ..scene import Scene, register


@register
class GlossaryScene(Scene):
    """The terms on the left, the chosen one explained on the right; Esc or F1 closes it."""

    name = "glossary"
    modal = True

    def __init__(self, app, term: str | None = None):
        super().__init__(app)
        keys = [t.key for t in TERMS]
        self.index = keys.index(term) if term in keys else 0

    def build(self, rect: pygame.Rect) -> None:
        t = self.typo
        m, gap = t.em, max(6, t.em // 2)
        self.box = rect.inflate(-2 * m, -2 * m)
        inner = self.box.inflate(-2 * m, -2 * m)
        inner.top += t.line("title") + gap
        inner.height -= t.line("title") + gap
        buttons, inner = cut_bottom(inner, t.control, gap)
        close_w = self.button_width("Close", pygame.K_ESCAPE)
        self.action("close", pygame.K_ESCAPE, "Close", pygame.Rect(buttons.right - close_w, buttons.top,
                                                                   close_w, t.control))
        self.action("close", pygame.K_F1)
        self.action("up", pygame.K_UP)
        self.action("down", pygame.K_DOWN)
        list_w = max(draw.text_width(term.name, self.typo.widget) for term in TERMS) + 3 * t.em
        list_rect, self.text_rect = cut_left(inner, min(list_w, inner.width * 2 // 5), m)
        self.list = self.add(pygame_gui.elements.UISelectionList(
            list_rect, [(term.name, term.key) for term in TERMS], self.ui,
            default_selection=(TERMS[self.index].name, TERMS[self.index].key)))

    def on_event(self, event) -> bool:
        if event.type == pygame_gui.UI_SELECTION_LIST_NEW_SELECTION and event.ui_element is self.list:
            keys = [t.key for t in TERMS]
            key = self.list.get_single_selection(include_object_id=True)
            if isinstance(key, tuple):
                key = key[1]
            if key in keys:
                self.index = keys.index(key)
            return True
        return False

    def on_intent(self, intent: str) -> None:
        if intent == "close":
            self.app.scenes.pop()
        elif intent in ("up", "down"):
            self.index = (self.index + (1 if intent == "down" else -1)) % len(TERMS)
            self.enter()

    def layer_key(self):
        return (self.index,)

    def paint(self, surface: pygame.Surface) -> None:
        t = self.typo
        pygame.draw.rect(surface, draw.BACKGROUND, self.box, border_radius=8)
        pygame.draw.rect(surface, draw.PANEL_EDGE, self.box, width=1, border_radius=8)
        inner = self.box.inflate(-2 * t.em, -2 * t.em)
        draw.text(surface, "Glossary", inner.topleft, t.title, bold=True)
        hint = "Up/Down or click a term; Esc closes"
        if draw.text_width(hint, t.small) <= inner.width - draw.text_width("Glossary", t.title, True) - 2 * t.em:
            draw.text(surface, hint, (inner.right, inner.top + t.line("title") // 2), t.small, draw.MUTED,
                      anchor="midright")
        term = TERMS[self.index]
        r = self.text_rect
        draw.text(surface, term.term, r.topleft, t.heading, draw.ACCENT, bold=True, max_width=r.width)
        draw.paragraph(surface, term.text, pygame.Rect(r.left, r.top + t.line("heading") + t.em // 2,
                                                       r.width, r.height - t.line("heading") - t.em // 2),
                       t.body)
