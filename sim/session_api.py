"""The one interface the game window uses to play: ``GameSession``.

Every scene of ``sim.ui`` talks to the game only through these members, so
a game played on this machine (``sim.session.PlayerSession``) and a game
played on a class server (``sim.classnet.remote.RemoteSession``, behind
``ccsim play --join``: observations arriving as deltas, decisions sent as
JSON, the debrief released by the instructor) are the same to the
screens.  Nothing here exposes the engine, the latent
scenario or the truth: a scene gets the public scenario, observations,
books, the lab's predictions from the player's own data, plan previews,
and — once the game is over — the debrief.

``tests/test_ui_structure.py`` checks that no UI module reaches past it
(``session.game``, ``session.scenario_for_scoring``, the engine, runner,
scoring or references modules).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .debrief import Debrief
    from .decisions import Decision
    from .engine import TurnResult
    from .observation import Observation, TurnBooks
    from .public import PublicScenario
    from .records import GameRecord
    from .session import Lab, Plan, Preview, TierOutcome


@runtime_checkable
class GameSession(Protocol):
    """A player's game as the screens see it.

    Attributes:
        public: the public view of the scenario (story, channels, tags,
            budget; never the latent types).
        observation: what the firm can see at the start of the current turn.
        seed: the market's seed (a class server may hide it: -1).
        autosave_path: where the game is saved after every turn (None: nowhere).
        lab: the analytics lab's models and predictions, from the player's data.
    """

    public: "PublicScenario"
    seed: int
    autosave_path: Path | None
    lab: "Lab"

    @property
    def observation(self) -> "Observation": ...

    @property
    def turn(self) -> int:
        """The turn being decided (1..turns; turns + 1 once the game is over)."""

    @property
    def done(self) -> bool:
        """True once the last turn has been played."""

    @property
    def books(self) -> tuple["TurnBooks", ...]:
        """Every turn's books so far, warm-up turns included."""

    @property
    def results(self) -> list["TurnResult"]:
        """The player's turns so far: each one's books and tier sizes."""

    @property
    def decisions(self) -> list["Decision"]:
        """The decision played each turn so far."""

    @property
    def tier_outcomes(self) -> list[list["TierOutcome"]]:
        """How each tier's customers bought, turn by turn (observable)."""

    def refit(self) -> "Lab":
        """Fit the lab's models afresh to the player's data and predict every customer."""

    def default_plan(self) -> "Plan":
        """The plan a turn starts from (last turn's; on turn 1 mass-marketing's, the score's zero)."""

    def default_plan_note(self) -> str:
        """What the pre-filled values are, in a sentence or two (keeping them all game scores 0)."""

    def preview(self, plan: "Plan") -> "Preview":
        """Tier sizes, costs, warnings and the lab's projection of ``plan`` (nothing played)."""

    def end_turn(self, plan: "Plan") -> "TurnResult":
        """Play ``plan`` as this turn's decision (``DecisionError``: refused, nothing changed)."""

    def estimated_firm_value(self) -> tuple[float, float, float]:
        """(discounted profit so far, the estimated customer equity, their sum), dollars at turn 1."""

    def estimate_note(self) -> str:
        """The estimated firm value in words: its interval and what it counts."""

    def save(self, path: str | Path) -> Path:
        """Write the game so far (the autosave, or a finished game's record)."""

    def reveal(self, progress: Callable[[str], None] | None = None) -> "Debrief":
        """The debrief of the finished game (the truth revealed); slow, call off the UI thread."""

    def game_record(self, scores: dict | None = None) -> "GameRecord":
        """The finished game's record, claiming ``scores`` besides its own value."""
