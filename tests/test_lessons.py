"""The lessons emerge: each shipped scenario teaches what it claims, on seeds 1-10.

One set of games per scenario (small pools, every strategy on the same
seeds) is played once and shared by the tests of that scenario:

* the reference ordering oracle >= customer-centric > mass-marketing >
  do-nothing, on a scale where oracle - mass is a real share of firm value;
* the scenario's stated lesson as a pair of strategies (one follows it, one
  ignores it): the follower is >= 10 centricity points ahead on >= 9 seeds;
* a meaningful zero: no-analysis strategies score low;
* no shortcut: one rule on a single observable column, no model, stays >= 10
  points below the customer-centric reference;
* turning everyone away scores below mass-marketing on every seed;
* the acquisition lever: the oracle's acquisition with mass-marketing's
  service is worth at least a third of the oracle's advantage;
* realistic heterogeneity of the game's own customers;
* the example bot that uses the analytics lab (``examples/bots/clv_bot.py``)
  scores within 10 points of the customer-centric reference (issue 22);
* the service lever teaches: with mass-marketing's acquisition, the
  reference's service and turn-away policy is worth at least a third of the
  oracle's (issue 22).

``benchmarks/lessons.py`` runs the same checks on seeds the tests never use,
with larger pools (where the customer-centric score's sd <= 3 is measured).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from conftest import SCENARIOS, small
from sim.analytics import pareto_nbd
from sim.analytics.transactions import summarise_observation
from sim.bots import load_bot
from sim.runner import play_game
from sim.strategies.base import even_acquisition
from sim.strategies.centric import CustomerCentric
from sim.strategies import get_strategy, playtest

SEEDS = tuple(range(1, 11))
PROSPECTS = 10_000
#: Scenarios whose 10k miniature is too noisy, played at 20k: coffee's customers are
#: cheap, many and heavy-tailed (too few regulars for a steady score); the department
#: store's lesson rests on a few high-spending returners (6% of the market); the bike
#: shop's lesson rests on a holdout test of two segments of a few hundred riders.
POOL = {"coffee": 20_000, "department_store": 20_000, "bike_shop": 20_000}
REFERENCES = ("do-nothing", "mass-marketing", "customer-centric", "oracle")
#: The shortcuts that came closest to the customer-centric reference in the benchmark.
SHORTCUTS = ("disengage by cost share", "disengage losses, VIP by profit", "VIP by profit per turn")
CLV_BOT = Path(__file__).resolve().parents[1] / "examples" / "bots" / "clv_bot.py"


def _strategies(key: str) -> dict:
    out = {name: (lambda name=name: get_strategy(name)) for name in REFERENCES}
    out["inherited, no service"] = playtest.InheritedNoService
    out["even split, no service"] = playtest.EvenNoService
    out["disengage everyone"] = playtest.DisengageEveryone
    out["oracle acquisition, mass service"] = playtest.OracleAcquisition
    for s in playtest.shortcuts():
        if s.name in SHORTCUTS:
            out[s.name] = (lambda s=s: s)
    follow, ignore = playtest.lesson_pair(key)
    out["follows the lesson"] = lambda: follow
    out["ignores the lesson"] = lambda: ignore
    out["clv bot"] = lambda: load_bot(CLV_BOT)
    out["customer-centric service"] = lambda: CustomerCentric(acquisition=even_acquisition)
    out["oracle service"] = playtest.OracleService
    return out


@lru_cache(maxsize=None)
def played(key: str) -> dict:
    """Firm values (per strategy, per seed), scores, and mass-marketing's last game."""
    scenario = small(key, POOL.get(key, PROSPECTS))
    values, whale = {}, []
    last_mass = None
    for name, make in _strategies(key).items():
        row = []
        for seed in SEEDS:
            played_game = play_game(scenario, make(), seed)
            game, v = played_game.game, played_game.value
            row.append(v.firm_value)
            if name == "mass-marketing":
                whale.append((v.top20_profit_share, v.unprofitable_share))
                last_mass = game
        values[name] = np.array(row)
    span = values["oracle"] - values["mass-marketing"]
    scores = {k: 100 * (v - values["mass-marketing"]) / span for k, v in values.items()}
    return {"values": values, "scores": scores, "whale": np.array(whale), "mass_game": last_mass}


def table(key: str) -> str:
    sc = played(key)["scores"]
    return "\n".join(f"{k:40s} {np.round(v, 1)}" for k, v in sc.items())


