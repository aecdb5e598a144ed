"""Referrals: the scenario fields, the engine's referral process and its closed-form value."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml

from sim import DISENGAGE, Decision, Game, Tier
from sim.errors import ScenarioError
from sim.scenario import load_scenario, parse_scenario, shipped_scenario_names
from sim.scoring import terminal_equity

STUDIO = Path(__file__).parent / "data" / "referral_studio.yaml"


def studio(prospects: int = 30_000):
    return load_scenario(STUDIO).with_prospects(prospects)


def studio_data() -> dict:
    return yaml.safe_load(STUDIO.read_text())


def played(scenario, seed: int = 3, decision=None):
    game = Game(scenario)
    game.reset(seed)
    while not game.done:
        game.step(decision(game.observation) if decision else Decision(
            acquisition=dict(scenario.inherited.acquisition)))
    return game


@pytest.mark.parametrize("path, value, message", [
    (("referrals", "like_share"), 1.5, "referrals.like_share: must be <= 1, got 1.5"),
    (("referrals", "spend_link"), 0.95, "referrals.spend_link: must be <= 0.9, got 0.95"),
    (("referrals", "service_boost"), -1, "referrals.service_boost: must be >= 0, got -1"),
    (("types", 0, "referral_rate", "rate"), 0.001,
     "types[0].referral_rate.rate: must be >= 0.01, got 0.001"),
    (("types", 0, "referral_rate"), {"shape": 1.0, "rate": 0.2},
     "types[0].referral_rate: mean referral rate"),
    (("types", 0, "referral_rate"), {"shape": 1.0, "rate": 2.0}, "referrals: referral chain"),
    (("channels", 0, "name"), "referral", "channels: the name 'referral'"),
])
def test_validate_refuses_out_of_range_referral_fields(path, value, message):
    data = studio_data()
    node = data
    for key in path[:-1]:
        node = node[key]
    if path == ("channels", 0, "name"):
        data["inherited"]["acquisition"]["referral"] = data["inherited"]["acquisition"].pop(
            node["name"])
        for t in data["types"]:
            t["channel_affinity"]["referral"] = t["channel_affinity"].pop(node["name"])
    node[path[-1]] = value
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data, "studio.yaml")
    assert message in str(err.value)


def test_referral_rate_needs_the_referrals_block():
    data = studio_data()
    del data["referrals"]
    with pytest.raises(ScenarioError, match=r"types\[0\]\.referral_rate: needs the scenario's "
                                            r"referrals block"):
        parse_scenario(data, "studio.yaml")


def test_a_scenario_without_referrals_has_none():
    s = load_scenario("coffee").with_prospects(5_000)
    assert s.referrals is None and "referrals" not in s.to_dict()
    game = Game(s)
    obs = game.reset(1)
    assert game.population.referral_rate is None
    assert obs.referred_by is None and obs.referrals is None and "referrals" not in obs.columns
    assert "referral" not in obs.books[-1].acquired_by_channel


def test_referral_rates_keep_each_types_gamma_and_tie_weakly_to_spend():
    s = studio(200_000)
    game = Game(s)
    game.reset(4)
    pop = game.population
    for k, t in enumerate(s.types):
        rho = pop.referral_rate[pop.type_index == k]
        se = rho.std() / np.sqrt(rho.size)
        assert abs(rho.mean() - t.referral_rate.mean) < 4 * se, t.name
        # Gamma variance shape / rate^2.
        assert rho.var() == pytest.approx(t.referral_rate.shape / t.referral_rate.rate ** 2,
                                          rel=0.1)
        # Weak positive rank correlation with mean spend (copula c = 0.15).
        spend_rank = np.argsort(np.argsort(pop.mean_spend[pop.type_index == k]))
        rho_rank = np.argsort(np.argsort(rho))
        r = np.corrcoef(spend_rank, rho_rank)[0, 1]
        assert 0.08 < r < 0.22, (t.name, r)


def test_referred_customers_are_books_and_observation_consistent():
    s = studio()
    game = played(s)
    obs = game.observation
    referral_code = len(s.channels)
    referred = obs.referred_by >= 0
    assert referred.sum() > 500
    # Exactly the customers in the referral channel are referred, by a known customer.
    assert np.array_equal(referred, obs.channel == referral_code)
    row_of_id = {cid: row for row, cid in enumerate(obs.customer_id)}
    referrer_rows = np.array([row_of_id[c] for c in obs.referred_by[referred]])
    assert np.array_equal(np.bincount(referrer_rows, minlength=obs.n_customers), obs.referrals)
    # A referrer was a customer before the friend joined.
    assert (obs.acquisition_turn[referrer_rows] < obs.acquisition_turn[referred]).all()
    assert np.array_equal(obs.columns["referrals"], obs.referrals)
    assert obs.categories["channel"][referral_code] == "referral"
    for b in obs.books:
        joined = int(((obs.acquisition_turn == b.turn) & referred).sum())
        assert b.acquired_by_channel["referral"] == joined
        assert b.acquired == sum(b.acquired_by_channel.values())


def test_like_brings_like():
    """A friend is of the referrer's type with probability l + (1 - l) x the pool's share.

    Checked per referrer type: a mixed race reusing the own-type race's keys
    once under-drew the types in demand (connectors 0.51 against 0.59).
    """
    s = studio(60_000)
    game = played(s)
    truth = game.truth
    obs = game.observation
    kind = game.population.type_index[truth.row_prospect]
    referred = np.flatnonzero(obs.referred_by >= 0)
    row_of_id = {cid: row for row, cid in enumerate(obs.customer_id)}
    referrer = np.array([row_of_id[c] for c in obs.referred_by[referred]])
    like = s.referrals.like_share
    # The pool's mix barely moves over a game (a few percent of it is acquired).
    pool_share = np.bincount(game.population.type_index, minlength=len(s.types)) / s.prospects
    for t in range(len(s.types)):
        mine = kind[referrer] == t
        same = kind[referred[mine]] == t
        expected = like + (1 - like) * pool_share[t]
        se = np.sqrt(expected * (1 - expected) / same.size)
        assert same.size > 100
        assert abs(same.mean() - expected) < 4 * se + 0.01, (s.types[t].name, same.mean(), expected)


def test_turned_away_customers_stop_referring():
    """Everyone the player sees is turned away: only the turn's newcomers refer."""
    s = studio(100_000)
    tiers = (Tier("away", "all", DISENGAGE),)
    game = Game(s)
    game.reset(3)
    acquisition = dict(s.inherited.acquisition)
    for _ in range(4):
        game.step(Decision(acquisition=acquisition, tiers=tiers))
    obs = game.observation
    row_of_id = {cid: row for row, cid in enumerate(obs.customer_id)}
    late = (obs.referred_by >= 0) & (obs.acquisition_turn >= 2)
    referrer = np.array([row_of_id[c] for c in obs.referred_by[late]])
    assert late.sum() > 20
    # A friend joining in turn k was referred in turn k - 1 by a newcomer of that turn.
    assert np.array_equal(obs.acquisition_turn[referrer], obs.acquisition_turn[late] - 1)


