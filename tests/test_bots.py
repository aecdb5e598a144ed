"""Bot files: ``ccsim run SCENARIO --strategy PATH.py`` and ``sim.bots.load_bot``.

Every example bot plays every shipped scenario through the CLI (exit 0 also
means it kept within the budget: the engine refuses anything else).  Each
kind of bad bot file exits 2 with one ``error:`` line naming the file (and
the turn, during a game) and no traceback.
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
from sim import Decision

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
                      ["Bot.name 'oracle' is a built-in strategy's name"]),
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
