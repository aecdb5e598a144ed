"""Class play: a tournament file for the teams, a hidden market, hot-seat play, scoring.

The design (the README's "Running a class tournament" has the threat model):

* ``new_tournament`` draws a 128-bit random **key**.  The market's seed is
  derived from it (``market_seed``: SHA-256 of the key, 63 bits); the
  tournament file holds the scenario, the teams and only a **commitment**
  to the key (SHA-256 of the key under another label).  The instructor
  keeps the key (printed once and written to a separate secret file).
* Before class the teams hold the file and can learn nothing of the market:
  the seed is not in it, and recovering it means finding a SHA-256 preimage
  of a 128-bit secret.
* When play starts the instructor reveals the key (on the board).  ``ccsim
  play --tournament FILE --team A --key KEY`` checks the key against the
  commitment (so a typo, or a key of another tournament, is refused), makes
  the market and saves a record naming the team.
* ``score_class`` replays every record (``sim.records.verify_record``) on the
  seed the key gives and ranks the teams; records of another seed, another
  scenario or edited ones are refused with the reason.

``start_team_game`` and ``team_record`` are what a front end calls;
``hot_seat`` lets several teams play on one machine, turn by turn, with
standings between turns.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, TextIO

from ..engine import Game
from ..observation import Observation
from ..records import GameRecord, record_of
from ..runner import PlayedGame, play_game
from ..scenario import Scenario, ScenarioError, parse_scenario
from ..scoring import value_game
from .games import Settings, TournamentError, write_json_atomic

FORMAT = "ccsim-class-tournament"
SECRET_FORMAT = "ccsim-class-tournament-secret"
_COMMIT_LABEL = b"ccsim class tournament: commitment\x00"
_SEED_LABEL = b"ccsim class tournament: market seed\x00"


class ClassPlayError(TournamentError):
    """A tournament file, key or team that cannot be used; one line naming it."""


@dataclass(frozen=True)
class ClassTournament:
    """A class tournament as handed to the teams (no seed in it).

    Attributes:
        name: shown on the leaderboard.
        scenario: the scenario played, at the size played.
        teams: the teams' names.
        commitment: SHA-256 (hex) committing to the instructor's key.
        created: when the file was made (UTC, ISO 8601).
    """

    name: str
    scenario: Scenario
    teams: tuple[str, ...]
    commitment: str
    created: str = ""

    def to_json(self) -> dict:
        return {"format": FORMAT, "name": self.name, "created": self.created,
                "teams": list(self.teams), "commitment": self.commitment,
                "scenario": {"key": self.scenario.key, "content": self.scenario.to_dict()}}

    def seed(self, key: str) -> int:
        """The market's seed, from the key revealed at class time.

        Raises:
            ClassPlayError: the key is malformed or not this tournament's.
        """
        raw = parse_key(key)
        if commitment(raw) != self.commitment:
            raise ClassPlayError(f"the key does not open tournament {self.name!r} (a typo, or "
                                 "another tournament's key?)")
        return market_seed(raw)

    def check_team(self, team: str) -> str:
        if team not in self.teams:
            raise ClassPlayError(f"--team: {team!r} is not a team of {self.name!r} "
                                 f"(teams: {', '.join(self.teams)})")
        return team


def new_key() -> str:
    """A fresh 128-bit key, as 26 base32 letters and digits in groups (easy to read out)."""
    text = base64.b32encode(secrets.token_bytes(16)).decode("ascii").rstrip("=")
    return "-".join(text[i:i + 5] for i in range(0, len(text), 5))


def parse_key(key: str) -> bytes:
    """The key's 16 bytes; case, spaces and dashes do not matter.

    Raises:
        ClassPlayError: not a key.
    """
    text = "".join(ch for ch in str(key).upper() if ch not in "- \t")
    try:
        raw = base64.b32decode(text + "=" * (-len(text) % 8))
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != 16:
        raise ClassPlayError("the key is not a tournament key (26 letters and digits, "
                             "e.g. ABCDE-FGHIJ-...)")
    return raw


def commitment(raw_key: bytes) -> str:
    """What the tournament file holds: reveals nothing of the key or the seed."""
    return hashlib.sha256(_COMMIT_LABEL + raw_key).hexdigest()


def market_seed(raw_key: bytes) -> int:
    """The market's root seed, derived from the key (63 bits: any engine takes it)."""
    digest = hashlib.sha256(_SEED_LABEL + raw_key).digest()
    return int.from_bytes(digest[:8], "big") & ((1 << 63) - 1)


