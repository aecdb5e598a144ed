"""The acquisition and referral races and the oracle's whole-pool values, against plain versions.

``sim.acquisition.acquire`` and ``sim.referrals._smallest_keys`` find the
smallest keys without gathering the candidates first, and the oracle reads
prospect values from arrays computed once per market: each must give
exactly what the plain computation gives.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import small
from sim.acquisition import acquire, expected_acquisitions
from sim.behaviour import poisson_inverse
from sim.engine import Game
from sim.referral_value import expected_referrals
from sim.referrals import _smallest_keys
from sim.rng import stream, uniforms
from sim.valuation import prospect_value, whole_pool


def plain_acquire(seed, turn, scenario, spend, in_pool, type_index, affinity, reach):
    """The race written plainly: each channel's candidates, their keys, the smallest win."""
    expected = expected_acquisitions(scenario, spend, reach)
    free = in_pool.copy()
    ids, channels = [], []
    for c in range(len(scenario.channels)):
        if spend[c] <= 0 or expected[c] <= 0:
            continue
        count = int(poisson_inverse(uniforms(seed, "acquisition_count", turn, 1, c),
                                    expected[c:c + 1])[0])
        keys = stream(seed, "acquisition_key", turn, c).standard_exponential(in_pool.size)
        candidates = np.flatnonzero(free & (affinity[type_index, c] > 0))
        count = min(count, candidates.size)
        if count == 0:
            continue
        with np.errstate(divide="ignore"):
            order = np.argsort(keys[candidates] / affinity[type_index[candidates], c], kind="stable")
        won = np.sort(candidates[order[:count]])
        free[won] = False
        ids.append(won)
        channels.append(np.full(won.size, c, dtype=np.int8))
    if not ids:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int8)
    return np.concatenate(ids), np.concatenate(channels)


@pytest.mark.parametrize("pool_share", [0.7, 0.03])
@pytest.mark.parametrize("spend_scale", [0.0, 0.05, 1.0, 40.0])
def test_acquisition_race_is_the_plain_race(scenario_name, spend_scale, pool_share):
    s = small(scenario_name, 3000)
    game = Game(s)
    game.reset(2)
    pop = game.population
    rng = np.random.default_rng(5)
    # A pool with holes, as late in a game; nearly empty, the channels run out of prospects.
    in_pool = rng.random(s.prospects) < pool_share
    spend = spend_scale * np.array([c.ceiling / c.efficiency / 2000 for c in s.channels])
    reach = np.full(len(s.channels), 0.8)
    for turn in (1, 4):
        got = acquire(9, turn, s, spend, in_pool, pop.type_index, pop.affinity, reach,
                      pop.prospect_weight)
        want = plain_acquire(9, turn, s, spend, in_pool, pop.type_index, pop.affinity, reach)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
        assert not np.isin(got[0], np.flatnonzero(~in_pool)).any()


@pytest.mark.parametrize("count", [0, 1, 7, 300, 2999, 5000])
def test_smallest_referral_keys_are_the_plain_smallest(count):
    rng = np.random.default_rng(count)
    n = 3000
    keys = rng.standard_exponential(n)
    free = rng.random(n) < 0.6
    kinds = rng.integers(0, 3, n)
    for kind in (None, 0, 2):
        eligible = free if kind is None else free & (kinds == kind)
        ids = np.flatnonzero(eligible)
        want = ids[np.argsort(keys[ids], kind="stable")[:count]]
        got = (_smallest_keys(keys, free, count, int(eligible.sum())) if kind is None
               else _smallest_keys(keys, free, count, int(eligible.sum()), kinds, kind))
        np.testing.assert_array_equal(got, want)


def test_smallest_referral_keys_widen_past_an_unlucky_cut():
    """Keys far larger than Exp(1) would put (few eligible below the first cut-off): still exact."""
    keys = np.linspace(5.0, 9.0, 1000)           # nothing under -ln(1 - s) for small s
    free = np.ones(1000, dtype=bool)
    np.testing.assert_array_equal(_smallest_keys(keys, free, 3, 1000), [0, 1, 2])


def test_whole_pool_values_are_the_values_and_follow_the_market():
    s = small("fitness_studio", 2500)
    game = Game(s)
    game.reset(3)
    pop = game.population
    pool = np.flatnonzero(np.arange(pop.size) % 3 != 0)
    for name, compute in (("prospect_value", prospect_value),
                          ("expected_referrals", expected_referrals)):
        values = whole_pool(pop, s, name, compute)
        assert not values.flags.writeable
        np.testing.assert_array_equal(values[pool], compute(pop, pool, s))
        assert whole_pool(pop, s, name, compute) is values      # computed once
    other = Game(s)
    other.reset(4)                                            # another market: recomputed
    np.testing.assert_array_equal(whole_pool(other.population, s, "prospect_value", prospect_value),
                                  prospect_value(other.population, np.arange(other.population.size), s))
