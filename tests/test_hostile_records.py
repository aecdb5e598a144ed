"""Hostile records (issue 21, findings 1, 2, 8): never a blow-up, a hang, a traceback or a lie.

A table of bad record files, each given to ``ccsim replay`` in a child
process under a memory and a time limit (``tests/limited.py``): a zip bomb
in a score column, a million empty objects, non-standard JSON, duplicated
keys, wrong types in every part of the document, files that are not regular
files.  Each must exit 2 with one line naming the file and the entry at
fault.  Forged records (a relabelled strategy, an unknown reference) must
exit 1, differing.  The same reader serves ``ccsim report``, the window's
"Open a record" and "Continue", and tournament entries: a few rows go
through those doors too.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import socket
import zlib
from pathlib import Path

import numpy as np
import pytest

from limited import run_cli_limited, run_limited
from sim import records
from sim.decisions import Decision, Tier
from sim.records import RecordError, read_record, record_from_bytes, record_of, write_record
from sim.runner import score
from sim.scenario import load_scenario

PROSPECTS = 500


class Ranker:
    """A bot-like strategy whose tiers rank customers by score columns of its own."""

    name = "ranker"
    sees_truth = False

    def reset(self, public, seed):
        self.public = public

    def decide(self, observation, truth=None):
        cols = observation.columns
        score_a = cols["profit"] + np.sin(np.asarray(cols["customer_id"], dtype=float))
        score_b = cols["total_spend"] * 0.5 + np.cos(np.asarray(cols["customer_id"], dtype=float))
        tiers = (Tier("best", {"top": 0.1, "by": "a"}, 1.0),
                 Tier("next", {"field": "b", "op": ">=", "value": 20.0}, 0.5))
        return Decision(dict(self.public.inherited.acquisition), tiers, {"a": score_a, "b": score_b})


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> tuple[Path, dict]:
    """A verified record of a game with score columns in every turn, and its JSON."""
    scenario = load_scenario("coffee").with_prospects(PROSPECTS)
    card = score(scenario, Ranker(), 3)
    claims = {"centricity_score": card.centricity_score,
              "baselines": {n: v.firm_value for n, v in card.baselines.items()}}
    path = write_record(record_of(card.player, claims),
                        tmp_path_factory.mktemp("record") / "ranker.json")
    return path, json.loads(path.read_text())


@pytest.fixture(scope="session")
def bomb(pytestconfig) -> str:
    """Base64 of a zlib stream that inflates to 1 GiB of zeros (about 1.4 MB), cached."""
    folder = Path(pytestconfig.cache.mkdir("hostile"))
    path = folder / "gib-of-zeros.zlib.b64"
    if not path.is_file():
        squeeze = zlib.compressobj(9)
        zeros = bytes(1 << 24)
        data = b"".join([squeeze.compress(zeros) for _ in range(64)] + [squeeze.flush()])
        temporary = folder / f".bomb.{os.getpid()}"
        temporary.write_bytes(base64.b64encode(data))
        os.replace(temporary, path)
    return path.read_text()


def _column(data: dict, turn: int = 1, name: str = "a") -> dict:
    return data["turns"][turn]["decision"]["scores"][name]


def _deflated(raw: bytes) -> str:
    return base64.b64encode(zlib.compress(raw)).decode()


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _set(path: list, value):
    def change(data: dict, bomb: str = "") -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


def _del(path: list):
    def change(data: dict, bomb: str = "") -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return change


# case -> (a change to the record's JSON, or a function of (JSON text, bomb) giving bytes;
#          the fragment the one-line refusal must hold after "error: bad.json: ")
JSON_CASES = {
    "score column inflating 1 GiB": (
        lambda d, bomb: _column(d).update(data=bomb),
        "turns[1].decision.scores.a: holds more than the"),
    "score column claiming 10^12 values": (
        lambda d, bomb: _column(d).update(n=10 ** 12, data=bomb),
        "scores.a: n is 1,000,000,000,000; a column has one value per customer, at most 500"),
    "negative n": (lambda d, bomb: _column(d).update(n=-1), "scores.a: n must be a whole number"),
    "n as text": (lambda d, bomb: _column(d).update(n="12"), "scores.a: n must be a whole number"),
    "n as true": (lambda d, bomb: _column(d).update(n=True), "scores.a: n must be a whole number"),
    "unknown code type": (lambda d, bomb: _column(d).update(codes="<u8"), "unknown code type"),
    "data not base64": (lambda d, bomb: _column(d).update(data="***"), "undecodable base64"),
    "data a list": (lambda d, bomb: _column(d).update(data=[1, 2]), "data must be base64 text"),
    "table too long": (lambda d, bomb: _column(d, name="b").update(
        codes="<u1", table=base64.b64encode(bytes(8 * 257)).decode()),
        "the table must hold at most 256 values"),
    "a code past the table": (lambda d, bomb: _column(d, name="b").update(
        codes="<u1", table=base64.b64encode(bytes(8)).decode(),
        data=_deflated(bytes([5]) * _column(d, name="b")["n"])),
        "a code points past the table"),
    "truncated zlib": (lambda d, bomb: _column(d).update(
        data=base64.b64encode(base64.b64decode(_column(d)["data"])[:-6]).decode()),
        "truncated"),
    "bytes after the zlib stream": (lambda d, bomb: _column(d).update(
        data=base64.b64encode(base64.b64decode(_column(d)["data"]) + b"junk").decode()),
        "bytes follow the compressed data"),
    "fewer values than n": (lambda d, bomb: _column(d).update(n=_column(d)["n"] + 1),
                            "values, expected"),
    "65 score columns": (lambda d, bomb: d["turns"][0]["decision"].update(
        scores={f"s{i}": _column(d) for i in range(65)}), "65 score columns; at most 64"),
    "scores not a mapping": (_set(["turns", 0, "decision", "scores"], [1]),
                             "turns[0].decision.scores: must map score names"),
    "seed negative": (_set(["seed"], -3), "seed: must be a whole number >= 0"),
    "seed a fraction": (_set(["seed"], 1.5), "seed: must be a whole number >= 0"),
    "seed true": (_set(["seed"], True), "seed: must be a whole number >= 0"),
    "seed text": (_set(["seed"], "3"), "seed: must be a whole number >= 0"),
    "prospects differ": (_set(["prospects"], 501), "prospects: 501 differs"),
    "prospects 10^9 in the scenario": (_set(["scenario", "content", "prospects"], 10 ** 9),
                                       "prospects: must be <= 5000000"),
    "strategy a mapping": (_set(["strategy"], {"a": 1}), "strategy: must be text"),
    "strategy of 5,000 characters": (_set(["strategy"], "x" * 5000),
                                     "strategy: 5,000 characters; at most 1000"),
    "created a number": (_set(["created"], 3), "created: must be text"),
    "scenario key a list": (_set(["scenario", "key"], ["coffee"]), "scenario: key: must be text"),
    "scenario content missing": (_del(["scenario", "content"]),
                                 "scenario: must hold key, sha256 and content"),
    "scenario content a list": (_set(["scenario", "content"], [1]), "must be a mapping"),
    "turns a mapping": (_set(["turns"], {"1": 1}), "turns: must be a list"),
    "a turn missing": (lambda d, bomb: d["turns"].pop(), "turns: 11 turns recorded, the scenario has 12"),
    "13 turns": (lambda d, bomb: d["turns"].append(d["turns"][-1]), "turns: 13 turns recorded"),
    "turn numbers swapped": (lambda d, bomb: d["turns"].insert(0, d["turns"].pop(1)),
                             "turns[0].turn: must be 1"),
    "a turn a list": (_set(["turns", 2], [1]), "turns[2]: must hold decision and books"),
    "books missing profit": (_del(["turns", 0, "books", "profit"]), "turns[0].books.profit: missing"),
    "books with an extra field": (_set(["turns", 0, "books", "bonus"], 1),
                                  "turns[0].books.bonus: unknown entry"),
    "revenue as text": (_set(["turns", 0, "books", "revenue"], "lots"),
                        "turns[0].books.revenue: must be a number of dollars"),
    "buyers true": (_set(["turns", 0, "books", "buyers"], True),
                    "turns[0].books.buyers: must be a whole number"),
    "channel counts a list": (_set(["turns", 0, "books", "acquired_by_channel"], [1, 2]),
                              "turns[0].books.acquired_by_channel: must map channel names"),
    "members text": (_set(["turns", 0, "books", "members"], "many"),
                     "turns[0].books.members: must be a whole number or null"),
    "40,000 tiers": (_set(["turns", 0, "decision", "tiers"], [{"name": "t"}] * 40_000),
                     "turns[0].decision.tiers: at most 100 tiers"),
    "scores a list": (_set(["scores"], [1]), "scores: must be a mapping"),
    "firm value as text": (_set(["scores", "firm_value"], "a lot"),
                           "scores.firm_value: must be a number or null"),
    "baselines with a list": (_set(["scores", "baselines"], {"oracle": [1]}),
                              "scores.baselines: must map names to numbers"),
    "partial record given to replay": (_set(["partial"], True),
                                       "an unfinished game's autosave, not a finished game's record"),
    "partial not a boolean": (_set(["partial"], "yes"), "partial: must be true or false"),
    "old autosave format given to replay": (_set(["format"], "ccsim-autosave"),
                                            "an unfinished game's autosave"),
    "unknown format": (_set(["format"], "pickle"), "not a ccsim game record"),
    "schema version 2": (_set(["schema_version"], 2), "schema_version 2 is not one this version"),
    "schema version as text": (_set(["schema_version"], "1"), "schema_version '1' is not one"),
}

# case -> (bytes of the file from the good record's text and the bomb, fragment)
RAW_CASES = {
    "a million and more empty objects": (
        lambda text, bomb: ("[" + ",".join(["{}"] * 1_200_000) + "]").encode(),
        "more than 1,000,000 JSON entries"),
    "a million empty objects inside a record": (
        lambda text, bomb: text.replace('"scores":{', '"scores":{"junk":[' + ",".join(["{}"] * 1_100_000)
                                        + '],', 1).encode(),
        "more than 1,000,000 JSON entries"),
    "nested 100,000 deep": (lambda text, bomb: _nested(100_000).encode(), "nested too deeply"),
    "NaN": (lambda text, bomb: text.replace('"seed":3', '"seed":NaN', 1).encode(),
            "NaN is not a number in strict JSON"),
    "Infinity in the books": (lambda text, bomb: _books_number(text, "Infinity").encode(),
                              "Infinity is not a number in strict JSON"),
    "-Infinity in the books": (lambda text, bomb: _books_number(text, "-Infinity").encode(),
                               "-Infinity is not a number in strict JSON"),
    "1e400 in the books": (lambda text, bomb: _books_number(text, "1e400").encode(),
                           "1e400 is out of range"),
    "a 5,000-digit number": (lambda text, bomb: text.replace('"seed":3', '"seed":' + "9" * 5000, 1).encode(),
                             "a whole number of 5,000 digits"),
    "duplicate key": (lambda text, bomb: text.replace('"seed":3', '"seed":3,"seed":4', 1).encode(),
                      "duplicate key 'seed'"),
    "latin-1 bytes": (lambda text, bomb: text.replace('"ranker"', '"rank\u00e9r"', 1).encode("latin-1"),
                      "not UTF-8 text"),
    "UTF-16": (lambda text, bomb: text.encode("utf-16"), "not UTF-8 text"),
    "empty file": (lambda text, bomb: b"", "not a complete JSON record"),
    "truncated": (lambda text, bomb: text[: len(text) // 2].encode(), "not a complete JSON record"),
    "a JSON list": (lambda text, bomb: b"[1, 2, 3]", "not a ccsim game record"),
    "a JSON string": (lambda text, bomb: b'"ccsim-record"', "not a ccsim game record"),
    "a rule nested 100,000 deep": (
        lambda text, bomb: text.replace('"tiers":[', '"tiers":[{"name":"x","rule":'
                                        + '{"not":' * 100_000 + '"all"' + "}" * 100_000 + '},', 1).encode(),
        "nested too deeply"),
}


def _books_number(text: str, token: str) -> str:
    start = text.index('"revenue":') + len('"revenue":')
    end = text.index(",", start)
    return text[:start] + token + text[end:]


def _write_case(case: str, good, bomb: str, folder: Path) -> Path:
    path, data = good
    target = folder / "bad.json"
    if case in JSON_CASES:
        changed = copy.deepcopy(data)
        JSON_CASES[case][0](changed, bomb)
        target.write_text(json.dumps(changed))
    else:
        target.write_bytes(RAW_CASES[case][0](path.read_text(), bomb))
    return target


CASES = {**{k: v[1] for k, v in JSON_CASES.items()}, **{k: v[1] for k, v in RAW_CASES.items()}}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_a_hostile_record_is_refused_in_one_line(case, good, bomb, tmp_path):
    path = _write_case(case, good, bomb, tmp_path)
    outcome = run_cli_limited("replay", path, "--no-references")
    assert outcome.ended == "exit" and outcome.status == 2, outcome.describe()
    assert outcome.out == ""
    lines = outcome.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: bad.json: "), outcome.describe()
    assert CASES[case] in lines[0], outcome.describe()
    assert "\x1b" not in outcome.err


BIG_CASES = ["score column inflating 1 GiB", "a million and more empty objects", "NaN",
             "duplicate key", "partial record given to replay"]


@pytest.mark.parametrize("case", BIG_CASES, ids=BIG_CASES)
def test_every_door_to_a_record_refuses_it_the_same_way(case, good, bomb, tmp_path):
    """``ccsim report``, the window's "Open a record" and tournament entries share the reader."""
    path = _write_case(case, good, bomb, tmp_path)
    report = run_cli_limited("report", path, "--out", tmp_path / "report")
    assert report.status == 2 and CASES[case] in report.err, report.describe()
    assert not (tmp_path / "report" / "index.html").exists()

    def open_in_window() -> int:
        # The title scene's "Open a record" reads with partial=True (it resumes autosaves).
        try:
            read_record(path, partial=True)
        except RecordError as exc:
            print(exc)
            return 2
        return 0

    opened = run_limited(open_in_window)
    if case == "partial record given to replay":
        assert opened.status == 0, opened.describe()      # an autosave opens: it resumes
    else:
        assert opened.status == 2 and CASES[case] in opened.out, opened.describe()

    def tournament_entry() -> int:
        from sim.tournament.games import Settings, _record_job

        settings = Settings(load_scenario("coffee").with_prospects(PROSPECTS), 10.0, 0)
        job, rejection = _record_job(path, [3], settings, set(), set())
        print(rejection.reason if rejection else "accepted")
        return 2 if rejection else 0

    entry = run_limited(tournament_entry)
    assert entry.status == 2 and CASES[case] in entry.out, entry.describe()


