"""Score columns: reduced to what the rules use (same tiers), stored compactly and exactly."""

from __future__ import annotations

import numpy as np
import pytest

from sim.decisions import DISENGAGE, Decision, Tier, assign_tiers
from sim.score_columns import decode_column, encode_column, essential_scores

N = 5000


def _columns(rng):
    base = {"frequency": rng.integers(0, 9, N).astype(float), "monetary": rng.gamma(2, 10, N)}
    clv = rng.normal(50, 80, N)
    clv[rng.random(N) < 0.05] = np.nan
    clv[:20] = 120.0  # ties exactly on a rule's constant
    scores = {"clv": clv, "p_alive": rng.random(N), "unused": rng.random(N),
              "segment": rng.integers(0, 5, N).astype(float)}
    return base, scores


def _tiers(rng):
    def comparison(field):
        op = rng.choice(["<", "<=", ">", ">=", "==", "!="])
        value = 120.0 if rng.random() < 0.3 else float(np.round(rng.normal(50, 80), 1))
        if field == "segment":
            return {"field": "segment", "op": str(rng.choice(["in", "not in"])),
                    "value": [float(v) for v in rng.choice(5, 2, replace=False)]}
        if field == "p_alive":
            value = float(np.round(rng.random(), 2))
        return {"field": field, "op": str(op), "value": value}

    def rule(depth=0):
        kind = rng.integers(0, 4 if depth < 2 else 1)
        if kind == 0:
            return comparison(str(rng.choice(["clv", "p_alive", "segment", "frequency"])))
        if kind == 1:
            return {"all": [rule(depth + 1), rule(depth + 1)]}
        if kind == 2:
            return {"any": [rule(depth + 1), rule(depth + 1)]}
        return {"not": rule(depth + 1)}

    return tuple(Tier(f"t{i}", rule(), DISENGAGE if i == 0 else 1.0) for i in range(4))


@pytest.mark.parametrize("seed", range(40))
def test_reduced_scores_assign_the_same_tiers(seed):
    rng = np.random.default_rng(seed)
    base, scores = _columns(rng)
    decision = Decision({}, _tiers(rng), scores)
    reduced = essential_scores(decision, N, set(base))
    before = assign_tiers(decision, base, {}, float("inf"))
    after = assign_tiers(reduced, base, {}, float("inf"))
    assert np.array_equal(before.tier, after.tier)
    assert np.array_equal(before.disengaged, after.disengaged)
    assert "unused" not in reduced.scores
    for name, column in reduced.scores.items():
        # A column compared with k constants keeps at most 2k + 2 distinct values (NaN one of them).
        distinct = np.unique(column[~np.isnan(column)]).size + bool(np.isnan(column).any())
        assert distinct <= 2 * 8 + 2, name


def test_a_ranked_column_is_kept_whole():
    rng = np.random.default_rng(1)
    base, scores = _columns(rng)
    tiers = (Tier("vip", {"all": [{"top": 0.1, "by": "clv"}, {"field": "clv", "op": ">", "value": 0}]},
                  5.0),)
    reduced = essential_scores(Decision({}, tiers, scores), N, set(base))
    assert set(reduced.scores) == {"clv"}
    assert np.array_equal(reduced.scores["clv"], scores["clv"], equal_nan=True)


@pytest.mark.parametrize("change", ["short", "clash", "text"])
def test_malformed_scores_are_left_for_the_engine_to_refuse(change):
    rng = np.random.default_rng(2)
    base, scores = _columns(rng)
    if change == "short":
        scores["clv"] = scores["clv"][:-1]
    elif change == "clash":
        scores["frequency"] = scores["clv"]
    else:
        scores["clv"] = ["high"] * N
    decision = Decision({}, (Tier("a", {"field": "clv", "op": ">", "value": 0}, 1.0),), scores)
    assert essential_scores(decision, N, set(base)) is decision


@pytest.mark.parametrize("values", [
    np.array([]),
    np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 5e-324, 1.7976931348623157e308]),
    np.repeat([1.5, 2.5, 3.5], 1000),
    np.arange(300, dtype=float),
    np.random.default_rng(3).normal(size=70_000),
], ids=["empty", "special", "few", "u2-codes", "raw"])
def test_encoding_is_lossless_bit_for_bit(values):
    encoded = encode_column(values)
    decoded = decode_column(encoded)
    assert decoded.view(np.uint64).tolist() == np.asarray(values, dtype=float).view(np.uint64).tolist()


def test_a_few_distinct_values_take_a_few_bytes():
    values = np.where(np.random.default_rng(4).random(100_000) < 0.1, 250.0, -3.0)
    encoded = encode_column(values)
    assert encoded["codes"] == "<u1"
    assert len(encoded["data"]) < 20_000  # 800 kB of float64


@pytest.mark.parametrize("encoded, message", [
    ("abc", "must have n, codes, table and data"),
    ({"n": -1, "codes": None, "table": None, "data": ""}, "n must be a whole number"),
    ({"n": 3, "codes": None, "table": None, "data": "!!!"}, "undecodable"),
    ({"n": 3, "codes": "<f4", "table": "", "data": "eJwDAAAAAAE="}, "unknown code type"),
], ids=["not-a-mapping", "negative-n", "not-base64", "code-type"])
def test_decoding_refuses_malformed_columns(encoded, message):
    with pytest.raises(ValueError, match=message):
        decode_column(encoded)


def test_decoding_refuses_a_wrong_count_and_out_of_table_codes():
    encoded = encode_column(np.array([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="holds 3 values, expected 4"):
        decode_column({**encoded, "n": 4})
    one = encode_column(np.array([7.0, 7.0, 7.0]))
    with pytest.raises(ValueError, match="past the table"):
        decode_column({**encoded, "table": one["table"]})
