"""The ``ccsim`` command line (also ``python -m sim``).

Commands: ``scenarios``, ``validate FILE...``, ``run SCENARIO``, ``replay RECORD``, ``play``
(``--join URL`` on a class server), ``serve TOURNAMENT`` (the class server),
``demo --screenshots DIR``, ``report RECORD --out DIR``,
``fit CSV --model NAME`` (the analytics lab's models, see
:mod:`sim.analytics.fit_command`), ``export RECORD --transactions FILE.csv``
(:mod:`sim.export`).
Errors in user input print one clear line and exit 2; no traceback.  Exit
statuses (also in ``ccsim --help``): 0 success; 1 a failed verification or
fit; 2 bad input (file, option, scenario, decision or data); 3 an internal
error, reported in one line with the traceback written to a file in the
temporary directory; 130 interrupted.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import tempfile
import time
import traceback
from typing import Sequence

from . import _blas_threads  # noqa: F401 - first of ours: before anything loads numpy
from . import limits, strict_json
from ._version import package_version
from .analytics import fit_command
from .bots import is_bot_path
from .errors import SimError
from .output_paths import check_output_file, check_output_folder
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
        print(f"{'':<14} marketing budget ${s.budget.marketing:,.0f} a {s.turn_length} "
              "(acquisition + service)")
        print(f"{'':<14} lesson: {s.lesson}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.files:
        try:
            s = load_scenario(path)
        except SimError as exc:
            _refused(exc)
            failed += 1
        else:
            print(f"ok: {path} ({s.name}, {len(s.types)} types, {len(s.channels)} channels)")
    return EXIT_USAGE if failed else 0


def _money(x: float) -> str:
    return f"-${-x:,.0f}" if x < 0 else f"${x:,.0f}"


#: Seconds a bot file gets per decision in ``ccsim run`` (its own machine: generous).
RUN_TURN_SECONDS = 60.0


def _cmd_run(args: argparse.Namespace) -> int:
    from .strategies import get_strategy

    if args.record is not None:
        # Before the game: a record that cannot be written is said now, not after the game.
        check_output_file(args.record, "--record", inputs=(args.scenario, args.strategy))
    scenario = load_scenario(args.scenario)
    if args.prospects is not None:
        scenario = scenario.with_prospects(args.prospects)
    if is_bot_path(args.strategy):
        # A bot never runs in the scorer's process: it is played sandboxed, as
        # in tournaments; its prints go to stderr, never into --json output.
        from .public import PublicScenario
        from .tournament.sandbox import SandboxedBot

        strategy = SandboxedBot(args.strategy, turn_seconds=RUN_TURN_SECONDS, memory_mb=0,
                                log=sys.stderr)
        strategy.reset(PublicScenario.of(scenario))  # learns the bot's own name (and checks it)
    else:
        strategy = get_strategy(args.strategy)
    try:
        return _run_game(args, scenario, strategy)
    finally:
        getattr(strategy, "close", lambda: None)()


def _run_game(args: argparse.Namespace, scenario, strategy) -> int:
    """Play ``strategy``'s game and the references, then print (or write) the result."""
    from .records import record_of, write_record
    from .runner import REFERENCES, score

    started = time.perf_counter()
    print(f"{scenario.name}: {strategy.name} on seed {args.seed}, {scenario.prospects:,} prospects",
          file=sys.stderr)
    games = [strategy.name] + [b for b in REFERENCES if b != strategy.name]

    def progress(name: str) -> None:
        done = games.index(name)
        print(f"  [{done + 1}/{len(games)}] playing {name} ({time.perf_counter() - started:.1f} s)",
              file=sys.stderr, flush=True)

    workers = args.workers if args.workers is not None else _auto_workers(scenario.prospects)
    card = score(scenario, strategy, args.seed, progress=progress, workers=workers)
    summary = card.to_dict()
    if args.record is not None:
        scores = {"centricity_score": card.centricity_score, "baselines": summary["baselines"]}
        path = write_record(record_of(card.player, scores), args.record)
        print(f"record written to {path}", file=sys.stderr)
    if args.json:
        why = {"$.centricity_score": "the oracle did not beat mass-marketing on this seed, "
                                     "so the score has no scale"}
        print(strict_json.dumps(summary, why=why, indent=2))
        return 0
    _print_game(summary, scenario.contractual)
    print(f"({time.perf_counter() - started:.1f} s)", file=sys.stderr)
    return 0


