"""``ccsim export RECORD --transactions FILE.csv``: the game's data out, and back in through ``ccsim fit``."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, run_cli, small
from sim.analytics import bgnbd, pareto_nbd
from sim.analytics.clv import predict_clv
from sim.analytics.csv_input import load_fit_input
from sim.analytics.transactions import summarise_observation
from sim.bots import load_bot
from sim.export import FIXED_COLUMNS, transaction_log, write_transaction_log
from sim.records import read_record, record_of, write_record
from sim.runner import play_game, replay_game
from sim.strategies import get_strategy

PROSPECTS = 2_000
#: Estimates from the file and from the lab's summary agree this closely: the
#: summaries differ only by round-off (times are shifted by the warm-up turns).
RTOL = 1e-6


def _record(tmp_path: Path, name: str, strategy=None, seed: int = 4) -> Path:
    played = play_game(small(name, PROSPECTS), strategy or get_strategy("customer-centric"), seed)
    return write_record(record_of(played), tmp_path / f"{name}.json")


def _final_observation(record_path: Path):
    """The replayed game's last observation and the window's end in the file's clock."""
    record = read_record(record_path)
    observation = replay_game(record.scenario, record.seed, record.decisions).game.observation
    return observation, str(record.scenario.turns + record.scenario.warmup_turns)


def _export(capsys, record: Path, out: Path) -> str:
    code, stdout, stderr = run_cli(capsys, "export", record, "--transactions", out)
    assert code == 0, stderr
    return stdout


def _fit_json(capsys, path: Path, model: str, end: str) -> dict:
    code, out, err = run_cli(capsys, "fit", path, "--model", model, "--json",
                             "--observation-end", end)
    assert code == 0, err
    return json.loads(out)


def test_the_round_trip_gives_the_labs_summary_and_fit(scenario_name, tmp_path, capsys):
    record = _record(tmp_path, scenario_name)
    out = tmp_path / "log.csv"
    printed = _export(capsys, record, out)
    observation, end = _final_observation(record)
    assert f"--observation-end {end}" in printed
    lab = summarise_observation(observation)
    for model in ("bgnbd", "gamma_gamma"):
        data = load_fit_input(out, model, observation_end=end)
        assert data.ids.tolist() == [str(i) for i in observation.customer_id]
        for column, values in data.columns.items():
            np.testing.assert_allclose(values, getattr(lab, column), rtol=0, atol=1e-9)
    # The lab's transaction model on every customer (it samples 600 at most by default).
    if observation.scenario.contractual:
        expected = pareto_nbd.fit(lab.frequency, lab.recency, lab.T).params
    else:
        fits = predict_clv(observation, max_fit_customers=observation.n_customers).fits
        expected = fits["pareto_nbd"].params
    got = _fit_json(capsys, out, "pareto_nbd", end)
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=RTOL), name


def test_bgnbd_and_gamma_gamma_from_the_file_match_the_lab(tmp_path, capsys):
    record = _record(tmp_path, "coffee")
    out = tmp_path / "coffee.csv"
    _export(capsys, record, out)
    observation, end = _final_observation(record)
    lab = summarise_observation(observation)
    spend = predict_clv(observation, max_fit_customers=observation.n_customers).fits["gamma_gamma"]
    got = _fit_json(capsys, out, "gamma_gamma", end)
    assert got["n"] == spend.n > 100
    for name, value in spend.params.items():
        assert got[name] == pytest.approx(value, rel=RTOL), name
    transactions = bgnbd.fit(lab.frequency, lab.recency, lab.T)
    got = _fit_json(capsys, out, "bgnbd", end)
    for name, value in transactions.params.items():
        assert got[name] == pytest.approx(value, rel=RTOL), name


