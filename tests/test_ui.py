"""The game window driven by synthetic pygame events (headless: SDL_VIDEODRIVER=dummy)."""

from __future__ import annotations

import json
import time

import numpy as np
import pygame
import pygame_gui
import pytest

from sim.ui import draw
from sim.ui.app import App
from sim.ui.demo import click, press, type_text

PROSPECTS = 3000


@pytest.fixture
def app(tmp_path):
    a = App(size=(1280, 720), home=tmp_path, scenario="coffee", seed=5, prospects=PROSPECTS, tour=False)
    a.pump(2)
    yield a
    pygame.quit()


def button(app, intent):
    return next(a.button for a in app.scenes.top.actions if a.intent == intent and a.button)


def start_game(app):
    press(app, pygame.K_n)
    assert app.scenes.top.name == "briefing"
    press(app, pygame.K_RETURN, frames=3)
    assert app.scenes.top.name == "dashboard"


def distinct_colours(surface, rect) -> int:
    pixels = pygame.surfarray.array3d(surface.subsurface(rect))
    return len(np.unique(pixels.reshape(-1, 3), axis=0))


def test_title_shows_every_action_with_its_key_and_continue_is_off_without_a_save(app):
    texts = [a.button.text for a in app.scenes.top.actions if a.button]
    assert texts == ["New game  [N]", "Continue  [C]", "Open a record  [O]", "Settings  [S]",
                     "Glossary  [F1]", "Quit  [Q]"]
    assert not button(app, "continue").is_enabled


def test_clicking_new_game_opens_the_briefing_and_escape_goes_back(app):
    click(app, button(app, "new"))
    assert app.scenes.top.name == "briefing"
    press(app, pygame.K_2)
    assert app.scenes.top.choice == app.scenes.top.names[1]
    press(app, pygame.K_ESCAPE)
    assert app.scenes.top.name == "title"


def test_a_bad_seed_is_a_message_not_a_crash(app):
    press(app, pygame.K_n)
    scene = app.scenes.top
    scene.seed_entry.set_text("")
    click(app, button(app, "start"))
    assert scene.message.startswith("The seed must be")
    assert app.scenes.top is scene


def test_dashboard_draws_cards_chart_and_table_and_caches_the_chart(app):
    start_game(app)
    scene = app.scenes.top
    assert scene.side_by_side            # 1280x720, normal text: chart and table side by side
    app.pump(3)
    renders = app.charts.renders
    app.pump(30)
    assert app.charts.renders == renders        # 30 idle frames, no chart redrawn
    assert distinct_colours(app.screen, scene.chart_rect) > 50     # a real chart, not an empty panel
    assert distinct_colours(app.screen, scene.table_rect) > 5
    press(app, pygame.K_5)
    assert app.charts.renders == renders + 1     # RFM grid: rendered once
    assert app.scenes.top.chart_index == 4


def test_customer_table_shows_the_profile_tags_sorts_by_a_clicked_heading_and_searches(app):
    start_game(app)
    scene = app.scenes.top
    app.pump(1)
    shown = [c.key for c in scene._shown]
    assert {t.name for t in app.session.public.profile} <= set(shown)     # the tags are columns
    tag = app.session.public.profile[0]
    column = shown.index(tag.name)
    codes = app.session.observation.columns[tag.name][scene._order[:len(scene._rows)]]
    assert [r[column] for r in scene._rows] == [tag.values[c].replace("_", " ") for c in codes]
    clv = shown.index("predicted_clv")
    pos = scene._heads()[clv].center
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=1))
    app.pump(2)
    values = scene._cols["predicted_clv"][scene._order]
    assert scene.sort == "predicted_clv" and np.all(np.diff(values) <= 0)
    click(app, scene.search)
    type_text(app, "coupon")
    coupon = app.session.public.channel_names.index("coupon_app")
    assert scene._order.size > 0
    assert np.all(scene._cols["channel"][scene._order] == coupon)


def test_lab_fits_and_turns_a_score_into_a_tier_before_everyone(app):
    start_game(app)
    press(app, pygame.K_l)
    assert app.scenes.top.name == "lab"
    press(app, pygame.K_f)
    assert "fitted" in app.scenes.top.message
    tiers = len(app.plan.tiers)
    press(app, pygame.K_t)
    assert len(app.plan.tiers) == tiers + 1
    assert app.plan.tiers[-2].rule["by"] == "predicted_clv"      # last, before "everyone"
    assert app.plan.tiers[-1].rule == "all"
    press(app, pygame.K_a)
    assert app.plan.tiers[-2].disengaged


