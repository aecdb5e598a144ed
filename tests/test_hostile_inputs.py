"""Hostile input (issue 14): never a traceback, a hang, a memory blow-up or a wrong answer.

One table per way in: scenario YAML (through ``ccsim validate`` and
``load_scenario``), command-line arguments, decisions through the Python API
and CSV files through ``ccsim fit``.  Each row is a bad input, the exit
status or exception it must give, and a fragment naming the field, line or
option at fault.  Then a hypothesis suite throws random CSV text at ``fit``.
"""

from __future__ import annotations

import json
import math
import re
import stat
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import limits
from sim.decisions import Decision, DecisionError, Tier, assign_tiers
from sim.errors import DataError, SimError
from conftest import SCENARIO_DIR, run_cli as cli
from sim.scenario import ScenarioError, load_scenario

COFFEE = (SCENARIO_DIR / "coffee.yaml").read_text(encoding="utf-8")




def _replace(old: str, new: str):
    def change(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)
    return change


def _field(key: str, value: str):
    """Set the first ``key:`` line of the file (whatever its value now) to ``value``."""
    pattern = re.compile(rf"^(\s*(?:- )?{re.escape(key)}: )[^\n]*$", re.MULTILINE)

    def change(text: str) -> str:
        assert pattern.search(text), key
        return pattern.sub(lambda m: m.group(1) + value, text, count=1)
    return change


#: The line of coffee.yaml's top-level ``turns:`` (duplicate-key messages name it).
TURNS_LINE = COFFEE[:COFFEE.index("\nturns:") + 1].count("\n") + 1


def _append(extra: str):
    return lambda text: text + extra


def _more_channels(n: int):
    channels = "".join(f"  - name: extra{i}\n    ceiling: 100\n    efficiency: 0.0001\n"
                       for i in range(n))
    return _replace("channels:\n", "channels:\n" + channels)


def _more_tag_values(n: int):
    return _replace("values: [morning, midday, evening]",
                    "values: [" + ", ".join(f"v{i}" for i in range(n)) + "]")


#: case -> (change to coffee.yaml's text, fragment of the one-line error after "coffee.yaml: ").
SCENARIO_CASES = {
    "duplicate key": (_field("turns", "12\nturns: 3"),
                      f"duplicate key 'turns' (first at line {TURNS_LINE})"),
    "400-digit integer": (_field("prospects", "9" * 400),
                          "prospects: must be <= 5000000, got a number of 400 digits"),
    "5000-digit integer": (_field("prospects", "9" * 5000),
                           "not valid YAML"),
    "deep nesting": (_append("deep: " + "[" * 100_000 + "]" * 100_000 + "\n"),
                     "nested deeper than 32 levels"),
    "huge list": (_append("many: [" + ", ".join(["1"] * 250_000) + "]\n"),
                  "more than 200,000 entries"),
    "unsafe tag": (_field("turns", "!!python/object/apply:os.system [ls]"),
                   "python/object/apply:os.system' is not allowed"),
    "prospects 1e12": (_field("prospects", "1e12"),
                       "prospects: must be a whole number"),
    "prospects 1e9 as integer": (_field("prospects", "1000000000"),
                                 "prospects: must be <= 5000000"),
    "turns 1e9": (_field("turns", "1000000000"), "turns: must be <= 60"),
    "warm-up 1e9": (_field("warmup_turns", "1000000000"),
                    "warmup_turns: must be <= 24"),
    "too many channels": (_more_channels(130), "channels: at most 20 entries, got 134"),
    "ceiling 1e300": (_field("ceiling", "1e300"),
                      "channels[0].ceiling: must be <= 5e+06"),
    "tag with 129 values": (_more_tag_values(129), "profile[1].values: at most 32 values"),
    "half saturation 1e-300": (_field("half_saturation", "1e-300"),
                               "service.half_saturation: must be >= 0.01"),
    "hill 1e308": (_field("hill", "1e308"), "service.hill: must be <= 8"),
    "purchase rate's rate 1e-300": (
        _field("purchase_rate", "{shape: 3.0, rate: 1e-300}"),
        "types[0].purchase_rate.rate: must be >= 0.0001"),
    "spend scale 1e300": (_field("spend", "{p: 6.0, q: 5.0, gamma: 1e300}"),
                          "types[0].spend.gamma: must be <= 1e+07"),
    "mean purchase rate 1e6 a turn": (
        _field("purchase_rate", "{shape: 100, rate: 0.0001}"),
        "types[0].purchase_rate: mean purchase rate"),
    "huge service response": (_field("service_response", "1000000"),
                              "types[0].service_response: must be <= 5"),
    "busiest customer": (
        _field("purchase_rate", "{shape: 0.05, rate: 0.001}"),
        "types[0].purchase_rate: busiest customer"),
    "not a number": (_field("hill", ".nan"), "service.hill: must be a finite number"),
    "infinity": (_field("g_max", ".inf"), "service.g_max: must be a finite number"),
    "yes as a boolean": (_field("turns", "12\ncontractual: yes"),
                         "contractual: must be true or false, got text 'yes'"),
    "zero discount rate": (_replace("discount_rate: 0.025", "discount_rate: 0"),
                           "discount_rate: must be >= 0.0001"),
    "too many types": (
        lambda text: text + "".join(
            text[text.index("  - name: laptop campers"):].replace("laptop campers", f"copy {i}")
            for i in range(20)),
        "types: at most 20 entries"),
}


