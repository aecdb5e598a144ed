"""The reference strategies on one market: played once per scenario and seed, then shared.

Every comparison the game makes -- the score of ``ccsim run``, the debrief,
``ccsim replay`` and ``ccsim report``, tournaments -- sets a game against
the same reference strategies on the same seed.  Their games depend only on
the scenario (at its size) and the seed, never on the player, so this
module plays each once per process and keeps its value: the debrief and
the verification of a record played in the same process share the games
instead of each playing them again.

Games can be started in the background (``start_in_background``: worker
processes at low priority, e.g. while a student plays, since the references
depend only on the scenario and the seed); whoever asks for one later gets
it from there instead of playing it again.

The *composed* games that measure the player's levers live here too
(``composed_values``): the player's acquisition with a reference's service,
and a reference's acquisition with the player's service tiers, played in
the same worker processes in parallel.

The strategies are imported when first played, so importing this module
(a bot's sandbox process does, through the runner) costs nothing.
"""

from __future__ import annotations

import atexit
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

from ._blas_threads import BLAS_THREAD_VARS
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
#: Reference games being played in the background workers, by cache key.
_background: dict[tuple, object] = {}
_lock = threading.Lock()


def is_reference(name: str) -> bool:
    """True if ``name`` is one of the reference strategies."""
    return name in REFERENCES


def _key(scenario: Scenario, name: str, seed: int) -> tuple:
    # The content hash covers the pool size (``with_prospects`` rewrites the content).
    return (scenario.content_hash, int(seed), name)


def cached_value(scenario: Scenario, name: str, seed: int) -> GameValue | None:
    """The reference's game value if this process has it already (played or collected), else None."""
    key = _key(scenario, name, seed)
    with _lock:
        future = _background.get(key)
    if future is not None and future.done() and not future.cancelled() and future.exception() is None:
        remember(scenario, name, seed, future.result())
    with _lock:
        value = _cache.get(key)
        if value is not None:
            _cache.move_to_end(key)
        return value


def pending(scenario: Scenario, name: str, seed: int) -> bool:
    """True while the reference's game is being played in the background."""
    with _lock:
        future = _background.get(_key(scenario, name, seed))
    return future is not None and not future.done()


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
        futures = list(_background.values())
        _background.clear()
    for future in futures:
        future.cancel()


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
        value = _from_background(scenario, name, seed)
    if value is None:
        value = play_game(scenario, get_strategy(name), seed).value
        remember(scenario, name, seed, value)
    return value


def _from_background(scenario: Scenario, name: str, seed: int) -> GameValue | None:
    """Wait for the reference's game if it is being played in the background (None if not)."""
    with _lock:
        future = _background.get(_key(scenario, name, seed))
    if future is None or future.cancelled():
        return None
    try:
        value = future.result()
    except Exception:          # a worker that died: play the game here instead
        return None
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
    running = [n for n in names if n not in values and pending(scenario, n, seed)]
    missing = sorted((n for n in names if n not in values and n not in running),
                     key=lambda n: EXPECTED_COST.get(n, 0), reverse=True)
    with start_references(scenario, seed, missing, workers, progress) as started:
        for name in running:
            if progress:
                progress(name)
            values[name] = play_reference(scenario, name, seed)
        for name in missing:
            values[name] = started.result(name)
    return {n: values[n] for n in names}


class PendingReferences:
    """Reference games being played (in worker processes, or here on demand).

    Use as a context manager: leaving it stops any worker still running.
    """

    def __init__(self, scenario: Scenario, seed: int, names, workers: int,
                 progress: Callable[[str], None] | None):
        self._scenario, self._seed, self._progress = scenario, int(seed), progress
        self._pool = None
        if workers > 1 and names:
            forking = _can_fork()
            if forking:
                # Forked workers inherit this process's market and warm-up (sim.engine
                # keeps the last of each): drawn once here, not once per worker.
                from .engine import Game

                Game(scenario).reset(self._seed)
            self._pool = _pool(workers, nice=REFERENCE_NICE, fork=forking)
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


def _lower_priority(step: int = 10) -> None:
    """Lower this worker's priority by ``step`` (Unix nice): the player's process comes first."""
    import os

    try:
        os.nice(step)
    except (AttributeError, OSError):
        pass


#: Priority steps below the player's process: background games while a student
#: plays wait for the window; the references of ``ccsim run`` fill the cores around
#: the player's game, the longest of the five (on 2 cores it then finishes as early
#: as the references: 1M fitness studio 14.0 -> 13.4 s, meal kit 10.9 -> 10.2 s).
BACKGROUND_NICE = 10
REFERENCE_NICE = 5


#: Thread counts of the numeric libraries in worker processes: one each, since
#: the processes already fill the cores (BLAS threads on top slow the fits).
_ONE_THREAD = dict.fromkeys(BLAS_THREAD_VARS, "1")


def _can_fork() -> bool:
    """Whether reference workers may be forked from this process rather than spawned.

    A fork copies the process as it is: safe only with no other thread
    running (a lock held by one would stay held in the child) and with the
    numeric libraries already at one thread each (as ``ccsim`` sets them),
    so a worker does not start a BLAS pool beside its siblings.
    """
    import multiprocessing
    import os
    import threading

    return ("fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
            and all(os.environ.get(var) == "1" for var in BLAS_THREAD_VARS))


