"""Score columns of a decision: only what the rules need, stored compactly.

A decision's score columns (a predicted CLV per customer, say) can be
megabytes a turn, yet its rules use each column in only a few ways: a
comparison with a few constants (``predicted_clv >= 120``) depends only on
which side of each constant a value falls, and only a quantile rule (``top
20% by predicted_clv``) needs the full order.  ``essential_scores`` keeps,
for each column, exactly what its rules can tell apart: unused columns are
dropped, and a column used only in comparisons becomes one representative
value per interval between the constants.  The tiers the decision assigns
are the same by construction, and the reduced columns take a few distinct
values, which ``encode_column`` stores in a few kilobytes.
"""

from __future__ import annotations

import base64
import math
import zlib
from dataclasses import replace
from typing import Any

import numpy as np

from .decisions import Decision
from .errors import SimError
from .unique import unique_inverse

class ColumnError(SimError):
    """An encoded score column that cannot be decoded; the message says why."""


#: A field some rule ranks by (top/bottom share): its whole order matters.
_ORDERED = None


def _collect(rule: Any, uses: dict[str, Any]) -> None:
    """Record, per field, the constants it is compared with (or that it is ranked)."""
    if not isinstance(rule, dict):
        return
    keys = set(rule)
    if keys in ({"all"}, {"any"}):
        parts = rule[next(iter(keys))]
        for part in parts if isinstance(parts, list) else ():
            _collect(part, uses)
    elif keys == {"not"}:
        _collect(rule["not"], uses)
    elif keys in ({"top", "by"}, {"bottom", "by"}) and isinstance(rule["by"], str):
        uses[rule["by"]] = _ORDERED
    elif keys == {"field", "op", "value"} and isinstance(rule["field"], str):
        name = rule["field"]
        if name in uses and uses[name] is _ORDERED:
            return
        values = rule["value"] if isinstance(rule["value"], list) else [rule["value"]]
        constants = uses.setdefault(name, set())
        for v in values:
            if isinstance(v, (int, float, np.number)) and not isinstance(v, bool) and math.isfinite(v):
                constants.add(float(v))


def _representatives(values: np.ndarray, constants: np.ndarray) -> np.ndarray:
    """Each value replaced by the smallest value sharing its side of every constant."""
    missing = np.isnan(values)
    i = np.searchsorted(constants, values, side="left")
    on = (i < constants.size) & (constants[np.minimum(i, constants.size - 1)] == values)
    bucket = 2 * i + on
    bucket[missing] = -1
    labels, inverse = unique_inverse(bucket)
    smallest = np.full(labels.size, np.inf)
    np.minimum.at(smallest, inverse, np.where(missing, np.inf, values))
    out = smallest[inverse]
    out[missing] = np.nan
    return out


def essential_scores(decision: Decision, n_customers: int, observable: set[str]) -> Decision:
    """The decision with only the score information its rules can use.

    Assigns every customer to the same tier as ``decision`` does.  A
    decision whose score columns are malformed (wrong length, not numbers,
    a name clashing with an observable field) is returned unchanged, so the
    engine refuses it with its own message.

    Args:
        decision: the decision as a strategy made it.
        n_customers: rows of the observation it was made for.
        observable: names of the observation's columns.
    """
    if not decision.scores:
        return decision
    columns = {}
    for name, values in decision.scores.items():
        try:
            column = np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            return decision
        if column.shape != (n_customers,) or name in observable:
            return decision
        columns[name] = column
    uses: dict[str, Any] = {}
    for tier in decision.tiers:
        _collect(tier.rule, uses)
    kept = {}
    for name, column in columns.items():
        if name not in uses:
            continue
        constants = uses[name]
        if constants is _ORDERED:
            kept[name] = column.copy()  # a strategy may reuse its array next turn
        else:
            kept[name] = _representatives(column, np.array(sorted(constants)))
    return replace(decision, scores=kept)


