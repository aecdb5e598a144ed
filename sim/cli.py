"""The ``ccsim`` command line (also ``python -m sim``).

Commands: ``scenarios``, ``validate FILE...``, ``run SCENARIO``, ``replay RECORD``, ``play``,
``fit CSV --model NAME`` (the analytics lab's models, see
:mod:`sim.analytics.fit_command`).
Errors in user input print one clear line and exit 2; no traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from typing import Sequence

from .analytics import fit_command
from .decisions import DecisionError
from .scenario import ScenarioError, load_scenario, shipped_scenario_names

EXIT_FAILED = 1
EXIT_USAGE = 2


def _cmd_scenarios(args: argparse.Namespace) -> int:
    for name in shipped_scenario_names():
        s = load_scenario(name)
        print(f"{name:<14} {s.name} — {s.business}")
        print(f"{'':<14} {s.turns} {s.turn_length}s, {s.prospects:,} prospects, "
              f"{len(s.channels)} channels{', contractual' if s.contractual else ''}")
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
    from .records import record_of, write_record
    from .runner import REFERENCES, score
    from .strategies import get_strategy

    scenario = load_scenario(args.scenario)
    if args.prospects is not None:
        scenario = scenario.with_prospects(args.prospects)
    strategy = get_strategy(args.strategy)
    started = time.perf_counter()
    print(f"{scenario.name}: {strategy.name} on seed {args.seed}, {scenario.prospects:,} prospects",
          file=sys.stderr)
    games = [strategy.name] + [b for b in REFERENCES if b != strategy.name]

    def progress(name: str) -> None:
        done = games.index(name)
        print(f"  [{done + 1}/{len(games)}] playing {name} ({time.perf_counter() - started:.1f} s)",
              file=sys.stderr, flush=True)

    card = score(scenario, strategy, args.seed, progress=progress)
    summary = card.to_dict()
    if args.record:
        scores = {"centricity_score": card.centricity_score, "baselines": summary["baselines"]}
        path = write_record(record_of(card.player, scores), args.record)
        print(f"record written to {path}", file=sys.stderr)
    if args.json:
        print(json.dumps(_strict(summary), indent=2, allow_nan=False))
        return 0
    _print_game(summary, scenario.contractual)
    print(f"({time.perf_counter() - started:.1f} s)", file=sys.stderr)
    return 0


def _strict(value):
    """NaN and infinities as null, so the JSON is strict."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strict(v) for v in value]
    return value


def _print_game(summary: dict, contractual: bool) -> None:
    """The turn table a player could see, then the score and the reveal."""
    turns = summary["turns"]
    seen = "members" if contractual else "buyers"
    print(f"{'turn':>4} {'acquired':>9} {seen:>9} {'revenue':>14} {'service':>12} {'profit':>14}")
    for t in turns:
        print(f"{t['turn']:>4} {t['acquired']:>9,} {t[seen]:>9,} {_money(t['revenue']):>14} "
              f"{_money(t['service_spend']):>12} {_money(t['profit']):>14}")
    print()
    print(f"firm value            {_money(summary['firm_value']):>16}")
    print(f"  discounted profit   {_money(summary['discounted_profit']):>16}")
    print(f"  customer equity     {_money(summary['terminal_equity']):>16} (at the end, undiscounted)")
    print("baselines (same seed):")
    for name, value in summary["baselines"].items():
        print(f"  {name:<18}  {_money(value):>16}")
    centricity = summary["centricity_score"]
    shown = f"{centricity:>16.1f}" if math.isfinite(centricity) else f"{'n/a':>16}"
    print(f"centricity score      {shown}  (0 = mass-marketing, 100 = oracle)")
    print()
    print("the reveal (hidden during play): customers really alive and lost each turn")
    print(f"{'turn':>4} {'alive':>10} {'lost':>9}")
    for t in turns:
        print(f"{t['turn']:>4} {t['alive']:>10,} {t['lost']:>9,}")
    shares = " ".join(f"{100 * x:.0f}%" for x in summary["service_by_value_decile"])
    print(f"service by true-value decile (best first): {shares}")


def _cmd_replay(args: argparse.Namespace) -> int:
    from .records import RecordError, read_record, verify_record

    started = time.perf_counter()
    try:
        record = read_record(args.record)
    except RecordError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"{args.record}: {record.scenario.name}, {record.strategy} on seed {record.seed}, "
          f"{record.scenario.prospects:,} prospects; replaying...", file=sys.stderr, flush=True)
    differences = verify_record(record, references=not args.no_references)
    if differences:
        for d in differences:
            print(f"differs: {d}")
        print(f"{len(differences)} difference(s): not verified")
        return EXIT_FAILED
    print(f"verified ({time.perf_counter() - started:.1f} s)")
    return 0


def _cmd_play(args: argparse.Namespace) -> int:
    if args.tournament:
        from .tournament import cli as tournament_cli

        return tournament_cli.play(args)
    # Until the pygame front end lands, play a headless game with a reference bot.
    ns = argparse.Namespace(scenario=args.scenario, strategy="customer-centric", seed=args.seed,
                            prospects=None, json=False, record=None)
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
    p.add_argument("--record", metavar="FILE", help="write the game record (JSON) to FILE")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("replay", help="play a game record again and verify every number it claims")
    p.add_argument("record", metavar="RECORD")
    p.add_argument("--no-references", action="store_true",
                   help="verify the game only, not the baselines it claims")
    p.set_defaults(func=_cmd_replay)

    p = sub.add_parser("play", help="play the game")
    p.add_argument("scenario", nargs="?", default="coffee")
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=_cmd_play)
    _add_tournament_commands(sub, p)

    fit_command.add_parser(sub, _cmd_fit)
    return parser


# ---- tournaments (issue 13): `ccsim tournament ...` and `ccsim play --tournament`;
# the logic is in sim.tournament.
def _cmd_tournament(args: argparse.Namespace) -> int:
    from .tournament import cli as tournament_cli

    return tournament_cli.main(args.argv)


def _add_tournament_commands(sub, play: argparse.ArgumentParser) -> None:
    g = play.add_argument_group("class tournament")
    g.add_argument("--tournament", metavar="FILE", help="play a class tournament file")
    g.add_argument("--team", help="your team (with --hot-seat: teams, comma-separated)")
    g.add_argument("--key", help="the key the instructor reveals (asked for if missing)")
    g.add_argument("--strategy", help="a reference's name or a bot file instead of the prompt")
    g.add_argument("--record", metavar="PATH", help="where to write the record (with "
                   "--hot-seat: a folder)")
    g.add_argument("--hot-seat", action="store_true",
                   help="all teams take turns on this machine, standings between turns")
    # `tournament SCENARIO ...`, `tournament new ...` and `tournament score ...` share one
    # entry; sim.tournament.cli parses the rest.
    p = sub.add_parser("tournament", add_help=False,
                       help="bots and records on many seeds; `new`/`score` for class play")
    p.add_argument("argv", nargs=argparse.REMAINDER)
    p.set_defaults(func=_cmd_tournament)


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
    except ValueError as exc:
        from .tournament import TournamentError

        if not isinstance(exc, TournamentError):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
