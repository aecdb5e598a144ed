"""Tournaments: sandboxed bots fail alone, hidden markets, verified results, paired ranking, class play.

Small pools (2,000 prospects), one or two markets and a 2 s turn limit keep
this file quick; the bots under test are in ``tests/bots/``.  The attacks
of issue 18, one test each, are in ``tests/test_contest_attacks.py``.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import numpy as np
import pytest

from sim.cli import main as ccsim
from sim.decisions import Decision
from sim.engine import Game
from sim.errors import SimError
from sim.records import read_record, record_of, verify_record, write_record
from sim.runner import REFERENCES, play_game
from sim.scenario import load_scenario
from sim.strategies import get_strategy
from sim.tournament import Markets, Settings, TournamentError, parse_seeds, run_tournament
from sim.tournament.classplay import (ClassPlayError, PromptStrategy, hot_seat, new_tournament,
                                      play_team, read_tournament, score_class)
from sim.tournament.keys import new_key
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


class Even:
    """A team's own strategy (not a built-in): half the budget over the channels, no service."""

    name = "even"
    sees_truth = False

    def reset(self, scenario, seed=None):
        self.scenario = scenario

    def decide(self, observation, truth=None):
        channels = self.scenario.channels
        return Decision({c.name: 0.5 * self.scenario.budget.marketing / len(channels)
                         for c in channels})


@pytest.fixture(scope="module")
def bad_bots(settings, tmp_path_factory):
    """One tournament of a good bot and five bad ones on one public seed, two workers."""
    out = tmp_path_factory.mktemp("bad_bots")
    names = ["steady", "crasher", "hanger", "hog", "spender", "garbage"]
    result = run_tournament([BOTS / f"{n}.py" for n in names], Markets.public([1]), out, settings,
                            workers=2, progress=False)
    return result, out


def _games(out: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in (out / "games").glob("*.json")}


