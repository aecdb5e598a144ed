"""Shared fixtures: every shipped scenario, shrunk for speed."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: The shipped scenario files in the source tree (installed as package data).
SCENARIO_DIR = ROOT / "scenarios"
sys.path.insert(0, str(ROOT))
# One BLAS thread per process: the fitters' small L-BFGS-B steps run 3-4x slower
# when OpenBLAS threads fight over 2 shared cores (and xdist runs 2 processes).
import sim._blas_threads  # noqa: E402,F401  (one thread each, before numpy)
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

from sim.scenario import load_scenario, shipped_scenario_names  # noqa: E402

SCENARIOS = shipped_scenario_names()


@pytest.fixture(params=SCENARIOS, ids=SCENARIOS)
def scenario_name(request) -> str:
    """The name of each shipped scenario in turn."""
    return request.param


def small(name: str, prospects: int = 20_000):
    """A shipped scenario scaled to a test-sized prospect pool."""
    return load_scenario(name).with_prospects(prospects)


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    """Run ``ccsim argv`` in-process: (exit status, stdout, stderr); never a traceback."""
    from sim.cli import main

    try:
        code = main([str(arg) for arg in argv])
    except SystemExit as exc:  # argparse refuses bad usage this way
        code = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err
