"""The results of the turn just played: the books, profit per turn, and how each tier bought."""

from __future__ import annotations

import pygame

from ... import charts
from ...analytics.experiments import EXPERIMENT_HEADER, experiment_rows, experiments
from .. import draw
from ..ingame import GameScene
from ..layout import cut_bottom, cut_left, cut_top
from ..scene import register


@register
class ResultsScene(GameScene):
    """What happened in the turn just played, and in each tier."""

    name = "results"
    tab = ""

    def build_body(self, body: pygame.Rect) -> None:
        t, gap = self.typo, self.gap
        last = self.session.done
        label = "See the reveal" if last else "Next turn"
        w = self.button_width(label, pygame.K_RETURN)
        bottom, rest = cut_bottom(body, t.control, gap)
        self.action("next", pygame.K_RETURN, label, pygame.Rect(bottom.right - w, bottom.top, w, t.control),
                    None, "primary")
        self.notice_rect = pygame.Rect(bottom.left, bottom.top, bottom.width - w - gap, bottom.height)
        self.heading, rest = cut_top(rest, t.line("title"), gap)
        self.books_rect, right = cut_left(rest, int(rest.width * 0.38), gap)
        self.chart_rect, self.tiers_rect = cut_top(right, int(right.height * 0.5), gap)
        s = self.session
        self.tests = experiment_rows(experiments(s.observation, s.decisions))
        self.tests_rect = None
        if self.tests:
            # Holdout tests running: the tiers share their panel's room with them.
            self.tiers_rect, self.tests_rect = cut_top(self.tiers_rect, int(self.tiers_rect.height * 0.5),
                                                       gap)
            self.tooltips.add(self.tests_rect, "Each holdout test: its treated customers against its "
                              "control (held out at random, served nothing) in the turn just played: "
                              "extra purchases and profit per customer (the test's service charged), "
                              "with 95% intervals. An interval that straddles zero: no clear effect "
                              "yet.")
        self.tooltips.add(self.tiers_rect, "Each tier's customers when the turn began, how many bought "
                          "and what they spent during the turn; the change is against the same tier "
                          "last turn.")
        self._surface = None

    def on_game_intent(self, intent: str) -> None:
        if intent == "next":
            self.app.notice = ""
            if self.session.done:
                self.app.scenes.reset("debrief")
            else:
                self.app.scenes.replace("dashboard")

    def update(self, dt: float) -> None:
        self._surface = self.chart(("profit", self.chart_rect.size),
                                   lambda: charts.profit_chart(self.session.books, self.chart_rect.size, self.style()))

    def body_key(self) -> tuple:
        return (id(self._surface), self.app.notice)

    def draw_body(self, surface: pygame.Surface) -> None:
        t = self.typo
        s, p = self.session, self.public
        b = s.results[-1].books
        draw.text(surface, f"Results of {p.turn_length} {b.turn}", self.heading.topleft, t.title, bold=True)
        if self.app.notice:
            draw.paragraph(surface, self.app.notice, self.notice_rect, t.small, draw.BAD)
        inner = draw.panel(surface, self.books_rect, "The books", t.heading)
        # The paid channels and, where members bring friends, the referral channel.
        labels = p.customer_channel_label_by_name
        paid = set(p.channel_names)
        decision = s.decisions[-1]
        rows = []
        for name, n in b.acquired_by_channel.items():
            spend = decision.acquisition.get(name, 0.0)
            # Friends cost no acquisition money: no price per customer on their row.
            cpa = f" ({draw.money(spend / n)} each)" if n and name in paid else ""
            rows.append([f"new via {labels[name]}", f"{n:,}{cpa}"])
        rows += [["buyers", f"{b.buyers:,}"]]
        if b.members is not None:
            rows += [["members", f"{b.members:,}"], ["cancellations", f"{b.cancellations:,}"]]
        rows += [["revenue", draw.money(b.revenue)], ["gross margin", draw.money(b.gross_margin)],
                 ["cost to serve", draw.money(-b.cost_to_serve)], ["service", draw.money(-b.service_spend)],
                 ["acquisition", draw.money(-b.acquisition_spend)], ["fixed cost", draw.money(-b.fixed_cost)],
                 ["profit", draw.money(b.profit)]]
        size = t.small
        cols = [draw.Column("", 1.4, "l"), draw.Column("", 1.0)]
        if sum(draw.column_widths(cols, rows, size, 0)) > inner.width:
            # Narrow: the cost per acquisition moves out of the channel rows.
            rows = [[r[0], r[1].split(" (")[0]] for r in rows]
        draw.table(surface, inner, cols, rows, size,
                   colours=[draw.BAD if r[1].startswith("-") else draw.TEXT for r in rows])
        if self._surface is not None:
            surface.blit(self._surface, self.chart_rect.topleft)
        inner = draw.panel(surface, self.tiers_rect, "What changed in each tier", t.heading)
        now = s.tier_outcomes[-1] if s.tier_outcomes else []
        before = {o.name: o for o in s.tier_outcomes[-2]} if len(s.tier_outcomes) > 1 else {}
        trows = []
        for o in now:
            prev = before.get(o.name)
            change = f"{o.customers - prev.customers:+,}" if prev else "new"
            treatment = "turned away" if o.disengaged else draw.money(o.service)
            trows.append([o.name, f"{o.customers:,}", change, f"{o.buyers:,}",
                          draw.money(o.revenue_per_customer), treatment])
        tcols = [draw.Column("tier", 2.2, "l"), draw.Column("customers", 1.1), draw.Column("vs last", 0.9),
                 draw.Column("buyers", 0.9), draw.Column("$/customer", 1.1), draw.Column("service", 1.2)]
        fit = draw.rows_that_fit(inner.height, size)
        if len(trows) > fit:
            # More tiers than room: the biggest (by customers) first, the rest counted.
            shown = sorted(trows, key=lambda r: -int(r[1].replace(",", "")))[:max(0, fit - 1)]
            trows = shown + [[f"{len(trows) - len(shown)} more tiers", "", "", "", "", ""]]
        keep = draw.fit_columns(tcols, trows, size, inner.width, (1, 1, 3, 2, 2, 1))
        draw.table(surface, inner, [tcols[j] for j in keep], [[r[j] for j in keep] for r in trows], size)
        if self.tests_rect is not None:
            self._draw_tests(surface, size)

    def _draw_tests(self, surface: pygame.Surface, size: int) -> None:
        """The holdout tests: treated against control in the turn just played."""
        inner = draw.panel(surface, self.tests_rect, "Experiments: treated vs control", self.typo.heading)
        header = EXPERIMENT_HEADER
        # test, purchases lift, profit lift first; then treated/control, treatment, turn.
        cols = [draw.Column(header[0], 1.4, "l"), draw.Column("treatment", 1.1),
                draw.Column("treated/control", 1.3), draw.Column(header[3], 0.5),
                draw.Column("extra purchases", 2.0), draw.Column("profit lift (95%)", 2.6)]
        rows = self.tests
        fit = draw.rows_that_fit(inner.height, size)
        if len(rows) > fit:
            rows = rows[-max(0, fit - 1):] if fit > 1 else []
            rows = rows + [[f"{len(self.tests) - len(rows)} more tests", "", "", "", "", ""]]
        keep = draw.fit_columns(cols, rows, size, inner.width, (1, 5, 4, 2, 3, 1))
        draw.table(surface, inner, [cols[j] for j in keep], [[r[j] for j in keep] for r in rows], size)
