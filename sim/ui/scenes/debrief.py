"""The debrief: the reveal of the truth after the last turn (or of an opened record).

The reveal is computed off the main thread (``PlayerSession.debrief`` or
``sim.debrief.debrief_of`` for a record) while a progress bar names each
game being played; the buttons stay disabled until it is ready.  What is
drawn comes from the plain-data ``Debrief`` only, so a debrief received from
elsewhere draws the same; the charts are ``sim.report.debrief_figure``'s,
the HTML report's.
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import pygame

from ...analytics.equity import LEVEL
from ...debrief import Debrief, debrief_of
from ...records import GameRecord, write_record
from ...references import REFERENCES
from ...report import DEBRIEF_STEMS, debrief_figure, write_report
from ...session import BACKGROUND_FROM_PROSPECTS
from .. import draw
from ..ingame import chart_style
from ..scene import Scene, register

DEBRIEF_CHARTS = ("Firm value", "Levers", "Channels", "Service", "Equity", "Timeline")
#: The side panel's pages.
PAGES = ("What to do", "Strategies", "Levers", "Turns")


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
        self._surface = None
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
    def build(self, rect: pygame.Rect) -> None:
        px = self.app.px
        self.built_ready = self.ready
        bottom = rect.height - px(62)
        w = px(200)
        buttons = [("save", pygame.K_s, "Save record",
                    "Write the game record (JSON): anyone can replay and verify it with ccsim replay."),
                   ("report", pygame.K_r, "Export report", "Write this debrief as an HTML page with its charts."),
                   ("again", pygame.K_p, "Play again", None)]
        x = px(16)
        for intent, key, label, tip in buttons:
            act = self.action(intent, key, label, pygame.Rect(x, bottom, w, px(48)), tip,
                              "primary" if intent == "again" else None)
            if not self.ready:
                act.button.disable()
            x += w + px(10)
        title = self.action("title", pygame.K_ESCAPE, "Title", pygame.Rect(rect.width - px(156), bottom,
                                                                            px(140), px(48)))
        # The save/export message has its own strip beside the buttons: never over a chart.
        self.message_rect = pygame.Rect(x + px(6), bottom, title.button.rect.left - x - px(18), px(48))
        self.cards = pygame.Rect(px(16), px(12), rect.width - px(32), px(72))
        self.lesson_rect = pygame.Rect(px(16), self.cards.bottom + px(8), rect.width - px(32), px(74))
        top = self.lesson_rect.bottom + px(8)
        tab_h = px(34)
        left_w = int(rect.width * 0.57)
        self.chart_rect = pygame.Rect(px(16), top + tab_h + px(6), left_w, bottom - top - tab_h - px(18))
        self.side = pygame.Rect(self.chart_rect.right + px(12), top + tab_h + px(6),
                                rect.width - self.chart_rect.right - px(28), self.chart_rect.height)
        self.progress_rect = pygame.Rect(rect.width // 6, int(rect.height * 0.45), rect.width * 2 // 3, px(26))
        if not self.ready:
            return
        gap = px(5)
        bw = (left_w - gap * (len(DEBRIEF_CHARTS) - 1)) // len(DEBRIEF_CHARTS)
        for i, label in enumerate(DEBRIEF_CHARTS):
            self.action(f"chart:{i}", pygame.K_1 + i, label,
                        pygame.Rect(px(16) + i * (bw + gap), top, bw, tab_h),
                        object_id="small_active" if i == self.chart_index else "small")
        keys = (pygame.K_a, pygame.K_v, pygame.K_l, pygame.K_t)
        pw = (self.side.width - gap * (len(PAGES) - 1)) // len(PAGES)
        for i, (label, key) in enumerate(zip(PAGES, keys)):
            self.action(f"page:{i}", key, label, pygame.Rect(self.side.left + i * (pw + gap), top, pw, tab_h),
                        object_id="small_active" if i == self.page else "small")
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

    def on_event(self, event) -> bool:
        if event.type == pygame.MOUSEWHEEL and self.ready and self.page == PAGES.index("Turns"):
            if self.side.collidepoint(self.app.mouse):
                self._scroll(-3 * event.y)
                return True
        return False

    def _scroll(self, rows: int) -> None:
        size = self.app.px(14)
        visible = draw.rows_that_fit(self.side.height - self.app.px(30), size)
        last = max(0, len(self.debrief.turn_rows) - visible)
        self.turn_offset = min(max(0, self.turn_offset + rows), last)

    def on_intent(self, intent: str) -> None:
        if intent.startswith("chart:"):
            self.chart_index = int(intent[6:])
            self.enter()
        elif intent.startswith("page:"):
            self.page = int(intent[5:])
            self.enter()
        elif intent in ("turns_up", "turns_down"):
            if self.page != PAGES.index("Turns"):
                self.page = PAGES.index("Turns")
                self.enter()
            self._scroll(-5 if intent == "turns_up" else 5)
        elif intent == "title":
            self.app.scenes.reset("title")
        elif intent == "again":
            self.app.scenes.reset("title")
            self.app.scenes.push("briefing")
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

    def save_record(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        d = self.debrief
        scores = {"centricity_score": d.centricity if math.isfinite(d.centricity) else None,
                  "baselines": {s.name: s.firm_value for s in d.strategies if s.name in REFERENCES}}
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
            key = ("debrief", self.chart_index, self.chart_rect.size, id(self.debrief), self.app.settings.palette)
            self._surface = self.app.charts.get(key, lambda: debrief_figure(
                self.debrief, DEBRIEF_STEMS[self.chart_index], self.chart_rect.size, chart_style(self.app)))

    # -- painting
    def layer_key(self):
        return (self.ready, self.error, self.progress, self.chart_index, self.page, self.turn_offset,
                self.message, id(self._surface))

    def paint(self, surface: pygame.Surface) -> None:
        px = self.app.px
        rect = surface.get_rect()
        if self.error:
            draw.paragraph(surface, self.error, rect.inflate(-px(80), -px(300)), px(18), draw.BAD)
            return
        if not self.ready:
            self._paint_progress(surface)
            return
        d = self.debrief
        e = d.equity
        estimate = draw.money(e.estimated) + ("" if not math.isfinite(e.error) else f" ({e.error:+.0%})")
        cards = [("Your firm value", draw.money(d.player.firm_value), draw.ACCENT),
                 ("Centricity score (0 mass, 100 oracle)",
                  f"{d.centricity:.0f}" if math.isfinite(d.centricity) else "n/a", draw.TEXT),
                 ("Customer equity left: your estimate", estimate, draw.TEXT),
                 ("Customer equity left: the truth", draw.money(e.true), draw.TEXT)]
        w = self.cards.width // 4
        for i, (label, value, colour) in enumerate(cards):
            draw.card(surface, pygame.Rect(self.cards.left + i * w, self.cards.top, w - px(8), self.cards.height),
                      label, value, px(17), colour)
        pygame.draw.rect(surface, (58, 48, 20), self.lesson_rect, border_radius=6)
        inner = self.lesson_rect.inflate(-px(20), -px(10))
        draw.paragraph(surface, f"The lesson: {d.lesson} {d.meaning}", inner, px(15))
        if self._surface is not None:
            surface.blit(self._surface, self.chart_rect.topleft)
        panel = draw.panel(surface, self.side, None, px(15))
        [self._paint_advice, self._paint_strategies, self._paint_levers, self._paint_turns][self.page](
            surface, panel)
        if self.message:
            self._paint_message(surface)

    def _paint_message(self, surface: pygame.Surface) -> None:
        """The save/export message in its own strip: what happened, then the path's end that fits."""
        px = self.app.px
        r = self.message_rect
        head, _, path = self.message.partition(": ")
        draw.text(surface, head + (":" if path else ""), (r.left, r.top + px(2)), px(14), draw.ACCENT,
                  max_width=r.width)
        if path:
            shown = path
            while len(shown) > 8 and draw.font(px(13)).size(shown)[0] > r.width:
                shown = "…" + shown[max(2, len(shown) // 10):]
            draw.text(surface, shown, (r.left, r.top + px(24)), px(13), draw.TEXT, max_width=r.width)

    def _paint_progress(self, surface: pygame.Surface) -> None:
        px = self.app.px
        rect = surface.get_rect()
        what, done = self.progress
        bar = self.progress_rect
        draw.text(surface, "The reveal", (rect.centerx, bar.top - px(110)), px(40), bold=True, anchor="midtop")
        draw.text(surface, "Playing the same market with other strategies, and your levers swapped with theirs",
                  (rect.centerx, bar.top - px(50)), px(17), draw.MUTED, anchor="midtop", max_width=rect.width - px(40))
        pygame.draw.rect(surface, draw.PANEL, bar, border_radius=6)
        fill = pygame.Rect(bar.left, bar.top, int(bar.width * max(0.0, min(1.0, done))), bar.height)
        pygame.draw.rect(surface, draw.ACCENT, fill, border_radius=6)
        pygame.draw.rect(surface, draw.PANEL_EDGE, bar, width=1, border_radius=6)
        draw.text(surface, f"{what[:1].upper()}{what[1:]}…  ({done:.0%})", (rect.centerx, bar.bottom + px(14)),
                  px(17), draw.TEXT, anchor="midtop", max_width=rect.width - px(40))

    def _paint_advice(self, surface, inner: pygame.Rect) -> None:
        px = self.app.px
        y = inner.top
        d = self.debrief
        draw.text(surface, "What to do differently (from this game's numbers)", (inner.left, y), px(15),
                  draw.MUTED, bold=True, max_width=inner.width)
        y += px(26)
        for sentence in d.advice + d.notes:
            y = draw.paragraph(surface, sentence, pygame.Rect(inner.left, y, inner.width, inner.bottom - y),
                               px(14)) + px(8)

    def _paint_strategies(self, surface, inner: pygame.Rect) -> None:
        px = self.app.px
        d = self.debrief
        twin = d.twin
        order = sorted((s for s in d.strategies if s.name != twin), key=lambda s: -s.firm_value)
        rows = [[s.label or s.name, draw.money(s.firm_value), draw.money(s.discounted_profit),
                 draw.money(s.equity_left)] for s in order]
        colours = [draw.ACCENT if s.name == d.player.name else draw.TEXT for s in order]
        draw.text(surface, "Firm value = discounted profit + equity left", (inner.left, inner.top), px(15),
                  draw.MUTED, bold=True, max_width=inner.width)
        draw.table(surface, pygame.Rect(inner.left, inner.top + px(26), inner.width, inner.height - px(26)),
                   [draw.Column("strategy", 1.9, "l"), draw.Column("firm value", 1.1),
                    draw.Column("profit", 1.1), draw.Column("equity", 1.1)], rows, px(14), colours=colours)

    def _paint_levers(self, surface, inner: pygame.Rect) -> None:
        px = self.app.px
        d = self.debrief
        rows, colours = [], []
        for lv in d.levers:
            service = lv.service_worth
            rows.append([f"vs {lv.partner}", draw.money(lv.acquisition_worth),
                         "not measurable" if service is None else draw.money(service)])
            colours.append(draw.TEXT)
        draw.text(surface, "Your lever's worth over the other strategy's", (inner.left, inner.top), px(15),
                  draw.MUTED, bold=True, max_width=inner.width)
        h = int(px(14) * 1.45) * (len(rows) + 1) + 4
        draw.table(surface, pygame.Rect(inner.left, inner.top + px(26), inner.width, h),
                   [draw.Column("swapped with", 1.6, "l"), draw.Column("acquisition", 1.1),
                    draw.Column("service", 1.1)], rows, px(14))
        y = inner.top + px(26) + h + px(10)
        draw.paragraph(surface, "Acquisition: your acquisition with their service, against their own game. "
                       "Service: their acquisition with your service tiers (applied to that game's own "
                       "customers), against their own game. Same random draws throughout.",
                       pygame.Rect(inner.left, y, inner.width, inner.bottom - y), px(13), draw.MUTED)

    def _paint_turns(self, surface, inner: pygame.Rect) -> None:
        px = self.app.px
        d = self.debrief
        size = px(14)
        visible = draw.rows_that_fit(inner.height - px(26), size)
        rows = [[str(r["turn"]), f"{r['acquired']:,}", draw.money(r["profit"]), f"{r['alive']:,}",
                 f"{r['lost']:,}"] for r in d.turn_rows]
        shown = rows[self.turn_offset:self.turn_offset + visible]
        first, last = self.turn_offset + 1, self.turn_offset + len(shown)
        more = f"turns {first}-{last} of {len(rows)}  [PgUp/PgDn, wheel]" if len(rows) > visible \
            else "alive and lost: revealed"
        draw.text(surface, f"Turn by turn ({more})", (inner.left, inner.top), px(15), draw.MUTED, bold=True,
                  max_width=inner.width)
        draw.table(surface, pygame.Rect(inner.left, inner.top + px(26), inner.width, inner.height - px(26)),
                   [draw.Column("turn", 0.6), draw.Column("acquired", 1.0), draw.Column("profit", 1.3),
                    draw.Column("alive", 1.0), draw.Column("lost", 0.9)], shown, size)
