"""sim.unique returns exactly what np.unique returns, bit for bit, on every kind of input."""

from __future__ import annotations

import numpy as np
import pytest

from sim.unique import rows_of_ids, unique_counts, unique_inverse, unique_rows, unique_values


def _same(a: np.ndarray, b: np.ndarray) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


def _columns():
    rng = np.random.default_rng([7, 2024])
    big = 300_000
    return {
        "empty": np.empty(0),
        "empty_int": np.empty(0, dtype=np.int64),
        "single": np.array([3.5]),
        "single_int": np.array([-4], dtype=np.int64),
        "small_ints": rng.integers(0, 6, 500),
        "ids": rng.integers(0, 40, big),
        "negative_ids": rng.integers(-30, 30, big),
        "int8": rng.integers(0, 5, big).astype(np.int8),
        "uint": rng.integers(0, 1000, big).astype(np.uint32),
        "bools": rng.random(big) < 0.3,
        "wide_ints": rng.integers(0, 1 << 40, big),
        "whole_floats": rng.integers(0, 30, big).astype(float),
        "few_floats": rng.choice([0.1, 0.7, 2.25, -1.5, np.inf], big),
        "rare_value": np.where(np.arange(big) == 12_345, 9.75, 1.0),
        "continuous": rng.gamma(2.0, 3.0, big),
        "nan": np.where(rng.random(big) < 0.1, np.nan, rng.integers(0, 4, big).astype(float)),
        "both_zeros": rng.choice([0.0, -0.0, 1.0], big),
        "negative_zero": rng.choice([-0.0, 1.0], big),
        "sorted": np.repeat(np.arange(50.0), 4000),
        "negative_whole": rng.integers(-40, 3, big).astype(float),
        "whole_and_rare_fraction": np.where(np.arange(big) == 777, 2.5, rng.integers(0, 9, big) * 1.0),
        "huge_whole": rng.integers(0, 3, big) * 2.0 ** 60,
        "rare_values": np.where(rng.random(big) < 1e-4, rng.random(big), 0.5),
    }


@pytest.mark.parametrize("name", list(_columns()))
def test_one_column_matches_numpy(name):
    values = _columns()[name]
    distinct, inverse = unique_inverse(values)
    want, want_inverse = np.unique(values, return_inverse=True)
    if name == "both_zeros":   # which zero np.unique keeps is up to its sort: compare values
        np.testing.assert_array_equal(distinct, want)
    else:
        _same(distinct, want)
    _same(inverse, want_inverse.reshape(-1))
    _same(unique_values(values), distinct)
    distinct, counts = unique_counts(values)
    want, want_counts = np.unique(values, return_counts=True)
    np.testing.assert_array_equal(distinct, want)
    _same(counts, want_counts)


def _tables():
    rng = np.random.default_rng([8, 2024])
    big = 200_000
    return {
        "empty": np.empty((0, 3)),
        "single": np.array([[1.0, 2.0, 3.0]]),
        "small": rng.integers(0, 3, (400, 3)).astype(float),
        "whole": np.column_stack([rng.integers(0, 20, big), rng.integers(0, 20, big),
                                  rng.integers(0, 30, big)]).astype(float),
        "ints": np.column_stack([rng.integers(-5, 5, big), rng.integers(0, 100, big)]),
        "fractions": np.column_stack([rng.integers(0, 10, big).astype(float),
                                      rng.choice([0.25, 1.5, 3.75], big),
                                      rng.integers(1, 25, big).astype(float)]),
        "continuous": np.column_stack([rng.integers(0, 3, big).astype(float),
                                       rng.gamma(2.0, 1.0, big)]),
        "nan": np.column_stack([np.where(rng.random(big) < 0.01, np.nan, 1.0),
                                rng.integers(0, 3, big).astype(float)]),
        "negative_zero": np.column_stack([rng.choice([-0.0, 2.0], big), np.ones(big)]),
        "one_column": rng.integers(0, 7, (big, 1)),
    }


@pytest.mark.parametrize("name", list(_tables()))
def test_rows_match_numpy(name):
    rows = _tables()[name]
    distinct, inverse = unique_rows(rows)
    want, want_inverse = np.unique(rows, axis=0, return_inverse=True)
    if name == "nan":
        np.testing.assert_array_equal(distinct, want)
    else:
        _same(distinct, want)
    _same(inverse, want_inverse.reshape(-1))


def test_wrong_shapes_are_refused():
    with pytest.raises(ValueError):
        unique_inverse(np.zeros((3, 2)))
    with pytest.raises(ValueError):
        unique_counts(np.zeros((3, 2)))
    with pytest.raises(ValueError):
        unique_rows(np.zeros(3))


@pytest.mark.parametrize("high", [50_000, 1 << 40])
def test_rows_of_ids_match_a_sorted_search(high):
    rng = np.random.default_rng([9, high])
    ids = rng.choice(high, 20_000, replace=False).astype(np.int64)
    wanted = rng.choice(ids, 70_000)
    order = np.argsort(ids, kind="stable")
    _same(rows_of_ids(ids, wanted), order[np.searchsorted(ids[order], wanted)])
    _same(rows_of_ids(ids[:0], wanted[:0]), np.empty(0, dtype=np.intp))
