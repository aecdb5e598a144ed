"""Strict JSON output: no NaN or Infinity, which strict parsers reject.

``json.dumps`` writes ``NaN`` and ``Infinity`` by default, which is not JSON.
:func:`dumps` replaces every non-finite number with ``null`` and lists why
under a top-level ``"nulls"`` key (JSON path -> reason), then serialises with
``allow_nan=False`` so nothing non-finite can slip through.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

__all__ = ["dumps", "finite_or_null"]


def finite_or_null(value: Any, path: str, reasons: dict[str, str],
                   why: dict[str, str] | None = None) -> Any:
    """A copy of ``value`` with non-finite numbers as None, each noted in ``reasons``.

    Args:
        value: plain data (dicts, lists, tuples, numbers, text, numpy scalars).
        path: JSON path of ``value``, e.g. ``$.baselines``.
        reasons: filled with path -> reason for every number replaced.
        why: optional path -> reason overriding the generic one.
    """
    if isinstance(value, dict):
        return {key: finite_or_null(item, f"{path}.{key}", reasons, why)
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_null(item, f"{path}[{i}]", reasons, why) for i, item in enumerate(value)]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if math.isfinite(number):
            return number
        reasons[path] = (why or {}).get(path, f"not a finite number ({number})")
        return None
    return value


def dumps(report: dict, why: dict[str, str] | None = None, **kwargs: Any) -> str:
    """Strict JSON text of ``report``; non-finite numbers become null with a reason.

    Args:
        report: a JSON-like mapping.
        why: JSON path (``$.key.sub``) -> reason for a null, where known.
        **kwargs: passed to ``json.dumps`` (e.g. ``indent``).
    """
    reasons: dict[str, str] = {}
    clean = finite_or_null(report, "$", reasons, why)
    if reasons:
        clean["nulls"] = reasons
    return json.dumps(clean, allow_nan=False, **kwargs)
