"""``ccsim tournament ...`` and ``ccsim play --tournament``: the command-line side.

    ccsim tournament SCENARIO --entries PATH... --out DIR [--markets 5 | --public-seeds 1-5]
    ccsim tournament new SCENARIO --teams A,B,C --out FILE
    ccsim tournament score FILE --secret KEY|SECRET_FILE --records DIR

Every option is checked, and every output path, before any game is played.
Errors print one line and exit 2 (they are ``sim.SimError``s).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

from .. import limits
from ..output_paths import check_output_file, check_output_folder
from ..scenario import load_scenario
from . import containment
from .errors import ClassPlayError, TournamentError
from .games import MAX_MARKETS, Markets, Settings, parse_seeds

#: Where an interrupted hidden tournament finds its key (never on the command
#: line: any process of the user can read a command line).
KEY_ENV = "CCSIM_TOURNAMENT_KEY"
#: Most seconds per bot decision any option accepts.
MAX_TURN_SECONDS = 3600.0
#: A bot of a team playing class play: seconds per decision.
CLASS_TURN_SECONDS = 60.0


def _bounded_int(low: int, high: int, what: str):
    def parse(text: str) -> int:
        text = text.strip()
        if not text.lstrip("-").isdigit() or len(text) > 12:
            raise argparse.ArgumentTypeError(f"{what} must be a whole number {low:,} .. {high:,}, "
                                             f"got {text[:40]!r}")
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{what} must be {low:,} .. {high:,}, got {value:,}")
        return value
    return parse


def _turn_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 < value <= MAX_TURN_SECONDS:
        raise argparse.ArgumentTypeError(f"--turn-seconds must be a number of seconds above 0 and "
                                         f"at most {MAX_TURN_SECONDS:g}, got {text[:40]!r}")
    return value


def _memory_mb(text: str) -> int:
    total = limits.available_memory_bytes()
    high = max(256, total // 2**20) if total else 1 << 20
    value = _bounded_int(0, high, "--memory-mb")(text)
    if 0 < value < 64:
        raise argparse.ArgumentTypeError("--memory-mb must be 0 (no limit) or at least 64")
    return value


def run_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ccsim tournament", description="Play bots and game records on hidden markets and "
        "rank them (also: `ccsim tournament new ...`, `ccsim tournament score ...`).")
    p.add_argument("scenario", help="a scenario file or a shipped name")
    p.add_argument("--entries", nargs="+", required=True, metavar="PATH",
                   help="bot files (.py) and game records (.json)")
    p.add_argument("--out", required=True, metavar="DIR", help="results folder (resumable)")
    p.add_argument("--markets", type=_bounded_int(1, MAX_MARKETS, "--markets"), default=None,
                   help="hidden markets every bot plays (default 5); their seeds are drawn from "
                        "a new key and published when every game has finished")
    p.add_argument("--public-seeds", metavar="SEEDS",
                   help="play these known seeds instead (e.g. 1-5): a rehearsable tournament, "
                        "labelled so on the leaderboard")
    p.add_argument("--seeds", help=argparse.SUPPRESS)
    p.add_argument("--workers", type=_bounded_int(1, 64, "--workers"), default=None,
                   help="local processes (default: every core; never more than the cores, "
                        "the games or the memory allow)")
    p.add_argument("--dask", metavar="ADDRESS", help="play on this Dask scheduler instead")
    prospects = limits.FIELD_LIMITS["prospects"]
    p.add_argument("--prospects", type=_bounded_int(int(prospects.low), int(prospects.high),
                                                    "--prospects"),
                   default=None, help="override the pool size")
    p.add_argument("--turn-seconds", type=_turn_seconds, default=10.0,
                   help="time limit per bot decision, its evaluation by the engine included")
    p.add_argument("--memory-mb", type=_memory_mb, default=1024,
                   help="memory limit of each bot's processes together (0: none)")
    p.add_argument("--max-processes", type=_bounded_int(1, 1024, "--max-processes"),
                   default=containment.MAX_PROCESSES, help="processes a bot may run at once")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def new_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ccsim tournament new",
                                description="Write a class tournament file with a hidden market.")
    p.add_argument("scenario", help="a scenario file or a shipped name")
    p.add_argument("--teams", required=True, help="team names, comma-separated")
    p.add_argument("--out", required=True, metavar="FILE", help="the tournament file to hand out")
    p.add_argument("--name", help="the tournament's name (default: the file's stem)")
    prospects = limits.FIELD_LIMITS["prospects"]
    p.add_argument("--prospects", type=_bounded_int(int(prospects.low), int(prospects.high),
                                                    "--prospects"),
                   default=None, help="override the pool size")
    return p


def score_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ccsim tournament score",
                                description="Verify the teams' records and rank them.")
    p.add_argument("file", metavar="FILE", help="the class tournament file")
    p.add_argument("--secret", required=True, help="the key, or the .secret.json file")
    p.add_argument("--records", required=True, metavar="DIR", help="folder of submitted records")
    p.add_argument("--out", metavar="DIR", help="results folder (default: FILE's stem + -results)")
    p.add_argument("--workers", type=_bounded_int(1, 64, "--workers"), default=None,
                   help="local processes (default: all cores)")
    return p


def _scenario(name: str, prospects: int | None):
    scenario = load_scenario(name)
    return scenario.with_prospects(prospects) if prospects is not None else scenario


def main(argv: list[str]) -> int:
    """``ccsim tournament ...``; returns the exit status."""
    if argv and argv[0] == "new":
        return _new(new_parser().parse_args(argv[1:]))
    if argv and argv[0] == "score":
        return _score(score_parser().parse_args(argv[1:]))
    return _run(run_parser().parse_args(argv))


def _run(args: argparse.Namespace) -> int:
    from .run import run_tournament

    settings = Settings(_scenario(args.scenario, args.prospects), args.turn_seconds,
                        args.memory_mb, max_processes=args.max_processes)
    out = check_output_folder(args.out, "--out")
    markets = _markets(args, out)
    result = run_tournament(args.entries, markets, out, settings, workers=args.workers,
                            dask_address=args.dask, progress=not args.no_progress)
    print(result.table())
    for event in result.events:
        print(f"verification: {event}", file=sys.stderr)
    print(f"\n{result.played} games played ({result.workers} worker"
          f"{'s' if result.workers != 1 else ''}), {result.reused} verified and reused from "
          f"{out}; wrote {out / 'leaderboard.csv'} and leaderboard.html", file=sys.stderr)
    if result.published:
        print(f"the markets' key and seeds are published in {out / 'markets.json'}",
              file=sys.stderr)
    return 0


def _markets(args: argparse.Namespace, out: Path) -> Markets:
    """The markets asked for: public seeds, a resumed hidden tournament's, or new hidden ones."""
    from .keys import new_key

    if args.seeds is not None:
        raise TournamentError("--seeds: markets are hidden by default: --markets N plays N hidden "
                              "markets, --public-seeds 1-5 plays seeds everyone knows "
                              "(a rehearsable tournament)")
    if args.public_seeds is not None:
        if args.markets is not None:
            raise TournamentError("--markets and --public-seeds: choose one")
        return Markets.public(parse_seeds(args.public_seeds))
    header = _read_json(out / "tournament.json")
    if isinstance(header, dict) and header.get("markets") == "hidden":
        key = _resume_key(out, header)
        markets = Markets.hidden(args.markets or int(header.get("count", 0) or 1), key)
        if markets.commitment != header.get("commitment"):
            raise TournamentError(f"the key does not open the tournament in {out} (its commitment "
                                  "differs): a typo, or another tournament's key?")
        return markets
    key = new_key()
    markets = Markets.hidden(args.markets or 5, key)
    print(f"hidden markets: {len(markets.seeds)}, drawn from a new key (commitment "
          f"{markets.commitment})\nkey: {key}\n  keep it: an interrupted run resumes with "
          f"{KEY_ENV}=<key> in the environment; it is published with the results once every "
          "game has finished", file=sys.stderr)
    return markets


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _resume_key(out: Path, header: dict) -> str:
    published = _read_json(out / "markets.json")
    if isinstance(published, dict) and isinstance(published.get("key"), str):
        return published["key"]
    key = os.environ.pop(KEY_ENV, None)
    if key:
        return key
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass(f"{out} is an unfinished tournament on hidden markets; its key "
                               "(printed when it started): ")
    raise TournamentError(f"{out}: an unfinished tournament on hidden markets: set {KEY_ENV} to "
                          "the key printed when it started (or use another --out)")


