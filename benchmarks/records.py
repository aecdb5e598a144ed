"""Record size and replay time for default-size games.

For each scenario (default: every shipped one, at its default size) this
plays one customer-centric game with its references, writes its record,
and measures: the record's size, the time to write it, to read it, to
replay and verify the game alone, and to verify it with its baselines.

    PYTHONPATH=. python3 benchmarks/records.py [--scenarios coffee ...] [--seed 7]

Target (issue: records): a default-size customer-centric record under 5 MB.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.records import read_record, record_of, verify_record, write_record  # noqa: E402
from sim.runner import score  # noqa: E402
from sim.scenario import load_scenario, shipped_scenario_names  # noqa: E402
from sim.strategies import get_strategy  # noqa: E402

TARGET_BYTES = 5 * 1024 * 1024


def measure(name: str, seed: int, folder: Path) -> dict:
    scenario = load_scenario(name)
    t0 = time.perf_counter()
    card = score(scenario, get_strategy("customer-centric"), seed)
    play_s = time.perf_counter() - t0
    extra = {"centricity_score": card.centricity_score,
             "baselines": {n: v.firm_value for n, v in card.baselines.items()}}
    t0 = time.perf_counter()
    path = write_record(record_of(card.player, extra), folder / f"{name}.json")
    write_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    record = read_record(path)
    read_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    alone = verify_record(record, references=False)
    replay_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    full = verify_record(record)
    full_s = time.perf_counter() - t0
    return {"scenario": name, "prospects": scenario.prospects,
            "customers": int(card.player.game.observation.n_customers),
            "bytes": path.stat().st_size, "play_and_references_s": play_s, "write_s": write_s,
            "read_s": read_s, "replay_s": replay_s, "verify_with_baselines_s": full_s,
            "verified": not alone and not full}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", nargs="+", default=shipped_scenario_names())
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    print(f"python {platform.python_version()} on {platform.machine()}, seed {args.seed}")
    print(f"{'scenario':<18}{'prospects':>10}{'customers':>10}{'record':>10}{'write':>8}{'read':>8}"
          f"{'replay':>8}{'+baselines':>11}  verified  < 5 MB")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.scenarios:
            m = measure(name, args.seed, Path(tmp))
            small_enough = m["bytes"] < TARGET_BYTES
            ok &= small_enough and m["verified"]
            print(f"{name:<18}{m['prospects']:>10,}{m['customers']:>10,}{m['bytes'] / 1e6:>8.2f}MB"
                  f"{m['write_s']:>7.2f}s{m['read_s']:>7.2f}s{m['replay_s']:>7.2f}s"
                  f"{m['verify_with_baselines_s']:>10.2f}s  {'yes' if m['verified'] else 'NO':>8}"
                  f"  {'met' if small_enough else 'MISSED'}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