#: From this many prospects on, ``ccsim run`` plays the references in worker
#: processes: below it a game takes less than starting a worker.
PARALLEL_FROM_PROSPECTS = 200_000


def _auto_workers(prospects: int) -> int:
    """Worker processes for the reference games: every core for a large market, else none."""
    return min(os.cpu_count() or 1, 4) if prospects >= PARALLEL_FROM_PROSPECTS else 1


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
        return _refused(exc)
    print(f"{_printable(args.record)}: {_printable(record.scenario.name)}, "
          f"{_printable(record.strategy)} on seed {record.seed}, "
          f"{record.scenario.prospects:,} prospects; replaying...", file=sys.stderr, flush=True)
    differences = verify_record(record, references=not args.no_references)
    if differences:
        for d in differences:
            print(f"differs: {_printable(str(d), 400)}")
        print(f"{len(differences)} difference(s): not verified")
        return EXIT_FAILED
    print(f"verified ({time.perf_counter() - started:.1f} s)")
    return 0


# --- the game window, its scripted demo and the debrief report (issue 12) -------------

def _cmd_play(args: argparse.Namespace) -> int:
    if args.join:
        return _play_remote(args)
    if args.tournament:
        from .tournament import cli as tournament_cli

        return tournament_cli.play(args)
    if args.scenario is not None:
        load_scenario(args.scenario)    # a bad name is a one-line error, before any window opens
    from .ui.app import run_game

    return run_game(args.scenario, args.seed, large_text=args.large_text)


def _play_remote(args: argparse.Namespace) -> int:
    """``ccsim play --join URL --team T --code C``: the game window on a class server's game."""
    from .classnet.remote import RemoteSession

    if not args.team or not args.code:
        raise SimError("--join: give your team and its code too: --team NAME --code CODE "
                       "(the instructor hands out the codes)")
    if args.tournament or args.hot_seat:
        raise SimError("--join plays on a class server: leave out --tournament and --hot-seat")
    session = RemoteSession.join(args.join, args.team, args.code)
    try:
        from .ui.app import run_game

        return run_game(large_text=args.large_text, session=session)
    finally:
        session.close()


def _cmd_serve(args: argparse.Namespace) -> int:
    """``ccsim serve TOURNAMENT --secret SECRET``: the class server, until Ctrl-C."""
    from pathlib import Path

    from .classnet.classroom import Classroom
    from .classnet.server import serve
    from .tournament.classplay import read_key, read_tournament

    tournament = read_tournament(args.tournament)
    key = read_key(args.secret)
    state = args.state or str(Path(args.tournament).with_suffix("")) + ".server"
    check_output_folder(state, "--state")
    classroom = Classroom(tournament, key, state)
    serve(classroom, args.host, args.port, rate=args.max_rate)
    return 0


def _rate(text: str) -> int:
    return _whole(text, 1, 100_000, "--max-rate")


def _port(text: str) -> int:
    return _whole(text, 1, 65535, "--port")


def _add_serve_parser(sub) -> None:
    p = sub.add_parser("serve", help="serve a class tournament on this machine: teams join from "
                                     "their game window, the instructor follows in a browser")
    p.add_argument("tournament", metavar="TOURNAMENT.json", help="the class tournament file "
                   "(`ccsim tournament new`)")
    p.add_argument("--secret", required=True, metavar="SECRET",
                   help="the tournament's secret file (or its key): the market stays in the server")
    p.add_argument("--host", default="0.0.0.0",
                   help="address to listen on (default 0.0.0.0: every network of this machine)")
    p.add_argument("--port", type=_port, default=8765, help="port (default 8765)")
    p.add_argument("--state", metavar="DIR", help="where the games are kept after every turn "
                   "(default: beside the tournament file, NAME.server); the same folder resumes them")
    p.add_argument("--max-rate", type=_rate, default=4, metavar="N",
                   help="messages a window may send per second (default 4: more than a person "
                        "clicks; scripted clients need more)")
    p.set_defaults(func=_cmd_serve)