# ------------------------------------------------------------------ not regular files

def _fifo(folder: Path) -> Path:
    path = folder / "fifo.json"
    os.mkfifo(path)
    return path


def _socket(folder: Path) -> Path:
    path = folder / "socket.json"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()
    return path


def _symlink_to_fifo(folder: Path) -> Path:
    link = folder / "link.json"
    link.symlink_to(_fifo(folder))
    return link


def _sparse(folder: Path) -> Path:
    path = folder / "huge.json"
    with open(path, "wb") as handle:
        handle.truncate(records.MAX_RECORD_BYTES + 1)
    return path


#: case -> (make the path, fragment after "error: <name>: ")
FILE_CASES = {
    "a named pipe": (_fifo, "is a named pipe (FIFO), not a game record"),
    "a symlink to a named pipe": (_symlink_to_fifo, "is a named pipe (FIFO)"),
    "a socket": (_socket, "is a socket, not a game record"),
    "/dev/zero": (lambda folder: Path("/dev/zero"), "is a character device, not a game record"),
    "/dev/urandom": (lambda folder: Path("/dev/urandom"), "is a character device"),
    "a folder": (lambda folder: folder, "is a folder, not a game record"),
    "no such file": (lambda folder: folder / "nothing.json", "no such file"),
    "over the byte cap": (_sparse, f"is larger than a game record can be (at most "
                                   f"{records.MAX_RECORD_BYTES:,} bytes)"),
    "a NUL in the name": (lambda folder: Path(str(folder / "a\0b.json")), "cannot read the file"),
}


