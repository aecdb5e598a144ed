"""A fingerprint of every shipped scenario's books, to show a change leaves results bit-identical.

Plays every reference strategy on every shipped scenario (at its default
size) on two seeds and prints one SHA-256 per game of its books (every
number of every turn, as the record stores them) and firm value, then one
for everything.  Run it before and after a change that should not change
any result (a refactoring, a guard against a division by zero) and compare.

    PYTHONPATH=. python benchmarks/books_digest.py [--seeds 1 2] [--prospects N]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.references import REFERENCES  # noqa: E402
from sim.runner import play_game  # noqa: E402
from sim.scenario import load_scenario, shipped_scenario_names  # noqa: E402
from sim.strategies import get_strategy  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--prospects", type=int, default=None,
                        help="play every scenario at this size (default: its own)")
    args = parser.parse_args(argv)
    everything = hashlib.sha256()
    for name in shipped_scenario_names():
        scenario = load_scenario(name)
        if args.prospects:
            scenario = scenario.with_prospects(args.prospects)
        for reference in REFERENCES:
            for seed in args.seeds:
                played = play_game(scenario, get_strategy(reference), seed)
                text = json.dumps({"books": [r.books.to_dict() for r in played.game.results],
                                   "firm_value": played.value.firm_value}, sort_keys=True)
                digest = hashlib.sha256(text.encode()).hexdigest()
                everything.update(digest.encode())
                print(f"{name:<18} {reference:<18} seed {seed}  {digest[:16]}", flush=True)
    print(f"all games: {everything.hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