@pytest.mark.parametrize("case", list(SCENARIO_CASES), ids=list(SCENARIO_CASES))
def test_bad_scenario_is_refused_by_validate_and_load(case, tmp_path, capsys):
    change, fragment = SCENARIO_CASES[case]
    path = tmp_path / "coffee.yaml"
    path.write_text(change(COFFEE), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value).startswith("coffee.yaml: ") and fragment in str(info.value)
    code, out, err = cli(capsys, "validate", path)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and fragment in err, err


def test_yes_no_tag_values_are_the_words_and_4e_5_is_a_number(tmp_path):
    path = tmp_path / "coffee.yaml"
    text = COFFEE.replace("values: [morning, midday, evening]", "values: [yes, no, off]")
    path.write_text(_field("efficiency", "4e-5")(text), encoding="utf-8")
    scenario = load_scenario(path)
    assert scenario.profile[1].values == ("yes", "no", "off")
    assert scenario.channels[0].efficiency == 4e-5


def test_a_game_too_big_for_memory_is_refused_saying_how_much_it_needs(monkeypatch, tmp_path):
    monkeypatch.setattr(limits, "available_memory_bytes", lambda: 1_000_000_000)
    coffee = load_scenario("coffee")  # 200,000 prospects: fits in 1 GB
    with pytest.raises(ScenarioError, match=r"coffee: prospects: a game of 5,000,000 prospects "
                                            r"and 16 turn columns needs about \d+\.\d GB"):
        coffee.with_prospects(5_000_000)
    path = tmp_path / "big.yaml"
    path.write_text(COFFEE.replace("prospects: 200000", "prospects: 5000000"), encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"^big\.yaml: prospects: .* needs about .* GB"):
        load_scenario(path)


def test_the_memory_estimate_covers_a_measured_game():
    # Measured peak for coffee (16 turn columns): ~600 bytes per prospect.
    assert limits.game_memory_bytes(200_000, 16, 2, 3) >= 1.3 * 600 * 200_000


@pytest.mark.parametrize("prospects, fragment", [
    (10 ** 19, "prospects: must be <= 5000000"), (0, "must be > 0"), (2.5, "whole number"),
    (True, "whole number")], ids=["huge", "zero", "fraction", "boolean"])