def test_over_budget_end_turn_is_refused_with_a_message(app):
    start_game(app)
    press(app, pygame.K_e)
    scene = app.scenes.top
    first = app.session.public.channel_names[0]
    entry = scene.entries[("channel", first)]
    click(app, entry)                                           # focus the field, then type
    entry.set_text("")
    type_text(app, "99999999")
    assert app.plan.acquisition[first] == 99999999
    assert scene.preview.budget_left < 0
    click(app, button(app, "end"))
    assert app.scenes.top is scene                              # still deciding
    assert app.session.turn == 1 and not app.session.decisions
    assert scene.message.startswith("Over budget")
    # What the player sees: "Budget left" drawn in the warning colour.
    app.pump(1)
    pixels = pygame.surfarray.array3d(app.screen.subsurface(scene.budget_rect)).reshape(-1, 3)
    assert np.any(np.all(pixels == draw.BAD, axis=1))


def test_keyboard_adjusts_the_selected_row_and_ends_the_turn(app):
    start_game(app)
    press(app, pygame.K_e)
    first = app.session.public.channel_names[0]
    before = app.plan.acquisition[first]
    press(app, pygame.K_RIGHT)
    assert app.plan.acquisition[first] > before
    press(app, pygame.K_RETURN, frames=3)
    assert app.scenes.top.name == "results"
    assert app.session.turn == 2
    press(app, pygame.K_RETURN)
    assert app.scenes.top.name == "dashboard"


def test_autosave_and_continue_after_a_kill(tmp_path):
    app = App(size=(1280, 720), home=tmp_path, scenario="coffee", seed=5, prospects=PROSPECTS, tour=False)
    start_game(app)
    for _ in range(2):
        press(app, pygame.K_e)
        press(app, pygame.K_RETURN, frames=3)
        press(app, pygame.K_RETURN)
    decisions = list(app.session.decisions)
    books = [r.books for r in app.session.results]
    # Killed: no cleanup, no save on exit; only what the autosave wrote after each turn.
    pygame.quit()
    again = App(size=(1280, 720), home=tmp_path, prospects=PROSPECTS, tour=False)
    again.pump(1)
    assert button(again, "continue").is_enabled
    press(again, pygame.K_c, frames=3)
    assert again.scenes.top.name == "dashboard"
    assert again.session.turn == 3
    assert again.session.decisions == decisions
    assert [r.books for r in again.session.results] == books
    pygame.quit()


@pytest.mark.parametrize("content, words", [("{truncated", "damaged"),
                                            (json.dumps({"format": "other"}), "not a saved ccsim game")])
def test_a_corrupt_or_foreign_autosave_gives_a_message(tmp_path, content, words):
    (tmp_path / "autosave.json").write_text(content)
    app = App(size=(1280, 720), home=tmp_path, prospects=PROSPECTS, tour=False)
    press(app, pygame.K_c)
    assert app.scenes.top.name == "title"
    assert words in app.scenes.top.message
    app.pump(1)                                     # and the message is drawn without error
    pygame.quit()


def test_resize_lays_the_scene_out_again_with_bigger_fonts(app):
    start_game(app)
    small_button = button(app, "tab:lab").rect.copy()
    small_chart = app.scenes.top.chart_rect.copy()
    pygame.event.post(pygame.event.Event(pygame.VIDEORESIZE, size=(1920, 1080), w=1920, h=1080))
    app.pump(3)
    assert app.size == (1920, 1080)
    assert app.typography.body > 16
    big_button = button(app, "tab:lab").rect
    assert big_button.height > small_button.height
    assert app.scenes.top.chart_rect.width > small_chart.width
    assert app.scenes.top._surface.get_size() == app.scenes.top.chart_rect.size


def test_settings_toggle_the_palette_and_large_text_and_are_saved(app, tmp_path):
    press(app, pygame.K_s)
    assert app.scenes.top.name == "settings"
    assert app.settings.palette == "colour-blind safe"
    press(app, pygame.K_p)
    assert app.settings.palette == "standard"
    assert json.loads((tmp_path / "settings.json").read_text())["palette"] == "standard"
    body = app.typography.body
    press(app, pygame.K_t)
    assert app.large_text and app.typography.body >= 20 > body
    assert json.loads((tmp_path / "settings.json").read_text())["large_text"] is True


