"""Hostile CSV files for ``ccsim fit`` (issue 21 findings 5 and 8): bounded, never a hang.

Each file below is fitted in a forked child under a memory and a time limit
(``tests/limited.py``) and must be refused with one line naming the file and,
where one cell is at fault, its line and column.  Then BG/BB: ``periods`` is
bounded by the terms its likelihood sums, the likelihood is computed without
a customers × opportunities grid, and it equals the paper's sum term by term.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from scipy.special import betaln

import sim.cli  # noqa: F401 - imported once here, so each forked case starts at once
from limited import run_cli_limited
from sim.analytics import bgbb
from sim.analytics.csv_input import MAX_CSV_BYTES, MAX_CSV_CELLS, MAX_ID_CHARS
from sim.errors import DataError

ROWS = "".join(f"{x},{t},40\n" for x, t in [(1, 5), (2, 30), (0, 0), (3, 38), (1, 12), (0, 0),
                                             (4, 39), (2, 20), (1, 30), (0, 0)])
SUMMARY = "frequency,recency,T\n" + ROWS
BGBB = "frequency,recency,periods\n" + "".join(
    f"{x},{t},6\n" for x, t in [(1, 1), (2, 3), (0, 0), (3, 5), (1, 2), (0, 0), (4, 6), (2, 6),
                                (1, 4), (0, 0), (5, 6)])


def _bgbb_rows(periods: str) -> str:
    return f"frequency,recency,periods\n1,1,{periods}\n2,3,{periods}\n0,0,{periods}\n1,1,5\n"


#: case -> (model, file content (text or bytes), extra arguments, fragment after "error: input.csv: ")
CASES = {
    "bgbb periods 1e9": ("bgbb", _bgbb_rows("1000000000"), [],
                         "periods: the BG/BB likelihood sums over every opportunity"),
    "bgbb periods 1e8": ("bgbb", _bgbb_rows("100000000"), [], "300,000,000 terms here, at most 500,000"),
    "bgbb periods 1e6": ("bgbb", _bgbb_rows("1000000"), [], "3,000,000 terms here"),
    "bgbb periods 1e6 predicting": ("bgbb", _bgbb_rows("1000000"), ["--predict", "OUT", "--horizon", "5"],
                                    "3,000,000 terms here"),
    "bgbb log with a time of 1e9": ("bgbb", "customer_id,time\na,0\na,1\nb,0\nb,1000000000\nc,0\n", [],
                                    "terms here, at most 500,000"),
    "more cells than the cap": ("bgnbd", "frequency,recency,T\n" + "1,1,2\n" * (MAX_CSV_CELLS // 3 + 5),
                                [], f"cells; at most {MAX_CSV_CELLS:,}"),
    "a line of commas": ("bgnbd", "frequency,recency,T\n" + "," * (MAX_CSV_CELLS + 1) + "\n", [],
                         f"cells; at most {MAX_CSV_CELLS:,}"),
    "carriage returns only": ("bgnbd", "frequency,recency,T\r" + "1,1,2\r" * (MAX_CSV_CELLS // 3 + 5),
                              [], "cells; at most"),
    "an id of 10,000 characters": ("bgnbd", "id,frequency,recency,T\n" + "x" * 10_000 + ",1,2,40\n"
                                   + "".join(f"{i},{r}" for i, r in enumerate(ROWS.splitlines(True))),
                                   [], f"line 2, column id: a customer id of 10,000 characters; at "
                                       f"most {MAX_ID_CHARS}"),
    "a log id of 10,000 characters": ("bgnbd", "customer_id,time\n" + "y" * 10_000 + ",0\na,1\nb,2\n",
                                      [], "line 2, column customer_id: a customer id of 10,000"),
    "a cell over csv's field limit": ("bgnbd", "frequency,recency,T\n" + "1" * 200_000 + ",1,2\n", [],
                                      "not a valid CSV file"),
    "latin-1 bytes": ("bgnbd", "frequency,recency,T\n1,1,2\n\u00e9,1,2\n".encode("latin-1"), [],
                      "not a text CSV file"),
    "UTF-16": ("bgnbd", SUMMARY.encode("utf-16"), [], "not a text CSV file"),
    "NUL bytes": ("bgnbd", b"frequency,recency,T\n1,1,\x002\n", [],
                  "line 2, column T: '\\x002' is not a number"),
    "empty": ("bgnbd", "", [], "the file is empty"),
    "only blank lines": ("bgnbd", "\n\n  \n\n", [], "the file is empty"),
    "header only": ("bgnbd", "frequency,recency,T\n", [], "no data rows"),
    "numbers as the header": ("bgnbd", "1,2,3\n1,2,3\n", [], "no header"),
    "a column twice": ("bgnbd", "frequency,recency,T,T\n1,1,2,2\n", [], "column 'T' appears 2 times"),
    "negative recency": ("bgnbd", "frequency,recency,T\n1,-1,2\n" + ROWS, [],
                         "line 2, column recency: -1 is negative"),
    "1e999": ("bgnbd", "frequency,recency,T\n1,1,1e999\n" + ROWS, [],
              "line 2, column T: 1e999 is not a finite number"),
    "hex": ("bgnbd", "frequency,recency,T\n0x10,1,2\n" + ROWS, [], "line 2, column frequency: '0x10'"),
    "full-width digit": ("bgnbd", "frequency,recency,T\n\uff11,1,2\n" + ROWS, [],
                         "line 2, column frequency"),
    "a date for a number": ("pareto_nbd", "frequency,recency,T\n1,2024-01-01,2\n" + ROWS, [],
                            "line 2, column recency"),
    "recency past T": ("bgnbd", "frequency,recency,T\n1,50,40\n" + ROWS, [], "recency 50 exceeds T 40"),
    "fractional frequency": ("bgnbd", "frequency,recency,T\n1.5,1,2\n" + ROWS, [],
                             "line 2, column frequency: 1.5 is not a whole number"),
    "bgbb frequency past recency": ("bgbb", "frequency,recency,periods\n5,3,6\n" + BGBB[26:], [],
                                    "frequency 5 exceeds recency 3"),
    "bgbb fractional periods": ("bgbb", "frequency,recency,periods\n1,1,6.5\n" + BGBB[26:], [],
                                "6.5 is not a whole number"),
    "sbg rising": ("sbg", "period,survivors\n0,100\n1,120\n", [], "survivors increase"),
    "sbg periods out of order": ("sbg", "period,survivors\n1,100\n0,90\n", [], "expected 0"),
    "weights 1e12": ("bgnbd", "frequency,recency,T,weights\n1,2,40,1e12\n", [], "column weights"),
    "weights summing past 1e7": ("gamma_gamma", "frequency,monetary_value,weights\n"
                                 + "2,10,1000000\n" * 11, [], "weights add up to"),
    "weights zero": ("bgnbd", "frequency,recency,T,weights\n1,2,40,0\n", [], "weights sum to zero"),
    "a log with mixed dates and numbers": ("bgnbd", "customer_id,time\na,2024-01-01\na,3\n", [],
                                           "line 3, column time: '3' is not a date"),
    "a log with an impossible date": ("bgnbd", "customer_id,time\na,2024-02-30\na,2024-03-01\n", [],
                                      "is not a number or a date"),
    "observation end before the data": ("bgnbd", "customer_id,time\na,0\na,5\nb,1\nb,2\nc,3\n",
                                        ["--observation-end", "1"], "is after --observation-end 1"),
    "observation end 1e999": ("bgnbd", "customer_id,time\na,0\na,5\nb,1\n",
                              ["--observation-end", "1e999"], "--observation-end must be at most"),
    "time unit for numbers": ("bgnbd", "customer_id,time\na,0\na,5\nb,1\n", ["--time-unit", "days"],
                              "--time-unit applies to dates only"),
    "spend log without amounts": ("gamma_gamma", "customer_id,time\na,0\na,5\n", [],
                                  "missing column amount"),
    "a summary missing a column": ("pareto_nbd", "frequency,recency\n1,2\n", [],
                                   "missing column T"),
    "referrals fractional": ("referral_nbd", "referrals,exposure\n1,5\n0.5,3\n", [],
                             "line 3, column referrals: 0.5 is not a whole number"),
    "referrals negative exposure": ("referral_nbd", "referrals,exposure\n1,5\n0,-3\n", [],
                                    "line 3, column exposure: -3 is negative"),
    "referrals exposure 1e999": ("referral_nbd", "referrals,exposure\n1,1e999\n0,3\n", [],
                                 "line 2, column exposure: 1e999 is not a finite number"),
    "referrals without exposure": ("referral_nbd", "referrals,exposure\n1,5\n2,0\n0,3\n", [],
                                   "line 3, column referrals: 2 referrals with exposure 0"),
    "referrals all zero": ("referral_nbd", "referrals,exposure\n0,5\n0,3\n0,7\n", [],
                           "no referrals to fit"),
    "referrals weights fractional": ("referral_nbd", "referrals,exposure,weights\n1,5,2.5\n0,3,1\n",
                                     [], "line 2, column weights: 2.5 is not a whole number"),
    "referrals log without referred_by": ("referral_nbd", "customer_id,time\na,0\nb,2\n", [],
                                          "missing column referred_by"),
    "referrals log naming a stranger": ("referral_nbd", "customer_id,time,referred_by\na,0,\nb,2,q\n",
                                        [], "line 3, column referred_by: referred_by 'q' is not"),
    "referrals log naming itself": ("referral_nbd", "customer_id,time,referred_by\na,0,a\nb,2,\n",
                                    [], "line 2, column referred_by: customer 'a' is named as its own"),
    "referrals log with a fractional turn": ("referral_nbd", "customer_id,time,turn,cancelled_after_turn,"
                                             "referred_by\na,0,1,,\nb,2,2.5,,a\n", [],
                                             "line 3, column turn: 2.5 is not a whole turn number"),
    "referrals log with a text cancellation": ("referral_nbd", "customer_id,time,turn,"
                                               "cancelled_after_turn,referred_by\na,0,1,soon,\n"
                                               "b,2,2,,a\n", [],
                                               "line 2, column cancelled_after_turn: 'soon' is not"),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_a_hostile_csv_is_refused_in_one_line(case, tmp_path):
    model, content, extra, fragment = CASES[case]
    path = tmp_path / "input.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    out = tmp_path / "out.csv"
    outcome = run_cli_limited("fit", path, "--model", model,
                              *[out if arg == "OUT" else arg for arg in extra], seconds=60)
    assert outcome.ended == "exit" and outcome.status == 2, outcome.describe()
    assert outcome.out == "" and outcome.err.count("\n") == 1, outcome.describe()
    assert outcome.err.startswith("error: input.csv: ") and fragment in outcome.err, outcome.describe()
    assert not out.exists()


def _sparse(folder: Path) -> Path:
    path = folder / "input.csv"
    with open(path, "wb") as handle:
        handle.truncate(MAX_CSV_BYTES + 1)
    return path


def _fifo(folder: Path) -> Path:
    os.mkfifo(folder / "input.csv")
    return folder / "input.csv"


FILES = {
    "a named pipe": (_fifo, "input.csv: is a named pipe (FIFO), not a CSV file"),
    "/dev/zero": (lambda folder: Path("/dev/zero"), "zero: is a character device, not a CSV file"),
    "/dev/urandom": (lambda folder: Path("/dev/urandom"), "urandom: is a character device"),
    "a folder": (lambda folder: folder, "is a folder, not a CSV file"),
    "over the byte cap": (_sparse, f"is larger than a CSV file can be (at most {MAX_CSV_BYTES:,} bytes)"),
    "missing": (lambda folder: folder / "input.csv", "input.csv: no such file"),
}


@pytest.mark.parametrize("case", list(FILES), ids=list(FILES))
def test_a_csv_that_is_not_a_regular_file_is_refused_at_once(case, tmp_path):
    make, fragment = FILES[case]
    outcome = run_cli_limited("fit", make(tmp_path), "--model", "bgnbd", seconds=20)
    assert outcome.status == 2 and fragment in outcome.err, outcome.describe()


# ------------------------------------------------------------------ BG/BB without a grid

def _paper_sum(params: dict, x: float, t_x: float, n: float) -> float:
    """FHS 2010 eq. 5 for one customer, term by term in plain Python."""
    a, b, g, d = (params[k] for k in ("alpha", "beta", "gamma", "delta"))
    total = np.exp(betaln(a + x, b + n - x) - betaln(a, b) + betaln(g, d + n) - betaln(g, d))
    for i in range(int(n - t_x)):
        total += np.exp(betaln(a + x, b + t_x - x + i) - betaln(a, b)
                        + betaln(g + 1, d + t_x + i) - betaln(g, d))
    return float(np.log(total))


def test_the_likelihood_without_a_grid_is_the_papers_sum():
    rng = np.random.default_rng(4)
    n = rng.integers(0, 40, 200).astype(float)
    t_x = np.floor(rng.random(200) * (n + 1))
    x = np.minimum(np.floor(rng.random(200) * (t_x + 1)), t_x)
    x[t_x == 0] = 0
    t_x[x == 0] = 0
    params = {"alpha": 1.2, "beta": 0.75, "gamma": 0.66, "delta": 2.78}
    got = bgbb.log_likelihood_terms(params, x, t_x, n)
    want = [_paper_sum(params, *row) for row in zip(x, t_x, n)]
    np.testing.assert_allclose(got, want, rtol=1e-10)
    assert bgbb.log_likelihood_terms(params, 2.0, 3.0, 6.0).shape == ()


def test_the_likelihood_size_counts_each_distinct_history_once():
    x, t_x, n = np.array([1, 1, 2, 0]), np.array([1, 1, 3, 0]), np.array([6, 6, 6, 6])
    assert bgbb.likelihood_size(x, t_x, n) == (6 - 1) + (6 - 3) + 6


def test_too_many_terms_is_a_data_error_before_anything_is_allocated():
    with pytest.raises(DataError, match=r"periods: .* 3,000,000,000 terms here, at most 500,000 \(the "
                                        r"widest row has periods 1e\+09 and recency 0\)"):
        bgbb.fit([1, 2, 0, 1], [1, 3, 0, 1], [1e9, 1e9, 1e9, 5])
    with pytest.raises(DataError, match="terms here"):
        bgbb.p_alive({"alpha": 1, "beta": 1, "gamma": 1, "delta": 1}, [1], [1], [10 ** 12])


def test_a_long_but_legal_history_fits(tmp_path, capsys):
    """A few hundred opportunities (daily for most of a year) is within the cap and fits."""
    rng = np.random.default_rng(2)
    n = 300
    t_x = rng.integers(0, n + 1, 400)
    x = np.minimum(rng.integers(1, 30, 400), t_x)
    t_x[x == 0] = 0
    lines = "".join(f"{a},{b},{n}\n" for a, b in zip(x, t_x))
    path = tmp_path / "daily.csv"
    path.write_text("frequency,recency,periods\n" + lines)
    assert bgbb.likelihood_size(x, t_x, np.full(400, n)) <= bgbb.MAX_LIKELIHOOD_TERMS
    outcome = run_cli_limited("fit", path, "--model", "bgbb", "--json")
    assert outcome.status in (0, 1) and '"alpha"' in outcome.out, outcome.describe()
