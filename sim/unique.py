"""Exact, faster stand-ins for ``np.unique`` on the game's per-customer columns.

``np.unique`` sorts its whole input, which at a million customers costs
more than the arithmetic around it.  The columns the analytics group by
are mostly small whole numbers (channels, ages in turns, counts) or a
handful of distinct floats (a θ per channel), so:

* whole numbers in a short range are placed in a lookup table (one pass,
  no sort);
* other values are matched against the distinct values of a strided
  sample (a small sort and a binary search); if a value is missing from
  the sample the full sort is used after all;
* rows are reduced to one whole-number id per row that sorts as the rows
  do (each column's rank, mixed radix), then treated as above.

Each function returns exactly what ``np.unique`` returns for the same
call, bit for bit, so it can replace it without changing a game.  Where
``np.unique``'s own choice is arbitrary (which of ``0.0`` and ``-0.0``
represents zero, NaNs in rows) the functions fall back to ``np.unique``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["rows_of_ids", "unique_counts", "unique_inverse", "unique_rows", "unique_values"]

#: A lookup table may be this many times longer than the input (plus a constant).
_TABLE_FACTOR = 4
_TABLE_MIN = 1 << 16
#: Floats below this in size are whole numbers exactly when their int64 equals them.
_EXACT = float(1 << 53)
#: Longest lookup table from ids to positions (32 MB of intp).
_ID_TABLE_MAX = 1 << 22
#: The sample of distinct-value candidates takes every this-many-th value.
_SAMPLE_STRIDE = 64
#: Inputs shorter than this go straight to ``np.unique`` (sorting is cheap there).
_SMALL = 2048


def unique_values(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values of a 1-D array: ``np.unique(values)``."""
    return unique_inverse(values)[0]


