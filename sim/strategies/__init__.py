"""Strategies: the Strategy protocol and the reference bots."""

from __future__ import annotations

from ..errors import UnknownNameError
from .base import BaseStrategy, Strategy
from .centric import CustomerCentric
from .oracle import Oracle
from .reference import DoNothing, MassMarketing, Volume

_REGISTRY = {cls.name: cls for cls in (DoNothing, MassMarketing, Volume, CustomerCentric, Oracle)}


def strategy_names() -> list[str]:
    """Names of the built-in strategies."""
    return list(_REGISTRY)


def get_strategy(name: str) -> Strategy:
    """A fresh instance of the built-in strategy called ``name``.

    Raises:
        UnknownNameError: with the known names, for an unknown one (a
            ``SimError`` and a ``KeyError``).
    """
    factory = _REGISTRY.get(name) if isinstance(name, str) else None
    if factory is None:
        raise UnknownNameError(f"unknown strategy {name!r:.60} (known: {', '.join(_REGISTRY)})")
    return factory()


__all__ = ["BaseStrategy", "CustomerCentric", "DoNothing", "MassMarketing", "Oracle", "Strategy",
           "Volume", "get_strategy", "strategy_names"]
