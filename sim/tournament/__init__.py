"""Tournaments: many entries times seeds, sandboxed bots, class play, leaderboards."""
