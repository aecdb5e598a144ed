"""The debrief: the reveal of the truth after the last turn (or of an opened record).

The reveal is computed off the main thread (``PlayerSession.debrief`` or
``sim.debrief.debrief_of`` for a record) while a progress bar names each
game being played; the buttons stay disabled until it is ready.  What is
drawn comes from the plain-data ``Debrief`` only, so a debrief received from
elsewhere draws the same; the charts are ``sim.report.debrief_figure``'s,
the HTML report's.

Every size comes from the app's typography (``self.typo``), so the
large-text setting and the window size reach this screen like every other;
what does not fit a panel is scrolled (the turns, the advice) or left to a
tooltip, never cut.
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import pygame

from ...analytics.equity import LEVEL
from ...debrief import PLAYER, Debrief, debrief_of
from ...errors import SimError
from ...export import export_record, write_transaction_log
from ...output_paths import check_output_file
from ...records import GameRecord, write_record
from ...report import DEBRIEF_STEMS, debrief_figure, write_report
from ...session import BACKGROUND_FROM_PROSPECTS
from .. import draw
from ..ingame import chart_style
from ..scene import Scene, key_label, register

DEBRIEF_CHARTS = ("Firm value", "Levers", "Channels", "Service", "Equity", "Timeline")
#: The side panel's pages.
PAGES = ("What to do", "Strategies", "Levers", "Turns")
PAGE_KEYS = (pygame.K_a, pygame.K_v, pygame.K_l, pygame.K_t)
#: The cards' labels, long then short (large text on a narrow window).
CARD_LABELS = (("Your firm value", "Centricity score (0 mass, 100 oracle)",
                "Customer equity left: your estimate", "Customer equity left: the truth"),
               ("Your firm value", "Centricity score", "Equity left: your estimate", "Equity left: the truth"))
LEVERS_NOTE = ("Acquisition: your acquisition with their service, against their own game. "
               "Service: their acquisition with your service tiers (applied to that game's own "
               "customers), against their own game. Same random draws throughout.")


def compact_money(x: float) -> str:
    """Dollars in few characters for a narrow column: -$1.2M / $353.8k / $950."""
    if x != x:     # NaN
        return "n/a"
    sign, x = ("-" if x < 0 else ""), abs(x)
    if x >= 1e6:
        return f"{sign}${x / 1e6:.2f}M"
    if x >= 1e4:
        return f"{sign}${x / 1e3:.1f}k"
    return f"{sign}${x:,.0f}"


@register
class DebriefScene(Scene):
    """Firm value vs references and oracle, levers, channels, tiers, the lesson, every turn."""

    name = "debrief"

    def __init__(self, app, record: GameRecord | None = None, debrief: Debrief | None = None):
        super().__init__(app)
        self.record = record
        self.debrief: Debrief | None = debrief
        self.error = ""
        self.progress = ("starting", 0.0)
        self.message = ""
        self.chart_index = 0
        self.page = 0
        self.turn_offset = 0
        self.advice_offset = 0
        self._surface = None
        self._exporting = False
        self._thread = threading.Thread(target=self._compute, daemon=True)
        if debrief is None:
            self._thread.start()

    # -- the reveal, computed off the main thread
    def _compute(self) -> None:
        try:
            if self.record is not None:
                r = self.record
                workers = 2 if r.scenario.prospects >= BACKGROUND_FROM_PROSPECTS else 1
                self.debrief = debrief_of(r.scenario, r.seed, r.decisions, progress=self._tell,
                                          played_by=r.strategy, workers=workers)
            else:
                # Through the session interface: a class server releases the debrief the same way.
                self.debrief = self.app.session.reveal(progress=self._tell)
        except Exception as exc:   # the screen must say what went wrong, never crash
            self.error = f"The reveal could not be computed: {exc}"

    def _tell(self, what: str, done: float) -> None:
        self.progress = (what, done)

    @property
    def ready(self) -> bool:
        return self.debrief is not None

    def wait(self, timeout: float = 600.0) -> bool:
        """Block until the reveal is computed (tests and the demo)."""
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self.ready:
            self.enter()
        return self.ready

    # -- layout
    def _spacing(self) -> tuple[int, int]:
        """(margin, gap) in pixels, from the body size."""
        t = self.typo
        return max(8, int(t.em * 0.8)), max(6, t.em // 2)

    def _tab_widths(self, labels, keys, width: int) -> tuple[list[int], bool]:
        """Widths of a row of small tabs and whether they show their keys: the keys when the row
        fits ``width`` with them, else the labels alone (the row may still be wider than ``width``)."""
        _, gap = self._spacing()
        for show_key in (True, False):
            widths = [self.button_width(label, key if show_key else None, small=True)
                      for label, key in zip(labels, keys)]
            if sum(widths) + gap * (len(labels) - 1) <= width:
                break
        return widths, show_key

    def _tabs(self, labels, keys, left: int, top: int, width: int, prefix: str, active: int, tips) -> None:
        """A row of small tab buttons inside ``width`` (the tooltip names the key where the
        button has no room to); the spare width is shared out."""
        _, gap = self._spacing()
        widths, show_key = self._tab_widths(labels, keys, width)
        spare = max(0, width - sum(widths) - gap * (len(labels) - 1)) // len(labels)
        x = left
        for i, (label, key, w, tip) in enumerate(zip(labels, keys, widths, tips)):
            self.action(f"{prefix}:{i}", key, label, pygame.Rect(x, top, w + spare, self.typo.control),
                        tip if show_key else f"{tip}  [{key_label(key)}]",
                        object_id="small_active" if i == active else "small", show_key=show_key)
            x += w + spare + gap

    def build(self, rect: pygame.Rect) -> None:
        t = self.typo
        m, gap = self._spacing()
        h = t.control
        self.built_ready = self.ready
        bottom = rect.height - m - h
        x = m
        for intent, key, label, tip, oid in (
                ("save", pygame.K_s, "Save record", "Write the game record (JSON): anyone can replay and "
                 "verify it with ccsim replay.", None),
                ("report", pygame.K_r, "Export report", "Write this debrief as an HTML page with its charts.", None),
                ("data", pygame.K_x, "Export data", "Write every purchase of your game as a CSV file (customer, "
                 "turn, amount, cost to serve, channel, tags) for Excel, R or Python; ccsim fit reads it back.",
                 None),
                ("again", pygame.K_p, "Play again", None, "primary"),
                ("glossary", pygame.K_F1, "Glossary", "What the terms mean.", None)):
            w = self.button_width(label, key)
            act = self.action(intent, key, label, pygame.Rect(x, bottom, w, h), tip, oid)
            if not self.ready and intent != "glossary":
                act.button.disable()
            x += w + gap
        title_w = self.button_width("Title", pygame.K_ESCAPE)
        self.action("title", pygame.K_ESCAPE, "Title", pygame.Rect(rect.width - m - title_w, bottom, title_w, h))
        # The save/export message has its own strip above the buttons: never over a chart.
        self.message_rect = pygame.Rect(m, bottom - gap - t.line("small"), rect.width - 2 * m, t.line("small"))
        self.progress_rect = pygame.Rect(rect.width // 6, int(rect.height * 0.5), rect.width * 2 // 3, t.line())
        card_w = (rect.width - 2 * m) // 4 - gap
        one_line = draw.card_height("", card_w, t.label, t.value)
        # The long labels where each fits one line; else the short ones (the tooltips say the rest),
        # so large text leaves the charts their height.
        self.card_labels = next((labels for labels in CARD_LABELS if all(
            draw.card_height(label, card_w, t.label, t.value) <= one_line for label in labels)), CARD_LABELS[-1])
        card_h = max(draw.card_height(label, card_w, t.label, t.value) for label in self.card_labels)
        self.cards = pygame.Rect(m, m, rect.width - 2 * m, card_h)
        lesson = self._lesson_text()
        lesson_h = draw.paragraph_height(lesson, t.small, rect.width - 2 * m - 2 * t.em) + t.em
        self.lesson_rect = pygame.Rect(m, self.cards.bottom + gap, rect.width - 2 * m, lesson_h)
        top = self.lesson_rect.bottom + gap
        left_w = int((rect.width - 2 * m) * 0.56)
        chart_keys = [pygame.K_1 + i for i in range(len(DEBRIEF_CHARTS))]
        widths, _ = self._tab_widths(DEBRIEF_CHARTS, chart_keys, left_w)
        # The chart tabs beside the panel's tabs where they fit (one row); else across the whole
        # width above both, the panel's tabs on a second row beside the chart (large text).
        one_row = sum(widths) + gap * (len(widths) - 1) <= left_w
        chart_tabs_w = left_w if one_row else rect.width - 2 * m
        page_top = top if one_row else top + h + gap
        self.chart_rect = pygame.Rect(m, top + h + gap, left_w, self.message_rect.top - 2 * gap - top - h)
        side_top = page_top + h + gap
        self.side = pygame.Rect(self.chart_rect.right + gap, side_top,
                                rect.width - m - self.chart_rect.right - gap, self.message_rect.top - gap - side_top)
        if not self.ready:
            return
        self._tabs(DEBRIEF_CHARTS, chart_keys, m, top, chart_tabs_w, "chart", self.chart_index,
                   [f"Chart: {label}" for label in DEBRIEF_CHARTS])
        self._tabs(PAGES, PAGE_KEYS, self.side.left, page_top, self.side.width, "page", self.page,
                   [f"Panel: {label}" for label in PAGES])
        self.action("turns_up", pygame.K_PAGEUP)
        self.action("turns_down", pygame.K_PAGEDOWN)
        self.action("turns_up", pygame.K_UP)
        self.action("turns_down", pygame.K_DOWN)
        d = self.debrief
        e = d.equity
        tips = [f"Discounted profit of your turns ({draw.money(d.player.discounted_profit)}) plus the true "
                f"value of the customers you left, discounted ({draw.money(d.player.equity_left)}).",
                "(you - mass-marketing) / (oracle - mass-marketing) x 100, on the same market.",
                f"What your own data pointed to, valued as the score values customers (no service, "
                f"nobody turned away); {LEVEL:.0%} interval {draw.money(e.low)} to {draw.money(e.high)}.",
                "The truth: each remaining customer's expected future margin from their real traits."]
        w4 = self.cards.width // 4
        for i, tip in enumerate(tips):
            self.tooltips.add(pygame.Rect(self.cards.left + i * w4, self.cards.top, w4, self.cards.height), tip)
        if self.page == PAGES.index("Levers"):
            self.tooltips.add(self.side, LEVERS_NOTE)

    def _lesson_text(self) -> str:
        return f"The lesson: {self.debrief.lesson} {self.debrief.meaning}" if self.ready else ""

    def on_event(self, event) -> bool:
        if event.type == pygame.MOUSEWHEEL and self.ready and self.page in (0, PAGES.index("Turns")):
            if self.side.collidepoint(self.app.mouse):
                self._scroll(-3 * event.y)
                return True
        return False

    def turns_visible(self) -> int:
        """How many turn rows the Turns page shows at once."""
        inner = self._inner(self.side)
        return max(1, draw.rows_that_fit(inner.height - self.typo.line("heading"), self.typo.small))

    def _inner(self, rect: pygame.Rect) -> pygame.Rect:
        pad = draw.panel_pad(self.typo.heading)
        return rect.inflate(-2 * pad, -2 * pad)

    def _scroll(self, rows: int) -> None:
        if self.page == 0:
            last = max(0, len(self._advice()) - 1)
            self.advice_offset = min(max(0, self.advice_offset + (1 if rows > 0 else -1)), last)
            return
        last = max(0, len(self.debrief.turn_rows) - self.turns_visible())
        self.turn_offset = min(max(0, self.turn_offset + rows), last)

    def _advice(self) -> list[str]:
        return (list(self.debrief.advice) + [e.summary for e in self.debrief.experiments]
                + list(self.debrief.notes))

    def on_intent(self, intent: str) -> None:
        if intent.startswith("chart:"):
            self.chart_index = int(intent[6:])
            self.enter()
        elif intent.startswith("page:"):
            self.page = int(intent[5:])
            self.enter()
        elif intent in ("turns_up", "turns_down"):
            if self.page == 0 and self._advice_overflows():
                # The advice is longer than its panel: the same keys read on.
                self._scroll(-1 if intent == "turns_up" else 1)
                return
            if self.page != PAGES.index("Turns"):
                self.page = PAGES.index("Turns")
                self.enter()
            self._scroll(-5 if intent == "turns_up" else 5)
        elif intent == "title":
            self.app.scenes.reset("title")
        elif intent == "again":
            self.app.scenes.reset("title")
            self.app.scenes.push("briefing")
        elif intent == "glossary":
            self.app.scenes.push("glossary")
        elif intent == "data":
            if not self.ready:
                self.message = "Wait for the reveal to finish."
                return
            stamp = time.strftime("%Y%m%d-%H%M%S")
            self.export_data(self.app.home / "data" / f"{self.debrief.key}-seed{self.debrief.seed}-{stamp}.csv")
        elif intent in ("save", "report"):
            if not self.ready:
                self.message = "Wait for the reveal to finish."
                return
            stamp = time.strftime("%Y%m%d-%H%M%S")
            stem = f"{self.debrief.key}-seed{self.debrief.seed}-{stamp}"
            try:
                if intent == "save":
                    path = self.save_record(self.app.home / "records" / f"{stem}.json")
                    self.message = f"Record saved: {path}"
                else:
                    path = write_report(self.debrief, self.app.home / "reports" / stem,
                                        self.app.settings.palette)
                    self.message = f"Report written: {path}"
            except OSError as exc:
                self.message = f"Could not write it: {exc}"

    def export_data(self, path: Path) -> None:
        """Write the game's transaction log to ``path`` off the main thread (a big game takes seconds)."""
        if self._exporting:
            self.message = "Still writing the transaction log..."
            return
        if self.record is None and (self.app.session is None or not self.app.session.done):
            self.message = "Could not write it: this debrief has no game to export (open its record instead)"
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            target = check_output_file(path, "the transaction log")
        except (OSError, SimError) as exc:
            self.message = f"Could not write it: {exc}"
            return
        self._exporting = True
        self.message = "Writing the transaction log..."
        threading.Thread(target=self._export, args=(target,), daemon=True).start()

    def _export(self, target: Path) -> None:
        try:
            if self.record is not None:
                summary = export_record(self.record, target)
            else:
                summary = write_transaction_log(self.app.session.observation, target)
            self.message = f"Transaction log written ({summary.rows:,} purchases): {summary.path}"
        except (OSError, SimError) as exc:
            self.message = f"Could not write it: {exc}"
        finally:
            self._exporting = False

    def save_record(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        d = self.debrief
        scores = {"centricity_score": d.centricity if math.isfinite(d.centricity) else None,
                  "baselines": {s.name: s.firm_value for s in d.strategies if s.name != PLAYER}}
        if self.record is not None:
            record = GameRecord(self.record.scenario, self.record.seed, self.record.strategy,
                                self.record.decisions, self.record.books, {**self.record.scores, **scores})
        else:
            record = self.app.session.game_record(scores)
        return write_record(record, path)

    def update(self, dt: float) -> None:
        if self.ready and not self.built_ready:
            self.enter()
        if self.ready:
            key = ("debrief", self.chart_index, self.chart_rect.size, id(self.debrief), self.app.settings.palette,
                   self.app.typography)
            self._surface = self.app.charts.get(key, lambda: debrief_figure(
                self.debrief, DEBRIEF_STEMS[self.chart_index], self.chart_rect.size, chart_style(self.app)))

    # -- painting
    def layer_key(self):
        return (self.ready, self.error, self.progress, self.chart_index, self.page, self.turn_offset,
                self.advice_offset, self.message, id(self._surface))

    def paint(self, surface: pygame.Surface) -> None:
        t = self.typo
        _, gap = self._spacing()
        rect = surface.get_rect()
        if self.error:
            draw.paragraph(surface, self.error, rect.inflate(-4 * t.em, -8 * t.em), t.body, draw.BAD)
            return
        if not self.ready:
            self._paint_progress(surface)
            return
        d = self.debrief
        e = d.equity
        estimate = draw.money(e.estimated) + ("" if not math.isfinite(e.error) else f" ({e.error:+.0%})")
        cards = [(draw.money(d.player.firm_value), draw.ACCENT),
                 (f"{d.centricity:.0f}" if math.isfinite(d.centricity) else "n/a", draw.TEXT),
                 (estimate, draw.TEXT), (draw.money(e.true), draw.TEXT)]
        w = self.cards.width // 4
        for i, (label, (value, colour)) in enumerate(zip(self.card_labels, cards)):
            draw.card(surface, pygame.Rect(self.cards.left + i * w, self.cards.top, w - gap, self.cards.height),
                      label, value, t.label, t.value, colour)
        pygame.draw.rect(surface, draw.LESSON_BG, self.lesson_rect, border_radius=6)
        draw.paragraph(surface, self._lesson_text(), self.lesson_rect.inflate(-2 * t.em, -t.em), t.small)
        if self._surface is not None:
            surface.blit(self._surface, self.chart_rect.topleft)
        inner = draw.panel(surface, self.side, None, t.heading)
        [self._paint_advice, self._paint_strategies, self._paint_levers, self._paint_turns][self.page](
            surface, inner)
        if self.message:
            self._paint_message(surface)

    def _paint_message(self, surface: pygame.Surface) -> None:
        """The save/export message in its own strip: what happened, then the path's end that fits."""
        t = self.typo
        r = self.message_rect
        head, _, path = self.message.partition(": ")
        head += ":" if path else ""
        drawn = draw.text(surface, head, r.topleft, t.small, draw.ACCENT, max_width=r.width)
        if path:
            room = r.right - drawn.right - t.em // 2
            shown = path
            # The end of a path says which file; its start is the home folder the student knows.
            while len(shown) > 8 and draw.text_width(shown, t.small) > room:
                shown = "…" + shown[max(2, len(shown) // 10):]
            draw.text(surface, shown, (drawn.right + t.em // 2, r.top), t.small, draw.TEXT, max_width=room)

    def _paint_progress(self, surface: pygame.Surface) -> None:
        t = self.typo
        rect = surface.get_rect()
        what, done = self.progress
        bar = self.progress_rect
        width = rect.width - 4 * t.em
        sub = "Playing the same market with other strategies, and your levers swapped with theirs"
        sub_h = draw.paragraph_height(sub, t.body, width)
        title_top = bar.top - t.em - sub_h - t.em - t.line("display")
        draw.text(surface, "The reveal", (rect.centerx, title_top), t.display, bold=True, anchor="midtop")
        y = bar.top - t.em - sub_h
        for line in draw.wrap(sub, t.body, width):
            draw.text(surface, line, (rect.centerx, y), t.body, draw.MUTED, anchor="midtop", max_width=width)
            y += t.line()
        pygame.draw.rect(surface, draw.PANEL, bar, border_radius=6)
        fill = pygame.Rect(bar.left, bar.top, int(bar.width * max(0.0, min(1.0, done))), bar.height)
        pygame.draw.rect(surface, draw.ACCENT, fill, border_radius=6)
        pygame.draw.rect(surface, draw.PANEL_EDGE, bar, width=1, border_radius=6)
        draw.text(surface, f"{what[:1].upper()}{what[1:]}…  ({done:.0%})", (rect.centerx, bar.bottom + t.em),
                  t.body, draw.TEXT, anchor="midtop", max_width=width)

    def _heading(self, surface, inner: pygame.Rect, s: str) -> int:
        """A page's heading (wrapped if it must); returns the y below it."""
        t = self.typo
        y = inner.top
        for line in draw.wrap(s, t.small, inner.width, bold=True):
            draw.text(surface, line, (inner.left, y), t.small, draw.MUTED, bold=True, max_width=inner.width)
            y += t.line("small")
        return y + max(2, t.em // 4)

    def _advice_overflows(self) -> bool:
        if not self.ready:
            return False
        t = self.typo
        inner = self._inner(self.side)
        heading = "What to do differently (from this game's numbers)"
        room = inner.height - draw.paragraph_height(heading, t.small, inner.width, bold=True) - t.em // 4
        need = sum(draw.paragraph_height(s, t.small, inner.width) + t.em // 2 for s in self._advice())
        return need > room

    def _paint_advice(self, surface, inner: pygame.Rect) -> None:
        t = self.typo
        advice = self._advice()
        more = self._advice_overflows()
        heading = "What to do differently (from this game's numbers)"
        y = self._heading(surface, inner, heading)
        shown = advice[self.advice_offset:]
        for i, sentence in enumerate(shown):
            need = draw.paragraph_height(sentence, t.small, inner.width)
            room = inner.bottom - y - (t.line("small") if more else 0)
            if need > room and i > 0:
                break
            if need > room:
                # One sentence longer than the panel: as many whole lines as fit (never cut mid-line).
                lines = draw.wrap(sentence, t.small, inner.width)[:max(1, room // t.line("small"))]
                sentence = " ".join(lines)
            y = draw.paragraph(surface, sentence, pygame.Rect(inner.left, y, inner.width, inner.bottom - y),
                               t.small) + t.em // 2
        if more:
            hint = f"{self.advice_offset + 1}/{len(advice)}  [PgUp/PgDn, wheel]"
            draw.text(surface, hint, (inner.right, inner.bottom), t.small, draw.MUTED, anchor="bottomright",
                      max_width=inner.width)

    def _paint_strategies(self, surface, inner: pygame.Rect) -> None:
        t = self.typo
        d = self.debrief
        twin = d.twin
        order = sorted((s for s in d.strategies if s.name != twin), key=lambda s: -s.firm_value)
        columns = [draw.Column("strategy", 1.9, "l"), draw.Column("firm value", 1.1),
                   draw.Column("profit", 1.1), draw.Column("equity", 1.1)]
        rows = []
        for money in (draw.money, compact_money):
            rows = [[s.label or s.name, money(s.firm_value), money(s.discounted_profit), money(s.equity_left)]
                    for s in order]
            if sum(draw.column_widths(columns, rows, t.small, 0)) <= inner.width:
                break
        keep = draw.fit_columns(columns, rows, t.small, inner.width, priority=[0, 0, 1, 1])
        colours = [draw.ACCENT if s.name == d.player.name else draw.TEXT for s in order]
        y = self._heading(surface, inner, "Firm value = discounted profit + equity left")
        draw.table(surface, pygame.Rect(inner.left, y, inner.width, inner.bottom - y),
                   [columns[j] for j in keep], [[r[j] for j in keep] for r in rows], t.small, colours=colours)

    def _paint_levers(self, surface, inner: pygame.Rect) -> None:
        t = self.typo
        d = self.debrief
        columns = [draw.Column("swapped with", 1.6, "l"), draw.Column("acquisition", 1.1),
                   draw.Column("service", 1.1)]
        for money in (draw.money, compact_money):
            rows = [[f"vs {lv.partner}", money(lv.acquisition_worth),
                     "not measurable" if lv.service_worth is None else money(lv.service_worth)]
                    for lv in d.levers]
            if sum(draw.column_widths(columns, rows, t.small, 0)) <= inner.width:
                break
        y = self._heading(surface, inner, "Your lever's worth over the other strategy's")
        h = draw.table_height(len(rows), t.small)
        draw.table(surface, pygame.Rect(inner.left, y, inner.width, h), columns, rows, t.small)
        y += h + t.em // 2
        note = pygame.Rect(inner.left, y, inner.width, inner.bottom - y)
        if draw.fits(LEVERS_NOTE, t.small, note):
            draw.paragraph(surface, LEVERS_NOTE, note, t.small, draw.MUTED)
        elif note.height >= t.line("small"):
            # No room for the explanation: the panel's tooltip has it.
            draw.text(surface, "How these are measured: hover here.", note.topleft, t.small, draw.MUTED,
                      max_width=note.width)

    def _paint_turns(self, surface, inner: pygame.Rect) -> None:
        t = self.typo
        d = self.debrief
        visible = self.turns_visible()
        rows = [[str(r["turn"]), f"{r['acquired']:,}", draw.money(r["profit"]), f"{r['alive']:,}",
                 f"{r['lost']:,}"] for r in d.turn_rows]
        shown = rows[self.turn_offset:self.turn_offset + visible]
        first, last = self.turn_offset + 1, self.turn_offset + len(shown)
        more = f"turns {first}-{last} of {len(rows)}  [PgUp/PgDn, wheel]" if len(rows) > visible \
            else "alive and lost: revealed"
        draw.text(surface, f"Turn by turn ({more})", inner.topleft, t.small, draw.MUTED, bold=True,
                  max_width=inner.width)
        y = inner.top + t.line("heading")
        draw.table(surface, pygame.Rect(inner.left, y, inner.width, inner.bottom - y),
                   [draw.Column("turn", 0.6), draw.Column("acquired", 1.0), draw.Column("profit", 1.3),
                    draw.Column("alive", 1.0), draw.Column("lost", 0.9)], shown, t.small)