def test_opening_a_broken_record_gives_a_message(app, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{}")
    assert not app.scenes.top.open_path(path)
    assert "Cannot open" in app.scenes.top.message


def test_open_a_record_shows_its_debrief_then_save_and_export(app, tmp_path):
    from sim.cli import main
    from sim.records import read_record, verify_record

    path = tmp_path / "game.json"
    assert main(["run", "coffee", "--strategy", "mass-marketing", "--seed", "2", "--prospects", str(PROSPECTS),
                 "--record", str(path)]) == 0
    assert app.scenes.top.open_path(path)
    debrief = app.scenes.top
    assert debrief.name == "debrief"
    assert debrief.wait()
    app.pump(2)
    # Mass-marketing against itself: a centricity score of exactly 0.
    assert debrief.debrief.centricity == 0
    press(app, pygame.K_s)
    saved = debrief.message.split("Record saved: ", 1)[1]
    assert verify_record(read_record(saved), references=False) == []
    press(app, pygame.K_r)
    page = debrief.message.split("Report written: ", 1)[1]
    assert "<h1>Debrief: Bean Counter Coffee</h1>" in open(page, encoding="utf-8").read()
    # Export data [X]: the record's purchases as the CSV `ccsim export` writes, off the main thread.
    press(app, pygame.K_x)
    for _ in range(600):
        if "Transaction log written" in debrief.message or "Could not" in debrief.message:
            break
        app.pump(1)
        time.sleep(0.01)
    written = debrief.message.split("): ", 1)[1]
    expected = tmp_path / "expected.csv"
    assert main(["export", str(path), "--transactions", str(expected)]) == 0
    assert open(written, encoding="utf-8").read() == expected.read_text(encoding="utf-8")
    rows = int(debrief.message.split("(", 1)[1].split(" ", 1)[0].replace(",", ""))
    assert rows == len(expected.read_text(encoding="utf-8").splitlines()) - 1 > 0


def test_enter_confirms_a_field_and_escape_leaves_it_without_leaving_the_screen(app):
    start_game(app)
    press(app, pygame.K_e)
    scene = app.scenes.top
    first = app.session.public.channel_names[0]
    entry = scene.entries[("channel", first)]
    click(app, entry)
    assert app.typing()
    press(app, pygame.K_ESCAPE)
    assert app.scenes.top is scene and not app.typing()
    click(app, entry)
    entry.set_text("")
    type_text(app, "500")
    press(app, pygame.K_RETURN)                     # confirms the field: no turn played yet
    assert app.plan.acquisition[first] == 500 and app.session.turn == 1
    assert not app.typing()
    press(app, pygame.K_RETURN, frames=3)           # now Enter ends the turn
    assert app.scenes.top.name == "results"
    assert app.session.decisions[0].acquisition[first] == 500


def test_hovering_a_number_shows_its_tooltip(app):
    start_game(app)
    scene = app.scenes.top
    card = scene.card_rects[4]                        # the estimated firm value card
    pygame.event.post(pygame.event.Event(pygame.MOUSEMOTION, pos=card.center, rel=(0, 0), buttons=(0, 0, 0)))
    app.pump(40)                                      # 40 frames of 1/60 s: past the hover delay
    assert scene.tooltips.active is not None
    assert scene.tooltips.active[1].startswith("ESTIMATED firm value")
    # The tooltip box is painted in its own colour near the mouse.
    box = pygame.Rect(card.centerx + 16, card.centery + 18, 40, 20).clip(app.screen.get_rect())
    pixels = pygame.surfarray.array3d(app.screen.subsurface(box)).reshape(-1, 3)
    assert np.any(np.all(pixels == draw.TOOLTIP_BG, axis=1))


def test_open_a_record_shows_a_file_dialog_and_escape_closes_only_the_dialog(app):
    press(app, pygame.K_o)
    dialog = app.scenes.top.dialog
    assert isinstance(dialog, pygame_gui.windows.UIFileDialog)
    app.pump(2)
    press(app, pygame.K_ESCAPE)
    assert not dialog.alive()
    assert app.scenes.top.name == "title" and app.running      # not the quit question