@pytest.mark.parametrize("bot, turn, reason", [
    ("crasher", 2, r"decide\(\) raised ZeroDivisionError: division by zero on purpose \(crasher.py line 14\)"),
    ("hanger", 3, r"timed out \(no decision within 2 s\)"),
    ("hog", 1, r"out of memory: .*600 MB"),
    ("spender", 1, r"decision refused: acquisition: total \$1,000,000,000,000,000 is over the budget"),
    ("garbage", 1, r"decide\(\) returned dict, not a sim.Decision"),
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
    from sim.bots import load_bot
    from sim.tournament import sandbox

    # Without a fork server (a system without one) bots start as fresh Python processes.
    monkeypatch.setattr(sandbox, "_FORK_SERVER", fork_server and sandbox._FORK_SERVER)
    with sandbox.SandboxedBot(BOTS / "steady.py", turn_seconds=10) as bot:
        played = play_game(scenario, bot, 5)
        assert bot.bot_name == "steady"
        assert bot.started_by == ("fork server" if fork_server else "python")
    reference = play_game(scenario, load_bot(BOTS / "steady.py"), 5)
    assert played.value.firm_value == reference.value.firm_value
    assert played.decisions == reference.decisions
    with sandbox.SandboxedBot(BOTS / "crasher.py", turn_seconds=10) as bot:
        with pytest.raises(sandbox.BotFailure, match="turn 2: decide.. raised ZeroDivisionError"):
            play_game(scenario, bot, 5)


def test_the_fork_server_has_imported_what_bots_import(scenario, tmp_path):
    """A bot's start is a fork: numpy, scipy and sim are already imported when its file runs."""
    from sim.tournament.sandbox import SandboxedBot

    path = tmp_path / "probe.py"
    path.write_text("import sys\nfrom sim import Decision\n"
                    "WARM = all(m in sys.modules for m in ('scipy.stats', 'sim.strategies', "
                    "'sim.analytics.clv'))\n"
                    "class Bot:\n    name = 'warm' if WARM else 'cold'\n"
                    "    def reset(self, scenario, seed): pass\n"
                    "    def decide(self, observation, truth=None): return Decision()\n")
    with SandboxedBot(path) as bot:
        bot.reset(scenario)
        assert (bot.bot_name, bot.started_by) == ("warm", "fork server")
        assert bot.start_seconds is not None


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
    assert rows[0].startswith("rank,entry,kind,markets,mean_firm_value,ci95_low,ci95_high")
    assert len(rows) == 1 + 6 + len(REFERENCES)
    assert all(row.count("public seeds (rehearsable)") == 1 for row in rows[1:])
    page = (out / "leaderboard.html").read_text()
    assert page.count("data:image/png;base64,") == 3
    assert "PUBLIC SEEDS (rehearsable)" in page and "PUBLIC SEEDS (rehearsable)" in result.table()
    assert "timed out" in page and (out / "logs" / "bot--crasher--seed1.log").exists()
    assert "ZeroDivisionError" in (out / "logs" / "bot--crasher--seed1.log").read_text()


# ---------------------------------------------------------------- paired ranking
def _results(values: dict[str, list[float]], seeds=None) -> list[dict]:
    return [{"kind": "bot", "entry": entry, "seed": seed, "status": "finished", "firm_value": v}
            for entry, vals in values.items()
            for seed, v in zip(seeds[entry] if seeds else range(1, len(vals) + 1), vals)]


def _unpaired_overlap(a, b) -> bool:
    from sim.tournament.leaderboard import t_interval

    _, la, ha = t_interval(a)
    _, lb, hb = t_interval(b)
    return la <= hb and lb <= ha


def test_paired_ranking_separates_what_overlapping_intervals_would_tie():
    from sim.tournament.leaderboard import build_standings

    # Markets differ a lot (shared luck), but 'a' beats 'b' by about $1 on every one.
    market = [100.0, 140.0, 90.0, 160.0, 120.0]
    a = [m + 1.0 + 0.1 * i for i, m in enumerate(market)]
    b = market
    assert _unpaired_overlap(a, b)  # the old rule: "statistically tied"
    standings = {s.entry: s for s in build_standings(_results({"a": a, "b": b}))}
    assert standings["a"].rank == 1 and standings["b"].rank == 2
    assert standings["a"].tied_with == [] and standings["b"].tied_with == []
    lead = standings["a"]
    assert lead.lead == pytest.approx(1.2) and lead.lead_markets == 5
    assert 0 < lead.lead_low < 1.2 < lead.lead_high
    assert math.isnan(standings["b"].lead)  # the last has no one below


def test_paired_ranking_ties_what_separated_intervals_would_rank():
    from sim.tournament.leaderboard import build_standings

    # 'a' has ten markets, 'b' (a team's records) only markets 9 and 10; on those two
    # they split one win each, although their own intervals do not overlap.
    a = [100.0, 100.5, 99.5, 100.2, 99.8, 100.1, 99.9, 100.3, 40.0, 60.0]
    b = [50.0, 50.01]
    assert not _unpaired_overlap(a, b)  # the old rule: a clear rank
    results = _results({"a": a, "b": b}, seeds={"a": list(range(1, 11)), "b": [9, 10]})
    standings = {s.entry: s for s in build_standings(results)}
    assert standings["a"].rank == 1
    assert standings["a"].tied_with == [2] and standings["b"].tied_with == [1]
    assert standings["a"].lead == pytest.approx(-0.005) and standings["a"].lead_markets == 2
    assert standings["a"].lead_low < 0 < standings["a"].lead_high


def test_one_shared_market_ranks_without_ties():
    from sim.tournament.leaderboard import build_standings

    standings = build_standings(_results({"a": [10.0], "b": [9.0], "c": [9.0]}))
    assert [s.tied_with for s in standings] == [[], [], []]
    assert standings[0].lead == 1.0 and not standings[0].has_lead_interval


def test_the_leaderboard_shows_each_neighbour_difference(tmp_path):
    from sim.tournament.leaderboard import build_standings, format_table, write_csv, write_html

    standings = build_standings(_results({"a": [11.0, 13.0, 12.0], "b": [10.0, 11.0, 11.5]}))
    table = format_table(standings)
    assert "lead over next, paired 95%" in table
    lead = standings[0]
    assert f"+${lead.lead:,.0f} [{'+' if lead.lead_low >= 0 else '-'}$" in table
    write_csv(standings, tmp_path / "board.csv")
    rows = list(__import__("csv").DictReader(open(tmp_path / "board.csv")))
    assert float(rows[0]["lead_over_next"]) == pytest.approx(lead.lead, abs=0.005)
    assert float(rows[0]["lead_ci95_low"]) == pytest.approx(lead.lead_low, abs=0.005)
    assert rows[1]["lead_over_next"] == ""
    write_html(standings, tmp_path / "board.html", "t")
    page = (tmp_path / "board.html").read_text()
    assert "lead over next (paired 95%)" in page and "Lead over the next entry (paired)" in page


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


# ---------------------------------------------------------------- resuming, verification
def test_an_interrupted_tournament_resumes_without_replaying(settings, tmp_path):
    entries = [BOTS / "steady.py"]
    markets = Markets.public([1, 2])
    first = run_tournament(entries, markets, tmp_path, settings, workers=1, progress=False,
                           max_games=4)  # stopped early
    assert (first.played, first.reused) == (4, 0)
    kept = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "games").glob("*.json")}
    assert len(kept) == 4
    second = run_tournament(entries, markets, tmp_path, settings, workers=2, progress=False)
    total = 2 * (len(REFERENCES) + 1)
    assert (second.played, second.reused, second.events) == (total - 4, 4, [])
    assert all((tmp_path / "games" / n).stat().st_mtime_ns == t for n, t in kept.items())
    # Lose two games (a crash mid-write leaves no file: writes are atomic); only they are replayed.
    lost = sorted((tmp_path / "games").glob("*.json"))[:2]
    for p in lost:
        p.unlink()
    third = run_tournament(entries, markets, tmp_path, settings, workers=1, progress=False)
    assert (third.played, third.reused) == (2, total - 2)
    assert [s.mean for s in third.standings] == [s.mean for s in second.standings]
    # An edited bot is a new entry: its games are played again, nothing else.
    changed = tmp_path / "bots" / "steady.py"
    changed.parent.mkdir()
    changed.write_text((BOTS / "steady.py").read_text() + "\n# edited\n")
    fourth = run_tournament([changed], markets, tmp_path, settings, workers=1, progress=False)
    assert (fourth.played, fourth.reused) == (2, total - 2)