def encode_column(values: np.ndarray) -> dict:
    """A float column as JSON: distinct values and zlib-compressed codes, base64.

    Lossless (bit for bit, NaN included).  Columns with more than 65,536
    distinct values are stored as compressed float64.
    """
    values = np.ascontiguousarray(values, dtype="<f8")
    bits = values.view("<u8")
    table, codes = np.unique(bits, return_inverse=True)
    if table.size <= 1 << 16:
        dtype = "<u1" if table.size <= 1 << 8 else "<u2"
        payload = codes.astype(dtype).tobytes()
        out = {"n": int(values.size), "codes": dtype, "table": _b64(table.astype("<u8").tobytes())}
    else:
        payload = bits.tobytes()
        out = {"n": int(values.size), "codes": None, "table": None}
    out["data"] = _b64(zlib.compress(payload, 6))
    return out


def decode_column(encoded: Any, max_values: int | None = None) -> np.ndarray:
    """The inverse of ``encode_column``, bounded before anything is inflated.

    The column's ``n`` is checked against ``max_values`` first, and the
    compressed data is inflated to at most the ``n`` values it claims (one
    byte more tells it holds more), so a small file can never inflate into
    gigabytes.

    Args:
        encoded: the column's JSON form.
        max_values: most values accepted (a decision has one per customer,
            so the game's prospects); None for no limit but ``n``.

    Raises:
        ColumnError: the mapping is malformed, holds more than
            ``max_values`` values, or does not hold exactly ``n``.
    """
    if not isinstance(encoded, dict) or set(encoded) != {"n", "codes", "table", "data"}:
        raise ColumnError("a score column must have n, codes, table and data")
    n = encoded["n"]
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ColumnError(f"n must be a whole number >= 0, got {n!r:.40}")
    if max_values is not None and n > max_values:
        raise ColumnError(f"n is {n:,}; a column has one value per customer, at most "
                          f"{max_values:,} here")
    codes_type = encoded["codes"]
    if codes_type is not None and codes_type not in _CODE_TYPES:
        raise ColumnError(f"unknown code type {codes_type!r:.40}")
    if not isinstance(encoded["data"], str):
        raise ColumnError("data must be base64 text")
    itemsize = 8 if codes_type is None else _CODE_TYPES[codes_type]
    payload = _inflate(_unbase64(encoded["data"], "data"), n, itemsize)
    if codes_type is None:
        if encoded["table"] is not None:
            raise ColumnError("a column without codes has no table")
        bits = np.frombuffer(payload, dtype="<u8")
    else:
        if not isinstance(encoded["table"], str):
            raise ColumnError("table must be base64 text")
        table = _unbase64(encoded["table"], "table")
        most = 1 << (8 * itemsize)
        if len(table) % 8 or len(table) // 8 > most:
            raise ColumnError(f"the table must hold at most {most:,} values of 8 bytes")
        values = np.frombuffer(table, dtype="<u8")
        codes = np.frombuffer(payload, dtype=codes_type)
        if codes.size and int(codes.max()) >= values.size:
            raise ColumnError("a code points past the table of values")
        bits = values[codes]
    return bits.view("<f8").astype(float)


#: Code types a column may use, with their bytes per value.
_CODE_TYPES = {"<u1": 1, "<u2": 2}


def _unbase64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (TypeError, ValueError) as exc:
        raise ColumnError(f"{what}: undecodable base64 ({exc})") from None


def _inflate(compressed: bytes, n: int, itemsize: int) -> bytes:
    """Exactly ``n`` values of ``itemsize`` bytes from a zlib stream, never inflating more."""
    size = n * itemsize
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(compressed, size + 1)
    except zlib.error as exc:
        raise ColumnError(f"undecodable data ({exc})") from None
    if len(out) > size or inflater.unconsumed_tail:
        raise ColumnError(f"holds more than the {n:,} values n says (the data inflates past "
                          f"{size:,} bytes)")
    if not inflater.eof:
        raise ColumnError("the compressed data is truncated")
    if inflater.unused_data:
        raise ColumnError("bytes follow the compressed data")
    if len(out) < size:
        raise ColumnError(f"holds {len(out) // itemsize:,} values, expected {n:,}")
    return out


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
