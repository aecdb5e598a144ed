"""Scenario files: every shipped one loads; every kind of bad file is refused clearly.

A bad file raises ``ScenarioError`` whose message starts with the file's name
and then the field path of the problem, e.g.
``coffee.yaml: types[1].purchase_rate.shape: must be > 0, got -1``.
The bad files are the shipped coffee scenario with one thing broken.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from conftest import SCENARIO_DIR
from sim.scenario import Scenario, ScenarioError, load_scenario, shipped_scenario_names

SHIPPED = shipped_scenario_names()
BUSINESSES = ["coffee", "department_store", "direct_seller", "meal_kit"]


# ------------------------------------------------------------------ shipped files

@pytest.mark.parametrize("name", SHIPPED, ids=SHIPPED)
def test_shipped_scenario_loads_and_is_complete(name):
    s = load_scenario(name)
    assert isinstance(s, Scenario)
    assert s.key == name
    assert len(s.types) >= 2
    assert math.isclose(sum(t.weight for t in s.types), 1.0, abs_tol=1e-9)
    assert all(t.weight > 0 for t in s.types)
    assert len({t.name for t in s.types}) == len(s.types)
    for text in (s.name, s.business, s.briefing, s.lesson):
        assert isinstance(text, str) and text.strip()
    # Every type says how each channel reaches it and how each tag looks.
    for t in s.types:
        assert tuple(t.channel_affinity) == s.channel_names
        assert set(t.profile) == {tag.name for tag in s.profile}
        for tag in s.profile:
            assert math.isclose(sum(t.profile[tag.name]), 1.0, abs_tol=1e-9)
        assert (t.dropout_rate is None) != (t.churn_probability is None)
    # Loading by path gives the same scenario as loading by name.
    assert load_scenario(SCENARIO_DIR / f"{name}.yaml") == s


def test_the_four_shipped_businesses_are_distinct():
    assert set(BUSINESSES) <= set(SHIPPED)
    scenarios = {n: load_scenario(n) for n in SHIPPED}
    for attribute in ("name", "business", "briefing", "lesson"):
        values = [getattr(s, attribute) for s in scenarios.values()]
        assert len(set(values)) == len(values), f"two scenarios share a {attribute}"
    assert {n: scenarios[n].contractual for n in BUSINESSES} == {n: n == "meal_kit" for n in BUSINESSES}
    meal_kit = scenarios["meal_kit"]
    assert meal_kit.membership_fee > 0
    assert all(t.churn_probability is not None for t in meal_kit.types)


# ------------------------------------------------------------------ with_prospects

@pytest.mark.parametrize("name", SHIPPED, ids=SHIPPED)
def test_with_prospects_keeps_the_economics(name):
    s = load_scenario(name)
    small = s.with_prospects(5000)
    f = 5000 / s.prospects
    assert small.prospects == 5000
    assert small.key == s.key and small.types == s.types and small.profile == s.profile
    assert small.service == s.service and small.disengage == s.disengage
    assert small.fixed_cost == pytest.approx(s.fixed_cost * f, rel=1e-12)
    assert small.budget.marketing == pytest.approx(s.budget.marketing * f, rel=1e-12)
    assert small.inherited.service == s.inherited.service  # dollars per customer: unscaled
    for c in s.channel_names:
        assert small.inherited.acquisition[c] == pytest.approx(s.inherited.acquisition[c] * f,
                                                               rel=1e-12)
    for big, little in zip(s.channels, small.channels):
        assert little.name == big.name
        # The same share of the budget buys the same share of the market.
        for share in (0.0, 0.01, 0.1, 0.5, 1.0, 3.0):
            dollars = share * s.budget.marketing
            assert little.expected_acquisitions(dollars * f) == pytest.approx(
                big.expected_acquisitions(dollars) * f, rel=1e-12, abs=1e-12)


def test_with_prospects_refuses_an_empty_pool():
    with pytest.raises(ScenarioError, match=r"coffee: prospects: must be > 0"):
        load_scenario("coffee").with_prospects(0)


# ------------------------------------------------------------------ bad files

def _coffee() -> dict:
    return yaml.safe_load((SCENARIO_DIR / "coffee.yaml").read_text(encoding="utf-8"))


def _set(path: list, value: Any) -> Callable[[dict], None]:
    def mutate(data: dict) -> None:
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return mutate


def _drop(path: list) -> Callable[[dict], None]:
    def mutate(data: dict) -> None:
        node = data
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return mutate


def _churn_instead_of_dropout(data: dict) -> None:
    del data["types"][0]["dropout_rate"]
    data["types"][0]["churn_probability"] = {"a": 1.0, "b": 4.0}


def _duplicate_type_name(data: dict) -> None:
    data["types"][2]["name"] = data["types"][0]["name"]


#: kind -> (a mutation of the coffee YAML, or raw bytes), the message after "coffee.yaml: ".
BAD_CASES: dict[str, tuple[Any, str]] = {
    "missing_field": (_drop(["turns"]), "turns: missing required field"),
    "missing_nested_field": (_drop(["types", 2, "spend"]), "types[2].spend: missing required field"),
    "wrong_type": (_set(["turns"], "twelve"), "turns: must be a whole number"),
    "wrong_type_nested": (_set(["types", 0, "purchase_rate", "rate"], "fast"),
                          "types[0].purchase_rate.rate: must be a number"),
    "negative_rate": (_set(["types", 1, "purchase_rate", "shape"], -1),
                      "types[1].purchase_rate.shape: must be > 0, got -1"),
    "weights_not_summing": (_set(["types", 0, "weight"], 0.5), "types: weights must sum to 1"),
    "unknown_key_top": (_set(["colour"], "red"), "colour: unknown field"),
    "unknown_key_nested": (_set(["types", 1, "spend", "mean"], 3.0),
                           "types[1].spend.mean: unknown field"),
    "not_yaml": (b"a: [1, 2\n", "not valid YAML at line "),
    "empty": (b"", "the file is empty"),
    "list_not_mapping": (b"- coffee\n- tea\n", "must be a mapping, got a list"),
    "profile_not_summing": (_set(["types", 2, "profile", "visit_time"], [0.5, 0.4, 0.4]),
                            "types[2].profile.visit_time: must sum to 1"),
    "unknown_channel": (_set(["types", 3, "channel_affinity", "billboards"], 1.0),
                        "types[3].channel_affinity: unknown name 'billboards'"),
    "churn_not_contractual": (_churn_instead_of_dropout,
                              "types[0].churn_probability: churn_probability needs a contractual"),
    "duplicate_type_name": (_duplicate_type_name, "types[2].name: duplicate type name"),
    "not_utf8": ("name: Caf\u00e9 Noir\n".encode("latin-1"), "not UTF-8 text"),
}
BAD_KINDS = list(BAD_CASES)


def write_bad(kind: str, directory: Path, filename: str = "coffee.yaml") -> Path:
    """Write the bad coffee file of one kind into ``directory``; return its path."""
    change, _ = BAD_CASES[kind]
    path = directory / filename
    if isinstance(change, bytes):
        path.write_bytes(change)
    else:
        data = _coffee()
        change(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def expected_message(kind: str, filename: str = "coffee.yaml") -> str:
    return f"{filename}: {BAD_CASES[kind][1]}"


def test_the_unchanged_coffee_round_trip_is_valid(tmp_path):
    path = tmp_path / "coffee.yaml"
    path.write_text(yaml.safe_dump(_coffee(), sort_keys=False), encoding="utf-8")
    assert load_scenario(path) == load_scenario("coffee")


@pytest.mark.parametrize("kind", BAD_KINDS, ids=BAD_KINDS)
def test_bad_file_names_the_file_and_the_field(kind, tmp_path):
    path = write_bad(kind, tmp_path)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert message.startswith(expected_message(kind)), message
    assert "\n" not in message
    assert "Traceback" not in message


def test_negative_rate_message_is_exactly_as_documented(tmp_path):
    path = write_bad("negative_rate", tmp_path)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == "coffee.yaml: types[1].purchase_rate.shape: must be > 0, got -1"


def test_not_yaml_says_where(tmp_path):
    with pytest.raises(ScenarioError, match=r"^coffee\.yaml: not valid YAML at line 2, column 1"):
        load_scenario(write_bad("not_yaml", tmp_path))


def test_not_utf8_says_which_encoding(tmp_path):
    with pytest.raises(ScenarioError, match=r"^coffee\.yaml: not UTF-8 text \(invalid continuation byte at byte 9\)"):
        load_scenario(write_bad("not_utf8", tmp_path))


def test_unknown_key_lists_the_known_ones(tmp_path):
    with pytest.raises(ScenarioError) as info:
        load_scenario(write_bad("unknown_key_nested", tmp_path))
    assert "(known: gamma, p, q)" in str(info.value)


def test_only_whitespace_and_comments_is_empty(tmp_path):
    path = tmp_path / "coffee.yaml"
    path.write_text("\n# nothing here\n\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"^coffee\.yaml: the file is empty$"):
        load_scenario(path)


def test_missing_file_is_a_scenario_error(tmp_path):
    with pytest.raises(ScenarioError, match=r"no such file and no shipped scenario"):
        load_scenario(tmp_path / "nowhere.yaml")


def test_bad_file_message_uses_the_file_name(tmp_path):
    path = write_bad("negative_rate", tmp_path, filename="my_cafe.yaml")
    with pytest.raises(ScenarioError, match=r"^my_cafe\.yaml: types\[1\]\.purchase_rate\.shape: "):
        load_scenario(path)
