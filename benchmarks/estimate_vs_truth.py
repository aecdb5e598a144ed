"""Estimated customer equity against the truth the scorer counts, on the reference strategies' games.

Usage::

    python benchmarks/estimate_vs_truth.py [--seeds 1-10] [--prospects 20000] [--scenarios ...]

For every shipped scenario, reference strategy and seed, the game is played
and, at its end, the customer equity is estimated from what the firm has
seen and what it did (``sim.analytics.equity``: the models fitted with the
player's service and turning away as covariates, each customer valued with
the treatment taken off, as the scorer does) and compared with the true
terminal equity the score counts (``sim.scoring.value_game``).  The lab's
predicted CLV summed over the customers (``sim.analytics.clv``, which
extrapolates behaviour as served) is shown beside it for comparison.

Each cell: the mean and the worst (largest in size) error of the estimate,
estimate / truth - 1, over the seeds, and how often the truth fell inside
the estimate's interval.  The target: within +-25% on every seed on the
customer-centric reference's games, in every scenario (PASS/FAIL).
``--prospects 0`` plays each scenario at its shipped size.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import sim._blas_threads  # noqa: E402,F401  (one thread each, before numpy)

import numpy as np  # noqa: E402

from sim.analytics.clv import predict_clv  # noqa: E402
from sim.analytics.equity import LEVEL, estimate_equity  # noqa: E402
from sim.analytics.fitting import DataError  # noqa: E402
from sim.references import REFERENCES  # noqa: E402
from sim.runner import play_game  # noqa: E402
from sim.scenario import load_scenario, shipped_scenario_names  # noqa: E402
from sim.strategies import get_strategy  # noqa: E402
from sim.tournament import TournamentError, parse_seeds  # noqa: E402
from sim.treatment import TreatmentLog  # noqa: E402

#: The error the customer-centric row must stay within on every seed.
TARGET = 0.25


def play_logged(scenario, strategy: str, seed: int) -> tuple:
    """One game played to its end, with the log of what the player's tiers did.

    Returns:
        (the played game, its ``TreatmentLog``): what the equity estimate reads.
    """
    log = TreatmentLog()
    played = play_game(scenario, get_strategy(strategy), seed,
                       before_turn=lambda obs, decision: log.record(obs, decision))
    return played, log


def compare(scenario, strategy: str, seed: int) -> dict:
    """One game's estimate against its truth (dollars at the end of the game)."""
    played, log = play_logged(scenario, strategy, seed)
    observation = played.game.observation
    true = played.value.terminal_equity
    started = time.perf_counter()
    try:
        effect, away = log.effect(observation)
        estimate = estimate_equity(observation, effect, away)
        est, low, high = estimate.total, estimate.low, estimate.high
    except DataError:
        est = low = high = float("nan")
    seconds = time.perf_counter() - started
    try:
        lab = float(np.sum(predict_clv(observation).predicted_clv))
    except DataError:
        lab = float("nan")
    return {"true": true, "estimate": est, "low": low, "high": high, "lab": lab,
            "seconds": seconds}


def _error(estimate: float, true: float) -> float:
    return estimate / true - 1.0 if true else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1-10")
    parser.add_argument("--prospects", type=int, default=20_000,
                        help="market size (0: each scenario's shipped size)")
    parser.add_argument("--scenarios", nargs="*", default=shipped_scenario_names())
    parser.add_argument("--strategies", nargs="*", default=list(REFERENCES))
    args = parser.parse_args()
    try:
        seeds = parse_seeds(args.seeds)
    except TournamentError as error:
        parser.error(str(error))
    size = "shipped sizes" if args.prospects == 0 else f"{args.prospects:,} prospects"
    print(f"estimate vs truth: {len(seeds)} seeds ({args.seeds}), {size}; "
          f"error = estimate / true equity - 1; {LEVEL:.0%} interval")
    print(f"{'scenario':17s} {'reference':17s} {'mean':>6s} {'worst':>6s} {'in interval':>11s} "
          f"{'lab mean':>8s} {'lab worst':>9s} {'fit s':>6s}  target")
    verdicts = []
    for name in args.scenarios:
        scenario = load_scenario(name)
        if args.prospects:
            scenario = scenario.with_prospects(args.prospects)
        for strategy in args.strategies:
            rows = [compare(scenario, strategy, seed) for seed in seeds]
            errors = np.array([_error(r["estimate"], r["true"]) for r in rows])
            lab = np.array([_error(r["lab"], r["true"]) for r in rows])
            inside = np.mean([r["low"] <= r["true"] <= r["high"] for r in rows])
            worst = errors[np.nanargmax(np.abs(errors))] if np.isfinite(errors).any() else np.nan
            lab_worst = lab[np.nanargmax(np.abs(lab))] if np.isfinite(lab).any() else np.nan
            verdict = ""
            if strategy == "customer-centric":
                ok = bool(np.all(np.abs(errors) <= TARGET))
                verdicts.append(ok)
                verdict = "PASS" if ok else "FAIL"
            print(f"{name:17s} {strategy:17s} {np.nanmean(errors):+6.0%} {worst:+6.0%} "
                  f"{inside:11.0%} {np.nanmean(lab):+8.0%} {lab_worst:+9.0%} "
                  f"{np.mean([r['seconds'] for r in rows]):6.2f}  {verdict}", flush=True)
    print(f"customer-centric within +-{TARGET:.0%} on every seed: "
          f"{'PASS' if verdicts and all(verdicts) else 'FAIL'}")
    with open("/proc/loadavg") as f:
        print(f"load average: {f.read().split()[0]} ({time.strftime('%Y-%m-%d')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