def test_a_stored_game_that_does_not_replay_is_played_again_and_reported(settings, tmp_path):
    markets = Markets.public([3])
    first = run_tournament([BOTS / "steady.py"], markets, tmp_path, settings, workers=1,
                           progress=False)
    path = tmp_path / "games" / "bot--steady--seed3.json"
    genuine = json.loads(path.read_text())
    for edit in ("firm_value", "books"):
        data = json.loads(path.read_text())
        if edit == "firm_value":
            data["firm_value"] = data["record"]["scores"]["firm_value"] = 9_999_999.0
        else:
            data["record"]["turns"][2]["books"]["revenue"] += 1000.0
        path.write_text(json.dumps(data))
        again = run_tournament([BOTS / "steady.py"], markets, tmp_path, settings, workers=1,
                               progress=False)
        assert again.played == 1 and len(again.events) == 1, again.events
        assert "bot--steady--seed3.json" in again.events[0] and "played again" in again.events[0]
        steady = {s.entry: s for s in again.standings}["steady"]
        assert steady.values == {3: genuine["firm_value"]}
    assert {s.entry: s.mean for s in first.standings}["steady"] == genuine["firm_value"]


def test_a_folder_of_other_settings_is_refused(settings, scenario, tmp_path):
    run_tournament([], Markets.public([1]), tmp_path, settings, workers=1, progress=False,
                   max_games=0)
    other = Settings(scenario, turn_seconds=5.0, memory_mb=600, setup_seconds=20.0)
    with pytest.raises(TournamentError, match="other settings \\(turn_seconds\\)"):
        run_tournament([], Markets.public([1]), tmp_path, other, workers=1, progress=False)
    with pytest.raises(TournamentError, match="other settings \\(.*markets.*\\)"):
        run_tournament([], Markets.hidden(1, new_key()), tmp_path, settings, workers=1,
                       progress=False)


