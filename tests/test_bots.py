"""Bot files: ``ccsim run SCENARIO --strategy PATH.py`` (sandboxed) and ``sim.bots.load_bot``.

Every example bot plays every shipped scenario through the CLI (exit 0 also
means it kept within the budget: the engine refuses anything else).  Each
kind of bad bot file, and every mistake a bot can make during a game,
exits 2 with one ``error:`` line naming the file (and the turn, during a
game) and no traceback; nothing a bot prints reaches ``--json`` output.
"""

from __future__ import annotations

import json
import re
import textwrap

import pytest

from conftest import ROOT, SCENARIOS, small, run_cli as cli
from sim import Decision
from sim.bots import BotError, LoadedBot, load_bot
from sim.records import read_record, verify_record
from sim.runner import play_game

EXAMPLES = ROOT / "examples" / "bots"
EXAMPLE_BOTS = sorted(p.name for p in EXAMPLES.glob("*.py"))




def test_the_examples_are_there():
    assert {"rfm_bot.py", "clv_bot.py", "even_bot.py"} <= set(EXAMPLE_BOTS)


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("bot", EXAMPLE_BOTS)
def test_example_bot_plays_every_shipped_scenario(bot, scenario, capsys):
    path = EXAMPLES / bot
    code, out, err = cli(capsys, "run", scenario, "--strategy", path, "--seed", "3",
                         "--prospects", "3000", "--json")
    assert code == 0, err
    assert "Traceback" not in err
    result = json.loads(out)
    assert result["strategy"] == load_bot(path).name
    assert len(result["turns"]) == small(scenario, 3000).turns
    # The bot's game is scored against all five references on the same seed.
    assert set(result["baselines"]) == {"do-nothing", "mass-marketing", "volume",
                                        "customer-centric", "oracle"}


def test_example_bot_table_output(capsys):
    code, out, err = cli(capsys, "run", "coffee", "--strategy", EXAMPLES / "rfm_bot.py",
                         "--prospects", "3000")
    assert code == 0
    assert "firm value" in out
    assert "rfm on seed 1" in err


def test_a_bot_never_gets_the_truth(tmp_path):
    path = tmp_path / "peeker.py"
    path.write_text(textwrap.dedent("""
        from sim import Decision

        class Bot:
            name = "peeker"
            sees_truth = True  # asks for it, does not get it

            def reset(self, scenario, seed):
                self.seen = []

            def decide(self, observation, truth=None):
                self.seen.append(truth)
                return Decision()
    """))
    bot = load_bot(path)
    assert bot.sees_truth is False
    game = play_game(small("coffee", 2000), bot, seed=1).game
    assert game.done
    assert bot._bot.seen == [None] * small("coffee", 2000).turns


def test_each_load_is_a_separate_module(tmp_path):
    # Two files with the same name in different folders must not share state.
    for folder, label in (("a", "first"), ("b", "second")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "bot.py").write_text(
            f"from sim import Decision\nclass Bot:\n    name = {label!r}\n"
            "    def reset(self, scenario, seed): pass\n"
            "    def decide(self, observation, truth=None): return Decision()\n")
    first, second = load_bot(tmp_path / "a" / "bot.py"), load_bot(tmp_path / "b" / "bot.py")
    assert (first.name, second.name) == ("first", "second")
    assert isinstance(first, LoadedBot)


GOOD_CLASS = """
from sim import Decision, Tier

class Bot:
    name = "tester"

    def reset(self, scenario, seed):
        pass

    def decide(self, observation, truth=None):
{decide}
"""

