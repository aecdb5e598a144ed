"""Acquisition: channel dollars buy prospects from the finite pool.

Expected acquisitions in channel c follow Blattberg & Deighton,
ceiling_c (1 - exp(-k_c A_c)), scaled by the share of the channel's reach
still in the pool (saturation).  The count is the Poisson quantile of one
fixed uniform per (channel, turn), and who is bought is an exponential race:
each prospect has a fixed key E / w (E ~ Exp(1), w its type's affinity for
the channel); the n smallest keys among those still in the pool win.  Both
are monotone in the budget, so more dollars in a channel buy a superset of
what fewer dollars would (docs/design.md, fair randomness).
"""

from __future__ import annotations

import numpy as np
from .behaviour import poisson_inverse
from .rng import stream, uniforms
from .scenario import Scenario


def expected_acquisitions(scenario: Scenario, spend: np.ndarray,
                          reach_left: np.ndarray) -> np.ndarray:
    """Expected new customers per channel this turn.

    Args:
        scenario: gives each channel's ceiling and efficiency.
        spend: dollars per channel this turn.
        reach_left: per channel, share of its affinity-weighted reach still
            in the prospect pool (1 at the start of the game).
    """
    ceiling = np.array([c.ceiling for c in scenario.channels])
    efficiency = np.array([c.efficiency for c in scenario.channels])
    return ceiling * -np.expm1(-efficiency * spend) * reach_left


def reach_left(affinity: np.ndarray, remaining_by_type: np.ndarray,
               total_by_type: np.ndarray) -> np.ndarray:
    """Share of each channel's affinity-weighted reach still in the pool."""
    full = total_by_type @ affinity
    left = remaining_by_type @ affinity
    return np.divide(left, full, out=np.zeros_like(full), where=full > 0)


def acquire(seed: int, turn: int, scenario: Scenario, spend: np.ndarray, in_pool: np.ndarray,
            type_index: np.ndarray, affinity: np.ndarray, reach: np.ndarray,
            prospect_weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Choose this turn's new customers.

    Channels are served in scenario order; a prospect taken by an earlier
    channel is out of the later ones' race.  Channels with no spend draw
    nothing: their keyed streams are independent of every other stream, so
    skipping them changes no other draw.

    Args:
        seed: root seed.
        turn: the turn (warm-up turns are <= 0).
        scenario: the business.
        spend: dollars per channel this turn.
        in_pool: True for prospects not yet acquired (not modified).
        type_index: latent type per prospect.
        affinity: (types, channels) reach weights.
        reach: per channel, share of its reach left (see ``reach_left``).
        prospect_weight: (channels, prospects) each prospect's reach weight
            in each channel, ``affinity[type_index].T``
            (``Population.prospect_weight``).

    Returns:
        (prospect ids acquired, channel index of each), in channel order.
    """
    expected = expected_acquisitions(scenario, spend, reach)
    drawing = [c for c in range(len(scenario.channels)) if spend[c] > 0 and expected[c] > 0]
    if not drawing:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int8)
    # Prospects left of each type: how many a channel can reach, without a mask per channel.
    left_by_type = np.bincount(type_index[in_pool], minlength=affinity.shape[0])
    # The race runs over every prospect, those out of it keyed +inf: no index
    # arrays of the candidates to gather through, each a pass over the pool.
    out_of_race = ~in_pool
    # One buffer for every channel's race: a fresh million-double array costs its page faults.
    race = np.empty(in_pool.size)
    ids, channels = [], []
    for c in drawing:
        u = uniforms(seed, "acquisition_count", turn, 1, c)
        count = int(poisson_inverse(u, expected[c:c + 1])[0])
        count = min(count, int(left_by_type[affinity[:, c] > 0].sum()))
        if count == 0:
            continue
        stream(seed, "acquisition_key", turn, c).standard_exponential(out=race)
        # Unreachable prospects (weight 0) get +inf; so, by overflow, do those of a
        # subnormal weight, which no real channel has: both last in the race.
        with np.errstate(divide="ignore", over="ignore"):
            np.divide(race, prospect_weight[c], out=race)
        np.putmask(race, out_of_race, np.inf)
        won = smallest(race, count)
        if c != drawing[-1]:   # the last channel's winners need not leave the race
            left_by_type -= np.bincount(type_index[won], minlength=left_by_type.size)
            out_of_race[won] = True
        ids.append(np.sort(won))
        channels.append(np.full(won.size, c, dtype=np.int8))
    if not ids:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int8)
    return np.concatenate(ids), np.concatenate(channels)


def smallest(keys: np.ndarray, count: int) -> np.ndarray:
    """Indices of the ``count`` smallest keys, in no particular order.

    The same set as a full ``argpartition``, but a turn buys a few thousand
    of a million prospects, so a cut-off from a strided sample first narrows
    the partition to a few times ``count`` keys (widened until it holds
    enough).
    """
    if count >= keys.size:
        return np.arange(keys.size)
    sample = keys[::_SAMPLE_STRIDE]
    share = count / keys.size
    while share < 0.25 and sample.size > 100:
        # Three times the expected share, plus a margin for sampling noise.
        quantile = min(1.0, 3.0 * share + 20.0 / sample.size)
        cutoff = np.quantile(sample, quantile)
        near = np.flatnonzero(keys <= cutoff)
        if near.size >= count:
            return near[np.argpartition(keys[near], count - 1)[:count]]
        share *= 4.0
    return np.argpartition(keys, count - 1)[:count]


#: Every how many keys the cut-off sample takes one.
_SAMPLE_STRIDE = 64