def test_tournament_errors_are_sim_errors():
    assert issubclass(TournamentError, SimError) and issubclass(ClassPlayError, SimError)
    from sim.tournament.sandbox import BotFailure

    assert issubclass(BotFailure, SimError)


def test_records_count_for_their_own_seed_and_bad_ones_are_refused(settings, scenario, tmp_path):
    good = write_record(_team_record(scenario, 1, "team-even"), tmp_path / "good.json")
    other_seed = write_record(_team_record(scenario, 9, "team-other-seed"), tmp_path / "seed9.json")
    other_scenario = write_record(_team_record(load_scenario("meal_kit").with_prospects(PROSPECTS),
                                               1, "team-meal"), tmp_path / "meal.json")
    other_size = write_record(_team_record(scenario.with_prospects(3000), 1, "team-size"),
                              tmp_path / "size.json")
    data = json.loads(good.read_text())
    data["strategy"] = "team-tampered"
    data["turns"][2]["books"]["revenue"] += 1000.0
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(data))
    truncated = tmp_path / "truncated.json"
    truncated.write_text(good.read_text()[:500])
    result = run_tournament([good, other_seed, other_scenario, other_size, tampered, truncated],
                            Markets.public([1, 2]), tmp_path / "out", settings, workers=1,
                            progress=False)
    reasons = {r.entry: r.reason for r in result.rejections}
    assert reasons["team-other-seed"].startswith("another seed: played seed 9, this tournament's "
                                                 "seeds are 1, 2")
    assert reasons["team-meal"].startswith("another scenario: played meal_kit at 2,000")
    assert reasons["team-size"].startswith("another size of it: played coffee at 3,000 prospects")
    assert "truncated" in reasons["truncated"]
    by_name = {s.entry: s for s in result.standings}
    assert by_name["team-even"].values == {1: read_record(good).scores["firm_value"]}
    tampered_line = by_name["team-tampered"]
    assert tampered_line.values == {}
    assert re.search(r"rejected: does not verify: turn 3: revenue: claimed", tampered_line.failures[0])


def _team_record(scenario, seed, team):
    played = play_game(scenario, Even(), seed)
    played.strategy = team
    return record_of(played)


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


def test_customer_ids_are_an_opaque_permutation_not_prospects(scenario_name):
    scenario = load_scenario(scenario_name).with_prospects(PROSPECTS)
    game = Game(scenario)
    obs = game.reset(11)
    ids, prospects = obs.customer_id, game.truth.row_prospect
    assert ids.size == prospects.size > 50
    assert np.unique(ids).size == ids.size and ids.min() >= 0 and ids.max() < scenario.prospects
    assert np.mean(ids == prospects) < 0.01  # no id names its prospect
    again = Game(scenario).reset(11).customer_id
    assert np.array_equal(ids, again)  # the same customers keep the same ids on a replay
    other = Game(scenario).reset(12)
    assert not np.array_equal(other.customer_id[:50], ids[:50])


