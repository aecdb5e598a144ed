"""Choosing the business and the seed: the story, the firm's numbers, what the score means.

The story is laid out in pages that fit the window and text size (PgDn
for the next page), so a long briefing is never cut off, even in large text.
"""

from __future__ import annotations

import pygame
import pygame_gui

from ...public import PublicScenario
from ...scenario import load_scenario, shipped_scenario_names
from ...session import PlayerSession, marketing_budget
from .. import draw
from ..layout import cut_bottom, cut_left, cut_top
from ..scene import Scene, register

SCORE_TEXT = ("Your score is firm value: the profit of every turn, discounted, plus what the "
              "customers you leave behind are truly worth. At the end it is compared, on the same "
              "market and the same random draws, with mass-marketing (equal treatment for all), "
              "other reference strategies and an oracle that sees every customer's true worth. "
              "Centricity score: 0 = mass-marketing, 100 = the oracle.")


def prose(s: str) -> str:
    """Scenario text as paragraphs: single line breaks of the YAML file joined, blank lines kept."""
    return "\n\n".join(" ".join(block.split()) for block in s.strip().split("\n\n"))


@register
class BriefingScene(Scene):
    """The shipped scenarios with their story and numbers, and a seed field."""

    name = "briefing"
    SEED_LABEL = "Seed (same seed = same market)"

    def __init__(self, app):
        super().__init__(app)
        self.names = shipped_scenario_names()
        # At the size that will be played (a demo's or a test's market), so every number shown is.
        self.scenarios = {n: load_scenario(n).with_prospects(app.prospects) if app.prospects
                          else load_scenario(n) for n in self.names}
        wanted, seed = app.preselect
        self.choice = wanted if wanted in self.scenarios else ("coffee" if "coffee" in self.names
                                                              else self.names[0])
        self.seed_text = str(seed if seed is not None else 1)
        self.message = ""
        self.page = 0

    @property
    def public(self) -> PublicScenario:
        scenario = self.scenarios[self.choice]
        if self.app.prospects:
            scenario = scenario.with_prospects(self.app.prospects)
        return PublicScenario.of(scenario)

    def build(self, rect: pygame.Rect) -> None:
        t = self.typo
        m, gap, h = max(8, int(t.em * 0.8)), max(6, t.em // 2), t.control
        inner = rect.inflate(-2 * m, -2 * m)
        _, inner = cut_top(inner, t.line("title"), gap)
        bottom, inner = cut_bottom(inner, h, gap)
        left_w = max(max(self.button_width(self.scenarios[n].name, pygame.K_1) for n in self.names),
                     t.em * 14)
        self.left, self.right = cut_left(inner, min(left_w, inner.width // 3), m)
        y = self.left.top
        for i, n in enumerate(self.names):
            s = self.scenarios[n]
            self.action(f"pick:{n}", pygame.K_1 + i, s.name, pygame.Rect(self.left.left, y, self.left.width, h),
                        s.business, "tab_active" if n == self.choice else None)
            y += h + gap
        self.seed_label = pygame.Rect(self.left.left, y + gap, self.left.width,
                                      draw.paragraph_height(self.SEED_LABEL, t.body, self.left.width))
        y = self.seed_label.bottom + gap // 2
        self.seed_rect = pygame.Rect(self.left.left, y, self.left.width, h)
        self.seed_entry = self.add(pygame_gui.elements.UITextEntryLine(
            self.seed_rect, self.ui, initial_text=self.seed_text))
        self.seed_entry.set_allowed_characters("numbers")
        self.tooltips.add(self.seed_rect, "The seed fixes the market's random draws: a class "
                          "that plays one seed faces the same customers, so scores compare skill.")
        start_w = self.button_width("Start the game", pygame.K_RETURN)
        back_w = self.button_width("Back", pygame.K_ESCAPE)
        self.action("start", pygame.K_RETURN, "Start the game",
                    pygame.Rect(bottom.right - start_w, bottom.top, start_w, h), None, "primary")
        self.action("back", pygame.K_ESCAPE, "Back", pygame.Rect(bottom.left, bottom.top, back_w, h))
        self.action("seed", pygame.K_TAB)
        self.pages = self._paginate()
        self.page = min(self.page, len(self.pages) - 1)
        right_edge = bottom.right - start_w - m
        if len(self.pages) > 1:
            # Pages of the story: beside Start, so the story panel keeps its height.
            next_w = self.button_width("Next page", pygame.K_PAGEDOWN, small=True)
            prev_w = self.button_width("Previous", pygame.K_PAGEUP, small=True)
            nxt = self.action("page_down", pygame.K_PAGEDOWN, "Next page",
                              pygame.Rect(right_edge - next_w, bottom.top, next_w, h), None, "small")
            prv = self.action("page_up", pygame.K_PAGEUP, "Previous",
                              pygame.Rect(right_edge - next_w - gap - prev_w, bottom.top, prev_w, h),
                              None, "small")
            right_edge -= next_w + prev_w + gap + m
            if self.page == 0:
                prv.button.disable()
            if self.page == len(self.pages) - 1:
                nxt.button.disable()
        self.message_rect = pygame.Rect(bottom.left + back_w + m, bottom.top,
                                        max(0, right_edge - bottom.left - back_w - m), h)

    def _panel_inner(self) -> pygame.Rect:
        t = self.typo
        pad = draw.panel_pad(t.heading)
        inner = self.right.inflate(-2 * pad, -2 * pad)
        return pygame.Rect(inner.left, inner.top + draw.title_height(t.heading), inner.width,
                           inner.height - draw.title_height(t.heading))

    def _facts(self) -> list[tuple[str, str]]:
        p = self.public
        budget = marketing_budget(p)
        facts = [("Turns", f"{p.turns} {p.turn_length}s, after {p.warmup_turns} of history"),
                 ("Market", f"{p.prospects:,} prospects"),
                 ("Marketing budget", f"{draw.money(budget)} per {p.turn_length}"),
                 ("Gross margin", f"{p.gross_margin:.0%} of revenue"),
                 ("Fixed cost", f"{draw.money(p.fixed_cost)} per {p.turn_length}"),
                 ("Discount rate", f"{p.discount_rate:.1%} per {p.turn_length}"),
                 ("Channels", ", ".join(c.label for c in p.channels))]
        if p.contractual:
            facts.insert(4, ("Membership fee", f"{draw.money(p.membership_fee)} per {p.turn_length}"))
        return facts

    def _blocks(self) -> list[tuple[str, str]]:
        """The page flow: (kind, text) — "text", "heading", "muted" or "fact" ("label\\tvalue")."""
        p = self.public
        blocks = [("text", para) for para in prose(p.briefing).split("\n\n")]
        blocks += [("heading", "The firm in numbers")]
        blocks += [("fact", f"{label}\t{value}") for label, value in self._facts()]
        blocks += [("heading", "What the score means"), ("text", SCORE_TEXT),
                   ("muted", "The board's hint: " + p.lesson)]
        return blocks

    def _block_height(self, kind: str, s: str, width: int) -> int:
        t = self.typo
        if kind == "heading":
            return t.line("heading") + t.em // 2
        if kind == "fact":
            label, value = s.split("\t")
            return draw.paragraph_height(value, t.body, width - self._fact_label_w()) + t.em // 4
        return draw.paragraph_height(s, t.body, width) + t.em // 2

    def _fact_label_w(self) -> int:
        t = self.typo
        return max(draw.text_width(label, t.body) for label, _ in self._facts()) + t.em

    def _paginate(self) -> list[list[tuple[str, str]]]:
        """The blocks split into pages that fit the story panel."""
        inner = self._panel_inner()
        height = inner.height
        pages, page, used = [], [], 0
        for kind, s in self._blocks():
            h = self._block_height(kind, s, inner.width)
            if page and used + h > height:
                if page[-1][0] == "heading":        # a heading never ends a page
                    carried = page.pop()
                    pages.append(page)
                    page, used = [carried], self._block_height(*carried, inner.width)
                else:
                    pages.append(page)
                    page, used = [], 0
            page.append((kind, s))
            used += h
        if page:
            pages.append(page)
        return pages

    def on_event(self, event) -> bool:
        if event.type == pygame_gui.UI_TEXT_ENTRY_CHANGED and event.ui_element is self.seed_entry:
            self.seed_text = event.text
            return True
        if event.type == pygame_gui.UI_TEXT_ENTRY_FINISHED and event.ui_element is self.seed_entry:
            self.seed_text = event.text
            self.on_intent("start")
            return True
        return False

    def on_intent(self, intent: str) -> None:
        if intent.startswith("pick:"):
            self.choice = intent[5:]
            self.page = 0
            self.enter()
        elif intent == "seed":
            self.app.focus(self.seed_entry)
        elif intent == "back":
            self.app.scenes.pop()
        elif intent == "start":
            self.start()
        elif intent in ("page_up", "page_down"):
            self.page = max(0, min(self.page + (1 if intent == "page_down" else -1), len(self.pages) - 1))
            self.enter()

    def start(self) -> None:
        text = self.seed_entry.get_text().strip() if self.seed_entry.alive() else self.seed_text
        if not text.isdigit():
            self.message = "The seed must be a whole number (0 or more)."
            return
        in_progress = self.app.saved_game(self.app.autosave_path)
        if in_progress is not None and in_progress[1] < in_progress[2]:
            business, played, turns = in_progress
            self.app.confirm("Start a new game?",
                             f"This replaces your saved game in progress: {business}, {played} of "
                             f"{turns} turns played. It cannot be continued afterwards.",
                             "Start a new game", lambda: self._begin(int(text)), "Keep my game")
            return
        self._begin(int(text))

    def _begin(self, seed: int) -> None:
        scenario = self.scenarios[self.choice]
        if self.app.prospects:
            scenario = scenario.with_prospects(self.app.prospects)
        session = PlayerSession.new(scenario, seed, self.app.autosave_path)
        self.app.start_session(session)
        session.save(self.app.autosave_path)
        self.app.scenes.reset("dashboard")

    def layer_key(self):
        return (self.choice, self.message, self.page)

    def paint(self, surface: pygame.Surface) -> None:
        t = self.typo
        m = max(8, int(t.em * 0.8))
        draw.text(surface, "Choose your business", (m, m), t.title, bold=True)
        draw.paragraph(surface, self.SEED_LABEL, self.seed_label, t.body, draw.MUTED)
        p = self.public
        pages = f"  (page {self.page + 1} of {len(self.pages)})" if len(self.pages) > 1 else ""
        inner = draw.panel(surface, self.right, p.name + pages, t.heading)
        y = inner.top
        label_w = self._fact_label_w()
        for kind, s in self.pages[self.page]:
            if kind == "heading":
                draw.text(surface, s, (inner.left, y), t.heading, draw.ACCENT, bold=True, max_width=inner.width)
                y += t.line("heading") + t.em // 2
            elif kind == "fact":
                label, value = s.split("\t")
                draw.text(surface, label, (inner.left, y), t.body, draw.MUTED)
                y = draw.paragraph(surface, value, pygame.Rect(inner.left + label_w, y, inner.width - label_w,
                                                               inner.bottom - y), t.body, bold=True) + t.em // 4
            else:
                colour = draw.MUTED if kind == "muted" else draw.TEXT
                y = draw.paragraph(surface, s, pygame.Rect(inner.left, y, inner.width, inner.bottom - y),
                                   t.body, colour) + t.em // 2
        if self.message:
            draw.paragraph(surface, self.message, self.message_rect, t.body, draw.BAD)
