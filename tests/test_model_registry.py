"""The lab's model registry: adding a model is adding one spec, and nothing else names one.

A toy model (Poisson purchases at one rate for everyone, rate = total
repeat purchases / total time) is registered by a fixture that takes it out
again; with no other change ``ccsim fit --model toy`` fits it (summary or
transaction log, text or JSON, with predictions), the CSV reader checks its
columns, ``--help`` lists it and the lab screen names it.  An AST scan shows
that no module outside the registry compares a model's name with a string.
"""

from __future__ import annotations

import ast
import csv
import json
import math
from pathlib import Path

import numpy as np
import pygame
import pytest

from conftest import ROOT, run_cli as cli
from sim.analytics import csv_input, fit_command, registry, reports
from sim.analytics.csv_input import load_fit_input
from sim.analytics.fitting import DataError, FitResult
from sim.analytics.lab_models import BUILT_IN
from sim.analytics.model_spec import Horizon, ModelSpec, customer_predictions

BUILT_IN_NAMES = ("bgnbd", "pareto_nbd", "gamma_gamma", "bgbb", "sbg", "retention",
                  "referral_nbd")
CSV_NAMES = ("bgnbd", "pareto_nbd", "gamma_gamma", "bgbb", "sbg", "referral_nbd")


def _fit_toy(data) -> FitResult:
    """Rate = sum(x) / sum(T), weighted; SE from the Poisson information sum(T)/rate.

    x is the spec's first column (purchases, or referrals for the count toy).
    """
    c = data.columns
    counts = c[registry.get(data.model).columns[0]]
    weights = c.get("weights", np.ones(counts.size))
    purchases, exposure = float(weights @ counts), float(weights @ c["T"])
    rate = purchases / exposure
    log_likelihood = purchases * math.log(rate) - rate * exposure
    return FitResult({"rate": rate}, {"rate": math.sqrt(rate / exposure)}, log_likelihood,
                     int(weights.sum()), True)


def _predict_toy(data, fit, horizon, discount_rate):
    rate = fit.params["rate"]
    return customer_predictions(data, {"expected_purchases":
                                       np.full(data.columns["T"].size, rate * horizon)})


def _check_toy(table, columns):
    table.first_bad(columns["T"] <= 0, "T", lambda row: "must be > 0 (time observed)")


TOY = ModelSpec(
    name="toy", label="Toy Poisson", module=__name__, columns=("frequency", "T"),
    check_rows=_check_toy, from_log={"frequency": "frequency", "T": "T"},
    horizon=Horizon(limit=52), fit=_fit_toy, predict=_predict_toy,
    help_input=("frequency, T   (one purchase rate for everyone)",),
    help_predict=("expected_purchases (rate x --horizon)",), game="shops")


@pytest.fixture
def toy():
    """The toy model, registered for one test and taken out again whatever happens."""
    registry.register(TOY)
    try:
        yield TOY
    finally:
        registry.unregister(TOY.name)
    assert registry.names() == BUILT_IN_NAMES


#: Shaped like a referral count model: its own count column, summaries only.
REFERRALS = ModelSpec(name="toy_referrals", label="Toy referrals", columns=("referrals", "T"),
                      whole_columns=frozenset({"referrals"}), fit=_fit_toy, predict=_predict_toy,
                      help_input=("referrals, T",), help_predict=("expected_purchases",))


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


SUMMARY = "customer_id,frequency,T\na,2,10\nb,0,5\nc,4,20\nd,1,5\n" + "".join(
    f"x{i},{i % 3},{10 + i}\n" for i in range(10))


def _expected_rate() -> float:
    x = [2, 0, 4, 1] + [i % 3 for i in range(10)]
    t = [10, 5, 20, 5] + [10 + i for i in range(10)]
    return sum(x) / sum(t)


# ------------------------------------------------------------------ the registry itself

def test_the_built_in_models_in_order_and_the_csv_ones_everywhere():
    assert registry.names() == BUILT_IN_NAMES
    assert registry.csv_names() == CSV_NAMES == fit_command.MODELS == csv_input.MODELS
    assert csv_input.SUMMARY_COLUMNS["bgbb"] == ("frequency", "recency", "periods")
    assert [spec.label for spec in BUILT_IN] == ["BG/NBD", "Pareto/NBD", "Gamma-Gamma", "BG/BB",
                                                 "sBG", "latent-class retention", "referral NBD"]
    assert registry.get("referral_nbd").log_needs_referrals
    assert not any(registry.get(name).log_needs_referrals for name in CSV_NAMES[:-1])
    assert [spec.name for spec in registry.game_models("shops")] == ["pareto_nbd", "gamma_gamma"]
    assert [spec.name for spec in registry.game_models("members")] == ["retention"]
    assert registry.get("sbg").horizon.limit == 1000 and registry.get("bgbb").horizon.whole
    assert registry.get("gamma_gamma").horizon is None
    assert registry.get("gamma_gamma").log_needs_amount and not registry.get("bgnbd").log_needs_amount
    assert not registry.get("sbg").reads_logs and not registry.get("retention").reads_csv