# ---------------------------------------------------------------- hidden markets
def test_a_hidden_tournament_publishes_its_key_and_seeds_only_at_the_end(settings, tmp_path):
    key = new_key()
    markets = Markets.hidden(2, key)
    first = run_tournament([BOTS / "steady.py"], markets, tmp_path, settings, workers=1,
                           progress=False, max_games=5)
    assert not first.published and not (tmp_path / "markets.json").exists()
    # Nothing on disk says which markets these are: no seed, no key, no record in clear.
    text = "".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file())
    for seed in markets.seeds:
        assert str(seed) not in text
    assert key not in text and key.replace("-", "") not in text
    assert markets.commitment in (tmp_path / "tournament.json").read_text()
    # Resuming needs the key: a wrong one is refused.
    with pytest.raises(TournamentError, match="other settings \\(commitment"):
        run_tournament([BOTS / "steady.py"], Markets.hidden(2, new_key()), tmp_path, settings,
                       workers=1, progress=False)
    done = run_tournament([BOTS / "steady.py"], markets, tmp_path, settings, workers=1,
                          progress=False)
    assert (done.played, done.reused, done.published) == (12 - 5, 5, True)
    published = json.loads((tmp_path / "markets.json").read_text())
    assert published == {"key": key, "commitment": markets.commitment,
                         "seeds": list(markets.seeds)}
    # Anyone can check a game: the seed replays to the value on the leaderboard.
    steady = {s.entry: s for s in done.standings}["steady"]
    from sim.bots import load_bot

    assert play_game(settings.scenario, load_bot(BOTS / "steady.py"),
                     markets.seeds[1]).value.firm_value == steady.values[markets.seeds[1]]
    assert "hidden markets" in done.table() and "published in markets.json" in done.table()
    assert "market_1,market_2" in (tmp_path / "leaderboard.csv").read_text().splitlines()[0]
    # Once published, a new entry could rehearse the markets: refused.
    with pytest.raises(TournamentError, match="published its markets"):
        run_tournament([BOTS / "steady.py", BOTS / "crasher.py"], markets, tmp_path, settings,
                       workers=1, progress=False)


def test_cli_hidden_tournament_prints_its_key_and_resumes_with_it(tmp_path, capsys, monkeypatch):
    out = tmp_path / "res"
    args = ["tournament", "coffee", "--prospects", "2000", "--entries", str(BOTS / "steady.py"),
            "--markets", "1", "--out", str(out), "--no-progress", "--workers", "1"]
    assert ccsim(args) == 0
    captured = capsys.readouterr()
    key = re.search(r"^key: (\S+)$", captured.err, re.M)[1]
    assert "hidden markets" in captured.out
    assert json.loads((out / "markets.json").read_text())["key"] == key
    # Again: the published key opens it; nothing is played again, everything is verified.
    assert ccsim(args) == 0
    assert "0 games played (1 worker), 6 verified and reused" in capsys.readouterr().err
    # An unfinished hidden tournament without its key: one clear line.
    (out / "markets.json").unlink()
    monkeypatch.delenv("CCSIM_TOURNAMENT_KEY", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False, raising=False)
    assert ccsim(args) == 2
    assert "set CCSIM_TOURNAMENT_KEY" in capsys.readouterr().err
    monkeypatch.setenv("CCSIM_TOURNAMENT_KEY", key)
    assert ccsim(args) == 0


@pytest.mark.parametrize("argv, message", [
    (["--seeds", "1-5"], "--seeds: markets are hidden by default"),
    (["--public-seeds", "1-100000000"], "--seeds: more than 1,000 seeds"),
    (["--public-seeds", "5-1"], "--seeds: '5-1' runs backwards"),
    (["--markets", "100000"], "--markets must be 1 .. 1,000"),
    (["--turn-seconds", "nan"], "--turn-seconds must be a number of seconds above 0"),
    (["--turn-seconds", "inf"], "--turn-seconds must be a number of seconds above 0"),
    (["--turn-seconds", "-1"], "--turn-seconds must be a number of seconds above 0"),
    (["--workers", "0"], "--workers must be 1 .. 64"),
    (["--memory-mb", "10"], "--memory-mb must be 0 (no limit) or at least 64"),
])
def test_cli_options_are_bounded_before_any_game(tmp_path, capsys, argv, message):
    code = _cli(["tournament", "coffee", "--entries", str(BOTS / "steady.py"), "--out",
                 str(tmp_path / "o"), "--no-progress"] + argv)
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "o" / "games").exists()


def _cli(argv) -> int:
    try:
        return ccsim(argv)
    except SystemExit as exc:  # argparse refuses bad usage this way
        return exc.code


