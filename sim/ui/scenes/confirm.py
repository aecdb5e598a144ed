"""A question before anything that would lose work: replace a saved game, leave edits, quit.

Drawn over a still picture of the screen it interrupts.  [Y] (or the
button) does it; Esc, [N] or the other button leaves everything as it was.
Enter does nothing here, so a player hammering Enter never confirms by
accident.
"""

from __future__ import annotations

import pygame

from .. import draw
from ..layout import cut_bottom
from ..scene import Scene, register


@register
class ConfirmScene(Scene):
    """Ask ``question``; on yes pop and run ``on_yes``, on no just pop.

    Args:
        question: one short line ("Quit the game?").
        detail: what will be lost, in a sentence or two.
        yes, no: the buttons' labels.
        on_yes: what to do on yes (run after this dialog is closed).
        purpose: a tag for the caller ("quit": a second window close quits).
    """

    name = "confirm"
    modal = True

    def __init__(self, app, question: str, detail: str = "", yes: str = "Yes", no: str = "Cancel",
                 on_yes=None, purpose: str = ""):
        super().__init__(app)
        self.question, self.detail = question, detail
        self.yes, self.no = yes, no
        self.on_yes = on_yes
        self.purpose = purpose

    def build(self, rect: pygame.Rect) -> None:
        t = self.typo
        gap = max(6, t.em // 2)
        yes_w = self.button_width(self.yes, pygame.K_y)
        no_w = self.button_width(self.no, pygame.K_ESCAPE)
        w = min(rect.width - 2 * t.em, max(t.em * 30, yes_w + no_w + 3 * t.em))
        text_w = w - 2 * t.em
        h = (t.em + t.line("title") + t.em // 2 + draw.paragraph_height(self.detail, t.body, text_w)
             + t.em + t.control + t.em)
        self.box = pygame.Rect(0, 0, w, min(h, rect.height - 2 * t.em))
        self.box.center = rect.center
        buttons, _ = cut_bottom(self.box.inflate(-2 * t.em, -2 * t.em), t.control)
        self.action("yes", pygame.K_y, self.yes, pygame.Rect(buttons.right - yes_w, buttons.top, yes_w, t.control),
                    None, "danger")
        self.action("no", pygame.K_ESCAPE, self.no,
                    pygame.Rect(buttons.right - yes_w - gap - no_w, buttons.top, no_w, t.control))
        self.action("no", pygame.K_n)

    def on_intent(self, intent: str) -> None:
        self.app.scenes.pop()
        if intent == "yes" and self.on_yes is not None:
            self.on_yes()

    def layer_key(self):
        return (self.question, self.detail)

    def paint(self, surface: pygame.Surface) -> None:
        t = self.typo
        pygame.draw.rect(surface, draw.PANEL, self.box, border_radius=8)
        pygame.draw.rect(surface, draw.ACCENT, self.box, width=2, border_radius=8)
        inner = self.box.inflate(-2 * t.em, -2 * t.em)
        draw.text(surface, self.question, inner.topleft, t.title, bold=True, max_width=inner.width)
        body = pygame.Rect(inner.left, inner.top + t.line("title") + t.em // 2, inner.width,
                           inner.height - t.line("title") - t.em // 2 - t.control - t.em // 2)
        draw.paragraph(surface, self.detail, body, t.body)