def test_with_prospects_refuses_absurd_sizes(prospects, fragment):
    with pytest.raises(ScenarioError, match=fragment):
        load_scenario("coffee").with_prospects(prospects)


# ------------------------------------------------------------------ command-line arguments

CLI_CASES = {
    "prospects 2^63": (["run", "coffee", "--prospects", "9223372036854775808"],
                       "--prospects must be at most 5,000,000"),
    "prospects 1e9": (["run", "coffee", "--prospects", "1000000000"],
                      "--prospects must be at most 5,000,000"),
    "prospects with underscore": (["run", "coffee", "--prospects", "1_000"],
                                  "--prospects must be a whole number"),
    "prospects in Arabic digits": (["run", "coffee", "--prospects", "٣٠٠٠"],
                                   "--prospects must be a whole number"),
    "prospects of a million digits": (["run", "coffee", "--prospects", "9" * 1_000_000],
                                      "--prospects must be a whole number"),
    "negative seed": (["run", "coffee", "--seed", "-1"], "--seed must be >= 0"),
    "seed 2^64": (["run", "coffee", "--seed", str(2 ** 64)], "--seed must be at most"),
    "unknown scenario": (["run", "nowhere"], "no such file and no shipped scenario"),
    "sbg horizon 1e9": (["fit", "SBG", "--model", "sbg", "--predict", "OUT", "--horizon", "1e9"],
                        "--horizon must be at most 1,000 for sbg"),
    "bgbb horizon 1e16": (["fit", "BGBB", "--model", "bgbb", "--predict", "OUT", "--horizon",
                           "1e16"], "--horizon must be at most 10,000 for bgbb"),
    "horizon nan": (["fit", "BGBB", "--model", "bgbb", "--predict", "OUT", "--horizon", "nan"],
                    "--horizon must be a plain decimal number"),
}


@pytest.mark.parametrize("case", list(CLI_CASES), ids=list(CLI_CASES))
def test_bad_arguments_exit_2_naming_the_option(case, tmp_path, capsys):
    argv, fragment = CLI_CASES[case]
    files = {"SBG": tmp_path / "sbg.csv", "BGBB": tmp_path / "bgbb.csv", "OUT": tmp_path / "out.csv"}
    files["SBG"].write_text("period,survivors\n0,1000\n1,631\n2,468\n")
    files["BGBB"].write_text(BGBB_SUMMARY)
    code, out, err = cli(capsys, *[files.get(arg, arg) for arg in argv])
    assert code == 2 and out == ""
    assert fragment in err, err
    assert not files["OUT"].exists()


# ------------------------------------------------------------------ decisions through the API

def _deep_rule(depth: int):
    rule = "all"
    for _ in range(depth):
        rule = {"not": rule}
    return rule


DECISION_CASES = {
    "not a mapping": ([1, 2], "decision: must be a mapping"),
    "huge int dollars": ({"acquisition": {"office_cards": 10 ** 400}},
                         "decision.acquisition.office_cards: must be a number of dollars, "
                         "got a number out of range"),
    "array of dollars": ({"acquisition": {"office_cards": np.array([1.0, 2.0])}},
                         "got an array of shape (2,)"),
    "nan dollars": ({"acquisition": {"office_cards": math.nan}}, "must be a number of dollars"),
    "channel name not text": ({"acquisition": {3: 10.0}}, "channel names must be text"),
    "rule nested 100,000 deep": ({"tiers": [{"rule": _deep_rule(100_000)}]},
                                 "rules nest deeper than 32 levels"),
    "rule holding an array": ({"tiers": [{"rule": {"field": "monetary", "op": ">",
                                                   "value": np.array([1, 2])}}]},
                              "decision.tiers[0].rule.value: must be plain data"),
    "huge int service": ({"tiers": [{"service": 10 ** 400}]},
                         "decision.tiers[0].service: must be dollars per customer"),
    "infinite service": ({"tiers": [{"service": math.inf}]}, "decision.tiers[0].service"),
    "tier name not text": ({"tiers": [{"name": ["vip"]}]}, "decision.tiers[0].name: must be text"),
    "too many tiers": ({"tiers": [{"name": "t"}] * 40_000}, "decision.tiers: at most 100 tiers"),
    "scores with huge ints": ({"scores": {"clv": [10 ** 400]}},
                              "decision.scores.clv: must be a list of numbers"),
    "scores with infinity": ({"scores": {"clv": [1.0, math.inf]}},
                             "decision.scores.clv: must be finite numbers"),
    "scores as a table": ({"scores": {"clv": [[1.0, 2.0]]}},
                          "decision.scores.clv: must have one value per customer"),
}


