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


def test_every_tier_can_be_scrolled_into_view_and_none_spends_unseen(app):
    from sim.session import TierPlan

    press(app, pygame.K_n)
    press(app, pygame.K_RETURN, frames=3)
    for share in range(1, 10):                       # nine tiers, as the play-testers made
        app.editor.add_tier(TierPlan(f"top {share}%", {"top": share / 100, "by": "profit"}, 0.5))
    press(app, pygame.K_e)
    scene = app.scenes.top
    n = len(app.plan.tiers)
    assert scene.scrollbar is not None and len([r for r in scene.row_rects if r[0] == "tier"]) < n
    seen = set()
    scene.selected = ("tier", 0)
    for _ in range(n):
        seen |= {key for kind, key, _ in scene.row_rects if kind == "tier"}
        assert ("tier", scene.selected[1]) in [(k, key) for k, key, _ in scene.row_rects]
        press(app, pygame.K_DOWN)
    assert seen == set(range(n))
    # What the budget counts is every tier's spend, shown or not.
    pv = scene.preview
    assert pv.service_cost == pytest.approx(sum(c * t.service for c, t in zip(pv.tier_counts, app.plan.tiers)
                                                if not t.disengaged))
    first = min(key for kind, key, _ in scene.row_rects if kind == "tier")
    pygame.event.post(pygame.event.Event(pygame.MOUSEMOTION, pos=scene.tier_rect.center, rel=(0, 0),
                                         buttons=(0, 0, 0)))
    pygame.event.post(pygame.event.Event(pygame.MOUSEWHEEL, x=0, y=2, flipped=False))     # wheel up
    app.pump(2)
    assert first > 0 and min(key for kind, key, _ in scene.row_rects if kind == "tier") == first - 2


def test_the_labs_tier_buttons_obey_the_one_cap_on_tiers(app):
    from sim.decisions import MAX_TIERS
    from sim.session import TierPlan

    press(app, pygame.K_n)
    press(app, pygame.K_RETURN, frames=3)
    while len(app.plan.tiers) < MAX_TIERS - 1:
        app.editor.add_tier(TierPlan("t", {"top": 0.01, "by": "profit"}, 0.0))
    press(app, pygame.K_l)
    press(app, pygame.K_f)
    press(app, pygame.K_t)
    assert len(app.plan.tiers) == MAX_TIERS
    press(app, pygame.K_a)
    assert len(app.plan.tiers) == MAX_TIERS
    assert f"at most {MAX_TIERS} tiers" in app.scenes.top.message


def test_the_tier_builder_names_fields_in_words_with_a_tooltip_and_takes_lists_of_values(app):
    import numpy as np

    from sim.ui.demo import choose, pick

    press(app, pygame.K_n)
    press(app, pygame.K_RETURN, frames=3)
    press(app, pygame.K_e)
    press(app, pygame.K_a)
    builder = app.scenes.top
    labels = [item["text"] for item in builder.fields.item_list]
    assert "Predicted CLV" in labels and "Channel" in labels and "horizon_value" not in labels
    assert all("_" not in label for label in labels)
    item = next(i for i in builder.fields.item_list if i["object_id"] == "predicted_clv")
    pygame.event.post(pygame.event.Event(pygame.MOUSEMOTION, pos=item["button_element"].rect.center, rel=(0, 0),
                                         buttons=(0, 0, 0)))
    app.pump(40)
    assert builder.tooltips.active is not None
    assert builder.tooltips.active[1].startswith("Predicted CLV:") and "dollars" in builder.tooltips.active[1]
    # Channel is none of the first two channels: a list of values, picked with clicks.
    pick(app, builder.fields, "channel")
    choose(app, builder.op_menu, "not in")
    app.pump(2)
    names = app.session.public.channel_names
    pick(app, builder.value_list, names[1])          # the first is already chosen
    assert sorted(builder.choice) == sorted(names[:2])
    press(app, pygame.K_RETURN)
    tier = app.plan.tiers[-2]
    assert tier.rule == {"field": "channel", "op": "not in", "value": builder.choice}
    obs = app.session.observation
    expected = ~np.isin(obs.columns["channel"], [0, 1]) & np.asarray(obs.active, dtype=bool)
    assert app.scenes.top.preview.tier_matches[-2] == int(expected.sum())
    assert tier.name.startswith("Channel is none of ")
