"""A whole game played as a student would, on every shipped scenario: keys and clicks only.

Everything goes through the scene manager with synthetic pygame events (the
way pygame_gui's own tests drive widgets), and each trap the play-testers
fell into is tried on the way:

* New game over an unfinished game asks before replacing the save;
* Backspace after Enter in a field edits nothing and loses no tier;
* Esc in an open drop-down closes the drop-down only;
* "/" then typing "residential" puts exactly that text in the search field
  and triggers none of the screen's letter keys;
* five tiers "top 2, 5, 10, 20, 40%" added in that order all reach customers;
* a tier on a profile tag reaches exactly the customers with that tag;
* "1.2.3" (and "12abc", "1e999", "nan") in a number field is refused on
  screen, never used, and End turn waits until it is fixed;
* every plan change can be undone; leaving with changes and quitting ask.
"""

from __future__ import annotations

import json

import numpy as np
import pygame
import pytest

from conftest import SCENARIOS

from sim.ui.app import App
from sim.ui.demo import click, click_at, pick, press, type_text

PROSPECTS = 2500


def top(app):
    return app.scenes.top


def act(app, intent):
    return next(a.button for a in top(app).actions if a.intent == intent and a.button)


def replace_text(app, entry, text: str) -> None:
    """Click a field, select all (Ctrl+A), delete it (Backspace) and type ``text``."""
    click(app, entry)
    assert app.typing()
    press(app, pygame.K_a, mod=pygame.KMOD_CTRL)
    press(app, pygame.K_BACKSPACE)
    type_text(app, text)


def saved_turns(app) -> int:
    data = json.loads(app.autosave_path.read_text())
    return len(data["turns"])


def end_turn(app) -> None:
    if top(app).name != "decisions":
        press(app, pygame.K_e)
    press(app, pygame.K_RETURN, frames=3)
    assert top(app).name == "results", top(app).message
    press(app, pygame.K_RETURN)