def test_the_log_adds_up_to_the_game(tmp_path, capsys):
    record = _record(tmp_path, "department_store")
    out = tmp_path / "d.csv"
    _export(capsys, record, out)
    observation, _ = _final_observation(record)
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    tags = [t.name for t in observation.scenario.profile]
    assert list(rows[0]) == list(FIXED_COLUMNS) + tags
    assert len(rows) == int(observation.total_purchases.sum())
    ids = np.array([int(r["customer_id"]) for r in rows])
    amount = np.array([float(r["amount"]) for r in rows])
    cost = np.array([float(r["cost_to_serve"]) for r in rows])
    turn = np.array([int(r["turn"]) for r in rows])
    time = np.array([float(r["time"]) for r in rows])
    warmup = 1 - int(observation.turn_columns[0])
    # Every purchase lies in its turn, and customers' purchases are in time order.
    assert np.all((time >= turn - 1 + warmup) & (time < turn + warmup))
    same = ids[1:] == ids[:-1]
    assert np.all(time[1:][same] > time[:-1][same])
    row_of = {int(c): i for i, c in enumerate(observation.customer_id)}
    rows_of = np.array([row_of[c] for c in ids])
    np.testing.assert_array_equal(np.bincount(rows_of, minlength=observation.n_customers),
                                  observation.total_purchases)
    np.testing.assert_allclose(np.bincount(rows_of, weights=amount, minlength=observation.n_customers),
                               observation.total_spend, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(np.bincount(rows_of, weights=cost, minlength=observation.n_customers),
                               observation.total_cost_to_serve, rtol=1e-12, atol=1e-9)
    first = np.concatenate([[True], ~same])
    np.testing.assert_allclose(amount[first], observation.first_spend[rows_of[first]], rtol=1e-15)
    np.testing.assert_array_equal(turn[first], observation.acquisition_turn[rows_of[first]])
    channels = observation.scenario.channel_names
    assert [r["channel"] for r in rows[:50]] == [channels[observation.channel[i]]
                                                 for i in rows_of[:50]]
    for tag in observation.scenario.profile:
        assert [r[tag.name] for r in rows[:50]] == [tag.values[observation.tags[tag.name][i]]
                                                   for i in rows_of[:50]]


def test_a_contractual_log_names_the_cancellations(tmp_path, capsys):
    record = _record(tmp_path, "meal_kit")
    out = tmp_path / "m.csv"
    _export(capsys, record, out)
    observation, _ = _final_observation(record)
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[-1] == "cancelled_after_turn"
    cancelled = {r["customer_id"]: r["cancelled_after_turn"] for r in rows}
    active = observation.active.astype(bool)
    assert sum(1 for v in cancelled.values() if v == "") == int(active.sum()) > 0
    assert sum(1 for v in cancelled.values() if v != "") == int((~active).sum()) > 0


def test_a_bot_record_exports(tmp_path, capsys):
    bot = load_bot(ROOT / "examples" / "bots" / "rfm_bot.py")
    record = _record(tmp_path, "coffee", bot, seed=7)
    out = tmp_path / "bot.csv"
    _export(capsys, record, out)
    observation, _ = _final_observation(record)
    log = transaction_log(observation)
    assert len(log) == int(observation.total_purchases.sum())
    assert sum(1 for _ in open(out)) == len(log) + 1


def test_the_log_is_the_vectorised_layout(tmp_path, capsys):
    """Times: first at the turn's start, latest at its exact time, the others evenly between."""
    played = play_game(small("coffee", PROSPECTS), get_strategy("customer-centric"), 4)
    observation = played.game.observation
    # A game in memory (the debrief's) writes the same file as its record's export.
    record = write_record(record_of(played), tmp_path / "game.json")
    _export(capsys, record, tmp_path / "from_record.csv")
    written = write_transaction_log(observation, tmp_path / "from_game.csv")
    assert (tmp_path / "from_game.csv").read_bytes() == (tmp_path / "from_record.csv").read_bytes()
    assert written.rows == int(observation.total_purchases.sum())
    log = transaction_log(observation)
    warmup = 1 - int(observation.turn_columns[0])
    starts = np.flatnonzero(np.concatenate([[True], log.row[1:] != log.row[:-1]]))
    ends = np.concatenate([starts[1:], [len(log)]]) - 1
    rows = log.row[starts]
    np.testing.assert_array_equal(rows, np.arange(observation.n_customers))
    np.testing.assert_array_equal(log.time[starts], observation.acquisition_turn - 1.0 + warmup)
    np.testing.assert_allclose(log.time[ends], observation.last_purchase_time + warmup,
                               rtol=0, atol=1e-12)
    assert log.observation_end == observation.scenario.turns + warmup


# --- refusals: one line, exit 2, nothing written ---------------------------------------

@pytest.fixture(scope="module")
def coffee_record(tmp_path_factory) -> Path:
    return _record(tmp_path_factory.mktemp("rec"), "coffee")


def _refused(capsys, *argv) -> str:
    code, out, err = run_cli(capsys, *argv)
    assert code == 2, (out, err)
    *progress, last = err.splitlines()
    assert last.startswith("error: ") and all(line.endswith("...") for line in progress), err
    return last


def test_an_output_folder_is_refused_before_the_record_is_read(tmp_path, capsys):
    err = _refused(capsys, "export", tmp_path / "missing.json", "--transactions", tmp_path)
    assert "--transactions" in err and "folder" in err


def test_a_missing_parent_folder_is_refused(coffee_record, tmp_path, capsys):
    err = _refused(capsys, "export", coffee_record, "--transactions", tmp_path / "no" / "x.csv")
    assert "--transactions" in err


def test_writing_over_the_record_is_refused(coffee_record, capsys):
    before = coffee_record.read_bytes()
    err = _refused(capsys, "export", coffee_record, "--transactions", coffee_record)
    assert "overwrite the input" in err
    assert coffee_record.read_bytes() == before


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs file permissions")
def test_a_read_only_output_is_refused_and_kept(coffee_record, tmp_path, capsys):
    out = tmp_path / "old.csv"
    out.write_text("kept\n")
    out.chmod(0o444)
    _refused(capsys, "export", coffee_record, "--transactions", out)
    assert out.read_text() == "kept\n"


def test_a_missing_or_broken_record_is_refused(tmp_path, capsys):
    err = _refused(capsys, "export", tmp_path / "nope.json", "--transactions", tmp_path / "x.csv")
    assert "nope.json" in err
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    _refused(capsys, "export", bad, "--transactions", tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()


def test_a_record_whose_books_were_edited_is_refused(coffee_record, tmp_path, capsys):
    data = json.loads(coffee_record.read_text())
    data["turns"][2]["books"]["buyers"] += 1
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(data))
    out = tmp_path / "x.csv"
    err = _refused(capsys, "export", edited, "--transactions", out)
    assert "does not replay" in err and "turn 3" in err and "buyers" in err
    assert not out.exists()