def test_many_workers_on_a_tiny_run_use_what_the_machine_has(settings, tmp_path):
    result = run_tournament([BOTS / "steady.py"], Markets.public([1]), tmp_path, settings,
                            workers=64, progress=False)
    assert result.workers <= min(os.cpu_count() or 1, len(REFERENCES) + 1)
    assert result.played == len(REFERENCES) + 1


def test_parse_seeds():
    assert parse_seeds("1,4,9-10") == [1, 4, 9, 10]
    with pytest.raises(TournamentError, match="more than 10 seeds"):
        parse_seeds("1-11", limit=10)


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
    # Without the key nobody can make the market.
    read_back = read_tournament(path)
    (tmp_path / "other").mkdir()
    other, other_key, _ = new_tournament(scenario, ["A", "B"], tmp_path / "other" / "class.json")
    assert other.seed(other_key) != seed
    with pytest.raises(ClassPlayError, match="does not open"):
        read_back.seed(other_key)
    with pytest.raises(ClassPlayError, match="not a tournament key"):
        read_back.seed(str(seed))
    assert json.loads(secret.read_text())["key"] == key and secret.stat().st_mode & 0o077 == 0


def content_types(scenario) -> list[dict]:
    return scenario.to_dict()["types"]


def test_the_tournament_file_holds_only_the_public_scenario(tournament, scenario, tmp_path):
    t, key, secret, path = tournament
    text = path.read_text()
    data = json.loads(text)
    assert set(data["scenario"]["public"]) <= {f for f in scenario.to_dict() if f not in
                                               ("types", "disengage", "incident_cost_shape")}
    # Nothing of the latent model in clear: no type, no trait parameter (the story may
    # mention kinds of customers; their numbers stay sealed).
    for ty in content_types(scenario):
        assert json.dumps({"name": ty["name"]}, indent=1)[2:-2].strip() not in text
        assert json.dumps(ty)[1:30] not in text
    content = scenario.to_dict()
    for part in ("types", "disengage"):
        assert json.dumps(content[part])[1:40] not in text
    for part in ("types", "disengage", "incident_cost_shape"):
        assert f'"{part}"' not in text
    # Another latent model, same public part: the same file but for the sealed bytes.
    types = content["types"]
    edited = dict(content, types=[dict(types[0], name="secret sauce")] + types[1:])
    from sim.scenario import parse_scenario

    other_scenario = parse_scenario(edited, "x", key=scenario.key)
    (tmp_path / "o").mkdir()
    new_tournament(other_scenario, ["A", "B"], tmp_path / "o" / "class.json")
    strip = lambda d: {k: (dict(v, latent=None) if k == "scenario" else v)  # noqa: E731
                       for k, v in d.items() if k not in ("commitment", "created")}
    other_text = (tmp_path / "o" / "class.json").read_text()
    assert strip(json.loads(other_text)) == strip(data) and "secret sauce" not in other_text
    # With the key the whole scenario opens, exactly.
    assert read_tournament(path).scenario(key).content_hash == scenario.content_hash
    data["scenario"]["public"]["gross_margin"] = 0.99
    path.write_text(json.dumps(data))
    with pytest.raises(ClassPlayError, match="scenario was edited"):
        read_tournament(path).scenario(key)


