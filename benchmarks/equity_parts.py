"""The estimated customer equity split into its parts, against the truth's parts.

Usage::

    python benchmarks/equity_parts.py [--scenario fitness_studio] [--seeds 1-3]
        [--prospects 20000] [--strategy customer-centric]

``benchmarks/estimate_vs_truth.py`` compares totals; this says where a
total's error comes from.  For each seed the game is played and at its end
the equity estimate (``sim.analytics.equity``) is split into

* purchases: each customer's own future contribution (fees, add-ons,
  purchases), against the truth's ``sim.valuation.customer_equity`` of the
  customers still alive;
* referrals: the predicted referral value and the friends referred in the
  last turn, against the truth's CRV and pending friends
  (``sim.referral_value``), 0 in a scenario without referrals;

and, by the latent type the estimate never sees, the same two parts beside
the type's alive count and true mean annuity (expected discounted turns
still a customer, neutral policy, from each one's own dropout rate): a
type whose purchases part is far off with a long annuity is one the
estimate gives too short a future.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import sim._blas_threads  # noqa: E402,F401  (one thread each, before numpy)

import numpy as np  # noqa: E402

from sim.analytics import equity  # noqa: E402
from sim.referral_value import friend_values_by_type, pending_value, referral_equity  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402
from sim.tournament import TournamentError, parse_seeds  # noqa: E402
from sim.valuation import annuity_factor, customer_equity  # noqa: E402

from estimate_vs_truth import play_logged  # noqa: E402  (this folder's)


def parts(scenario, strategy: str, seed: int) -> dict:
    """One game's equity parts, estimate and truth, in total and per latent type (dollars)."""
    played, log = play_logged(scenario, strategy, seed)
    observation, truth = played.game.observation, played.game.truth
    s, population = truth.scenario, truth.population
    effect, away = log.effect(observation)
    estimate = equity.estimate_equity(observation, effect, away)
    # The estimate's referral part, as estimate_equity adds it.
    referral = estimate.referrals
    alive = np.asarray(observation.active, dtype=bool)
    ids = truth.row_prospect[alive]
    own = customer_equity(population, ids, s)
    crv = np.zeros(ids.size)
    pending = 0.0
    if s.referrals is not None:
        friend = friend_values_by_type(population, s, truth.in_pool)
        crv = referral_equity(population, ids, s, truth.in_pool, friend)
        pending = pending_value(population, truth.pending_referrals, s, truth.in_pool, friend)
    kind = population.type_index[ids]
    est_own = (estimate.per_customer - referral)[alive]
    est_ref = referral[alive]
    annuity = annuity_factor(population.dropout_rate[ids], s.discount_rate, s.contractual)
    types = []
    for k, t in enumerate(s.types):
        mine = kind == k
        types.append({"type": t.name, "alive": int(mine.sum()),
                      "true_purchases": float(own[mine].sum()), "est_purchases": float(est_own[mine].sum()),
                      "true_referrals": float(crv[mine].sum()), "est_referrals": float(est_ref[mine].sum()),
                      "true_annuity": float(annuity[mine].mean()) if mine.any() else float("nan")})
    return {"true": played.value.terminal_equity, "estimate": estimate.total,
            "true_purchases": float(own.sum()), "est_purchases": float(est_own.sum()),
            "true_referrals": float(crv.sum()) + pending, "est_referrals": float(referral.sum()),
            "types": types}


def _error(estimate: float, true: float) -> str:
    return f"{estimate / true - 1:+6.0%}" if true else "     -"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="fitness_studio")
    parser.add_argument("--seeds", default="1-3")
    parser.add_argument("--prospects", type=int, default=20_000,
                        help="market size (0: the scenario's shipped size)")
    parser.add_argument("--strategy", default="customer-centric")
    args = parser.parse_args()
    try:
        seeds = parse_seeds(args.seeds)
    except TournamentError as error:
        parser.error(str(error))
    scenario = load_scenario(args.scenario)
    if args.prospects:
        scenario = scenario.with_prospects(args.prospects)
    print(f"equity parts: {args.scenario}, {args.strategy}, {args.prospects or 'shipped'} prospects; "
          f"dollars (estimate / truth - 1)")
    for seed in seeds:
        r = parts(scenario, args.strategy, seed)
        print(f"seed {seed}: total est {r['estimate']:12,.0f} true {r['true']:12,.0f} "
              f"({_error(r['estimate'], r['true'])}) | purchases est {r['est_purchases']:12,.0f} "
              f"true {r['true_purchases']:12,.0f} ({_error(r['est_purchases'], r['true_purchases'])}) | "
              f"referrals est {r['est_referrals']:12,.0f} true {r['true_referrals']:12,.0f} "
              f"({_error(r['est_referrals'], r['true_referrals'])})")
        for t in r["types"]:
            print(f"    {t['type']:18s} alive {t['alive']:6d}  true annuity {t['true_annuity']:5.1f}  "
                  f"purchases est {t['est_purchases']:11,.0f} true {t['true_purchases']:11,.0f}  "
                  f"referrals est {t['est_referrals']:11,.0f} true {t['true_referrals']:11,.0f}")
    with open("/proc/loadavg") as f:
        print(f"load average: {f.read().split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
