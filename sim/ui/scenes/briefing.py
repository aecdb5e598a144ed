"""Choosing the business and the seed: the story, the firm's numbers, what the score means."""

from __future__ import annotations

import pygame
import pygame_gui

from ...public import PublicScenario
from ...scenario import load_scenario, shipped_scenario_names
from ...session import PlayerSession, marketing_budget
from .. import draw
from ..scene import Scene

SCORE_TEXT = ("Your score is firm value: the profit of every turn, discounted, plus what the "
              "customers you leave behind are truly worth. At the end it is compared, on the same "
              "market and the same random draws, with mass-marketing (equal treatment for all), "
              "other reference strategies and an oracle that sees every customer's true worth. "
              "Centricity score: 0 = mass-marketing, 100 = the oracle.")


def prose(s: str) -> str:
    """Scenario text as paragraphs: single line breaks of the YAML file joined, blank lines kept."""
    return "\n\n".join(" ".join(block.split()) for block in s.strip().split("\n\n"))


class BriefingScene(Scene):
    """The shipped scenarios with their story and numbers, and a seed field."""

    name = "briefing"

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

    @property
    def public(self) -> PublicScenario:
        return PublicScenario.of(self.scenarios[self.choice])

    def build(self, rect: pygame.Rect) -> None:
        px = self.app.px
        self.left = pygame.Rect(px(24), px(90), px(300), rect.height - px(180))
        self.right = pygame.Rect(self.left.right + px(20), px(90),
                                 rect.width - self.left.right - px(44), rect.height - px(180))
        y = self.left.top
        for i, n in enumerate(self.names):
            s = self.scenarios[n]
            self.action(f"pick:{n}", pygame.K_1 + i, s.name, pygame.Rect(self.left.left, y, self.left.width, px(50)),
                        s.business, "tab_active" if n == self.choice else None)
            y += px(60)
        y += px(20)
        self.seed_rect = pygame.Rect(self.left.left, y + px(28), self.left.width, px(40))
        self.seed_entry = self.add(pygame_gui.elements.UITextEntryLine(
            self.seed_rect, self.ui, initial_text=self.seed_text))
        self.seed_entry.set_allowed_characters("numbers")
        self.tooltips.add(self.seed_rect, "The seed fixes the market's random draws: a class "
                          "that plays one seed faces the same customers, so scores compare skill.")
        bottom = rect.height - px(70)
        self.action("start", pygame.K_RETURN, "Start the game", pygame.Rect(rect.width - px(324), bottom, px(300), px(50)),
                    None, "primary")
        self.action("back", pygame.K_ESCAPE, "Back", pygame.Rect(px(24), bottom, px(200), px(50)))
        self.action("seed", pygame.K_TAB)

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
            self.enter()
        elif intent == "seed":
            self.seed_entry.focus()
        elif intent == "back":
            self.app.scenes.pop()
        elif intent == "start":
            self.start()

    def start(self) -> None:
        from .game import DashboardScene

        text = self.seed_entry.get_text().strip() if self.seed_entry.alive() else self.seed_text
        if not text.isdigit():
            self.message = "The seed must be a whole number (0 or more)."
            return
        scenario = self.scenarios[self.choice]
        session = PlayerSession.new(scenario, int(text), self.app.autosave_path)
        self.app.start_session(session)
        session.save(self.app.autosave_path)
        self.app.scenes.reset(DashboardScene(self.app))

    def layer_key(self):
        return (self.choice, self.message)

    def _story_size(self, story: pygame.Rect, blocks: tuple[str, ...]) -> int:
        """The largest font size (15 px down to 11, scaled) at which every block fits the story."""
        px = self.app.px
        for base in range(15, 10, -1):
            size = px(base)
            lines = sum(len(draw.wrap(block, size, story.width)) for block in blocks)
            # Blocks, the heading between them and the gaps around it.
            if lines * int(size * 1.3) + px(42) <= story.height:
                return size
        return px(11)

    def paint(self, surface: pygame.Surface) -> None:
        px = self.app.px
        p = self.public
        draw.text(surface, "Choose your business", (px(24), px(24)), px(32), bold=True)
        draw.text(surface, "Seed (same seed = same market)", (self.seed_rect.left, self.seed_rect.top - px(26)),
                  px(15), draw.MUTED)
        inner = draw.panel(surface, self.right, p.name, px(22))
        facts_w = int(inner.width * 0.34)
        story = pygame.Rect(inner.left, inner.top, inner.width - facts_w - px(24), inner.height)
        hint = "The board's hint: " + p.lesson
        size = self._story_size(story, (prose(p.briefing), SCORE_TEXT, hint))
        y = draw.paragraph(surface, prose(p.briefing), story, size)
        draw.text(surface, "What the score means", (story.left, y + px(6)), size + 1, draw.ACCENT,
                  bold=True)
        y = draw.paragraph(surface, SCORE_TEXT, pygame.Rect(story.left, y + px(30), story.width,
                                                            inner.bottom - y - px(30)), size)
        draw.paragraph(surface, hint, pygame.Rect(story.left, y + px(6), story.width,
                                                  inner.bottom - y - px(6)), size, draw.MUTED)
        numbers = pygame.Rect(story.right + px(24), inner.top, facts_w, inner.height)
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
        y = numbers.top
        for label, value in facts:
            draw.text(surface, label, (numbers.left, y), px(14), draw.MUTED)
            y = draw.paragraph(surface, value, pygame.Rect(numbers.left, y + px(19), numbers.width, px(70)),
                               px(16), bold=True) + px(6)
        if self.message:
            draw.text(surface, self.message, (px(250), surface.get_height() - px(56)), px(16), draw.BAD)