def test_teams_play_and_the_instructor_scores(tournament, tmp_path):
    t, key, secret, path = tournament
    records = tmp_path / "records"
    records.mkdir()
    write_record(play_team(t, "A", key, Even()), records / "A.json")
    answers = iter(["nonsense", "", "everyone at 1"] + [""] * 40)
    prompt = PromptStrategy("B", ask=lambda _: next(answers), out=open(os.devnull, "w"))
    b = play_team(t, "B", key, prompt)
    assert b.decisions[0].tiers[0].rule == "all" and b.decisions[5] == b.decisions[0]
    # A record of the same scenario on another seed (a rehearsal), and an edited one.
    rehearsal = play_game(t.scenario(key), Even(), 1)
    rehearsal.strategy = "A"
    write_record(record_of(rehearsal), records / "rehearsal.json")
    # B doubles its firm value in the file before submitting it.
    edited = write_record(b, tmp_path / "B.json")
    data = json.loads(edited.read_text())
    data["scores"]["firm_value"] *= 2
    (records / "B.json").write_text(json.dumps(data))
    with pytest.raises(ClassPlayError, match="not a team"):
        play_team(t, "Z", key, Even())
    with pytest.raises(ClassPlayError, match="sees the truth"):
        play_team(t, "A", key, get_strategy("oracle"))
    with pytest.raises(ClassPlayError, match="a built-in strategy cannot play for a team"):
        play_team(t, "A", key, get_strategy("customer-centric"))

    assert ccsim(["tournament", "score", str(path), "--secret", str(secret), "--records",
                  str(records), "--out", str(tmp_path / "results"), "--workers", "1"]) == 0
    result = score_class(read_tournament(path), key, sorted(records.glob("*.json")),
                         tmp_path / "results")
    assert result.played == 0  # the CLI run above already verified everything
    by_name = {s.entry: s for s in result.standings}
    assert by_name["A"].values == {t.seed(key): read_record(records / "A.json").scores["firm_value"]}
    reasons = [r.reason for r in result.rejections]
    assert any(r.startswith("another seed: played seed 1") for r in reasons)
    assert by_name["B"].values == {}
    assert re.search(r"rejected: does not verify: scores.firm_value: claimed", by_name["B"].failures[0])
    assert "class market" in result.table()


def test_hot_seat_interleaves_turns_and_shows_standings(tournament):
    t, key, secret, path = tournament
    shown = []

    class Quiet(Even):
        def decide(self, observation, truth=None):
            return Decision()

    players = {"B": Even(), "A": Quiet()}
    records = hot_seat(t, key, players, show=lambda turn, standings: shown.append((turn, standings)))
    assert [turn for turn, _ in shown] == list(range(1, t.scenario(key).turns + 1))
    assert all({s.team for s in st} == {"A", "B"} and all(s.turns == turn for s in st)
               for turn, st in shown)
    alone = play_team(t, "B", key, Even())
    assert records["B"].scores["firm_value"] == alone.scores["firm_value"]
    assert records["A"].strategy == "A" and verify_record(records["A"], references=False) == []