def checks(key: str) -> dict[str, tuple[bool, object]]:
    """Every target of the scenario: name -> (met, what was measured)."""
    p = played(key)
    v, sc = p["values"], p["scores"]
    out = {}
    ordered = (v["oracle"] >= v["customer-centric"]) & (v["customer-centric"] > v["mass-marketing"])
    out["oracle >= customer-centric > mass on >= 9 seeds"] = (ordered.sum() >= 9, int(ordered.sum()))
    out["do-nothing < mass on every seed"] = (bool(np.all(v["do-nothing"] < v["mass-marketing"])),
                                              np.round(sc["do-nothing"], 1))
    scale = (v["oracle"] - v["mass-marketing"]) / np.abs(v["mass-marketing"])
    out["oracle - mass >= 25% of |mass| on every seed"] = (bool(np.all(scale >= 0.25)),
                                                          np.round(scale, 2))
    # sd <= 3 is measured at 50k prospects in benchmarks/lessons.py; these pools
    # are five times smaller, so only a guard against a much noisier scale here.
    sd = float(np.std(sc["customer-centric"], ddof=1))
    out["customer-centric score sd <= 10 (small pools)"] = (sd <= 10, round(sd, 1))
    ahead = sc["follows the lesson"] - sc["ignores the lesson"]
    out["follows the lesson: >= 10 points ahead on >= 9 seeds"] = (int(np.sum(ahead >= 10)) >= 9,
                                                                   np.round(ahead, 1))
    out["disengaging everyone < mass on every seed"] = (bool(np.all(sc["disengage everyone"] < 0)),
                                                        np.round(sc["disengage everyone"], 1))
    for name in SHORTCUTS:
        gap = float(np.mean(sc["customer-centric"] - sc[name]))
        out[f"shortcut '{name}' >= 10 below customer-centric"] = (gap >= 10, round(gap, 1))
    for name, most in (("inherited, no service", 30), ("even split, no service", 40)):
        mean = float(np.mean(sc[name]))
        out[f"'{name}' <= {most}"] = (mean <= most, round(mean, 1))
    acquisition = float(np.mean(sc["oracle acquisition, mass service"]))
    out["oracle's acquisition >= a third of its advantage"] = (acquisition >= 100 / 3,
                                                               round(acquisition, 1))
    clv_gap = float(np.mean(sc["clv bot"] - sc["customer-centric"]))
    out["examples/bots/clv_bot.py within 10 of customer-centric (mean)"] = (clv_gap >= -10,
                                                                          round(clv_gap, 1))
    service, oracle_service = (float(np.mean(sc[k])) for k in ("customer-centric service",
                                                                "oracle service"))
    out["customer-centric service >= a third of the oracle's (mass acquisition)"] = (
        service >= oracle_service / 3, (round(service, 1), round(oracle_service, 1)))
    top20, unprofitable = p["whale"][:, 0], p["whale"][:, 1]
    out["top 20% make 55-85% of profit (mean; each seed 50-90%)"] = (
        bool(0.55 <= np.mean(top20) <= 0.85 and np.all((top20 >= 0.5) & (top20 <= 0.9))),
        np.round(top20, 2))
    least = 0.10 if key == "department_store" else 0.05
    out[f"unprofitable >= {least:.0%} (mean; each seed - 2 points)"] = (
        bool(np.mean(unprofitable) >= least and np.all(unprofitable >= least - 0.02)),
        np.round(unprofitable, 2))
    obs = p["mass_game"].observation
    one_time = float(np.mean(obs.total_purchases == 1))
    out["many customers never buy again (>= 15%)"] = (one_time >= 0.15, round(one_time, 2))
    if not p["mass_game"].scenario.contractual:
        summary = summarise_observation(obs)
        r = float(pareto_nbd.fit(summary.frequency, summary.recency, summary.T).params["r"])
        out["Pareto/NBD fit to the game's customers: r < 1.5"] = (r < 1.5, round(r, 2))
    return out


@pytest.mark.parametrize("key", SCENARIOS)
def test_scenario_teaches_its_lesson(key):
    """All the targets of one scenario, reported together (the games are played once)."""
    results = checks(key)
    failed = {name: detail for name, (ok, detail) in results.items() if not ok}
    assert not failed, "\n".join([f"{key}: {len(failed)} target(s) missed"]
                                  + [f"  {k}: {d}" for k, d in failed.items()]
                                  + ["scores by seed:", table(key)])


def test_oracle_focuses_service_where_mass_marketing_spreads_it():
    s = small("coffee", PROSPECTS)
    oracle = play_game(s, get_strategy("oracle"), 1).value
    mass = play_game(s, get_strategy("mass-marketing"), 1).value

    def top3(shares):
        return sum(sorted(shares, reverse=True)[:3])

    # Mass-marketing's service follows how long customers stay on the books;
    # the oracle's follows where service changes behaviour, in fewer deciles.
    assert top3(oracle.service_by_value_decile) > 0.65
    assert top3(oracle.service_by_value_decile) > top3(mass.service_by_value_decile) + 0.15
    assert sum(oracle.service_by_value_decile) == pytest.approx(1.0)


def test_every_shipped_scenario_has_a_lesson_pair():
    for key in SCENARIOS:
        follow, ignore = playtest.lesson_pair(key)
        assert follow.name != ignore.name
