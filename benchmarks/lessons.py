"""Do the shipped scenarios teach their lessons?  Centricity scores on unseen seeds.

For each scenario and seed the reference strategies and the strategies of
``sim.strategies.playtest`` (no-analysis, shortcuts, the lesson pair,
disengaging everyone, the oracle's acquisition with mass service) are
played on the same draws; every firm value is turned into a centricity
score (0 = mass-marketing, 100 = oracle).  Prints per scenario the mean and
sd of each strategy's score over the seeds, then the targets of issue 11
and of issue 22 with PASS/FAIL (reported, never asserted).

Issue 22's yardsticks are played beside them: the rule-of-thumb heuristics
of ``sim.strategies.tuned`` (tuned on seeds 401-405 by
``benchmarks/tune_heuristics.py``, so play them on other seeds), the
customer-centric reference's service and turn-away policy with
mass-marketing's acquisition, and the example bots of ``examples/bots/``.

    PYTHONPATH=. python benchmarks/lessons.py                  # seeds 101-110, 20k prospects
    PYTHONPATH=. python benchmarks/lessons.py --seeds 1 2 3 --prospects 10000 --scenario coffee
    PYTHONPATH=. python benchmarks/lessons.py --prospects 0     # each scenario at its shipped size
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# One BLAS thread (set before numpy loads): the lab's small fits run several
# times slower with OpenBLAS threads fighting over a shared machine's cores.
import sim._blas_threads  # noqa: E402,F401

import numpy as np  # noqa: E402

from sim.scenario import load_scenario, shipped_scenario_names  # noqa: E402
from sim.runner import play_game  # noqa: E402
from sim.strategies import get_strategy  # noqa: E402
from sim.strategies import playtest  # noqa: E402
from sim.bots import load_bot  # noqa: E402
from sim.strategies.base import even_acquisition  # noqa: E402
from sim.strategies.centric import CustomerCentric  # noqa: E402
from sim.strategies.tuned import FAMILIES, TUNED, tuned  # noqa: E402

REFERENCES = ("do-nothing", "mass-marketing", "volume", "customer-centric", "oracle")
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "bots"
BOTS = ("even_bot.py", "rfm_bot.py", "clv_bot.py")
#: The tuned families that use no prediction of the lab (observed totals and replays only).
NO_LAB = ("weights", "observed")
SERVICE_ONLY = "customer-centric service, mass acquisition"
ORACLE_SERVICE = "oracle service, mass acquisition"


def strategies_for(key: str) -> dict[str, object]:
    out = {name: get_strategy(name) for name in REFERENCES}
    follow, ignore = playtest.lesson_pair(key)
    extra = [*playtest.no_analysis(), playtest.DisengageEveryone(), playtest.OracleAcquisition(),
             *playtest.shortcuts()]
    for s in extra:
        out[s.name] = s
    out["lesson: " + follow.name] = follow
    out["ignores: " + ignore.name] = ignore
    for family in FAMILIES:
        if family in TUNED.get(key, {}):
            out[f"tuned heuristic ({family})"] = tuned(key, family)
    out[SERVICE_ONLY] = CustomerCentric(acquisition=even_acquisition)
    out[ORACLE_SERVICE] = playtest.OracleService()
    for bot in BOTS:
        out[f"example: {bot}"] = load_bot(EXAMPLES / bot)
    return out


def measure(key: str, seeds, prospects: int) -> dict:
    """Firm values, scores and whale-curve shares per strategy over ``seeds``."""
    scenario = load_scenario(key).with_prospects(prospects)
    strategies = strategies_for(key)
    values = {name: [] for name in strategies}
    whale = {"top20": [], "unprofitable": []}
    for seed in seeds:
        for name, strategy in strategies.items():
            v = play_game(scenario, strategy, seed).value
            values[name].append(v.firm_value)
            if name == "mass-marketing":
                whale["top20"].append(v.top20_profit_share)
                whale["unprofitable"].append(v.unprofitable_share)
    values = {k: np.array(v) for k, v in values.items()}
    span = values["oracle"] - values["mass-marketing"]
    scores = {k: 100 * (v - values["mass-marketing"]) / span for k, v in values.items()}
    return {"values": values, "scores": scores, "whale": whale}


def targets(key: str, m: dict) -> list[tuple[str, float, bool]]:
    """(description, measured, pass) for each target of issue 11."""
    sc, val = m["scores"], m["values"]
    mean = {k: float(np.mean(v)) for k, v in sc.items()}
    cc = sc["customer-centric"]
    follow = next(k for k in sc if k.startswith("lesson: "))
    ignore = next(k for k in sc if k.startswith("ignores: "))
    lesson_wins = int(np.sum(sc[follow] - sc[ignore] >= 10))
    shortcut_gap = min(float(np.mean(cc - sc[s.name])) for s in playtest.shortcuts())
    mass, oracle = val["mass-marketing"], val["oracle"]
    order = int(np.sum((oracle >= val["customer-centric"]) & (val["customer-centric"] > mass)
                       & (mass > val["do-nothing"])))
    top20 = np.array(m["whale"]["top20"])
    unprof = np.array(m["whale"]["unprofitable"])
    unprof_min = 0.10 if key == "department_store" else 0.05
    rows = [
        ("oracle acquisition + mass service >= 33", mean["oracle acquisition, mass service"],
         mean["oracle acquisition, mass service"] >= 100 / 3),
        ("inherited, no service <= 30", mean["inherited, no service"],
         mean["inherited, no service"] <= 30),
        ("even split, no service <= 40", mean["even split, no service"],
         mean["even split, no service"] <= 40),
        ("disengage everyone < mass (worst seed score)", float(np.max(sc["disengage everyone"])),
         bool(np.all(sc["disengage everyone"] < 0))),
        ("best shortcut >= 10 below customer-centric (gap)", shortcut_gap, shortcut_gap >= 10),
        ("lesson follower ahead by >= 10 (seeds of n)", lesson_wins, lesson_wins >= 0.9 * cc.size),
        ("(oracle - mass) / |mass| >= 0.25", float(np.mean((oracle - mass) / np.abs(mass))),
         bool(np.all((oracle - mass) / np.abs(mass) >= 0.25))),
        ("customer-centric score sd <= 3", float(np.std(cc, ddof=1)) if cc.size > 1 else 0.0,
         cc.size < 2 or float(np.std(cc, ddof=1)) <= 3),
        ("order oracle>=cc>mass>do-nothing (seeds)", order, order == cc.size),
        ("top 20% profit share in [0.55, 0.85]", float(np.mean(top20)),
         bool(np.all((top20 >= 0.55) & (top20 <= 0.85)))),
        (f"unprofitable share >= {unprof_min:.2f}", float(np.mean(unprof)),
         bool(np.all(unprof >= unprof_min))),
    ]
    return rows


def issue22_targets(m: dict) -> list[tuple[str, float, bool]]:
    """(description, measured, pass) for each target of issue 22 this benchmark measures.

    "Observed only" strategies use no prediction of the lab: the tuned
    no-lab heuristics, the one-rule shortcuts and the RFM example bot; "lab"
    strategies use its predictions: the reference, the tuned lab heuristic
    and the CLV example bot.
    """
    mean = {k: float(np.mean(v)) for k, v in m["scores"].items()}
    cc = mean["customer-centric"]
    no_lab = [mean[f"tuned heuristic ({f})"] for f in NO_LAB if f"tuned heuristic ({f})" in mean]
    best_heuristic = max(no_lab) if no_lab else float("nan")
    observed = no_lab + [mean[s.name] for s in playtest.shortcuts()] + [mean["example: rfm_bot.py"]]
    lab = [cc, mean["example: clv_bot.py"]] + (
        [mean["tuned heuristic (lab)"]] if "tuned heuristic (lab)" in mean else [])
    lab_gain = max(lab) - max(observed)
    return [
        ("customer-centric >= 80", cc, cc >= 80),
        ("customer-centric - best tuned no-lab heuristic >= -3", cc - best_heuristic,
         cc - best_heuristic >= -3),
        ("best lab strategy - best observed-only >= 5", lab_gain, lab_gain >= 5),
        ("customer-centric service, mass acquisition >= 30", mean[SERVICE_ONLY],
         mean[SERVICE_ONLY] >= 30),
        ("its service / the oracle's service (mass acquisition) >= 1/3",
         mean[SERVICE_ONLY] / mean[ORACLE_SERVICE], mean[SERVICE_ONLY] >= mean[ORACLE_SERVICE] / 3),
        ("clv_bot.py - customer-centric >= -10", mean["example: clv_bot.py"] - cc,
         mean["example: clv_bot.py"] - cc >= -10),
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", nargs="*", default=shipped_scenario_names())
    parser.add_argument("--seeds", nargs="*", type=int, default=list(range(101, 111)))
    parser.add_argument("--prospects", type=int, default=20_000,
                        help="pool size; 0 plays each scenario at its own (shipped) size")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    report = {}
    failures = failures22 = 0
    for key in args.scenario:
        t0 = time.perf_counter()
        prospects = args.prospects or load_scenario(key).prospects
        m = measure(key, args.seeds, prospects)
        print(f"\n== {key}  (seeds {args.seeds[0]}..{args.seeds[-1]}, {prospects:,} prospects,"
              f" {time.perf_counter() - t0:.0f} s)")
        print(f"{'strategy':50s} {'score':>8s} {'sd':>6s} {'firm value':>14s}")
        for name, sc in m["scores"].items():
            print(f"{name:50s} {np.mean(sc):8.1f} {np.std(sc, ddof=1) if sc.size > 1 else 0:6.1f}"
                  f" {np.mean(m['values'][name]):14,.0f}")
        print("targets:")
        rows = targets(key, m)
        for text, measured, ok in rows:
            failures += not ok
            print(f"  {'PASS' if ok else 'FAIL'}  {text:52s} {measured:8.2f}")
        print("targets of issue 22:")
        rows22 = issue22_targets(m)
        for text, measured, ok in rows22:
            failures22 += not ok
            print(f"  {'PASS' if ok else 'FAIL'}  {text:52s} {measured:8.2f}")
        report[key] = {"scores": {k: v.tolist() for k, v in m["scores"].items()},
                       "targets": [[t, float(x), bool(ok)] for t, x, ok in rows],
                       "targets_issue22": [[t, float(x), bool(ok)] for t, x, ok in rows22]}
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    print(f"\n{failures} target(s) of issue 11 failed, {failures22} of issue 22")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