def test_cli_hot_seat_writes_a_record_per_team(tournament, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where class play writes a record by default
    t, key, secret, path = tournament
    assert ccsim(["play", "--tournament", str(path), "--key", key, "--hot-seat", "--strategy",
                  str(BOTS / "steady.py"), "--record", str(tmp_path / "hot")]) == 0
    out = capsys.readouterr().out
    assert out.count("standings after turn") == t.scenario(key).turns
    for team in ("A", "B"):
        record = read_record(tmp_path / "hot" / f"class-{team}.json")
        assert record.strategy == team and record.seed == t.seed(key)
    assert ccsim(["play", "--tournament", str(path), "--key", key, "--team", "A",
                  "--strategy", str(BOTS / "crasher.py")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {BOTS / 'crasher.py'}: turn 2: decide() raised ZeroDivisionError: division "
        "by zero on purpose (crasher.py line 14) (no record written)")


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert ccsim(["play", "--tournament", str(tmp_path / "missing.json"), "--team", "A",
                  "--key", "x"]) == 2
    assert "cannot read the tournament file" in capsys.readouterr().err


def test_dask_cluster_plays_the_same_games(settings, tmp_path):
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    # Worker processes, as on a real cluster: daemonic, yet bots are forked from a fork server.
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                  dashboard_address=None) as cluster:
        remote = run_tournament([BOTS / "steady.py"], Markets.public([3]), tmp_path / "dask",
                                settings, dask_address=cluster.scheduler_address, progress=False)
    local = run_tournament([BOTS / "steady.py"], Markets.public([3]), tmp_path / "local", settings,
                           workers=1, progress=False)
    assert remote.played == local.played == len(REFERENCES) + 1
    assert [(s.entry, s.mean) for s in remote.standings] == [(s.entry, s.mean) for s in local.standings]


def test_a_front_end_can_play_a_team_game_and_save_its_record(tournament):
    from sim.tournament.classplay import start_team_game, team_record

    t, key, secret, path = tournament
    game, observation = start_team_game(t, "A", key)
    strategy = Even()
    strategy.reset(game.public)
    decisions = []
    while not game.done:  # what the UI's scenes do, one decision per turn
        decisions.append(strategy.decide(observation))
        observation, _ = game.step(decisions[-1])
    record = team_record(t, "A", game, decisions)
    assert record.strategy == "A" and verify_record(record, references=False) == []
    assert record.scores["firm_value"] == play_team(t, "A", key, Even()).scores["firm_value"]


def test_teams_cannot_be_named_as_references(scenario, tmp_path):
    with pytest.raises(ClassPlayError, match="reference strategy 'oracle'"):
        new_tournament(scenario, ["Red", "ORACLE"], tmp_path / "c.json")


# ---------------------------------------------------------------- the class prompt
def _prompt(answers):
    feed = iter(answers)
    out = []

    class Sink:
        def write(self, text):
            out.append(text)

        def flush(self):
            pass

    return PromptStrategy("Red", ask=lambda _: next(feed), out=Sink()), out


@pytest.mark.parametrize("bad", [
    ("[1]", ""), ('["everyone"]', ""), ("none", "tiers please"), ("x=1", "none"),
    ("office_cards=abc", "none"), ("office_cards=1e12", "none"),
    ("", '[{"name": "t", "rule": "all", "service": 1e9}]'), ("", "top 10% by shoe_size at 5"),
    ("", "[{"),
], ids=["list of numbers", "list of text", "unknown service", "unknown channel", "not dollars",
        "over budget (acquisition)", "over budget (service)", "unknown field", "broken JSON"])
def test_the_prompt_asks_again_after_any_answer_it_cannot_play(scenario, bad):
    from sim.public import PublicScenario

    game = Game(scenario)
    obs = game.reset(3)
    answers = list(bad) if bad[0] != "[1]" and bad[0] != '["everyone"]' else ["", bad[0]]
    prompt, shown = _prompt(answers + ["none", "none"])
    prompt.reset(PublicScenario.of(scenario))
    decision = prompt.decide(obs)
    assert decision == Decision()
    text = "".join(shown)
    assert "not understood" in text and "try again" in text
    assert f"budget: ${scenario.budget.marketing:,.0f} this turn" in text
    game.step(decision)  # what the prompt returns, the game plays


def test_ctrl_c_in_hot_seat_stops_at_once(tournament, tmp_path, capsys, monkeypatch):
    import threading

    monkeypatch.chdir(tmp_path)
    t, key, secret, path = tournament
    before = threading.active_count()
    calls = iter(["", "", ""])

    def ask(prompt):
        value = next(calls, None)
        if value is None:
            raise KeyboardInterrupt
        return value

    monkeypatch.setattr("builtins.input", ask)
    assert ccsim(["play", "--tournament", str(path), "--key", key, "--hot-seat"]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert threading.active_count() == before


def test_record_into_a_folder_without_hot_seat(tournament, tmp_path, capsys):
    t, key, secret, path = tournament
    folder = tmp_path / "records"
    folder.mkdir()
    assert ccsim(["play", "--tournament", str(path), "--key", key, "--team", "A",
                  "--strategy", str(BOTS / "steady.py"), "--record", str(folder) + os.sep]) == 0
    assert read_record(folder / "class-A.json").strategy == "A"
    # A path that cannot be written is refused before any game is played.
    blocked = tmp_path / "file"
    blocked.write_text("x")
    assert ccsim(["play", "--tournament", str(path), "--key", key, "--team", "A",
                  "--strategy", str(BOTS / "hanger.py"), "--record", str(blocked / "r.json")]) == 2
    assert "--record" in capsys.readouterr().err
