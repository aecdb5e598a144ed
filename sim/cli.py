"""The ``ccsim`` command line (also ``python -m sim``).

Commands: ``scenarios``, ``validate FILE...``, ``run SCENARIO``, ``play``,
``fit CSV --model NAME`` (the analytics lab's models, see
:mod:`sim.analytics.fit_command`).
Errors in user input print one clear line and exit 2; no traceback.  Exit
statuses (also in ``ccsim --help``): 0 success; 1 a failed verification or
fit; 2 bad input (file, option, scenario, decision or data); 3 an internal
error, reported in one line with the traceback written to a file in the
temporary directory; 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
import traceback
from typing import Sequence

from . import limits, strict_json
from .analytics import fit_command
from .errors import SimError
from .scenario import load_scenario, shipped_scenario_names

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130
#: Largest --seed: numpy's SeedSequence takes any size, but records and
#: other tools should not have to.
MAX_SEED = 2 ** 63 - 1

EPILOG = f"""\
exit status:
  {EXIT_OK}    success
  {EXIT_FAILED}    a failed verification or a failed fit
  {EXIT_USAGE}    bad input: a file, option, scenario, decision or data the command
       refuses (one line on stderr naming the field, or the line and column)
  {EXIT_INTERNAL}    an internal error: one line on stderr saying where the details
       (the traceback) were written, in the temporary directory
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C)
scenario limits: docs/scenario-limits.md (every number's accepted range)"""


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
        except SimError as exc:
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
        why = {"$.centricity_score": "the oracle did not beat mass-marketing on this seed, "
                                     "so the score has no scale"}
        print(strict_json.dumps({
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
        }, why=why, indent=2))
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
    parser = argparse.ArgumentParser(prog="ccsim", description="Customer Centricity Simulator",
                                     epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
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
    p.add_argument("--seed", type=_seed, default=1, help=f"root seed, 0 .. {MAX_SEED}")
    prospects = limits.FIELD_LIMITS["prospects"]
    p.add_argument("--prospects", type=_prospects, default=None,
                   help=f"override the pool size ({prospects.low:,} .. {prospects.high:,})")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("play", help="play the game")
    p.add_argument("scenario", nargs="?", default="coffee")
    p.add_argument("--seed", type=_seed, default=1, help=f"root seed, 0 .. {MAX_SEED}")
    p.set_defaults(func=_cmd_play)

    fit_command.add_parser(sub, _cmd_fit)
    return parser


_WHOLE = re.compile(r"[0-9]{1,30}")


def _whole(text: str, low: int, high: int, what: str) -> int:
    """A plain ASCII whole number in [low, high], for argparse (its errors exit 2)."""
    text = text.strip()
    too_small = f"{what} must be at least {low:,}" if low > 0 else f"{what} must be >= 0"
    if text.startswith("-") and _WHOLE.fullmatch(text[1:]):
        raise argparse.ArgumentTypeError(f"{too_small}, got {text[:40]}")
    # int() would also take '1_000' and non-ASCII digits; a length cap keeps
    # int() of a million-digit argument from taking seconds.
    if not _WHOLE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{what} must be a whole number {low:,} .. {high:,}, "
                                         f"got {text[:40]!r}")
    value = int(text)
    if value < low:
        raise argparse.ArgumentTypeError(f"{too_small}, got {text}")
    if value > high:
        raise argparse.ArgumentTypeError(f"{what} must be at most {high:,}, got {text[:40]}")
    return value


def _seed(text: str) -> int:
    return _whole(text, 0, MAX_SEED, "--seed")


def _prospects(text: str) -> int:
    limit = limits.FIELD_LIMITS["prospects"]
    return _whole(text, int(limit.low), int(limit.high), "--prospects")


def _internal_error(exc: BaseException) -> int:
    """Report an unexpected error in one line; the traceback goes to a file."""
    try:
        handle, path = tempfile.mkstemp(prefix="ccsim-error-", suffix=".txt")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(f"ccsim {' '.join(sys.argv[1:])}\n\n")
            out.write("".join(traceback.format_exception(exc)))
        where = f"details written to {path}"
    except OSError as write_error:
        where = f"details could not be written ({write_error.strerror or write_error})"
    message = str(exc).splitlines()[0][:200] if str(exc) else ""
    print(f"internal error: {type(exc).__name__}: {message}; {where}", file=sys.stderr)
    return EXIT_INTERNAL


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (see ``EPILOG``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except SimError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except MemoryError:
        print("error: out of memory (try fewer prospects)", file=sys.stderr)
        return EXIT_INTERNAL
    except Exception as exc:  # noqa: BLE001 - the one place that turns bugs into a report
        return _internal_error(exc)