def _pool(workers: int, nice: int = 0, fork: bool = False):
    """A pool of worker processes, each with one BLAS thread, ``nice`` steps below this one.

    Spawned fresh, or forked from this process if ``fork`` (``_can_fork``):
    a forked worker starts at once, with this process's imports and caches.
    """
    import functools
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    lower = functools.partial(_lower_priority, nice) if nice else None
    # A spawned worker reads the BLAS thread variables as it starts; a forked one
    # has this process's libraries, already at one thread (``_can_fork``).
    saved = {} if fork else {k: os.environ.get(k) for k in _ONE_THREAD}
    os.environ.update({k: _ONE_THREAD[k] for k in saved})
    try:
        pool = ProcessPoolExecutor(max_workers=workers, initializer=lower,
                                   mp_context=multiprocessing.get_context("fork" if fork else "spawn"))
        # Workers start as tasks arrive: start them all now, while the variables are set.
        list(pool.map(int, range(workers)))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return pool


# --- in the background ------------------------------------------------------------------

#: Worker processes shared by the background references and the composed games.
BACKGROUND_WORKERS = 2
_shared = None


def background_pool(workers: int = BACKGROUND_WORKERS):
    """The process's shared pool of low-priority worker processes (started on first use)."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = _pool(workers, nice=BACKGROUND_NICE)
            # Stopped before the interpreter tears modules down: a pool left to the
            # garbage collector at exit prints an AttributeError from its manager thread.
            atexit.register(shutdown_background)
        return _shared


def shutdown_background() -> None:
    """Stop the shared workers (at the end of a session or of the program)."""
    global _shared
    with _lock:
        pool, _shared = _shared, None
        futures = list(_background.values())
        _background.clear()
    for future in futures:
        future.cancel()
    if pool is not None:
        # A game still running would keep the program alive at exit until it ends:
        # the background workers are ours alone, so they are stopped outright.
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)


def start_in_background(scenario: Scenario, seed: int, names=REFERENCES) -> None:
    """Start playing the named references on ``seed`` in the shared workers; returns at once.

    The references depend only on the scenario and the seed, so a session
    starts them when its game starts and the reveal finds them played;
    ``play_reference`` and ``reference_values`` collect them (waiting if
    they are still being played).  The workers themselves are started on a
    thread, so not even their start-up holds up the caller's window.
    """
    from concurrent.futures import Future

    order = sorted(names, key=lambda n: EXPECTED_COST.get(n, 0), reverse=True)
    unknown = [n for n in order if not is_reference(n)]
    if unknown:
        raise ValueError(f"{unknown[0]!r} is not a reference strategy (known: {', '.join(REFERENCES)})")
    placeholders = {}
    with _lock:
        for name in order:
            key = _key(scenario, name, seed)
            if key not in _cache and key not in _background:
                placeholders[name] = _background[key] = Future()

    def submit() -> None:
        try:
            pool = background_pool()
            for name, placeholder in placeholders.items():
                if placeholder.set_running_or_notify_cancel():
                    pool.submit(_played_elsewhere, scenario, name, int(seed)).add_done_callback(
                        lambda done, p=placeholder: _settle(p, done))
        except Exception as exc:          # no workers: whoever asks plays the game itself
            for placeholder in placeholders.values():
                if not placeholder.done():
                    placeholder.set_exception(exc)

    if placeholders:
        threading.Thread(target=submit, daemon=True).start()


def _settle(placeholder, done) -> None:
    """Pass a worker's result (or failure) on to the future the callers hold."""
    if done.cancelled():
        placeholder.cancel() or placeholder.set_exception(RuntimeError("cancelled"))
    elif done.exception() is not None:
        placeholder.set_exception(done.exception())
    else:
        placeholder.set_result(done.result())


# --- composed games: one lever swapped ----------------------------------------------------

#: The references whose levers are swapped with the player's.
PARTNERS = ("mass-marketing", "customer-centric", "oracle")


@dataclass(frozen=True)
class Composition:
    """A composed game: the player's acquisition with a partner's service, or the other way round.

    Attributes:
        keep: "acquisition" (the player's acquisition dollars, the partner's
            service tiers) or "service" (the partner's acquisition, the
            player's tiers applied to this game's own customers).
        partner: the reference strategy supplying the other lever.
    """

    keep: str
    partner: str

    @property
    def name(self) -> str:
        if self.keep == "acquisition":
            return f"your acquisition + {self.partner}'s service"
        return f"{self.partner}'s acquisition + your service"


def compositions(partners=PARTNERS) -> tuple[Composition, ...]:
    """Both composed games for every partner, in the order they are shown."""
    return tuple(Composition(keep, p) for p in partners for keep in ("acquisition", "service"))