def test_service_raises_referrals_and_a_customers_referrals_are_its_own():
    """Serving half the base: the served refer more; the unserved exactly as before."""
    s = studio()
    base = played(s, decision=lambda o: Decision(acquisition=dict(s.inherited.acquisition)))
    rule = {"field": "customer_id", "op": "<", "value": s.prospects // 2}

    def serve(o):
        return Decision(acquisition=dict(s.inherited.acquisition),
                        tiers=(Tier("vip", rule, 2 * s.service.half_saturation),))
    served = played(s, decision=serve)
    first_turn_made = []
    for game in (base, served):
        obs = game.observation
        # Customers of the inherited base: the same rows in both games.
        rows = np.flatnonzero(obs.acquisition_turn <= 0)
        first_turn_made.append((obs.customer_id[rows], obs.referrals[rows]))
    (ids, before), (ids2, after) = first_turn_made
    assert np.array_equal(ids, ids2)
    vip = ids < s.prospects // 2
    assert after[vip].sum() > 1.1 * before[vip].sum()
    # Unserved customers' referral counts are their own draws: the same... unless a
    # friend they would bring was taken by someone else first; nearly always the same.
    assert np.mean(after[~vip] == before[~vip]) > 0.97


#: Scenarios whose members bring friends: the test studio and each shipped one with referrals.
REFERRAL_SCENARIOS = [STUDIO] + [name for name in shipped_scenario_names()
                                 if load_scenario(name).referrals is not None]


@pytest.mark.parametrize("scenario", REFERRAL_SCENARIOS, ids=lambda x: Path(str(x)).stem)
def test_terminal_value_with_referrals_matches_a_long_simulation(scenario):
    """Closed form (equity + CRV + friends about to join) vs playing on 300 more turns.

    Everything the base and its descendants earn is simulated under the
    neutral policy (no acquisition, no service); the few still alive at the
    horizon are valued in closed form. Each customer alive at the end (or
    about to join) and all its descendants are one independent family: the
    tolerance is four standard errors of the families' values.
    """
    s = load_scenario(scenario).with_prospects(60_000)
    horizon = 300
    game = Game(replace(s, turns=s.turns + horizon))
    game.reset(2)
    acquisition = dict(s.inherited.acquisition)
    while game.turn <= s.turns:
        game.step(Decision(acquisition=acquisition))
    closed_form = terminal_equity(game.truth)
    no_referrals = terminal_equity(replace(game.truth, scenario=replace(s, referrals=None)))
    alive_at_end = game.truth.row_prospect[game.truth.alive[game.truth.row_prospect]]
    for _ in range(horizon):
        game.step(Decision())
    obs, truth = game.observation, game.truth
    v = 1.0 / (1.0 + s.discount_rate)
    cols = np.flatnonzero(obs.turn_columns > s.turns)
    value = obs.profit_matrix()[:, cols] @ (v ** (obs.turn_columns[cols] - s.turns))
    realised = value.sum() + terminal_equity(truth) * v ** horizon
    # Families: the customers alive at T and the friends joining at T + 1 are roots;
    # a later friend belongs to its referrer's family.
    row_of_id = np.full(s.prospects, -1)
    row_of_id[obs.customer_id] = np.arange(obs.n_customers)
    parent = np.where(obs.referred_by >= 0, row_of_id[np.maximum(obs.referred_by, 0)], -1)
    root = np.arange(obs.n_customers)
    for _ in range(100):
        later = obs.acquisition_turn[root] > s.turns + 1
        if not later.any():
            break
        root = np.where(later, parent[root], root)
    assert not (obs.acquisition_turn[root] > s.turns + 1).any()
    row_of_prospect = np.full(s.prospects, -1)
    row_of_prospect[truth.row_prospect] = np.arange(obs.n_customers)
    roots = np.union1d(row_of_prospect[alive_at_end],
                       np.flatnonzero(obs.acquisition_turn == s.turns + 1))
    assert np.isin(root[obs.acquisition_turn > s.turns], roots).all()
    families = np.bincount(root, weights=value, minlength=obs.n_customers)[roots]
    se = float(families.std(ddof=1) * np.sqrt(families.size))
    assert closed_form > no_referrals * 1.05
    print(f"closed form {closed_form:,.0f} (without referrals {no_referrals:,.0f}), "
          f"simulated {realised:,.0f}, se {se:,.0f}")
    assert abs(realised - closed_form) < 4 * se, (realised, closed_form, se)
    assert realised == pytest.approx(closed_form, rel=0.05)


def test_records_replay_and_the_export_names_the_referrer(tmp_path):
    import csv

    from sim.export import export_record
    from sim.records import read_record, record_of, verify_record, write_record
    from sim.runner import play_game
    from sim.strategies import get_strategy

    s = studio(20_000)
    played_game = play_game(s, get_strategy("mass-marketing"), 4)
    path = write_record(record_of(played_game), tmp_path / "studio.json")
    record = read_record(path)
    assert verify_record(record, references=False) == []
    out = tmp_path / "studio.csv"
    export_record(record, out)
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[-2:] == ["cancelled_after_turn", "referred_by"]
    obs = played_game.game.observation
    expected = {str(c): (str(b) if b >= 0 else "") for c, b in zip(obs.customer_id, obs.referred_by)}
    got = {r["customer_id"]: r["referred_by"] for r in rows}
    assert got == {c: expected[c] for c in got}
    referred = [r for r in rows if r["referred_by"]]
    assert len(referred) > 100 and all(r["channel"] == "referral" for r in referred)
    assert all(r["channel"] != "referral" for r in rows if not r["referred_by"])


def test_every_reference_plays_a_referral_game():
    """The references (the lab's per-channel models see the referral channel as a segment)."""
    from sim.runner import play_game
    from sim.strategies import get_strategy

    s = studio(10_000)
    value = {name: play_game(s, get_strategy(name), 1).value.firm_value
             for name in ("do-nothing", "mass-marketing", "volume", "customer-centric", "oracle")}
    assert all(np.isfinite(v) for v in value.values())
    assert value["customer-centric"] > value["mass-marketing"] > value["do-nothing"]
    assert value["oracle"] > value["mass-marketing"]


@pytest.mark.parametrize("shape", [0.5, 1.5, 5.0])
def test_the_referral_rate_table_matches_the_gamma_quantile(shape):
    """The tabulated Gamma quantile (one table per type) against scipy's, 1e-5 relative."""
    from scipy import special

    from sim.referrals import _Z_GRID, _log_gamma_quantiles

    u = np.random.default_rng(1).random(100_000)
    exact = special.gammaincinv(shape, u)
    table = np.exp(np.interp(special.ndtri(u), _Z_GRID, _log_gamma_quantiles(shape)))
    assert np.max(np.abs(table / exact - 1.0)) < 1e-5