@pytest.mark.parametrize("case", list(FILE_CASES), ids=list(FILE_CASES))
def test_what_is_not_a_regular_file_is_refused_without_reading(case, tmp_path):
    path = FILE_CASES[case][0](tmp_path)
    outcome = run_cli_limited("replay", path, seconds=20)
    assert outcome.ended == "exit" and outcome.status == 2, outcome.describe()
    assert FILE_CASES[case][1] in outcome.err and outcome.err.count("\n") == 1, outcome.describe()


# ------------------------------------------------------------------ forged records (finding 2)

def test_a_relabelled_record_claiming_the_oracle_does_not_verify(good, tmp_path):
    path, data = good
    forged = copy.deepcopy(data)
    forged["strategy"] = "oracle"
    forged["scores"]["centricity_score"] = 100.0
    forged["scores"]["baselines"]["oracle"] = forged["scores"]["firm_value"]
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    outcome = run_cli_limited("replay", tmp_path / "forged.json")
    assert outcome.status == 1, outcome.describe()
    assert "differs: scores.baselines.oracle" in outcome.out
    assert "differs: scores.centricity_score: claimed 100.0" in outcome.out
    assert "not verified" in outcome.out and "verified (" not in outcome.out


def test_a_record_naming_an_unknown_baseline_differs(good, tmp_path):
    path, data = good
    forged = copy.deepcopy(data)
    forged["scores"]["baselines"]["genius"] = 1e12
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    outcome = run_cli_limited("replay", tmp_path / "forged.json")
    assert outcome.status == 1, outcome.describe()
    assert ("differs: scores.baselines.genius: claimed 1000000000000.0, recomputed "
            "'(not a reference strategy)'") in outcome.out


