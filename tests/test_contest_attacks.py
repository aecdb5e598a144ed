"""Issue 18's attacks on contests, one test each: every one worked before and fails now.

| # | attack | what stops it |
|---|---|---|
| 1 | a bot rebuilds the market from the seed ``reset`` hands it | bots are told no seed; ids are opaque |
| 2 | the oracle's record entered under a team's name | hidden seeds; reference names and copies refused |
| 3 | a bot in ``ccsim run`` reads the truth up the stack | bots never run in the scorer's process |
| 4 | a bot's daemon survives and forges stored games | nothing survives a game; stored games verified |
| 5 | a bot prints or raises the tournament's key | every bot text is redacted |
| 6 | thousands of score columns in one reply | column limit checked before decoding |
| 7 | 100 tiers x 2,400 rule conditions | cost limit; evaluation counts toward the turn |
| 8 | a bot's children use more memory than its limit | the limit is on the whole process tree |
| 9 | an invalid record with a team's name sorts first | records settle after verification |

Plus the memory-reading attack through ``/proc/PID/mem`` (the engine is
non-dumpable: only root can read it, so the test runs where the user is
not root and says why it skips otherwise).  Attacks that need Linux's
``/proc`` skip elsewhere, saying so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import ROOT, run_cli
from sim.records import read_record, record_of, write_record
from sim.runner import REFERENCES, play_game
from sim.scenario import load_scenario
from sim.strategies import get_strategy
from sim.tournament import Markets, Settings, run_tournament
from sim.tournament.classplay import new_tournament, read_tournament, score_class
from sim.tournament.keys import new_key, parse_key
from sim.tournament.sandbox import BotFailure, SandboxedBot

PROSPECTS = 2000
LINUX_PROC = sys.platform.startswith("linux") and Path("/proc/self/stat").exists()
needs_proc = pytest.mark.skipif(not LINUX_PROC, reason="process-tree containment needs Linux's "
                                "/proc; elsewhere only the process group and per-process limits "
                                "hold (see the README's threat model)")


@pytest.fixture(scope="module")
def scenario():
    return load_scenario("coffee").with_prospects(PROSPECTS)


@pytest.fixture(scope="module")
def settings(scenario):
    return Settings(scenario, turn_seconds=5.0, memory_mb=600, setup_seconds=20.0)


def _bot(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(text))
    return path


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie awaiting its reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _gone(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _alive(pid)


# ---------------------------------------------------------------- 1: the seed
CHEAT = """
    from sim import Game, load_scenario
    from sim.strategies import get_strategy


    class Bot:
        name = "cheat"

        def reset(self, scenario, seed):
            if seed is None:
                raise RuntimeError("told no seed: cannot rebuild the market")
            # A shadow game of the same market, stepped in lockstep, and the oracle on it.
            self.game = Game(load_scenario(scenario.key).with_prospects(scenario.prospects))
            self.game.reset(seed)
            self.oracle = get_strategy("oracle")
            self.oracle.reset(self.game.public, seed)

        def decide(self, observation, truth=None):
            decision = self.oracle.decide(self.game.observation, self.game.truth)
            self.game.step(decision)
            return decision
