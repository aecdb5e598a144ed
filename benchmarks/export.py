"""Time ``ccsim export``: a record's transaction log at 200,000 and 1,000,000 prospects.

For each size this plays one customer-centric coffee game (no references:
the export replays the player's game only), writes its record to a
temporary folder, then runs ``export_transactions`` on it and prints the
purchases written, the file's size, the replay and writing times and the
load average (the machine is often shared).

    PYTHONPATH=. python3 benchmarks/export.py [--prospects 200000 1000000] [--seed 1]

Target (issue 20, item 4): a 1,000,000-prospect record exports in seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.export import export_transactions  # noqa: E402
from sim.records import record_of, write_record  # noqa: E402
from sim.runner import play_game  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402
from sim.strategies import get_strategy  # noqa: E402


def measure(scenario_name: str, prospects: int, seed: int, folder: Path) -> dict:
    scenario = load_scenario(scenario_name).with_prospects(prospects)
    played = play_game(scenario, get_strategy("customer-centric"), seed)
    record = write_record(record_of(played), folder / f"{scenario_name}-{prospects}.json")
    out = folder / f"{scenario_name}-{prospects}.csv"
    load = os.getloadavg()[0]
    started = time.perf_counter()
    done = export_transactions(record, out)
    total = time.perf_counter() - started
    size = out.stat().st_size
    out.unlink()
    return {"prospects": prospects, "customers": done.customers, "rows": done.rows,
            "mb": size / 1e6, "replay_s": done.seconds["replay"],
            "write_s": done.seconds["write"], "total_s": total, "load": load}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="coffee")
    parser.add_argument("--prospects", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"{'prospects':>10} {'customers':>10} {'purchases':>10} {'MB':>7} {'replay':>7} "
          f"{'write':>7} {'total':>7} {'load':>5}")
    with tempfile.TemporaryDirectory() as folder:
        for prospects in args.prospects:
            r = measure(args.scenario, prospects, args.seed, Path(folder))
            print(f"{r['prospects']:>10,} {r['customers']:>10,} {r['rows']:>10,} {r['mb']:>7.0f} "
                  f"{r['replay_s']:>6.1f}s {r['write_s']:>6.1f}s {r['total_s']:>6.1f}s "
                  f"{r['load']:>5.1f}")


if __name__ == "__main__":
    main()
