"""The class server's games: one engine per team on the tournament's hidden market, kept on disk.

``Classroom`` is everything the server knows, without the network: the
tournament, its key, seed and full scenario (only ever in this process),
each team's join code and game, the instructor's token, the turns the
instructor closed and whether the debrief is released.

State on disk (``--state DIR``), written atomically after every turn:

* ``class.json``: the codes, the instructor's token, the turns the
  instructor closed for each team and the release (mode 0600: the codes
  let anyone act as a team);
* ``teams/NN-NAME.json``: each team's game as a game record
  (``sim.records``): a partial record while it plays, the team's finished
  record (strategy = the team) after its last turn.  Never a pickle: a
  record is the decisions and the books they gave.

A restarted server reads both, plays every team's decisions again on the
seed (the engine is deterministic) and checks each turn gives the books
on disk, so every team continues exactly where it was.
"""

from __future__ import annotations

import hmac
import json
import math
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..analytics.clv import predict_clv
from ..analytics.fitting import DataError
from ..decisions import Decision, DecisionError
from ..engine import Game, TurnResult, check_decision
from ..errors import SimError
from ..output_paths import write_atomically
from ..records import GameRecord, RecordError, decode_decision, read_record, write_record
from ..score_columns import essential_scores
from ..session import Plan, TierPlan, tier_outcomes
from ..tournament.classplay import ClassTournament, team_record
from . import wire

STATE_FORMAT = "ccsim-class-server"


class ClassServerError(SimError):
    """A refusal of the class server: a wrong code, a closed turn, a state that cannot resume."""


@dataclass
class TeamGame:
    """One team's game on the server.

    Attributes:
        team: the team's name.
        index: its place in the tournament's list (0, 1, ...), for file names.
        code: the join code (the only thing that lets a client act as the team).
        game: the engine (never leaves this process).
        decisions: the decision played each turn.
        history: each played turn as a wire history entry (sent on rejoin).
        closed: turns the instructor closed for the team (its last plan played).
        connected: a client is connected as the team now.
        joined: a client has ever joined as the team.
    """

    team: str
    index: int
    code: str
    game: Game
    decisions: list[Decision] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    connected: bool = False
    joined: bool = False

    @property
    def turn(self) -> int:
        return self.game.turn

    @property
    def done(self) -> bool:
        return self.game.done

    def discounted_profit(self, rate: float) -> float:
        """Discounted profit so far, dollars at turn 1 (the books only: no truth)."""
        return sum(r.books.profit / (1 + rate) ** r.books.turn for r in self.game.results)


def safe_name(index: int, team: str) -> str:
    """A file name for a team: its number and its name's letters and digits."""
    return f"{index + 1:02d}-{re.sub(r'[^A-Za-z0-9_-]', '_', team)[:40]}"


