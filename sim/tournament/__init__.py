"""Tournaments: entries times seeds, sandboxed bots, class play, luck-adjusted leaderboards.

Modules: ``sandbox`` (a bot in its own process: the engine's side),
``botproc`` (the bot's side), ``forkserver`` (bots forked in milliseconds),
``containment`` (a bot's process tree: found, limited, killed),
``botfiles`` (a bot and the files beside it), ``protocol`` (observation
deltas and framing), ``keys`` (hidden markets: keys, commitments, sealing,
redaction), ``games`` (markets, planning and playing one game, verified
results on disk), ``run`` (local processes or Dask), ``leaderboard``
(paired comparisons, ties, CSV and HTML), ``classplay`` (class tournaments
and hot-seat play), ``cli`` (``ccsim tournament``), ``errors``.

The names below are imported on first use, so a bot's process (which runs
``sim.tournament.botproc``) does not pay for the tournament's imports.
"""

from importlib import import_module

_HOMES = {
    "BotFailure": "sandbox", "SandboxedBot": "sandbox",
    "Job": "games", "Markets": "games", "Settings": "games", "parse_seeds": "games",
    "plan": "games", "play_job": "games",
    "ClassPlayError": "errors", "TournamentError": "errors",
    "TournamentResult": "run", "run_tournament": "run",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
