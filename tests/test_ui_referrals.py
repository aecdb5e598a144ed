"""A game with referrals on screen: the lab's CLV x CRV view [V] and the customer table's columns."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pygame

from sim.scenario import load_scenario
from sim.session import PlayerSession
from sim.ui.app import App
from sim.ui.demo import press
from ui_layout import layout_problems

STUDIO = Path(__file__).parent / "data" / "referral_studio.yaml"


def _shot(app, name: str) -> None:
    """Save the screen as a PNG into $SHOTS, when set (to look at the layout by eye)."""
    folder = os.environ.get("SHOTS")
    if folder:
        app.pump(1)
        pygame.image.save(app.screen, os.path.join(folder, name))


def _start(tmp_path, scenario: str, prospects: int) -> App:
    """A game window on its dashboard; a scenario file is opened as a game started elsewhere."""
    app = App(size=(1280, 720), home=tmp_path, scenario=scenario, seed=3, prospects=prospects,
              tour=False)
    app.pump(2)
    if scenario.endswith(".yaml"):
        app.open_session(PlayerSession.new(load_scenario(scenario).with_prospects(prospects), 3))
        app.pump(2)
    else:
        press(app, pygame.K_n)
        press(app, pygame.K_RETURN, frames=4)
    assert app.scenes.top.name == "dashboard"
    return app


def test_the_lab_shows_the_clv_crv_matrix_of_the_active_customers(tmp_path):
    app = _start(tmp_path, str(STUDIO), 4000)
    try:
        press(app, pygame.K_6)                      # the customer table
        dashboard = app.scenes.top
        assert dashboard.showing_table
        shown = [c.key for c in dashboard._shown]
        assert "referrals" in shown and "predicted_crv" in shown
        # Referred customers' channel is named, not an index past the paid channels.
        referred = np.flatnonzero(np.asarray(app.session.observation.referred_by) >= 0)
        assert referred.size and dashboard._cell("channel", int(referred[0])) == "Referrals (friends)"
        assert layout_problems(app, "customer table with referrals") == []
        _shot(app, "dashboard_referrals.png")
        press(app, pygame.K_l)
        lab = app.scenes.top
        assert lab.name == "lab" and lab.view == "deciles"
        assert "clv_crv" in [a.intent for a in lab.actions]
        press(app, pygame.K_v)
        assert lab.view == "clv_crv"
        grid = lab.value_grid()
        session = app.session
        active = np.asarray(session.observation.active, dtype=bool)
        assert grid is not None and int(grid.customers.sum()) == int(active.sum()) > 50
        crv = session.lab.columns()["predicted_crv"][active]
        assert grid.crv_cut == float(np.median(crv))
        assert layout_problems(app, "lab clv x crv") == []
        _shot(app, "lab_clv_crv.png")
        press(app, pygame.K_x)                      # another view replaces it
        assert lab.view == "experiments"
        press(app, pygame.K_v)
        press(app, pygame.K_v)
        assert lab.view == "deciles"
    finally:
        pygame.quit()


def test_a_game_without_referrals_has_no_clv_crv_view(tmp_path):
    app = _start(tmp_path, "coffee", 800)
    try:
        press(app, pygame.K_l)
        lab = app.scenes.top
        assert lab.name == "lab" and "clv_crv" not in [a.intent for a in lab.actions]
        press(app, pygame.K_v)
        assert lab.view == "deciles"
    finally:
        pygame.quit()
