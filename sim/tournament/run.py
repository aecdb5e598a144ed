"""Running a tournament: the games not yet done, on local processes or a Dask cluster.

``run_tournament`` plans the games (``sim.tournament.games.plan``), verifies
the games already on disk (by their seal while a hidden tournament is
unfinished, else by replaying them; a stored game that fails is played
again and reported), plays the rest with local worker processes or
on the Dask cluster at ``dask_address``, stores each result the moment it
arrives, settles the records (two verified records of one team for one
market both fail; a copy of a reference's game is refused) and writes the
leaderboard.  Once every game of a hidden tournament has finished, the key
and the seeds are published in ``markets.json``; after that no new entry
is played (it could have rehearsed the published markets).

The process running a tournament holds its key and seeds: it is made
non-dumpable for the duration (``containment.hardened``), as are the
workers, so a bot's processes cannot read them from its memory.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .. import limits
from . import containment
from .games import (Job, Markets, Rejection, ResultStore, Settings, plan, play_job, verify_stored,
                    write_json_atomic)
from .errors import TournamentError
from .keys import redactor
from .leaderboard import Standing, build_standings, format_table, write_csv, write_html

#: Memory a worker process needs beside its game and its bot, bytes (Python, numpy, scipy).
WORKER_BYTES = 300 * 2**20


@dataclass
class TournamentResult:
    """What a run did and the leaderboard it made.

    Attributes:
        standings: the leaderboard, best first.
        rejections: entries refused (before playing, or when the records were settled).
        played: games played by this run.
        reused: stored games verified and reused.
        folder: the output folder (leaderboard.csv, leaderboard.html, games/).
        markets: the markets played.
        events: stored games that failed verification and were played again.
        published: True once a hidden tournament's key and seeds are published.
        workers: the worker processes used.
    """

    standings: list[Standing]
    rejections: list[Rejection]
    played: int
    reused: int
    folder: Path
    markets: Markets
    events: list[str] = field(default_factory=list)
    published: bool = False
    workers: int = 1

    def table(self) -> str:
        return format_table(self.standings, self.markets, self.published)


def run_tournament(entries: Iterable[str | Path], markets: Markets, out: str | Path,
                   settings: Settings, workers: int | None = None,
                   dask_address: str | None = None, progress: bool = True,
                   max_games: int | None = None, teams: tuple[str, ...] | None = None,
                   title: str | None = None) -> TournamentResult:
    """Play every game of a tournament not yet played and rank the entries.

    Args:
        entries: bot files (``.py``) and game records (``.json``).
        markets: the markets every bot plays (``Markets.hidden`` or ``Markets.public``).
        out: the output folder; verified results already there are reused.
        settings: the scenario and the bots' limits.
        workers: local processes (default: every core); fewer are used when
            there are fewer games, cores or memory.
        dask_address: play on this Dask scheduler instead (``dask[distributed]``).
        progress: show a progress bar on stderr.
        max_games: stop after this many new games (an interrupted run, for tests).
        teams: accept only records of these teams (class play).
        title: the leaderboard's title.

    Raises:
        TournamentError: the entries, the folder or the markets cannot be used.
    """
    with containment.hardened():
        return _run(list(entries), markets, out, settings, workers, dask_address, progress,
                    max_games, teams, title)


def _run(entries, markets, out, settings, workers, dask_address, progress, max_games, teams,
         title) -> TournamentResult:
    jobs, rejections = plan(entries, markets, settings, teams)
    store = ResultStore(out, settings, markets)
    published = markets.kind == "hidden" and store.published.exists()
    redact = redactor([markets.key])
    results: dict[str, dict] = {}
    stored, pending, events = [], [], []
    for job in jobs:
        data, problem = store.load(job)
        if data is not None:
            stored.append((job, data))
        else:
            pending.append(job)
            if problem:
                events.append(f"games/{job.filename}: {problem}; played again")
    if published:
        new = [j for j in pending if not (store.games / j.filename).exists()]
        if new:
            raise TournamentError(
                f"{store.folder}: this tournament finished and published its markets "
                f"(markets.json); a new entry ({new[0].entry}) could have rehearsed them: use "
                "another --out")
    workers = effective_workers(workers, len(jobs), settings)
    if store.trusts_seal:  # sealed under a key no file holds: genuine as stored
        results.update((job.filename, data) for job, data in stored)
        stored = []
    for (job, data), problem in _execute(_verify, stored, settings, workers, dask_address):
        if problem is None:
            results[job.filename] = data
        else:
            pending.append(job)
            events.append(f"games/{job.filename}: {problem}; played again")
    reused = len(results)
    if max_games is not None:
        pending = pending[:max_games]
    bar = _progress_bar(len(jobs), reused, progress)
    for event in events:
        bar.write(redact(event))
    played = 0
    try:
        for job, result in _execute(play_job, pending, settings, workers, dask_address):
            result = _redacted(result, redact)
            store.save(job, result)
            results[job.filename] = result
            played += 1
            bar.update(1)
            if result["status"] != "finished":
                bar.write(f"{job.entry} {markets.label(job.seed)}: {result['status']}: "
                          f"{result['reason']}")
    finally:
        bar.close()
    finished = len(results) == len(jobs)
    if markets.kind == "hidden" and finished and not published:
        write_json_atomic(store.published, {"key": markets.key, "commitment": markets.commitment,
                                            "seeds": list(markets.seeds)})
        published = True
    kept, settled = settle_records(list(results.values()), markets)
    rejected = [(r.entry, "record" if r.source.endswith(".json") else "bot", r.seed, r.reason)
                for r in rejections + settled]
    standings = build_standings(kept, rejected, markets.label)
    folder = Path(out)
    s = settings.scenario
    title = title or f"Tournament: {s.name} ({s.prospects:,} prospects), {len(markets.seeds)} markets"
    notes = [f"Bots limited to {settings.turn_seconds:g} s per turn, {settings.memory_mb} MB and "
             f"{settings.max_processes} processes each; {len(jobs)} games."]
    if published:
        shown = ", ".join(f"{i + 1} = {seed}" for i, seed in enumerate(markets.seeds[:10]))
        notes.append(f"Key {markets.key} (commitment {markets.commitment}); markets: {shown}"
                     f"{', ...' if len(markets.seeds) > 10 else ''} (all in markets.json).")
    write_csv(standings, folder / "leaderboard.csv", markets)
    write_html(standings, folder / "leaderboard.html", title, notes, markets, published)
    return TournamentResult(standings, rejections + settled, played, reused, folder, markets,
                            events, published, workers)


def _redacted(result: dict, redact: Callable[[str], str]) -> dict:
    """The bot's words in ``result`` (its reason, name and log) with any secret removed."""
    for key in ("reason", "bot_name", "log"):
        if isinstance(result.get(key), str):
            result[key] = redact(result[key])
    return result


