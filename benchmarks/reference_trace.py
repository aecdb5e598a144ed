"""The customer-centric reference turn by turn against the truth: what its test and its lab believe.

Usage::

    python benchmarks/reference_trace.py [--scenario meal_kit] [--seed 408]
        [--prospects 50000] [--turns 24] [--json trace.json]

A score says how well the reference played, not why.  Three things drive
its service, turning away and acquisition, and each can be set against the
truth the reference never sees:

* its test of who responds to service (``sim.analytics.response_test``):
  each turn, the estimated response theta (mean over segments) beside the
  true mean theta of the customers in that turn's test, and how many of
  them are served and held out.  An estimate far below the truth makes the
  reference serve few customers, and a small test then corrects it slowly;
* the lab's predicted CLV (``sim.analytics.clv``) of the customers it
  has: its mean beside the mean of the truth's value under the neutral
  policy (``sim.valuation.customer_equity`` for customers still alive, 0
  for those gone), over the whole base and by the latent type the lab
  never sees.  A type valued far off is one the reference serves,
  turns away or acquires for the wrong reasons;
* whom it turns away: by latent type, how many, and their mean predicted
  worth (CLV, plus the lab's CRV in a game with referrals) beside their
  true value to the firm if kept (neutral policy) and, with referrals,
  the true value of the friends they would bring (``sim.referral_value``).

After the table come the test's error against the true theta (its mean and
worst), whom it turned away each turn, and the lab's mean against the
truth's at the first, middle and last turn.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import sim._blas_threads  # noqa: E402,F401  (one thread each, before numpy)

import numpy as np  # noqa: E402

from sim.analytics.clv import CustomerValue  # noqa: E402
from sim.engine import Game  # noqa: E402
from sim.scenario import load_scenario, shipped_scenario_names  # noqa: E402
from sim.strategies.centric import CustomerCentric  # noqa: E402
from sim.referral_value import referral_equity  # noqa: E402
from sim.valuation import customer_equity  # noqa: E402


@dataclass(frozen=True)
class TurnTrace:
    """One turn of the reference's beliefs beside the truth.

    Attributes:
        turn: the turn decided.
        theta_estimate: the test's estimated response, mean over segments
            (None before the lab could fit).
        theta_true: true mean response of the customers in this turn's test.
        served, held_out: customers in this turn's test on each side.
        lab_mean: the lab's mean predicted CLV over the base, dollars.
        true_mean: the truth's mean neutral value over the base, dollars.
        by_type: per latent type: [customers, lab mean, true mean].
        turned_away: per latent type with anyone turned away this turn:
            [customers, mean predicted worth, mean true own value, mean
            true referral value], dollars.
    """

    turn: int
    theta_estimate: float | None
    theta_true: float | None
    served: int
    held_out: int
    lab_mean: float | None
    true_mean: float
    by_type: dict[str, list[float]]
    turned_away: dict[str, list[float]]


class _Traced(CustomerCentric):
    """The reference, keeping each turn's lab predictions, its worth and its plan for the trace."""

    def reset(self, scenario, seed: int | None = None) -> None:
        super().reset(scenario, seed)
        self.last_value: CustomerValue | None = None
        self.last_worth: np.ndarray | None = None
        self.last_plan = None

    def service_plan(self, observation, value):
        self.last_value = value
        # The worth its plan turns away by (CLV, plus its own CRV where customers refer).
        self.last_worth = self._worth(value)
        self.last_plan = super().service_plan(observation, value)
        return self.last_plan


def trace(scenario_key: str, seed: int, prospects: int, turns: int | None = None) -> list[TurnTrace]:
    """Play the reference on ``seed`` and read its beliefs and the truth at every turn.

    Args:
        scenario_key: a shipped scenario.
        seed: the root seed.
        prospects: pool size (0 for the scenario's own).
        turns: stop after this many turns (None: the whole game).
    """
    scenario = load_scenario(scenario_key)
    if prospects:
        scenario = scenario.with_prospects(prospects)
    game = Game(scenario)
    observation = game.reset(seed)
    strategy = _Traced()
    strategy.reset(game.public, seed)
    names = [t.name for t in scenario.types]
    response = np.array([t.service_response for t in scenario.types])
    out = []
    while not game.done and (turns is None or len(out) < turns):
        strategy.last_value = strategy.last_worth = strategy.last_plan = None
        decision = strategy.decide(observation)
        truth = game.truth
        prospect = truth.row_prospect[: observation.n_customers]
        kind = truth.population.type_index[prospect]
        alive = truth.alive[prospect]
        true_value = np.zeros(prospect.size)
        true_value[alive] = customer_equity(truth.population, prospect[alive], truth.scenario)
        test = strategy.response_test
        awaiting = None if test is None else test.awaiting
        theta_true, served, held = None, 0, 0
        if awaiting is not None and awaiting[0].size:
            rows, held_out = awaiting
            theta_true = float(response[kind[rows]].mean())
            served, held = int((~held_out).sum()), int(held_out.sum())
        value = strategy.last_value
        lab = np.full(prospect.size, np.nan) if value is None else value.predicted_clv
        turned_away = {}
        if strategy.last_plan is not None:
            away = np.flatnonzero(strategy.last_plan.turn_away)
            friends = referral_equity(truth.population, prospect[away], truth.scenario, truth.in_pool)
            turned_away = _by_type(kind[away], names, strategy.last_worth[away], true_value[away],
                                   friends)
        out.append(TurnTrace(
            observation.turn,
            float(test.theta().mean()) if value is not None else None,
            theta_true, served, held,
            None if value is None else float(lab.mean()), float(true_value.mean()),
            _by_type(kind, names, lab, true_value), turned_away))
        observation, _ = game.step(decision)
    return out