def secret_path(path: str | Path) -> Path:
    """Where ``new_tournament`` puts the instructor's secret for the file at ``path``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.secret.json")


def new_tournament(scenario: Scenario, teams: list[str], out: str | Path,
                   name: str | None = None) -> tuple[ClassTournament, str, Path]:
    """Write a class tournament file and its secret; return both and the key.

    Raises:
        ClassPlayError: no teams, a team named twice, or the secret file
            already exists (a second key would orphan the first file's).
    """
    teams = [t.strip() for t in teams if t.strip()]
    if not teams:
        raise ClassPlayError("--teams: name at least one team, e.g. --teams A,B,C")
    if len(set(teams)) != len(teams):
        raise ClassPlayError("--teams: a team is named twice")
    out = Path(out)
    secret = secret_path(out)
    if secret.exists():
        raise ClassPlayError(f"{secret}: exists; move it away first (it opens another tournament)")
    key = new_key()
    raw = parse_key(key)
    tournament = ClassTournament(name or out.stem, scenario, tuple(teams), commitment(raw),
                                 datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    write_json_atomic(out, tournament.to_json())
    write_json_atomic(secret, {"format": SECRET_FORMAT, "tournament": tournament.name,
                               "commitment": tournament.commitment, "key": key})
    secret.chmod(0o600)
    return tournament, key, secret


def read_tournament(path: str | Path) -> ClassTournament:
    """Read a class tournament file.

    Raises:
        ClassPlayError: unreadable or not a tournament file (naming the entry).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ClassPlayError(f"{path}: cannot read the tournament file ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ClassPlayError(f"{path}: not a class tournament file (no \"format\": \"{FORMAT}\")")
    try:
        header = data["scenario"]
        scenario = parse_scenario(header["content"], f"{path.name}: scenario.content",
                                  key=str(header["key"]))
        teams = tuple(str(t) for t in data["teams"])
        return ClassTournament(str(data["name"]), scenario, teams, str(data["commitment"]),
                               str(data.get("created", "")))
    except ScenarioError as exc:
        raise ClassPlayError(str(exc)) from None
    except (KeyError, TypeError) as exc:
        raise ClassPlayError(f"{path}: {exc} missing or malformed") from None


def read_key(text: str) -> str:
    """``--secret``/``--key``: the key itself, or the path of the secret file holding it."""
    path = Path(text)
    if path.suffix == ".json" and path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return str(data["key"])
        except (OSError, ValueError, KeyError, TypeError):
            raise ClassPlayError(f"{path}: not a tournament secret file") from None
    return text


# ---------------------------------------------------------------- one team
def start_team_game(tournament: ClassTournament, team: str, key: str) -> tuple[Game, Observation]:
    """A fresh game of ``team`` in ``tournament`` for a front end to drive.

    Raises:
        ClassPlayError: an unknown team or a wrong key.
    """
    tournament.check_team(team)
    game = Game(tournament.scenario)
    return game, game.reset(tournament.seed(key))


def team_record(tournament: ClassTournament, team: str, game: Game,
                decisions: list) -> GameRecord:
    """The record a team submits, for a finished ``game`` played with ``decisions``."""
    played = PlayedGame(tournament.scenario, team, int(game.seed), game, list(decisions),
                        value_game(game, team))
    return record_of(played)


def play_team(tournament: ClassTournament, team: str, key: str, strategy) -> GameRecord:
    """Play ``team``'s whole game with ``strategy`` (a bot, or a ``PromptStrategy``).

    Raises:
        ClassPlayError: an unknown team, a wrong key, or a strategy that sees the truth.
    """
    tournament.check_team(team)
    if getattr(strategy, "sees_truth", False):
        raise ClassPlayError(f"{strategy.name} sees the truth: not a team's strategy")
    played = play_game(tournament.scenario, _Named(strategy, team), tournament.seed(key))
    return record_of(played)


class _Named:
    """A strategy playing under a team's name (the record names the team)."""

    sees_truth = False

    def __init__(self, inner, name: str):
        self.inner, self.name = inner, name

    def reset(self, scenario, seed):
        self.inner.reset(scenario, seed)

    def decide(self, observation, truth=None):
        return self.inner.decide(observation, None)


# ---------------------------------------------------------------- hot seat
@dataclass(frozen=True)
class TeamStanding:
    """A team between turns: what its books show so far (observable only).

    Attributes:
        team: the team.
        turns: turns played.
        profit: discounted profit so far, dollars.
        last_profit: the last turn's profit, dollars.
        customers: customers acquired so far (the observation's rows).
    """

    team: str
    turns: int
    profit: float
    last_profit: float
    customers: int


def hot_seat(tournament: ClassTournament, key: str, players: dict,
             show: Callable[[int, list[TeamStanding]], None] | None = None,
             ) -> dict[str, GameRecord]:
    """Several teams on one machine: turn 1 for each team, standings, turn 2, ...

    Each team's game is a ``sim.runner.play_game`` of its own; a turnstile
    lets exactly one team decide at a time, in the order of ``players``,
    and calls ``show(turn, standings)`` after every team has played a turn.

    Args:
        players: team -> strategy (a ``PromptStrategy`` for people).
        show: called between turns with the standings, best profit first.

    Returns:
        team -> its record.

    Raises:
        ClassPlayError: an unknown team or a wrong key.
        Exception: whatever a team's strategy or game raised (the others stop).
    """
    seed = tournament.seed(key)
    order = [tournament.check_team(t) for t in players]
    d = tournament.scenario.discount_rate
    gate = threading.Condition()
    state = {"turn": 1, "index": 0, "error": None}
    books: dict[str, list] = {t: [] for t in order}
    rows: dict[str, int] = {t: 0 for t in order}
    records: dict[str, GameRecord] = {}

    class Seat:
        sees_truth = False

        def __init__(self, team: str, inner):
            self.name, self.inner, self.index = team, inner, order.index(team)

        def reset(self, scenario, seed_):
            self.inner.reset(scenario, seed_)

        def decide(self, observation, truth=None):
            with gate:
                gate.wait_for(lambda: state["error"] or (state["turn"] == observation.turn
                                                         and state["index"] == self.index))
                if state["error"]:
                    raise RuntimeError("another team's game stopped")
            return self.inner.decide(observation, None)

    def after_turn(team: str) -> Callable:
        def on_turn(game, decision, result) -> None:
            with gate:
                books[team].append(result.books)
                rows[team] = game.observation.n_customers
                state["index"] += 1
                if state["index"] == len(order):
                    if show:
                        show(state["turn"], _standings(order, books, rows, d))
                    state["index"] = 0
                    state["turn"] += 1
                gate.notify_all()
        return on_turn

    def play(team: str) -> None:
        try:
            played = play_game(tournament.scenario, Seat(team, players[team]), seed,
                               on_turn=after_turn(team))
            records[team] = record_of(played)
        except BaseException as exc:
            with gate:
                state["error"] = state["error"] or exc
                gate.notify_all()

    threads = [threading.Thread(target=play, args=(t,), name=f"hot seat {t}") for t in order]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if state["error"]:
        raise state["error"]
    return records


def _standings(order, books, rows, d) -> list[TeamStanding]:
    out = [TeamStanding(t, len(books[t]), sum(b.profit / (1 + d) ** b.turn for b in books[t]),
                        books[t][-1].profit if books[t] else 0.0, rows[t]) for t in order]
    return sorted(out, key=lambda s: -s.profit)


def format_standings(turn: int, standings: list[TeamStanding]) -> str:
    """Standings between turns as a small text table."""
    lines = [f"standings after turn {turn} (from the books; customer equity is revealed at "
             "the end)", f"{'':>3} {'team':<16} {'discounted profit':>18} {'last turn':>12} "
             f"{'customers':>10}"]
    for i, s in enumerate(standings, 1):
        lines.append(f"{i:>3} {s.team:<16} {_money(s.profit):>18} {_money(s.last_profit):>12} "
                     f"{s.customers:>10,}")
    return "\n".join(lines)


def _money(x: float) -> str:
    return f"-${-x:,.0f}" if x < 0 else f"${x:,.0f}"


# ---------------------------------------------------------------- text prompt
class PromptStrategy:
    """A person at a text prompt (until the pygame front end, and for terminals).

    Each turn shows the last turn's books and asks for acquisition dollars
    (``channel=dollars ...``) and service (``top 10% by profit_per_turn at
    5``, ``everyone at 2``, ``none``, or a tier list as JSON); an empty
    answer repeats the last turn's.  A refused answer is asked again.
    """

    sees_truth = False

    def __init__(self, name: str = "player", ask: Callable[[str], str] = input,
                 out: TextIO | None = None):
        import sys

        self.name, self.ask, self.out = name, ask, out or sys.stdout

    def reset(self, scenario, seed) -> None:
        self.scenario = scenario
        self.acquisition: dict[str, float] = {}
        self.tiers: tuple = ()

    def decide(self, observation: Observation, truth=None):
        from ..decisions import Decision, DecisionError, Tier, assign_tiers, check_acquisition

        s = self.scenario
        b = observation.books[-1]
        print(f"\n[{self.name}] turn {observation.turn} of {s.turns}: last turn revenue "
              f"{_money(b.revenue)}, profit {_money(b.profit)}, acquired {b.acquired:,}; "
              f"{observation.n_customers:,} customers so far", file=self.out)
        print(f"  channels: {', '.join(s.channel_names)}", file=self.out)
        while True:
            try:
                acquisition = self._acquisition(self.ask("  acquisition (channel=dollars ...): "))
                tiers = self._tiers(self.ask("  service (e.g. 'top 10% by profit_per_turn at 5', "
                                             "'everyone at 2', 'none'): "), Tier)
                decision = Decision(acquisition, tiers)
                check_acquisition(decision, s.channel_names, float("inf"))
                assign_tiers(decision, observation.columns, observation.categories, float("inf"),
                             servable=observation.active)
            except (ValueError, DecisionError) as exc:
                print(f"  not understood: {exc}", file=self.out)
                continue
            self.acquisition, self.tiers = acquisition, tiers
            return decision

    def _acquisition(self, text: str) -> dict[str, float]:
        if not text.strip():
            return dict(self.acquisition)
        out = {}
        for part in text.replace(",", " ").split():
            name, _, dollars = part.partition("=")
            out[name] = float(dollars.replace("$", "").replace("_", ""))
        return out

    def _tiers(self, text: str, Tier) -> tuple:
        import re

        text = text.strip()
        if not text:
            return self.tiers
        if text == "none":
            return ()
        if text.startswith("["):
            return tuple(Tier(t.get("name", f"tier {i + 1}"), t.get("rule", "all"),
                              t.get("service", 0.0)) for i, t in enumerate(json.loads(text)))
        m = re.fullmatch(r"everyone at \$?([\d.]+)", text)
        if m:
            return (Tier("everyone", "all", float(m[1])),)
        m = re.fullmatch(r"(top|bottom) ([\d.]+)% by (\w+) at (\$?[\d.]+|disengage)", text)
        if m:
            service = m[4] if m[4] == "disengage" else float(m[4].lstrip("$"))
            return (Tier(f"{m[1]} {m[2]}%", {m[1]: float(m[2]) / 100, "by": m[3]}, service),)
        raise ValueError(f"{text!r}: try 'top 10% by profit_per_turn at 5', 'everyone at 2', "
                         "'none' or a JSON list of tiers")


# ---------------------------------------------------------------- scoring
def score_class(tournament: ClassTournament, key: str, records: list[str | Path],
                out: str | Path, workers: int | None = 1, progress: bool = False):
    """Verify the teams' records on the tournament's seed and rank them.

    Returns:
        a ``sim.tournament.run.TournamentResult`` (its rejections name each
        refused record and why: another seed, another scenario, not a team,
        unreadable, or not verifying).
    """
    from .run import run_tournament

    seed = tournament.seed(key)
    return run_tournament(records, [seed], out, Settings(tournament.scenario), workers=workers,
                          progress=progress, teams=tournament.teams,
                          title=f"Class tournament {tournament.name}: {tournament.scenario.name}")
