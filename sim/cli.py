"""The ``ccsim`` command line (also ``python -m sim``).

Commands: ``scenarios``, ``validate FILE...``, ``run SCENARIO``, ``play``,
``fit CSV --model NAME`` (the analytics lab's models, see
:mod:`sim.analytics.fit_command`).
Errors in user input print one clear line and exit 2; no traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Sequence

from .analytics import fit_command
from .decisions import DecisionError
from .scenario import ScenarioError, load_scenario, shipped_scenario_names

EXIT_USAGE = 2


def _cmd_scenarios(args: argparse.Namespace) -> int:
    for name in shipped_scenario_names():
        s = load_scenario(name)
        print(f"{name:<14} {s.name} — {s.business}")
        print(f"{'':<14} {s.turns} {s.turn_length}s, {s.prospects:,} prospects, "
              f"{len(s.channels)} channels{', contractual' if s.contractual else ''}")
        print(f"{'':<14} marketing budget ${s.budget.marketing:,.0f} a {s.turn_length} "
              "(acquisition + service)")
        print(f"{'':<14} lesson: {s.lesson}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.files:
        try:
            s = load_scenario(path)
        except ScenarioError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
        else:
            print(f"ok: {path} ({s.name}, {len(s.types)} types, {len(s.channels)} channels)")
    return EXIT_USAGE if failed else 0


def _money(x: float) -> str:
    return f"-${-x:,.0f}" if x < 0 else f"${x:,.0f}"


def _cmd_run(args: argparse.Namespace) -> int:
    from .scoring import BASELINES, score
    from .strategies import get_strategy

    scenario = load_scenario(args.scenario)
    if args.prospects is not None:
        scenario = scenario.with_prospects(args.prospects)
    strategy = get_strategy(args.strategy)
    started = time.perf_counter()
    print(f"{scenario.name}: {args.strategy} on seed {args.seed}, {scenario.prospects:,} prospects",
          file=sys.stderr)
    games = [args.strategy] + [b for b in BASELINES if b != args.strategy]

    def progress(name: str) -> None:
        done = games.index(name)
        print(f"  [{done + 1}/{len(games)}] playing {name} ({time.perf_counter() - started:.1f} s)",
              file=sys.stderr, flush=True)

    card = score(scenario, strategy, args.seed, progress=progress)
    player = card.player
    turns = [
        {"turn": r.books.turn, "customers": r.customers, "acquired": r.books.acquired,
         "lost": r.lost, "revenue": r.books.revenue, "profit": r.books.profit}
        for r in player.turns
    ]
    baselines = {name: v.firm_value for name, v in card.baselines.items()}
    if args.json:
        print(json.dumps({
            "scenario": scenario.key,
            "seed": args.seed,
            "strategy": args.strategy,
            "prospects": scenario.prospects,
            "firm_value": player.firm_value,
            "discounted_profit": player.discounted_profit,
            "terminal_equity": player.terminal_equity,
            "centricity_score": card.centricity_score,
            "baselines": baselines,
            "service_by_value_decile": list(player.service_by_value_decile),
            "turns": turns,
        }, indent=2))
        return 0
    print(f"{'turn':>4} {'customers':>10} {'acquired':>9} {'lost':>8} {'revenue':>14} {'profit':>14}")
    for t in turns:
        print(f"{t['turn']:>4} {t['customers']:>10,} {t['acquired']:>9,} {t['lost']:>8,} "
              f"{_money(t['revenue']):>14} {_money(t['profit']):>14}")
    print()
    print(f"firm value            {_money(player.firm_value):>16}")
    print(f"  discounted profit   {_money(player.discounted_profit):>16}")
    print(f"  customer equity     {_money(player.terminal_equity):>16} (at the end, undiscounted)")
    print("baselines (same seed):")
    for name, value in baselines.items():
        print(f"  {name:<18}  {_money(value):>16}")
    print(f"centricity score      {card.centricity_score:>16.1f}  (0 = mass-marketing, 100 = oracle)")
    shares = " ".join(f"{100 * x:.0f}%" for x in player.service_by_value_decile)
    print(f"service by true-value decile (best first): {shares}")
    print(f"({time.perf_counter() - started:.1f} s)", file=sys.stderr)
    return 0


def _cmd_play(args: argparse.Namespace) -> int:
    # Until the pygame front end lands, play a headless game with a reference bot.
    ns = argparse.Namespace(scenario=args.scenario, strategy="customer-centric", seed=args.seed,
                            prospects=None, json=False)
    return _cmd_run(ns)


def _cmd_fit(args: argparse.Namespace) -> int:
    return fit_command.run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ccsim", description="Customer Centricity Simulator")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("scenarios", help="list the shipped scenarios")
    p.set_defaults(func=_cmd_scenarios)

    p = sub.add_parser("validate", help="check scenario files; report each bad one and exit 2 if any is bad")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(func=_cmd_validate)

    from .strategies import strategy_names

    p = sub.add_parser("run", help="play a whole headless game and score it")
    p.add_argument("scenario", help="a scenario file or a shipped name (see `ccsim scenarios`)")
    p.add_argument("--strategy", default="customer-centric", choices=strategy_names())
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--prospects", type=int, default=None, help="override the pool size")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("play", help="play the game")
    p.add_argument("scenario", nargs="?", default="coffee")
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=_cmd_play)

    fit_command.add_parser(sub, _cmd_fit)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "seed", 0) is not None and getattr(args, "seed", 0) < 0:
        parser.error("--seed must be >= 0")
    if getattr(args, "prospects", None) is not None and args.prospects < 100:
        parser.error("--prospects must be at least 100")
    try:
        return args.func(args)
    except (ScenarioError, DecisionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