def _by_type(kind: np.ndarray, names: list[str], *columns: np.ndarray) -> dict[str, list[float]]:
    """Per latent type present: [customers, then the mean of each column over them]."""
    out = {}
    for k, name in enumerate(names):
        mine = kind == k
        if mine.any():
            out[name] = [int(mine.sum())] + [float(c[mine].mean()) for c in columns]
    return out


def _format(value: float | None, spec: str) -> str:
    return "-" if value is None or not np.isfinite(value) else format(value, spec)


def report(rows: list[TurnTrace]) -> str:
    """The trace as a table, one line per turn, then its summary."""
    names = list(rows[0].by_type) if rows else []
    head = (f"{'turn':>4} {'theta est':>9} {'true':>5} {'served':>6} {'held':>5} "
            f"{'lab CLV':>8} {'true':>8}  " + "  ".join(f"{n[:16]:>16}" for n in names))
    lines = [head, " " * 51 + "  ".join(f"{'lab / true':>16}" for _ in names)]
    for r in rows:
        cells = []
        for n in names:
            count, lab, true = r.by_type.get(n, [0, float("nan"), float("nan")])
            cells.append(f"{_format(lab, '7,.0f'):>7} / {_format(true, '6,.0f'):>6}")
        lines.append(f"{r.turn:4d} {_format(r.theta_estimate, '9.2f')} {_format(r.theta_true, '5.2f')} "
                     f"{r.served:6d} {r.held_out:5d} {_format(r.lab_mean, '8,.0f')} "
                     f"{r.true_mean:8,.0f}  " + "  ".join(f"{c:>16}" for c in cells))
    errors = [r.theta_estimate - r.theta_true for r in rows
              if r.theta_estimate is not None and r.theta_true is not None]
    if errors:
        worst = errors[int(np.argmax(np.abs(errors)))]
        lines.append(f"test: estimate - true theta, mean {np.mean(errors):+.2f}, worst {worst:+.2f} "
                     f"over {len(errors)} turns")
    lines.append("turned away, by type: count (predicted worth / true own value / true referral value)")
    for r in rows:
        if r.turned_away:
            lines.append(f"{r.turn:4d}  " + ";  ".join(
                f"{n} {int(c)} ({w:,.0f} / {own:,.0f} / {crv:,.0f})"
                for n, (c, w, own, crv) in r.turned_away.items()))
    valued = [r for r in rows if r.lab_mean is not None and r.true_mean > 0]
    if valued:
        picks = sorted({0, len(valued) // 2, len(valued) - 1})
        lines.append("lab CLV / truth: " + ", ".join(
            f"turn {valued[i].turn} {valued[i].lab_mean / valued[i].true_mean:.2f}" for i in picks))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="meal_kit", choices=shipped_scenario_names())
    parser.add_argument("--seed", type=int, default=408)
    parser.add_argument("--prospects", type=int, default=50_000,
                        help="pool size; 0 plays the scenario at its own (shipped) size")
    parser.add_argument("--turns", type=int, default=None, help="stop after this many turns")
    parser.add_argument("--json", type=Path, help="also write the trace here")
    args = parser.parse_args(argv)
    if args.prospects < 0 or (args.turns is not None and args.turns < 1):
        parser.error("--prospects must be >= 0 and --turns >= 1")
    rows = trace(args.scenario, args.seed, args.prospects, args.turns)
    print(f"customer-centric reference, {args.scenario}, seed {args.seed}, "
          f"{args.prospects or load_scenario(args.scenario).prospects:,} prospects")
    print(report(rows))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
