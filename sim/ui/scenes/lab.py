"""The analytics lab: fit the models to the player's data; CLV histogram, deciles; make tiers.

In a game with referrals a third view, CLV x CRV [V], shows the lab's
matrix of the active customers by predicted lifetime and referral value
(``reports.clv_crv_grid``, ``charts.clv_crv_chart``) with its quadrants'
table, from the lab's own score columns.
"""

from __future__ import annotations

import math

import numpy as np
import pygame
import pygame_gui

from ... import charts
from ...analytics import registry, reports
from ...analytics.experiments import (ACQUISITION_HEADER, EXPERIMENT_HEADER, acquisition_rows,
                                      acquisition_tests, experiment_rows, experiments)
from ...errors import SimError
from ...planning import AmountError, parse_amount
from ...session import TierPlan, lab_columns, service_cap
from .. import draw
from ..fields import NUMERIC, Catalogue, rule_text
from ..ingame import GameScene
from ..layout import cut_bottom, cut_left, flow
from ..scene import register

#: The CLV x CRV view's table: (column, priority when narrow).
QUADRANT_COLUMNS = ((draw.Column("quadrant", 1.2, "l"), 1), (draw.Column("customers", 1.1), 1),
                    (draw.Column("mean CLV", 1.1), 2), (draw.Column("mean CRV", 1.1), 2),
                    (draw.Column("CLV + CRV", 1.2), 3))
#: What each quadrant means for whom to serve (Kumar, Petersen & Leone's matrix).
QUADRANT_ADVICE = ("Champions buy and bring friends; affluents buy but bring no one; advocates "
                   "buy little but bring friends, so turning away by CLV alone loses them; misers "
                   "do neither. A tier from 'CLV + CRV' counts both.")
DECILE_COLUMNS = ((draw.Column("decile", 0.7), 1), (draw.Column("customers", 1.1), 3),
                  (draw.Column("mean CLV", 1.1), 1), (draw.Column("P(alive)", 0.9), 2),
                  (draw.Column("buys next", 1.0), 3), (draw.Column("profit so far", 1.3), 4),
                  (draw.Column("CLV share", 1.0), 2))


