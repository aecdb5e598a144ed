"""Hostile command lines (issue 21 findings 6, 8, 10, 11): exit 2 in one line, before any work.

A table of bad arguments and output paths, each run in a forked child under a
memory and a time limit (``tests/limited.py``).  Every output path is checked
before the game is played (so nothing is played: no progress line appears),
and a symbolic link, a device, a read-only file or folder, a missing or
unwritable folder, a file where a folder belongs (and the reverse) and an
empty path are refused by name.  Then ``ccsim``'s own exception handling,
``python -m sim.limits`` and a folder that shares a shipped scenario's name.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import sim.cli  # noqa: F401 - imported once here, so each forked case starts at once
from conftest import ROOT, SCENARIO_DIR, run_cli
from limited import run_cli_limited

CSV = "frequency,recency,T\n" + "".join(f"{x},{t},40\n" for x, t in [
    (1, 5), (2, 30), (0, 0), (3, 38), (1, 12), (0, 0), (4, 39), (2, 20), (1, 30), (0, 0)])


@pytest.fixture
def place(tmp_path) -> dict[str, Path]:
    """Files and folders of every awkward kind, by name (used as ``{NAME}`` in the table)."""
    p = {
        "DIR": tmp_path / "folder",
        "FILE": tmp_path / "file.txt",
        "RO_FILE": tmp_path / "read-only.json",
        "RO_DIR": tmp_path / "read-only-folder",
        "LINK": tmp_path / "link.json",
        "DANGLING": tmp_path / "dangling.json",
        "FIFO": tmp_path / "fifo",
        "SCENARIO": tmp_path / "shop.yaml",
        "HUGE": tmp_path / "huge.yaml",
        "CSV": tmp_path / "summary.csv",
        "OUT": tmp_path / "out",
        "LAUGHS": tmp_path / "laughs.yaml",
    }
    p["DIR"].mkdir()
    p["FILE"].write_text("keep me")
    p["RO_FILE"].write_text("keep me")
    p["RO_FILE"].chmod(0o444)
    p["RO_DIR"].mkdir()
    p["RO_DIR"].chmod(0o555)
    p["LINK"].symlink_to(p["FILE"])
    p["DANGLING"].symlink_to(tmp_path / "nowhere.json")
    os.mkfifo(p["FIFO"])
    p["SCENARIO"].write_text((SCENARIO_DIR / "coffee.yaml").read_text())
    with open(p["HUGE"], "wb") as handle:
        handle.truncate(8 * 1024 * 1024 + 1)
    p["CSV"].write_text(CSV)
    # A billion laughs: ten aliases of ten aliases ... nine deep, given as the number of turns.
    laughs = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"] + [
        f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    p["LAUGHS"].write_text("\n".join(laughs) + "\n" + p["SCENARIO"].read_text().replace(
        "\nturns: 12", "\nturns: *a9", 1))
    yield p
    p["RO_DIR"].chmod(0o755)


RUN = ["run", "coffee", "--prospects", "500"]

#: case -> (arguments, with {NAME} for a path of ``place``; fragment of the last stderr line)
CASES = {
    # --record: checked before the game
    "record empty": (RUN + ["--record", ""], "--record: the path is empty"),
    "record a folder": (RUN + ["--record", "{DIR}"], "is a folder; give a file name"),
    "record in a missing folder": (RUN + ["--record", "{DIR}/missing/game.json"], "no such folder"),
    "record under a file": (RUN + ["--record", "{FILE}/game.json"],
                            "a part of the path is a file, not a folder"),
    "record over a read-only file": (RUN + ["--record", "{RO_FILE}"],
                                     "the file is read-only; it is left as it is"),
    "record in a read-only folder": (RUN + ["--record", "{RO_DIR}/game.json"],
                                     "cannot write in the folder"),
    "record over a symlink": (RUN + ["--record", "{LINK}"], "is a symbolic link; it is left as it is"),
    "record over a dangling symlink": (RUN + ["--record", "{DANGLING}"], "is a symbolic link"),
    "record onto /dev/null": (RUN + ["--record", "/dev/null"], "is a character device"),
    "record onto a named pipe": (RUN + ["--record", "{FIFO}"], "is a named pipe (FIFO)"),
    "record over the scenario played": (["run", "{SCENARIO}", "--record", "{SCENARIO}"],
                                        "would overwrite the input file"),
    # numbers
    "prospects 99": (RUN[:2] + ["--prospects", "99"], "--prospects must be at least 100"),
    "prospects 1e3": (RUN[:2] + ["--prospects", "1e3"], "--prospects must be a whole number"),
    "prospects -0": (RUN[:2] + ["--prospects", "-0"], "--prospects must be at least 100"),
    "seed blank": (RUN + ["--seed", " "], "--seed must be a whole number"),
    "seed in full-width digits": (RUN + ["--seed", "\uff15"], "--seed must be a whole number"),
    "seed 2^63": (RUN + ["--seed", str(2 ** 63)], "--seed must be at most"),
    "workers 0": (RUN + ["--workers", "0"], "--workers must be at least 1"),
    "workers 65": (RUN + ["--workers", "65"], "--workers must be at most 64"),
    "unknown strategy": (RUN + ["--strategy", "genius"], "unknown strategy 'genius'"),
    "empty strategy": (RUN + ["--strategy", ""], "unknown strategy ''"),
    # scenarios that are not regular files
    "scenario empty": (["run", ""], "scenario: the name is empty"),
    "scenario /dev/zero": (["run", "/dev/zero"], "zero: is a character device, not a scenario"),
    "scenario a named pipe": (["validate", "{FIFO}"], "fifo: is a named pipe (FIFO), not a scenario"),
    "scenario a folder": (["run", "{DIR}"], "is a folder, not a scenario file"),
    "scenario over 8 MiB": (["validate", "{HUGE}"], "is larger than a scenario can be"),
    "scenario /dev/urandom": (["validate", "/dev/urandom"], "is a character device"),
    "scenario name with a path": (["run", "../coffee"], "no such file and no shipped scenario"),
    "a billion laughs": (["validate", "{LAUGHS}"], "laughs.yaml: turns: must be a whole number, got a list"),
    # report --out and demo --screenshots: folders
    "report out empty": (["report", "{FILE}", "--out", ""], "--out: the path is empty"),
    "report out a file": (["report", "{FILE}", "--out", "{FILE}"], "is a file, not a folder"),
    "report out read-only": (["report", "{FILE}", "--out", "{RO_DIR}"], "cannot write in the folder"),
    "report out under read-only": (["report", "{FILE}", "--out", "{RO_DIR}/a/b"],
                                   "cannot write in the folder"),
    "report out under a file": (["report", "{FILE}", "--out", "{FILE}/charts"],
                                "a part of the path is a file"),
    "report out /dev/null": (["report", "{FILE}", "--out", "/dev/null"],
                             "is a character device, not a folder"),
    "report out a named pipe": (["report", "{FILE}", "--out", "{FIFO}"], "is a named pipe (FIFO)"),
    "report of a folder": (["report", "{DIR}", "--out", "{OUT}"], "is a folder, not a game record"),
    "screenshots into a file": (["demo", "--screenshots", "{FILE}"], "is a file, not a folder"),
    "screenshots empty": (["demo", "--screenshots", ""], "--screenshots: the path is empty"),
    "screenshots read-only": (["demo", "--screenshots", "{RO_DIR}"], "cannot write in the folder"),
    "screenshots 100000x100000": (["demo", "--screenshots", "{OUT}", "--size", "100000x100000"],
                                  "--size width must be at most 7,680"),
    "screenshots of a named pipe": (["demo", "{FIFO}", "--screenshots", "{OUT}"],
                                    "is a named pipe (FIFO), not a scenario"),
    "screenshots prospects 0": (["demo", "--screenshots", "{OUT}", "--prospects", "0"],
                                "--prospects must be at least 100"),
    # tournaments
    "tournament out a file": (["tournament", "coffee", "--entries", "{FILE}", "--out", "{FILE}"],
                              "--out {FILE}: is a file, not a folder"),
    "tournament out read-only": (["tournament", "coffee", "--entries", "{FILE}", "--out", "{RO_DIR}"],
                                 "cannot write in the folder"),
    "class tournament out a folder": (["tournament", "new", "coffee", "--teams", "A,B", "--out", "{DIR}"],
                                      "is a folder; give a file name"),
    "class tournament out /dev/null": (["tournament", "new", "coffee", "--teams", "A", "--out",
                                        "/dev/null"], "is a character device"),
    # fit --predict and its numbers
    "predict over a symlink": (["fit", "{CSV}", "--model", "bgnbd", "--predict", "{LINK}", "--horizon", "5"],
                               "--predict {LINK}: is a symbolic link"),
    "predict onto /dev/null": (["fit", "{CSV}", "--model", "bgnbd", "--predict", "/dev/null",
                                "--horizon", "5"], "is a character device"),
    "predict over the input": (["fit", "{CSV}", "--model", "bgnbd", "--predict", "{CSV}", "--horizon", "5"],
                               "would overwrite the input file"),
    "predict empty": (["fit", "{CSV}", "--model", "bgnbd", "--predict", "", "--horizon", "5"],
                      "--predict: the path is empty"),
    "predict into a folder": (["fit", "{CSV}", "--model", "bgnbd", "--predict", "{DIR}", "--horizon", "5"],
                              "is a folder; give a file name"),
    "horizon in Arabic-Indic digits": (["fit", "{CSV}", "--model", "bgnbd", "--predict", "{OUT}.csv",
                                        "--horizon", "\u0661\u0660"], "--horizon must be a plain decimal"),
    "horizon 1e400": (["fit", "{CSV}", "--model", "bgnbd", "--predict", "{OUT}.csv", "--horizon", "1e400"],
                      "--horizon must be at most 10,000"),
    "horizon 1_0": (["fit", "{CSV}", "--model", "bgnbd", "--predict", "{OUT}.csv", "--horizon", "1_0"],
                    "--horizon must be a plain decimal"),
    "discount rate 5": (["fit", "{CSV}", "--model", "pareto_nbd", "--predict", "{OUT}.csv", "--horizon",
                         "5", "--discount-rate", "5"], "--discount-rate must be at most 1"),
    "discount rate inf": (["fit", "{CSV}", "--model", "pareto_nbd", "--predict", "{OUT}.csv",
                           "--horizon", "5", "--discount-rate", "inf"],
                          "--discount-rate must be a plain decimal"),
    # replay
    "replay an empty name": (["replay", ""], "a game record: the file name is empty"),
    "replay a named pipe": (["replay", "{FIFO}"], "is a named pipe (FIFO)"),
}


def _argv(args: list[str], place: dict[str, Path]) -> list[str]:
    out = []
    for arg in args:
        for name, path in place.items():
            arg = arg.replace("{" + name + "}", str(path))
        out.append(arg)
    return out


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_arguments_and_output_paths_exit_2_before_any_work(case, place, tmp_path):
    args, fragment = CASES[case]
    before = {p: p.read_bytes() for p in (place["FILE"], place["RO_FILE"], place["SCENARIO"])}
    outcome = run_cli_limited(*_argv(args, place), seconds=30)
    assert outcome.ended == "exit" and outcome.status == 2, outcome.describe()
    assert outcome.out == "" and "Traceback" not in outcome.err, outcome.describe()
    lines = outcome.err.splitlines()
    # One line of ours; argparse's own refusals print the usage above their one line.
    assert len(lines) == 1 or (lines[0].startswith("usage:") and ": error: " in lines[-1]), \
        outcome.describe()
    assert _argv([fragment], place)[0] in lines[-1], outcome.describe()
    assert "playing" not in outcome.err          # no game was played before the refusal
    assert all(p.read_bytes() == data for p, data in before.items())
    assert place["LINK"].is_symlink() and place["DANGLING"].is_symlink()
    assert not place["OUT"].exists()


def test_a_record_that_can_be_written_is_written_after_the_game(place):
    outcome = run_cli_limited("run", "coffee", "--prospects", "500", "--record", place["OUT"])
    assert outcome.status == 0, outcome.describe()
    assert "record written to" in outcome.err and place["OUT"].is_file()


# ------------------------------------------------------------------ ccsim's own exception handling

@pytest.mark.parametrize("raised, status, line", [
    (ValueError("an internal slip"), 3, "internal error: ValueError: an internal slip; details"),
    (KeyError("x"), 3, "internal error: KeyError: 'x'; details"),
    (RuntimeError("boom"), 3, "internal error: RuntimeError: boom; details"),
    (RecursionError("deep"), 3, "internal error: RecursionError: deep; details"),
], ids=["ValueError", "KeyError", "RuntimeError", "RecursionError"])
def test_an_unexpected_exception_is_one_line_and_exit_3(raised, status, line, monkeypatch, capsys):
    def broken(args):
        raise raised

    monkeypatch.setattr(sim.cli, "_cmd_scenarios", broken)
    code, out, err = run_cli(capsys, "scenarios")
    assert code == status and out == ""
    assert err.count("\n") == 1 and err.startswith(line), err
    Path(err.rsplit("written to ", 1)[1].strip()).unlink()


def test_every_refusal_class_exits_2(monkeypatch, capsys):
    from sim.output_paths import OutputPathError
    from sim.records import RecordError
    from sim.session import AutosaveError
    from sim.tournament import TournamentError

    for error in (TournamentError, OutputPathError, RecordError, AutosaveError):
        def refuse(args, error=error):
            raise error("named: bad")

        monkeypatch.setattr(sim.cli, "_cmd_scenarios", refuse)
        code, out, err = run_cli(capsys, "scenarios")
        assert (code, err) == (2, "error: named: bad\n"), error


def test_a_closed_stdout_is_not_a_traceback():
    done = subprocess.run(f"{sys.executable} -m sim scenarios | head -c 1", shell=True,
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


# ------------------------------------------------------------------ the rest of finding 11

def test_python_m_sim_limits_prints_the_table_and_no_warning():
    done = subprocess.run([sys.executable, "-W", "error", "-m", "sim.limits"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout == (ROOT / "docs" / "scenario-limits.md").read_text()


def test_a_folder_named_like_a_shipped_scenario_does_not_hide_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "coffee").mkdir()
    code, out, err = run_cli(capsys, "validate", "coffee")
    assert code == 0 and out.startswith("ok: coffee (")
    code, out, err = run_cli(capsys, "run", "coffee", "--prospects", "500", "--json")
    assert code == 0 and '"scenario": "coffee"' in out


def test_a_file_named_like_a_shipped_scenario_is_still_the_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "coffee").write_text("turns: [")
    code, out, err = run_cli(capsys, "validate", "coffee")
    assert code == 2 and err.startswith("error: coffee: not valid YAML")
