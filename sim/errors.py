"""The package's error classes: one base, one subclass per kind of bad input.

Everything ``sim`` raises for bad input is a :class:`SimError`, so a caller
(the CLI, a tournament runner, a notebook) can tell "the input is wrong"
from "the program is wrong" with one ``except`` clause.  ``SimError`` is a
``ValueError`` so code written against the older classes keeps working.
The classes stay importable from where they were first defined
(``sim.scenario``, ``sim.decisions``, ``sim.analytics.fitting``).
"""

from __future__ import annotations

__all__ = ["SimError", "ScenarioError", "DecisionError", "DataError", "GameStateError",
           "UnknownNameError"]


class SimError(ValueError):
    """Bad input to the simulator; the message says what and where."""


class ScenarioError(SimError):
    """A scenario file that cannot be used; the message names file and field."""


class DecisionError(SimError):
    """A decision the game refuses; the message names the entry at fault."""


class DataError(SimError):
    """Input data a model cannot be fitted to or evaluated on."""


class GameStateError(SimError, RuntimeError):
    """A call the game cannot take now: a step before ``reset`` or after the last turn.

    Also a ``RuntimeError``, as these refusals were before they were ``SimError``.
    """


class UnknownNameError(SimError, KeyError):
    """A name that names nothing known (a strategy, a reference, a parameter).

    Also a ``KeyError``, as these refusals were before they were ``SimError``;
    its message prints as written (a ``KeyError`` would quote it).
    """

    __str__ = BaseException.__str__
