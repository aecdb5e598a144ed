"""Hostile input through the Python API (issue 21 findings 4 and 11): every refusal is a SimError.

A table of bad calls to the public API, each made in a forked child under a
memory and a time limit (``tests/limited.py``): each must raise a
``sim.SimError`` (of the kind named) whose message says what is wrong.  Then
the observation a strategy receives: every array it can reach is read-only
and every mapping refuses changes, so a strategy that tries every in-place
write it can think of plays exactly the game of one that does not.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

from limited import run_limited
from sim import Decision, Game, Tier, load_scenario
from sim.errors import (DataError, DecisionError, GameStateError, ScenarioError, SimError,
                        UnknownNameError)
from sim.observation import TurnBooks
from sim.output_paths import OutputPathError
from sim.records import RecordError, read_record, record_of, verify_record, write_record
from sim.runner import play_game, replay_game
from sim.session import AutosaveError, PlayerSession
from sim.strategies import get_strategy

SCENARIO = load_scenario("coffee").with_prospects(500)
PARAMS = {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4}


def _started() -> Game:
    game = Game(SCENARIO)
    game.reset(1)
    return game


def _finished() -> Game:
    game = _started()
    while not game.done:
        game.step(Decision())
    return game


def _fifo() -> str:
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"hostile-api-{os.getpid()}.fifo"
    os.mkfifo(path)
    return str(path)


def _analytics(name):
    from sim.analytics import bgbb, bgnbd, fitting, gamma_gamma, pareto_nbd, reports, sbg

    return {"bgbb": bgbb, "bgnbd": bgnbd, "fitting": fitting, "gamma_gamma": gamma_gamma,
            "pareto_nbd": pareto_nbd, "reports": reports, "sbg": sbg}[name]


def _partial_record_verified():
    session = PlayerSession.new(SCENARIO, 1)
    session.end_turn(session.default_plan())
    from sim.records import GameRecord

    record = GameRecord(SCENARIO, 1, "player", session.decisions,
                        [r.books for r in session.results], partial=True)
    return verify_record(record)


#: case -> (the call, the SimError subclass expected, a fragment of its message)
CASES = {
    "Game of None": (lambda: Game(None), SimError, "scenario: expected a Scenario"),
    "Game of a name": (lambda: Game("coffee"), SimError, "got str"),
    "reset with text": (lambda: Game(SCENARIO).reset("1"), SimError, "seed must be a whole number"),
    "reset negative": (lambda: Game(SCENARIO).reset(-1), SimError, "seed must be a whole number >= 0"),
    "reset fraction": (lambda: Game(SCENARIO).reset(1.5), SimError, "got 1.5"),
    "reset True": (lambda: Game(SCENARIO).reset(True), SimError, "got True"),
    "reset None": (lambda: Game(SCENARIO).reset(None), SimError, "got None"),
    "step before reset": (lambda: Game(SCENARIO).step(Decision()), GameStateError,
                          "call reset(seed) before step()"),
    "step after the end": (lambda: _finished().step(Decision()), GameStateError, "the game is over"),
    "step with None": (lambda: _started().step(None), DecisionError, "expected a Decision"),
    "step with a mapping": (lambda: _started().step({"acquisition": {}}), DecisionError,
                            "expected a Decision, got dict"),
    "an unknown channel": (lambda: _started().step(Decision({"tv": 10.0})), DecisionError, "tv"),
    "over budget": (lambda: _started().step(Decision({"office_cards": 1e12})), DecisionError,
                    "budget"),
    "an unknown strategy": (lambda: get_strategy("genius"), UnknownNameError,
                            "unknown strategy 'genius' (known: do-nothing"),
    "a strategy named None": (lambda: get_strategy(None), UnknownNameError, "unknown strategy None"),
    "a strategy named by a list": (lambda: get_strategy([]), UnknownNameError, "unknown strategy []"),
    "playing a name, not a strategy": (lambda: play_game(SCENARIO, "oracle", 1), SimError,
                                       "strategy: expected an object with reset() and decide()"),
    "the oracle without the truth": (lambda: get_strategy("oracle").decide(_started().observation, None),
                                     SimError, "the oracle needs the truth"),
    "replaying too few decisions": (lambda: replay_game(SCENARIO, 1, [Decision()], "x"), SimError,
                                    "1 decisions for a game of 12 turns"),
    "an unknown reference": (lambda: __import__("sim.references", fromlist=["x"]).play_reference(
        SCENARIO, "genius", 1), UnknownNameError, "'genius' is not a reference strategy"),
    "a negative seed for a stream": (lambda: __import__("sim.rng", fromlist=["x"]).stream(-1, "population"),
                                     SimError, "seed must be >= 0"),
    "load_scenario(None)": (lambda: load_scenario(None), ScenarioError, "expected a file path"),
    "load_scenario('')": (lambda: load_scenario(""), ScenarioError, "the name is empty"),
    "load_scenario(3)": (lambda: load_scenario(3), ScenarioError, "got int"),
    "load_scenario(/dev/zero)": (lambda: load_scenario("/dev/zero"), ScenarioError,
                                 "is a character device"),
    "load_scenario(a FIFO)": (lambda: load_scenario(_fifo()), ScenarioError, "is a named pipe"),
    "prospects as text": (lambda: SCENARIO.with_prospects("100"), ScenarioError,
                          "prospects: must be a whole number"),
    "prospects 10^19": (lambda: SCENARIO.with_prospects(10 ** 19), ScenarioError,
                        "prospects: must be <= 5000000"),
    "read_record(None)": (lambda: read_record(None), RecordError, "expected a file path, got NoneType"),
    "read_record('')": (lambda: read_record(""), RecordError, "the file name is empty"),
    "read_record(a FIFO)": (lambda: read_record(_fifo()), RecordError, "is a named pipe"),
    "parse_record({})": (lambda: __import__("sim.records", fromlist=["x"]).parse_record({}),
                         RecordError, "not a ccsim game record"),
    "record_from_bytes(NUL)": (lambda: __import__("sim.records", fromlist=["x"]).record_from_bytes(b"\0"),
                               RecordError, "not a complete JSON record"),
    "decode_column of junk": (lambda: __import__("sim.score_columns", fromlist=["x"]).decode_column(
        {"n": 1}), SimError, "a score column must have n, codes, table and data"),
    "verify a partial record": (_partial_record_verified, RecordError,
                                "an unfinished game (1 of 12 turns) cannot be verified"),
    "write a record onto /dev/null": (lambda: write_record(record_of(play_game(
        SCENARIO, get_strategy("do-nothing"), 1)), "/dev/null"), OutputPathError,
        "null: is a character device"),
    "books from an empty mapping": (lambda: TurnBooks.from_dict({}), SimError,
                                    "books: expected a mapping of"),
    "books from a list": (lambda: TurnBooks.from_dict([1]), SimError, "books: expected a mapping"),
    "a session on a negative seed": (lambda: PlayerSession.new(SCENARIO, -1), SimError,
                                     "seed must be a whole number >= 0"),
    "a session on a text seed": (lambda: PlayerSession.new(SCENARIO, "x"), SimError,
                                 "seed must be a whole number >= 0, got 'x'"),
    "resume a missing save": (lambda: PlayerSession.resume("/nonexistent/autosave.json"), AutosaveError,
                              "autosave.json: there is no saved game"),
    "resume a folder": (lambda: PlayerSession.resume("/tmp"), AutosaveError, "is a folder"),
    "fit nothing": (lambda: _analytics("bgnbd").fit([], [], []), DataError, "frequency is empty"),
    "fit text": (lambda: _analytics("bgnbd").fit(["a"], ["b"], ["c"]), DataError, "must be numeric"),
    "fit NaN": (lambda: _analytics("bgnbd").fit([1, 2], [1, math.nan], [3, 3]), DataError, "NaN"),
    "BG/BB over a billion opportunities": (lambda: _analytics("bgbb").log_likelihood(
        {"alpha": 1, "beta": 1, "gamma": 1, "delta": 1}, [1], [1], [10 ** 12]), DataError,
        "terms here, at most 500,000"),
    "sBG on a rising cohort": (lambda: _analytics("sbg").fit([10, 20]), DataError,
                               "survivors must not increase"),
    "params missing": (lambda: _analytics("pareto_nbd").p_alive({"r": 1}, 1, 1, 2), UnknownNameError,
                       "params lacks ['alpha', 's', 'beta']"),
    "params not a mapping": (lambda: _analytics("bgnbd").p_alive(3, 1, 1, 2), DataError,
                             "params: expected a mapping"),
    "a parameter as text": (lambda: _analytics("bgnbd").p_alive({**PARAMS, "r": "x"}, 1, 1, 2), DataError,
                            "params: r must be a number"),
    "DERT at a zero rate": (lambda: _analytics("pareto_nbd").dert(
        {"r": 1, "alpha": 1, "s": 1, "beta": 1}, 1, 1, 2, 0.0), DataError, "discount_rate must be > 0"),
    "DERL at a zero rate": (lambda: _analytics("sbg").discounted_expected_residual_lifetime(
        {"alpha": 1, "beta": 1}, 1, 0.0), DataError, "discount_rate must be > 0"),
    "twenty RFM bins": (lambda: _analytics("reports").quantile_scores([1.0, 2.0], bins=20), DataError,
                        "bins must be between 2 and 9"),
    "an unknown parameter's interval": (lambda: _analytics("bgnbd").fit(
        [1, 2, 0, 3, 1, 0, 4, 2, 1, 0], [5, 30, 0, 38, 12, 0, 39, 20, 30, 0], [40] * 10
    ).confidence_interval("zeta"), UnknownNameError, "unknown parameter 'zeta'"),
    "an unknown model's CSV": (lambda: __import__("sim.analytics.csv_input", fromlist=["x"]).load_fit_input(
        "data/cdnow_summary.csv", "rfm"), DataError, "unknown model 'rfm'"),
}


def _call(case: str) -> int:
    call, kind, fragment = CASES[case]
    try:
        call()
    except SimError as exc:
        print(f"{type(exc).__name__}|{isinstance(exc, kind)}|{exc}")
        return 2
    except BaseException as exc:  # noqa: BLE001 - the failure this test looks for
        print(f"NOT A SimError: {type(exc).__name__}: {exc}")
        return 1
    print("accepted")
    return 0


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_every_refusal_of_the_api_is_a_sim_error(case, monkeypatch, tmp_path):
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    monkeypatch.setenv("TMPDIR", str(tmp_path))         # where _fifo() makes its pipe
    kind, fragment = CASES[case][1], CASES[case][2]
    outcome = run_limited(_call, case, seconds=60)
    assert outcome.ended == "exit" and outcome.status == 2, outcome.describe()
    name, is_kind, message = outcome.out.rstrip("\n").split("|", 2)
    assert is_kind == "True", f"{case}: {name} is not a {kind.__name__}"
    assert fragment in message, message


def test_the_error_classes_keep_their_old_bases_too():
    from sim.analytics.fit_command import FitUsageError
    from sim.bots import BotError
    from sim.score_columns import ColumnError
    from sim.tournament import TournamentError

    for error in (ScenarioError, DecisionError, DataError, RecordError, AutosaveError, OutputPathError,
                  TournamentError, GameStateError, UnknownNameError, ColumnError, BotError,
                  FitUsageError):
        assert issubclass(error, SimError) and issubclass(error, ValueError), error
    assert issubclass(GameStateError, RuntimeError) and issubclass(UnknownNameError, KeyError)
    assert str(UnknownNameError("unknown strategy 'x'")) == "unknown strategy 'x'"


# ------------------------------------------------------------------ read-only observations (finding 4)

class Polite:
    """Serves the customers with positive observed profit; turns away the rest."""

    name = "polite"
    sees_truth = False

    def reset(self, public, seed):
        self.public = public

    def decide(self, observation, truth=None):
        acquisition = dict(observation.scenario.inherited.acquisition)
        tiers = (Tier("losers", {"field": "profit", "op": "<", "value": 0.0}, "disengage"),
                 Tier("best", {"top": 0.05, "by": "score"}, 3.0))
        score = observation.columns["profit_per_turn"] + 0.01 * observation.columns["recency"]
        return Decision(acquisition, tiers, {"score": np.array(score)})


def _writes(array: np.ndarray):
    """Every in-place write a strategy might try on one array."""
    yield lambda: array.__setitem__(Ellipsis, 0)
    yield lambda: array.__setitem__(array != array, 0)        # a boolean mask (an empty one too)
    yield lambda: array.__setitem__(slice(0, 1), 1)
    yield lambda: np.add(array, 1, out=array, casting="unsafe")
    yield lambda: array.__iadd__(1)
    yield lambda: array.__imul__(0)
    yield lambda: array.fill(0)
    yield lambda: array.sort()
    yield lambda: np.copyto(array, 0, casting="unsafe")
    yield lambda: np.put(array, [0], [1]) if array.size else array.__setitem__(Ellipsis, 1)
    yield lambda: np.clip(array, 0, 0, out=array, casting="unsafe")
    yield lambda: array.resize(0)


def _mapping_writes(mapping):
    key = next(iter(mapping), "x")
    yield lambda: mapping.__setitem__(key, np.zeros(1))
    yield lambda: mapping.__setitem__("new", 1)
    yield lambda: mapping.__delitem__(key)
    yield lambda: mapping.update({key: 0})
    yield lambda: mapping.pop(key)
    yield lambda: mapping.clear()
    yield lambda: mapping.setdefault("new", 1)
    yield lambda: mapping.__ior__({key: 0})


class Vandal(Polite):
    """The polite strategy, which first tries to write to everything it was handed."""

    name = "vandal"

    def __init__(self):
        self.tried = 0
        self.succeeded: list[str] = []

    def _try(self, what: str, write) -> None:
        self.tried += 1
        try:
            write()
        except (ValueError, TypeError):
            return
        self.succeeded.append(what)

    def decide(self, observation, truth=None):
        cols = observation.columns
        p = cols["profit"]
        self._try("p[p < 0] = 0", lambda: p.__setitem__(p < 0, 0))
        arrays = {f"columns[{k}]": v for k, v in cols.items()}
        arrays.update({f"tags[{k}]": v for k, v in observation.tags.items()})
        arrays.update({name: value for name, value in vars(observation).items()
                       if isinstance(value, np.ndarray)})
        for what, array in arrays.items():
            for i, write in enumerate(_writes(array)):
                self._try(f"{what} write {i}", write)
        mappings = {"columns": cols, "tags": observation.tags,
                    "books[-1].acquired_by_channel": observation.books[-1].acquired_by_channel,
                    "scenario.inherited.acquisition": observation.scenario.inherited.acquisition}
        for what, mapping in mappings.items():
            for i, write in enumerate(_mapping_writes(mapping)):
                self._try(f"{what} change {i}", write)
        return super().decide(observation, truth)


@pytest.mark.parametrize("name", ["coffee", "meal_kit"])
def test_a_strategy_writing_to_its_observation_changes_nothing(name, tmp_path):
    scenario = load_scenario(name).with_prospects(2000)
    polite = play_game(scenario, Polite(), 4)
    vandal_strategy = Vandal()
    vandal = play_game(scenario, vandal_strategy, 4)
    assert vandal_strategy.tried > 500
    assert vandal_strategy.succeeded == []
    assert vandal.value.firm_value == polite.value.firm_value
    assert [r.books for r in vandal.game.results] == [r.books for r in polite.game.results]
    assert vandal.decisions == polite.decisions
    path = write_record(record_of(vandal), tmp_path / "vandal.json")
    assert verify_record(read_record(path), references=False) == []
    assert load_scenario(name).with_prospects(2000).content_hash == scenario.content_hash


def test_the_issues_example_no_longer_changes_the_result():
    """``p = cols["profit"]; p[p < 0] = 0`` raised nothing and changed the game's value."""
    game = _started()
    cols = game.observation.columns
    with pytest.raises(ValueError, match="read-only"):
        cols["profit"][cols["profit"] < 0] = 0
    with pytest.raises(TypeError, match="read-only"):
        cols["profit"] = np.zeros(game.observation.n_customers)
