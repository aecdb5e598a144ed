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
from ...records import GameRecord, write_record
from ...report import DEBRIEF_STEMS, debrief_figure, write_report
from .. import draw
from ..ingame import chart_style
from ..scene import Scene, register

DEBRIEF_CHARTS = ("Firm value", "Levers", "Money vs value", "Equity estimate", "Timeline")


@register
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
                # Through the session interface: a class server releases the debrief the same way.
                self.debrief = self.app.session.reveal(progress=self._tell)
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
        # Sizes from the app's typography (large text included), positions measured from them.
        t = self.typo
        m, gap, h = max(8, int(t.em * 0.8)), max(6, t.em // 2), t.control
        self.built_ready = self.ready
        bottom = rect.height - m - h
        x = m
        for intent, key, label, tip, oid in (
                ("save", pygame.K_s, "Save record", "Write the game record (JSON): anyone can replay and "
                 "verify it with ccsim replay.", None),
                ("report", pygame.K_r, "Export report", "Write this debrief as an HTML page with its charts.", None),
                ("again", pygame.K_p, "Play again", None, "primary"),
                ("glossary", pygame.K_F1, "Glossary", "What the terms mean.", None)):
            w = self.button_width(label, key)
            self.action(intent, key, label, pygame.Rect(x, bottom, w, h), tip, oid)
            x += w + gap
        title_w = self.button_width("Title", pygame.K_ESCAPE)
        self.action("title", pygame.K_ESCAPE, "Title", pygame.Rect(rect.width - m - title_w, bottom, title_w, h))
        self.message_rect = pygame.Rect(m, bottom - gap - t.line("small"), rect.width - 2 * m, t.line("small"))
        labels = ["Your firm value", "Centricity score (0 mass, 100 oracle)", "Your estimate of customer equity",
                  "True customer equity"]
        card_w = (rect.width - 2 * m) // 4 - gap
        card_h = max(draw.card_height(label, card_w, t.label, t.value) for label in labels)
        self.cards = pygame.Rect(m, m, rect.width - 2 * m, card_h)
        lesson = self.debrief.lesson if self.ready else ""
        lesson_h = draw.paragraph_height(lesson, t.small, rect.width - 2 * m - 2 * t.em) + t.em
        self.lesson_rect = pygame.Rect(m, self.cards.bottom + gap, rect.width - 2 * m, lesson_h)
        top = self.lesson_rect.bottom + gap
        self.chart_rect = pygame.Rect(m, top + h + gap, int(rect.width * 0.58),
                                      self.message_rect.top - gap - top - h - gap)
        x = m
        for short in (False, True):
            labels = [label.split()[0] if short else label for label in DEBRIEF_CHARTS]
            widths = [self.button_width(label, pygame.K_1 + i, small=True) for i, label in enumerate(labels)]
            if sum(widths) + gap * 4 <= self.chart_rect.width:
                break
        for i, (label, bw) in enumerate(zip(labels, widths)):
            self.action(f"chart:{i}", pygame.K_1 + i, label, pygame.Rect(x, top, bw, h), DEBRIEF_CHARTS[i],
                        object_id="small_active" if i == self.chart_index else "small")
            x += bw + gap
        self.side = pygame.Rect(self.chart_rect.right + gap, top, rect.width - self.chart_rect.right - gap - m,
                                self.message_rect.top - gap - top)
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
        if intent.startswith("chart:"):
            self.chart_index = int(intent[6:])
            self.enter()
        elif intent == "title":
            self.app.scenes.reset("title")
        elif intent == "again":
            self.app.scenes.reset("title")
            self.app.scenes.push("briefing")
        elif intent == "glossary":
            self.app.scenes.push("glossary")
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
        return (self.ready, self.error, self.progress, self.chart_index, self.message, id(self._surface))

    def paint(self, surface: pygame.Surface) -> None:
        t = self.typo
        gap = max(6, t.em // 2)
        rect = surface.get_rect()
        if self.error:
            draw.paragraph(surface, self.error, rect.inflate(-4 * t.em, -8 * t.em), t.body, draw.BAD)
            return
        if not self.ready:
            draw.text(surface, "The reveal", (rect.centerx, int(rect.height * 0.3)), t.display, bold=True,
                      anchor="midtop")
            draw.paragraph(surface, f"Playing the same market with other strategies: {self.progress}…",
                           pygame.Rect(2 * t.em, int(rect.height * 0.3) + t.line("display") + t.em,
                                       rect.width - 4 * t.em, 3 * t.line()), t.body, draw.MUTED)
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
            draw.card(surface, pygame.Rect(self.cards.left + i * w, self.cards.top, w - gap, self.cards.height),
                      label, value, t.label, t.value, colour)
        pygame.draw.rect(surface, draw.LESSON_BG, self.lesson_rect, border_radius=6)
        draw.paragraph(surface, d.lesson, self.lesson_rect.inflate(-2 * t.em, -t.em), t.small)
        if self._surface is not None:
            surface.blit(self._surface, self.chart_rect.topleft)
        inner = draw.panel(surface, self.side, "Firm value, same market and seed", t.heading)
        order = sorted(d.firm_values().items(), key=lambda kv: -kv[1])
        rows = [[name, draw.money(v)] for name, v in order]
        colours = [draw.ACCENT if name == PLAYER else draw.TEXT for name, _ in order]
        size = t.small
        h = draw.table_height(len(rows), size)
        draw.table(surface, pygame.Rect(inner.left, inner.top, inner.width, h),
                   [draw.Column("strategy", 2.0, "l"), draw.Column("firm value", 1.0)], rows, size, colours=colours)
        y = inner.top + h + gap
        lever_rows = [[name, draw.money(v)] for name, v in d.levers]
        h = draw.table_height(len(lever_rows), size)
        if inner.bottom - y >= t.line("small") + h:
            draw.text(surface, "What each lever was worth (vs mass-marketing)", (inner.left, y), size, draw.MUTED,
                      bold=True, max_width=inner.width)
            draw.table(surface, pygame.Rect(inner.left, y + t.line("small"), inner.width, h),
                       [draw.Column("lever", 2.0, "l"), draw.Column("worth", 1.0)], lever_rows, size,
                       colours=[draw.GOOD if v >= 0 else draw.BAD for _, v in d.levers])
            y += t.line("small") + h + gap
        if inner.bottom - y > t.line("small") + draw.table_height(2, size):
            draw.text(surface, "Turn by turn (alive and lost: revealed)", (inner.left, y), size, draw.MUTED,
                      bold=True, max_width=inner.width)
            rows = [[str(r["turn"]), f"{r['acquired']:,}", draw.money(r["profit"]), f"{r['alive']:,}",
                     f"{r['lost']:,}"] for r in d.player.to_rows()]
            fit = draw.rows_that_fit(inner.bottom - y - t.line("small"), size)
            if len(rows) > fit:
                # The latest turns matter most for what is left: show those.
                rows = rows[len(rows) - fit:]
            draw.table(surface, pygame.Rect(inner.left, y + t.line("small"), inner.width,
                                            inner.bottom - y - t.line("small")),
                       [draw.Column("turn", 0.6), draw.Column("acquired", 1.0), draw.Column("profit", 1.2),
                        draw.Column("alive", 1.0), draw.Column("lost", 0.9)], rows, size)
        if self.message:
            draw.text(surface, self.message, self.message_rect.topleft, t.small, draw.ACCENT,
                      max_width=self.message_rect.width)
