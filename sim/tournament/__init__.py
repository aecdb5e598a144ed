"""Tournaments: entries times seeds, sandboxed bots, class play, luck-adjusted leaderboards.

Modules: ``sandbox`` and ``botproc`` (a bot in its own process),
``protocol`` (observation deltas and framing), ``games`` (planning and
playing one game, results on disk), ``run`` (local processes or Dask),
``leaderboard`` (intervals, ties, CSV and HTML), ``classplay`` (hidden-seed
class tournaments and hot-seat play), ``cli`` (``ccsim tournament``).

The names below are imported on first use, so a bot's process (which runs
``sim.tournament.botproc``) does not pay for the tournament's imports.
"""

from importlib import import_module

_HOMES = {
    "BotFailure": "sandbox", "SandboxedBot": "sandbox",
    "Job": "games", "Settings": "games", "TournamentError": "games", "parse_seeds": "games",
    "plan": "games", "play_job": "games",
    "TournamentResult": "run", "run_tournament": "run",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
