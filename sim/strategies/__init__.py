"""Strategies: the Strategy protocol and the reference bots."""

from __future__ import annotations

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
        KeyError: with the known names, for an unknown one.
    """
    try:
        return _REGISTRY[name]()
    except KeyError:
        raise KeyError(f"unknown strategy {name!r} (known: {', '.join(_REGISTRY)})") from None


__all__ = ["BaseStrategy", "CustomerCentric", "DoNothing", "MassMarketing", "Oracle", "Strategy",
           "Volume", "get_strategy", "strategy_names"]