@register
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
        #: What the panels show: "deciles" (by predicted CLV), "experiments", or in a
        #: game with referrals "clv_crv" (the CLV x CRV matrix).
        self.view = "deciles"

    def _affordable_share(self) -> str:
        """A share (percent) whose real service (2x half-saturation each) fits the service budget."""
        level = 2 * self.public.service.half_saturation
        n = max(1, int(np.count_nonzero(self.session.observation.active)))
        share = min(10.0, 100 * service_cap(self.public) / (level * n))
        # Round down to what a player would type, with room for the base to grow.
        return f"{max(0.5, math.floor(share * 0.8 * 2) / 2):g}"

    def build_body(self, body: pygame.Rect) -> None:
        t, gap = self.typo, self.gap
        h = t.control
        fit_label = ("Fit models to my data", pygame.K_f)
        make_label = ("Make tier", pygame.K_t)
        away_label = ("Turn away CLV below 0", pygame.K_a)
        tests_label = ("Experiments", pygame.K_x)
        crv_label = ("CLV x CRV", pygame.K_v)
        scores = lab_columns(self.public.has_referrals)
        menu_w = max(draw.text_width(NUMERIC[n][0], t.widget) for n in scores) + 3 * t.em
        items = [("fit", self.button_width(*fit_label)),
                 ("label:Tier from a score:", draw.text_width("Tier from a score:", t.body) + gap),
                 ("menu", menu_w),
                 ("label:top", draw.text_width("top", t.body) + gap),
                 ("share", int(t.em * 3.5)),
                 ("label:%", draw.text_width("%", t.body) + gap),
                 ("make", self.button_width(*make_label)),
                 ("away", self.button_width(*away_label)),
                 ("tests", self.button_width(*tests_label))]
        if self.public.has_referrals:
            items.append(("crv", self.button_width(*crv_label)))
        places = flow(body.width, [w for _, w in items], gap)
        rows = places[-1][0] + 1
        message_h = t.line("small") * 2
        controls_h = rows * h + (rows - 1) * gap
        bottom, top = cut_bottom(body, controls_h + gap + message_h, gap)
        controls, self.message_rect = pygame.Rect(bottom.left, bottom.top, bottom.width, controls_h), \
            pygame.Rect(bottom.left, bottom.top + controls_h + gap, bottom.width, message_h)
        self.left, self.right = cut_left(top, int(top.width * 0.5), gap)
        self.labels = []
        rects = {}
        for (name, w), (r, x) in zip(items, places):
            rect = pygame.Rect(controls.left + x, controls.top + r * (h + gap), w, h)
            rects[name] = rect
            if name.startswith("label:"):
                self.labels.append((name[6:], rect))
        self.action("fit", pygame.K_f, fit_label[0], rects["fit"], registry.models_sentence(),
                    "primary")
        self.dropdown = self.add(pygame_gui.elements.UIDropDownMenu(
            [(NUMERIC[n][0], n) for n in scores], (NUMERIC[self.score][0], self.score),
            rects["menu"], self.ui))
        self.share = self.add(pygame_gui.elements.UITextEntryLine(rects["share"], self.ui,
                                                                  initial_text=self.share_text))
        self.tooltips.add(self.share.rect, "Share of customers for the new tier, in percent.")
        self.action("make_tier", pygame.K_t, make_label[0], rects["make"],
                    "Add a tier of the customers with the highest score (after your other tiers, "
                    "before 'everyone') with real service: twice the half-saturation spend.")
        self.action("turn_away", pygame.K_a, away_label[0], rects["away"],
                    "Add a tier that turns away customers whose predicted CLV is below zero.", "danger")
        self.action("experiments", pygame.K_x, tests_label[0], rects["tests"],
                    "Show your experiments instead of the deciles (again: back): each holdout test's "
                    "treated against its control, turn by turn, and each channel's cohorts valued "
                    "per customer and per dollar, with 95% intervals.")
        if self.public.has_referrals:
            self.action("clv_crv", pygame.K_v, crv_label[0], rects["crv"],
                        "Show the CLV x CRV matrix instead of the deciles (again: back): your "
                        "active customers by predicted lifetime value and by predicted referral "
                        "value, the friends they will bring.")
        self.controls_rect = controls

    def guide_targets(self) -> dict[str, pygame.Rect]:
        fit = next(a.button.rect for a in self.actions if a.intent == "fit")
        return {"fit": fit, "tiers": self.controls_rect}

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
        if intent in ("experiments", "clv_crv"):
            self.view = "deciles" if self.view == intent else intent
            return
        if intent == "fit":
            lab = s.refit()
            self.message = lab.message or f"Models fitted to your {s.observation.n_customers:,} customers."
        elif intent in ("make_tier", "turn_away"):
            if s.lab.value is None:
                self.message = "Fit the models first: there are no predictions to build a tier from."
                return
            catalogue = Catalogue(self.public, s.observation.columns, lab=True)
            level = round(2 * self.public.service.half_saturation, 2)
            if intent == "turn_away":
                rule = {"field": "predicted_clv", "op": "<", "value": 0.0}
                tier = TierPlan(rule_text(rule, catalogue), rule, 0.0, True)
            else:
                try:
                    share = parse_amount(self.share_text) / 100
                except AmountError as exc:
                    self.message = f"The share: {exc}."
                    return
                if not 0 < share <= 1:
                    self.message = "The share must be a percentage above 0 and at most 100."
                    return
                rule = {"top": round(share, 4), "by": self.score}
                tier = TierPlan(rule_text(rule, catalogue), rule, level)
            try:
                at = self.editor.add_tier(tier)
            except SimError as exc:
                self.message = f"No tier added: {exc}."
                return
            self.message = (f"Added tier {at + 1} '{tier.name}' "
                            f"({'turned away' if tier.disengaged else draw.money(level) + ' each'}); "
                            "adjust it on the Decisions screen [E] (Ctrl+Z there undoes it).")

    def update(self, dt: float) -> None:
        super().update(dt)
        lab = self.session.lab
        if self.view == "clv_crv":
            self._surface = self.chart(("clv_crv", self.left.size, lab.fitted_turn, lab.predicted_turn),
                                       self._make_grid_chart)
        else:
            self._surface = self.chart(("clv", self.left.size, lab.fitted_turn), self._make_chart)

    def _make_chart(self):
        lab, style = self.session.lab, self.style()
        if lab.value is None:
            return charts.message_chart(lab.message or "Fit the models to see predictions.",
                                        self.left.size, style)
        return charts.clv_histogram(lab.value.predicted_clv, self.left.size, style)

    def value_grid(self) -> reports.ValueGrid | None:
        """The lab's CLV x CRV matrix of the active customers, or None before it can be drawn."""
        lab, obs = self.session.lab, self.session.observation
        crv = lab.referral.get("predicted_crv")
        active = np.asarray(obs.active, dtype=bool)
        if lab.value is None or crv is None or not active.any():
            return None
        clv, crv = np.asarray(lab.value.predicted_clv)[active], np.asarray(crv)[active]
        if not (np.all(np.isfinite(crv)) and np.all(np.isfinite(clv))):
            return None         # nobody has referred anyone yet: no referral model
        return reports.clv_crv_grid(clv, crv)

    def _grid_message(self) -> str:
        lab = self.session.lab
        if lab.value is None:
            return lab.message or "Fit the models to see predictions."
        return ("No referral predictions yet: nobody has brought a friend who joined, so the "
                "referral model has nothing to fit.")

    def _make_grid_chart(self):
        grid, style = self.value_grid(), self.style()
        if grid is None:
            return charts.message_chart(self._grid_message(), self.left.size, style)
        return charts.clv_crv_chart(grid, self.left.size, style)

    def body_key(self) -> tuple:
        return (self.message, id(self._surface), self.view)

    def draw_body(self, surface: pygame.Surface) -> None:
        t = self.typo
        if self._surface is not None:
            surface.blit(self._surface, self.left.topleft)
        for label, rect in self.labels:
            draw.text(surface, label, (rect.left, rect.centery), t.body, draw.MUTED, anchor="midleft")
        if self.view == "experiments":
            self._experiments(surface)
        elif self.view == "clv_crv":
            self._grid_panel(surface)
        else:
            self._lab_panel(surface)
        if self.message:
            draw.paragraph(surface, self.message, self.message_rect, t.small, draw.ACCENT)

    def _experiments(self, surface) -> None:
        """Holdout tests turn by turn, then acquisition cohorts (newest first), as many as fit."""
        t, s = self.typo, self.session
        inner = draw.panel(surface, self.right, "Your experiments (95% intervals)", t.heading)
        size = t.small
        tests = experiment_rows(experiments(s.observation, s.decisions), latest_only=False)
        labels = self.public.customer_channel_label_by_name
        cohorts = acquisition_rows(acquisition_tests(s.observation, s.decisions)[::-1], labels)
        y = inner.top
        if not tests:
            y = draw.paragraph(surface, "No holdout test yet: give a tier a 'Hold out (%)' in the tier "
                               "builder and its treated customers are compared with the held-out ones "
                               "from the next turn on.", inner, size, draw.MUTED) + t.em // 2
        else:
            cols = [draw.Column(EXPERIMENT_HEADER[0], 1.3, "l"), draw.Column("treatment", 1.1),
                    draw.Column("treated/control", 1.3), draw.Column("turn", 0.5),
                    draw.Column("extra purchases", 2.0), draw.Column("profit lift", 2.4)]
            room = (inner.bottom - y) // 2
            fit = min(len(tests), max(1, draw.rows_that_fit(room, size)))
            rows = tests[-fit:]
            keep = draw.fit_columns(cols, rows, size, inner.width, (1, 5, 4, 2, 3, 1))
            height = draw.table_height(len(rows), size)
            draw.table(surface, pygame.Rect(inner.left, y, inner.width, height), [cols[j] for j in keep],
                       [[r[j] for j in keep] for r in rows], size)
            y += height + t.em // 2
        if not cohorts or inner.bottom - y < 2 * draw.row_height(size):
            return
        cols = [draw.Column("channel", 1.4, "l"), draw.Column("turn", 0.5), draw.Column("dollars", 0.9),
                draw.Column("customers", 0.9), draw.Column("profit each so far", 2.4),
                draw.Column("per dollar", 2.0)]
        fit = draw.rows_that_fit(inner.bottom - y, size)
        rows = cohorts[:fit]
        keep = draw.fit_columns(cols, rows, size, inner.width, (1, 2, 4, 3, 1, 1))
        draw.table(surface, pygame.Rect(inner.left, y, inner.width, inner.bottom - y), [cols[j] for j in keep],
                   [[r[j] for j in keep] for r in rows], size)

    def _grid_panel(self, surface) -> None:
        """The quadrants' table (best first) and what each quadrant means."""
        t = self.typo
        inner = draw.panel(surface, self.right, "CLV x CRV: whom they buy, whom they bring", t.heading)
        grid = self.value_grid()
        if grid is None:
            draw.paragraph(surface, self._grid_message(), inner, t.body)
            return
        rows = []
        for row, column in ((1, 1), (0, 1), (1, 0), (0, 0)):
            n = int(grid.customers[row, column])
            clv, crv = grid.mean_clv[row, column], grid.mean_crv[row, column]
            rows.append([grid.name(row, column), f"{n:,}",
                         *((draw.money(clv), draw.money(crv), draw.money(clv + crv)) if n else
                           ("-", "-", "-"))])
        size = t.small
        keep = draw.fit_columns([c for c, _ in QUADRANT_COLUMNS], rows, size, inner.width,
                                [p for _, p in QUADRANT_COLUMNS])
        height = draw.table_height(len(rows), size)
        draw.table(surface, pygame.Rect(inner.left, inner.top, inner.width, height),
                   [QUADRANT_COLUMNS[j][0] for j in keep], [[r[j] for j in keep] for r in rows], size)
        y = inner.top + height
        notes = [(f"High means above the median of your active customers: CLV "
                  f"{draw.money(grid.clv_cut)}, CRV {draw.money(grid.crv_cut)}. CRV is the expected "
                  "value of the friends a customer will bring, dollars.", draw.MUTED),
                 (QUADRANT_ADVICE, draw.TEXT)]
        for note, colour in notes:
            rect = pygame.Rect(inner.left, y + t.em // 2, inner.width, inner.bottom - y - t.em // 2)
            if not draw.fits(note, t.small, rect):
                continue
            y = draw.paragraph(surface, note, rect, t.small, colour)

    def _lab_panel(self, surface) -> None:
        t = self.typo
        lab = self.session.lab
        inner = draw.panel(surface, self.right, "Deciles of customers by predicted CLV", t.heading)
        if lab.value is None:
            draw.paragraph(surface, lab.message or "No predictions yet.", inner, t.body)
        else:
            y = self._deciles(surface, inner)
            v = lab.value
            fits = reports.fitted_parameters(v.fits) if v.fits else ""
            fitted = lab.fitted_turn
            notes = [("Predicted CLV is each customer's expected discounted future margin, dollars; "
                      "P(alive) the chance they are still a customer; 'buys next' the expected "
                      "purchases next turn.", draw.MUTED),
                     ((f"Models fitted on your data at the start of turn {fitted}" if fitted else
                       "Models fitted") + (f" ({fits})." if fits else "."), draw.MUTED),
                     ("Make tier: the customers with the highest score get real service "
                      f"({draw.money(2 * self.public.service.half_saturation)} each, twice the spend at "
                      "which service has half its effect); new tiers go after yours, before "
                      "'everyone'.", draw.TEXT)]
            for note, colour in notes:
                rect = pygame.Rect(inner.left, y + t.em // 2, inner.width, inner.bottom - y - t.em // 2)
                if not draw.fits(note, t.small, rect):
                    continue        # no room: the glossary (F1) and the guide say it too
                y = draw.paragraph(surface, note, rect, t.small, colour)

    def _deciles(self, surface, inner: pygame.Rect) -> int:
        """The decile table with as many columns as fit; returns the y below it."""
        t = self.typo
        v, obs = self.session.lab.value, self.session.observation
        clv = v.predicted_clv
        groups = min(10, clv.size)
        by_clv = reports.decile_table(clv, groups=groups)
        alive = reports.decile_table(v.p_alive, by=clv, groups=groups)
        buys = reports.decile_table(v.expected_purchases, by=clv, groups=groups)
        profit = reports.decile_table(obs.columns["profit"], by=clv, groups=groups)
        rows = [[str(i + 1), f"{by_clv.customers[i]:,}", draw.money(by_clv.mean[i]),
                 f"{alive.mean[i]:.0%}", f"{buys.mean[i]:.2f}", draw.money(profit.mean[i]),
                 f"{by_clv.share[i]:.0%}"] for i in range(groups)]
        size = t.small
        keep = draw.fit_columns([c for c, _ in DECILE_COLUMNS], rows, size, inner.width,
                                [p for _, p in DECILE_COLUMNS])
        rows_fit = min(groups, draw.rows_that_fit(inner.height, size))
        height = draw.table_height(rows_fit, size)
        draw.table(surface, pygame.Rect(inner.left, inner.top, inner.width, height),
                   [DECILE_COLUMNS[j][0] for j in keep], [[r[j] for j in keep] for r in rows[:rows_fit]], size)
        return inner.top + height