def test_the_good_record_verifies(good):
    outcome = run_cli_limited("replay", good[0])
    assert outcome.status == 0 and outcome.out.startswith("verified"), outcome.describe()


def test_a_strategy_name_with_escape_sequences_is_printed_harmlessly(good, tmp_path):
    path, data = good
    named = copy.deepcopy(data)
    named["strategy"] = "\x1b[2J\x1b[31mpwned"
    (tmp_path / "named.json").write_text(json.dumps(named))
    outcome = run_cli_limited("replay", tmp_path / "named.json", "--no-references")
    assert "\x1b" not in outcome.out + outcome.err
    assert "\\x1b[2J" in outcome.err


# ------------------------------------------------------------------ caps, in-process

def test_all_score_columns_together_are_capped(good, monkeypatch):
    path, data = good
    monkeypatch.setattr(records, "MAX_SCORE_BYTES", 8 * PROSPECTS * 3)
    with pytest.raises(RecordError, match=r"turns\[\d+\]\.decision\.scores\.\w: the score columns "
                                          r"decode to more than 12,000 bytes in all"):
        record_from_bytes(path.read_bytes(), "ranker.json")


def test_a_game_too_big_for_this_machine_is_refused_before_replaying(good, monkeypatch):
    from sim import limits

    monkeypatch.setattr(limits, "available_memory_bytes", lambda: 10_000)
    with pytest.raises(RecordError, match=r"ranker\.json: prospects: a game of 500 prospects .* "
                                          r"needs about"):
        record_from_bytes(good[0].read_bytes(), "ranker.json")