@pytest.mark.parametrize("case", list(DECISION_CASES), ids=list(DECISION_CASES))
def test_malformed_decision_raises_decision_error(case):
    data, fragment = DECISION_CASES[case]
    with pytest.raises(DecisionError) as info:
        Decision.from_dict(data)
    assert isinstance(info.value, SimError)
    assert fragment in str(info.value), str(info.value)


COLUMNS = {"monetary": np.arange(5.0)}

BUILT_CASES = {
    "array as a rule": (Tier("t", np.array([True, False]), 1.0), "must be plain data"),
    "deep rule built directly": (Tier("t", _deep_rule(50_000), 1.0), "nest deeper than 32"),
    "huge int in a comparison": (Tier("t", {"field": "monetary", "op": ">", "value": 10 ** 400}, 1.0),
                                 "tiers[0].rule.value: must be a number"),
    "huge int in a list": (Tier("t", {"field": "monetary", "op": "in", "value": [10 ** 400]}, 1.0),
                           "tiers[0].rule.value: must be a list of numbers"),
    "array service": (Tier("t", "all", np.ones(5)), "tiers[0].service"),
}


@pytest.mark.parametrize("case", list(BUILT_CASES), ids=list(BUILT_CASES))
def test_decision_objects_built_directly_are_checked_too(case):
    tier, fragment = BUILT_CASES[case]
    with pytest.raises(DecisionError, match=None) as info:
        assign_tiers(Decision(tiers=(tier,)), COLUMNS, {}, budget=1e9)
    assert fragment in str(info.value), str(info.value)


# ------------------------------------------------------------------ CSV files through fit

BGBB_SUMMARY = ("frequency,recency,periods\n" + "\n".join(
    f"{x},{t},6" for x, t in [(1, 1), (2, 3), (0, 0), (3, 5), (1, 2), (0, 0), (4, 6), (2, 6),
                              (1, 4), (0, 0), (5, 6)]) + "\n")
GOOD_ROWS = "".join(f"{x},{t},40\n" for x, t in [(1, 5), (2, 30), (0, 0), (3, 38), (1, 12),
                                                 (0, 0), (4, 39), (2, 20), (1, 30), (0, 0)])

