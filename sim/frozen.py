"""Read-only containers for what a strategy may hold: a mapping and numpy arrays.

A strategy in the same process receives the observation's arrays, its
column mapping, the books and the public scenario.  If it could write to
them, a slip such as ``p = cols["profit"]; p[p < 0] = 0`` would change the
columns the engine assigns tiers from, and with them its own result and the
record.  So everything reachable from an observation is read-only:
:class:`FrozenDict` for mappings (a ``dict``, so ``json`` and ``pickle``
take it as one) and :func:`read_only` for arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["FrozenDict", "read_only"]


class FrozenDict(dict):
    """A ``dict`` that refuses every change after it is built.

    Equal to (and serialised like) a plain dict with the same items;
    ``dict(frozen)`` is an ordinary mutable copy.
    """

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("this mapping is read-only; copy it with dict(...) to change it")

    __setitem__ = __delitem__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse
    __ior__ = _refuse

    def __reduce__(self):
        return (type(self), (dict(self),))

    def __copy__(self) -> "FrozenDict":
        return self

    def __deepcopy__(self, memo: dict) -> "FrozenDict":
        import copy

        return type(self)({k: copy.deepcopy(v, memo) for k, v in self.items()})

    def __repr__(self) -> str:
        return f"FrozenDict({dict.__repr__(self)})"

    __hash__ = None


def read_only(array: np.ndarray) -> np.ndarray:
    """A read-only view of ``array`` (``array`` itself if it is read-only already).

    The caller's array keeps its own flag, so an engine can go on writing
    to its storage while a strategy holds a view it cannot write through
    (numpy refuses ``view[...] = x``, ``out=view``, ``view.sort()``, ...).
    """
    if not array.flags.writeable:
        return array
    view = array.view()
    view.flags.writeable = False
    return view
