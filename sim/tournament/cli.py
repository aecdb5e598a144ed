"""``ccsim tournament ...`` and ``ccsim play --tournament``: the command-line side.

    ccsim tournament SCENARIO --entries PATH... --seeds 1-5 --out DIR
    ccsim tournament new SCENARIO --teams A,B,C --out FILE
    ccsim tournament score FILE --secret KEY|SECRET_FILE --records DIR

Errors print one line and exit 2 (``sim.cli`` catches ``TournamentError``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..output_paths import check_output_file, check_output_folder
from ..scenario import load_scenario
from .games import Settings, TournamentError, parse_seeds


def run_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ccsim tournament", description="Play bots and game records on many seeds and rank "
        "them (also: `ccsim tournament new ...`, `ccsim tournament score ...`).")
    p.add_argument("scenario", help="a scenario file or a shipped name")
    p.add_argument("--entries", nargs="+", required=True, metavar="PATH",
                   help="bot files (.py) and game records (.json)")
    p.add_argument("--seeds", default="1-5", help="seeds every bot plays, e.g. 1-5 or 1,3,8")
    p.add_argument("--out", required=True, metavar="DIR", help="results folder (resumable)")
    p.add_argument("--workers", type=int, default=None, help="local processes (default: all cores)")
    p.add_argument("--dask", metavar="ADDRESS", help="play on this Dask scheduler instead")
    p.add_argument("--prospects", type=int, default=None, help="override the pool size")
    p.add_argument("--turn-seconds", type=float, default=10.0, help="time limit per bot decision")
    p.add_argument("--memory-mb", type=int, default=1024, help="memory limit per bot process")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def new_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ccsim tournament new",
                                description="Write a class tournament file with a hidden market.")
    p.add_argument("scenario", help="a scenario file or a shipped name")
    p.add_argument("--teams", required=True, help="team names, comma-separated")
    p.add_argument("--out", required=True, metavar="FILE", help="the tournament file to hand out")
    p.add_argument("--name", help="the tournament's name (default: the file's stem)")
    p.add_argument("--prospects", type=int, default=None, help="override the pool size")
    return p


def score_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ccsim tournament score",
                                description="Verify the teams' records and rank them.")
    p.add_argument("file", metavar="FILE", help="the class tournament file")
    p.add_argument("--secret", required=True, help="the key, or the .secret.json file")
    p.add_argument("--records", required=True, metavar="DIR", help="folder of submitted records")
    p.add_argument("--out", metavar="DIR", help="results folder (default: FILE's stem + -results)")
    p.add_argument("--workers", type=int, default=None, help="local processes (default: all cores)")
    return p


def _scenario(name: str, prospects: int | None):
    scenario = load_scenario(name)
    if prospects is not None:
        if prospects < 100:
            raise TournamentError("--prospects must be at least 100")
        scenario = scenario.with_prospects(prospects)
    return scenario


def main(argv: list[str]) -> int:
    """``ccsim tournament ...``; returns the exit status."""
    if argv and argv[0] == "new":
        return _new(new_parser().parse_args(argv[1:]))
    if argv and argv[0] == "score":
        return _score(score_parser().parse_args(argv[1:]))
    return _run(run_parser().parse_args(argv))


def _run(args: argparse.Namespace) -> int:
    from .run import run_tournament

    check_output_folder(args.out, "--out")
    if args.turn_seconds <= 0:
        raise TournamentError("--turn-seconds must be above 0")
    if args.memory_mb < 0:
        raise TournamentError("--memory-mb must be 0 (no limit) or more")
    settings = Settings(_scenario(args.scenario, args.prospects), args.turn_seconds, args.memory_mb)
    result = run_tournament(args.entries, parse_seeds(args.seeds), args.out, settings,
                            workers=args.workers, dask_address=args.dask,
                            progress=not args.no_progress)
    print(result.table())
    print(f"\n{result.played} games played, {result.reused} reused from {args.out}; "
          f"wrote {Path(args.out) / 'leaderboard.csv'} and leaderboard.html", file=sys.stderr)
    return 0


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
    folder = Path(args.records)
    if not folder.is_dir():
        raise TournamentError(f"--records: {folder} is not a folder")
    records = sorted(str(p) for p in folder.glob("*.json"))
    if not records:
        raise TournamentError(f"--records: no .json records in {folder}")
    out = args.out or str(Path(args.file).with_name(Path(args.file).stem + "-results"))
    check_output_folder(out, "--out")
    result = score_class(tournament, read_key(args.secret), records, out,
                         workers=args.workers or os.cpu_count(), progress=sys.stderr.isatty())
    print(result.table())
    missing = sorted(set(tournament.teams) - {s.entry for s in result.standings})
    if missing:
        print(f"\nno record from: {', '.join(missing)}")
    return 0


def play(args: argparse.Namespace) -> int:
    """``ccsim play --tournament FILE --team A`` (or ``--hot-seat``); returns the exit status."""
    from .classplay import ClassPlayError, read_key, read_tournament
    from .sandbox import BotFailure

    tournament = read_tournament(args.tournament)
    try:
        key = read_key(args.key) if args.key else input("key (the instructor reveals it): ")
        tournament.seed(key)  # refuse a wrong key before anyone plays
        return _play(args, tournament, key)
    except EOFError:
        raise ClassPlayError("the input ended before the game did (no record written)") from None
    except BotFailure as exc:
        raise ClassPlayError(f"--strategy {args.strategy}: {exc} (no record written)") from None


def _play(args: argparse.Namespace, tournament, key: str) -> int:
    from ..records import write_record
    from .classplay import ClassPlayError, format_standings, hot_seat, play_team

    if args.hot_seat:
        teams = args.team.split(",") if args.team else list(tournament.teams)
        players = {t: _strategy(args.strategy, t) for t in teams}
        try:
            records = hot_seat(tournament, key, players,
                               show=lambda turn, s: print("\n" + format_standings(turn, s)))
        finally:
            for player in players.values():
                getattr(player, "close", lambda: None)()
        folder = Path(args.record or ".")
        folder.mkdir(parents=True, exist_ok=True)
        for team, record in records.items():
            path = write_record(record, folder / f"{Path(args.tournament).stem}-{team}.json")
            print(f"{team}: record written to {path}")
        return 0
    if not args.team:
        raise ClassPlayError("--team: which team is playing? (or --hot-seat)")
    team = tournament.check_team(args.team)
    strategy = _strategy(args.strategy, team)
    try:
        record = play_team(tournament, team, key, strategy)
    finally:
        getattr(strategy, "close", lambda: None)()
    path = write_record(record, args.record or f"{Path(args.tournament).stem}-{team}.json")
    print(f"{team}: game over; record written to {path}: submit it to the instructor")
    return 0


def _strategy(name: str | None, team: str):
    from .classplay import PromptStrategy

    if not name:
        return PromptStrategy(team)
    if name.endswith(".py"):
        # The bot runs sandboxed, as in a tournament.  (sim.bots.load_bot,
        # once merged, could run it in-process for speed.)
        from .sandbox import SandboxedBot

        return SandboxedBot(name, team, turn_seconds=60.0)
    from ..strategies import get_strategy

    try:
        return get_strategy(name)
    except KeyError as exc:
        raise TournamentError(f"--strategy: {exc.args[0]}") from None
