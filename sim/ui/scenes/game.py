"""The scenes of a turn: dashboard, analytics lab, decisions and the turn's results.

They read only the player's session: the public scenario, the observation
and the lab's predictions from the player's own data.  The current turn's
plan lives on the app (``app.plan``) so the lab and the decisions screen
edit the same plan.
"""

from __future__ import annotations

import math

import numpy as np
import pygame
import pygame_gui

from ... import charts
from ...analytics import reports
from ...analytics.fitting import DataError
from ...decisions import DecisionError
from ...session import (LAB_COLUMNS, TierPlan, acquisition_cap, describe_rule, marketing_budget)
from .. import draw
from ..scene import Scene


class GameScene(Scene):
    """A scene inside a game: the tab bar (dashboard, lab, decisions) and the turn."""

    tab = ""

    @property
    def session(self):
        return self.app.session

    @property
    def public(self):
        return self.app.session.public

    def style(self) -> charts.ChartStyle:
        return chart_style(self.app)

    def build(self, rect: pygame.Rect) -> None:
        px = self.app.px
        tabs = [("dashboard", pygame.K_d, "Dashboard"), ("lab", pygame.K_l, "Analytics lab"),
                ("decisions", pygame.K_e, "Decisions")]
        x = px(16)
        for intent, key, label in tabs:
            w = px(190)
            self.action(f"tab:{intent}", key, label, pygame.Rect(x, px(10), w, px(40)),
                        object_id="tab_active" if intent == self.tab else None)
            x += w + px(8)
        self.action("menu", pygame.K_ESCAPE, "Menu", pygame.Rect(rect.width - px(136), px(10), px(120), px(40)),
                    "Back to the title screen; the game is saved after every turn.")
        self.body = pygame.Rect(px(16), px(60), rect.width - px(32), rect.height - px(70))
        self.build_body(self.body)

    def build_body(self, body: pygame.Rect) -> None:
        """Widgets of the scene below the tab bar."""

    def on_intent(self, intent: str) -> None:
        if intent.startswith("tab:"):
            target = {"dashboard": DashboardScene, "lab": LabScene,
                      "decisions": DecisionsScene}[intent[4:]]
            if not isinstance(self, target):
                self.app.scenes.replace(target(self.app))
        elif intent == "menu":
            from .title import TitleScene
            self.app.scenes.reset(TitleScene(self.app))
        else:
            self.on_game_intent(intent)

    def on_game_intent(self, intent: str) -> None:
        """Intents of the scene itself."""

    def layer_key(self):
        return (self.session.turn, len(self.session.decisions), self.session.lab.fitted_turn,
                self.session.lab.predicted_turn) + self.body_key()

    def body_key(self) -> tuple:
        """What the body's painting depends on, besides the turn and the lab."""
        return ()

    def paint(self, surface: pygame.Surface) -> None:
        px = self.app.px
        p, s = self.public, self.session
        label = f"{p.name} · {p.turn_length} {min(s.turn, p.turns)} of {p.turns}"
        right = surface.get_width() - px(150)
        draw.text(surface, label, (right, px(20)), px(16), draw.MUTED, anchor="topright",
                  max_width=right - px(620))
        self.draw_body(surface)

    def draw_body(self, surface: pygame.Surface) -> None:
        """Paint the body (no state changes)."""

    def chart(self, key, make) -> pygame.Surface:
        """A cached chart surface; ``key`` must name everything the chart depends on."""
        full_key = (key, self.session.turn, id(self.session), self.app.settings.palette)
        return self.app.charts.get(full_key, make)


def chart_style(app) -> charts.ChartStyle:
    """Charts for the dark screen: the player's palette, fonts scaled to the window."""
    return charts.ChartStyle(charts.PALETTES[app.settings.palette], max(11.0, 13.0 * app.scale),
                             draw.CHART_BG, "#e8edf2")


# --------------------------------------------------------------------- dashboard

DASH_CHARTS = ("Whale curve", "Cohorts (C3)", "Retention", "Acquisition", "RFM grid")
TABLE_COLUMNS = (("id", "customer_id", "l", 0.9), ("channel", "channel", "l", 2.45),
                 ("joined", "acquisition_turn", "r", 1.0), ("buys", "purchases", "r", 0.75),
                 ("recency", "recency", "r", 1.1), ("$/buy", "monetary", "r", 0.85),
                 ("profit", "profit", "r", 1.0), ("P(alive)", "p_alive", "r", 1.05),
                 ("CLV", "predicted_clv", "r", 1.15))
TABLE_TIPS = ("The customer's number.", "The acquisition channel that brought the customer.",
              "The turn the customer was acquired (0 or less: before you took over).",
              "Purchases so far, the first one included.",
              "Turns since the customer's latest purchase (0 = bought at the very end of last turn).",
              "Mean dollars per purchase.",
              "Gross margin on the customer's purchases less their cost to serve, dollars so far "
              "(service spend not counted).",
              "The lab's probability that the customer is still a customer (from your own data).",
              "The lab's predicted customer lifetime value: expected discounted future margin, dollars.")