#: case -> (model, CSV text, extra arguments, exit status, fragment of stderr).
FIT_CASES = {
    "underscore digits": ("bgnbd", "frequency,recency,T\n1_0,3,40\n" + GOOD_ROWS, [], 2,
                          "line 2, column frequency: '1_0' is not a plain decimal"),
    "Arabic-Indic digit": ("bgnbd", "frequency,recency,T\n٣,3,40\n" + GOOD_ROWS, [], 2,
                           "line 2, column frequency: '٣' is not a plain decimal"),
    "inf": ("bgnbd", "frequency,recency,T\n" + GOOD_ROWS + "1,inf,40\n", [], 2,
            "line 12, column recency: 'inf' is not a plain decimal"),
    "nan": ("pareto_nbd", "frequency,recency,T\n1,2,nan\n" + GOOD_ROWS, [], 2,
            "line 2, column T: 'nan' is not a plain decimal"),
    "value 1e300": ("bgnbd", "frequency,recency,T\n1,2,1e300\n" + GOOD_ROWS, [], 2,
                    "line 2, column T: 1e300 is too large"),
    "spend 1e300": ("gamma_gamma", "frequency,monetary_value\n" + "2,10\n" * 10 + "1,1e300\n", [],
                    2, "line 12, column monetary_value: 1e300 is too large"),
    "weight 1e12": ("bgnbd", "frequency,recency,T,weights\n1,2,40,1e12\n" + GOOD_ROWS.replace(
        ",40\n", ",40,1\n"), [], 2, "line 2, column weights"),
    "weight 1e300": ("gamma_gamma", "frequency,monetary_value,weights\n2,10,1e300\n", [], 2,
                     "line 2, column weights"),
    "weights adding up to 1e8": ("gamma_gamma", "frequency,monetary_value,weights\n"
                                 + "2,10,1000000\n" * 100, [], 2, "weights add up to"),
    "duplicate customer ids": ("bgnbd", "ID,frequency,recency,T\n1,1,2,40\n2,0,0,40\n1,2,3,40\n",
                               [], 2, "line 4, column ID: customer id '1' appears again "
                                      "(first on line 2)"),
    "one customer": ("bgnbd", "frequency,recency,T\n1,2,3\n", [], 2,
                     "only 1 customer; bgnbd needs at least 10"),
    "no repeat buyers": ("bgnbd", "frequency,recency,T\n" + "0,0,40\n" * 20, [], 2,
                         "frequency is zero for every customer"),
    "one repeat buyer for spend": ("gamma_gamma", "frequency,monetary_value\n2,10\n0,0\n", [], 2,
                                   "only 1 repeat buyer(s)"),
    "three-customer log": ("bgnbd", "customer_id,time\na,0\na,1\nb,0\nc,2\nc,3\n",
                           ["--predict", "OUT", "--horizon", "5"], 1, "fit failed: "),
    "observation end with underscore": ("bgnbd", "customer_id,time\na,0\na,1\nb,0\n",
                                        ["--observation-end", "1_0"], 2,
                                        "--observation-end '1_0' must be a number"),
}


@pytest.mark.parametrize("case", list(FIT_CASES), ids=list(FIT_CASES))
def test_bad_csv_is_refused_naming_line_and_column(case, tmp_path, capsys):
    model, text, extra, status, fragment = FIT_CASES[case]
    path = tmp_path / "input.csv"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out.csv"
    code, stdout, err = cli(capsys, "fit", path, "--model", model,
                            *[out if arg == "OUT" else arg for arg in extra])
    assert code == status, err
    assert fragment in err, err
    assert not out.exists()


def test_few_customers_are_fitted_with_a_warning_not_a_plain_converged(tmp_path, capsys):
    path = tmp_path / "few.csv"
    path.write_text("frequency,recency,T\n" + "".join(GOOD_ROWS.splitlines(True)[:6]))
    code, out, err = cli(capsys, "fit", path, "--model", "bgnbd")
    assert code in (0, 1)
    assert "only 6 customers: fewer than 10" in out
    assert "converged       yes\n" not in out


@pytest.mark.parametrize("where", ["file", "folder"])
def test_predict_over_a_read_only_output_is_refused_and_keeps_it(where, tmp_path, capsys):
    source = tmp_path / "bgbb.csv"
    source.write_text(BGBB_SUMMARY)
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "predictions.csv"
    out.write_text("keep me\n")
    target = out if where == "file" else folder
    target.chmod(stat.S_IRUSR | stat.S_IRGRP | (stat.S_IXUSR if where == "folder" else 0))
    try:
        code, stdout, err = cli(capsys, "fit", source, "--model", "bgbb", "--predict", out,
                                "--horizon", "5")
    finally:
        folder.chmod(0o755)
        out.chmod(0o644)
    assert code == 2 and stdout == ""
    assert ("read-only" if where == "file" else "cannot write in the folder") in err
    assert out.read_text() == "keep me\n"
    assert sorted(p.name for p in folder.iterdir()) == ["predictions.csv"]