class Classroom:
    """A class tournament being played on this machine (see the module docstring).

    Args:
        tournament: the class tournament file's content.
        key: the instructor's key (opens the market; never sent to a client).
        state: the folder for the state (made if missing; resumed if it holds one).
    """

    def __init__(self, tournament: ClassTournament, key: str, state: str | Path):
        self.tournament = tournament
        self.scenario = tournament.scenario(key)   # a wrong key is refused here
        self.seed = tournament.seed(key)
        self.state = Path(state)
        (self.state / "teams").mkdir(parents=True, exist_ok=True)
        self.released = False
        self.started = time.time()
        saved = self._read_state()
        codes = saved.get("codes") or {t: secrets.token_urlsafe(9) for t in tournament.teams}
        self.instructor_token = saved.get("instructor") or secrets.token_urlsafe(18)
        self.released = bool(saved.get("released", False))
        self.teams: dict[str, TeamGame] = {}
        for i, team in enumerate(tournament.teams):
            game = Game(self.scenario)
            game.reset(self.seed)
            self.teams[team] = TeamGame(team, i, codes[team], game)
        closed = saved.get("closed", {})
        for team in self.teams.values():
            self._resume(team, set(closed.get(team.team, [])))
        self._write_state()

    # ------------------------------------------------------------ state on disk
    def _state_file(self) -> Path:
        return self.state / "class.json"

    def team_file(self, team: TeamGame) -> Path:
        return self.state / "teams" / f"{safe_name(team.index, team.team)}.json"

    def _read_state(self) -> dict:
        path = self._state_file()
        if not path.exists():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ClassServerError(f"{path}: cannot be read ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
            raise ClassServerError(f"{path}: not a class server's state")
        if data.get("commitment") != self.tournament.commitment:
            raise ClassServerError(f"{path}: the state of another tournament; use another --state")
        codes = data.get("codes")
        if not isinstance(codes, dict) or set(codes) != set(self.tournament.teams) \
                or not all(isinstance(c, str) and c for c in codes.values()):
            raise ClassServerError(f"{path}: codes: one per team of the tournament expected")
        return data

    def _write_state(self) -> None:
        data = {"format": STATE_FORMAT, "tournament": self.tournament.name,
                "commitment": self.tournament.commitment,
                "codes": {t.team: t.code for t in self.teams.values()},
                "instructor": self.instructor_token, "released": self.released,
                "closed": {t.team: t.closed for t in self.teams.values() if t.closed}}
        path = self._state_file()
        write_atomically(path, json.dumps(data, indent=1), "the class server's state")
        path.chmod(0o600)

    def _save_team(self, team: TeamGame) -> None:
        if team.done:
            record = team_record(self.tournament, team.team, team.game, team.decisions)
        else:
            record = GameRecord(self.scenario, self.seed, team.team, list(team.decisions),
                                [r.books for r in team.game.results], partial=True)
        write_record(record, self.team_file(team))

    def _resume(self, team: TeamGame, closed: set[int]) -> None:
        """Play the team's saved decisions again and check they give the saved books."""
        path = self.team_file(team)
        if not path.exists():
            return
        try:
            record = read_record(path, partial=True)
        except RecordError as exc:
            raise ClassServerError(f"cannot resume {team.team}: {exc}") from None
        if record.scenario.content_hash != self.scenario.content_hash or record.seed != self.seed:
            raise ClassServerError(f"{path}: a game of another market; use another --state")
        for decision, books in zip(record.decisions, record.books):
            turn = team.turn
            try:
                result = self._step(team, decision, closed=turn in closed, save=False)
            except DecisionError as exc:
                raise ClassServerError(f"{path}: turn {turn}'s decision is refused: {exc}") from None
            if result.books != books:
                raise ClassServerError(f"{path}: turn {turn} plays out differently from the save")
        team.joined = bool(record.decisions)

    # ------------------------------------------------------------ joining
    def check_code(self, team: str, code: object) -> TeamGame:
        """The team a join message names, if its code is right.

        Raises:
            ClassServerError: an unknown team or a wrong code.
        """
        if not isinstance(team, str) or team not in self.teams:
            raise ClassServerError(f"team: {str(team)[:40]!r} is not a team of this class "
                                   f"(teams: {', '.join(self.teams)})")
        given = code if isinstance(code, str) else ""
        if not hmac.compare_digest(given.encode("utf-8", "replace"), self.teams[team].code.encode()):
            raise ClassServerError(f"code: the join code for team {team} is wrong (ask the instructor)")
        return self.teams[team]

    def check_instructor(self, token: object) -> bool:
        given = token if isinstance(token, str) else ""
        return hmac.compare_digest(given.encode("utf-8", "replace"), self.instructor_token.encode())

    # ------------------------------------------------------------ playing
    def end_turn(self, team: TeamGame, turn: object, data: object) -> dict:
        """Play a team's decision for ``turn``; the history entry of the turn played.

        Raises:
            ClassServerError: the turn is not the team's current one (closed or not yet open).
            DecisionError: the decision is malformed or refused (nothing changed).
        """
        if team.done:
            raise ClassServerError("the game is over: every turn has been played")
        if not isinstance(turn, int) or isinstance(turn, bool):
            raise ClassServerError("turn: must be a whole number")
        if turn < team.turn:
            why = (" by the instructor (your last plan was played)" if turn in team.closed else "")
            raise ClassServerError(f"turn {turn} is already closed{why}: this is turn {team.turn}")
        if turn > team.turn:
            raise ClassServerError(f"turn {turn} has not started: this is turn {team.turn}")
        obs = team.game.observation
        try:
            decision = decode_decision(data, "decision", max_rows=obs.n_customers)
        except RecordError as exc:
            raise DecisionError(str(exc)) from None
        self._step(team, decision, closed=False)
        return team.history[-1]

    def _step(self, team: TeamGame, decision: Decision, closed: bool, save: bool = True) -> TurnResult:
        before = team.game.observation
        turn = team.turn
        assignment = check_decision(team.game.public, before, decision)
        after, result = team.game.step(decision)
        team.decisions.append(decision)
        if closed:
            team.closed.append(turn)
        team.history.append(wire.history_entry(turn, decision, result,
                                               tier_outcomes(decision, assignment.tier, after), closed))
        if save:
            self._save_team(team)
            if closed:
                self._write_state()
        return result

    def last_plan(self, team: TeamGame) -> Decision:
        """The decision a team that did not end the turn gets: its last plan (turn 1: the inherited policy).

        A plan whose tiers use the lab's scores gets them from the lab's
        models fitted on the team's data now; a plan the turn cannot afford
        any more (more customers to serve) keeps its acquisition only; failing
        that, nothing is spent.
        """
        game = team.game
        obs = game.observation
        public = game.public
        if team.decisions:
            plan = Plan.from_decision(team.decisions[-1], public.channel_names)
        else:
            plan = Plan({c: float(public.inherited.acquisition.get(c, 0.0)) for c in public.channel_names},
                        [TierPlan("everyone", "all", float(public.inherited.service))])
        scores = {}
        if team.decisions and team.decisions[-1].scores:
            try:
                scores = predict_clv(obs).columns()
            except DataError:
                scores = {}
        for candidate in (plan, Plan(plan.acquisition, []), Plan({}, [])):
            try:
                decision = essential_scores(candidate.decision(scores), obs.n_customers, set(obs.columns))
                check_decision(public, obs, decision)
                return decision
            except DecisionError:
                continue
        return Decision({}, ())

    def close_turn(self) -> tuple[int | None, list[TeamGame]]:
        """Close the lowest turn a team is still on: those teams get their last plan played.

        Returns:
            (the turn closed, the teams whose turn was played); (None, []) when every game is over.
        """
        playing = [t for t in self.teams.values() if not t.done]
        if not playing:
            return None, []
        turn = min(t.turn for t in playing)
        moved = [t for t in playing if t.turn == turn]
        for team in moved:
            self._step(team, self.last_plan(team), closed=True)
        return turn, moved

    # ------------------------------------------------------------ the instructor's view
    @property
    def all_done(self) -> bool:
        return all(t.done for t in self.teams.values())

    def release(self) -> None:
        """Release the debrief (after the last turn): teams get the market to replay.

        Raises:
            ClassServerError: a team is still playing.
        """
        if not self.all_done:
            waiting = ", ".join(t.team for t in self.teams.values() if not t.done)
            raise ClassServerError(f"the debrief can be released after the last turn (still playing: "
                                   f"{waiting}); close the turns first")
        self.released = True
        self._write_state()

    def standings(self) -> list[tuple[TeamGame, float]]:
        """Teams by discounted profit so far (from the books), best first."""
        rate = self.scenario.discount_rate
        return sorted(((t, t.discounted_profit(rate)) for t in self.teams.values()),
                      key=lambda p: -p[1])

    def released_message(self) -> dict:
        """What a team's window needs for the debrief: the market, once released."""
        return {"op": "released", "scenario": self.scenario.to_dict(), "key": self.scenario.key,
                "seed": self.seed}

    def results(self, progress=None) -> tuple[list[dict], dict[str, float]]:
        """Every finished team's firm value and centricity score, and the references' firm values.

        Slow the first time (the references are played, then cached): call off the event loop.
        """
        from ..references import REFERENCES, reference_values
        from ..scoring import centricity_score, value_game

        references = {n: v.firm_value for n, v in reference_values(self.scenario, self.seed,
                                                                     progress=progress).items()}
        rows = []
        for t in self.teams.values():
            if not t.done:
                continue
            value = value_game(t.game, t.team)
            rows.append({"team": t.team, "index": t.index, "firm_value": value.firm_value,
                         "discounted_profit": value.discounted_profit,
                         "terminal_equity": value.terminal_equity,
                         "centricity_score": centricity_score(value.firm_value, references["mass-marketing"],
                                                              references["oracle"]),
                         "closed_turns": len(t.closed),
                         # Where the service money went, by true value (most valuable tenth first),
                         # and who each channel brought: the class debrief compares these.
                         "service_top_decile": float(value.service_by_value_decile[0])
                         if value.service_by_value_decile else math.nan,
                         "service_top_half": float(sum(value.service_by_value_decile[:5])),
                         "acquired": {c: sum(int(r.books.acquired_by_channel.get(c, 0)) for r in value.turns)
                                      for c in self.scenario.channel_names},
                         "acquisition_spend": sum(r.books.acquisition_spend for r in value.turns)})
        rows.sort(key=lambda r: -r["firm_value"])
        return rows, {n: references[n] for n in REFERENCES if n in references}

    def leaderboard_csv(self, rows: list[dict]) -> str:
        """The class leaderboard as CSV text (rank, team, firm value, ...)."""
        import csv
        import io

        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["rank", "team", "firm_value", "discounted_profit", "terminal_equity",
                         "centricity_score", "turns_closed_by_instructor"])
        for rank, r in enumerate(rows, 1):
            c = r["centricity_score"]
            writer.writerow([rank, _csv_text(r["team"]), f"{r['firm_value']:.2f}", f"{r['discounted_profit']:.2f}",
                             f"{r['terminal_equity']:.2f}", f"{c:.2f}" if math.isfinite(c) else "",
                             r["closed_turns"]])
        return out.getvalue()

    def write_team_report(self, team: TeamGame) -> Path:
        """The team's HTML report (``sim.report``), written once into the state folder."""
        from ..debrief import debrief_of
        from ..report import write_report

        folder = self.state / "reports" / safe_name(team.index, team.team)
        page = folder / "index.html"
        if not page.exists():
            folder.mkdir(parents=True, exist_ok=True)
            write_report(debrief_of(self.scenario, self.seed, team.decisions, played_by=team.team), folder)
        return page


def _csv_text(text: str) -> str:
    """A team's name in a CSV cell a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text