def _new(args: argparse.Namespace) -> int:
    from .classplay import new_tournament

    check_output_file(args.out, "--out")
    tournament, key, secret = new_tournament(_scenario(args.scenario, args.prospects),
                                             args.teams.split(","), args.out, args.name)
    print(f"wrote {args.out}: hand it to the teams ({', '.join(tournament.teams)})")
    print(f"wrote {secret}: keep it; it opens the market (do not hand it out)")
    print(f"key (reveal when play starts): {key}")
    return 0


def _score(args: argparse.Namespace) -> int:
    from .classplay import read_key, read_tournament, score_class

    tournament = read_tournament(args.file)
    key = read_key(args.secret)
    tournament.scenario(key)  # a wrong key is refused before anything else
    folder = Path(args.records)
    if not folder.is_dir():
        raise TournamentError(f"--records: {folder} is not a folder")
    records = sorted(str(p) for p in folder.glob("*.json"))
    if not records:
        raise TournamentError(f"--records: no .json records in {folder}")
    out = check_output_folder(args.out or str(Path(args.file).with_name(Path(args.file).stem
                                                                          + "-results")), "--out")
    result = score_class(tournament, key, records, out,
                         workers=args.workers or os.cpu_count(), progress=sys.stderr.isatty())
    print(result.table())
    missing = sorted(set(tournament.teams) - {s.entry for s in result.standings if s.values})
    if missing:
        print(f"\nno counted record from: {', '.join(missing)}")
    return 0