def unique_inverse(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` for a 1-D array.

    Returns:
        (sorted distinct values, index of each value in them), the index
        an ``intp`` array of the input's length.
    """
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"unique_inverse: expected a 1-D array, got shape {values.shape}")
    codes = _codes(values)
    if codes is None:
        distinct, inverse = np.unique(values, return_inverse=True)
        return distinct, inverse.reshape(-1)
    candidates, code = codes
    present = np.zeros(candidates.size, dtype=bool)
    present[code] = True
    if present.all():
        return candidates, code
    rank = np.cumsum(present, dtype=np.intp) - 1
    return candidates[present], rank[code]


def unique_counts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_counts=True)`` for a 1-D array.

    Returns:
        (sorted distinct values, how many times each occurs).
    """
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"unique_counts: expected a 1-D array, got shape {values.shape}")
    codes = _codes(values)
    if codes is None:
        return np.unique(values, return_counts=True)
    candidates, code = codes
    counts = np.bincount(code, minlength=candidates.size)
    present = counts > 0
    return candidates[present], counts[present]


def unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(rows, axis=0, return_inverse=True)`` for a 2-D array.

    Returns:
        (distinct rows in lexicographic order, index of each row in them),
        the index a 1-D ``intp`` array.
    """
    rows = np.asarray(rows)
    if rows.ndim != 2:
        raise ValueError(f"unique_rows: expected a 2-D array, got shape {rows.shape}")
    n, k = rows.shape
    if n == 0 or k == 0:
        return _numpy_rows(rows)
    ids = np.zeros(n, dtype=np.int64)
    columns, span = [], 1
    for j in range(k):
        distinct, rank = unique_inverse(rows[:, j])
        if not _plain(rows[:, j], distinct):
            return _numpy_rows(rows)
        span *= distinct.size
        if span >= 1 << 62:
            return _numpy_rows(rows)
        # Mixed radix, first column most significant: the ids sort as the rows do.
        ids *= distinct.size
        ids += rank
        columns.append(distinct)
    keys, inverse = unique_inverse(ids)
    out = np.empty((keys.size, k), dtype=rows.dtype)
    for j in range(k - 1, -1, -1):
        size = columns[j].size
        out[:, j] = columns[j][keys % size]
        keys = keys // size
    return out, inverse


def rows_of_ids(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Position in ``ids`` of each of ``wanted``.

    Args:
        ids: distinct whole numbers (customer ids, say), in any order.
        wanted: ids to look up; each must be one of ``ids``.

    Returns:
        ``intp`` positions, as ``argsort(ids)[searchsorted(sort(ids), wanted)]``
        gives them, from a lookup table when the ids are small and
        non-negative (they index prospects).
    """
    ids = np.asarray(ids)
    wanted = np.asarray(wanted)
    if ids.size and ids.dtype.kind in "iu" and wanted.dtype.kind in "iu":
        high = int(ids.max())
        # The table is as long as the largest id (customer ids number prospects, a few million).
        if ids.min() >= 0 and high < max(_TABLE_FACTOR * ids.size + _TABLE_MIN, _ID_TABLE_MAX):
            table = np.empty(high + 1, dtype=np.intp)
            table[ids] = np.arange(ids.size)
            return table[wanted]
    order = np.argsort(ids, kind="stable")
    return order[np.searchsorted(ids[order], wanted)]


def _numpy_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    distinct, inverse = np.unique(rows, axis=0, return_inverse=True)
    return distinct, inverse.reshape(-1)


def _plain(column: np.ndarray, distinct: np.ndarray) -> bool:
    """True if the column's distinct values are the same bits wherever they occur.

    NaN (``np.unique`` on rows keeps every NaN row apart) and a zero that
    may be ``-0.0`` (which zero ``np.unique`` keeps is up to its sort) are
    left to ``np.unique``.
    """
    if distinct.dtype.kind not in "fc":
        return True
    if distinct.size and np.isnan(distinct[-1]):
        return False
    if np.any(distinct == 0):
        return not np.signbit(column.real).any() and (
            distinct.dtype.kind == "f" or not np.signbit(column.imag).any())
    return True


def _codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(sorted candidate values, index of each value in them), or None to use ``np.unique``.

    Every candidate is one of the values unless the lookup table is used,
    whose unused entries the callers drop.
    """
    n = values.size
    if n < _SMALL:
        return None
    kind = values.dtype.kind
    if kind in "iub":
        return _table_codes(values)
    if kind != "f":
        return None
    return _whole_codes(values) or _sample_codes(values)


def _whole_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Floats that are whole numbers in a short range (counts, ages in turns): a lookup table."""
    low, high = values.min(), values.max()
    if not (-_EXACT < low and high < _EXACT) or high - low > _TABLE_FACTOR * values.size + _TABLE_MIN:
        return None   # NaN and infinities fail the first test
    whole = values.astype(np.int64)
    if not np.array_equal(whole, values):
        return None
    # A table entry is +0.0; a column whose zeros are -0.0 is left to the other paths.
    if low <= 0 <= high and np.signbit(values[values == 0]).any():
        return None
    candidates, code = _table_codes(whole)
    return candidates.astype(values.dtype), code


def _table_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Whole numbers in a short range: a lookup table indexed by value − min."""
    low, high = values.min(), values.max()
    span = int(high) - int(low) + 1
    if span > _TABLE_FACTOR * values.size + _TABLE_MIN:
        return None
    code = values.astype(np.intp)
    if low != 0:
        code -= int(low)
    candidates = (np.arange(span, dtype=np.int64) + int(low)).astype(values.dtype)
    return candidates, code


def _sample_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Floats with few distinct values: the distinct values of a sample, checked against all."""
    candidates = np.unique(values[::_SAMPLE_STRIDE])
    if candidates.size > values.size // (4 * _SAMPLE_STRIDE) or np.isnan(candidates[-1]):
        return None   # many distinct values (or NaN): the sample would miss some
    code = np.searchsorted(candidates, values)
    np.minimum(code, candidates.size - 1, out=code)
    missed = candidates[code] != values
    if missed.any():
        # Rare values the sample skipped: add them and look again.
        extra = values[missed]
        if extra.size > values.size // 8:
            return None
        candidates = np.unique(np.concatenate([candidates, extra]))
        if np.isnan(candidates[-1]):
            return None
        code = np.searchsorted(candidates, values)
        np.minimum(code, candidates.size - 1, out=code)
        if not np.array_equal(candidates[code], values):
            return None
    # np.unique keeps whichever zero its sort puts first: with both signs present, let it.
    if np.any(candidates == 0):
        sign = np.signbit(values[values == 0])
        if sign.any() and not sign.all():
            return None
    return candidates, code
