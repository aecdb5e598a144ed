"""The debrief: plain data, sentences from the game's own numbers, levers, channels, bot records."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from conftest import ROOT, run_cli, small
from sim.debrief import PLAYER, Debrief, debrief_of
from sim.decisions import DISENGAGE, Decision, Tier
from sim.references import PARTNERS
from sim.report import page
from sim.runner import play_game
from sim.strategies import get_strategy
from sim.strategies.base import BaseStrategy

PROSPECTS = 3000


class _Focused(BaseStrategy):
    """All the acquisition money in one channel; one served tier, maybe a turned-away one."""

    def __init__(self, channel: str, tier: str, rule, spend: float, away: str | None = None):
        self.name = f"all-in-{channel}"
        self.channel, self.tier, self.rule, self.spend, self.away = channel, tier, rule, spend, away

    def decide(self, observation, truth=None):
        s = observation.scenario
        tiers = []
        if self.away:
            tiers.append(Tier(self.away, {"all": [{"field": "profit", "op": "<", "value": 0},
                                                  {"field": "age", "op": ">=", "value": 2}]}, DISENGAGE))
        tiers.append(Tier(self.tier, self.rule, self.spend))
        return Decision({self.channel: 0.3 * s.budget.marketing}, tuple(tiers))


def _debrief(strategy, scenario_name="coffee", seed=4, played_by=None):
    scenario = small(scenario_name, PROSPECTS)
    played = play_game(scenario, strategy, seed)
    return debrief_of(scenario, seed, played.decisions, played_by=played_by or strategy.name)


@pytest.fixture(scope="module")
def coupon():
    """Every acquisition dollar into the coupon app, service to the top tenth by profit."""
    return _debrief(_Focused("coupon_app", "VIP", {"top": 0.1, "by": "profit"}, 12.0))


@pytest.fixture(scope="module")
def office():
    """Every acquisition dollar into office cards, service to recent buyers, losers turned away."""
    return _debrief(_Focused("office_cards", "Regulars", {"field": "recency", "op": "<=", "value": 1.0},
                             9.0, away="Losers"))


def test_advice_names_this_games_channels_and_tiers(coupon, office):
    a, b = " ".join(coupon.advice), " ".join(office.advice)
    assert "Coupon app" in a and "'VIP'" in a
    assert "Office coffee cards" in b and "'Regulars'" in b and "'Losers'" in b
    assert "'VIP'" not in b and "'Regulars'" not in a
    # The numbers are this game's: the tier's own dollars appear in its sentence.
    vip = next(t for t in coupon.tiers if t.name == "VIP")
    assert f"${vip.dollars:,.0f}" in a
    assert len(coupon.advice) >= 2 and len(office.advice) >= 2


def test_a_losing_game_is_never_told_money_followed_value(coupon):
    assert coupon.centricity < 0          # the worst channel: a losing game
    vip = next(t for t in coupon.tiers if t.name == "VIP")
    assert vip.top30_share >= 0.6         # its service did reach the most valuable customers...
    text = " ".join(coupon.advice + [coupon.meaning])
    assert "money followed value" not in text and "money follows value" not in text


def test_the_lesson_is_the_scenarios_with_its_meaning_here(office):
    assert office.lesson.startswith("A few regulars are worth more")
    assert re.search(r"held \d+% of their true value", office.meaning)


def test_firm_value_splits_into_discounted_profit_and_equity_left(office):
    for s in office.strategies:
        assert s.firm_value == pytest.approx(s.discounted_profit + s.equity_left, rel=1e-9, abs=1e-6)
    assert {s.name for s in office.strategies} == {PLAYER, *PARTNERS, "do-nothing", "volume"}


def test_acquisition_by_channel_adds_up_to_the_books(office):
    scenario = small("coffee", PROSPECTS)
    v = 1 / (1 + scenario.discount_rate)
    spent = sum(r["acquisition_spend"] * v ** r["turn"] for r in office.turn_rows)
    assert sum(c.spent for c in office.channels) == pytest.approx(spent)
    assert sum(c.acquired for c in office.channels) == sum(r["acquired"] for r in office.turn_rows)
    cards = next(c for c in office.channels if c.channel == "office_cards")
    assert cards.acquired == sum(c.acquired for c in office.channels) and cards.true_value > 0


def test_each_lever_is_swapped_with_mass_customer_centric_and_the_oracle(office):
    assert [lv.partner for lv in office.levers] == list(PARTNERS)
    for lv in office.levers:
        assert math.isfinite(lv.your_acquisition) and lv.your_service is not None
        assert lv.acquisition_worth == pytest.approx(lv.your_acquisition - lv.partner_value)
    # Different partners' service makes different games.
    assert len({round(lv.your_acquisition) for lv in office.levers}) == 3


def test_the_whole_turn_table_and_the_estimate_are_there(office):
    assert [r["turn"] for r in office.turn_rows] == list(range(1, 13))
    e = office.equity
    assert e.low < e.estimated < e.high and e.true > 0


def test_a_debrief_is_plain_data_that_round_trips_through_json(office):
    data = json.loads(json.dumps(office.to_dict(), allow_nan=False))
    again = Debrief.from_dict(data)
    assert again.to_dict() == office.to_dict()
    assert again.advice == office.advice and again.levers == office.levers
    assert page(again) == page(office).replace(office.date, again.date)


def test_the_players_twin_reference_is_not_a_second_row():
    d = _debrief(get_strategy("customer-centric"), "direct_seller", 2)
    values = d.firm_values()
    assert "customer-centric" not in values and f"{PLAYER} (customer-centric)" in values
    html = page(d)
    table = html.split("<h2>Firm value on the same market</h2>", 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == 6          # heading, you, and the four references besides the twin
    assert ">customer-centric<" not in table and ">you (customer-centric)<" in table


def test_the_screen_draws_a_debrief_it_did_not_compute(office, tmp_path):
    import pygame

    from sim.ui.app import App
    from sim.ui.scenes.debrief import DebriefScene

    data = office.to_dict()
    # A 24-turn game's table (a meal kit's), more rows than fit: every one reachable by scrolling.
    data["turn_rows"] = [dict(r, turn=i + 1) for i, r in enumerate(data["turn_rows"] * 2)]
    app = App(size=(1280, 720), home=tmp_path, scenario="coffee", seed=4, prospects=PROSPECTS)
    try:
        scene = app.scenes.push(DebriefScene(app, debrief=Debrief.from_dict(data)))
        assert scene.ready and not scene._thread.is_alive()
        app.pump(3)
        assert all(a.button.is_enabled for a in scene.actions if a.button)
        scene.on_intent("page:3")
        visible = scene.turns_visible()
        assert 1 < visible < 24
        for _ in range(10):
            scene.on_intent("turns_down")
        app.pump(2)
        assert scene.turn_offset == 24 - visible
        scene.on_intent("turns_up")
        assert scene.turn_offset == 24 - visible - 5
    finally:
        pygame.quit()


def test_buttons_are_disabled_while_the_reveal_is_computed(tmp_path, capsys):
    import pygame

    from sim.records import read_record
    from sim.ui.app import App
    from sim.ui.scenes.debrief import DebriefScene

    record = tmp_path / "game.json"
    assert run_cli(capsys, "run", "coffee", "--strategy", "volume", "--seed", "5", "--prospects",
                   PROSPECTS, "--record", record)[0] == 0
    app = App(size=(1280, 720), home=tmp_path, prospects=PROSPECTS)
    try:
        scene = app.scenes.push(DebriefScene(app, read_record(record)))
        if not scene.ready:
            # Leaving and the glossary need no reveal; everything that shows or writes it waits.
            buttons = [a.button for a in scene.actions if a.button and a.intent not in ("title", "glossary")]
            assert buttons and not any(b.is_enabled for b in buttons)
            assert not any(a.intent.startswith("chart:") for a in scene.actions)
        assert scene.wait()
        assert all(a.button.is_enabled for a in scene.actions if a.button)
    finally:
        pygame.quit()


@pytest.mark.parametrize("bot", ["rfm_bot.py", "clv_bot.py", "even_bot.py"])
def test_report_accepts_the_example_bots_records(bot, tmp_path, capsys):
    record = tmp_path / "game.json"
    code, _, err = run_cli(capsys, "run", "coffee", "--strategy", ROOT / "examples" / "bots" / bot,
                           "--seed", "3", "--prospects", PROSPECTS, "--record", record)
    assert code == 0, err
    out = tmp_path / "report"
    code, stdout, err = run_cli(capsys, "report", record, "--out", out, "--team", "Team Blue")
    assert code == 0, err
    html = (out / "index.html").read_text()
    assert "Team Blue" in html and re.search(r"\d{4}-\d{2}-\d{2}", html)
    own = bot == "rfm_bot.py"
    assert ("not measurable" in html) == own
    if own:
        assert "rfm_tier" in html and "score columns of your own" in html
    for stem in ("firm_value", "levers", "channels"):
        assert (out / f"{stem}.png").stat().st_size > 5000


def test_the_window_opens_a_bot_record_with_its_own_columns(tmp_path, capsys):
    import pygame

    from sim.records import read_record
    from sim.ui.app import App
    from sim.ui.scenes.debrief import DebriefScene

    record = tmp_path / "game.json"
    assert run_cli(capsys, "run", "direct_seller", "--strategy", ROOT / "examples" / "bots" / "rfm_bot.py",
                   "--seed", "2", "--prospects", PROSPECTS, "--record", record)[0] == 0
    app = App(size=(1280, 720), home=tmp_path, prospects=PROSPECTS)
    try:
        scene = app.scenes.push(DebriefScene(app, read_record(record)))
        assert scene.wait() and not scene.error
        assert any("score columns of your own" in n for n in scene.debrief.notes)
        assert all(lv.your_service is None for lv in scene.debrief.levers)
        app.pump(2)
    finally:
        pygame.quit()


def test_progress_names_every_game_and_ends_at_one():
    from sim import references

    scenario = small("meal_kit", 2000)
    played = play_game(scenario, get_strategy("volume"), 1)
    references.clear_cache()
    seen = []
    debrief_of(scenario, 1, played.decisions, progress=lambda what, done: seen.append((what, done)))
    names = [w for w, _ in seen]
    for game in ("oracle", "mass-marketing", "your acquisition + customer-centric's service",
                 "oracle's acquisition + your service"):
        assert f"playing {game}" in names
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert np.all(np.array(fractions) >= 0)


class _Tester(BaseStrategy):
    """The inherited acquisition; service to the top half by profit, a third held out, in turns 1-2."""

    name = "tester"

    def decide(self, observation, truth=None):
        s = observation.scenario
        tiers = (Tier("keen test", {"top": 0.5, "by": "profit"}, 9.0, 1 / 3),) if observation.turn <= 2 else ()
        return Decision(dict(s.inherited.acquisition), tiers)


def test_the_debrief_says_what_each_experiment_cost_and_was_worth():
    scenario = small("coffee", PROSPECTS)
    played = play_game(scenario, _Tester(), 4)
    d = debrief_of(scenario, 4, played.decisions, played=played, treatment=None)
    (x,) = d.experiments
    arm = played.game.observation.experiment_arm
    played_cols = played.game.observation.turn_columns >= 1
    assert (x.name, x.start_turn, x.turns_run, x.treatment) == ("keen test", 1, 2, "$9.00 each")
    assert x.cost == 9.0 * int((arm[:, played_cols][:, :2] == 1).sum())
    assert x.saving == 9.0 * int((arm[:, played_cols][:, :2] == -1).sum())
    assert x.treated == int((arm[:, played_cols][:, 0] == 1).sum()) > 0
    assert x.low < x.profit_lift < x.high
    assert x.worth == pytest.approx(x.profit_lift * x.treated)
    assert x.lost_profit == pytest.approx(max(x.profit_lift, 0.0) * x.control)
    assert "Test 'keen test'" in x.summary and "saved" in x.summary and "gave up" in x.summary
    again = Debrief.from_dict(json.loads(json.dumps(d.to_dict(), allow_nan=False)))
    assert again.experiments == d.experiments
    assert "Your experiments" in page(d) and "keen test" in page(d)
