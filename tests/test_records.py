"""Game records: every game replays as verified; every kind of tampering is caught and named."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from conftest import SCENARIOS, small, run_cli as cli
from sim.records import (SCHEMA_VERSION, RecordError, read_record, record_of, verify_record,
                         write_record)
from sim.runner import REFERENCES, play_game, score
from sim.strategies import get_strategy

PROSPECTS = 3000


def _record_file(tmp_path: Path, name: str = "coffee", strategy: str = "customer-centric",
                 seed: int = 5, references: bool = False) -> Path:
    scenario = small(name, PROSPECTS)
    if references:
        card = score(scenario, get_strategy(strategy), seed)
        extra = {"centricity_score": card.centricity_score,
                 "baselines": {n: v.firm_value for n, v in card.baselines.items()}}
        record = record_of(card.player, extra)
    else:
        record = record_of(play_game(scenario, get_strategy(strategy), seed))
    return write_record(record, tmp_path / f"{name}-{strategy}.json")


def _edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))




@pytest.mark.parametrize("strategy", REFERENCES)
def test_every_reference_game_replays_as_verified(scenario_name, strategy, tmp_path):
    path = _record_file(tmp_path, scenario_name, strategy)
    record = read_record(path)
    assert record.scenario == small(scenario_name, PROSPECTS)
    assert len(record.decisions) == record.scenario.turns
    assert verify_record(record) == []


def test_a_record_with_its_baselines_verifies_through_the_cli(tmp_path, capsys):
    path = _record_file(tmp_path, "meal_kit", references=True)
    data = json.loads(path.read_text())
    assert data["schema_version"] == SCHEMA_VERSION
    assert set(data["scores"]["baselines"]) == set(REFERENCES)
    code, out, err = cli(capsys, "replay", str(path))
    assert code == 0
    assert out.startswith("verified")


def test_run_writes_a_record_that_replays(tmp_path, capsys):
    path = tmp_path / "game.json"
    code, out, _ = cli(capsys, "run", "department_store", "--strategy", "oracle", "--seed", "4",
                       "--prospects", str(PROSPECTS), "--record", str(path), "--json")
    assert code == 0
    claimed = json.loads(out)
    data = json.loads(path.read_text())
    assert data["scores"]["firm_value"] == claimed["firm_value"]
    assert data["scores"]["centricity_score"] == claimed["centricity_score"]
    assert not list(tmp_path.glob(".*.tmp")), "the atomic write left its temporary file"
    code, out, _ = cli(capsys, "replay", str(path))
    assert (code, out.splitlines()[-1].split()[0]) == (0, "verified")


def test_an_edited_score_is_named(tmp_path, capsys):
    path = _record_file(tmp_path, references=True)
    _edit(path, lambda d: d["scores"].update(firm_value=d["scores"]["firm_value"] + 1e6))
    _edit(path, lambda d: d["scores"]["baselines"].update(oracle=1.0))
    code, out, _ = cli(capsys, "replay", str(path))
    assert code == 1
    lines = [line for line in out.splitlines() if line.startswith("differs:")]
    assert len(lines) == 2
    assert lines[0].startswith("differs: scores.baselines.oracle: claimed 1.0, recomputed ")
    assert lines[1].startswith("differs: scores.firm_value: claimed ")


def test_an_edited_decision_is_caught_at_its_turn(tmp_path, capsys):
    path = _record_file(tmp_path)

    def spend_more(data):
        acquisition = data["turns"][3]["decision"]["acquisition"]
        channel = next(iter(acquisition))
        acquisition[channel] = acquisition[channel] * 0.5

    _edit(path, spend_more)
    code, out, _ = cli(capsys, "replay", str(path))
    assert code == 1
    first = next(line for line in out.splitlines() if line.startswith("differs:"))
    assert first.startswith("differs: turn 4: ")


def test_a_decision_edited_over_the_budget_is_refused_by_turn(tmp_path):
    path = _record_file(tmp_path)

    def overspend(data):
        data["turns"][6]["decision"]["acquisition"] = {"coupon_app": 1e12}

    _edit(path, overspend)
    differences = verify_record(read_record(path))
    assert differences[-1].turn == 7 and differences[-1].field == "decision"
    assert "over the budget" in differences[-1].recomputed
    # Turns 1-6 replay exactly; turn 7 is where the game stops.
    assert [d.turn for d in differences] == [7]


def test_an_edited_scenario_is_named(tmp_path, capsys):
    path = _record_file(tmp_path)
    _edit(path, lambda d: d["scenario"]["content"].update(gross_margin=0.9))
    code, out, _ = cli(capsys, "replay", str(path))
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("differs: scenario.sha256: claimed ")
    # The richer margin shows in the books of every turn, too.
    assert any(line.startswith("differs: turn 1: gross_margin:") for line in lines)


def test_edited_books_are_named(tmp_path, capsys):
    path = _record_file(tmp_path)
    _edit(path, lambda d: d["turns"][2]["books"].update(buyers=d["turns"][2]["books"]["buyers"] + 1))
    code, out, _ = cli(capsys, "replay", str(path))
    assert code == 1
    assert [line for line in out.splitlines() if line.startswith("differs:")] == [
        f"differs: turn 3: buyers: claimed {json.loads(path.read_text())['turns'][2]['books']['buyers']}, "
        f"recomputed {json.loads(path.read_text())['turns'][2]['books']['buyers'] - 1}"]


def test_a_truncated_record_is_unreadable(tmp_path, capsys):
    path = _record_file(tmp_path)
    text = path.read_bytes()
    path.write_bytes(text[: len(text) // 2])
    code, out, err = cli(capsys, "replay", str(path))
    assert code == 2
    assert err.startswith(f"error: {path.name}: not a complete JSON record")


@pytest.mark.parametrize("version", [0, 2, "1", None])
def test_an_unknown_schema_version_is_refused(tmp_path, capsys, version):
    path = _record_file(tmp_path)
    _edit(path, lambda d: d.update(schema_version=version))
    code, out, err = cli(capsys, "replay", str(path))
    assert code == 2
    assert f"schema_version {version!r} is not one this version of ccsim reads" in err


@pytest.mark.parametrize("change, message", [
    (lambda d: d.pop("seed"), "seed: missing"),
    (lambda d: d.update(seed=-3), "seed: must be a whole number >= 0"),
    (lambda d: d.update(prospects=10), "prospects: 10 differs from the scenario's 3000"),
    (lambda d: d["turns"].pop(), "turns: 11 turns recorded, the scenario has 12"),
    (lambda d: d["turns"][0]["decision"].update(tiers="all"), "turns[0].decision.tiers: must be a list"),
    (lambda d: d["scenario"]["content"].pop("channels"), "scenario.content: channels: missing"),
    (lambda d: d["turns"][1]["decision"]["scores"]["predicted_clv"].update(n=5),
     "turns[1].decision.scores.predicted_clv: holds"),
    (lambda d: d["turns"][1]["books"].update(extra=1), "turns[1].books.extra: unknown entry"),
    (lambda d: d.update(format="pickle"), "not a ccsim game record"),
], ids=["no-seed", "negative-seed", "prospects", "missing-turn", "tiers", "scenario-field",
        "score-length", "books", "format"])
def test_malformed_entries_are_named(tmp_path, change, message):
    path = _record_file(tmp_path)
    _edit(path, change)
    with pytest.raises(RecordError) as err:
        read_record(path)
    assert str(err.value).startswith(path.name)
    assert message in str(err.value)


def test_reading_a_record_runs_nothing(tmp_path):
    """A record is JSON: a pickle payload or a Python expression is just refused."""
    import pickle

    marker = tmp_path / "ran"
    path = tmp_path / "evil.json"
    path.write_bytes(pickle.dumps(os.system))
    with pytest.raises(RecordError):
        read_record(path)
    path.write_text(f'__import__("pathlib").Path({str(marker)!r}).touch()')
    with pytest.raises(RecordError):
        read_record(path)
    assert not marker.exists()


def test_record_scores_are_compact_and_exact(tmp_path):
    """A customer-centric record stays far under 25 bytes per prospect (5 MB at 200k)."""
    scenario = small("coffee", 20_000)
    played = play_game(scenario, get_strategy("customer-centric"), 2)
    path = write_record(record_of(played), tmp_path / "c.json")
    assert path.stat().st_size < 25 * scenario.prospects
    replayed = read_record(path)
    assert any(d.scores for d in replayed.decisions)
    for mine, theirs in zip(played.decisions, replayed.decisions):
        assert mine == theirs


def test_replay_of_a_missing_file_is_unreadable(tmp_path, capsys):
    code, out, err = cli(capsys, "replay", str(tmp_path / "nothing.json"))
    assert code == 2
    assert err.startswith("error: nothing.json: no such file")


def test_records_are_strict_json(tmp_path):
    path = _record_file(tmp_path, "meal_kit", "do-nothing")
    json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in a record"))
    assert np.isfinite(json.loads(path.read_text())["scores"]["firm_value"])


assert SCENARIOS  # the parametrised tests above run over every shipped scenario


def test_references_in_worker_processes_give_the_same_scorecard():
    scenario = small("direct_seller", 2000)
    alone = score(scenario, get_strategy("customer-centric"), 3)
    pooled = score(scenario, get_strategy("customer-centric"), 3, workers=2)
    assert pooled.to_dict() == alone.to_dict()


def test_a_record_relabelled_as_a_reference_does_not_verify(tmp_path, capsys):
    # A customer-centric game claiming to be the oracle's, with the oracle's
    # score: the oracle is played again, so its baseline and the score differ.
    path = _record_file(tmp_path, references=True)
    _edit(path, lambda d: d.update(strategy="oracle"))
    _edit(path, lambda d: d["scores"]["baselines"].update(oracle=d["scores"]["firm_value"]))
    _edit(path, lambda d: d["scores"].update(centricity_score=100.0))
    code, out, _ = cli(capsys, "replay", str(path))
    assert code == 1
    assert "scores.baselines.oracle" in out
    assert "scores.centricity_score" in out


def test_a_record_naming_an_unknown_reference_differs(tmp_path, capsys):
    path = _record_file(tmp_path, references=True)
    _edit(path, lambda d: d["scores"]["baselines"].update(genius=1.0))
    code, out, _ = cli(capsys, "replay", str(path))
    assert code == 1
    assert "scores.baselines.genius: claimed 1.0, recomputed '(not a reference strategy)'" in out
