"""A whole ``ccsim run`` at 1M prospects, and the customer-centric bot's decide against an engine step.

For each shipped scenario (or those named) this measures, each in a fresh
process:

1. the wall time of ``ccsim run SCENARIO --prospects 1000000`` (the player's
   customer-centric game and the four other references on the same seed),
   target under 15 s on 2 cores;
2. one customer-centric game through ``sim.runner.play_game``, timed turn by
   turn: the bot's ``decide`` against the engine's ``step`` (median over the
   turns), target decide <= step.

    PYTHONPATH=. python3 benchmarks/run_1m.py [--scenarios coffee ...] [--prospects N] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_RUN_S = 15.0

CHILD = """
import json, statistics, sys, time
sys.path.insert(0, {root!r})
sys.path.insert(0, {bench!r})
import sim._blas_threads   # one BLAS thread before numpy loads, as in ccsim run
from engine import timed_game
from sim.scenario import load_scenario
s = load_scenario({name!r})
timed_game(s.with_prospects(5000), "customer-centric", {seed})   # warm imports and tables
game = timed_game(s.with_prospects({prospects}), "customer-centric", {seed})
turns = game["turns"]
print(json.dumps({{"decide": statistics.median(t["decide"] for t in turns),
                  "step": statistics.median(t["step"] for t in turns)}}))
"""


def run_time(name: str, prospects: int, seed: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sim", "run", name, "--prospects", str(prospects),
                    "--seed", str(seed), "--json"], check=True, env=env, capture_output=True)
    return time.perf_counter() - t0


def decide_versus_step(name: str, prospects: int, seed: int) -> dict:
    code = CHILD.format(root=str(ROOT), bench=str(ROOT / "benchmarks"), name=name, seed=seed,
                        prospects=prospects)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    from sim.scenario import shipped_scenario_names

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", nargs="+", default=shipped_scenario_names())
    parser.add_argument("--prospects", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, "
          f"{args.prospects:,} prospects, seed {args.seed}")
    print(f"{'scenario':<18}{'ccsim run':>11}{'  < 15 s':>9}{'decide/turn':>13}{'step/turn':>11}"
          f"{'  decide <= step':>17}")
    ok = True
    for name in args.scenarios:
        wall = run_time(name, args.prospects, args.seed)
        turn = decide_versus_step(name, args.prospects, args.seed)
        fast, lean = wall < TARGET_RUN_S, turn["decide"] <= turn["step"]
        ok &= fast and lean
        print(f"{name:<18}{wall:>10.1f}s{'met' if fast else 'MISSED':>9}{turn['decide'] * 1e3:>11.0f}ms"
              f"{turn['step'] * 1e3:>9.0f}ms{'met' if lean else 'MISSED':>17}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