def own_score_columns(decisions) -> tuple[str, ...]:
    """Score columns the player's tiers use that the lab cannot recompute on another market.

    A tier on the lab's predictions (``sim.analytics.clv.ALL_LAB_COLUMNS``) is
    recomputed on the composed game's own customers, as the player's lab
    would have; a column of the player's own (a bot's ``rfm_tier``, say) was
    computed on the player's customers only.
    """
    from .analytics.clv import ALL_LAB_COLUMNS

    return tuple(sorted({name for d in decisions for name in d.scores
                         if name not in ALL_LAB_COLUMNS}))


class ComposedStrategy:
    """A composed game's strategy: each turn, one lever from the player's decisions, one from a partner.

    The partner plays the composed game itself (its decisions see this
    game's customers); it alone sees the truth, and only if it is the
    oracle.  Where the two levers together do not fit the budget, the
    service spends are scaled down until they do (never acquisition), so
    the game is played rather than refused.
    """

    def __init__(self, composition: Composition, decisions):
        from .strategies import get_strategy

        self.composition = composition
        self.name = composition.name
        self._decisions = list(decisions)
        self._partner = get_strategy(composition.partner)
        self.sees_truth = bool(getattr(self._partner, "sees_truth", False))

    def reset(self, scenario, seed: int) -> None:
        self._partner.reset(scenario, seed)

    def decide(self, observation, truth=None):
        from .decisions import Decision

        theirs = self._partner.decide(observation, truth if self.sees_truth else None)
        mine = self._decisions[observation.turn - 1]
        if self.composition.keep == "acquisition":
            decision = Decision(dict(mine.acquisition), theirs.tiers, theirs.scores)
        else:
            decision = Decision(dict(theirs.acquisition), mine.tiers, _lab_scores(observation, mine.tiers))
        return fit_budget(decision, observation)


def _lab_scores(observation, tiers) -> dict:
    """The lab's score columns the tiers use, recomputed on this game's customers."""
    import numpy as np

    from .analytics import referral_nbd
    from .analytics.clv import ALL_LAB_COLUMNS, predict_clv
    from .analytics.fitting import DataError
    from .decisions import rule_uses

    used = [n for n in ALL_LAB_COLUMNS if any(rule_uses(t.rule, n) for t in tiers)]
    if not used:
        return {}
    # No fit possible (or no referral column in this game): nobody matches a
    # rule on that score (NaN compares false, ranks last).
    columns = {n: np.full(observation.n_customers, np.nan) for n in ALL_LAB_COLUMNS}
    try:
        value = predict_clv(observation)
    except DataError:
        return {n: columns[n] for n in used}
    columns.update(value.columns())
    columns.update(referral_nbd.crv_columns(observation, value))
    return {n: columns[n] for n in used}


def fit_budget(decision, observation):
    """The decision with its service spends scaled down (never acquisition) until it fits the budget."""
    from .decisions import Decision, Tier, assign_tiers

    budget = float(observation.scenario.budget.marketing)
    assignment = assign_tiers(decision, dict(observation.columns), observation.categories, math.inf,
                              servable=observation.active)
    acquisition = decision.acquisition_total
    if acquisition + assignment.service_cost <= budget * (1 + 1e-9):
        return decision
    room = max(budget - acquisition, 0.0)
    factor = room / assignment.service_cost if assignment.service_cost > 0 else 0.0
    # A hair under the limit, so rounding never tips the scaled plan over it.
    factor *= 1 - 1e-9
    tiers = tuple(t if t.disengaged else Tier(t.name, t.rule, t.spend_per_customer * factor, t.holdout)
                  for t in decision.tiers)
    return Decision(decision.acquisition, tiers, decision.scores)


def play_composed(scenario: Scenario, seed: int, composition: Composition, decisions) -> GameValue:
    """The value of one composed game (played here)."""
    from .runner import play_game

    return play_game(scenario, ComposedStrategy(composition, decisions), seed).value


def composed_values(scenario: Scenario, seed: int, decisions, wanted=None, workers: int = 1,
                    progress: Callable[[str], None] | None = None) -> dict[Composition, GameValue | None]:
    """Every wanted composed game's value; None for one that cannot be measured.

    "Your service" cannot be measured on another market when the player's
    tiers use score columns of its own (``own_score_columns``).  With
    ``workers`` > 1 the games are played in the shared background workers,
    in parallel.

    Args:
        progress: called with each game's name as it is collected.
    """
    wanted = tuple(wanted if wanted is not None else compositions())
    own = own_score_columns(decisions)
    playable = [c for c in wanted if not (c.keep == "service" and own)]
    values: dict[Composition, GameValue | None] = {c: None for c in wanted}
    if workers > 1 and len(playable) > 1:
        pool = background_pool(max(workers, BACKGROUND_WORKERS))
        # The oracle's and customer-centric's games take longest: queue them first.
        order = sorted(playable, key=lambda c: EXPECTED_COST.get(c.partner, 0), reverse=True)
        futures = {c: pool.submit(play_composed, scenario, int(seed), c, list(decisions)) for c in order}
        for c in order:
            if progress:
                progress(c.name)
            values[c] = futures[c].result()
    else:
        for c in playable:
            if progress:
                progress(c.name)
            values[c] = play_composed(scenario, seed, c, decisions)
    return values