#: name -> (file text, or None for a missing file; expected message pieces after the file name)
BAD_BOTS = {
    "missing file": (None, ["no such bot file"]),
    "syntax error": ("from sim import Decision\n\nclass Bot(\n    name = 'x'\n", ["line 3", "SyntaxError"]),
    "import error": ("import no_such_module_for_ccsim\n", ["cannot import", "no_such_module_for_ccsim",
                                                           "line 1"]),
    "error at load": ("x = 1 / 0\n", ["loading the file raised ZeroDivisionError", "line 1"]),
    "no Bot": ("class Robot:\n    pass\n", ["defines no class Bot"]),
    "Bot is not a class": ("Bot = 3\n", ["defines no class Bot"]),
    "Bot() raises": ("class Bot:\n    def __init__(self):\n        raise RuntimeError('boom')\n",
                     ["Bot() raised RuntimeError: boom", "line 3"]),
    "no decide": ("class Bot:\n    name = 'x'\n    def reset(self, scenario, seed):\n        pass\n",
                  ["Bot has no method decide()"]),
    "no name": (GOOD_CLASS.replace('    name = "tester"\n', "").format(decide="        return Decision()"),
                ["Bot.name must be a non-empty string"]),
    "built-in name": (GOOD_CLASS.replace('"tester"', '"oracle"').format(decide="        return Decision()"),
                      ["Bot.name 'oracle' is the built-in strategy 'oracle''s name"]),
    "built-in name, another case": (GOOD_CLASS.replace('"tester"', '"Customer_Centric"').format(
        decide="        return Decision()"),
        ["Bot.name 'Customer_Centric' is the built-in strategy 'customer-centric''s name "
         "(case and punctuation aside)"]),
    "name property raises": (GOOD_CLASS.replace('    name = "tester"\n', "    @property\n    def name(self):\n"
                                                "        raise LookupError('no name')\n").format(
        decide="        return Decision()"), ["reading Bot.name raised LookupError: no name", "line 7"]),
    "reset raises": (GOOD_CLASS.replace("        pass", "        raise ValueError('no reset')").format(
        decide="        return Decision()"), ["reset() raised ValueError: no reset"]),
    "decide raises at turn 3": (GOOD_CLASS.format(decide=(
        "        if observation.turn == 3:\n"
        "            return {}['x']\n"
        "        return Decision()")), ["turn 3: decide() raised KeyError: 'x' (mybot.py line 12)"]),
    "decide returns a dict": (GOOD_CLASS.format(decide="        return {'acquisition': {}}"),
                              ["turn 1: decide() returned dict, not a sim.Decision",
                               "Decision.from_dict"]),
    "decide returns None": (GOOD_CLASS.format(decide="        pass"),
                            ["turn 1: decide() returned NoneType, not a sim.Decision"]),
    # Issue 21, item 7: the mistakes that were "internal error", tracebacks or a silent exit 0.
    "Decision(None)": (GOOD_CLASS.format(decide="        return Decision(None)"),
                       ["turn 1: decide() returned a Decision whose acquisition is NoneType, not a "
                        "mapping of channel names to dollars"]),
    "Decision([...])": (GOOD_CLASS.format(decide="        return Decision([Tier('t', 'all', 1.0)])"),
                        ["turn 1: decide() returned a Decision whose acquisition is list"]),
    "tiers=None": (GOOD_CLASS.format(decide="        return Decision({}, None)"),
                   ["turn 1: decide() returned a Decision whose tiers are NoneType, not a tuple"]),
    "tiers as a generator": (GOOD_CLASS.format(
        decide="        return Decision({}, (Tier('t', 'all', 1.0) for _ in range(2)))"),
        ["turn 1: decide() returned a Decision whose tiers are generator"]),
    "a tier that is not a Tier": (GOOD_CLASS.format(decide="        return Decision({}, ('all',))"),
                                  ["turn 1: decide() returned a Decision whose tiers[0] is str"]),
    "scores=None": (GOOD_CLASS.format(decide="        return Decision({}, (), None)"),
                    ["turn 1: decide() returned a Decision whose scores are NoneType"]),
    "Tier(None, ...)": (GOOD_CLASS.format(decide="        return Decision({}, (Tier(None, 'all', 1.0),))"),
                        ["turn 1: invalid decision: decision.tiers[0].name: must be text, got None"]),
    "numpy integer in a rule": (GOOD_CLASS.format(decide=(
        "        import numpy as np\n"
        "        return Decision({}, (Tier('t', {'field': 'age', 'op': '>', 'value': np.int64(1)}, 1.0),))")),
        ["turn 1: decide() returned a Decision that is not plain data"]),
    "raises BaseException": (GOOD_CLASS.format(decide="        raise BaseException('base')"),
                             ["turn 1: decide() raised BaseException: base (mybot.py line 11)"]),
    "raises GeneratorExit": (GOOD_CLASS.format(decide="        raise GeneratorExit"),
                             ["turn 1: decide() raised GeneratorExit (mybot.py line 11)"]),
    "raises SystemExit": (GOOD_CLASS.format(decide="        raise SystemExit(0)"),
                          ["turn 1: decide() raised SystemExit: 0 (mybot.py line 11)"]),
    "raises KeyboardInterrupt": (GOOD_CLASS.format(decide="        raise KeyboardInterrupt"),
                                 ["turn 1: decide() raised KeyboardInterrupt (mybot.py line 11)"]),
    "closes stdout and prints": (GOOD_CLASS.format(decide=(
        "        import sys\n"
        "        sys.stdout.close()\n"
        "        print('hello')\n"
        "        return Decision()")), ["turn 1: decide() raised ValueError: I/O operation on closed file"]),
    "os._exit(0)": (GOOD_CLASS.format(decide="        import os\n        os._exit(0)"),
                    ["turn 1: its process ended (exit status 0) instead of answering"]),
    "decision over budget at turn 2": (GOOD_CLASS.format(decide=(
        "        spend = 1e12 if observation.turn == 2 else 0.0\n"
        "        return Decision({observation.scenario.channels[0].name: spend})")),
        ["turn 2: decision refused: acquisition: total", "over the budget"]),
    "unknown field": (GOOD_CLASS.format(decide=(
        "        from sim import Tier\n"
        "        return Decision(tiers=(Tier('t', {'field': 'shoe_size', 'op': '>', 'value': 1}, 1.0),))")),
        ["turn 1: decision refused:", "shoe_size"]),
}


