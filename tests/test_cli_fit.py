"""``ccsim fit``: the analytics lab's models fitted from CSV files.

Published fits (CDNOW, the sBG "regular" cohort, the BG/BB donation data)
come out of the command as they come out of the model modules; predictions
are the modules' own functions, row for row; bad input exits 2 with one
``error: file: ...`` line naming the line and column, never a traceback, and
never leaves a half-written ``--predict`` file behind.
"""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, run_cli as cli
from sim.analytics import bgbb, bgnbd, csv_input, fit_command, gamma_gamma, pareto_nbd, sbg
from test_analytics_models import BGBB_DONATIONS, DONATIONS, REGULAR

CDNOW = ROOT / "data" / "cdnow_summary.csv"
BGNBD_CDNOW = dict(r=0.243, alpha=4.414, a=0.793, b=2.426)




def fit_json(capsys, *argv) -> dict:
    code, out, err = cli(capsys, "fit", *argv, "--json")
    assert code == 0, err
    return json.loads(out)  # the whole of stdout is one JSON document


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def column(rows: list[dict[str, str]], name: str) -> np.ndarray:
    return np.array([float(row[name]) for row in rows])


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def three_sig(value: float) -> str:
    return f"{value:.3g}"


@pytest.fixture(scope="module")
def cdnow():
    table = np.loadtxt(CDNOW, delimiter=",", skiprows=1)
    return table[:, 0].astype(int), table[:, 1], table[:, 2], table[:, 3]


# ------------------------------------------------------------------ BG/NBD and Pareto/NBD on CDNOW

def test_bgnbd_on_cdnow_json_matches_the_paper(capsys):
    data = fit_json(capsys, CDNOW, "--model", "bgnbd")
    for name, published in BGNBD_CDNOW.items():
        assert three_sig(data[name]) == three_sig(published), name
    assert data["log_likelihood"] == pytest.approx(-9582.4, abs=0.1)
    assert data["model"] == "bgnbd" and data["n"] == 2357 and data["converged"] is True
    assert set(data["standard_errors"]) == set(BGNBD_CDNOW)
    assert all(se > 0 for se in data["standard_errors"].values())
    for name in BGNBD_CDNOW:
        low, high = data["confidence_intervals"][name]
        assert low < data[name] < high


def test_bgnbd_on_cdnow_prints_a_table(capsys):
    code, out, err = cli(capsys, "fit", CDNOW, "--model", "bgnbd")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith("BG/NBD fit to cdnow_summary.csv")
    header = lines.index(next(line for line in lines if line.startswith("parameter")))
    assert lines[header].split() == ["parameter", "estimate", "std.", "error", "95%", "interval"]
    rows = [line.split() for line in lines[header + 1:header + 5]]
    assert [row[0] for row in rows] == ["r", "alpha", "a", "b"]
    assert [float(row[1]) for row in rows] == pytest.approx([0.2426, 4.414, 0.7929, 2.426])
    assert rows[0][3].startswith("[") and rows[0][4].endswith("]")
    assert "log-likelihood  -9582.43" in out
    assert "customers       2,357" in out
    assert "converged       yes" in out


def test_pareto_nbd_on_cdnow_matches_the_module(capsys, cdnow):
    data = fit_json(capsys, CDNOW, "--model", "pareto_nbd")
    direct = pareto_nbd.fit(*cdnow[1:])
    for name, published in dict(r=0.553, alpha=10.58, s=0.606, beta=11.67).items():
        assert three_sig(data[name]) == three_sig(published), name
        assert three_sig(data[name]) == three_sig(direct.params[name]), name
    assert data["log_likelihood"] == pytest.approx(direct.log_likelihood, abs=1e-6)


