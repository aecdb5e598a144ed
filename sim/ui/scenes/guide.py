"""The guided first turn: a few notes on each screen the first time it is seen.

Shown on turn 1 of the first game (until finished or skipped; remembered
in the settings), over a still picture of the screen with the part being
explained lit up.  Enter goes to the next note, Esc skips the whole tour.
"""

from __future__ import annotations

import pygame

from .. import draw
from ..scene import Scene, register

#: Screen -> notes: (the layout's target name, the note).
STEPS: dict[str, tuple[tuple[str, str], ...]] = {
    "dashboard": (
        ("cards", "Your firm at a glance. Every number here comes from your own data; the "
                  "estimated firm value is your lab's estimate — the truth is revealed at the end."),
        ("charts", "Five charts of your own customers: the whale curve, cohorts (C3), repeat "
                   "buying, acquisitions and the RFM grid (keys 1 to 5). F1 explains every term."),
        ("table", "Every customer you have, with their channel and profile tags. Click a column "
                  "heading to sort; press / and type to search (a channel, a tag)."),
        ("tabs", "The analytics lab [L] fits models to your data; Decisions [E] is where you "
                 "spend this turn's budget. Nothing is played until you end the turn."),
    ),
    "lab": (
        ("fit", "Fit the models to your customers' purchases: each customer gets P(alive) and "
                "a predicted CLV (what they are still worth, in dollars)."),
        ("tiers", "Turn a score into a service tier: the top share of customers by a score get "
                  "real service; or turn away the customers whose predicted CLV is negative."),
    ),
    "decisions": (
        ("channels", "Acquisition: dollars per channel this turn. More money buys more customers, "
                     "each extra dollar fewer; channels bring very different customers."),
        ("tiers", "Service tiers, read top to bottom: each customer joins the first tier whose "
                  "rule matches. Move tiers up or down; a warning marks a tier nobody reaches."),
        ("new_tier", "New tier: a rule on anything you observe — channel, profile tags, purchases, "
                     "the lab's scores — and a spend per customer, or turn them away."),
        ("summary", "One budget pays for both. Your lab's estimates of this turn's profit and of "
                    "the customer value you buy are shown before you commit."),
        ("end", "Every change can be undone (Ctrl+Z, redo Ctrl+Y). End turn plays the plan and "
                "saves the game."),
    ),
}


@register
class GuideScene(Scene):
    """The notes for one screen, one at a time, each pointing at a part of it.

    Args:
        screen: the screen being explained ("dashboard", "lab", "decisions").
        targets: the screen's named rectangles (``Scene.guide_targets``).
    """

    name = "guide"
    modal = True

    def __init__(self, app, screen: str, targets: dict[str, pygame.Rect] | None = None):
        super().__init__(app)
        self.screen = screen
        self.targets = targets or {}
        self.steps = [s for s in STEPS.get(screen, ()) if not targets or s[0] in targets]
        self.step = 0

    def build(self, rect: pygame.Rect) -> None:
        t = self.typo
        last = self.step >= len(self.steps) - 1
        target = self.targets.get(self.steps[self.step][0]) if self.steps else None
        w = min(rect.width - 2 * t.em, t.em * 34)
        text = self.steps[self.step][1] if self.steps else ""
        next_label = "Got it" if last else "Next"
        next_w = self.button_width(next_label, pygame.K_RETURN)
        skip_w = self.button_width("Skip the tour", pygame.K_ESCAPE)
        w = max(w, min(rect.width - 2 * t.em, next_w + skip_w + 3 * t.em))
        h = t.em + t.line("heading") + draw.paragraph_height(text, t.body, w - 2 * t.em) + t.em + t.control + t.em
        box = pygame.Rect(0, 0, w, h)
        if target is None:
            box.center = rect.center
        else:
            # Below the part it explains if there is room, else above, else inside it.
            box.midtop = (target.centerx, target.bottom + t.em)
            if box.bottom > rect.bottom - t.em // 2:
                box.midbottom = (target.centerx, target.top - t.em)
            if box.top < rect.top + t.em // 2:
                box.center = target.center
        box.clamp_ip(rect.inflate(-t.em, -t.em))
        self.box, self.target = box, target
        y = box.bottom - t.em - t.control
        gap = max(6, t.em // 2)
        self.action("next", pygame.K_RETURN, next_label,
                    pygame.Rect(box.right - t.em - next_w, y, next_w, t.control), None, "primary")
        self.action("skip", pygame.K_ESCAPE, "Skip the tour",
                    pygame.Rect(box.right - t.em - next_w - gap - skip_w, y, skip_w, t.control))

    def on_intent(self, intent: str) -> None:
        if intent == "next" and self.step < len(self.steps) - 1:
            self.step += 1
            self.enter()
            return
        self.app.scenes.pop()
        if intent == "skip":
            self.app.end_tour()

    def layer_key(self):
        return (self.step,)

    def paint(self, surface: pygame.Surface) -> None:
        t = self.typo
        if self.target is not None and self.backdrop is not None \
                and self.backdrop.get_size() == surface.get_size():
            # The part being explained, lit: the original picture, framed.
            lit = self.target.inflate(t.em // 2, t.em // 2).clip(surface.get_rect())
            surface.blit(self.backdrop, lit, lit)
            pygame.draw.rect(surface, draw.ACCENT, lit, width=3, border_radius=6)
        pygame.draw.rect(surface, draw.PANEL, self.box, border_radius=8)
        pygame.draw.rect(surface, draw.ACCENT, self.box, width=2, border_radius=8)
        inner = self.box.inflate(-2 * t.em, -2 * t.em)
        heading = f"First turn: {self.screen}  ({self.step + 1} of {len(self.steps)})"
        draw.text(surface, heading, inner.topleft, t.heading, draw.ACCENT, bold=True, max_width=inner.width)
        if self.steps:
            draw.paragraph(surface, self.steps[self.step][1],
                           pygame.Rect(inner.left, inner.top + t.line("heading"), inner.width,
                                       inner.height - t.line("heading") - t.control), t.body)
