"""Customer Centricity Simulator: the headless engine, scorer and analytics.

``import sim`` never imports pygame; the UI lives in ``sim.ui``.  The names
below are imported when first used (PEP 562), so ``import sim`` is cheap and
running a submodule (``python -m sim.limits``) does not import it twice.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public name -> the submodule that defines it.
_EXPORTS = {
    "DISENGAGE": "decisions", "Decision": "decisions", "DecisionError": "decisions",
    "Tier": "decisions", "DataError": "errors", "SimError": "errors", "Game": "engine",
    "Truth": "engine", "TurnResult": "engine", "Observation": "observation",
    "TurnBooks": "observation", "Scenario": "scenario", "ScenarioError": "scenario",
    "load_scenario": "scenario", "shipped_scenario_names": "scenario",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