def test_bgnbd_predict_writes_one_row_per_customer_in_input_order(tmp_path, capsys, cdnow):
    out = tmp_path / "cdnow_predictions.csv"
    code, text, err = cli(capsys, "fit", CDNOW, "--model", "bgnbd", "--predict", out,
                          "--horizon", "39")
    assert code == 0, err
    assert f"wrote 2,357 rows to {out}" in text
    rows = read_rows(out)
    assert list(rows[0]) == ["ID", "frequency", "recency", "T", "p_alive", "expected_purchases"]
    ids, x, t_x, T = cdnow
    assert [int(row["ID"]) for row in rows] == list(ids)
    fit = bgnbd.fit(x, t_x, T)
    np.testing.assert_allclose(column(rows, "p_alive"), bgnbd.p_alive(fit, x, t_x, T), rtol=1e-9)
    np.testing.assert_allclose(column(rows, "expected_purchases"),
                               bgnbd.conditional_expected_purchases(fit, 39.0, x, t_x, T),
                               rtol=1e-9)
    # Customer 1 (x=2, t_x=30.43, T=38.86) is the paper's worked example.
    assert float(rows[0]["p_alive"]) == pytest.approx(0.7266, abs=5e-4)
    assert float(rows[0]["expected_purchases"]) == pytest.approx(1.226, abs=5e-3)
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary file left


def test_pareto_nbd_predict_has_dert_only_with_a_discount_rate(tmp_path, capsys, cdnow):
    out = tmp_path / "out.csv"
    weekly = 1.15 ** (1 / 52) - 1
    data = fit_json(capsys, CDNOW, "--model", "pareto_nbd", "--predict", out, "--horizon", "52",
                    "--discount-rate", weekly)
    assert data["predictions"]["rows"] == 2357
    rows = read_rows(out)
    assert list(rows[0])[-3:] == ["p_alive", "expected_purchases", "dert"]
    _, x, t_x, T = cdnow
    fit = pareto_nbd.fit(x, t_x, T)
    np.testing.assert_allclose(column(rows, "dert"), pareto_nbd.dert(fit, x, t_x, T, weekly),
                               rtol=1e-6)
    np.testing.assert_allclose(column(rows, "p_alive"), pareto_nbd.p_alive(fit, x, t_x, T),
                               rtol=1e-6)
    code, _, err = cli(capsys, "fit", CDNOW, "--model", "pareto_nbd", "--predict", out,
                       "--horizon", "52")
    assert code == 0, err
    assert "dert" not in read_rows(out)[0]


def test_columns_match_in_any_case_and_order_and_extras_are_ignored(tmp_path, capsys, cdnow):
    ids, x, t_x, T = cdnow
    path = tmp_path / "shuffled.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["t", "Note", "RECENCY", "Frequency", "customer_ID"])
        for row in zip(T, ids, t_x, x.astype(int), ids):
            writer.writerow([repr(float(row[0])), f"n{row[1]}", repr(float(row[2])), row[3], row[4]])
    shuffled = fit_json(capsys, path, "--model", "bgnbd")
    original = fit_json(capsys, CDNOW, "--model", "bgnbd")
    for name in BGNBD_CDNOW:
        assert shuffled[name] == pytest.approx(original[name], rel=1e-9)
    out = tmp_path / "out.csv"
    assert cli(capsys, "fit", path, "--model", "bgnbd", "--predict", out, "--horizon", "1")[0] == 0
    assert list(read_rows(out)[0])[0] == "customer_ID"


# ------------------------------------------------------------------ sBG, BG/BB, Gamma-Gamma

def test_sbg_on_the_regular_cohort(tmp_path, capsys):
    path = write(tmp_path / "regular.csv",
                 "period,survivors\n" + "".join(f"{t},{n}\n" for t, n in enumerate(REGULAR)))
    data = fit_json(capsys, path, "--model", "sbg")
    assert three_sig(data["alpha"]) == "0.704" and three_sig(data["beta"]) == "1.18"
    assert f"{data['beta']:.3f}" == "1.182"
    assert data["n"] == 1000

    out = tmp_path / "projection.csv"
    code, _, err = cli(capsys, "fit", path, "--model", "sbg", "--predict", out, "--horizon", "5",
                       "--discount-rate", "0.1")
    assert code == 0, err
    rows = read_rows(out)
    assert list(rows[0]) == ["period", "survivors", "fitted_survivors", "retention_rate", "derl"]
    assert [int(row["period"]) for row in rows] == list(range(13))
    assert [row["survivors"] for row in rows] == [str(n) for n in REGULAR] + [""] * 5
    fit = sbg.fit(REGULAR)
    periods = np.arange(13)
    np.testing.assert_allclose(column(rows, "fitted_survivors"), 1000 * sbg.survival(fit, periods))
    assert rows[0]["retention_rate"] == ""
    np.testing.assert_allclose(column(rows[1:], "retention_rate"),
                               sbg.retention_rate(fit, periods[1:]))
    np.testing.assert_allclose(column(rows, "derl"),
                               sbg.discounted_expected_residual_lifetime(fit, periods + 1, 0.1))


