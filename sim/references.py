"""The reference strategies on one market: played once per scenario and seed, then shared.

Every comparison the game makes -- the score of ``ccsim run``, the debrief,
``ccsim replay`` and ``ccsim report``, tournaments -- sets a game against
the same reference strategies on the same seed.  Their games depend only on
the scenario (at its size) and the seed, never on the player, so this
module plays each once per process and keeps its value: the debrief and
the verification of a record played in the same process share the games
instead of each playing them again.

The strategies are imported when first played, so importing this module
(a bot's sandbox process does, through the runner) costs nothing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable

from .errors import UnknownNameError
from .scenario import Scenario
from .scoring import GameValue

#: The reference strategies, in the order they are reported.
REFERENCES = ("do-nothing", "mass-marketing", "volume", "customer-centric", "oracle")
#: The two references that define the centricity score's 0 and 100.
SCALE = ("mass-marketing", "oracle")
#: Reference games kept per process (a game's value is a few kilobytes: its books per turn).
CACHE_GAMES = 256

#: Rough relative cost of each reference's game (the oracle values every option):
#: the longest are started first so parallel workers finish together.
EXPECTED_COST = {"oracle": 3, "customer-centric": 3, "mass-marketing": 2, "volume": 2,
                  "do-nothing": 1}

_cache: OrderedDict[tuple, GameValue] = OrderedDict()
_lock = threading.Lock()


def is_reference(name: str) -> bool:
    """True if ``name`` is one of the reference strategies."""
    return name in REFERENCES


def _key(scenario: Scenario, name: str, seed: int) -> tuple:
    # The content hash covers the pool size (``with_prospects`` rewrites the content).
    return (scenario.content_hash, int(seed), name)


def cached_value(scenario: Scenario, name: str, seed: int) -> GameValue | None:
    """The reference's game value if this process has played it already, else None."""
    with _lock:
        value = _cache.get(_key(scenario, name, seed))
        if value is not None:
            _cache.move_to_end(_key(scenario, name, seed))
        return value


def remember(scenario: Scenario, name: str, seed: int, value: GameValue) -> None:
    """Keep a reference's game value played elsewhere (a worker process, a stored result)."""
    if not is_reference(name):
        raise UnknownNameError(f"{name!r} is not a reference strategy "
                               f"(known: {', '.join(REFERENCES)})")
    with _lock:
        _cache[_key(scenario, name, seed)] = value
        _cache.move_to_end(_key(scenario, name, seed))
        while len(_cache) > CACHE_GAMES:
            _cache.popitem(last=False)


def clear_cache() -> None:
    """Forget every reference game played in this process (tests, benchmarks)."""
    with _lock:
        _cache.clear()


def play_reference(scenario: Scenario, name: str, seed: int) -> GameValue:
    """The value of reference ``name``'s game of ``scenario`` on ``seed`` (played once, then cached).

    Raises:
        ValueError: ``name`` is not a reference strategy.
    """
    from .runner import play_game
    from .strategies import get_strategy

    if not is_reference(name):
        raise UnknownNameError(f"{name!r} is not a reference strategy "
                               f"(known: {', '.join(REFERENCES)})")
    value = cached_value(scenario, name, seed)
    if value is None:
        value = play_game(scenario, get_strategy(name), seed).value
        remember(scenario, name, seed, value)
    return value


def reference_values(scenario: Scenario, seed: int, names=REFERENCES, workers: int = 1,
                     progress: Callable[[str], None] | None = None) -> dict[str, GameValue]:
    """Every named reference's game value on ``seed``, in the order of ``names``.

    Games this process has already played are not played again.  With
    ``workers`` > 1 the others are played in that many worker processes (the
    games are independent and deterministic: the values are the same).

    Args:
        scenario: the scenario (at the size played).
        seed: the root seed.
        names: reference strategies to play.
        workers: processes to play them in (1: this process).
        progress: called with each reference's name as its game starts
            (as it is queued, with workers); not called for cached games.

    Raises:
        ValueError: a name that is not a reference strategy.
    """
    unknown = [n for n in names if not is_reference(n)]
    if unknown:
        raise UnknownNameError(f"{unknown[0]!r} is not a reference strategy "
                               f"(known: {', '.join(REFERENCES)})")
    values = {n: v for n in names if (v := cached_value(scenario, n, seed)) is not None}
    missing = sorted((n for n in names if n not in values),
                     key=lambda n: EXPECTED_COST.get(n, 0), reverse=True)
    with start_references(scenario, seed, missing, workers, progress) as pending:
        for name in missing:
            values[name] = pending.result(name)
    return {n: values[n] for n in names}


class PendingReferences:
    """Reference games being played (in worker processes, or here on demand).

    Use as a context manager: leaving it stops any worker still running.
    """

    def __init__(self, scenario: Scenario, seed: int, names, workers: int,
                 progress: Callable[[str], None] | None):
        self._scenario, self._seed, self._progress = scenario, int(seed), progress
        self._pool = _pool(workers) if workers > 1 and names else None
        self._futures = {}
        if self._pool is not None:
            self._futures = {n: self._pool.submit(_played_elsewhere, scenario, n, self._seed)
                             for n in names}
            for name in names if progress else ():
                progress(name)

    def result(self, name: str) -> GameValue:
        """The reference's game value, waiting for its worker (or playing it here)."""
        future = self._futures.get(name)
        if future is not None:
            value = future.result()
            remember(self._scenario, name, self._seed, value)
            return value
        if self._progress and cached_value(self._scenario, name, self._seed) is None:
            self._progress(name)
        return play_reference(self._scenario, name, self._seed)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def __enter__(self) -> "PendingReferences":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def start_references(scenario: Scenario, seed: int, names, workers: int = 1,
                     progress: Callable[[str], None] | None = None) -> PendingReferences:
    """Start the named reference games (in workers when ``workers`` > 1); collect with ``result``."""
    return PendingReferences(scenario, seed, list(names), workers, progress)


def _played_elsewhere(scenario: Scenario, name: str, seed: int) -> GameValue:
    """A reference's game value, played in a worker process."""
    return play_reference(scenario, name, seed)


#: Thread counts of the numeric libraries in worker processes: one each, since
#: the processes already fill the cores (BLAS threads on top slow the fits).
_ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _pool(workers: int):
    """A pool of fresh worker processes, each with one BLAS thread."""
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    saved = {k: os.environ.get(k) for k in _ONE_THREAD}
    os.environ.update(_ONE_THREAD)
    try:
        # Spawned (not forked) workers read the environment as they start.
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
        # Workers start as tasks arrive: start them all now, while the variables are set.
        list(pool.map(int, range(workers)))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return pool
