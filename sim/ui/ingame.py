"""The frame of every screen inside a game: the tab bar, the turn, the glossary and the menu.

Dashboard, lab, decisions and results derive from ``GameScene``.  They read
the game only through the app's session (``sim.session_api.GameSession``)
and edit this turn's plan only through ``app.editor`` (``sim.planning``),
so the lab and the decisions screen edit the same plan, with one undo.
"""

from __future__ import annotations

import pygame

from .. import charts
from . import draw
from .layout import cut_top, fits_in, row
from .scene import Scene

TABS = (("dashboard", pygame.K_d, "Dashboard", "Dashboard"),
        ("lab", pygame.K_l, "Analytics lab", "Lab"),
        ("decisions", pygame.K_e, "Decisions", "Decisions"))


def chart_style(app) -> charts.ChartStyle:
    """Charts for the dark screen: the player's palette, text from the app's typography."""
    return charts.ChartStyle(charts.PALETTES[app.settings.palette], app.typography.chart_px(),
                             draw.CHART_BG, draw.CHART_FG)


class GameScene(Scene):
    """A scene inside a game: the tab bar (dashboard, lab, decisions), the turn, glossary, menu."""

    tab = ""

    def __init__(self, app):
        super().__init__(app)
        self._frames = 0

    @property
    def session(self):
        return self.app.session

    @property
    def public(self):
        return self.app.session.public

    @property
    def editor(self):
        return self.app.editor

    def style(self) -> charts.ChartStyle:
        return chart_style(self.app)

    @property
    def margin(self) -> int:
        return max(8, int(self.typo.em * 0.8))

    @property
    def gap(self) -> int:
        return max(6, int(self.typo.em * 0.5))

    def build(self, rect: pygame.Rect) -> None:
        m, gap, h = self.margin, self.gap, self.typo.control
        bar, _ = cut_top(rect.inflate(-2 * m, -2 * m), h)
        right = [("glossary", pygame.K_F1, "Glossary", "What CLV, P(alive), DERT, C3, RFM... mean."),
                 ("menu", pygame.K_ESCAPE, "Menu", "Back to the title screen; the game is saved "
                  "after every turn.")]
        # Full labels with keys if they fit, else the short ones, else without the keys.
        for long_names, keys in ((True, True), (False, True), (False, False)):
            labels = [(full if long_names else short) for _, _, full, short in TABS]
            tab_w = [self.button_width(label, key if keys else None) for label, (_, key, _, _) in zip(labels, TABS)]
            right_w = [self.button_width(label, key if keys else None) for _, key, label, _ in right]
            if fits_in(bar.width, tab_w + right_w, gap) or not keys:
                break
        x = bar.left
        for (intent, key, _, _), label, w in zip(TABS, labels, tab_w):
            self.action(f"tab:{intent}", key, label, pygame.Rect(x, bar.top, w, h), None,
                        "tab_active" if intent == self.tab else None, show_key=keys)
            x += w + gap
        self.tabs_right = x - gap
        rects = row(pygame.Rect(bar.right - sum(right_w) - gap, bar.top, sum(right_w) + gap, h), right_w, gap)
        for (intent, key, label, tip), r in zip(right, rects):
            self.action(intent, key, label, r, tip, show_key=keys)
        self.status_rect = pygame.Rect(self.tabs_right + gap, bar.top, rects[0].left - self.tabs_right - 2 * gap, h)
        self.body = pygame.Rect(rect.left + m, bar.bottom + gap, rect.width - 2 * m,
                                rect.bottom - m - bar.bottom - gap)
        self.build_body(self.body)

    def build_body(self, body: pygame.Rect) -> None:
        """Widgets of the scene below the tab bar."""

    def on_intent(self, intent: str) -> None:
        if intent.startswith("tab:"):
            target = intent[4:]
            if target != self.name:
                self.app.scenes.replace(target)
        elif intent == "glossary":
            self.app.scenes.push("glossary")
        elif intent == "menu":
            self.leave_game()
        else:
            self.on_game_intent(intent)

    def leave_game(self) -> None:
        """Back to the title, asking first if this turn's plan has unsaved changes."""
        def go():
            self.app.scenes.reset("title")

        if self.has_unsaved_edits():
            self.app.confirm("Leave this game?",
                             f"Your plan for {self.public.turn_length} {self.session.turn} has changes "
                             "that are saved only when you end the turn; they will be lost. "
                             "(Every turn played is saved: Continue resumes at this turn.)",
                             "Leave", go, "Stay")
        else:
            go()

    def has_unsaved_edits(self) -> bool:
        """True when leaving now would lose the player's work (this turn's plan changes)."""
        editor = self.app.editor
        return bool(editor is not None and editor.edited and not self.session.done)

    def on_game_intent(self, intent: str) -> None:
        """Intents of the scene itself."""

    def update(self, dt: float) -> None:
        # The guided first turn: once this screen has been drawn (its picture is the backdrop).
        self._frames += 1
        if self._frames >= 2 and self.app.tour_due(self.name) and self.app.scenes.top is self:
            self.app.tour_seen.add(self.name)
            self.app.scenes.push("guide", screen=self.name, targets=self.guide_targets())

    def layer_key(self):
        return (self.session.turn, len(self.session.decisions), self.session.lab.fitted_turn,
                self.session.lab.predicted_turn) + self.body_key()

    def body_key(self) -> tuple:
        """What the body's painting depends on, besides the turn and the lab."""
        return ()

    def status_text(self) -> str:
        p, s = self.public, self.session
        return f"{p.turn_length.capitalize()} {min(s.turn, p.turns)} of {p.turns}"

    def paint(self, surface: pygame.Surface) -> None:
        size = self.typo.size("body")
        p = self.public
        room = self.status_rect.width
        for label in (f"{p.name} · {self.status_text()}", self.status_text()):
            if room > 0 and draw.text_width(label, size) <= room:
                draw.text(surface, label, (self.status_rect.right, self.status_rect.centery), size,
                          draw.MUTED, anchor="midright")
                break
        self.draw_body(surface)

    def draw_body(self, surface: pygame.Surface) -> None:
        """Paint the body (no state changes)."""

    def chart(self, key, make) -> pygame.Surface:
        """A cached chart surface; ``key`` must name everything the chart depends on."""
        full_key = (key, self.session.turn, id(self.session), self.app.settings.palette,
                    self.app.typography)
        return self.app.charts.get(full_key, make)