class DashboardScene(GameScene):
    """Books so far, budget, estimated firm value, five charts and the customer table."""

    name = "dashboard"
    tab = "dashboard"

    def __init__(self, app):
        super().__init__(app)
        self.chart_index = 0
        self.sort = 6              # profit
        self.descending = True
        self.query = ""
        self.offset = 0
        self._order = None
        self._surface = None

    def build_body(self, body: pygame.Rect) -> None:
        px = self.app.px
        self.cards = pygame.Rect(body.left, body.top, body.width, px(74))
        top = self.cards.bottom + px(10)
        self.chart_area = pygame.Rect(body.left, top + px(44), int(body.width * 0.53),
                                      body.bottom - top - px(44))
        x = body.left
        w = (self.chart_area.width - 4 * px(6)) // 5
        for i, label in enumerate(DASH_CHARTS):
            self.action(f"chart:{i}", pygame.K_1 + i, label, pygame.Rect(x, top, w, px(36)),
                        object_id="small_active" if i == self.chart_index else "small")
            x += w + px(6)
        self.table_area = pygame.Rect(self.chart_area.right + px(12), top, body.right - self.chart_area.right - px(12),
                                      body.bottom - top)
        self.search = self.add(pygame_gui.elements.UITextEntryLine(
            pygame.Rect(self.table_area.left, top, int(self.table_area.width * 0.4), px(36)), self.ui,
            initial_text=self.query, placeholder_text="search id, channel, tag"))
        bx = self.search.rect.right + px(6)
        bw = (self.table_area.right - bx - px(12)) // 3
        self.action("sort", pygame.K_s, "Sort", pygame.Rect(bx, top, bw, px(36)),
                    "Sort by the next column (or click a column heading).", "small")
        self.action("page_up", pygame.K_PAGEUP, "Prev", pygame.Rect(bx + bw + px(6), top, bw, px(36)), None, "small")
        self.action("page_down", pygame.K_PAGEDOWN, "Next", pygame.Rect(bx + 2 * (bw + px(6)), top, bw, px(36)),
                    None, "small")
        self.action("find", pygame.K_SLASH)
        self.action("reverse", pygame.K_r)
        self.table_rect = pygame.Rect(self.table_area.left, top + px(44), self.table_area.width,
                                      self.table_area.height - px(70))
        self._layout_tooltips()
        self._order = None

    def _layout_tooltips(self) -> None:
        n = 5
        w = self.cards.width // n
        tips = ["Customers the firm has acquired so far (including those who may have quietly left).",
                "Profit in the last turn: gross margin less cost to serve, service, acquisition and fixed cost.",
                "Marketing money you may spend each turn on acquisition and service together.",
                "Profit of your turns so far, discounted to the start of turn 1.",
                "ESTIMATED firm value: discounted profit so far plus the customer equity your lab "
                "predicts from your own data (sum of predicted CLV). The true value is revealed at the end."]
        for i, tip in enumerate(tips):
            self.tooltips.add(pygame.Rect(self.cards.left + i * w, self.cards.top, w - 8, self.cards.height), tip)
        for cell, tip in zip(self._heads(), TABLE_TIPS):
            self.tooltips.add(cell, tip + " Click to sort.")

    # -- events
    def on_event(self, event) -> bool:
        if event.type == pygame_gui.UI_TEXT_ENTRY_CHANGED and event.ui_element is self.search:
            self.query = event.text
            self.offset = 0
            self._order = None
            return True
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1 and self.table_rect.collidepoint(event.pos):
            heads = self._heads()
            for i, cell in enumerate(heads):
                if cell.collidepoint(event.pos):
                    self.descending = not self.descending if self.sort == i else True
                    self.sort = i
                    self._order = None
                    return True
        if event.type == pygame.MOUSEWHEEL and self.table_rect.collidepoint(self.app.mouse):
            self.offset = max(0, self.offset - 3 * event.y)
            return True
        return False

    def _heads(self) -> list[pygame.Rect]:
        total = sum(c[3] for c in TABLE_COLUMNS)
        x, out = self.table_rect.left, []
        h = int(self.app.px(14) * 1.45)
        for c in TABLE_COLUMNS:
            w = int(self.table_rect.width * c[3] / total)
            out.append(pygame.Rect(x, self.table_rect.top, w, h))
            x += w
        return out

    def on_game_intent(self, intent: str) -> None:
        if intent.startswith("chart:"):
            self.chart_index = int(intent[6:])
            self.enter()
        elif intent == "sort":
            self.sort = (self.sort + 1) % len(TABLE_COLUMNS)
            self._order = None
        elif intent == "reverse":
            self.descending = not self.descending
            self._order = None
        elif intent == "page_down":
            self.offset += draw.rows_that_fit(self.table_rect.height, self.app.px(14))
        elif intent == "page_up":
            self.offset = max(0, self.offset - draw.rows_that_fit(self.table_rect.height, self.app.px(14)))
        elif intent == "find":
            self.search.focus()

    # -- data
    def _columns(self) -> dict[str, np.ndarray]:
        cols = dict(self.session.observation.columns)
        lab = self.session.lab.columns()
        n = self.session.observation.n_customers
        for name in ("p_alive", "predicted_clv"):
            cols[name] = lab.get(name, np.full(n, np.nan))
        return cols

    def _match(self, cols) -> np.ndarray:
        """Customers matching the search: an id, or a channel or tag value containing the text."""
        q = self.query.strip().lower()
        n = self.session.observation.n_customers
        if not q:
            return np.ones(n, dtype=bool)
        mask = np.zeros(n, dtype=bool)
        if q.isdigit():
            mask |= cols["customer_id"] == int(q)
        obs = self.session.observation
        labels = {c.name: c.label for c in self.public.channels}
        for field, values in obs.categories.items():
            hits = [i for i, v in enumerate(values) if q in v.lower() or q in labels.get(v, "").lower()]
            if hits:
                mask |= np.isin(cols[field], hits)
        return mask

    def update(self, dt: float) -> None:
        if self._order is None:
            cols = self._columns()
            key = cols[TABLE_COLUMNS[self.sort][1]].astype(float)
            rows = np.flatnonzero(self._match(cols))
            values = key[rows]
            # NaN last whichever way the table is sorted.
            values = np.where(np.isnan(values), -np.inf if self.descending else np.inf, values)
            order = np.argsort(-values if self.descending else values, kind="stable")
            self._order = rows[order]
            self._cols = cols
        visible = draw.rows_that_fit(self.table_rect.height, self.app.px(14))
        self.offset = min(self.offset, max(0, self._order.size - visible))
        self._surface = self.chart(("dash", self.chart_index, self.chart_area.size), self._make_chart)

    def _make_chart(self):
        obs, p = self.session.observation, self.public
        size, style = self.chart_area.size, self.style()
        labels = [c.label for c in p.channels]
        try:
            if self.chart_index == 0:
                return charts.whale_chart(reports.whale_curve_from_observation(obs), size, style)
            if self.chart_index == 1:
                return charts.layer_cake_chart(reports.cohort_revenue_from_observation(obs), size, style)
            if self.chart_index == 2:
                return charts.retention_chart(reports.retention_from_observation(obs), labels, size,
                                              style, p.contractual)
            if self.chart_index == 3:
                return charts.acquisition_chart(*self._acquisition_data(), labels, size, style)
            grid = reports.rfm_grid(reports.rfm_from_observation(obs), obs.columns["profit"])
            return charts.rfm_chart(grid, size, style)
        except DataError as exc:
            return charts.message_chart(f"No chart yet: {exc}", size, style)

    def _acquisition_data(self):
        """Turns, acquired (channels x turns) and spend (channels x turns), warm-up included."""
        p, books = self.public, self.session.books
        names = p.channel_names
        turns = [b.turn for b in books]
        acquired = np.array([[b.acquired_by_channel.get(c, 0) for b in books] for c in names], dtype=float)
        spend = np.zeros_like(acquired)
        decisions = self.session.decisions
        for j, b in enumerate(books):
            source = p.inherited.acquisition if b.turn <= 0 else decisions[b.turn - 1].acquisition
            spend[:, j] = [float(source.get(c, 0.0)) for c in names]
        return turns, acquired, spend

    # -- painting
    def body_key(self) -> tuple:
        return (self.chart_index, id(self._order), self.offset, id(self._surface))

    def draw_body(self, surface: pygame.Surface) -> None:
        px = self.app.px
        s, p = self.session, self.public
        books = s.results[-1].books if s.results else s.books[-1]
        discounted, equity, estimate = s.estimated_firm_value()
        values = [("Customers so far", f"{s.observation.n_customers:,}"),
                  (f"Profit, {p.turn_length} {books.turn}" if books.turn >= 1 else
                   f"Profit last {p.turn_length} (inherited)", draw.money(books.profit)),
                  ("Budget per turn", draw.money(marketing_budget(p))),
                  ("Discounted profit so far", draw.money(discounted)),
                  ("Estimated firm value", draw.money(estimate))]
        w = self.cards.width // len(values)
        for i, (label, value) in enumerate(values):
            colour = draw.ACCENT if i == 4 else (draw.BAD if value.startswith("-") else draw.TEXT)
            draw.card(surface, pygame.Rect(self.cards.left + i * w, self.cards.top, w - px(8), self.cards.height),
                      label, value, px(18), colour)
        if self._surface is not None:
            surface.blit(self._surface, self.chart_area.topleft)
        visible = draw.rows_that_fit(self.table_rect.height, px(14))
        rows_idx = self._order[self.offset:self.offset + visible] if self._order is not None else []
        cols = self._cols if self._order is not None else {}
        channel_labels = [c.label for c in p.channels]
        rows = []
        for r in rows_idx:
            rows.append([str(int(cols["customer_id"][r])), channel_labels[int(cols["channel"][r])],
                         str(int(cols["acquisition_turn"][r])), str(int(cols["purchases"][r])),
                         f"{cols['recency'][r]:.1f}", draw.money(cols["monetary"][r]),
                         draw.money(cols["profit"][r]),
                         "n/a" if np.isnan(cols["p_alive"][r]) else f"{cols['p_alive'][r]:.0%}",
                         draw.money(cols["predicted_clv"][r])])
        draw.table(surface, self.table_rect, [draw.Column(c[0], c[3], c[2]) for c in TABLE_COLUMNS], rows,
                   px(14), sort_column=self.sort, descending=self.descending)
        total = 0 if self._order is None else self._order.size
        shown = f"{self.offset + 1:,}–{self.offset + len(rows):,} of {total:,} customers" if rows else \
            "no customer matches the search"
        draw.text(surface, shown + "   ([/] search, [S] sort, [R] reverse, PgUp/PgDn)",
                  (self.table_rect.left, self.table_area.bottom - px(22)), px(13), draw.MUTED,
                  max_width=self.table_rect.width)