def add_tier(app, field: str, op_choice=None, value: str | None = None, spend: str = "1") -> int:
    """Build a tier in the tier builder with clicks and typing; returns how many tiers there are."""
    press(app, pygame.K_a)
    builder = top(app)
    assert builder.name == "rule"
    pick(app, builder.fields, field)
    builder = top(app)
    if op_choice is not None:
        op_choice(builder)
    if value is not None:
        replace_text(app, builder.value_entry, value)
        press(app, pygame.K_RETURN)                 # confirms the field
    replace_text(app, builder.spend_entry, spend)
    press(app, pygame.K_RETURN)                     # confirms the field
    assert not app.typing()
    press(app, pygame.K_RETURN)                     # Add tier
    assert top(app).name == "decisions", getattr(top(app), "message", "")
    return len(app.plan.tiers)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_student_plays_a_whole_game_and_every_trap_is_safe(tmp_path, scenario):
    app = App(size=(1280, 720), home=tmp_path, scenario=scenario, seed=3, prospects=PROSPECTS)
    app.pump(2)
    # --- a first game: the guided tour shows on the dashboard; Esc skips it, for good.
    press(app, pygame.K_n)
    press(app, pygame.K_RETURN, frames=4)
    assert top(app).name == "guide"
    press(app, pygame.K_ESCAPE)
    assert top(app).name == "dashboard"
    assert json.loads((tmp_path / "settings.json").read_text())["tour_done"] is True
    end_turn(app)
    end_turn(app)
    assert saved_turns(app) == 2

    # --- New game over a game in progress asks first; keeping it changes nothing.
    press(app, pygame.K_ESCAPE)                     # the menu: no edits, so no question
    assert top(app).name == "title"
    press(app, pygame.K_n)
    press(app, pygame.K_RETURN)
    assert top(app).name == "confirm" and "replaces your saved game" in top(app).detail
    press(app, pygame.K_RETURN)                     # Enter never confirms a loss
    assert top(app).name == "confirm"
    press(app, pygame.K_ESCAPE)
    assert top(app).name == "briefing" and saved_turns(app) == 2
    press(app, pygame.K_ESCAPE)
    press(app, pygame.K_c, frames=3)                # continue the saved game
    assert top(app).name == "dashboard" and app.session.turn == 3

    # --- "/" then "residential": exactly that text in the search field, no hot key fired.
    dashboard = top(app)
    sort = dashboard.sort
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SLASH, mod=0, unicode="/", scancode=0))
    pygame.event.post(pygame.event.Event(pygame.TEXTINPUT, text="/"))
    app.pump(2)
    type_text(app, "residential")
    dashboard = top(app)
    assert dashboard.name == "dashboard"
    assert dashboard.search.get_text() == "residential"
    assert dashboard.sort == sort and app.typing()
    press(app, pygame.K_ESCAPE)                     # leaves the field, not the screen
    assert top(app).name == "dashboard" and not app.typing()

    # --- the lab: models fitted; Esc in its open drop-down closes the drop-down only.
    press(app, pygame.K_l)
    press(app, pygame.K_f)
    lab = top(app)
    click(app, lab.dropdown)
    assert lab.dropdown.current_state is lab.dropdown.menu_states["expanded"]
    press(app, pygame.K_ESCAPE)
    assert top(app) is lab and lab.dropdown.current_state is lab.dropdown.menu_states["closed"]

    # --- decisions: five tiers in the natural order all reach customers.
    press(app, pygame.K_e)
    scene = top(app)
    assert scene.name == "decisions"
    before = len(app.plan.tiers)
    for share in ("2", "5", "10", "20", "40"):
        add_tier(app, "predicted_clv", value=share)
    scene = top(app)
    new = list(range(before - 1, before + 4))       # they went before "everyone"
    assert [app.plan.tiers[i].rule.get("top") for i in new] == [0.02, 0.05, 0.1, 0.2, 0.4]
    assert app.plan.tiers[-1].rule == "all"
    assert all(scene.preview.tier_counts[i] > 0 for i in new)
    assert not any(scene.preview.warnings[i] for i in new)
    # The same five in the reverse order: the four after "top 40%" are flagged, not silent.
    press(app, pygame.K_z, mod=pygame.KMOD_CTRL)
    for _ in range(4):
        click(app, act(app, "undo"))
    assert len(app.plan.tiers) == before
    for share in ("40", "20"):
        add_tier(app, "predicted_clv", value=share)
    scene = top(app)
    assert scene.preview.tier_counts[before] == 0 and "no customer reaches it" in scene.preview.warnings[before]
    for _ in range(2):
        press(app, pygame.K_z, mod=pygame.KMOD_CTRL)
    assert len(app.plan.tiers) == before

    # --- a tier on a profile tag reaches exactly the customers with that tag.
    tag = app.session.public.profile[0]
    add_tier(app, tag.name)                         # "is" its first value
    scene = top(app)
    index = len(app.plan.tiers) - 2
    tier = app.plan.tiers[index]
    assert tier.rule == {"field": tag.name, "op": "==", "value": tag.values[0]}
    obs = app.session.observation
    with_tag = (obs.tags[tag.name] == 0) & np.asarray(obs.active, dtype=bool)
    assert scene.preview.tier_matches[index] == int(np.count_nonzero(with_tag))
    taken = np.zeros(obs.n_customers, dtype=bool)
    from sim.decisions import evaluate_rule
    fields = {**obs.columns, **app.session.lab.columns()}
    for earlier in app.plan.tiers[:index]:
        taken |= evaluate_rule(earlier.rule, fields, obs.categories)
    assert scene.preview.tier_counts[index] == int(np.count_nonzero(with_tag & ~taken))
    # Esc in the tier builder's open drop-down closes it; the plan is left as it was.
    plan = app.plan.copy()
    press(app, pygame.K_a)
    builder = top(app)
    click(app, builder.op_menu)
    assert builder.op_menu.current_state is builder.op_menu.menu_states["expanded"]
    press(app, pygame.K_ESCAPE)
    assert top(app) is builder
    press(app, pygame.K_ESCAPE)
    assert top(app).name == "decisions" and app.plan == plan

    # --- Backspace after Enter in a field: the text is confirmed, the tiers stay.
    scene = top(app)
    scene.selected = ("tier", index)
    scene._keep_selected_visible()
    scene._build_rows()
    app.pump(1)
    replace_text(app, scene.entries[("tier", index)], "2.5")
    press(app, pygame.K_RETURN)
    assert not app.typing() and app.plan.tiers[index].service == 2.5
    tiers = [(t.name, t.rule) for t in app.plan.tiers]
    press(app, pygame.K_BACKSPACE)
    assert [(t.name, t.rule) for t in app.plan.tiers] == tiers and top(app) is scene

    # --- numbers that are not numbers: shown as an error, never used, End turn waits.
    first = app.session.public.channel_names[0]
    kept = app.plan.acquisition[first]
    for bad in ("1.2.3", "12abc", "1e999", "nan"):
        replace_text(app, scene.entries[("channel", first)], bad)
        press(app, pygame.K_RETURN)
        assert app.plan.acquisition[first] == kept
        assert ("channel", first) in scene.invalid
        assert f"'{bad}' is not a number" in scene.message
        assert "#invalid" in scene.entries[("channel", first)].object_ids[-1]
    press(app, pygame.K_RETURN)                     # End turn: refused while the field is wrong
    assert app.session.turn == 3 and top(app) is scene and scene.message.startswith("Not played")
    replace_text(app, scene.entries[("channel", first)], "1,250")
    press(app, pygame.K_RETURN)
    assert app.plan.acquisition[first] == 1250 and not scene.invalid

    # --- every change undoes: remove a tier, then Ctrl+Z; last turn's plan, then the Undo button.
    edited = app.plan.copy()
    row = next(r for kind, key, r in scene.row_rects if (kind, key) == ("tier", index))
    click_at(app, (row.left + 4, row.top + 4))      # select the tier by clicking its row
    assert scene.selected == ("tier", index)
    click(app, act(app, "remove"))
    assert len(app.plan.tiers) == len(edited.tiers) - 1
    press(app, pygame.K_z, mod=pygame.KMOD_CTRL)
    assert app.plan == edited
    click(app, act(app, "reset"))
    assert app.plan == app.session.default_plan()
    click(app, act(app, "undo"))
    assert app.plan == edited
    press(app, pygame.K_y, mod=pygame.KMOD_CTRL)   # redo
    assert app.plan == app.session.default_plan()
    press(app, pygame.K_z, mod=pygame.KMOD_CTRL)
    assert app.plan == edited

    # --- Esc with unsaved changes asks; staying keeps them.
    press(app, pygame.K_ESCAPE)
    assert top(app).name == "confirm" and "saved only when you end the turn" in top(app).detail
    press(app, pygame.K_ESCAPE)
    assert top(app).name == "decisions" and app.plan == edited

    # --- the turn plays the plan as shown: the tag tier got the customers the preview said.
    fit = top(app)
    expected = fit.preview.tier_counts[index]
    end_turn(app)
    assert app.session.results[-1].tier_counts[index] == expected
    while not app.session.done:
        end_turn(app)
    assert top(app).name == "debrief"
    assert top(app).wait()
    app.pump(2)
    d = top(app).debrief
    assert d.firm_values()[d.player_label] == pytest.approx(d.player.firm_value)
    assert d.player.firm_value == pytest.approx(app.session.game_record().scores["firm_value"])

    # --- quitting asks: the window's close button, then a second close quits.
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    app.pump(1)
    assert top(app).name == "confirm" and app.running
    press(app, pygame.K_ESCAPE)
    assert top(app).name == "debrief" and app.running
    press(app, pygame.K_ESCAPE)                     # the debrief's Title
    press(app, pygame.K_ESCAPE)                     # Esc on the title asks too
    assert top(app).name == "confirm" and app.running
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    app.pump(1)
    assert not app.running
    pygame.quit()