def _cmd_demo(args: argparse.Namespace) -> int:
    check_output_folder(args.screenshots, "--screenshots")
    load_scenario(args.scenario)    # a bad scenario is a one-line error before the window opens
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    from .ui.demo import run_demo

    shots = run_demo(args.screenshots, args.size, args.scenario, args.seed, args.prospects,
                     large_text=args.large_text)
    for path in shots:
        print(path)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .records import RecordError
    from .report import report_from_record

    check_output_folder(args.out, "--out")
    try:
        page = report_from_record(
            args.record, args.out, team=args.team, workers=2,
            progress=lambda what, done: print(f"  [{done:4.0%}] {what}...", file=sys.stderr, flush=True))
    except RecordError as exc:
        return _refused(exc)
    print(page)
    return 0


def _add_game_parsers(sub) -> argparse.ArgumentParser:
    """Add play, demo and report; return the play parser (tournaments add to it)."""
    play = p = sub.add_parser("play", help="open the game window")
    p.add_argument("scenario", nargs="?", default=None, help="preselect a scenario (shipped name)")
    p.add_argument("--seed", type=_seed, default=None, help="preselect the seed")
    p.add_argument("--large-text", action="store_true",
                   help="large text for a projector (this run; the settings screen saves it)")
    p.add_argument("--join", metavar="URL", help="play your team's game on a class server "
                   "(http://HOST:PORT, with --team and --code)")
    p.add_argument("--code", help="your team's join code (with --join)")
    p.set_defaults(func=_cmd_play)

    p = sub.add_parser("demo", help="play a scripted game headless and save a screenshot of every scene")
    p.add_argument("--screenshots", required=True, metavar="DIR")
    p.add_argument("scenario", nargs="?", default="coffee")
    p.add_argument("--seed", type=_seed, default=1)
    p.add_argument("--prospects", type=_prospects, default=20_000, help="market size (default 20,000)")
    p.add_argument("--size", type=_window_size, default=(1280, 720),
                   help="window size WIDTHxHEIGHT (default 1280x720)")
    p.add_argument("--large-text", action="store_true", help="large text, as for a projector")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("report", help="write a game record's debrief as HTML with PNG charts")
    p.add_argument("record", metavar="RECORD")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--team", default=None, help="the team or player named on the report "
                   "(default: the record's strategy)")
    p.set_defaults(func=_cmd_report)
    return play


def _cmd_export(args: argparse.Namespace) -> int:
    from .analytics.lab_models import PARETO_NBD
    from .export import export_transactions

    done = export_transactions(
        args.record, args.transactions,
        progress=lambda what: print(f"{_printable(args.record)}: {what}...", file=sys.stderr,
                                    flush=True))
    end = f"{done.observation_end:g}"
    print(f"wrote {done.rows:,} purchases of {done.customers:,} customers to "
          f"{_printable(str(done.path))} ({done.seconds['replay']:.1f} s replaying, "
          f"{done.seconds['write']:.1f} s writing)")
    print(f"time is in turns from the start of the first warm-up turn; the game ended at "
          f"time {end}. Fit it as the lab does:")
    # The shops' lab fits purchases with Pareto/NBD (sim.analytics.clv).
    print(f"  ccsim fit {_printable(str(done.path))} --model {PARETO_NBD.name} "
          f"--observation-end {end}")
    return 0


def _cmd_fit(args: argparse.Namespace) -> int:
    return fit_command.run(args)


