"""Hostile autosaves (issue 21 findings 1 and 8; issue 17 part 8): one reader, no NaN, no blow-up.

The window's autosave is a partial record read by ``sim.records`` with the
same checks and caps as any record.  Each bad save below is resumed with
``PlayerSession.resume`` in a forked child under a memory and a time limit
and must be refused with an ``AutosaveError`` (a ``SimError``) saying why;
the saves the game itself writes, in today's format or the one autosaves had
before, resume exactly.  Then the writing side: an autosave never replaces a
symbolic link, a device or a read-only file.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import numpy as np
import pytest

from limited import run_limited
from sim.errors import SimError
from sim.output_paths import OutputPathError
from sim.records import MAX_RECORD_BYTES
from sim.scenario import load_scenario
from sim.session import AutosaveError, PlayerSession, TierPlan

PROSPECTS = 3000


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> tuple[Path, dict, PlayerSession]:
    """A game two turns in, its plan ranking customers by the lab's predicted CLV."""
    path = tmp_path_factory.mktemp("save") / "autosave.json"
    session = PlayerSession.new(load_scenario("coffee").with_prospects(PROSPECTS), 5, path)
    plan = session.default_plan()
    plan.tiers = [TierPlan("best", {"top": 0.1, "by": "predicted_clv"}, 5.0),
                  TierPlan("rest", "all", 0.0)]
    session.end_turn(plan)
    session.end_turn(plan)
    data = json.loads(path.read_text())
    assert data["partial"] is True and "scores" in data["turns"][1]["decision"]
    return path, data, session


def _resume(path: Path) -> int:
    try:
        session = PlayerSession.resume(path)
    except AutosaveError as exc:
        assert isinstance(exc, SimError)
        print(exc)
        return 2
    print(f"resumed at turn {session.turn}")
    return 0


def _bomb_column(data: dict) -> None:
    import base64
    import zlib

    column = data["turns"][1]["decision"]["scores"]["predicted_clv"]
    squeeze = zlib.compressobj(9)
    payload = b"".join([squeeze.compress(bytes(1 << 24)) for _ in range(16)] + [squeeze.flush()])
    column["data"] = base64.b64encode(payload).decode()


def _text(data: dict, old: str, new: str) -> bytes:
    text = json.dumps(data, separators=(",", ":"))
    assert old in text, old
    return text.replace(old, new, 1).encode()


def _set(*path, value):
    def change(data: dict):
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


