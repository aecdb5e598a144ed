"""The command line: ``ccsim`` / ``python -m sim``.

Most tests call ``sim.cli.main`` in-process; two run ``python -m sim`` in a
subprocess to prove the module entry point works.  User errors exit 2 with
one ``error: ...`` line on stderr and never a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SCENARIO_DIR, run_cli as cli
from sim.scenario import shipped_scenario_names
from test_scenario_validation import BAD_KINDS, expected_message, write_bad

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = shipped_scenario_names()
BASELINE_NAMES = {"do-nothing", "mass-marketing", "volume", "customer-centric", "oracle"}
RUN = ["run", "coffee", "--strategy", "mass-marketing", "--seed", "2", "--prospects", "3000"]




def python_m_sim(*argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "sim", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


# ------------------------------------------------------------------ scenarios / validate

def test_scenarios_lists_every_shipped_name(capsys):
    code, out, err = cli(capsys, "scenarios")
    assert code == 0
    listed = [line.split()[0] for line in out.splitlines() if line and not line[0].isspace()]
    assert listed == SHIPPED
    assert {"coffee", "department_store", "direct_seller", "meal_kit"} <= set(listed)


@pytest.mark.parametrize("name", SHIPPED, ids=SHIPPED)
def test_validate_accepts_every_shipped_file(name, capsys):
    path = SCENARIO_DIR / f"{name}.yaml"
    code, out, err = cli(capsys, "validate", str(path))
    assert code == 0
    assert out.startswith(f"ok: {path}")
    assert err == ""


def test_validate_accepts_shipped_names_too(capsys):
    code, out, err = cli(capsys, "validate", *SHIPPED)
    assert code == 0
    assert out.count("ok: ") == len(SHIPPED)


@pytest.mark.parametrize("kind", BAD_KINDS, ids=BAD_KINDS)
def test_validate_refuses_each_kind_of_bad_file(kind, tmp_path, capsys):
    path = write_bad(kind, tmp_path)
    code, out, err = cli(capsys, "validate", str(path))
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {expected_message(kind)}"), lines[0]


def test_validate_reports_every_bad_file(tmp_path, capsys):
    kinds = ["negative_rate", "unknown_key_nested", "not_yaml", "empty"]
    paths = [write_bad(kind, tmp_path, filename=f"{kind}.yaml") for kind in kinds]
    good = SCENARIO_DIR / "meal_kit.yaml"
    code, out, err = cli(capsys, "validate", str(paths[0]), str(good), *map(str, paths[1:]))
    assert code == 2
    assert out.startswith(f"ok: {good}")
    lines = err.splitlines()
    assert len(lines) == len(kinds)
    for line, kind in zip(lines, kinds):
        assert line.startswith(f"error: {expected_message(kind, filename=f'{kind}.yaml')}"), line
    assert lines[0] == "error: negative_rate.yaml: types[1].purchase_rate.shape: must be > 0, got -1"


def test_validate_refuses_a_missing_file(tmp_path, capsys):
    code, out, err = cli(capsys, "validate", str(tmp_path / "nowhere.yaml"))
    assert code == 2
    assert err.startswith("error: ") and "no such file" in err


def test_validate_bad_file_via_python_m_sim(tmp_path):
    path = write_bad("negative_rate", tmp_path)
    done = python_m_sim("validate", str(path))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip() == "error: coffee.yaml: types[1].purchase_rate.shape: must be > 0, got -1"


# ------------------------------------------------------------------ run

def check_run_json(data: dict) -> None:
    assert {"firm_value", "centricity_score", "baselines", "turns", "seed", "scenario"} <= set(data)
    assert data["scenario"] == "coffee"
    assert data["seed"] == 2
    assert isinstance(data["firm_value"], float)
    assert isinstance(data["centricity_score"], float)
    assert set(data["baselines"]) >= BASELINE_NAMES
    assert all(isinstance(v, float) for v in data["baselines"].values())
    # The player is mass-marketing, so it scores its own baseline exactly: 0.
    assert data["firm_value"] == data["baselines"]["mass-marketing"]
    assert data["centricity_score"] == pytest.approx(0.0, abs=1e-9)
    assert len(data["turns"]) == 12
    for turn in data["turns"]:
        assert {"acquired", "buyers", "revenue", "profit", "alive", "lost"} <= set(turn)
        assert isinstance(turn["buyers"], int) and isinstance(turn["acquired"], int)
        # The books are observable: a shop never sees who is alive.
        assert turn["members"] is None
    assert [t["turn"] for t in data["turns"]] == list(range(1, 13))


def test_run_json_is_one_object(capsys):
    code, out, err = cli(capsys, *RUN, "--json")
    assert code == 0
    data = json.loads(out)  # the whole of stdout is one JSON document
    check_run_json(data)


def test_run_json_via_python_m_sim(capsys):
    done = python_m_sim(*RUN, "--json")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    data = json.loads(done.stdout)
    check_run_json(data)
    # The module entry point and main() give the same game.
    code, out, _ = cli(capsys, *RUN, "--json")
    assert json.loads(out) == data


def test_run_table_shows_turns_and_the_score(capsys):
    code, out, err = cli(capsys, *RUN)
    assert code == 0
    lines = out.splitlines()
    # During the game only what the firm can see: buyers, not customers alive or lost.
    assert lines[0].split() == ["turn", "acquired", "buyers", "revenue", "service", "profit"]
    reveal = lines.index("the reveal (hidden during play): customers really alive and lost each turn")
    assert reveal > lines.index(next(line for line in lines if line.startswith("centricity score")))
    assert lines[reveal + 1].split() == ["turn", "alive", "lost"]
    rows = [line.split() for line in lines[1:reveal] if line.split() and line.split()[0].isdigit()]
    assert [int(r[0]) for r in rows] == list(range(1, 13))
    revealed = [line.split() for line in lines[reveal + 2:reveal + 14]]
    assert [int(r[0]) for r in revealed] == list(range(1, 13))
    assert "firm value" in out
    assert "centricity score" in out
    for name in BASELINE_NAMES:
        assert name in out


def test_run_accepts_a_scenario_file_as_well_as_a_name(tmp_path, capsys):
    _, by_name, _ = cli(capsys, *RUN, "--json")
    path = str(SCENARIO_DIR / "coffee.yaml")
    code, by_path, err = cli(capsys, "run", path, *RUN[2:], "--json")
    assert code == 0
    assert json.loads(by_path) == json.loads(by_name)
    # A copy elsewhere on disk works too.
    copy = tmp_path / "coffee.yaml"
    copy.write_bytes(Path(path).read_bytes())
    code, by_copy, err = cli(capsys, "run", str(copy), *RUN[2:], "--json")
    assert code == 0
    assert json.loads(by_copy) == json.loads(by_name)


def test_run_refuses_an_unknown_scenario(capsys):
    code, out, err = cli(capsys, "run", "tea_shop", "--prospects", "3000")
    assert code == 2
    assert out == ""
    assert err.startswith("error: tea_shop: no such file and no shipped scenario")
    assert "coffee" in err  # says which ones exist


def test_run_refuses_a_bad_scenario_file(tmp_path, capsys):
    path = write_bad("negative_rate", tmp_path)
    code, out, err = cli(capsys, "run", str(path), "--prospects", "3000")
    assert code == 2
    assert "error: coffee.yaml: types[1].purchase_rate.shape: must be > 0" in err


def test_run_refuses_an_unknown_strategy(capsys):
    code, out, err = cli(capsys, "run", "coffee", "--strategy", "telepathy", "--prospects", "3000")
    assert code == 2
    assert "unknown strategy 'telepathy'" in err
    assert "mass-marketing" in err  # lists the known strategies
    assert "ending in .py" in err  # and says how to name a bot file


def test_run_refuses_a_negative_seed(capsys):
    code, out, err = cli(capsys, "run", "coffee", "--seed", "-1", "--prospects", "3000")
    assert code == 2
    assert "--seed must be >= 0" in err
    assert out == ""


def test_run_refuses_a_tiny_pool(capsys):
    code, out, err = cli(capsys, "run", "coffee", "--prospects", "10")
    assert code == 2
    assert "--prospects must be at least 100" in err
