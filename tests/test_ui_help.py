"""The guided first turn (skippable, remembered) and the glossary, reachable from every screen."""

from __future__ import annotations

import json

import pygame
import pytest

from sim.glossary import TERMS
from sim.ui.app import App
from sim.ui.demo import click, press

PROSPECTS = 2000


def top(app):
    return app.scenes.top


def test_the_guided_tour_walks_each_screen_once_and_is_remembered(tmp_path):
    app = App(size=(1280, 720), home=tmp_path, scenario="coffee", seed=2, prospects=PROSPECTS)
    press(app, pygame.K_n)
    press(app, pygame.K_RETURN, frames=4)
    seen = []
    for screen, key in (("dashboard", None), ("lab", pygame.K_l), ("decisions", pygame.K_e)):
        if key is not None:
            press(app, key, frames=4)
        guide = top(app)
        assert guide.name == "guide" and guide.screen == screen
        steps = len(guide.steps)
        assert steps >= 2
        for _ in range(steps):
            assert guide.target is not None              # each note points at a part of the screen
            press(app, pygame.K_RETURN)
        assert top(app).name == screen
        seen.append(screen)
    assert seen == ["dashboard", "lab", "decisions"]
    press(app, pygame.K_l, frames=4)
    assert top(app).name == "lab"                        # each screen explained once
    assert not (tmp_path / "settings.json").exists() or \
        not json.loads((tmp_path / "settings.json").read_text())["tour_done"]
    press(app, pygame.K_e)
    press(app, pygame.K_RETURN, frames=3)                # the first turn ends: the tour is over
    assert json.loads((tmp_path / "settings.json").read_text())["tour_done"] is True
    pygame.quit()
    again = App(size=(1280, 720), home=tmp_path, scenario="coffee", seed=2, prospects=PROSPECTS)
    press(again, pygame.K_n)
    press(again, pygame.K_RETURN, frames=2)              # the saved game is over turn 1: no question
    if top(again).name == "confirm":
        press(again, pygame.K_y, frames=4)
    again.pump(4)
    assert top(again).name == "dashboard"                # no tour the second time
    pygame.quit()


def test_the_glossary_explains_every_term_the_issue_names():
    keys = {t.key for t in TERMS}
    assert {"clv", "p_alive", "dert", "c3", "rfm", "whale", "half_saturation", "centricity"} <= keys
    for t in TERMS:
        assert "Unit" in t.text or "unit" in t.text, t.key       # each says its unit
        assert len(t.text) > 200


@pytest.fixture
def app(tmp_path):
    a = App(size=(1280, 720), home=tmp_path, scenario="coffee", seed=2, prospects=PROSPECTS, tour=False)
    a.pump(2)
    yield a
    pygame.quit()


def glossary_from_here(app, name):
    """F1 and the screen's Glossary button both open the glossary; Esc brings the screen back."""
    assert top(app).name == name
    press(app, pygame.K_F1)
    assert top(app).name == "glossary"
    press(app, pygame.K_DOWN)
    assert top(app).index == 1
    press(app, pygame.K_ESCAPE)
    assert top(app).name == name
    button = next(a.button for a in top(app).actions if a.intent == "glossary" and a.button)
    click(app, button)
    assert top(app).name == "glossary"
    press(app, pygame.K_F1)
    assert top(app).name == name


def test_the_glossary_opens_from_every_screen(app):
    glossary_from_here(app, "title")
    press(app, pygame.K_n)
    press(app, pygame.K_F1)
    assert top(app).name == "glossary"
    press(app, pygame.K_ESCAPE)
    press(app, pygame.K_RETURN, frames=3)
    for name, key in (("dashboard", None), ("lab", pygame.K_l), ("decisions", pygame.K_e)):
        if key:
            press(app, key)
        glossary_from_here(app, name)
    press(app, pygame.K_RETURN, frames=3)
    glossary_from_here(app, "results")
    # On the debrief too (the key, and its button).
    session = app.session
    while not session.done:
        press(app, pygame.K_RETURN)
        press(app, pygame.K_e)
        press(app, pygame.K_RETURN, frames=3)
    press(app, pygame.K_RETURN)
    assert top(app).name == "debrief"
    top(app).wait()
    app.pump(2)
    glossary_from_here(app, "debrief")


def test_the_decisions_screen_shows_the_labs_projection_as_estimates(app):
    press(app, pygame.K_n)
    press(app, pygame.K_RETURN, frames=3)
    press(app, pygame.K_e)
    scene = top(app)
    pj = scene.preview.projection
    assert pj is not None
    from sim.ui import draw

    with draw.recording() as record:
        app.pump(1)
        texts = [t.text for t in record.texts]
    assert "Lab estimates" in texts
    assert "Projected profit, quarter 1" in texts and draw.money(pj.profit) in texts
    assert "Customer value bought" in texts and draw.money(pj.value_bought) in texts
    before = pj.value_bought
    scene.selected = ("channel", app.session.public.channel_names[0])
    press(app, pygame.K_RIGHT)
    assert top(app).preview.projection.value_bought > before     # live: more money, more value bought


def test_the_decisions_screen_says_the_starting_values_are_the_scores_zero(app):
    press(app, pygame.K_n)
    press(app, pygame.K_RETURN, frames=3)
    press(app, pygame.K_e)
    scene = top(app)
    scene.message = ""
    scene.dirty = True
    from sim.ui import draw

    with draw.recording() as record:
        app.pump(1)
        shown = " ".join(t.text for t in record.texts)
    assert "The starting values are mass-marketing, the score's zero" in shown
    assert "you score 0" in shown
