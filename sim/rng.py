"""Keyed random streams: every draw is addressed by (purpose, turn, root seed).

Why keyed streams: a tournament compares players on skill, not luck, so a
customer's fate in a turn must not depend on how many numbers were drawn
before it.  Each purpose (deaths, purchase counts, acquisition keys, ...) has
its own stream per turn, built from a ``numpy.random.SeedSequence`` whose
entropy is the root seed and whose spawn key is ``(purpose id, turn, extra
ids...)``.  Streams are always drawn at full prospect-pool length, so the
value for prospect ``i`` sits at position ``i`` whatever the player did.
"""

from __future__ import annotations

import numpy as np

from .errors import SimError

#: Stable integer ids for each purpose.  Never renumber: records replay by them.
PURPOSES: dict[str, int] = {
    "population": 1,
    "profile": 2,
    "acquisition_count": 3,
    "acquisition_key": 4,
    "death": 5,
    "purchase_count": 6,
    "purchase_spend": 7,
    "purchase_timing": 8,
    "initial_spend": 9,
    "continuation": 10,
    "service_incidents": 11,
    "incident_cost": 12,
    "customer_id": 13,
    "response_test": 14,
    "holdout": 15,
    "referral_rate": 16,
    "referral_count": 17,
    "referral_kind": 18,
    "referral_key": 19,
}

#: Warm-up turns are numbered 0, -1, -2, ...; spawn keys must be >= 0.
_TURN_OFFSET = 1_000


def stream(root_seed: int, purpose: str, turn: int = 0, *extra: int) -> np.random.Generator:
    """Return the generator for one (purpose, turn, extra...) key.

    Args:
        root_seed: the game's root seed (a non-negative integer).
        purpose: a name from ``PURPOSES``.
        turn: the turn the draws belong to; warm-up turns may be <= 0.
        *extra: further non-negative ids, e.g. a channel index.

    Returns:
        A fresh ``numpy.random.Generator``; the same key always gives the
        same sequence, and different keys give independent sequences.
    """
    if root_seed < 0:
        raise SimError(f"seed must be >= 0, got {root_seed}")
    key = (PURPOSES[purpose], turn + _TURN_OFFSET, *extra)
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(root_seed, spawn_key=key)))


def uniforms(root_seed: int, purpose: str, turn: int, size: int, *extra: int) -> np.ndarray:
    """Uniforms on (0, 1), one per prospect position, for one key.

    Zero is excluded so that logs and inverse CDFs stay finite.
    """
    u = stream(root_seed, purpose, turn, *extra).random(size)
    # random() is on [0, 1); map an exact 0 to the smallest positive double.
    np.maximum(u, np.finfo(float).tiny, out=u)
    return u