def _strategy_arg(value: str) -> str:
    """argparse type for ``--strategy``: a built-in name or a path ending in ``.py``."""
    from .strategies import strategy_names

    names = strategy_names()
    if value in names or is_bot_path(value):
        return value
    raise argparse.ArgumentTypeError(
        f"unknown strategy {value!r}: use a built-in name ({', '.join(names)}) "
        f"or a bot file ending in .py")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ccsim", description="Customer Centricity Simulator",
                                     epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"ccsim {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("scenarios", help="list the shipped scenarios")
    p.set_defaults(func=_cmd_scenarios)

    p = sub.add_parser("validate", help="check scenario files; report each bad one and exit 2 if any is bad")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("run", help="play a whole headless game and score it")
    p.add_argument("scenario", help="a scenario file or a shipped name (see `ccsim scenarios`)")
    p.add_argument("--strategy", default="customer-centric", type=_strategy_arg,
                   help="a built-in strategy's name or a bot file (PATH.py, see README)")
    p.add_argument("--seed", type=_seed, default=1, help=f"root seed, 0 .. {MAX_SEED}")
    prospects = limits.FIELD_LIMITS["prospects"]
    p.add_argument("--prospects", type=_prospects, default=None,
                   help=f"override the pool size ({prospects.low:,} .. {prospects.high:,})")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--record", metavar="FILE", help="write the game record (JSON) to FILE")
    p.add_argument("--workers", type=_workers, default=None,
                   help="processes for the reference games (default: every core from "
                        f"{PARALLEL_FROM_PROSPECTS:,} prospects on, else 1)")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("replay", help="play a game record again and verify every number it claims")
    p.add_argument("record", metavar="RECORD")
    p.add_argument("--no-references", action="store_true",
                   help="verify the game only, not the baselines it claims")
    p.set_defaults(func=_cmd_replay)

    p = sub.add_parser("export", help="replay a game record and write its customers' "
                                      "transaction log (CSV) for Excel, R or Python")
    p.add_argument("record", metavar="RECORD")
    p.add_argument("--transactions", required=True, metavar="FILE.csv",
                   help="one row per purchase: customer_id, turn, time, amount, "
                        "cost_to_serve, channel, profile tags")
    p.set_defaults(func=_cmd_export)

    play = _add_game_parsers(sub)
    _add_tournament_commands(sub, play)
    _add_serve_parser(sub)

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


def _window_size(text: str) -> tuple[int, int]:
    """argparse type for ``WIDTHxHEIGHT`` in pixels, 960x600 .. 7680x4320."""
    width, x, height = text.strip().lower().partition("x")
    if not x:
        raise argparse.ArgumentTypeError(f"--size must be WIDTHxHEIGHT, e.g. 1280x720, got {text[:40]!r}")
    return (_whole(width, 960, 7680, "--size width"), _whole(height, 600, 4320, "--size height"))


def _workers(text: str) -> int:
    return _whole(text, 1, 64, "--workers")


def _seed(text: str) -> int:
    return _whole(text, 0, MAX_SEED, "--seed")


def _prospects(text: str) -> int:
    limit = limits.FIELD_LIMITS["prospects"]
    return _whole(text, int(limit.low), int(limit.high), "--prospects")


def _printable(text: str, limit: int = 120) -> str:
    """Text from a file, safe to print on one terminal line (no escape sequences), shortened."""
    shown = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in str(text))
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def _refused(exc: SimError) -> int:
    """Say why bad input was refused, in one printable line; the exit status for it."""
    lines = str(exc).splitlines()
    print(f"error: {_printable(lines[0] if lines else '', 2000)}", file=sys.stderr)
    return EXIT_USAGE


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
    """Entry point; returns the exit status (see ``EPILOG``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except SimError as exc:
        # Every refusal of bad input (TournamentError and OutputPathError too).
        return _refused(exc)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except MemoryError:
        print("error: out of memory (try fewer prospects)", file=sys.stderr)
        return EXIT_INTERNAL
    except BrokenPipeError:
        # The reader went away (``ccsim scenarios | head -1``): stop quietly, as
        # the Python docs advise, pointing stdout at devnull so exit does not fail.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (AttributeError, OSError, ValueError):
            pass
        return EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 - the one place that turns bugs into a report
        return _internal_error(exc)