# --------------------------------------------------------------------- the lab

SCORE_LABELS = {"predicted_clv": "predicted CLV", "p_alive": "P(alive)",
                "expected_purchases": "expected purchases", "horizon_value": "next-turn value"}


class LabScene(GameScene):
    """Fit the models to the player's data; predictions, CLV histogram, deciles; make tiers."""

    name = "lab"
    tab = "lab"

    def __init__(self, app):
        super().__init__(app)
        self.message = ""
        self.score = "predicted_clv"
        self.share_text = self._affordable_share()
        self._surface = None

    def _affordable_share(self) -> str:
        """A share (percent) whose real service (2x half-saturation each) fits the service budget."""
        from ...session import service_cap

        level = 2 * self.public.service.half_saturation
        n = max(1, int(np.count_nonzero(self.session.observation.active)))
        share = min(10.0, 100 * service_cap(self.public) / (level * n))
        # Round down to what a player would type, with room for the base to grow.
        return f"{max(0.5, math.floor(share * 0.8 * 2) / 2):g}"

    def build_body(self, body: pygame.Rect) -> None:
        px = self.app.px
        self.left = pygame.Rect(body.left, body.top, int(body.width * 0.5), body.height - px(120))
        self.right = pygame.Rect(self.left.right + px(12), body.top, body.right - self.left.right - px(12),
                                 body.height - px(120))
        y = self.left.bottom + px(12)
        self.action("fit", pygame.K_f, "Fit models to my data", pygame.Rect(body.left, y, px(300), px(44)),
                    "Fit Pareto/NBD and Gamma-Gamma (or sBG for members) to your customers' "
                    "purchases so far, then predict every customer.", "primary")
        self.dropdown = self.add(pygame_gui.elements.UIDropDownMenu(
            [(SCORE_LABELS[n], n) for n in LAB_COLUMNS], (SCORE_LABELS[self.score], self.score),
            pygame.Rect(body.left + px(320), y, px(230), px(44)), self.ui))
        self.share = self.add(pygame_gui.elements.UITextEntryLine(
            pygame.Rect(body.left + px(560), y, px(70), px(44)), self.ui, initial_text=self.share_text))
        self.share.set_allowed_characters([*"0123456789."])
        self.action("make_tier", pygame.K_t, "Make tier: top % by score",
                    pygame.Rect(body.left + px(640), y, px(300), px(44)),
                    "Add a tier of the customers with the highest score (first in the plan) "
                    "with real service: twice the half-saturation spend.")
        self.action("turn_away", pygame.K_a, "Turn away negative CLV",
                    pygame.Rect(body.left + px(950), y, min(px(280), body.right - body.left - px(950)), px(44)),
                    "Add a tier that turns away customers whose predicted CLV is below zero.", "danger")
        self.tooltips.add(self.share.rect, "Share of customers for the new tier, in percent.")

    def on_event(self, event) -> bool:
        if event.type == pygame_gui.UI_DROP_DOWN_MENU_CHANGED and event.ui_element is self.dropdown:
            self.score = event.selected_option_id
            return True
        if event.type == pygame_gui.UI_TEXT_ENTRY_CHANGED and event.ui_element is self.share:
            self.share_text = event.text
            return True
        return False

    def on_game_intent(self, intent: str) -> None:
        s = self.session
        if intent == "fit":
            lab = s.refit()
            self.message = lab.message or f"Models fitted to your {s.observation.n_customers:,} customers."
        elif intent in ("make_tier", "turn_away"):
            if s.lab.value is None:
                self.message = "Fit the models first: there are no predictions to build a tier from."
                return
            level = round(2 * self.public.service.half_saturation, 2)
            if intent == "turn_away":
                tier = TierPlan("negative CLV", {"field": "predicted_clv", "op": "<", "value": 0.0},
                                0.0, True)
            else:
                try:
                    share = float(self.share_text) / 100
                except ValueError:
                    share = math.nan
                if not 0 < share <= 1:
                    self.message = "The share must be a percentage between 0 and 100."
                    return
                rule = {"top": round(share, 4), "by": self.score}
                tier = TierPlan(describe_rule(rule), rule, level)
            self.app.plan.tiers.insert(0, tier)
            self.message = (f"Added tier '{tier.name}' first in your plan "
                            f"({'turned away' if tier.disengaged else draw.money(level) + ' each'}); "
                            "adjust it on the Decisions screen [E].")

    def update(self, dt: float) -> None:
        self._surface = self.chart(("clv", self.left.size, self.session.lab.fitted_turn), self._make_chart)

    def _make_chart(self):
        lab, style = self.session.lab, self.style()
        if lab.value is None:
            return charts.message_chart(lab.message or "Fit the models to see predictions.",
                                        self.left.size, style)
        return charts.clv_histogram(lab.value.predicted_clv, self.left.size, style)

    def body_key(self) -> tuple:
        return (self.message, id(self._surface))

    def draw_body(self, surface: pygame.Surface) -> None:
        px = self.app.px
        lab, obs = self.session.lab, self.session.observation
        if self._surface is not None:
            surface.blit(self._surface, self.left.topleft)
        inner = draw.panel(surface, self.right, "Deciles of customers by predicted CLV", px(16))
        if lab.value is None:
            draw.paragraph(surface, lab.message or "No predictions yet.", inner, px(15))
        else:
            v = lab.value
            clv = v.predicted_clv
            groups = min(10, clv.size)
            by_clv = reports.decile_table(clv, groups=groups)
            alive = reports.decile_table(v.p_alive, by=clv, groups=groups)
            buys = reports.decile_table(v.expected_purchases, by=clv, groups=groups)
            profit = reports.decile_table(obs.columns["profit"], by=clv, groups=groups)
            rows = [[str(i + 1), f"{by_clv.customers[i]:,}", draw.money(by_clv.mean[i]),
                     f"{alive.mean[i]:.0%}", f"{buys.mean[i]:.2f}", draw.money(profit.mean[i]),
                     f"{by_clv.share[i]:.0%}"] for i in range(groups)]
            cols = [draw.Column("decile", 0.7), draw.Column("customers", 1.1), draw.Column("mean CLV", 1.1),
                    draw.Column("P(alive)", 0.9), draw.Column("buys next", 1.0),
                    draw.Column("profit so far", 1.3), draw.Column("CLV share", 1.0)]
            table_rect = pygame.Rect(inner.left, inner.top, inner.width, int(px(15) * 1.45) * 12)
            draw.table(surface, table_rect, cols, rows, px(15))
            fits = "; ".join(f"{name}: " + ", ".join(f"{k}={val:.3g}" for k, val in fit.params.items())
                             for name, fit in v.fits.items()) if v.fits else ""
            fitted = lab.fitted_turn
            note = (f"Models fitted on your data at the start of turn {fitted}" if fitted else
                    "Models fitted") + (f" ({fits})." if fits else ".") + \
                   " Predicted CLV is each customer's expected discounted future margin, dollars; " \
                   "P(alive) the chance they are still a customer; 'buys next' the expected purchases next turn."
            y = draw.paragraph(surface, note, pygame.Rect(inner.left, table_rect.bottom + px(10), inner.width,
                                                          inner.bottom - table_rect.bottom - px(10)),
                               px(14), draw.MUTED)
            level = draw.money(2 * self.public.service.half_saturation)
            how = (f"Turn a score into a tier: choose the score below, type a share in percent and press "
                   f"[T]; the customers with the highest score get real service ({level} each, twice the "
                   "spend at which service has half its effect). [A] adds a tier that turns away the "
                   "customers whose predicted CLV is negative. New tiers go first in this turn's plan: "
                   "edit them on the Decisions screen [E].")
            draw.paragraph(surface, how, pygame.Rect(inner.left, y + px(10), inner.width, inner.bottom - y - px(10)),
                           px(14), draw.TEXT)
        if self.message:
            draw.text(surface, self.message, (self.body.left, self.body.bottom - px(26)), px(15), draw.ACCENT,
                      max_width=self.body.width)


