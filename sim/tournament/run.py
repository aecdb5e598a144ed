"""Running a tournament: the games not yet done, on local processes or a Dask cluster.

``run_tournament`` plans the games (``sim.tournament.games.plan``), skips
those whose results are already on disk, plays the rest with ``workers``
local processes (default: every core) or on the Dask cluster at
``dask_address``, stores each result the moment it arrives, and writes the
leaderboard.  Bots are sandboxed wherever the game runs: the worker starts
the bot's own process next to itself.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from .games import Job, Rejection, ResultStore, Settings, TournamentError, plan, play_job
from .leaderboard import Standing, build_standings, format_table, write_csv, write_html


@dataclass
class TournamentResult:
    """What a run did and the leaderboard it made.

    Attributes:
        standings: the leaderboard, best first.
        rejections: entries refused before playing.
        played: games played by this run.
        reused: games whose stored results were reused.
        folder: the output folder (leaderboard.csv, leaderboard.html, games/).
    """

    standings: list[Standing]
    rejections: list[Rejection]
    played: int
    reused: int
    folder: Path

    def table(self) -> str:
        return format_table(self.standings)


def run_tournament(entries: Iterable[str | Path], seeds: list[int], out: str | Path,
                   settings: Settings, workers: int | None = None,
                   dask_address: str | None = None, progress: bool = True,
                   max_games: int | None = None, teams: tuple[str, ...] | None = None,
                   title: str | None = None) -> TournamentResult:
    """Play every game of a tournament not yet played and rank the entries.

    Args:
        entries: bot files (``.py``) and game records (``.json``).
        seeds: the seeds every bot plays.
        out: the output folder; results already there are reused.
        settings: the scenario and the bots' limits.
        workers: local processes (default ``os.cpu_count()``; 1 plays here).
        dask_address: play on this Dask scheduler instead (``dask[distributed]``).
        progress: show a progress bar on stderr.
        max_games: stop after this many new games (an interrupted run, for tests).
        teams: accept only records of these teams (class play).
        title: the leaderboard's title.

    Raises:
        TournamentError: the entries or the folder cannot be used.
    """
    jobs, rejections = plan(list(entries), seeds, settings, teams)
    store = ResultStore(out, settings)
    results, pending = [], []
    for job in jobs:
        stored = store.load(job)
        if stored is None:
            pending.append(job)
        else:
            results.append(stored)
    reused = len(results)
    if max_games is not None:
        pending = pending[:max_games]
    bar = _progress_bar(len(jobs), reused, progress)
    played = 0
    try:
        for job, result in _execute(pending, settings, workers, dask_address):
            store.save(job, result)
            results.append(result)
            played += 1
            bar.update(1)
            if result["status"] != "finished":
                bar.write(f"{job.entry} seed {job.seed}: {result['status']}: {result['reason']}")
    finally:
        bar.close()
    rejected = [(r.entry, "record" if r.source.endswith(".json") else "bot", r.seed, r.reason)
                for r in rejections]
    standings = build_standings(results, rejected)
    folder = Path(out)
    s = settings.scenario
    title = title or f"Tournament: {s.name} ({s.prospects:,} prospects), seeds {_seeds(seeds)}"
    notes = [f"Bots limited to {settings.turn_seconds:g} s per turn and "
             f"{settings.memory_mb} MB each; {len(jobs)} games."]
    write_csv(standings, folder / "leaderboard.csv")
    write_html(standings, folder / "leaderboard.html", title, notes)
    return TournamentResult(standings, rejections, played, reused, folder)


def _seeds(seeds: list[int]) -> str:
    return ", ".join(map(str, seeds)) if len(seeds) <= 8 else f"{seeds[0]}..{seeds[-1]}"


def _progress_bar(total: int, done: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, initial=done, unit="game", desc="games", disable=not enabled,
                dynamic_ncols=True)


def _execute(jobs: list[Job], settings: Settings, workers: int | None,
             dask_address: str | None) -> Iterator[tuple[Job, dict]]:
    """Each job with its result, in the order they finish."""
    if not jobs:
        return
    if dask_address:
        yield from _execute_dask(jobs, settings, dask_address)
        return
    workers = workers or os.cpu_count() or 1
    if workers < 1:
        raise TournamentError(f"--workers: must be at least 1, got {workers}")
    if workers == 1 or len(jobs) == 1:
        for job in jobs:
            yield job, play_job(job, settings)
        return
    # 'spawn': workers start clean (no copy of this process's state), on every OS.
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context)
    try:
        running = {pool.submit(play_job, job, settings): job for job in jobs}
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                yield running.pop(future), future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _execute_dask(jobs: list[Job], settings: Settings, address: str) -> Iterator[tuple[Job, dict]]:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise TournamentError("--dask needs the optional extra: pip install 'ccsim[dask]'") from None
    try:
        client = Client(address, timeout=30)
    except (OSError, TimeoutError) as exc:
        raise TournamentError(f"--dask {address}: cannot reach the scheduler ({exc})") from None
    try:
        futures = {client.submit(play_job, job, settings, pure=False): job for job in jobs}
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        client.close()