# ------------------------------------------------------------------ strict JSON, internal errors

def _strict(text: str) -> dict:
    def refuse(constant):
        raise AssertionError(f"non-strict JSON constant {constant}")
    return json.loads(text, parse_constant=refuse)


def test_run_json_is_strict_with_null_and_a_reason(monkeypatch, capsys):
    import sim.runner

    monkeypatch.setattr(sim.runner, "centricity_score", lambda *args: float("nan"))
    code, out, err = cli(capsys, "run", "coffee", "--prospects", "500", "--json")
    assert code == 0
    report = _strict(out)
    assert report["centricity_score"] is None
    assert "oracle did not beat mass-marketing" in report["nulls"]["$.centricity_score"]


def test_an_internal_error_is_one_line_and_a_file(monkeypatch, capsys):
    import sim.cli

    def broken(args):
        raise RuntimeError("boom")

    monkeypatch.setattr(sim.cli, "_cmd_scenarios", broken)
    code, out, err = cli(capsys, "scenarios")
    assert code == 3 and out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("internal error: RuntimeError: boom; details "
                                                   "written to ")
    details = Path(lines[0].rsplit("written to ", 1)[1])
    try:
        assert "Traceback" in details.read_text() and "boom" in details.read_text()
    finally:
        details.unlink()


def test_help_documents_the_exit_statuses(capsys):
    code, out, _ = cli(capsys, "--help")
    assert code == 0
    for line in ("0    success", "1    a failed verification or a failed fit", "2    bad input",
                 "3    an internal error"):
        assert line in out


def test_every_bad_input_error_is_a_sim_error():
    from sim.analytics.fit_command import FitUsageError

    for error in (ScenarioError, DecisionError, DataError, FitUsageError):
        assert issubclass(error, SimError) and issubclass(error, ValueError)


# ------------------------------------------------------------------ random CSV text

_CELLS = st.one_of(
    st.integers(-5, 60).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", " ", "1_0", "٣", "inf", "nan", "-0", "1e308", "1e-320", "0x10", "1e",
                     ".", "+", "2024-01-01", "a", "\"", "1,5", "３"]),
    st.text(max_size=4))


@st.composite
def csv_text(draw) -> tuple[str, str]:
    model = draw(st.sampled_from(["bgnbd", "pareto_nbd", "gamma_gamma", "bgbb", "sbg"]))
    header = {"bgnbd": "id,frequency,recency,T", "pareto_nbd": "frequency,recency,T,weights",
              "gamma_gamma": "frequency,monetary_value", "bgbb": "frequency,recency,periods",
              "sbg": "period,survivors"}[model]
    if draw(st.booleans()):
        header = "customer_id,time,amount"
    width = header.count(",") + 1
    rows = draw(st.lists(st.lists(_CELLS, min_size=width - 1, max_size=width + 1),
                         min_size=0, max_size=15))
    return model, header + "\n" + "\n".join(",".join(row) for row in rows) + "\n"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(case=csv_text())
def test_random_csv_never_gives_a_traceback_or_nan(case, tmp_path_factory, capsys):
    model, text = case
    folder = tmp_path_factory.mktemp("csv")
    path = folder / "input.csv"
    path.write_text(text, encoding="utf-8")
    out = folder / "out.csv"
    extra = [] if model == "gamma_gamma" else ["--horizon", "3"]
    code, stdout, err = cli(capsys, "fit", path, "--model", model, "--json", "--predict", out,
                            *extra)
    assert code in (0, 1, 2), err
    if code == 2:
        assert err.startswith("error: input.csv: ") or err.startswith("error: --"), err
        assert not out.exists()
    if stdout:
        _strict(stdout)
    if code == 0 and out.exists():
        for line in out.read_text().splitlines()[1:]:
            assert "nan" not in line.lower() and "inf" not in line.lower(), line