# --------------------------------------------------------------------- decisions

FIELD_CHOICES = ("predicted_clv", "p_alive", "expected_purchases", "horizon_value", "profit",
                 "profit_per_turn", "recency", "purchases", "monetary", "age", "total_spend")
OPS = (("top %", "top"), ("bottom %", "bottom"), (">=", ">="), ("<", "<"), ("<=", "<="), (">", ">"))
MAX_TIERS = 6


class DecisionsScene(GameScene):
    """Acquisition per channel and service per tier; live budget; End turn."""

    name = "decisions"
    tab = "decisions"

    def __init__(self, app):
        super().__init__(app)
        self.selected = 0
        self.message = ""
        self.field = "predicted_clv"
        self.op = "top"
        self.value_text = "10"
        self.preview = None

    @property
    def plan(self):
        return self.app.plan

    def _rows(self) -> list[tuple[str, object]]:
        return [("channel", c) for c in self.public.channel_names] + \
            [("tier", i) for i in range(len(self.plan.tiers))]

    def _range(self, kind) -> float:
        if kind == "channel":
            return acquisition_cap(self.public)
        return float(max(20, round(4 * self.public.service.half_saturation)))

    def _value(self, kind, key) -> float:
        return self.plan.acquisition.get(key, 0.0) if kind == "channel" else self.plan.tiers[key].service

    def build_body(self, body: pygame.Rect) -> None:
        px = self.app.px
        self.sliders, self.entries, self.toggles, self.removes = {}, {}, {}, {}
        row_h = px(44)
        self.row_rects = []
        left_w = int(body.width * 0.44)
        self.acq_rect = pygame.Rect(body.left, body.top, left_w, body.height - px(150))
        self.tier_rect = pygame.Rect(body.left + left_w + px(12), body.top, body.width - left_w - px(12),
                                     body.height - px(150))
        y = self.acq_rect.top + px(64)
        for c in self.public.channels:
            self._row("channel", c.name, pygame.Rect(self.acq_rect.left + px(10), y, self.acq_rect.width - px(20), row_h))
            y += row_h + px(34)
        y = self.tier_rect.top + px(64)
        for i, _t in enumerate(self.plan.tiers[:MAX_TIERS]):
            self._row("tier", i, pygame.Rect(self.tier_rect.left + px(10), y, self.tier_rect.width - px(20), row_h))
            y += row_h + px(30)
        # Rule builder: a new tier from a field, an operator and a value.
        by = self.tier_rect.bottom - px(50)
        bx = self.tier_rect.left + px(10)
        unit = (self.tier_rect.width - px(20) - 4 * px(6)) / 100
        fields = [f for f in FIELD_CHOICES if f not in LAB_COLUMNS or self.session.lab.value is not None]
        if self.field not in fields:
            self.field = fields[0]
        self.field_menu = self.add(pygame_gui.elements.UIDropDownMenu(
            fields, self.field, pygame.Rect(bx, by, int(unit * 30), px(40)), self.ui))
        x = bx + int(unit * 30) + px(6)
        self.op_menu = self.add(pygame_gui.elements.UIDropDownMenu(
            OPS, next(o for o in OPS if o[1] == self.op), pygame.Rect(x, by, int(unit * 16), px(40)), self.ui))
        x += int(unit * 16) + px(6)
        self.value_entry = self.add(pygame_gui.elements.UITextEntryLine(
            pygame.Rect(x, by, int(unit * 12), px(40)), self.ui, initial_text=self.value_text))
        self.value_entry.set_allowed_characters([*"0123456789.-"])
        x += int(unit * 12) + px(6)
        self.action("add_tier", pygame.K_a, "Add tier", pygame.Rect(x, by, int(unit * 19), px(40)),
                    "Add a tier of customers matching the rule, first in the list (first match wins).")
        x += int(unit * 19) + px(6)
        self.action("turn_away_tier", pygame.K_t, "Turn away", pygame.Rect(x, by, int(unit * 23), px(40)),
                    "Toggle 'turn away' for the selected tier: no service, perks withdrawn.")
        self.tooltips.add(pygame.Rect(bx, by - px(4), self.tier_rect.width - px(20), px(48)),
                          "New tier: a field (the lab's scores or what you observe), an operator "
                          "and a value; 'top %' takes that share of all customers by the field.")
        bottom = body.bottom - px(56)
        self.summary_rect = pygame.Rect(body.left, body.bottom - px(140), body.width - px(280), px(84))
        self.action("end", pygame.K_RETURN, "End turn", pygame.Rect(body.right - px(260), bottom, px(260), px(56)),
                    "Play this plan for the turn.", "primary")
        self.action("reset", pygame.K_BACKSPACE, "Last turn's plan",
                    pygame.Rect(body.right - px(260), bottom - px(64), px(260), px(48)),
                    "Go back to last turn's decision (turn 1: the previous management's policy).")
        self.action("up", pygame.K_UP)
        self.action("down", pygame.K_DOWN)
        self.action("less", pygame.K_LEFT)
        self.action("more", pygame.K_RIGHT)
        self.action("remove", pygame.K_DELETE)
        self.tooltips.add(self.summary_rect, "Budget left = the marketing budget less acquisition "
                          "and service; projected service cost = customers in each tier x spend per customer.")
        self._refresh()

    def _row(self, kind, key, rect: pygame.Rect) -> None:
        px = self.app.px
        self.row_rects.append((kind, key, rect))
        top = rect.top
        slider_w = int(rect.width * 0.52)
        value = self._value(kind, key)
        slider = self.add(pygame_gui.elements.UIHorizontalSlider(
            pygame.Rect(rect.left, top, slider_w, rect.height), min(value, self._range(kind)),
            (0.0, self._range(kind)), self.ui, click_increment=self._range(kind) / 40))
        entry = self.add(pygame_gui.elements.UITextEntryLine(
            pygame.Rect(rect.left + slider_w + px(8), top, px(110), rect.height), self.ui,
            initial_text=f"{value:.0f}" if kind == "channel" else f"{value:.2f}"))
        entry.set_allowed_characters([*"0123456789."])
        self.sliders[(kind, key)] = slider
        self.entries[(kind, key)] = entry
        if kind == "tier":
            x = entry.rect.right + px(8)
            t = self.plan.tiers[key]
            self.toggles[key] = self.add(pygame_gui.elements.UIButton(
                pygame.Rect(x, top, px(110), rect.height), "turned away" if t.disengaged else "served", self.ui,
                tool_tip_text="Click (or [T] on the selected tier) to turn this tier away or serve it.",
                object_id=pygame_gui.core.ObjectID(object_id="#danger") if t.disengaged else None))
            self.removes[key] = self.add(pygame_gui.elements.UIButton(
                pygame.Rect(x + px(116), top, px(44), rect.height), "x", self.ui,
                tool_tip_text="Remove this tier ([Delete] on the selected tier)."))
            if t.disengaged:
                slider.disable()
                entry.disable()

    # -- changes
    def _set(self, kind, key, value: float, source=None) -> None:
        value = float(min(max(value, 0.0), 1e9))
        if kind == "channel":
            self.plan.acquisition[key] = value
        else:
            self.plan.tiers[key].service = value
        slider, entry = self.sliders.get((kind, key)), self.entries.get((kind, key))
        if slider is not None and source is not slider:
            slider.set_current_value(min(value, self._range(kind)))
        if entry is not None and source is not entry:
            entry.set_text(f"{value:.0f}" if kind == "channel" else f"{value:.2f}")
        self._refresh()

    def _refresh(self) -> None:
        self.preview = self.session.preview(self.plan)

    def on_event(self, event) -> bool:
        if event.type == pygame_gui.UI_HORIZONTAL_SLIDER_MOVED:
            for (kind, key), slider in self.sliders.items():
                if slider is event.ui_element:
                    self._select(kind, key)
                    self._set(kind, key, round(float(event.value), 2 if kind == "tier" else 0), slider)
                    return True
        if event.type in (pygame_gui.UI_TEXT_ENTRY_CHANGED, pygame_gui.UI_TEXT_ENTRY_FINISHED):
            for (kind, key), entry in self.entries.items():
                if entry is event.ui_element:
                    try:
                        value = float(event.text) if event.text.strip() else 0.0
                    except ValueError:
                        return True
                    self._select(kind, key)
                    self._set(kind, key, value, entry)
                    return True
            if event.ui_element is self.value_entry:
                self.value_text = event.text
                return True
        if event.type == pygame_gui.UI_DROP_DOWN_MENU_CHANGED:
            if event.ui_element is self.field_menu:
                self.field = event.selected_option_id
                return True
            if event.ui_element is self.op_menu:
                self.op = event.selected_option_id
                return True
        if event.type == pygame_gui.UI_BUTTON_PRESSED:
            for key, button in self.toggles.items():
                if button is event.ui_element:
                    self._select("tier", key)
                    self.on_game_intent("turn_away_tier")
                    return True
            for key, button in self.removes.items():
                if button is event.ui_element:
                    self._select("tier", key)
                    self.on_game_intent("remove")
                    return True
        return False

    def _select(self, kind, key) -> None:
        self.selected = self._rows().index((kind, key))

    def on_game_intent(self, intent: str) -> None:
        rows = self._rows()
        kind, key = rows[min(self.selected, len(rows) - 1)]
        if intent == "up":
            self.selected = (self.selected - 1) % len(rows)
        elif intent == "down":
            self.selected = (self.selected + 1) % len(rows)
        elif intent in ("less", "more"):
            step = self._range(kind) / 40 * (1 if intent == "more" else -1)
            self._set(kind, key, round(self._value(kind, key) + step, 2))
        elif intent == "turn_away_tier" and kind == "tier":
            t = self.plan.tiers[key]
            t.disengaged = not t.disengaged
            self.enter()
        elif intent == "remove" and kind == "tier":
            del self.plan.tiers[key]
            self.selected = min(self.selected, len(self._rows()) - 1)
            self.enter()
        elif intent == "add_tier":
            self._add_tier()
        elif intent == "reset":
            self.app.plan = self.session.default_plan()
            self.message = "Back to last turn's plan."
            self.enter()
        elif intent == "end":
            self._end_turn()

    def _add_tier(self) -> None:
        try:
            value = float(self.value_text)
        except ValueError:
            self.message = "The rule's value must be a number."
            return
        if len(self.plan.tiers) >= MAX_TIERS:
            self.message = f"At most {MAX_TIERS} tiers: remove one first."
            return
        if self.op in ("top", "bottom"):
            if not 0 < value <= 100:
                self.message = "A top or bottom share is a percentage between 0 and 100."
                return
            rule = {self.op: round(value / 100, 4), "by": self.field}
        else:
            rule = {"field": self.field, "op": self.op, "value": value}
        self.plan.tiers.insert(0, TierPlan(describe_rule(rule), rule, 0.0))
        self.selected = len(self.public.channel_names)
        self.message = "New tier added first (first match wins): set its spend per customer."
        self.enter()

    def _end_turn(self) -> None:
        try:
            result = self.session.end_turn(self.plan)
        except DecisionError as exc:
            # Refused: the game is unchanged; say why and let the player fix the plan.
            self.message = str(exc)
            return
        self.app.last_result = result
        self.app.plan = self.session.default_plan()
        self.app.scenes.replace(ResultsScene(self.app))

    # -- painting
    def body_key(self) -> tuple:
        return (id(self.preview), self.message, self.selected, len(self.plan.tiers))

    def draw_body(self, surface: pygame.Surface) -> None:
        px = self.app.px
        p, pv = self.public, self.preview
        draw.panel(surface, self.acq_rect, "Acquisition: dollars per channel this turn", px(16))
        draw.panel(surface, self.tier_rect, "Service tiers: first match wins; dollars per customer",
                   px(16))
        labels = {c.name: c.label for c in p.channels}
        rows = self._rows()
        for i, (kind, key, rect) in enumerate(self.row_rects):
            selected = rows[min(self.selected, len(rows) - 1)] == (kind, key)
            if selected:
                pygame.draw.rect(surface, draw.ACCENT, rect.inflate(px(8), px(30)).move(0, -px(12)), width=2,
                                 border_radius=6)
            if kind == "channel":
                title = labels[key]
                detail = f"about {pv.expected_acquired.get(key, 0):,.0f} new customers"
            else:
                t = self.plan.tiers[key]
                count = pv.tier_counts[key] if key < len(pv.tier_counts) else 0
                rule = describe_rule(t.rule)
                title = t.name if t.name == rule else f"{t.name} ({rule})"
                cost = 0.0 if t.disengaged else count * t.service
                detail = f"{count:,} customers · {draw.money(cost)}"
            draw.text(surface, title, (rect.left, rect.top - px(24)), px(15), draw.TEXT, bold=True,
                      max_width=int(rect.width * 0.6))
            draw.text(surface, detail, (rect.right, rect.top - px(24)), px(14), draw.MUTED, anchor="topright",
                      max_width=int(rect.width * 0.38))
        last = self.row_rects[len(self.public.channels) - 1][2] if self.public.channels else self.acq_rect
        help_rect = pygame.Rect(self.acq_rect.left + px(10), last.bottom + px(20), self.acq_rect.width - px(20),
                                self.acq_rect.bottom - last.bottom - px(30))
        draw.paragraph(surface, "Each channel's customers come with diminishing returns: more money "
                       "buys more, but each extra dollar buys fewer (the published response curve, "
                       "on a full prospect pool; the pool shrinks as you buy). Channels reach "
                       "different kinds of customers: the dashboard shows what each channel's "
                       "customers have been worth. Use arrow keys to pick a row and change it; "
                       "type an amount in a field.", help_rect, px(14), draw.MUTED)
        if len(self.plan.tiers) > MAX_TIERS:
            draw.text(surface, f"{len(self.plan.tiers) - MAX_TIERS} more tiers not shown",
                      (self.tier_rect.left + px(10), self.tier_rect.bottom - px(80)), px(14), draw.MUTED)
        if pv.unassigned:
            draw.text(surface, f"{pv.unassigned:,} customers in no tier (no service)",
                      (self.tier_rect.left + px(10), self.tier_rect.bottom - px(78)), px(14), draw.MUTED)
        # Summary: one budget, what the plan costs, what is left.
        s = self.summary_rect
        items = [("Marketing budget", draw.money(pv.budget), draw.TEXT),
                 ("Acquisition", draw.money(pv.acquisition_cost), draw.TEXT),
                 ("Projected service", draw.money(pv.service_cost), draw.TEXT),
                 ("Budget left", draw.money(pv.budget_left), draw.BAD if pv.budget_left < 0 else draw.GOOD)]
        w = s.width // 4
        for i, (label, value, colour) in enumerate(items):
            draw.card(surface, pygame.Rect(s.left + i * w, s.top, w - px(8), px(70)), label, value, px(17), colour)
        message = self.message or (pv.problem or "")
        if message:
            colour = draw.BAD if (pv.problem and message == pv.problem) or "over" in message.lower() \
                or "refus" in message.lower() else draw.ACCENT
            draw.paragraph(surface, message, pygame.Rect(s.left, s.bottom, s.width, self.body.bottom - s.bottom),
                           px(14), colour)