@pytest.mark.parametrize("kind", list(BAD_BOTS))
def test_bad_bot_file_exits_2_naming_file_and_turn(kind, tmp_path, capsys):
    text, pieces = BAD_BOTS[kind]
    path = tmp_path / "mybot.py"
    if text is not None:
        path.write_text(text)
    code, out, err = cli(capsys, "run", "coffee", "--strategy", path, "--prospects", "2000")
    assert code == 2
    assert "Traceback" not in out + err
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: {path}: ")
    for piece in pieces:
        assert piece in lines[0]


def test_a_bots_prints_never_reach_json_output(tmp_path, capsys):
    path = tmp_path / "chatty.py"
    path.write_text(GOOD_CLASS.format(decide=(
        "        print('{\\\"not\\\": \\\"the result\\\"}', observation.turn)\n"
        "        return Decision()")))
    code, out, err = cli(capsys, "run", "coffee", "--strategy", path, "--prospects", "2000", "--json")
    assert code == 0, err
    assert json.loads(out)["strategy"] == "tester"
    assert '{"not": "the result"} 1' in err and "the result" not in out


def test_a_decision_the_sandbox_accepts_replays_from_its_record(tmp_path, capsys):
    path = tmp_path / "loose.py"
    path.write_text(GOOD_CLASS.format(decide=(
        "        import numpy as np\n"
        "        channel = observation.scenario.channels[0].name\n"
        "        rule = {'all': ({'field': 'channel', 'op': 'in', 'value': (channel,)},\n"
        "                        {'field': 'age', 'op': '>=', 'value': np.float64(1.0)})}\n"
        "        return Decision({channel: np.float32(100.0)}, [Tier('t', rule, 1)],\n"
        "                        {'unused': [0.0] * observation.n_customers})")))
    record = tmp_path / "loose.json"
    code, out, err = cli(capsys, "run", "coffee", "--strategy", path, "--prospects", "2000",
                         "--record", record)
    assert code == 0, err
    assert verify_record(read_record(record)) == []


def test_a_bot_imports_a_module_beside_it(tmp_path, capsys):
    from sim.tournament import Markets, Settings, run_tournament
    from sim.scenario import load_scenario

    (tmp_path / "helpers.py").write_text("SHARE = 0.25\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("from .inner import LEVEL\n")
    (tmp_path / "pkg" / "inner.py").write_text("LEVEL = 1.0\n")
    path = tmp_path / "helped.py"
    path.write_text(GOOD_CLASS.format(decide=(
        "        import helpers, pkg\n"
        "        c = observation.scenario.channels[0]\n"
        "        budget = observation.scenario.budget.marketing\n"
        "        return Decision({c.name: helpers.SHARE * budget}, (Tier('t', 'all', pkg.LEVEL * 0),))")))
    code, out, err = cli(capsys, "run", "coffee", "--strategy", path, "--prospects", "2000", "--json")
    assert code == 0, err
    value = json.loads(out)["firm_value"]
    result = run_tournament([path], Markets.public([1]), tmp_path / "out",
                            Settings(load_scenario("coffee").with_prospects(2000)), workers=1,
                            progress=False)
    assert {s.entry: s for s in result.standings}["helped"].values == {1: value}


def test_a_bot_in_a_huge_folder_is_refused_up_front(tmp_path, capsys):
    from sim.tournament.botfiles import MAX_FOLDER_BYTES

    path = tmp_path / "bot.py"
    path.write_text(GOOD_CLASS.format(decide="        return Decision()"))
    (tmp_path / "data.bin").write_bytes(b"\0" * (MAX_FOLDER_BYTES + 1))
    code, out, err = cli(capsys, "run", "coffee", "--strategy", path, "--prospects", "2000")
    assert code == 2
    assert err.strip().endswith("MB; a bot is played from a copy of its folder: put the bot (and "
                                "the modules it imports) in a folder of their own")


def test_bad_bot_raises_bot_error_a_value_error(tmp_path):
    path = tmp_path / "mybot.py"
    path.write_text("class Robot:\n    pass\n")
    with pytest.raises(BotError, match=re.escape(f"{path}: defines no class Bot")):
        load_bot(path)
    assert issubclass(BotError, ValueError)


def test_readme_bot_example_is_the_rfm_example():
    # Golden docs: the README's "Writing a bot" example is examples/bots/rfm_bot.py
    # verbatim, and that file is played by the tests above.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Writing a bot", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert code == (EXAMPLES / "rfm_bot.py").read_text(encoding="utf-8")
    assert 25 <= len(code.splitlines()) <= 45


def test_decision_class_is_the_public_one():
    # The adapter checks against the class bots import from ``sim``.
    import sim

    assert sim.Decision is Decision


def test_a_bot_file_plays_and_its_record_verifies(tmp_path, capsys):
    record = tmp_path / "clv.json"
    code, out, err = cli(capsys, "run", "direct_seller", "--strategy", EXAMPLES / "clv_bot.py",
                         "--seed", 6, "--prospects", 3000, "--record", record)
    assert code == 0, err
    game = read_record(record)
    assert game.strategy == load_bot(EXAMPLES / "clv_bot.py").name
    assert verify_record(game) == []
    code, out, err = cli(capsys, "replay", record)
    assert code == 0 and out.startswith("verified"), out + err
