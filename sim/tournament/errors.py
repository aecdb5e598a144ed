"""The tournament's refusals: one-line messages, ``sim.SimError`` subclasses (exit 2 in the CLI)."""

from __future__ import annotations

from ..errors import SimError


class TournamentError(SimError):
    """A tournament that cannot run as asked; the message is one line."""


class ClassPlayError(TournamentError):
    """A tournament file, key or team that cannot be used; one line naming it."""
