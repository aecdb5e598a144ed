"""Tournaments: sandboxed bots fail alone, resuming, records checked, class play's hidden seed.

Small pools (2,000 prospects), one or two seeds and a 2 s turn limit keep
this file quick; the bots under test are in ``tests/bots/``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from sim.cli import main as ccsim
from sim.engine import Game
from sim.records import read_record, record_of, write_record
from sim.runner import REFERENCES, play_game
from sim.scenario import load_scenario
from sim.strategies import get_strategy
from sim.tournament import Settings, TournamentError, parse_seeds, run_tournament
from sim.tournament.classplay import (ClassPlayError, PromptStrategy, hot_seat, new_tournament,
                                      play_team, read_tournament, score_class)
from sim.tournament.protocol import (FIXED_FIELDS, MATRIX_FIELDS, RUNNING_FIELDS, ObservationDelta,
                                     ObservationMirror)

BOTS = Path(__file__).parent / "bots"
PROSPECTS = 2000


@pytest.fixture(scope="module")
def scenario():
    return load_scenario("coffee").with_prospects(PROSPECTS)


@pytest.fixture(scope="module")
def settings(scenario):
    return Settings(scenario, turn_seconds=2.0, memory_mb=600, setup_seconds=20.0)


@pytest.fixture(scope="module")
def bad_bots(settings, tmp_path_factory):
    """One tournament of a good bot and five bad ones on seed 1, two workers."""
    out = tmp_path_factory.mktemp("bad_bots")
    names = ["steady", "crasher", "hanger", "hog", "spender", "garbage"]
    result = run_tournament([BOTS / f"{n}.py" for n in names], [1], out, settings, workers=2,
                            progress=False)
    return result, out


def _games(out: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in (out / "games").glob("*.json")}


@pytest.mark.parametrize("bot, turn, reason", [
    ("crasher", 2, r"crashed: ZeroDivisionError: division by zero on purpose"),
    ("hanger", 3, r"timed out \(no decision within 2 s\)"),
    ("hog", 1, r"out of memory: over the 600 MB limit"),
    ("spender", 1, r"refused decision: acquisition: total \$1,000,000,000,000,000 is over the budget"),
    ("garbage", 1, r"invalid decision: decide\(\) returned dict, not a Decision"),
])
def test_a_bad_bot_fails_alone_with_reason_and_turn(bad_bots, bot, turn, reason):
    result, out = bad_bots
    game = _games(out)[f"bot--{bot}--seed1.json"]
    assert game["status"] == "failed"
    assert game["turn"] == turn
    assert re.fullmatch(reason + ".*", game["reason"]), game["reason"]
    # Everyone else finished: the good bot and every reference.
    others = [g for g in _games(out).values() if g["entry"] in ("steady",) + REFERENCES]
    assert len(others) == 1 + len(REFERENCES)
    assert all(g["status"] == "finished" and g["firm_value"] is not None for g in others)


@pytest.mark.parametrize("fork_server", [True, False], ids=["fork-server", "subprocess"])
def test_both_ways_of_starting_a_bot_play_the_same_game(scenario, monkeypatch, fork_server):
    from sim.tournament import sandbox

    # Without a fork server (a daemonic Dask worker's case) bots start as subprocesses.
    monkeypatch.setattr(sandbox, "_FORK_SERVER", fork_server and sandbox._FORK_SERVER)
    with sandbox.SandboxedBot(BOTS / "steady.py", turn_seconds=10) as bot:
        played = play_game(scenario, bot, 5)
        assert bot.bot_name == "steady"
    reference = play_game(scenario, _InProcess(BOTS / "steady.py"), 5)
    assert played.value.firm_value == reference.value.firm_value
    assert played.decisions == reference.decisions
    with sandbox.SandboxedBot(BOTS / "crasher.py", turn_seconds=10) as bot:
        with pytest.raises(sandbox.BotFailure, match="turn 2: crashed: ZeroDivisionError"):
            play_game(scenario, bot, 5)


class _InProcess:
    """The same bot file played in this process (to compare with the sandbox)."""

    sees_truth = False

    def __init__(self, path):
        from sim.tournament.botproc import load_bot_class

        self.bot = load_bot_class(path)
        self.name = self.bot.name

    def reset(self, scenario, seed):
        self.bot.reset(scenario, seed)

    def decide(self, observation, truth=None):
        return self.bot.decide(observation, None)


def test_leaderboard_counts_failures_as_forfeits_and_writes_files(bad_bots):
    result, out = bad_bots
    by_name = {s.entry: s for s in result.standings}
    worst_reference = min(by_name[r].mean for r in REFERENCES)
    for bot in ("crasher", "hanger", "hog", "spender", "garbage"):
        assert len(by_name[bot].failures) == 1
        assert by_name[bot].mean == worst_reference
    assert by_name["steady"].failures == []
    assert by_name["oracle"].centricity == pytest.approx(100.0)
    assert by_name["mass-marketing"].centricity == pytest.approx(0.0)
    rows = (out / "leaderboard.csv").read_text().splitlines()
    assert rows[0].startswith("rank,entry,kind,seeds,mean_firm_value,ci95_low,ci95_high")
    assert len(rows) == 1 + 6 + len(REFERENCES)
    page = (out / "leaderboard.html").read_text()
    assert page.count("data:image/png;base64,") == 2
    assert "timed out" in page and (out / "logs" / "bot--crasher--seed1.log").exists()
    assert "ZeroDivisionError" in (out / "logs" / "bot--crasher--seed1.log").read_text()


def test_ties_are_overlapping_t_intervals():
    from sim.tournament.leaderboard import build_standings, t_interval

    mean, low, high = t_interval([1.0, 2.0, 3.0])
    assert mean == 2.0 and high - mean == pytest.approx(4.302653 * 1 / np.sqrt(3), rel=1e-6)
    results = [{"kind": "bot", "entry": e, "seed": s, "status": "finished", "firm_value": v}
               for e, vals in {"a": [10, 11, 12], "b": [9, 10.5, 11], "c": [1, 2, 3]}.items()
               for s, v in zip((1, 2, 3), vals)]
    standings = {s.entry: s for s in build_standings(results)}
    assert standings["a"].tied_with == [2] and standings["b"].tied_with == [1]
    assert standings["c"].tied_with == [] and standings["c"].rank == 3


def test_team_written_text_cannot_become_a_formula_or_markup(tmp_path):
    from sim.tournament.leaderboard import build_standings, write_csv, write_html

    results = [{"kind": "record", "entry": "=HYPERLINK(\"http://x\")", "seed": 1,
                "status": "finished", "firm_value": 5.0},
               {"kind": "record", "entry": "<script>alert(1)</script>", "seed": 1,
                "status": "finished", "firm_value": 4.0}]
    standings = build_standings(results)
    write_csv(standings, tmp_path / "board.csv")
    assert "'=HYPERLINK" in (tmp_path / "board.csv").read_text()
    write_html(standings, tmp_path / "board.html", "t")
    page = (tmp_path / "board.html").read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_an_interrupted_tournament_resumes_without_replaying(settings, tmp_path):
    entries = [BOTS / "steady.py"]
    first = run_tournament(entries, [1, 2], tmp_path, settings, workers=1, progress=False,
                           max_games=4)  # stopped early
    assert (first.played, first.reused) == (4, 0)
    kept = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "games").glob("*.json")}
    assert len(kept) == 4
    second = run_tournament(entries, [1, 2], tmp_path, settings, workers=2, progress=False)
    total = 2 * (len(REFERENCES) + 1)
    assert (second.played, second.reused) == (total - 4, 4)
    assert all((tmp_path / "games" / n).stat().st_mtime_ns == t for n, t in kept.items())
    # Lose two games (a crash mid-write leaves no file: writes are atomic); only they are replayed.
    lost = sorted((tmp_path / "games").glob("*.json"))[:2]
    for p in lost:
        p.unlink()
    third = run_tournament(entries, [1, 2], tmp_path, settings, workers=1, progress=False)
    assert (third.played, third.reused) == (2, total - 2)
    assert [s.mean for s in third.standings] == [s.mean for s in second.standings]
    # An edited bot is a new entry: its games are played again, nothing else.
    changed = tmp_path / "bots" / "steady.py"
    changed.parent.mkdir()
    changed.write_text((BOTS / "steady.py").read_text() + "\n# edited\n")
    fourth = run_tournament([changed], [1, 2], tmp_path, settings, workers=1, progress=False)
    assert (fourth.played, fourth.reused) == (2, total - 2)


def test_a_folder_of_other_settings_is_refused(settings, scenario, tmp_path):
    run_tournament([], [1], tmp_path, settings, workers=1, progress=False, max_games=0)
    other = Settings(scenario, turn_seconds=5.0, memory_mb=600, setup_seconds=20.0)
    with pytest.raises(TournamentError, match="other settings \\(turn_seconds\\)"):
        run_tournament([], [1], tmp_path, other, workers=1, progress=False)


def _record(scenario, seed, path, strategy="mass-marketing", team=None):
    played = play_game(scenario, get_strategy(strategy), seed)
    played.strategy = team or f"team-{strategy}"
    return write_record(record_of(played), path)


def test_records_count_for_their_own_seed_and_bad_ones_are_refused(settings, scenario, tmp_path):
    good = _record(scenario, 1, tmp_path / "good.json")
    other_seed = _record(scenario, 9, tmp_path / "seed9.json", "do-nothing")
    other_scenario = _record(load_scenario("meal_kit").with_prospects(PROSPECTS), 1,
                             tmp_path / "meal.json", "volume")
    other_size = _record(scenario.with_prospects(3000), 1, tmp_path / "size.json", "volume",
                         "team-size")
    data = json.loads(good.read_text())
    data["strategy"] = "team-tampered"
    data["turns"][2]["books"]["revenue"] += 1000.0
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(data))
    truncated = tmp_path / "truncated.json"
    truncated.write_text(good.read_text()[:500])
    result = run_tournament([good, other_seed, other_scenario, other_size, tampered, truncated],
                            [1, 2], tmp_path / "out", settings, workers=1, progress=False)
    reasons = {r.entry: r.reason for r in result.rejections}
    assert reasons["team-do-nothing"].startswith("another seed: played seed 9")
    assert reasons["team-volume"].startswith("another scenario: played meal_kit at 2,000")
    assert reasons["team-size"].startswith("another size of it: played coffee at 3,000 prospects")
    assert "truncated" in reasons["truncated"]
    by_name = {s.entry: s for s in result.standings}
    assert by_name["team-mass-marketing"].values == {1: by_name["mass-marketing"].values[1]}
    tampered_line = by_name["team-tampered"]
    assert tampered_line.values == {}
    assert re.search(r"rejected: does not verify: turn 3: revenue: claimed", tampered_line.failures[0])


def test_delta_mirror_rebuilds_every_observation_exactly():
    scenario = load_scenario("meal_kit").with_prospects(PROSPECTS)  # contractual: cancellations
    game = Game(scenario)
    obs = game.reset(4)
    delta, mirror = ObservationDelta(), ObservationMirror(game.public,
                                                          scenario.warmup_turns + scenario.turns)
    strategy = get_strategy("mass-marketing")
    strategy.reset(game.public, 4)
    sizes = []
    while True:
        d = delta.delta(obs)
        sizes.append(sum(a.nbytes for a in d["columns"].values()))
        rebuilt = mirror.apply(d)
        for name in FIXED_FIELDS + MATRIX_FIELDS + RUNNING_FIELDS + ("turn_columns",):
            a, b = getattr(obs, name), getattr(rebuilt, name)
            assert a.dtype == b.dtype and np.array_equal(a, b), name
        assert all(np.array_equal(obs.tags[k], rebuilt.tags[k]) for k in obs.tags)
        assert rebuilt.books == obs.books and rebuilt.turn == obs.turn
        if game.done:
            break
        obs, _ = game.step(strategy.decide(obs))
    # Old rows travel one new column a turn, not their history.
    assert max(sizes[1:]) < obs.purchases.nbytes


# ---------------------------------------------------------------- class play
@pytest.fixture()
def tournament(scenario, tmp_path):
    t, key, secret = new_tournament(scenario, ["A", "B"], tmp_path / "class.json")
    return t, key, secret, tmp_path / "class.json"


def test_the_hidden_seed_cannot_be_read_from_the_tournament_file(tournament, scenario, tmp_path):
    t, key, secret, path = tournament
    seed = t.seed(key)
    text = path.read_text()
    assert str(seed) not in text and key not in text and key.replace("-", "") not in text
    for form in (f"{seed:x}", f"{seed:X}", seed.to_bytes(8, "big").hex()):
        assert form not in text
    # The file is a function of the scenario and teams: apart from the
    # commitment (a SHA-256 of a 128-bit random key), another key gives the same file.
    (tmp_path / "other").mkdir()
    other, other_key, _ = new_tournament(scenario, ["A", "B"], tmp_path / "other" / "class.json")
    strip = lambda d: {k: v for k, v in d.items() if k not in ("commitment", "created")}  # noqa: E731
    assert strip(json.loads(text)) == strip(json.loads((tmp_path / "other" / "class.json").read_text()))
    assert other.seed(other_key) != seed
    # Without the key nobody can make the market.
    read_back = read_tournament(path)
    with pytest.raises(ClassPlayError, match="does not open"):
        read_back.seed(other_key)
    with pytest.raises(ClassPlayError, match="not a tournament key"):
        read_back.seed(str(seed))
    assert json.loads(secret.read_text())["key"] == key and secret.stat().st_mode & 0o077 == 0


def test_teams_play_and_the_instructor_scores(tournament, tmp_path):
    t, key, secret, path = tournament
    records = tmp_path / "records"
    records.mkdir()
    write_record(play_team(t, "A", key, get_strategy("mass-marketing")), records / "A.json")
    answers = iter(["nonsense", "", "everyone at 1"] + [""] * 40)
    prompt = PromptStrategy("B", ask=lambda _: next(answers), out=open(os.devnull, "w"))
    b = play_team(t, "B", key, prompt)
    assert b.decisions[0].tiers[0].rule == "all" and b.decisions[5] == b.decisions[0]
    # A record of the same scenario on another seed (a rehearsal), and an edited one.
    rehearsal = play_game(t.scenario, get_strategy("customer-centric"), 1)
    rehearsal.strategy = "A"
    write_record(record_of(rehearsal), records / "rehearsal.json")
    # B doubles its firm value in the file before submitting it.
    edited = write_record(b, tmp_path / "B.json")
    data = json.loads(edited.read_text())
    data["scores"]["firm_value"] *= 2
    (records / "B.json").write_text(json.dumps(data))
    with pytest.raises(ClassPlayError, match="not a team"):
        play_team(t, "Z", key, get_strategy("do-nothing"))
    with pytest.raises(ClassPlayError, match="sees the truth"):
        play_team(t, "A", key, get_strategy("oracle"))

    assert ccsim(["tournament", "score", str(path), "--secret", str(secret), "--records",
                  str(records), "--out", str(tmp_path / "results"), "--workers", "1"]) == 0
    result = score_class(read_tournament(path), key, sorted(records.glob("*.json")),
                         tmp_path / "results")
    assert result.played == 0  # the CLI run above already verified everything
    by_name = {s.entry: s for s in result.standings}
    assert by_name["A"].values == {t.seed(key): by_name["mass-marketing"].mean}
    reasons = [r.reason for r in result.rejections]
    assert any(r.startswith("another seed: played seed 1") for r in reasons)
    assert by_name["B"].values == {}
    assert re.search(r"rejected: does not verify: scores.firm_value: claimed", by_name["B"].failures[0])


def test_hot_seat_interleaves_turns_and_shows_standings(tournament):
    t, key, secret, path = tournament
    shown = []
    players = {"B": get_strategy("mass-marketing"), "A": get_strategy("do-nothing")}
    records = hot_seat(t, key, players, show=lambda turn, standings: shown.append((turn, standings)))
    assert [turn for turn, _ in shown] == list(range(1, t.scenario.turns + 1))
    assert all({s.team for s in st} == {"A", "B"} and all(s.turns == turn for s in st)
               for turn, st in shown)
    alone = play_team(t, "B", key, get_strategy("mass-marketing"))
    assert records["B"].scores["firm_value"] == alone.scores["firm_value"]
    assert records["A"].strategy == "A"


def test_cli_hot_seat_writes_a_record_per_team(tournament, tmp_path, capsys):
    t, key, secret, path = tournament
    assert ccsim(["play", "--tournament", str(path), "--key", key, "--hot-seat", "--strategy",
                  "mass-marketing", "--record", str(tmp_path / "hot")]) == 0
    out = capsys.readouterr().out
    assert out.count("standings after turn") == t.scenario.turns
    for team in ("A", "B"):
        record = read_record(tmp_path / "hot" / f"class-{team}.json")
        assert record.strategy == team and record.seed == t.seed(key)
    assert ccsim(["play", "--tournament", str(path), "--key", key, "--team", "A",
                  "--strategy", str(BOTS / "crasher.py")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: --strategy {BOTS / 'crasher.py'}: turn 2: crashed: ZeroDivisionError: division "
        "by zero on purpose (no record written)")


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert ccsim(["tournament", "coffee", "--entries", "x.py", "--seeds", "5-1",
                  "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: --seeds: '5-1' runs backwards"
    assert ccsim(["play", "--tournament", str(tmp_path / "missing.json"), "--team", "A",
                  "--key", "x"]) == 2
    assert "cannot read the tournament file" in capsys.readouterr().err
    assert parse_seeds("1,4,9-10") == [1, 4, 9, 10]


def test_dask_cluster_plays_the_same_games(settings, tmp_path):
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    # Worker processes, as on a real cluster: daemonic, so bots start as subprocesses there.
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                  dashboard_address=None) as cluster:
        remote = run_tournament([BOTS / "steady.py"], [3], tmp_path / "dask", settings,
                                dask_address=cluster.scheduler_address, progress=False)
    local = run_tournament([BOTS / "steady.py"], [3], tmp_path / "local", settings, workers=1,
                           progress=False)
    assert remote.played == local.played == len(REFERENCES) + 1
    assert [(s.entry, s.mean) for s in remote.standings] == [(s.entry, s.mean) for s in local.standings]


def test_a_front_end_can_play_a_team_game_and_save_its_record(tournament):
    from sim.records import verify_record
    from sim.tournament.classplay import start_team_game, team_record

    t, key, secret, path = tournament
    game, observation = start_team_game(t, "A", key)
    strategy = get_strategy("mass-marketing")
    strategy.reset(game.public, game.seed)
    decisions = []
    while not game.done:  # what the UI's scenes do, one decision per turn
        decisions.append(strategy.decide(observation))
        observation, _ = game.step(decisions[-1])
    record = team_record(t, "A", game, decisions)
    assert record.strategy == "A" and verify_record(record, references=False) == []
    assert record.scores["firm_value"] == play_team(t, "A", key, get_strategy("mass-marketing")) \
        .scores["firm_value"]