"""


def test_1_a_bot_is_never_told_a_seed(settings, scenario, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where class play writes its record
    cheat = _bot(tmp_path / "bots", "cheat", CHEAT)
    for markets in (Markets.hidden(1, new_key()), Markets.public([1])):
        result = run_tournament([cheat], markets, tmp_path / markets.kind, settings, workers=1,
                                progress=False)
        line = {s.entry: s for s in result.standings}["cheat"]
        assert line.failures == [f"{markets.label(markets.seeds[0])}, at start: reset() raised "
                                 "RuntimeError: told no seed: cannot rebuild the market "
                                 "(cheat.py line 11)"]
        assert line.centricity < 50
    # Class play with a bot: the key is revealed, but the bot is told neither key nor seed.
    t, key, secret = new_tournament(scenario, ["Red"], tmp_path / "class.json")
    code, out, err = run_cli(capsys, "play", "--tournament", tmp_path / "class.json", "--key", key,
                             "--team", "Red", "--strategy", cheat)
    assert code == 2 and "told no seed" in err and not (tmp_path / "class-Red.json").exists()
    # And the ids it sees are not prospects (tests/test_tournament.py checks the permutation).
    game_ids = _ids_seen(scenario, cheat.parent)
    assert game_ids["ids"] != game_ids["prospects"]


def _ids_seen(scenario, folder: Path) -> dict:
    probe = _bot(folder, "probe", """
        from sim import Decision

        class Bot:
            name = "probe"

            def reset(self, scenario, seed):
                pass

            def decide(self, observation, truth=None):
                raise RuntimeError(str(observation.customer_id[:20].tolist()))
    """)
    from sim.engine import Game

    game = Game(scenario)
    game.reset(4)
    with SandboxedBot(probe) as bot:
        with pytest.raises(BotFailure) as failure:
            play_game(scenario, bot, 4)
    seen = failure.value.reason.split("RuntimeError: ")[1].split(" (probe.py")[0]
    return {"ids": seen, "prospects": str(game.truth.row_prospect[:20].tolist())}


# ---------------------------------------------------------------- 2: the oracle's record
def test_2_the_oracles_record_is_no_entry(settings, scenario, tmp_path):
    oracle = play_game(scenario, get_strategy("oracle"), 1)
    entries = []
    for i, name in enumerate(("oracle", "Oracle", "O-R-A-C-L-E", "Red")):
        oracle.strategy = name
        entries.append(write_record(record_of(oracle), tmp_path / f"r{i}.json"))
    # A bot tournament on hidden markets: no record of a seed anyone knew can enter.
    result = run_tournament(entries, Markets.hidden(1, new_key()), tmp_path / "hidden", settings,
                            workers=1, progress=False)
    reasons = {r.source: r.reason for r in result.rejections}
    for path in entries[:3]:
        assert reasons[str(path)].startswith("a record of the reference strategy 'oracle' is not "
                                             "an entry")
    assert reasons[str(entries[3])].startswith("another seed: played seed 1, none of this "
                                               "tournament's hidden markets")
    assert {s.entry for s in result.standings if s.values} == set(REFERENCES)
    # Class play, after the key is revealed: a team runs the oracle on the class market and
    # submits it as its own.
    t, key, secret = new_tournament(scenario, ["Red", "Blue"], tmp_path / "class.json")
    stolen = play_game(t.scenario(key), get_strategy("oracle"), t.seed(key))
    stolen.strategy = "Red"
    records = tmp_path / "records"
    records.mkdir()
    write_record(record_of(stolen), records / "Red.json")
    scored = score_class(read_tournament(tmp_path / "class.json"), key,
                         sorted(records.glob("*.json")), tmp_path / "class-results")
    red = {s.entry: s for s in scored.standings}["Red"]
    assert red.values == {}
    assert red.failures == ["class market: rejected: a copy of the reference strategy 'oracle''s "
                            "game on this market"]


# ---------------------------------------------------------------- 3: up the stack
CLIMBER = """
    import gc
    import inspect

    from sim import Decision


    class Bot:
        name = "climber"

        def reset(self, scenario, seed):
            pass

        def decide(self, observation, truth=None):
            found = []
            frame = inspect.currentframe()
            while frame is not None:
                found += [v for v in frame.f_locals.values()
                          if type(v).__name__ in ("Game", "PlayedGame", "Truth", "Scorecard")]
                frame = frame.f_back
            found += [o for o in gc.get_objects()
                      if type(o).__name__ == "Game" and getattr(o, "seed", None) is not None]
            if found:
                raise RuntimeError(f"found the truth in {type(found[0]).__name__}")
            return Decision()
"""


def test_3_a_bot_in_ccsim_run_finds_no_game_to_read(tmp_path, capsys):
    climber = _bot(tmp_path, "climber", CLIMBER)
    record = tmp_path / "climber.json"
    code, out, err = run_cli(capsys, "run", "coffee", "--strategy", climber, "--prospects",
                             PROSPECTS, "--record", record)
    assert code == 0, err
    assert "found the truth" not in err
    assert read_record(record).strategy == "climber"


# ---------------------------------------------------------------- 4: surviving processes
DAEMON = """
    import json, os, time
    from sim import Decision

    PIDS = {pids!r}
    TARGET = {target!r}


    def _daemon():
        os.setsid()
        if os.fork():
            os._exit(0)
        with open(PIDS, "a") as f:
            f.write(os.readlink("/proc/self") + "\\n")
        time.sleep({sleep})
        forged = {{"format": "ccsim-tournament-game", "firm_value": 9999999.0}}
        with open(TARGET, "w") as f:
            json.dump(forged, f)
        time.sleep(60)


    class Bot:
        name = "daemon"

        def reset(self, scenario, seed):
            if os.fork() == 0:
                _daemon()
            time.sleep(0.3)
            if {exit_after}:
                os._exit(0)

        def decide(self, observation, truth=None):
            return Decision()
