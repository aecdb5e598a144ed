"""A scripted game through every scene, driven by synthetic key presses, with screenshots.

``ccsim demo --screenshots DIR`` runs it headless (``SDL_VIDEODRIVER=dummy``):
title, settings, briefing, the dashboard with each of its charts, the lab
(models fitted, a tier made from predicted CLV, losers turned away), the
decisions screen (and an over-budget plan refused), the turn's results,
then every turn to the debrief with each of its charts.  The tests use it,
and it is how the screens are checked by eye before a release.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pygame


def press(app, key: int, frames: int = 2, mod: int = 0) -> None:
    """Post a key press (down and up) and run a few frames."""
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=mod, unicode="", scancode=0))
    pygame.event.post(pygame.event.Event(pygame.KEYUP, key=key, mod=mod, unicode="", scancode=0))
    app.pump(frames)


def click(app, widget, frames: int = 2) -> None:
    """Post a left click at the centre of a widget and run a few frames."""
    pos = widget.rect.center
    pygame.event.post(pygame.event.Event(pygame.MOUSEMOTION, pos=pos, rel=(0, 0), buttons=(0, 0, 0)))
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=1))
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=pos, button=1))
    app.pump(frames)


def _fit_budget(app) -> None:
    """Lower the most expensive served tier's spend by key presses until the plan fits."""
    scene = app.scenes.top
    for _ in range(200):
        if not scene.preview.problem:
            return
        costs = [(c * t.service if not t.disengaged else 0.0, i)
                 for i, (t, c) in enumerate(zip(app.plan.tiers, scene.preview.tier_counts))]
        _, tier = max(costs)
        scene._select("tier", tier)
        press(app, pygame.K_LEFT, frames=1)


def run_demo(folder: str | Path, size: tuple[int, int] = (1280, 720), scenario: str = "coffee",
             seed: int = 1, prospects: int | None = 20_000, home: str | Path | None = None) -> list[Path]:
    """Play a scripted game and save a PNG of every scene into ``folder``.

    Returns:
        The screenshots written, in the order taken.
    """
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    from .app import App

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    home = Path(home) if home else Path(tempfile.mkdtemp(prefix="ccsim-demo-"))
    app = App(size=size, home=home, scenario=scenario, seed=seed, prospects=prospects)
    shots: list[Path] = []

    def shot(name: str) -> None:
        app.pump(2)
        shots.append(app.screenshot(folder / f"{len(shots) + 1:02d}_{name}.png"))

    shot("title")
    press(app, pygame.K_s)
    shot("settings")
    press(app, pygame.K_ESCAPE)
    press(app, pygame.K_n)
    shot("briefing")
    press(app, pygame.K_RETURN, frames=3)
    for i, label in enumerate(("whale", "cohorts", "retention", "acquisition", "rfm")):
        press(app, pygame.K_1 + i)
        shot(f"dashboard_{label}")
    press(app, pygame.K_1)
    press(app, pygame.K_l)
    press(app, pygame.K_f)
    press(app, pygame.K_a)
    press(app, pygame.K_t)
    shot("lab")
    press(app, pygame.K_e)
    # Zero service for "everyone" (the last row): Up wraps to it, Left lowers its spend.
    press(app, pygame.K_UP)
    for _ in range(3):
        press(app, pygame.K_LEFT, frames=1)
    _fit_budget(app)
    shot("decisions")
    # An over-budget plan: the first channel's slider to its top, then End turn is refused.
    scene = app.scenes.top
    press(app, pygame.K_DOWN)
    scene.selected = 0
    for _ in range(45):
        press(app, pygame.K_RIGHT, frames=1)
    press(app, pygame.K_RETURN)
    shot("decisions_refused")
    for _ in range(45):
        press(app, pygame.K_LEFT, frames=1)
    first = app.session.public.channel_names[0]
    scene._set("channel", first, app.session.default_plan().acquisition[first])
    while not app.session.done:
        if app.scenes.top.name != "decisions":
            press(app, pygame.K_e)
        _fit_budget(app)
        press(app, pygame.K_RETURN, frames=3)
        if app.scenes.top.name != "results":
            raise RuntimeError(f"the demo's plan was refused: {app.scenes.top.message}")
        if not any(p.stem.endswith("results") for p in shots):
            shot("results")
        press(app, pygame.K_RETURN)
    debrief = app.scenes.top
    shot("debrief_progress")
    debrief.wait()
    for i, label in enumerate(DEBRIEF_SHOTS):
        press(app, pygame.K_1 + i)
        shot(f"debrief_{label}")
    for key, label in ((pygame.K_v, "strategies"), (pygame.K_l, "lever_table"), (pygame.K_t, "turns")):
        press(app, key)
        shot(f"debrief_{label}")
    press(app, pygame.K_r)
    shot("debrief_exported")
    pygame.quit()
    return shots


#: The debrief's charts, in the order of their tabs (keys 1-6).
DEBRIEF_SHOTS = ("firm_value", "levers", "channels", "money", "equity", "timeline")
