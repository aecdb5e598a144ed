"""The analytics benchmark's simulated data follow the models it benchmarks, and it runs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from sim.analytics import bgbb, bgnbd, gamma_gamma, pareto_nbd, sbg

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "analytics.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("analytics_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("model, expected", [
    ("bgnbd", bgnbd.expected_purchases), ("pareto_nbd", pareto_nbd.expected_purchases)])
def test_simulated_purchases_match_the_model(bench, model, expected):
    data = bench.dataset(model, 40_000, seed=3)
    x, T = data["frequency"], data["T"]
    predicted = expected(bench.TRUE[model], T)
    # Mean count against E[X(T)] averaged over the same ages, within 4 SE.
    assert abs(x.mean() - predicted.mean()) < 4 * x.std() / np.sqrt(x.size)
    assert np.all(data["recency"] <= T) and np.all(data["recency"][x == 0] == 0)


def test_simulated_spend_and_renewals_match_the_models(bench):
    spend = bench.dataset("gamma_gamma", 40_000, seed=3)
    fit = gamma_gamma.fit(spend["frequency"], spend["monetary_value"])
    for name, value in bench.TRUE["gamma_gamma"].items():
        low, high = fit.confidence_interval(name, 0.999)
        assert low < value < high, name
    survivors = bench.dataset("sbg", 40_000, seed=3)["survivors"]
    expected = 40_000 * sbg.survival(bench.TRUE["sbg"], np.arange(survivors.size))
    assert np.all(np.abs(survivors - expected) < 4 * np.sqrt(expected) + 1)
    bought = bench.dataset("bgbb", 40_000, seed=3)
    mean = bgbb.expected_purchases(bench.TRUE["bgbb"], bench.BGBB_OPPORTUNITIES)
    x = bought["frequency"]
    assert abs(x.mean() - mean) < 4 * x.std() / np.sqrt(x.size)


def test_benchmark_runs_and_reports_targets(bench, capsys, tmp_path):
    out = tmp_path / "out.json"
    assert bench.main(["--sizes", "2000", "--models", "sbg", "bgbb", "--repeats", "1",
                       "--lifetimes-python", "/nonexistent/python", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "lifetimes: not installed" in printed and "Targets" in printed
    rows = __import__("json").loads(out.read_text())["rows"]
    assert [row["model"] for row in rows] == ["sbg", "bgbb"]
    assert all(row["ours"]["converged"] for row in rows)
