"""A scripted game through every scene, driven by synthetic key presses and clicks, with screenshots.

``ccsim demo --screenshots DIR`` runs it headless (``SDL_VIDEODRIVER=dummy``):
title, settings, briefing, the guided first turn, the dashboard with each of
its charts (and the customer table), the glossary, the lab (models fitted,
losers turned away, a tier made from predicted CLV), the tier builder (a
tier on a profile tag), the decisions screen (and an over-budget plan
refused), the turn's results, then every turn to the debrief with each of
its charts.  The tests use it, and it is how the screens are checked by eye
before a release (``--large-text`` for the projector).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pygame


def press(app, key: int, frames: int = 2, mod: int = 0, unicode: str = "") -> None:
    """Post a key press (down and up) and run a few frames."""
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=mod, unicode=unicode, scancode=0))
    pygame.event.post(pygame.event.Event(pygame.KEYUP, key=key, mod=mod, unicode=unicode, scancode=0))
    app.pump(frames)


def type_text(app, text: str, frames: int = 2) -> None:
    """Type ``text`` as a keyboard does: for each character a key press and its text input."""
    for ch in text:
        key = pygame.key.key_code(ch) if ch.isalnum() else 0
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode=ch, scancode=0))
        pygame.event.post(pygame.event.Event(pygame.TEXTINPUT, text=ch))
        pygame.event.post(pygame.event.Event(pygame.KEYUP, key=key, mod=0, unicode=ch, scancode=0))
    app.pump(frames)


def click_at(app, pos, frames: int = 2) -> None:
    """Move the mouse to ``pos``, click there, and run a few frames.

    The mouse arrives a frame before the click, as a hand's does: widgets
    built in the frame before (a screen laid out again) have had their first
    update and take the click."""
    pygame.event.post(pygame.event.Event(pygame.MOUSEMOTION, pos=pos, rel=(0, 0), buttons=(0, 0, 0)))
    app.pump(1)
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=1))
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=pos, button=1))
    app.pump(frames)


def click(app, widget, frames: int = 2) -> None:
    """Post a left click at the centre of a widget and run a few frames."""
    click_at(app, widget.rect.center, frames)


def pick(app, selection_list, value: str, frames: int = 3) -> None:
    """Click the entry of a pygame_gui selection list whose id (or text) is ``value``
    (the list tells its choice a frame after the click: ``frames`` includes it)."""
    for item in selection_list.item_list:
        if value in (item.get("object_id"), item.get("text")):
            button = item.get("button_element")
            if button is None:
                raise RuntimeError(f"{value!r} is scrolled out of view in the list")
            click(app, button, frames)
            return
    raise KeyError(value)


def choose(app, menu, option_id: str, frames: int = 3) -> None:
    """Open a drop-down menu with a click and click the option ``option_id``."""
    click(app, menu)
    pick(app, menu.current_state.options_selection_list, option_id, frames)


def fit_budget(app) -> None:
    """Lower the most expensive served tier's spend by key presses until the plan fits."""
    scene = app.scenes.top
    for _ in range(200):
        if not scene.preview.problem:
            return
        costs = [(c * t.service if not t.disengaged else 0.0, i)
                 for i, (t, c) in enumerate(zip(app.plan.tiers, scene.preview.tier_counts))]
        _, tier = max(costs)
        scene.selected = ("tier", tier)
        press(app, pygame.K_LEFT, frames=1)


def run_demo(folder: str | Path, size: tuple[int, int] = (1280, 720), scenario: str = "coffee",
             seed: int = 1, prospects: int | None = 20_000, home: str | Path | None = None,
             large_text: bool = False, on_shot=None) -> list[Path]:
    """Play a scripted game and save a PNG of every scene into ``folder``.

    Args:
        on_shot: called with (app, name) before each screenshot (the layout tests
            check every scene there).

    Returns:
        The screenshots written, in the order taken.
    """
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    from .app import App

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    home = Path(home) if home else Path(tempfile.mkdtemp(prefix="ccsim-demo-"))
    app = App(size=size, home=home, scenario=scenario, seed=seed, prospects=prospects,
              large_text=large_text, tour=True)
    shots: list[Path] = []

    def shot(name: str) -> None:
        app.pump(2)
        if on_shot is not None:
            on_shot(app, name)
        shots.append(app.screenshot(folder / f"{len(shots) + 1:02d}_{name}.png"))

    shot("title")
    press(app, pygame.K_q)                          # quitting asks
    shot("confirm_quit")
    press(app, pygame.K_ESCAPE)
    press(app, pygame.K_s)
    shot("settings")
    press(app, pygame.K_ESCAPE)
    press(app, pygame.K_n)
    shot("briefing")
    press(app, pygame.K_RETURN, frames=4)
    shot("guide")                                   # the guided first turn, on the dashboard
    press(app, pygame.K_ESCAPE)                     # skip the tour
    dashboard = app.scenes.top
    tabs = 5 if dashboard.side_by_side else 6
    for i, label in enumerate(("whale", "cohorts", "retention", "acquisition", "rfm", "customers")[:tabs]):
        press(app, pygame.K_1 + i)
        shot(f"dashboard_{label}")
    press(app, pygame.K_F1)
    shot("glossary")
    press(app, pygame.K_ESCAPE)
    press(app, pygame.K_l)
    press(app, pygame.K_f)
    press(app, pygame.K_a)
    press(app, pygame.K_t)
    shot("lab")
    press(app, pygame.K_e)
    # A tier on the first profile tag's first value, built in the tier builder.
    public = app.session.public
    if public.profile:
        press(app, pygame.K_a)
        builder = app.scenes.top
        pick(app, builder.fields, public.profile[0].name)
        shot("new_tier")
        press(app, pygame.K_RETURN)
    # Zero service for "everyone" (the last row): Up wraps to it, Left lowers its spend.
    scene = app.scenes.top
    scene.selected = scene._rows()[-1]
    for _ in range(3):
        press(app, pygame.K_LEFT, frames=1)
    fit_budget(app)
    shot("decisions")
    # An over-budget plan: the first channel's slider to its top, then End turn is refused.
    first = public.channel_names[0]
    scene.selected = ("channel", first)
    for _ in range(45):
        press(app, pygame.K_RIGHT, frames=1)
    press(app, pygame.K_RETURN)
    shot("decisions_refused")
    press(app, pygame.K_z, mod=pygame.KMOD_CTRL)    # undo the whole slider run
    while not app.session.done:
        if app.scenes.top.name != "decisions":
            press(app, pygame.K_e)
        fit_budget(app)
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
