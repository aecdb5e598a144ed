"""Tune the rule-of-thumb heuristics of ``sim.strategies.tuned`` by trial and error.

What a class that replays a scenario a few times can do: coordinate search
over each family's numbers (acquisition share and weights or value scale,
turn-away age, VIP threshold, spend, recency or P(alive), age), keeping a
change when the mean centricity score over the tuning seeds rises, until a
pass changes nothing.  Tuning seeds must be seeds that the tests
(1-10) and ``benchmarks/lessons.py`` (101-110 by default) never play.

    PYTHONPATH=. python benchmarks/tune_heuristics.py --scenario meal_kit --family weights
    PYTHONPATH=. python benchmarks/tune_heuristics.py --write     # every scenario and family

``--write`` replaces the ``TUNED`` table in ``sim/strategies/tuned.py``.
Run it with ``nice``: a full run plays a few thousand games.
"""

from __future__ import annotations

import argparse
import json
import pprint
import re
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import sim._blas_threads  # noqa: E402,F401  (one BLAS thread, before numpy)

import numpy as np  # noqa: E402

from sim.runner import play_game  # noqa: E402
from sim.scenario import load_scenario, shipped_scenario_names  # noqa: E402
from sim.strategies import get_strategy  # noqa: E402
from sim.strategies.tuned import FAMILIES, TUNED, HeuristicParams, TunedHeuristic  # noqa: E402

SHARES = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
LEVELS = (1.0, 1.25, 1.5, 1.75, 2.0, 2.5)
AGES = (1.0, 2.0, 3.0, 4.0)
WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
SCALES = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
GRIDS = {
    "weights": {"acquisition_share": SHARES, "turn_away": (False, True), "turn_away_age": AGES,
                "vip_threshold": (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 99.0), "vip_level": LEVELS,
                "vip_recency": (0.5, 1.0, 1.5, 2.0, 3.0, 99.0), "vip_age": AGES},
    "observed": {"acquisition_share": SHARES, "value_scale": SCALES, "turn_away": (False, True),
                 "turn_away_age": AGES, "vip_threshold": (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 99.0),
                 "vip_level": LEVELS, "vip_recency": (0.5, 1.0, 1.5, 2.0, 3.0, 99.0),
                 "vip_age": AGES},
    "lab": {"acquisition_share": SHARES, "value_scale": SCALES, "turn_away": (False, True),
            "turn_away_age": AGES, "vip_threshold": (1.0, 2.0, 5.0, 10.0, 20.0, 40.0, 80.0),
            "vip_level": LEVELS, "vip_alive": (0.0, 0.3, 0.5, 0.7, 0.9), "vip_age": AGES},
}


class Objective:
    """Mean centricity score of a heuristic over the tuning seeds (references played once)."""

    def __init__(self, key: str, seeds, prospects: int):
        self.scenario = load_scenario(key).with_prospects(prospects)
        self.seeds = list(seeds)
        self.references = {seed: (self._value(get_strategy("mass-marketing"), seed),
                                  self._value(get_strategy("oracle"), seed)) for seed in self.seeds}
        self.cache: dict[str, float] = {}

    def _value(self, strategy, seed: int) -> float:
        return play_game(self.scenario, strategy, seed).value.firm_value

    def __call__(self, params: HeuristicParams) -> float:
        k = json.dumps(params.to_dict(), sort_keys=True)
        if k not in self.cache:
            scores = []
            for seed in self.seeds:
                mass, oracle = self.references[seed]
                value = self._value(TunedHeuristic(params), seed)
                scores.append(100 * (value - mass) / (oracle - mass))
            self.cache[k] = float(np.mean(scores))
        return self.cache[k]


def tune(key: str, family: str, seeds, prospects: int, passes: int = 4,
         log=print) -> tuple[HeuristicParams, float]:
    """Coordinate search from the current table's numbers (or the defaults)."""
    objective = Objective(key, seeds, prospects)
    channels = len(objective.scenario.channels)
    start = TUNED.get(key, {}).get(family)
    params = HeuristicParams.from_dict({"family": family, **start}) if start else \
        HeuristicParams(family=family, weights=(1.0,) * channels if family == "weights" else ())
    best = objective(params)
    names = list(GRIDS[family]) + ([f"w{i}" for i in range(channels)] if family == "weights" else [])
    for sweep in range(passes):
        improved = False
        for name in names:
            for value in (WEIGHTS if name.startswith("w") and name[1:].isdigit()
                          else GRIDS[family][name]):
                if name.startswith("w") and name[1:].isdigit():
                    weights = list(params.weights)
                    weights[int(name[1:])] = value
                    if sum(weights) <= 0:
                        continue
                    trial = replace(params, weights=tuple(weights))
                else:
                    trial = replace(params, **{name: value})
                score = objective(trial)
                if score > best + 1e-9:
                    best, params, improved = score, trial, True
            log(f"  {key} {family} pass {sweep} {name}: {best:.2f}")
        if not improved:
            break
    return params, best


def write_table(table: dict) -> None:
    """Replace the TUNED table in sim/strategies/tuned.py."""
    path = ROOT / "sim" / "strategies" / "tuned.py"
    text = path.read_text(encoding="utf-8")
    body = pprint.pformat(table, width=96, sort_dicts=True)
    # The table runs from its name to the blank lines before the next definition.
    new, count = re.subn(r"TUNED: dict\[str, dict\[str, dict\]\] = \{.*?\n(?=\n\n)",
                         lambda m: "TUNED: dict[str, dict[str, dict]] = " + body + "\n", text,
                         count=1, flags=re.S)
    if count != 1:
        raise SystemExit(f"{path}: the TUNED table was not found")
    path.write_text(new, encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", nargs="*", default=shipped_scenario_names())
    parser.add_argument("--family", nargs="*", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--seeds", nargs="*", type=int, default=list(range(401, 406)))
    parser.add_argument("--prospects", type=int, default=50_000)
    parser.add_argument("--passes", type=int, default=4)
    parser.add_argument("--write", action="store_true", help="update sim/strategies/tuned.py")
    args = parser.parse_args(argv)
    table = json.loads(json.dumps(TUNED))
    for key in args.scenario:
        for family in args.family:
            t0 = time.perf_counter()
            params, score = tune(key, family, args.seeds, args.prospects, args.passes)
            numbers = {k: v for k, v in params.to_dict().items() if k != "family"}
            if family != "weights":
                numbers.pop("weights", None)
            table.setdefault(key, {})[family] = numbers
            print(f"{key} {family}: {score:.1f} on seeds {args.seeds[0]}-{args.seeds[-1]}"
                  f" ({time.perf_counter() - t0:.0f} s) {json.dumps(numbers)}", flush=True)
            if args.write:
                write_table(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
