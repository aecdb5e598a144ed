"""Anything ``validate`` accepts, ``run`` plays to the end with finite numbers.

A hypothesis property test draws whole scenarios across the ranges of
``sim.limits`` (each number at its lower bound, its upper bound or in
between, log-uniformly where the range spans decades), keeps those the
validator accepts, and plays every reference strategy on them.  Small pools
and few turns keep it fast; the ranges, not the sizes, are what is tested.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sim import limits
from sim.errors import ScenarioError
from sim.scenario import load_scenario, parse_scenario, shipped_scenario_names
from sim.runner import REFERENCES, score
from sim.strategies import get_strategy, strategy_names


def _number(draw, path: str) -> float:
    """A value of the field ``path``: its low or high bound, or one in between."""
    limit = limits.limit_for(path)
    low, high = limit.low, limit.high
    if limit.low_open:
        low = low + max(abs(low) * 1e-9, 1e-9) if low else min(1e-6, high / 10)
    if limit.high_open:
        high = high - max(abs(high) * 1e-9, 1e-9)
    where = draw(st.sampled_from(["low", "high", "between", "between"]))
    if where == "low":
        return float(low)
    if where == "high":
        return float(high)
    return _between(draw, low, high)


def _between(draw, low: float, high: float) -> float:
    """Log-uniform where [low, high] spans decades, else uniform; never outside."""
    share = draw(st.floats(0.0, 1.0))
    if low > 0 and high / low > 100:
        value = math.exp(math.log(low) + share * (math.log(high) - math.log(low)))
    else:
        value = low + share * (high - low)
    return float(min(max(value, low), high))  # exp(log(x)) can land a hair outside


def _rate_for_mean(draw, shape_path: str, rate_path: str, mean_limit) -> dict:
    """Gamma shape and rate whose mean shape/rate is drawn from its derived range."""
    shape = _number(draw, shape_path)
    low = max(mean_limit.low, 1e-4) if mean_limit.low == 0 else mean_limit.low
    mean = _between(draw, low, mean_limit.high)
    rate_limit = limits.limit_for(rate_path)
    return {"shape": shape, "rate": min(max(shape / mean, rate_limit.low), rate_limit.high)}


def _shares(draw, n: int) -> list[float]:
    raw = [draw(st.floats(0.01, 1.0)) for _ in range(n)]
    return [x / sum(raw) for x in raw]


@st.composite
def scenario_data(draw) -> dict:
    """A scenario as parsed YAML, every number drawn from its documented range."""
    contractual = draw(st.booleans())
    n_channels = draw(st.integers(1, 4))
    n_types = draw(st.integers(1, 4))
    channels = [{"name": f"c{i}", "ceiling": _number(draw, "channels[].ceiling"),
                 "efficiency": _number(draw, "channels[].efficiency")}
                for i in range(n_channels)]
    n_values = draw(st.sampled_from([2, 3, limits.COUNT_LIMITS["profile[].values"]]))
    profile = [{"name": "tag", "values": [f"v{j}" for j in range(n_values)]}]
    types = []
    for i, weight in enumerate(_shares(draw, n_types)):
        kind = {
            "name": f"t{i}", "weight": weight,
            "purchase_rate": _rate_for_mean(draw, "types[].purchase_rate.shape",
                                            "types[].purchase_rate.rate",
                                            limits.DERIVED_LIMITS["mean purchase rate"]),
            "spend": {"p": _number(draw, "types[].spend.p"), "q": _number(draw, "types[].spend.q")},
            "cost_to_serve": {"a": _number(draw, "types[].cost_to_serve.a"),
                              "b": _number(draw, "types[].cost_to_serve.b")},
            "service_response": _number(draw, "types[].service_response"),
            "channel_affinity": [_number(draw, "types[].channel_affinity[]")
                                 for _ in range(n_channels)],
            "profile": {"tag": _shares(draw, n_values)},
        }
        # Mean spend drawn directly (p * gamma / (q - 1)), so most types pass the
        # derived limits instead of being filtered out.
        spend, mean = kind["spend"], _between(draw, 0.01, 100_000.0)
        gamma = limits.limit_for("types[].spend.gamma")
        spend["gamma"] = min(max(mean * (spend["q"] - 1.0) / spend["p"], gamma.low), gamma.high)
        if contractual and draw(st.booleans()):
            kind["churn_probability"] = {"a": _number(draw, "types[].churn_probability.a"),
                                         "b": _number(draw, "types[].churn_probability.b")}
        else:
            kind["dropout_rate"] = _rate_for_mean(draw, "types[].dropout_rate.shape",
                                                  "types[].dropout_rate.rate",
                                                  limits.DERIVED_LIMITS["mean dropout rate"])
        if sum(kind["channel_affinity"]) <= 0:
            kind["channel_affinity"][0] = 1.0
        types.append(kind)
    data = {
        "name": "Drawn", "business": "drawn", "briefing": "drawn", "lesson": "drawn",
        "turn_length": "turn",
        "turns": draw(st.integers(1, 4)), "warmup_turns": draw(st.integers(1, 3)),
        "prospects": draw(st.integers(300, 2000)),
        "contractual": contractual,
        "budget": {"marketing": _number(draw, "budget.marketing")},
        "incident_cost_shape": _number(draw, "incident_cost_shape"),
        "service": {key: _number(draw, f"service.{key}")
                    for key in ("g_max", "half_saturation", "hill", "purchase_boost")},
        "disengage": {key: _number(draw, f"disengage.{key}")
                      for key in ("purchase_multiplier", "dropout_multiplier",
                                  "cost_to_serve_factor")},
        "inherited": {"acquisition": [_number(draw, "inherited.acquisition[]")
                                      for _ in range(n_channels)],
                      "service": _number(draw, "inherited.service")},
        "channels": channels, "profile": profile, "types": types,
    }
    if sum(data["inherited"]["acquisition"]) <= 0:  # the validator wants some history
        data["inherited"]["acquisition"][0] = 1000.0
    for key in ("discount_rate", "gross_margin", "fixed_cost"):
        data[key] = _number(draw, key)
    if contractual:
        data["membership_fee"] = _number(draw, "membership_fee")
    return data


def _finite_books(game) -> None:
    for result in game.turns:
        books = result.books
        for name in ("revenue", "gross_margin", "cost_to_serve", "service_spend",
                     "acquisition_spend", "fixed_cost", "profit"):
            assert math.isfinite(getattr(books, name)), (books.turn, name, getattr(books, name))


def test_the_scorer_plays_every_reference_strategy():
    # The property below plays the scorer's games; it must cover every strategy.
    assert set(REFERENCES) == set(strategy_names())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much,
                                                                   HealthCheck.too_slow])
@given(data=scenario_data(), seed=st.integers(0, 2 ** 32))
def test_every_accepted_scenario_plays_to_the_end_with_finite_numbers(data, seed):
    try:
        scenario = parse_scenario(data, "drawn.yaml")
    except ScenarioError:
        assume(False)
    card = score(scenario, get_strategy("customer-centric"), seed)
    games = {**card.baselines, "player": card.player.value}
    assert set(card.baselines) == set(REFERENCES)
    for name, game in games.items():
        assert math.isfinite(game.firm_value), (name, game.firm_value)
        assert math.isfinite(game.discounted_profit), name
        assert math.isfinite(game.terminal_equity), name
        assert all(math.isfinite(share) for share in game.service_by_value_decile), name
        _finite_books(game)


# ------------------------------------------------------------------ the table itself

def _numeric_paths(value, path: str = ""):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _numeric_paths(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _numeric_paths(item, f"{path}[{index}]")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield path, value


@pytest.mark.parametrize("name", shipped_scenario_names())
def test_every_number_of_a_shipped_scenario_has_a_limit_with_room_to_spare(name):
    import yaml

    from conftest import SCENARIO_DIR

    data = yaml.safe_load((SCENARIO_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    # Mappings of weights (affinity, inherited spend) are read as lists by name.
    for kind in data["types"]:
        kind["channel_affinity"] = list(kind["channel_affinity"].values())
    data["inherited"]["acquisition"] = list(data["inherited"]["acquisition"].values())
    for path, value in _numeric_paths(data):
        limit = limits.limit_for(path)
        assert limit is not None, f"{name}: {path} has no row in sim.limits.FIELD_LIMITS"
        assert limit.problem(value) is None, (path, value)
    load_scenario(name)  # and the derived limits pass


def test_the_int_dtypes_of_the_engine_cannot_overflow():
    counts = limits.COUNT_LIMITS
    assert counts["channels"] <= np.iinfo(np.int8).max + 1
    assert counts["profile[].values"] <= np.iinfo(np.int8).max + 1
    assert counts["types"] <= np.iinfo(np.int16).max + 1
    assert (limits.FIELD_LIMITS["turns"].high + limits.FIELD_LIMITS["warmup_turns"].high
            == counts["turn columns"] <= np.iinfo(np.int16).max)
    assert limits.FIELD_LIMITS["prospects"].high <= np.iinfo(np.int32).max


def test_the_docs_are_generated_from_the_table():
    from conftest import ROOT

    assert (ROOT / "docs" / "scenario-limits.md").read_text(encoding="utf-8") \
        == limits.markdown_table()


def test_a_zero_dropout_rate_is_a_customer_who_stays_not_a_division_by_zero():
    """Beta(0.01, 0.01) churn underflows to exactly 0 for some prospects: they never leave."""
    import re
    import warnings

    from conftest import SCENARIO_DIR
    from sim.behaviour import live_turn
    from sim.population import draw_population
    from sim.runner import play_game
    from sim.strategies import get_strategy

    rates = np.array([0.0, 1e-320, 0.5, np.inf])
    u = np.full(4, 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        died, purchases, _, _ = live_turn(np.ones(4), rates, np.ones(4), np.ones(4), u, u, u, u,
                                          contractual=False)
    assert died.tolist() == [False, False, False, True]

    text = re.sub(r"churn_probability: \{a: [0-9.]+, b: [0-9.]+\}",
                  "churn_probability: {a: 0.01, b: 0.01}",
                  (SCENARIO_DIR / "meal_kit.yaml").read_text())
    scenario = parse_scenario(__import__("yaml").safe_load(text), "meal_kit.yaml").with_prospects(30_000)
    immortal = draw_population(scenario, 1).dropout_rate == 0
    assert immortal.sum() > 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in ("mass-marketing", "customer-centric", "oracle"):
            played = play_game(scenario, get_strategy(name), 1)
            assert math.isfinite(played.value.firm_value), name
            truth = played.game.truth
            acquired = truth.row_prospect[immortal[truth.row_prospect]]
            assert truth.alive[acquired].all(), name