def test_unknown_and_duplicate_models_are_refused_by_name():
    with pytest.raises(DataError, match=r"unknown model 'nope'; expected one of \('bgnbd'"):
        registry.get("nope")
    # The members' retention model has no CSV input: ccsim fit does not offer it.
    with pytest.raises(DataError, match="unknown model 'retention'"):
        registry.get("retention", csv=True)
    with pytest.raises(ValueError, match="'bgnbd' is registered already"):
        registry.register(BUILT_IN[0])
    with pytest.raises(ValueError, match="lower-case identifier"):
        ModelSpec(name="Bad Name", label="x")
    with pytest.raises(ValueError, match="from_log maps"):
        ModelSpec(name="bad", label="x", columns=("frequency",), fit=_fit_toy,
                  predict=_predict_toy, from_log={"frequency": "spend"})


# ------------------------------------------------------------------ adding a model = one spec

def test_a_registered_toy_model_is_fitted_by_ccsim_fit(toy, tmp_path, capsys):
    path = write(tmp_path / "toy.csv", SUMMARY)
    code, out, err = cli(capsys, "fit", path, "--model", "toy", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["model"] == "toy" and report["input"] == "summary" and report["n"] == 14
    assert report["rate"] == pytest.approx(_expected_rate(), rel=1e-15)
    assert report["standard_errors"]["rate"] == pytest.approx(math.sqrt(_expected_rate() / 185))
    code, out, err = cli(capsys, "fit", path, "--model", "toy")
    assert code == 0, err
    assert out.startswith("Toy Poisson fit to toy.csv (summary, 14 rows)")
    assert "customers       14" in out


def test_the_toy_model_predicts_with_its_own_horizon_limit(toy, tmp_path, capsys):
    path = write(tmp_path / "toy.csv", SUMMARY)
    out_csv = tmp_path / "p.csv"
    code, out, err = cli(capsys, "fit", path, "--model", "toy", "--predict", out_csv,
                         "--horizon", "4")
    assert code == 0, err
    with out_csv.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["customer_id", "frequency", "T", "expected_purchases"]
    assert float(rows[2]["expected_purchases"]) == pytest.approx(4 * _expected_rate(), rel=1e-15)
    code, out, err = cli(capsys, "fit", path, "--model", "toy", "--predict", out_csv,
                         "--horizon", "60")
    assert code == 2 and err == "error: --horizon must be at most 52 for toy, got 60\n"
    code, out, err = cli(capsys, "fit", path, "--model", "toy", "--predict", out_csv,
                         "--horizon", "4", "--discount-rate", "0.1")
    assert code == 2
    assert err == ("error: --discount-rate does not apply to toy: only pareto_nbd (dert) and sbg "
                   "(derl) have a discounted prediction\n")


def test_the_csv_reader_checks_the_toy_models_columns_and_reads_its_logs(toy, tmp_path):
    with pytest.raises(DataError) as missing:
        load_fit_input(write(tmp_path / "a.csv", "frequency,recency\n1,2\n"), "toy")
    assert str(missing.value) == ("a.csv: missing column T: toy needs frequency, T [, weights], "
                                  "or a transaction log with customer_id (or id), time; the file "
                                  "has frequency, recency")
    with pytest.raises(DataError, match=r"b.csv: line 3, column T: must be > 0 \(time observed\)"):
        load_fit_input(write(tmp_path / "b.csv", "frequency,T\n1,2\n0,0\n"), "toy")
    log = load_fit_input(write(tmp_path / "log.csv", "id,time\na,0\na,3\nb,1\nb,2\nb,6\n"), "toy")
    assert log.kind == "transaction log" and log.model == "toy"
    assert list(log.columns) == ["frequency", "T"]
    assert log.columns["frequency"].tolist() == [1, 2] and log.columns["T"].tolist() == [6, 5]


def test_a_count_model_with_its_own_columns_and_no_logs_needs_only_its_spec(tmp_path, capsys):
    registry.register(REFERRALS)
    try:
        with pytest.raises(DataError) as missing:
            load_fit_input(write(tmp_path / "a.csv", "id,time\na,1\n"), "toy_referrals")
        assert str(missing.value) == ("a.csv: missing columns referrals, T: toy_referrals needs "
                                      "referrals, T [, weights]; the file has id, time")
        with pytest.raises(DataError, match=r"line 2, column referrals: 1.5 is not a whole number"):
            load_fit_input(write(tmp_path / "b.csv", "referrals,T\n1.5,2\n"), "toy_referrals")
        path = write(tmp_path / "c.csv", "referrals,T,weights\n0,10,30\n3,10,10\n")
        code, out, err = cli(capsys, "fit", path, "--model", "toy_referrals", "--json")
        assert code == 0, err
        assert json.loads(out)["rate"] == pytest.approx(30 / 400, rel=1e-15)
    finally:
        registry.unregister(REFERRALS.name)
    assert registry.names() == BUILT_IN_NAMES


def test_help_and_the_lab_screen_list_the_toy_model(toy, capsys):
    code, out, _ = cli(capsys, "fit", "--help")
    assert code == 0
    assert "{bgnbd,pareto_nbd,gamma_gamma,bgbb,sbg,referral_nbd,toy}" in out
    assert "  toy                frequency, T   (one purchase rate for everyone)" in out
    assert "  toy           expected_purchases (rate x --horizon)" in out
    assert registry.models_sentence().startswith(
        "Fit Pareto/NBD and Gamma-Gamma and Toy Poisson (or latent-class retention for members)")
    fit = FitResult({"rate": 0.25}, {"rate": 0.01}, -3.0, 10, True)
    assert reports.fitted_parameters({"toy": fit, "other": fit}) == ("Toy Poisson: rate=0.25; "
                                                                     "other: rate=0.25")
    assert _lab_fit_tooltip().startswith("Fit Pareto/NBD and Gamma-Gamma and Toy Poisson (or")


def test_without_the_toy_the_lab_says_what_it_fits():
    assert _lab_fit_tooltip() == ("Fit Pareto/NBD and Gamma-Gamma (or latent-class retention for "
                                  "members) to your customers' purchases so far, then predict "
                                  "every customer.")


def _lab_fit_tooltip() -> str:
    """The lab screen's fit button's tooltip, from a headless game window."""
    import tempfile

    from sim.ui.app import App
    from sim.ui.demo import press

    with tempfile.TemporaryDirectory() as home:
        app = App(size=(1280, 720), home=Path(home), scenario="coffee", seed=5, prospects=800,
                  tour=False)
        try:
            app.pump(2)
            press(app, pygame.K_n)
            press(app, pygame.K_RETURN, frames=3)
            press(app, pygame.K_l)
            assert app.scenes.top.name == "lab"
            button = next(a.button for a in app.scenes.top.actions if a.intent == "fit")
            return button.tool_tip_text
        finally:
            pygame.quit()


# ------------------------------------------------------------------ nothing else names a model

def model_name_comparisons(paths, names) -> list[str]:
    """``file:line`` of every comparison of a string literal (or tuple of them) in ``names``."""
    def literals(node) -> list[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return [e.value for e in node.elts if isinstance(e, ast.Constant)
                    and isinstance(e.value, str)]
        return []

    found = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Compare):
                named = [v for side in (node.left, *node.comparators) for v in literals(side)
                         if v in names]
                if named:
                    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
                    found.append(f"{where}:{node.lineno} {named}")
    return found


REGISTRY_HOME = {"sim/analytics/registry.py", "sim/analytics/model_spec.py",
                 "sim/analytics/lab_models.py"}


def test_no_module_outside_the_registry_compares_a_model_name_to_a_string():
    paths = [p for folder in ("sim", "benchmarks") for p in sorted((ROOT / folder).rglob("*.py"))
             if str(p.relative_to(ROOT)) not in REGISTRY_HOME]
    assert len(paths) > 100
    assert model_name_comparisons(paths, set(registry.names())) == []


def test_the_scan_finds_the_comparisons_it_forbids(tmp_path):
    source = write(tmp_path / "wired.py", 'def f(model):\n    if model == "sbg":\n        pass\n'
                   '    return model in ("bgnbd", "pareto_nbd") or "gamma_gamma" != model or '
                   'model == "weekly"\n')
    assert model_name_comparisons([source], set(registry.names())) == [
        "wired.py:2 ['sbg']", "wired.py:4 ['bgnbd', 'pareto_nbd']", "wired.py:4 ['gamma_gamma']"]


def test_the_benchmark_compares_registered_models_by_their_specs_columns():
    import importlib.util

    spec = importlib.util.spec_from_file_location("analytics_benchmark",
                                                  ROOT / "benchmarks" / "analytics.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert set(bench.MODELS) <= set(registry.csv_names())
    for model in bench.MODELS:
        data = bench.dataset(model, 50, seed=1)
        assert set(registry.get(model).columns) <= set(data), model
