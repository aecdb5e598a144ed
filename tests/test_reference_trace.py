"""The reference trace benchmark reads the reference's test and lab beside the truth, and runs."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from sim.scenario import load_scenario

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "reference_trace.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("reference_trace", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    # Its dataclasses look their module up by name while they are built.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("key", ["meal_kit", "fitness_studio", "coffee"])
def test_trace_sets_the_tests_customers_and_the_base_against_the_truth(bench, key):
    rows = bench.trace(key, seed=3, prospects=3000, turns=5)
    assert [r.turn for r in rows] == [1, 2, 3, 4, 5]
    response = [t.service_response for t in load_scenario(key).types]
    tested = [r for r in rows if r.theta_true is not None]
    assert tested and all(r.served + r.held_out > 0 for r in tested)
    assert all(min(response) <= r.theta_true <= max(response) for r in tested)
    for r in rows:
        counts = np.array([v[0] for v in r.by_type.values()])
        true = np.array([v[2] for v in r.by_type.values()])
        # The types split the base: their means weighted by count give the base's.
        assert np.isclose(counts @ true / counts.sum(), r.true_mean)
        if r.lab_mean is not None:
            lab = np.array([v[1] for v in r.by_type.values()])
            assert np.isclose(counts @ lab / counts.sum(), r.lab_mean)
    assert any(r.lab_mean is not None for r in rows)
    away = [v for r in rows for v in r.turned_away.values()]
    # The reference turns away whom it predicts to be worth less than nothing.
    assert away and all(count > 0 and worth < 0 for count, worth, _, _ in away)
    referring = load_scenario(key).referrals is not None
    assert all((friends > 0) == referring for _, _, _, friends in away)


def test_main_prints_the_table_and_writes_json(bench, capsys, tmp_path):
    out = tmp_path / "trace.json"
    assert bench.main(["--scenario", "fitness_studio", "--seed", "2", "--prospects", "3000",
                       "--turns", "3", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "devotees" in printed and "lab CLV / truth" in printed and "turned away" in printed
    assert [row["turn"] for row in json.loads(out.read_text())] == [1, 2, 3]
    with pytest.raises(SystemExit):
        bench.main(["--turns", "0"])
