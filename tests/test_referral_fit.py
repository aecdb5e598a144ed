"""``ccsim fit --model referral_nbd``: the lab's referral NBD from a summary or a game's log.

The round trip: a referral game's exported transaction log, read back by
``ccsim fit``, gives the referral counts, exposures and fit the lab computes
from the observation (:mod:`sim.analytics.referral_nbd`).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli
from sim.analytics import referral_nbd
from sim.analytics.csv_input import load_fit_input
from sim.analytics.fitting import DataError
from sim.records import read_record, record_of, write_record
from sim.runner import play_game, replay_game
from sim.scenario import load_scenario
from sim.strategies import get_strategy

STUDIO = Path(__file__).parent / "data" / "referral_studio.yaml"


@pytest.fixture(scope="module")
def studio_log(tmp_path_factory):
    """(exported log, the replayed game's final observation, the window's end)."""
    folder = tmp_path_factory.mktemp("studio")
    scenario = load_scenario(STUDIO).with_prospects(20_000)
    played = play_game(scenario, get_strategy("customer-centric"), 3)
    record = write_record(record_of(played), folder / "studio.json")
    from sim.cli import main

    out = folder / "log.csv"
    assert main(["export", str(record), "--transactions", str(out)]) == 0
    loaded = read_record(record)
    observation = replay_game(loaded.scenario, loaded.seed, loaded.decisions).game.observation
    return out, observation, str(loaded.scenario.turns + loaded.scenario.warmup_turns)


def test_the_log_gives_the_labs_referrals_exposures_and_fit(studio_log, capsys):
    out, observation, end = studio_log
    data = load_fit_input(out, "referral_nbd", observation_end=end)
    assert data.kind == "transaction log"
    # The log lists customers in acquisition order, the observation's.
    assert data.ids.tolist() == [str(i) for i in observation.customer_id]
    lab_counts = referral_nbd.referral_counts(observation)
    lab_exposure = referral_nbd.exposure_from_observation(observation)
    assert lab_counts.sum() > 100
    np.testing.assert_array_equal(data.columns["referrals"], lab_counts)
    np.testing.assert_allclose(data.columns["exposure"], lab_exposure, rtol=0, atol=1e-9)
    # Members who cancelled stop referring: some exposures are cut short.
    assert np.sum(lab_exposure < observation.turn - 1 - observation.acquisition_turn) > 100

    code, printed, err = run_cli(capsys, "fit", out, "--model", "referral_nbd", "--json",
                                 "--observation-end", end)
    assert code == 0, err
    fitted = json.loads(printed)
    lab = referral_nbd.fit_observation(observation)
    for name in ("r", "alpha"):
        assert fitted[name] == pytest.approx(lab.params[name], rel=1e-6)
        assert fitted["standard_errors"][name] == pytest.approx(lab.standard_errors[name], rel=1e-4)


def test_predictions_are_the_posterior_mean_rate_times_the_horizon(studio_log, capsys, tmp_path):
    out, observation, end = studio_log
    predicted = tmp_path / "predicted.csv"
    code, _, err = run_cli(capsys, "fit", out, "--model", "referral_nbd", "--observation-end", end,
                           "--predict", predicted, "--horizon", "6")
    assert code == 0, err
    with predicted.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    lab = referral_nbd.fit_observation(observation)
    rate = referral_nbd.expected_rate(lab, referral_nbd.referral_counts(observation),
                                      referral_nbd.exposure_from_observation(observation))
    got = np.array([float(row["referral_rate"]) for row in rows])
    np.testing.assert_allclose(got, rate, rtol=1e-5)
    np.testing.assert_allclose([float(row["expected_referrals"]) for row in rows], 6 * got,
                               rtol=1e-12)


def test_a_summary_fits_and_refuses_what_the_model_cannot_take(tmp_path, capsys):
    rng = np.random.default_rng(4)
    exposure = rng.integers(0, 20, 3000)
    counts = rng.poisson(rng.gamma(1.5, 1 / 30, exposure.size) * exposure)
    path = tmp_path / "summary.csv"
    path.write_text("referrals,exposure\n" + "".join(f"{x},{t}\n" for x, t in zip(counts, exposure)))
    code, printed, err = run_cli(capsys, "fit", path, "--model", "referral_nbd", "--json")
    assert code == 0, err
    direct = referral_nbd.fit(counts, exposure)
    assert json.loads(printed)["r"] == pytest.approx(direct.params["r"], rel=1e-9)
    zero = tmp_path / "zero.csv"
    zero.write_text("referrals,exposure\n" + "0,3\n" * 12)
    with pytest.raises(DataError, match="no referrals to fit"):
        referral_nbd.fit(*load_fit_input(zero, "referral_nbd").columns.values())
    code, _, err = run_cli(capsys, "fit", zero, "--model", "referral_nbd")
    assert code == 2 and err == "error: zero.csv: no referrals to fit: nobody has brought a friend yet\n"
    code, _, err = run_cli(capsys, "fit", path, "--model", "referral_nbd", "--predict",
                           tmp_path / "p.csv", "--horizon", "10001")
    assert code == 2 and err == "error: --horizon must be at most 10,000 for referral_nbd, got 10001\n"


def _log(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "log.csv"
    path.write_text("customer_id,time,referred_by\n" + text)
    return path


def test_a_log_counts_each_customers_friends(tmp_path):
    # a refers b and c; c refers d; times end at 10, so exposure = T - 1.
    data = load_fit_input(_log(tmp_path, "a,0,\na,4,\nb,2,a\nc,3,a\nc,5,a\nd,6,c\nd,10,c\n"),
                          "referral_nbd")
    assert data.ids.tolist() == ["a", "b", "c", "d"]
    assert data.columns["referrals"].tolist() == [2, 0, 1, 0]
    assert data.columns["exposure"].tolist() == [9, 7, 6, 3]


@pytest.mark.parametrize("text, message", [
    ("a,0,\na,4,b\nb,2,\n", "line 3, column referred_by: referred_by 'b' differs from the same "
                            "customer's earlier rows (''); a customer has one referrer"),
    ("a,0,a\nb,2,\n", "line 2, column referred_by: customer 'a' is named as its own referrer"),
    ("a,0,\nb,2,zz\n", "line 3, column referred_by: referred_by 'zz' is not a customer id of "
                       "this log (column customer_id)"),
])
def test_a_log_with_impossible_referrers_is_refused_by_line(tmp_path, text, message):
    with pytest.raises(DataError) as refused:
        load_fit_input(_log(tmp_path, text), "referral_nbd")
    assert str(refused.value) == f"log.csv: {message}"