def test_bgbb_on_the_published_donation_data(tmp_path, capsys):
    path = tmp_path / "donations.csv"
    path.write_text("frequency,recency,periods,weights\n"
                    + "".join(f"{x:g},{t_x:g},6,{w:g}\n" for x, t_x, w in DONATIONS))
    data = fit_json(capsys, path, "--model", "bgbb")
    for name, published in BGBB_DONATIONS.items():
        assert three_sig(data[name]) == three_sig(published), name
    assert data["log_likelihood"] == pytest.approx(-33225.6, abs=0.1)
    assert data["n"] == 11_104

    out = tmp_path / "out.csv"
    code, _, err = cli(capsys, "fit", path, "--model", "bgbb", "--predict", out, "--horizon", "5")
    assert code == 0, err
    rows = read_rows(out)
    assert len(rows) == len(DONATIONS)
    assert list(rows[0]) == ["frequency", "recency", "periods", "weights", "p_alive",
                             "expected_purchases"]
    x, t_x, weights = DONATIONS.T
    fit = bgbb.fit(x, t_x, 6, weights=weights)
    np.testing.assert_allclose(column(rows, "weights"), weights)
    np.testing.assert_allclose(column(rows, "p_alive"), bgbb.p_alive(fit, x, t_x, 6), rtol=1e-6)
    np.testing.assert_allclose(column(rows, "expected_purchases"),
                               bgbb.conditional_expected_purchases(fit, 5, x, t_x, 6), rtol=1e-6)