"""


@needs_proc
@pytest.mark.parametrize("pid_namespace", [True, False], ids=["namespace-if-allowed", "subreapers"])
@pytest.mark.parametrize("exit_after", [False, True], ids=["bot-plays-on", "bot-exits"])
def test_4_no_process_a_bot_started_survives_its_game(scenario, tmp_path, pid_namespace,
                                                      exit_after):
    pids, target = tmp_path / "pids", tmp_path / "forged.json"
    bot = _bot(tmp_path, "daemon", DAEMON.format(pids=str(pids), target=str(target), sleep=1.5,
                                                 exit_after=exit_after))
    with SandboxedBot(bot, pid_namespace=pid_namespace) as sandboxed:
        if exit_after:
            with pytest.raises(BotFailure, match=r"its process ended \(exit status 0\)"):
                play_game(scenario, sandboxed, 1)
        else:
            play_game(scenario, sandboxed, 1)
    daemon = int(pids.read_text().split()[0])
    assert _gone(daemon), f"the bot's daemon {daemon} survived its game"
    time.sleep(2.0)  # past the moment the daemon would have forged a game
    assert not target.exists()


@needs_proc
def test_4_a_tournament_bot_cannot_leave_a_forger_behind(settings, tmp_path):
    out = tmp_path / "out"
    pids = tmp_path / "pids"
    target = out / "games" / "bot--late--seed1.json"
    bot = _bot(tmp_path / "bots", "daemon", DAEMON.format(pids=str(pids), target=str(target),
                                                          sleep=1.5, exit_after=False))
    run_tournament([bot], Markets.public([1]), out, settings, workers=1, progress=False)
    assert all(_gone(int(pid)) for pid in pids.read_text().split())
    time.sleep(2.0)
    assert not target.exists()
    # Forged anyway (by hand here): a re-run adding the late entry does not reuse it.
    late = _bot(tmp_path / "late", "late", (ROOT / "tests" / "bots" / "steady.py").read_text())
    target.write_text(json.dumps({"format": "ccsim-tournament-game", "kind": "bot",
                                  "entry": "late", "seed": 1, "status": "finished",
                                  "firm_value": 9_999_999.0}))
    again = run_tournament([bot, late], Markets.public([1]), out, settings, workers=1,
                           progress=False)
    line = {s.entry: s for s in again.standings}["late"]
    assert line.values[1] != 9_999_999.0 and line.values[1] < 50_000
    assert any("bot--late--seed1.json" in e and "played again" in e for e in again.events)


def test_4_a_sealed_game_edited_without_the_key_is_played_again(settings, tmp_path):
    key = new_key()
    steady = ROOT / "tests" / "bots" / "steady.py"
    run_tournament([steady], Markets.hidden(1, key), tmp_path, settings, workers=1,
                   progress=False, max_games=6)
    path = tmp_path / "games" / "bot--steady--m1.json"
    sealed = json.loads(path.read_text())
    sealed["sealed"]["ciphertext"] = sealed["sealed"]["ciphertext"][::-1]
    path.write_text(json.dumps(sealed))
    again = run_tournament([steady], Markets.hidden(1, key), tmp_path, settings, workers=1,
                           progress=False)
    assert again.played == 1 and "seal does not open" in again.events[0]


# ---------------------------------------------------------------- 5: the key in a bot's words
LEAKER = """
    import sys
    from sim import Decision

    FORMS = {forms!r}


    class Bot:
        name = FORMS[0]

        def reset(self, scenario, seed):
            print("my key:", " ".join(FORMS))
            print("on stderr:", " ".join(FORMS), file=sys.stderr)

        def decide(self, observation, truth=None):
            if observation.turn == 2:
                raise RuntimeError("stolen: " + " | ".join(FORMS))
            return Decision()
