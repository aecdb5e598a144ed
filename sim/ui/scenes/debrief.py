"""The debrief: the reveal of the truth after the last turn (or of an opened record).

The references and the lever games take a while on a big market, so they
run on a worker thread while the screen says which game is being played;
the window stays responsive.  Numbers come from ``sim.debrief``, the charts
from ``sim.report.debrief_figures`` (the same as the HTML report).
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import pygame

from ...debrief import PLAYER, Debrief, debrief_of
from ...records import GameRecord, record_of, write_record
from ...report import DEBRIEF_STEMS, debrief_figure, write_report
from ...runner import PlayedGame
from ...scoring import value_game
from .. import draw
from ..scene import Scene
from .game import chart_style

DEBRIEF_CHARTS = ("Firm value", "Levers", "Money vs value", "Equity estimate", "Timeline")


class DebriefScene(Scene):
    """Firm value vs references and oracle, centricity, levers, deciles, timeline, lesson."""

    name = "debrief"

    def __init__(self, app, record: GameRecord | None = None):
        super().__init__(app)
        self.record = record
        self.debrief: Debrief | None = None
        self.error = ""
        self.progress = "starting"
        self.message = ""
        self.chart_index = 0
        self._surface = None
        self._thread = threading.Thread(target=self._compute, daemon=True)
        self._thread.start()

    # -- the reveal, computed off the main thread
    def _compute(self) -> None:
        try:
            if self.record is not None:
                r = self.record
                self.debrief = debrief_of(r.scenario, r.seed, r.decisions, progress=self._tell)
            else:
                s = self.app.session
                scenario = s.scenario_for_scoring
                played = PlayedGame(scenario, PLAYER, s.seed, s.game, list(s.decisions),
                                    value_game(s.game, PLAYER))
                self.played = played
                self.debrief = debrief_of(scenario, s.seed, s.decisions, played=played, progress=self._tell)
        except Exception as exc:   # the screen must say what went wrong, never crash
            self.error = f"The reveal could not be computed: {exc}"

    def _tell(self, what: str) -> None:
        self.progress = what

    @property
    def ready(self) -> bool:
        return self.debrief is not None

    def wait(self, timeout: float = 600.0) -> bool:
        """Block until the reveal is computed (tests and the demo)."""
        self._thread.join(timeout)
        if self.ready:
            self.enter()
        return self.ready

    # -- layout
    def build(self, rect: pygame.Rect) -> None:
        px = self.app.px
        self.built_ready = self.ready
        bottom = rect.height - px(64)
        w = px(230)
        self.action("save", pygame.K_s, "Save record", pygame.Rect(px(16), bottom, w, px(50)),
                    "Write the game record (JSON): anyone can replay and verify it with ccsim replay.")
        self.action("report", pygame.K_r, "Export report", pygame.Rect(px(16) + w + px(10), bottom, w, px(50)),
                    "Write this debrief as an HTML page with its charts.")
        self.action("again", pygame.K_p, "Play again", pygame.Rect(px(16) + 2 * (w + px(10)), bottom, w, px(50)),
                    None, "primary")
        self.action("title", pygame.K_ESCAPE, "Title", pygame.Rect(rect.width - px(176), bottom, px(160), px(50)))
        self.cards = pygame.Rect(px(16), px(16), rect.width - px(32), px(76))
        self.lesson_rect = pygame.Rect(px(16), self.cards.bottom + px(10), rect.width - px(32), px(86))
        top = self.lesson_rect.bottom + px(8)
        self.chart_rect = pygame.Rect(px(16), top + px(44), int(rect.width * 0.58), bottom - top - px(56))
        x = px(16)
        bw = (self.chart_rect.width - 4 * px(6)) // 5
        for i, label in enumerate(DEBRIEF_CHARTS):
            self.action(f"chart:{i}", pygame.K_1 + i, label, pygame.Rect(x, top, bw, px(36)),
                        object_id="small_active" if i == self.chart_index else "small")
            x += bw + px(6)
        self.side = pygame.Rect(self.chart_rect.right + px(12), top, rect.width - self.chart_rect.right - px(28),
                                bottom - top - px(12))
        if self.ready:
            tips = ["Discounted profit of your turns plus the true value of the customers you left, "
                    "discounted: what your firm is worth.",
                    "(you - mass-marketing) / (oracle - mass-marketing) x 100.",
                    "Sum of predicted CLV from your lab at the end, from your own data.",
                    "The truth: each remaining customer's expected future margin from their real traits."]
            w4 = self.cards.width // 4
            for i, tip in enumerate(tips):
                self.tooltips.add(pygame.Rect(self.cards.left + i * w4, self.cards.top, w4, self.cards.height), tip)

    def on_intent(self, intent: str) -> None:
        from .briefing import BriefingScene
        from .title import TitleScene

        if intent.startswith("chart:"):
            self.chart_index = int(intent[6:])
            self.enter()
        elif intent == "title":
            self.app.scenes.reset(TitleScene(self.app))
        elif intent == "again":
            self.app.scenes.reset(TitleScene(self.app))
            self.app.scenes.push(BriefingScene(self.app))
        elif intent in ("save", "report"):
            if not self.ready:
                self.message = "Wait for the reveal to finish."
                return
            stamp = time.strftime("%Y%m%d-%H%M%S")
            stem = f"{self.debrief.key}-seed{self.debrief.seed}-{stamp}"
            if intent == "save":
                path = self.save_record(self.app.home / "records" / f"{stem}.json")
                self.message = f"Record saved: {path}"
            else:
                path = write_report(self.debrief, self.app.home / "reports" / stem, self.app.settings.palette)
                self.message = f"Report written: {path}"

    def save_record(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        d = self.debrief
        scores = {"centricity_score": d.centricity,
                  "baselines": {k: v for k, v in d.values.items()
                                if k in ("mass-marketing", "do-nothing", "volume", "customer-centric", "oracle")}}
        if self.record is not None:
            record = GameRecord(self.record.scenario, self.record.seed, self.record.strategy,
                                self.record.decisions, self.record.books, {**self.record.scores, **scores})
        else:
            record = record_of(self.played, scores)
            record.strategy = "player"
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
        return (self.ready, self.error, self.progress, self.chart_index, self.message, id(self._surface))

    def paint(self, surface: pygame.Surface) -> None:
        px = self.app.px
        rect = surface.get_rect()
        if self.error:
            draw.paragraph(surface, self.error, rect.inflate(-px(80), -px(300)), px(18), draw.BAD)
            return
        if not self.ready:
            draw.text(surface, "The reveal", (rect.centerx, int(rect.height * 0.3)), px(40), bold=True,
                      anchor="midtop")
            draw.text(surface, f"Playing the same market with other strategies: {self.progress}…",
                      (rect.centerx, int(rect.height * 0.3) + px(70)), px(18), draw.MUTED, anchor="midtop")
            return
        d = self.debrief
        error = (d.estimated_equity - d.true_equity) / d.true_equity \
            if math.isfinite(d.estimated_equity) and d.true_equity else math.nan
        cards = [("Your firm value", draw.money(d.values[PLAYER]), draw.ACCENT),
                 ("Centricity score (0 mass, 100 oracle)",
                  f"{d.centricity:.0f}" if math.isfinite(d.centricity) else "n/a", draw.TEXT),
                 ("Your estimate of customer equity", draw.money(d.estimated_equity)
                  + ("" if not math.isfinite(error) else f" ({error:+.0%})"), draw.TEXT),
                 ("True customer equity", draw.money(d.true_equity), draw.TEXT)]
        w = self.cards.width // 4
        for i, (label, value, colour) in enumerate(cards):
            draw.card(surface, pygame.Rect(self.cards.left + i * w, self.cards.top, w - px(8), self.cards.height),
                      label, value, px(18), colour)
        pygame.draw.rect(surface, (58, 48, 20), self.lesson_rect, border_radius=6)
        draw.paragraph(surface, d.lesson, self.lesson_rect.inflate(-px(20), -px(12)), px(15))
        if self._surface is not None:
            surface.blit(self._surface, self.chart_rect.topleft)
        inner = draw.panel(surface, self.side, "Firm value, same market and seed", px(16))
        order = sorted(d.firm_values().items(), key=lambda kv: -kv[1])
        rows = [[name, draw.money(v)] for name, v in order]
        colours = [draw.ACCENT if name == PLAYER else draw.TEXT for name, _ in order]
        size = px(15)
        h = int(size * 1.45) * (len(rows) + 1) + 4
        draw.table(surface, pygame.Rect(inner.left, inner.top, inner.width, h),
                   [draw.Column("strategy", 2.0, "l"), draw.Column("firm value", 1.0)], rows, size, colours=colours)
        y = inner.top + h + px(12)
        draw.text(surface, "What each lever was worth (vs mass-marketing)", (inner.left, y), px(15), draw.MUTED,
                  bold=True, max_width=inner.width)
        lever_rows = [[name, draw.money(v)] for name, v in d.levers]
        h = int(size * 1.45) * (len(lever_rows) + 1) + 4
        draw.table(surface, pygame.Rect(inner.left, y + px(24), inner.width, h),
                   [draw.Column("lever", 2.0, "l"), draw.Column("worth", 1.0)], lever_rows, size,
                   colours=[draw.GOOD if v >= 0 else draw.BAD for _, v in d.levers])
        y += px(24) + h + px(12)
        if inner.bottom - y > 3 * size:
            draw.text(surface, "Turn by turn (alive and lost: revealed)", (inner.left, y), px(15), draw.MUTED,
                      bold=True, max_width=inner.width)
            rows = [[str(r["turn"]), f"{r['acquired']:,}", draw.money(r["profit"]), f"{r['alive']:,}",
                     f"{r['lost']:,}"] for r in d.player.to_rows()]
            small = px(13)
            fit = draw.rows_that_fit(inner.bottom - y - px(22), small)
            if len(rows) > fit:
                # The latest turns matter most for what is left: show those.
                rows = rows[len(rows) - fit:]
            draw.table(surface, pygame.Rect(inner.left, y + px(22), inner.width, inner.bottom - y - px(22)),
                       [draw.Column("turn", 0.6), draw.Column("acquired", 1.0), draw.Column("profit", 1.2),
                        draw.Column("alive", 1.0), draw.Column("lost", 0.9)], rows, small)
        if self.message:
            draw.text(surface, self.message, (px(16), rect.height - px(90)), px(14), draw.ACCENT,
                      max_width=rect.width - px(32))