# --------------------------------------------------------------------- results

class ResultsScene(GameScene):
    """What happened in the turn just played, and in each tier."""

    name = "results"
    tab = ""

    def build_body(self, body: pygame.Rect) -> None:
        px = self.app.px
        last = self.session.done
        self.action("next", pygame.K_RETURN, "See the reveal" if last else "Next turn",
                    pygame.Rect(body.right - px(260), body.bottom - px(56), px(260), px(56)),
                    None, "primary")
        self.books_rect = pygame.Rect(body.left, body.top + px(40), int(body.width * 0.36), body.height - px(110))
        self.chart_rect = pygame.Rect(self.books_rect.right + px(12), body.top + px(40),
                                      body.right - self.books_rect.right - px(12), int((body.height - px(110)) * 0.5))
        self.tiers_rect = pygame.Rect(self.chart_rect.left, self.chart_rect.bottom + px(10), self.chart_rect.width,
                                      body.bottom - px(70) - self.chart_rect.bottom - px(10))
        self.tooltips.add(self.tiers_rect, "Each tier's customers when the turn began, how many bought "
                          "and what they spent during the turn; the change is against the same tier "
                          "last turn.")
        self._surface = None

    def on_game_intent(self, intent: str) -> None:
        if intent == "next":
            if self.session.done:
                from .debrief import DebriefScene
                self.app.scenes.reset(DebriefScene(self.app))
            else:
                self.app.scenes.replace(DashboardScene(self.app))

    def update(self, dt: float) -> None:
        self._surface = self.chart(("profit", self.chart_rect.size),
                                   lambda: charts.profit_chart(self.session.books, self.chart_rect.size, self.style()))

    def body_key(self) -> tuple:
        return (id(self._surface),)

    def draw_body(self, surface: pygame.Surface) -> None:
        px = self.app.px
        s, p = self.session, self.public
        b = s.results[-1].books
        draw.text(surface, f"Results of {p.turn_length} {b.turn}", (self.body.left, self.body.top),
                  px(26), bold=True)
        inner = draw.panel(surface, self.books_rect, "The books", px(16))
        labels = {c.name: c.label for c in p.channels}
        decision = s.decisions[-1]
        rows = []
        for name, n in b.acquired_by_channel.items():
            spend = decision.acquisition.get(name, 0.0)
            cpa = f" ({draw.money(spend / n)} each)" if n else ""
            rows.append([f"acquired via {labels[name]}", f"{n:,}{cpa}"])
        rows += [["buyers", f"{b.buyers:,}"]]
        if b.members is not None:
            rows += [["members", f"{b.members:,}"], ["cancellations", f"{b.cancellations:,}"]]
        rows += [["revenue", draw.money(b.revenue)], ["gross margin", draw.money(b.gross_margin)],
                 ["cost to serve", draw.money(-b.cost_to_serve)], ["service", draw.money(-b.service_spend)],
                 ["acquisition", draw.money(-b.acquisition_spend)], ["fixed cost", draw.money(-b.fixed_cost)],
                 ["profit", draw.money(b.profit)]]
        draw.table(surface, inner, [draw.Column("", 1.4, "l"), draw.Column("", 1.0)], rows, px(16),
                   colours=[draw.BAD if r[1].startswith("-") else draw.TEXT for r in rows])
        if self._surface is not None:
            surface.blit(self._surface, self.chart_rect.topleft)
        inner = draw.panel(surface, self.tiers_rect, "What changed in each tier", px(16))
        now = s.tier_outcomes[-1] if s.tier_outcomes else []
        before = {t.name: t for t in s.tier_outcomes[-2]} if len(s.tier_outcomes) > 1 else {}
        trows = []
        for t in now:
            prev = before.get(t.name)
            change = f"{t.customers - prev.customers:+,}" if prev else "new"
            treatment = "turned away" if t.disengaged else draw.money(t.service)
            trows.append([t.name, f"{t.customers:,}", change, f"{t.buyers:,}",
                          draw.money(t.revenue_per_customer), treatment])
        draw.table(surface, inner, [draw.Column("tier", 2.2, "l"), draw.Column("customers", 1.1),
                                    draw.Column("vs last", 0.9), draw.Column("buyers", 0.9),
                                    draw.Column("$/customer", 1.1), draw.Column("service", 1.2)],
                   trows, px(15))
