"""The dashboard: the books so far, five charts of the player's customers, the customer table.

Where the window is wide enough the charts and the table sit side by side;
otherwise (large text, a small window) one at a time, the table being a
sixth tab.  The table shows as many columns as fit — the channel, each
profile tag, profit and the lab's scores first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pygame
import pygame_gui

from ... import charts
from ...analytics import reports
from ...analytics.fitting import DataError
from ...session import marketing_budget
from .. import draw
from ..fields import words
from ..ingame import GameScene
from ..layout import cut_bottom, cut_top, fits_in, split
from ..scene import register

DASH_CHARTS = (("Whale curve", "Whale"), ("Cohorts (C3)", "C3"), ("Retention", "Retention"),
               ("Acquisition", "Acquired"), ("RFM grid", "RFM"))
TABLE_TAB = ("Customers", "Customers")


@dataclass(frozen=True)
class TableColumn:
    """A column of the customer table: heading, data key, alignment, keep priority (1 = last
    dropped when the table is narrow), tooltip."""

    heading: str
    key: str
    align: str
    priority: int
    tip: str


def table_columns(public) -> list[TableColumn]:
    cols = [TableColumn("id", "customer_id", "l", 4, "The customer's number."),
            TableColumn("channel", "channel", "l", 1, "The acquisition channel that brought the customer.")]
    cols += [TableColumn(words(t.name), t.name, "l", 2, f"Profile tag '{words(t.name)}', recorded when the "
                         "customer joined: " + ", ".join(words(v) for v in t.values) + ".")
             for t in public.profile]
    cols += [TableColumn("joined", "acquisition_turn", "r", 5,
                         "The turn the customer was acquired (0 or less: before you took over)."),
             TableColumn("buys", "purchases", "r", 3, "Purchases so far, the first one included."),
             TableColumn("recency", "recency", "r", 3, "Turns since the customer's latest purchase "
                         "(0 = bought at the very end of last turn)."),
             TableColumn("$/buy", "monetary", "r", 4, "Mean dollars per purchase."),
             TableColumn("profit", "profit", "r", 1, "Gross margin on the customer's purchases less "
                         "their cost to serve, dollars so far (service spend not counted)."),
             TableColumn("P(alive)", "p_alive", "r", 2, "The lab's probability that the customer is "
                         "still a customer (from your own data)."),
             TableColumn("CLV", "predicted_clv", "r", 1, "The lab's predicted customer lifetime value: "
                         "expected discounted future margin, dollars.")]
    if public.has_referrals:
        cols += [TableColumn("refs", "referrals", "r", 3, "Friends the customer has brought who "
                             "joined, so far."),
                 TableColumn("CRV", "predicted_crv", "r", 2, "The lab's predicted customer referral "
                             "value: the expected value of the friends the customer will bring, "
                             "dollars.")]
    return cols


@register
class DashboardScene(GameScene):
    """Books so far, budget, estimated firm value, five charts and the customer table."""

    name = "dashboard"
    tab = "dashboard"

    def __init__(self, app):
        super().__init__(app)
        self.chart_index = 0
        self.sort = "profit"
        self.descending = True
        self.query = ""
        self.offset = 0
        self._order = None
        self._surface = None
        self._shown = None
        self.columns = table_columns(self.public)

    # -- layout
    def _cards(self) -> list[tuple[str, str, tuple, str]]:
        s, p = self.session, self.public
        books = s.results[-1].books if s.results else s.books[-1]
        discounted, _equity, estimate = s.estimated_firm_value()
        last = (f"Profit, {p.turn_length} {books.turn}" if books.turn >= 1
                else f"Last {p.turn_length}'s profit")
        return [("Customers so far", f"{s.observation.n_customers:,}", draw.TEXT,
                 "Customers the firm has acquired so far (including those who may have quietly left)."),
                (last, draw.money(books.profit), draw.BAD if books.profit < 0 else draw.TEXT,
                 "Profit in the last turn: gross margin less cost to serve, service, acquisition and "
                 "fixed cost (turns before 1: the previous management's)."),
                ("Budget per turn", draw.money(marketing_budget(p)), draw.TEXT,
                 "Marketing money you may spend each turn on acquisition and service together."),
                ("Discounted profit so far", draw.money(discounted), draw.BAD if discounted < 0 else draw.TEXT,
                 "Profit of your turns so far, discounted to the start of turn 1."),
                ("Estimated firm value", draw.money(estimate), draw.ACCENT,
                 # Capitals: the card is an estimate, not the score.
                 s.estimate_note().replace("Estimated", "ESTIMATED", 1)
                 + " The true value is revealed at the end.")]

    def build_body(self, body: pygame.Rect) -> None:
        t, gap = self.typo, self.gap
        cards = self._cards()
        card_rects = split(body, len(cards), gap)
        card_h = max(draw.card_height(label, r.width, t.label, t.value) for (label, *_), r in zip(cards, card_rects))
        self.cards_rect, rest = cut_top(body, card_h, gap)
        self.card_rects = [pygame.Rect(r.left, self.cards_rect.top, r.width, card_h) for r in card_rects]
        for r, card in zip(self.card_rects, cards):
            self.tooltips.add(r, card[3])
        # Side by side if the table's telling columns (channel, tags, profit, the lab's) fit beside
        # the chart; else one at a time.
        essential = [c for c in self.columns if c.priority <= 2]
        self.side_by_side = self._table_width(essential) <= rest.width * 0.46
        tabs = list(DASH_CHARTS) + ([] if self.side_by_side else [TABLE_TAB])
        self.chart_index = min(self.chart_index, len(tabs) - 1)
        if self.side_by_side:
            chart_w = int(rest.width * 0.53)
            self.chart_area = pygame.Rect(rest.left, rest.top, chart_w, rest.height)
            self.table_area = pygame.Rect(rest.left + chart_w + gap, rest.top, rest.width - chart_w - gap,
                                          rest.height)
        else:
            self.chart_area = self.table_area = rest
        buttons, self.chart_rect = cut_top(self.chart_area, t.control, gap)
        self._tab_buttons(buttons, tabs)
        self.showing_table = self.side_by_side or self.chart_index == len(DASH_CHARTS)
        if self.showing_table:
            top = self.table_area if self.side_by_side else self.chart_rect
            controls, table = cut_top(top, t.control, gap) if self.side_by_side else (None, top)
            if not self.side_by_side:
                # The table's own controls on the tab row's right, after the tabs.
                controls = pygame.Rect(self.tabs_end + gap * 2, buttons.top, buttons.right - self.tabs_end - 2 * gap,
                                       t.control)
            self._table_controls(controls)
            self.status_line, self.table_rect = cut_bottom(table, t.line("small"), gap // 2)
        else:
            self.table_rect = None
        self.action("find", pygame.K_SLASH)
        self.action("reverse", pygame.K_r)
        self._order = None
        self._shown = None
        self._widths = None

    def _tab_buttons(self, rect: pygame.Rect, tabs) -> None:
        gap = self.gap
        for long_names, keys in ((True, True), (False, True), (False, False)):
            labels = [tab[0] if long_names else tab[1] for tab in tabs]
            widths = [self.button_width(label, pygame.K_1 + i if keys else None, small=True)
                      for i, label in enumerate(labels)]
            room = rect.width if self.side_by_side else int(rect.width * 0.62)
            if fits_in(room, widths, gap) or not keys:
                break
        x = rect.left
        for i, (label, w) in enumerate(zip(labels, widths)):
            self.action(f"chart:{i}", pygame.K_1 + i, label, pygame.Rect(x, rect.top, w, rect.height),
                        tabs[i][0] if not long_names else None,
                        "small_active" if i == self.chart_index else "small", show_key=keys)
            x += w + gap
        self.tabs_end = x - gap

    def _table_controls(self, rect: pygame.Rect) -> None:
        t, gap = self.typo, self.gap
        buttons = [("sort", pygame.K_s, "Sort", "Sort by the next column (or click a column heading)."),
                   ("page_up", pygame.K_PAGEUP, "Prev", "The previous page of customers."),
                   ("page_down", pygame.K_PAGEDOWN, "Next", "The next page of customers.")]
        for keys in (True, False):
            widths = [self.button_width(label, key if keys else None, small=True) for _, key, label, _ in buttons]
            if sum(widths) + 3 * gap + t.em * 8 <= rect.width or not keys:
                break
        search_w = max(t.em * 6, rect.width - sum(widths) - 3 * gap)
        hint = next(h for h in ("search: id, channel, tag", "search", "")
                    if draw.text_width(h, t.widget) <= search_w - t.em)
        self.search = self.add(pygame_gui.elements.UITextEntryLine(
            pygame.Rect(rect.left, rect.top, search_w, t.control), self.ui, initial_text=self.query,
            placeholder_text=hint))
        self.tooltips.add(self.search.rect, "Search [/]: a customer's number, or part of a channel or a "
                          "profile tag's value (e.g. residential). Esc leaves the field.")
        x = rect.left + search_w + gap
        for (intent, key, label, tip), w in zip(buttons, widths):
            self.action(intent, key, label, pygame.Rect(x, rect.top, w, t.control), tip, "small", show_key=keys)
            x += w + gap

    def guide_targets(self) -> dict[str, pygame.Rect]:
        out = {"cards": self.cards_rect, "charts": self.chart_area,
               "tabs": pygame.Rect(self.body.left, self.body.top - self.typo.control - self.gap,
                                   self.tabs_right - self.body.left, self.typo.control)}
        if self.table_rect is not None:
            out["table"] = self.table_area
        else:
            # One view at a time: the customer table is behind its tab.
            out["table"] = next(a.button.rect for a in self.actions if a.intent == f"chart:{len(DASH_CHARTS)}")
        return out

    # -- events
    def on_event(self, event) -> bool:
        search = getattr(self, "search", None)
        if event.type == pygame_gui.UI_TEXT_ENTRY_CHANGED and search is not None and event.ui_element is search:
            self.query = event.text
            self.offset = 0
            self._order = None
            return True
        if self.table_rect is None:
            return False
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1 and self.table_rect.collidepoint(event.pos):
            for col, cell in zip(self._shown or (), self._heads()):
                if cell.collidepoint(event.pos):
                    self.descending = not self.descending if self.sort == col.key else True
                    self.sort = col.key
                    self._order = None
                    return True
        if event.type == pygame.MOUSEWHEEL and self.table_rect.collidepoint(self.app.mouse):
            self.offset = max(0, self.offset - 3 * event.y)
            return True
        return False

    def _heads(self) -> list[pygame.Rect]:
        out, x = [], self.table_rect.left
        h = draw.row_height(self.typo.small)
        for w in self._widths or ():
            out.append(pygame.Rect(x, self.table_rect.top, w, h))
            x += w
        return out

    def on_game_intent(self, intent: str) -> None:
        if intent.startswith("chart:"):
            self.chart_index = int(intent[6:])
            self.enter()
        elif self.table_rect is None:
            if intent == "find":
                self.chart_index = len(DASH_CHARTS)     # the table's tab, then its search field
                self.enter()
                if self.table_rect is not None:
                    self.app.focus(self.search)
            return
        elif intent == "sort":
            keys = [c.key for c in (self._shown or self.columns)]
            self.sort = keys[(keys.index(self.sort) + 1) % len(keys)] if self.sort in keys else keys[0]
            self._order = None
        elif intent == "reverse":
            self.descending = not self.descending
            self._order = None
        elif intent == "page_down":
            self.offset += self._visible_rows()
        elif intent == "page_up":
            self.offset = max(0, self.offset - self._visible_rows())
        elif intent == "find":
            self.app.focus(self.search)

    def _visible_rows(self) -> int:
        return draw.rows_that_fit(self.table_rect.height, self.typo.small) if self.table_rect else 0

    # -- data
    def _columns(self) -> dict[str, np.ndarray]:
        cols = dict(self.session.observation.columns)
        lab = self.session.lab.columns()
        n = self.session.observation.n_customers
        for name in ("p_alive", "predicted_clv", "predicted_crv"):
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
        labels = self.public.customer_channel_label_by_name
        for field, values in obs.categories.items():
            hits = [i for i, v in enumerate(values)
                    if q in v.lower() or q in words(v).lower() or q in labels.get(v, "").lower()]
            if hits:
                mask |= np.isin(cols[field], hits)
        return mask

    def _cell(self, key: str, r: int) -> str:
        cols = self._cols
        v = cols[key][r]
        if key == "channel":
            return self.public.customer_channel_labels[int(v)]
        if key in self._categories:
            return words(self._categories[key][int(v)])
        if key in ("customer_id", "acquisition_turn", "purchases", "referrals"):
            return str(int(v))
        if key == "recency":
            return f"{v:.1f}"
        if key == "p_alive":
            return "n/a" if np.isnan(v) else f"{v:.0%}"
        return draw.money(v)

    def _table_width(self, columns) -> int:
        """Natural width of a table with ``columns`` (headings and the widest plausible cells)."""
        size = self.typo.small
        samples = {"channel": [c.label for c in self.public.channels], "customer_id": ["99999"],
                   "acquisition_turn": ["-10"], "purchases": ["999"], "recency": ["10.5"],
                   "monetary": ["$1,234"], "profit": ["-$12,345"], "p_alive": ["100%"],
                   "predicted_clv": ["$12,345"], "referrals": ["99"], "predicted_crv": ["$12,345"]}
        for tag in self.public.profile:
            samples[tag.name] = [words(v) for v in tag.values]
        cols = [draw.Column(c.heading, 1.0, c.align) for c in columns]
        rows = [[max(samples.get(c.key, ["0"]), key=lambda s: draw.text_width(s, size)) for c in columns]]
        widest_heading = max(range(len(cols)), key=lambda j: draw.text_width(cols[j].heading, size, True))
        return sum(draw.column_widths(cols, rows, size, 0, sort_column=widest_heading))

    def update(self, dt: float) -> None:
        super().update(dt)
        if self.table_rect is not None:
            if self._shown is None:
                # As many columns as fit, dropping the least telling first.
                shown = list(self.columns)
                while len(shown) > 2 and self._table_width(shown) > self.table_rect.width:
                    worst = max(shown, key=lambda c: (c.priority, shown.index(c)))
                    shown.remove(worst)
                self._shown = shown
                self._categories = {k: v for k, v in self.session.observation.categories.items()}
                if self.sort not in [c.key for c in shown]:
                    self.sort = "profit"
            if self._order is None:
                cols = self._columns()
                key = cols[self.sort].astype(float)
                rows = np.flatnonzero(self._match(cols))
                values = key[rows]
                # NaN last whichever way the table is sorted.
                values = np.where(np.isnan(values), -np.inf if self.descending else np.inf, values)
                order = np.argsort(-values if self.descending else values, kind="stable")
                self._order = rows[order]
                self._cols = cols
            visible = self._visible_rows()
            self.offset = min(self.offset, max(0, self._order.size - visible))
            self._rows = [[self._cell(c.key, r) for c in self._shown]
                          for r in self._order[self.offset:self.offset + visible]]
            table_cols = [draw.Column(c.heading, 1.0, c.align) for c in self._shown]
            keys = [c.key for c in self._shown]
            self._widths = draw.column_widths(table_cols, self._rows or [[""] * len(table_cols)],
                                              self.typo.small, self.table_rect.width,
                                              keys.index(self.sort) if self.sort in keys else None)
            self._register_head_tips()
        if not self.showing_table or self.side_by_side:
            self._surface = self.chart(("dash", self.chart_index, self.chart_rect.size), self._make_chart)

    def _register_head_tips(self) -> None:
        key = (tuple(self._widths), tuple(c.key for c in self._shown))
        if getattr(self, "_tips_key", None) == key:
            return
        self._tips_key = key
        for cell, col in zip(self._heads(), self._shown):
            self.tooltips.add(cell, col.tip + " Click to sort.")

    def _make_chart(self):
        obs, p = self.session.observation, self.public
        size, style = self.chart_rect.size, self.style()
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
        return (self.chart_index, id(self._order), self.offset, id(self._surface), self.sort,
                self.descending, id(self._shown))

    def draw_body(self, surface: pygame.Surface) -> None:
        t = self.typo
        for r, (label, value, colour, _tip) in zip(self.card_rects, self._cards()):
            draw.card(surface, r, label, value, t.label, t.value, colour)
        if self._surface is not None and (not self.showing_table or self.side_by_side):
            surface.blit(self._surface, self.chart_rect.topleft)
        if self.table_rect is None or self._shown is None:
            return
        rows = self._rows
        draw.table(surface, self.table_rect, [draw.Column(c.heading, 1.0, c.align) for c in self._shown], rows,
                   t.small, sort_column=[c.key for c in self._shown].index(self.sort)
                   if self.sort in [c.key for c in self._shown] else None,
                   descending=self.descending, widths=self._widths)
        total = 0 if self._order is None else self._order.size
        shown = f"{self.offset + 1:,}–{self.offset + len(rows):,} of {total:,} customers" if rows else \
            "no customer matches the search"
        hidden = len(self.columns) - len(self._shown)
        for line in (shown + "   ([/] search, [S] sort, [R] reverse, PgUp/PgDn)"
                     + (f"; {hidden} more columns in a wider window" if hidden else ""),
                     shown + "   ([/] search, [S] sort, PgUp/PgDn)", shown):
            if draw.text_width(line, t.small) <= self.status_line.width:
                draw.text(surface, line, self.status_line.topleft, t.small, draw.MUTED)
                break