"""


def _forms(key: str) -> list[str]:
    import base64

    raw = parse_key(key)
    return [key, key.lower(), key.replace("-", ""), base64.b32encode(raw).decode(), raw.hex(),
            raw.hex().upper()]


def _assert_no_key(text: str, key: str) -> None:
    lowered = text.lower()
    for form in _forms(key):
        assert form.lower() not in lowered, form


def test_5_a_bots_words_never_publish_the_key(settings, scenario, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where class play writes its record
    key = new_key()
    leaker = _bot(tmp_path / "bots", "leaker", LEAKER.format(forms=_forms(key)))
    out = tmp_path / "out"
    result = run_tournament([leaker], Markets.hidden(1, key), out, settings, workers=1,
                            progress=False, max_games=1 + 0 * len(REFERENCES))
    # Before the end nothing is published; the bot's failure is reported without the key.
    first = result.table() + (out / "leaderboard.csv").read_text() + \
        (out / "leaderboard.html").read_text()
    _assert_no_key(first, key)
    result = run_tournament([leaker], Markets.hidden(1, key), out, settings, workers=1,
                            progress=False)
    line = {s.entry: s for s in result.standings}["leaker"]
    assert "[redacted]" in line.failures[0] and "turn 2" in line.failures[0]
    published = result.table() + (out / "leaderboard.csv").read_text() + \
        (out / "leaderboard.html").read_text()
    # The key is published on purpose, once, in the notes; never in the bot's words.
    bot_text = "\n".join(line.failures) + (out / "leaderboard.csv").read_text() + \
        "".join(p.read_text() for p in (out / "logs").glob("*.log"))
    _assert_no_key(bot_text, key)
    assert published.count("[redacted]") >= 2
    # Class play: the class secret in a team bot's words never reaches the terminal.
    t, class_key, secret = new_tournament(scenario, ["Red"], tmp_path / "class.json")
    class_leaker = _bot(tmp_path / "class_bots", "leaker", LEAKER.format(forms=_forms(class_key)))
    code, stdout, stderr = run_cli(capsys, "play", "--tournament", tmp_path / "class.json",
                                   "--key", class_key, "--team", "Red", "--strategy", class_leaker)
    assert code == 2 and "turn 2" in stderr and "[redacted]" in stderr
    _assert_no_key(stdout + stderr, class_key)


# ---------------------------------------------------------------- 6 and 7: replies too big
COLUMNS = """
    import numpy as np
    import sim.tournament.botproc as botproc
    from sim import Decision, Tier

    botproc.essential_scores = lambda decision, n, observable: decision  # keep every column


    class Bot:
        name = "columns"

        def reset(self, scenario, seed):
            pass

        def decide(self, observation, truth=None):
            n = observation.n_customers
            scores = {{f"s{{i}}": np.full(n, float(i)) for i in range({columns})}}
            return Decision({{}}, (Tier("t", {{"field": "s1", "op": ">", "value": 0}}, 0.0),), scores)
"""

CONDITIONS = """
    from sim import Decision, Tier


    class Bot:
        name = "conditions"

        def reset(self, scenario, seed):
            pass

        def decide(self, observation, truth=None):
            rule = {{"all": [{{"field": "profit", "op": ">", "value": -1e9 - i}}
                            for i in range({conditions})]}}
            return Decision({{}}, tuple(Tier(f"t{{k}}", rule, 0.0) for k in range({tiers})))