def spend_csv(path: Path, correlated: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic Gamma-Gamma summary with ids, some non-repeaters, written exactly."""
    rng = np.random.default_rng(42)
    x = rng.poisson(2.0, 400).astype(float)
    nu = rng.gamma(3.74, 1.0 / 15.44, x.size)
    zbar = np.where(x > 0, rng.gamma(6.25 * np.maximum(x, 1), 1.0 / nu) / np.maximum(x, 1), 0.0)
    if correlated:
        zbar = np.where(x > 0, 10.0 * x + rng.random(x.size), 0.0)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "frequency", "monetary_value"])
        writer.writerows([f"c{i}", int(a), repr(float(b))] for i, (a, b) in enumerate(zip(x, zbar)))
    return x, zbar


def test_gamma_gamma_on_a_synthetic_summary(tmp_path, capsys):
    path = tmp_path / "spend.csv"
    x, zbar = spend_csv(path)
    direct = gamma_gamma.fit(x, zbar)
    data = fit_json(capsys, path, "--model", "gamma_gamma")
    for name in ("p", "q", "gamma"):
        assert data[name] == pytest.approx(direct.params[name], rel=1e-9)
    assert data["n"] == int((x > 0).sum())
    assert data["spend_frequency_correlation"] == pytest.approx(
        gamma_gamma.spend_frequency_correlation(x, zbar))
    assert data["mean_spend"] == pytest.approx(gamma_gamma.mean_spend(direct))

    code, out, err = cli(capsys, "fit", path, "--model", "gamma_gamma")
    assert code == 0
    assert "spend-frequency correlation" in out and "mean spend" in out
    assert "repeat buyers" in out and "warning" not in out

    predictions = tmp_path / "spend_out.csv"
    code, _, err = cli(capsys, "fit", path, "--model", "gamma_gamma", "--predict", predictions)
    assert code == 0, err
    rows = read_rows(predictions)
    assert list(rows[0]) == ["id", "frequency", "monetary_value", "expected_spend"]
    assert [row["id"] for row in rows] == [f"c{i}" for i in range(x.size)]
    np.testing.assert_allclose(column(rows, "expected_spend"),
                               gamma_gamma.expected_spend(direct, x, zbar), rtol=1e-9)


def test_gamma_gamma_warns_when_spend_tracks_frequency(tmp_path, capsys):
    path = tmp_path / "spend.csv"
    x, zbar = spend_csv(path, correlated=True)
    code, out, err = cli(capsys, "fit", path, "--model", "gamma_gamma")
    assert code == 0
    warning = [line for line in out.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "correlate" in warning[0]
    code, out, err = cli(capsys, "fit", path, "--model", "gamma_gamma", "--json")
    assert json.loads(out)["spend_frequency_correlation"] > 0.3
    assert err.startswith("warning:")


# ------------------------------------------------------------------ transaction logs

# Times in weeks; ids neither sorted nor numeric-sorted, to check first-appearance order.
LOG = [("30", 0, 10.0), ("4", 1, 5.0), ("30", 2, 20.0), ("7", 1, 12.0), ("100", 3, 8.0),
       ("30", 5, 30.0), ("4", 4, 6.0), ("4", 4, 4.0), ("7", 6, 18.0), ("55", 2, 7.0)]
# Worked by hand, observation ending at week 8: the first purchase starts the clock;
# customer 4's two purchases at week 4 are one purchase of $10.
BY_HAND = {  # id: (frequency, recency, T, monetary_value)
    "30": (2, 5, 8, 25.0), "4": (1, 3, 7, 10.0), "7": (1, 5, 7, 18.0),
    "100": (0, 0, 5, 0.0), "55": (0, 0, 6, 0.0)}


def write_log(path: Path, dates: bool = False) -> Path:
    lines = ["Customer_ID,Time,Amount,channel"]
    for customer, week, amount in LOG:
        when = (np.datetime64("2024-01-01") + np.timedelta64(7 * week, "D")) if dates else week
        lines.append(f"{customer},{when},{amount},web")
    return write(path, "\n".join(lines) + "\n")


@pytest.mark.parametrize("dates", [False, True], ids=["weeks", "dates"])
def test_transaction_log_fits_and_predicts_from_its_summary(tmp_path, capsys, dates):
    path = write_log(tmp_path / "log.csv", dates)
    end = "2024-02-26" if dates else "8"  # 56 days after 2024-01-01
    out = tmp_path / "out.csv"
    data = fit_json(capsys, path, "--model", "bgnbd", "--observation-end", end,
                    "--predict", out, "--horizon", "4")
    assert data["input"] == "transaction log" and data["transactions"] == len(LOG)
    x, t_x, T, _ = (np.array(values, dtype=float) for values in zip(*BY_HAND.values()))
    fit = bgnbd.fit(x, t_x, T)
    for name in BGNBD_CDNOW:
        assert data[name] == pytest.approx(fit.params[name], rel=1e-9)
    rows = read_rows(out)
    assert [row["Customer_ID"] for row in rows] == list(BY_HAND)
    np.testing.assert_allclose(column(rows, "frequency"), x)
    np.testing.assert_allclose(column(rows, "recency"), t_x)
    np.testing.assert_allclose(column(rows, "T"), T)
    np.testing.assert_allclose(column(rows, "p_alive"), bgnbd.p_alive(fit, x, t_x, T))
    np.testing.assert_allclose(column(rows, "expected_purchases"),
                               bgnbd.conditional_expected_purchases(fit, 4.0, x, t_x, T))


def test_transaction_log_spend_and_time_units(tmp_path, capsys):
    path = write_log(tmp_path / "log.csv", dates=True)
    out = tmp_path / "spend.csv"
    code, _, err = cli(capsys, "fit", path, "--model", "gamma_gamma", "--predict", out)
    assert code == 0, err
    monetary = {row["Customer_ID"]: float(row["monetary_value"]) for row in read_rows(out)}
    assert monetary == {customer: row[3] for customer, row in BY_HAND.items()}
    # In days, and ending at the latest transaction (week 6) by default.
    out = tmp_path / "days.csv"
    code, _, err = cli(capsys, "fit", path, "--model", "bgnbd", "--time-unit", "days",
                       "--predict", out, "--horizon", "28")
    assert code == 0, err
    T = {row["Customer_ID"]: float(row["T"]) for row in read_rows(out)}
    assert T == {customer: 7 * (6 - (8 - row[2])) for customer, row in BY_HAND.items()}


# ------------------------------------------------------------------ errors

ERROR_CASES = [
    # (id, model, file text or None for no file, extra arguments, fragments of the message)
    ("missing file", "bgnbd", None, [], ["nowhere.csv: no such file"]),
    ("empty file", "bgnbd", "", [], ["input.csv: the file is empty"]),
    ("blank lines only", "bgnbd", "\n \n", [], ["the file is empty"]),
    ("header only", "bgnbd", "frequency,recency,T\n", [], ["no data rows"]),
    ("no header", "bgnbd", "2,30.43,38.86\n1,1.71,38.86\n", [], ["no header", "line 1"]),
    ("missing column", "bgnbd", "ID,frequency,T\n1,2,38\n", [],
     ["missing column recency", "bgnbd needs frequency, recency, T", "the file has ID, frequency, T"]),
    ("missing spend column", "gamma_gamma", "frequency,recency,T\n1,2,38\n", [],
     ["missing column monetary_value", "gamma_gamma needs frequency, monetary_value"]),
    ("non-numeric cell", "bgnbd", "frequency,recency,T\n2,30.4,38.9\n1,abc,38.9\n", [],
     ["input.csv: line 3, column recency: 'abc' is not a number"]),
    ("empty cell", "bgnbd", "frequency,Recency,T\n2,30.4,38.9\n\n1,,38.9\n", [],
     ["line 4, column Recency: missing value"]),
    ("short row", "bgnbd", "frequency,recency,T\n2,30.4\n", [], ["line 2, column T: missing value"]),
    ("NaN", "bgnbd", "frequency,recency,T\n2,nan,38.9\n", [],
     ["line 2, column recency", "not a plain decimal"]),
    ("negative", "pareto_nbd", "frequency,recency,T\n2,30.4,38.9\n-1,0,38.9\n", [],
     ["line 3, column frequency: -1 is negative"]),
    ("fractional frequency", "bgnbd", "frequency,recency,T\n1.5,30.4,38.9\n", [],
     ["line 2, column frequency: 1.5 is not a whole number"]),
    ("recency after T", "bgnbd", "frequency,recency,T\n2,30.4,38.9\n1,40,38.9\n", [],
     ["line 3, column recency: recency 40 exceeds T 38.9"]),
    ("all frequencies zero", "bgnbd", "frequency,recency,T\n0,0,38.9\n0,0,30\n", [],
     ["input.csv: frequency is zero for every customer"]),
    ("sbg periods skip", "sbg", "period,survivors\n0,1000\n1,631\n3,468\n", [],
     ["line 4, column period: expected 2"]),
    ("sbg survivors increase", "sbg", "period,survivors\n0,1000\n1,631\n2,700\n", [],
     ["line 4, column survivors: survivors increase from 631 to 700"]),
    ("bgbb frequency over recency", "bgbb", "frequency,recency,periods\n3,2,6\n", [],
     ["line 2, column frequency: frequency 3 exceeds recency 2"]),
    ("log without time", "bgnbd", "customer_id,when\na,1\n", [],
     ["missing column", "frequency, recency, T", "customer_id (or id), time"]),
    ("log without amount", "gamma_gamma", "customer_id,time\na,1\na,2\n", [],
     ["missing column amount"]),
    ("log bad date", "bgnbd", "id,time\na,2024-01-01\nb,2024-13-01\n", [],
     ["line 3, column time: '2024-13-01' is not a number or a date YYYY-MM-DD"]),
    ("log mixes numbers and dates", "bgnbd", "id,time\na,2024-01-01\nb,3\n", [],
     ["line 3, column time: '3' is not a date YYYY-MM-DD"]),
    ("log after observation end", "bgnbd", "id,time\na,1\na,5\nb,2\n", ["--observation-end", "4"],
     ["line 3, column time: 5 is after --observation-end 4"]),
    ("time unit for numbers", "bgnbd", "id,time\na,1\na,5\n", ["--time-unit", "days"],
     ["--time-unit applies to dates only"]),
    ("observation end for a summary", "bgnbd", "frequency,recency,T\n1,2,3\n",
     ["--observation-end", "4"], ["--observation-end applies to transaction logs only"]),
    ("predict without horizon", "bgnbd", "frequency,recency,T\n1,2,3\n", ["--predict", "OUT"],
     ["--predict needs --horizon"]),
    ("horizon without predict", "bgnbd", "frequency,recency,T\n1,2,3\n", ["--horizon", "3"],
     ["--horizon only applies with --predict"]),
    ("negative horizon", "bgnbd", "frequency,recency,T\n1,2,3\n",
     ["--predict", "OUT", "--horizon", "-3"], ["--horizon must be > 0"]),
    ("fractional bgbb horizon", "bgbb", "frequency,recency,periods\n1,2,3\n",
     ["--predict", "OUT", "--horizon", "2.5"], ["--horizon must be a whole number"]),
    ("discount rate for bgnbd", "bgnbd", "frequency,recency,T\n1,2,3\n",
     ["--predict", "OUT", "--horizon", "3", "--discount-rate", "0.01"],
     ["--discount-rate does not apply to bgnbd"]),
    ("zero discount rate", "pareto_nbd", "frequency,recency,T\n1,2,3\n",
     ["--predict", "OUT", "--horizon", "3", "--discount-rate", "0"], ["--discount-rate must be > 0"]),
    ("predict into a missing folder", "bgnbd", "frequency,recency,T\n1,2,3\n",
     ["--predict", "nowhere/out.csv", "--horizon", "3"], ["no such folder"]),
]


@pytest.mark.parametrize("case, model, text, extra, fragments", ERROR_CASES,
                         ids=[case[0] for case in ERROR_CASES])
def test_bad_input_exits_2_with_one_line(case, model, text, extra, fragments, tmp_path, capsys,
                                         monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / ("nowhere.csv" if text is None else "input.csv")
    if text is not None:
        path.write_text(text)
    extra = [str(tmp_path / "OUT.csv") if arg == "OUT" else arg for arg in extra]
    if "--predict" not in extra and "--horizon" not in extra and model != "gamma_gamma":
        extra += ["--predict", str(tmp_path / "OUT.csv"), "--horizon", "3"]
    code, out, err = cli(capsys, "fit", path, "--model", model, *extra)
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert not (tmp_path / "OUT.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ([] if text is None else ["input.csv"])


def test_an_unreadable_path_is_refused(tmp_path, capsys):
    code, out, err = cli(capsys, "fit", tmp_path, "--model", "bgnbd")
    assert code == 2 and err.startswith("error: ") and "is a folder, not a CSV file" in err


def test_an_unknown_model_is_refused_by_argparse(capsys):
    code, out, err = cli(capsys, "fit", CDNOW, "--model", "rfm")
    assert code == 2
    assert "invalid choice: 'rfm'" in err and "pareto_nbd" in err


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out.csv"
    out.write_text("old\n")

    def refuse(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fit_command.os, "replace", refuse)
    code, _, err = cli(capsys, "fit", CDNOW, "--model", "bgnbd", "--predict", out, "--horizon", "5")
    assert code == 2
    assert err.strip() == f"error: cannot write the predictions {out}: No space left on device"
    assert out.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_predict_refuses_to_overwrite_its_input(tmp_path, capsys):
    path = tmp_path / "cdnow.csv"
    path.write_bytes(CDNOW.read_bytes())
    code, _, err = cli(capsys, "fit", path, "--model", "bgnbd", "--predict", path, "--horizon", "5")
    assert code == 2 and "overwrite the input" in err
    assert path.read_bytes() == CDNOW.read_bytes()


def test_bad_file_via_python_m_sim(tmp_path):
    path = write(tmp_path / "bad.csv", "ID,frequency,recency,T\n1,2,30.43,38.86\n2,one,1.7,38.86\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "sim", "fit", str(path), "--model", "bgnbd"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == "error: bad.csv: line 3, column frequency: 'one' is not a number"


# ------------------------------------------------------------------ help

def test_help_documents_inputs_and_predictions(capsys):
    code, out, err = cli(capsys, "fit", "--help")
    assert code == 0
    for words in ("frequency, recency, T", "monetary_value", "period, survivors", "weights",
                  "customer_id", "YYYY-MM-DD", "weeks", "dert", "derl", "expected_spend",
                  "--discount-rate", "--horizon", "temporary file"):
        assert words in out, words


def test_the_command_knows_every_model_the_reader_does():
    assert set(fit_command.MODELS) == set(csv_input.MODELS) == set(csv_input.SUMMARY_COLUMNS)
    assert math.isclose(csv_input.TIME_UNITS["weeks"], 7.0)
