"""Asking before work is lost, beyond the student's game: opening a saved game over one in
progress, leaving with a half-typed amount, and the command line's large-text flag."""

from __future__ import annotations

import json
import shutil

import pygame
import pytest

from sim.ui.app import App
from sim.ui.demo import press, type_text

PROSPECTS = 2000


@pytest.fixture
def app(tmp_path):
    a = App(size=(1280, 720), home=tmp_path, scenario="coffee", seed=4, prospects=PROSPECTS, tour=False)
    a.pump(2)
    yield a
    pygame.quit()


def play_turns(app, n):
    for _ in range(n):
        press(app, pygame.K_e)
        press(app, pygame.K_RETURN, frames=3)
        press(app, pygame.K_RETURN)


def test_opening_a_saved_game_over_a_game_in_progress_asks_first(app, tmp_path):
    press(app, pygame.K_n)
    press(app, pygame.K_RETURN, frames=3)
    play_turns(app, 1)
    other = tmp_path / "other.json"
    shutil.copy(app.autosave_path, other)           # a saved game at turn 1
    play_turns(app, 1)
    assert len(json.loads(app.autosave_path.read_text())["turns"]) == 2
    press(app, pygame.K_ESCAPE)
    title = app.scenes.top
    assert title.name == "title"
    assert title.open_path(other)
    assert app.scenes.top.name == "confirm" and "replaces the one saved now" in app.scenes.top.detail
    press(app, pygame.K_ESCAPE)                     # keep mine
    assert app.scenes.top is title
    assert len(json.loads(app.autosave_path.read_text())["turns"]) == 2
    assert title.open_path(other)
    press(app, pygame.K_y, frames=3)                # open it: it becomes the game in progress
    assert app.scenes.top.name == "dashboard" and app.session.turn == 2


def test_opening_the_autosave_itself_or_with_no_game_in_progress_does_not_ask(app, tmp_path):
    press(app, pygame.K_n)
    press(app, pygame.K_RETURN, frames=3)
    play_turns(app, 1)
    press(app, pygame.K_ESCAPE)
    assert app.scenes.top.open_path(app.autosave_path)
    assert app.scenes.top.name == "dashboard"


def test_leaving_with_a_half_typed_amount_asks(app):
    press(app, pygame.K_n)
    press(app, pygame.K_RETURN, frames=3)
    press(app, pygame.K_e)
    scene = app.scenes.top
    first = app.session.public.channel_names[0]
    entry = scene.entries[("channel", first)]
    app.focus(entry)
    entry.set_text("")
    type_text(app, "12x")
    press(app, pygame.K_RETURN)
    assert ("channel", first) in scene.invalid and not app.editor.edited
    press(app, pygame.K_ESCAPE)
    assert app.scenes.top.name == "confirm"
    press(app, pygame.K_y)
    assert app.scenes.top.name == "title"


def test_play_and_demo_take_a_large_text_flag():
    from sim.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["play", "--large-text"]).large_text is True
    assert parser.parse_args(["play"]).large_text is False
    assert parser.parse_args(["demo", "--screenshots", "x", "--large-text"]).large_text is True