def test_a_record_too_big_for_readers_is_not_written(good, monkeypatch, tmp_path):
    record = read_record(good[0])
    monkeypatch.setattr(records, "MAX_RECORD_BYTES", 10_000)
    with pytest.raises(RecordError, match=r"the record would be [\d,]+ bytes, more than a record "
                                          r"may be \(10,000\)"):
        write_record(record, tmp_path / "out.json")
    assert not (tmp_path / "out.json").exists()


def test_the_caps_leave_room_for_what_ccsim_writes(good):
    """The good record is far inside every cap the reader enforces."""
    raw = good[0].read_bytes()
    assert len(raw) < records.MAX_RECORD_BYTES / 1000
    entries = raw.count(b",") + raw.count(b"[") + raw.count(b"{")
    assert 100 < entries < records.MAX_JSON_ENTRIES / 100


def test_a_report_never_replaces_a_symlink_in_its_folder(tmp_path):
    from sim.runner import play_game
    from sim.strategies import get_strategy

    scenario = load_scenario("coffee").with_prospects(PROSPECTS)
    record = write_record(record_of(play_game(scenario, get_strategy("mass-marketing"), 3)),
                          tmp_path / "mass.json")
    folder = tmp_path / "report"
    folder.mkdir()
    precious = tmp_path / "precious.html"
    precious.write_text("keep me")
    (folder / "index.html").symlink_to(precious)
    outcome = run_cli_limited("report", record, "--out", folder, seconds=120)
    assert outcome.status == 2, outcome.describe()
    assert "index.html: is a symbolic link; it is left as it is" in outcome.err
    assert (folder / "index.html").is_symlink() and precious.read_text() == "keep me"
