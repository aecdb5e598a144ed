"""Tournament speed: 40 bot entries x 5 seeds at a shipped scenario's default size.

Measures the wall time of a whole tournament with 1 and with 2 worker
processes (each bot sandboxed in its own process, references played once
per seed), and of a re-run over the finished output (nothing replayed).

    python benchmarks/tournament.py [--scenario direct_seller] [--bots 40] [--seeds 1-5]
                                    [--workers 1,2] [--prospects N]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.scenario import load_scenario  # noqa: E402
from sim.tournament import Settings, parse_seeds, run_tournament  # noqa: E402

#: A family of simple bots: a share of the marketing budget spread over
#: the cheapest channels, and service for the top customers by profit.
BOT = '''
from sim.decisions import Decision, Tier


class Bot:
    name = "bot{i:02d}"

    def reset(self, scenario, seed):
        self.scenario = scenario

    def decide(self, observation, truth=None):
        s = self.scenario
        channels = s.channels[:{channels}]
        share = {acquisition} * 0.6 * s.budget.marketing / len(channels)
        n = max(int(observation.active.sum()), 1)
        level = min({service}, 0.4 * s.budget.marketing / max(n * {top}, 1))
        return Decision({{c.name: share for c in channels}},
                        (Tier("top", {{"top": {top}, "by": "profit_per_turn"}}, level),))
'''


def write_bots(folder: Path, count: int) -> list[Path]:
    paths = []
    for i in range(count):
        path = folder / f"bot{i:02d}.py"
        path.write_text(BOT.format(i=i, channels=1 + i % 3, acquisition=0.2 + 0.8 * (i % 5) / 4,
                                   service=1.0 + 2 * (i % 4), top=0.05 + 0.05 * (i % 3)))
        paths.append(path)
    return paths


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenario", default="direct_seller")
    p.add_argument("--bots", type=int, default=40)
    p.add_argument("--seeds", default="1-5")
    p.add_argument("--workers", default="1,2")
    p.add_argument("--prospects", type=int, default=None)
    args = p.parse_args()
    scenario = load_scenario(args.scenario)
    if args.prospects:
        scenario = scenario.with_prospects(args.prospects)
    seeds = parse_seeds(args.seeds)
    settings = Settings(scenario, turn_seconds=30.0, memory_mb=1024)
    work = Path(tempfile.mkdtemp(prefix="ccsim-bench-tournament-"))
    try:
        bots = write_bots(work, args.bots)
        print(f"{scenario.key}: {scenario.prospects:,} prospects, {args.bots} bots x {len(seeds)} "
              f"seeds (+ references): {args.bots * len(seeds) + 5 * len(seeds)} games")
        for workers in map(int, args.workers.split(",")):
            out = work / f"out-{workers}"
            started = time.perf_counter()
            result = run_tournament(bots, seeds, out, settings, workers=workers, progress=False)
            elapsed = time.perf_counter() - started
            failed = sum(len(s.failures) for s in result.standings)
            print(f"workers={workers}: {elapsed:7.1f} s for {result.played} games "
                  f"({failed} failures)", flush=True)
            started = time.perf_counter()
            again = run_tournament(bots, seeds, out, settings, workers=workers, progress=False)
            print(f"workers={workers}: re-run over finished output {time.perf_counter() - started:.2f} s "
                  f"({again.played} games played, {again.reused} reused)", flush=True)
        print(result.table().splitlines()[2])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