#: case -> (change to the save's JSON (returns bytes to write, or None to dump it), fragment)
CASES = {
    "NaN in the books": (lambda d: _text(d, '"revenue":', '"revenue":NaN,"x":'),
                         "the save is damaged and cannot be read (NaN is not a number in strict JSON"),
    "Infinity as the lab's turn": (lambda d: _text(d, f'"lab_fitted_turn":{d["lab_fitted_turn"]}',
                                                   '"lab_fitted_turn":Infinity'),
                                   "Infinity is not a number in strict JSON"),
    "1e999 in the books": (lambda d: _text(d, '"profit":', '"profit":1e999,"x":'), "out of range"),
    "a score column inflating 256 MiB": (_bomb_column, "scores.predicted_clv: holds more than"),
    "a million and more empty objects": (
        lambda d: ("[" + ",".join(["{}"] * 1_100_000) + "]").encode(), "more than 1,000,000 JSON entries"),
    "duplicate key": (lambda d: _text(d, '"seed":5', '"seed":5,"seed":6'), "duplicate key 'seed'"),
    "13 turns saved": (lambda d: d["turns"].extend([d["turns"][0]] * 11), "turns: 13 turns saved"),
    "lab turn as text": (_set("lab_fitted_turn", value="two"), "lab_fitted_turn: must be a turn"),
    "lab turn 99": (_set("lab_fitted_turn", value=99), "lab_fitted_turn: must be a turn"),
    "lab turn true": (_set("lab_fitted_turn", value=True), "lab_fitted_turn: must be a turn"),
    "partial as text": (_set("partial", value="yes"), "partial: must be true or false"),
    "another format": (_set("format", value="ccsim-savegame"), "not a saved ccsim game"),
    "schema 2": (_set("schema_version", value=2), "schema_version 2"),
    "books edited": (lambda d: d["turns"][0]["books"].update(profit=d["turns"][0]["books"]["profit"] + 1),
                     "turn 1 plays out differently from the save"),
    "another seed": (_set("seed", value=6), "autosave.json: turn 1"),
    "the margin edited": (lambda d: d["scenario"]["content"].update(gross_margin=0.9),
                          "turn 1 plays out differently from the save"),
    "a decision over budget": (lambda d: d["turns"][0]["decision"]["acquisition"].update(
        office_cards=1e9), "turn 1's decision is refused"),
    "a decision with an unknown field": (
        lambda d: d["turns"][0]["decision"]["tiers"][0].update(rule={"field": "wealth", "op": ">",
                                                                      "value": 1}),
        "unknown field 'wealth'"),
    "books of another shape": (lambda d: d["turns"][0].update(books=[1, 2]), "books: must be a mapping"),
    "seed negative": (_set("seed", value=-1), "seed: must be a whole number >= 0"),
    "empty file": (lambda d: b"", "not a complete JSON record"),
    "truncated": (lambda d: json.dumps(d).encode()[:500], "not a complete JSON record"),
    "latin-1": (lambda d: json.dumps(d).replace('"player"', '"pl\u00e4yer"').encode("latin-1"),
                "not UTF-8 text"),
    "nested 100,000 deep": (lambda d: ("[" * 100_000 + "]" * 100_000).encode(), "nested too deeply"),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_a_bad_save_is_refused_with_a_message(case, saved, tmp_path):
    change, fragment = CASES[case]
    data = copy.deepcopy(saved[1])
    written = change(data)
    path = tmp_path / "autosave.json"
    path.write_bytes(written if isinstance(written, bytes) else json.dumps(data).encode())
    outcome = run_limited(_resume, path)
    assert outcome.ended == "exit" and outcome.status == 2, outcome.describe()
    assert outcome.out.startswith("autosave.json: ") and fragment in outcome.out, outcome.describe()


def _fifo(folder: Path) -> Path:
    os.mkfifo(folder / "autosave.json")
    return folder / "autosave.json"


def _huge(folder: Path) -> Path:
    path = folder / "autosave.json"
    with open(path, "wb") as handle:
        handle.truncate(MAX_RECORD_BYTES + 1)
    return path


FILES = {
    "a named pipe": (_fifo, "is a named pipe (FIFO)"),
    "/dev/zero": (lambda folder: Path("/dev/zero"), "zero: is a character device"),
    "a folder": (lambda folder: folder, "is a folder"),
    "no save": (lambda folder: folder / "autosave.json", "autosave.json: there is no saved game"),
    "larger than a record": (_huge, "is larger than a game record can be"),
}


@pytest.mark.parametrize("case", list(FILES), ids=list(FILES))
def test_a_save_that_is_not_a_regular_file_is_refused_at_once(case, tmp_path):
    make, fragment = FILES[case]
    outcome = run_limited(_resume, make(tmp_path), seconds=20)
    assert outcome.status == 2 and fragment in outcome.out, outcome.describe()


def test_a_save_resumes_exactly(saved):
    path, data, session = saved
    resumed = PlayerSession.resume(path)
    assert resumed.turn == session.turn == 3
    assert [r.books for r in resumed.results] == [r.books for r in session.results]
    assert resumed.decisions == session.decisions
    np.testing.assert_array_equal(resumed.lab.value.predicted_clv, session.lab.value.predicted_clv)


def test_a_save_in_the_old_format_still_resumes(saved, tmp_path):
    """Saves written before autosaves were partial records: same document, another format name."""
    path, data, session = saved
    old = copy.deepcopy(data)
    old["format"] = "ccsim-autosave"
    (tmp_path / "old.json").write_text(json.dumps(old))
    resumed = PlayerSession.resume(tmp_path / "old.json")
    assert [r.books for r in resumed.results] == [r.books for r in session.results]
    assert resumed.lab.fitted_turn == session.lab.fitted_turn


def test_a_finished_games_record_resumes_to_its_end(tmp_path):
    session = PlayerSession.new(load_scenario("direct_seller").with_prospects(1000), 2,
                                tmp_path / "autosave.json")
    while not session.done:
        session.end_turn(session.default_plan())
    data = json.loads((tmp_path / "autosave.json").read_text())
    assert "partial" not in data and len(data["turns"]) == session.scenario_for_scoring.turns
    assert PlayerSession.resume(tmp_path / "autosave.json").done


# ------------------------------------------------------------------ writing the save

def _session(path: Path) -> PlayerSession:
    return PlayerSession.new(load_scenario("coffee").with_prospects(1000), 1, path)


def test_an_autosave_never_replaces_a_symlink(tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    link = tmp_path / "autosave.json"
    link.symlink_to(target)
    session = _session(link)
    with pytest.raises(OutputPathError, match="autosave.json: is a symbolic link"):
        session.end_turn(session.default_plan())
    assert link.is_symlink() and target.read_text() == "keep me"


def test_an_autosave_never_replaces_a_read_only_file(tmp_path):
    path = tmp_path / "autosave.json"
    path.write_text("keep me")
    path.chmod(0o444)
    session = _session(path)
    with pytest.raises(OutputPathError, match="the file is read-only"):
        session.end_turn(session.default_plan())
    assert path.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["autosave.json"]


def test_an_autosave_onto_a_device_is_refused():
    session = _session(Path("/dev/null"))
    with pytest.raises(OutputPathError, match="null: is a character device"):
        session.end_turn(session.default_plan())
    assert Path("/dev/null").is_char_device()


def test_an_autosave_in_a_missing_folder_says_so(tmp_path):
    session = _session(tmp_path / "gone" / "autosave.json")
    with pytest.raises(OutputPathError, match="cannot write the autosave .*No such file"):
        session.end_turn(session.default_plan())