# ---------------------------------------------------------------- class play
def play(args: argparse.Namespace) -> int:
    """``ccsim play --tournament FILE --team A`` (or ``--hot-seat``); returns the exit status."""
    from .classplay import read_key, read_tournament

    tournament = read_tournament(args.tournament)
    try:
        key = read_key(args.key) if args.key else input("key (the instructor reveals it): ")
        tournament.scenario(key)  # refuse a wrong key before anyone plays
        return _play(args, tournament, key)
    except EOFError:
        raise ClassPlayError("the input ended before the game did (no record written)") from None


def _record_path(args: argparse.Namespace, team: str) -> Path:
    """Where a team's record goes: ``--record`` (a file, or a folder) or the default name.

    With ``--hot-seat``, ``--record`` is always a folder (one record per team).
    """
    name = f"{Path(args.tournament).stem}-{team}.json"
    if args.record is None:
        return Path(name)
    if not str(args.record).strip():
        raise ClassPlayError("--record: empty path")
    path = Path(args.record)
    if args.hot_seat or path.is_dir() or str(args.record).endswith(("/", os.sep)):
        if path.exists() and not path.is_dir():
            raise ClassPlayError(f"--record {path}: is not a folder (with --hot-seat, --record "
                                 "names the folder for the teams' records)")
        return path / name
    return path


def _check_writable(path: Path) -> None:
    """Refuse, before any game, a record path that cannot be written.

    A missing folder (hot seat's folder for the teams' records) is made here.
    """
    check_output_folder(path.parent, "--record")
    path.parent.mkdir(parents=True, exist_ok=True)
    check_output_file(path, "--record")


def _play(args: argparse.Namespace, tournament, key: str) -> int:
    from ..records import write_record
    from .classplay import format_standings, hot_seat
    from .sandbox import BotFailure

    if args.hot_seat:
        teams = [t.strip() for t in args.team.split(",")] if args.team else list(tournament.teams)
    elif args.team:
        teams = [args.team]
    else:
        raise ClassPlayError("--team: which team is playing? (or --hot-seat)")
    teams = [tournament.check_team(t) for t in teams]
    paths = {t: _record_path(args, t) for t in teams}
    for path in paths.values():
        _check_writable(path)
    players = {}
    try:
        for t in teams:
            players[t] = _strategy(args.strategy, t, key)
        show = (lambda turn, s: print("\n" + format_standings(turn, s))) if args.hot_seat else None
        records = hot_seat(tournament, key, players, show=show)
    except BotFailure as exc:
        raise ClassPlayError(f"{exc} (no record written)") from None
    finally:
        for player in players.values():
            getattr(player, "close", lambda: None)()
    for team, record in records.items():
        paths[team].parent.mkdir(parents=True, exist_ok=True)
        path = write_record(record, paths[team])
        print(f"{team}: game over; record written to {path}: submit it to the instructor")
    return 0


def _strategy(name: str | None, team: str, key: str):
    from .classplay import PromptStrategy, check_player
    from .keys import redactor

    if not name:
        return PromptStrategy(team)
    if name.endswith(".py"):
        from .sandbox import SandboxedBot

        # Sandboxed as in a tournament: told neither the key nor the seed, its
        # words shown with the key removed.
        return SandboxedBot(name, team, turn_seconds=CLASS_TURN_SECONDS, log=sys.stderr,
                            redact=redactor([key]))
    from ..strategies import get_strategy

    try:
        strategy = get_strategy(name)
    except KeyError as exc:
        raise TournamentError(f"--strategy: {exc.args[0]}") from None
    check_player(strategy)
    return strategy