"""


def _run_capped(args: list[str], tmp_path: Path) -> tuple[subprocess.CompletedProcess, float, int]:
    """``ccsim ARGS`` in a process capped at 3 GB and 300 s: (result, seconds, peak RSS in MB)."""
    code = ("import resource, sys, runpy\n"
            "resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))\n"
            f"sys.argv = ['ccsim'] + {args!r}\n"
            "try:\n    from sim.cli import main\n    code = main(sys.argv[1:])\n"
            "finally:\n"
            "    print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
            "sys.exit(code)\n")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    peak = int(done.stderr.rsplit("PEAK", 1)[1].split()[0]) // 1024
    return done, time.monotonic() - started, peak


@pytest.mark.parametrize("attack, text, limit", [
    ("6", COLUMNS.format(columns=3000), "3,000 score columns, at most"),
    ("7", CONDITIONS.format(conditions=2400, tiers=100), "invalid decision: a reply of "),
    ("7", CONDITIONS.format(conditions=24, tiers=100), "too costly to evaluate: 2,400 comparisons"),
], ids=["6: 3,000 score columns", "7: 100 tiers x 2,400 conditions", "7: 100 tiers x 24"])
def test_6_7_an_oversized_reply_is_refused_naming_the_limit(tmp_path, attack, text, limit):
    bot = _bot(tmp_path, f"attack{attack}", text)
    done, _, peak_mb = _run_capped(["run", "coffee", "--strategy", str(bot), "--prospects",
                                          "20000", "--workers", "1"], tmp_path)
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert done.returncode == 2, done.stderr[-2000:]
    assert len(errors) == 1 and f"{bot}: turn 1: " in errors[0] and limit in errors[0], errors
    assert peak_mb < 1000, f"the engine grew to {peak_mb} MB"


def test_7_the_engines_time_evaluating_a_reply_counts_toward_the_turn(scenario, tmp_path,
                                                                       monkeypatch):
    from sim.tournament import sandbox

    def slow_check(*args, **kwargs):
        time.sleep(1.2)
        return real(*args, **kwargs)

    real = sandbox.check_decision
    monkeypatch.setattr(sandbox, "check_decision", slow_check)
    with SandboxedBot(ROOT / "tests" / "bots" / "steady.py", turn_seconds=1.0) as bot:
        with pytest.raises(BotFailure, match=r"turn 1: timed out: the turn took .* s \(the bot .* "
                                             r"s, the engine .* s evaluating its decision\), over "
                                             r"the 1 s allowed"):
            play_game(scenario, bot, 2)


# ---------------------------------------------------------------- 8: the whole tree's limits
CHILDREN = """
    import os, time
    import numpy as np
    from sim import Decision


    class Bot:
        name = "children"

        def reset(self, scenario, seed):
            for _ in range({count}):
                if os.fork() == 0:
                    try:
                        held = np.ones({mb} * 2**20 // 8)  # touched: resident
                        time.sleep(30)
                    finally:
                        os._exit(0)

        def decide(self, observation, truth=None):
            time.sleep(1.0)
            return Decision()
"""


@needs_proc
@pytest.mark.parametrize("count, mb, reason", [
    (4, 200, r"out of memory: its processes used [\d,]+ MB, over the 600 MB limit"),
    # As root only the watchdog's count holds; for other users RLIMIT_NPROC may refuse
    # the 17th fork first, inside the bot.
    (40, 1, r"too many processes: \d+ running, at most 16|reset\(\) raised BlockingIOError"),
], ids=["memory", "processes"])
def test_8_limits_hold_for_the_bots_whole_process_tree(scenario, tmp_path, count, mb, reason):
    bot = _bot(tmp_path, "children", CHILDREN.format(count=count, mb=mb))
    # Each process stays under the 600 MB address-space cap; together they are over it.
    with SandboxedBot(bot, memory_mb=600, turn_seconds=20) as sandboxed:
        with pytest.raises(BotFailure, match=reason):
            play_game(scenario, sandboxed, 1)
        watched = sandboxed
    assert watched._process is None  # killed, every process of it (test 4 checks they are gone)


# ---------------------------------------------------------------- 9: a record in another's name
def test_9_an_invalid_record_never_takes_a_teams_place(settings, scenario, tmp_path):
    from test_tournament import Even

    played = play_game(scenario, Even(), 1)
    played.strategy = "Red"
    genuine = write_record(record_of(played), tmp_path / "z-red.json")
    forged = json.loads(genuine.read_text())
    forged["scores"]["firm_value"] = 9_999_999.0
    (tmp_path / "a-red.json").write_text(json.dumps(forged))  # sorts first
    result = run_tournament([tmp_path / "a-red.json", genuine], Markets.public([1]),
                            tmp_path / "one", settings, workers=1, progress=False)
    red = {s.entry: s for s in result.standings}["Red"]
    assert red.values == {1: read_record(genuine).scores["firm_value"]}
    assert len(red.failures) == 1 and "does not verify: scores.firm_value" in red.failures[0]
    # Two valid records of one team for one market: both named, neither counts.  Written at
    # another time (a record's "created" has whole seconds: the same second gave the same file).
    again = write_record(replace(record_of(played), created="2026-01-01T00:00:00Z"),
                         tmp_path / "again-red.json")
    assert again.read_bytes() != genuine.read_bytes()
    result = run_tournament([genuine, again], Markets.public([1]), tmp_path / "two", settings,
                            workers=1, progress=False)
    red = {s.entry: s for s in result.standings}["Red"]
    assert red.values == {}
    assert red.failures == [f"seed 1: rejected: 2 verified records of 'Red' for seed 1 "
                            f"({again}, {genuine}): neither counts; submit one"]


# ---------------------------------------------------------------- the engine's memory
@needs_proc
def test_a_bot_cannot_read_the_engines_memory(settings, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root has CAP_SYS_PTRACE and reads any process's memory; a non-dumpable "
                    "engine stops other users' processes only (README threat model)")
    reader = _bot(tmp_path / "bots", "reader", f"""
        from sim import Decision

        class Bot:
            name = "reader"

            def reset(self, scenario, seed):
                try:
                    with open("/proc/{os.getpid()}/mem", "rb") as f:
                        f.read(1)
                except OSError as exc:
                    raise RuntimeError(f"denied: {{type(exc).__name__}}")
                raise RuntimeError("read the engine's memory")

            def decide(self, observation, truth=None):
                return Decision()
    """)
    result = run_tournament([reader], Markets.hidden(1, new_key()), tmp_path / "out", settings,
                            workers=1, progress=False)
    failure = {s.entry: s for s in result.standings}["reader"].failures[0]
    assert "denied: PermissionError" in failure