def _verify(item: tuple[Job, dict], settings: Settings) -> str | None:
    job, data = item
    with containment.hardened():
        return verify_stored(job, data, settings)


def settle_records(results: list[dict], markets: Markets) -> tuple[list[dict], list[Rejection]]:
    """Records that count, and the refusals settling them needs.

    Two verified records of one entry for one market: both are refused,
    naming both files, and neither counts (an invalid record never takes an
    entry's place: it is refused on its own).  A record whose decisions are
    a reference's on that market is refused as a copy of it.
    """
    reference_games = {(r["seed"], r.get("decisions")): r["entry"] for r in results
                       if r["kind"] == "reference" and r["status"] == "finished"}
    kept, refused = [], []
    by_slot: dict[tuple[str, int], list[dict]] = {}
    for r in results:
        if r["kind"] == "record" and r["status"] == "finished":
            copied = reference_games.get((r["seed"], r.get("decisions")))
            if copied:
                refused.append(Rejection(r["entry"], r["source"], f"a copy of the reference "
                                         f"strategy {copied!r}'s game on this market", r["seed"]))
                continue
            by_slot.setdefault((r["entry"], r["seed"]), []).append(r)
        else:
            kept.append(r)
    for (entry, seed), group in by_slot.items():
        if len(group) == 1:
            kept.append(group[0])
            continue
        files = ", ".join(sorted(r["source"] for r in group))
        refused.append(Rejection(entry, files, f"{len(group)} verified records of {entry!r} for "
                                 f"{markets.label(seed)} ({files}): neither counts; submit one",
                                 seed))
    return kept, refused


def effective_workers(requested: int | None, games: int, settings: Settings) -> int:
    """Worker processes to use: as asked, but no more than games, cores or memory allow."""
    cores = os.cpu_count() or 1
    wanted = requested or cores
    s = settings.scenario
    per_worker = (limits.game_memory_bytes(s.prospects, s.warmup_turns + s.turns, len(s.profile))
                  + WORKER_BYTES + settings.memory_mb * 2**20)
    available = limits.available_memory_bytes()
    by_memory = max(1, int(limits.MEMORY_SHARE * available // per_worker)) if available else wanted
    return max(1, min(wanted, cores, max(games, 1), by_memory))


def _progress_bar(total: int, done: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, initial=done, unit="game", desc="games", disable=not enabled,
                dynamic_ncols=True)


def _execute(fn: Callable, items: list, settings: Settings, workers: int,
             dask_address: str | None) -> Iterator[tuple[object, object]]:
    """Each item with ``fn(item, settings)``, in the order they finish."""
    if not items:
        return
    if dask_address:
        yield from _execute_dask(fn, items, settings, dask_address)
        return
    if workers == 1 or len(items) == 1:
        for item in items:
            yield item, fn(item, settings)
        return
    # 'spawn': workers start clean (no copy of this process's state), on every OS.
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=min(workers, len(items)), mp_context=context)
    try:
        running = {pool.submit(fn, item, settings): item for item in items}
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                yield running.pop(future), future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _execute_dask(fn: Callable, items: list, settings: Settings,
                  address: str) -> Iterator[tuple[object, object]]:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise TournamentError("--dask needs the optional extra: pip install 'ccsim[dask]'") from None
    try:
        client = Client(address, timeout=30)
    except (OSError, TimeoutError) as exc:
        raise TournamentError(f"--dask {address}: cannot reach the scheduler ({exc})") from None
    try:
        futures = {client.submit(fn, item, settings, pure=False): item for item in items}
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        client.close()
