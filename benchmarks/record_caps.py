"""What real records hold, against the caps the record reader enforces (issue 21).

Plays the games whose records are the largest ccsim writes in practice and
prints, for each, the file's bytes, its JSON entries (commas and brackets,
as the reader counts them), the bytes its score columns decode to, and the
time and peak memory to read it back, next to ``sim.records``' caps:

* the customer-centric reference on a shipped scenario at its default size;
* a bot-like strategy ranking customers by ``--columns`` score columns of its
  own every turn (a full-order column cannot be reduced to a few values, so
  it is stored whole) at ``--prospects`` (default 1,000,000).

    PYTHONPATH=. python benchmarks/record_caps.py [--prospects 1000000] [--columns 2]

Heavy at a million prospects (a few GB, a minute): run it alone, with nice.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim import records  # noqa: E402
from sim.decisions import Decision, Tier  # noqa: E402
from sim.records import read_record, record_of, write_record  # noqa: E402
from sim.runner import play_game  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402
from sim.strategies import get_strategy  # noqa: E402


class Ranker:
    """Serves the top 1%, 2%, ... of customers by score columns it computes itself."""

    sees_truth = False

    def __init__(self, columns: int) -> None:
        self.columns = columns
        self.name = f"ranker-{columns}"

    def reset(self, public, seed) -> None:
        self.public = public

    def decide(self, observation, truth=None) -> Decision:
        cols = observation.columns
        ids = np.asarray(cols["customer_id"], dtype=float)
        scores = {f"s{k}": cols["profit"] * (1 + k) + np.sin(ids * (k + 1.0))
                  for k in range(self.columns)}
        tiers = tuple(Tier(f"t{k}", {"top": 0.01 * (k + 1), "by": f"s{k}"}, 0.01)
                      for k in range(self.columns))
        return Decision(dict(self.public.inherited.acquisition), tiers, scores)


def measure(label: str, scenario, strategy, folder: Path) -> dict:
    played = play_game(scenario, strategy, 7)
    path = write_record(record_of(played), folder / f"{label}.json")
    raw = path.read_bytes()
    entries = raw.count(b",") + raw.count(b"[") + raw.count(b"{")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    record = read_record(path)
    read_s = time.perf_counter() - started
    decoded = sum(np.asarray(v).nbytes for d in record.decisions for v in d.scores.values())
    return {"label": label, "prospects": scenario.prospects,
            "customers": played.game.observation.n_customers, "bytes": len(raw),
            "entries": entries, "decoded": decoded, "read_s": read_s,
            "peak_rss_mb": max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, before) / 1024}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prospects", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=2)
    parser.add_argument("--scenario", default="coffee")
    args = parser.parse_args(argv)
    scenario = load_scenario(args.scenario)
    with tempfile.TemporaryDirectory() as folder:
        rows = [measure(f"{args.scenario} customer-centric", scenario,
                        get_strategy("customer-centric"), Path(folder)),
                measure(f"{args.scenario} ranker x{args.columns}",
                        scenario.with_prospects(args.prospects), Ranker(args.columns), Path(folder))]
    print(f"{'game':<28} {'prospects':>10} {'customers':>10} {'bytes':>13} {'entries':>8} "
          f"{'decoded':>13} {'read s':>7}")
    for r in rows:
        print(f"{r['label']:<28} {r['prospects']:>10,} {r['customers']:>10,} {r['bytes']:>13,} "
              f"{r['entries']:>8,} {r['decoded']:>13,} {r['read_s']:>7.2f}")
    print(f"{'caps':<28} {'':>10} {'':>10} {records.MAX_RECORD_BYTES:>13,} "
          f"{records.MAX_JSON_ENTRIES:>8,} {records.MAX_SCORE_BYTES:>13,}")
    print(f"peak RSS {rows[-1]['peak_rss_mb']:.0f} MB (the whole process, games included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
