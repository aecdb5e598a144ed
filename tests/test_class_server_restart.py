"""``ccsim serve`` killed with kill -9 mid-game and started again: every team continues exactly."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys

import pytest

from conftest import ROOT, small

from sim.classnet.remote import ConnectionLost, RemoteSession
from sim.records import read_record, verify_record
from sim.tournament.classplay import new_tournament


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(tmp_path, port: int) -> tuple[subprocess.Popen, dict[str, str], str]:
    """``ccsim serve`` in its own process; (process, team -> code, instructor token) from what it prints."""
    proc = subprocess.Popen([sys.executable, "-m", "sim", "serve", str(tmp_path / "class.json"),
                             "--secret", str(tmp_path / "class.secret.json"), "--host", "127.0.0.1",
                             "--port", str(port), "--state", str(tmp_path / "state"),
                             "--max-rate", "1000"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    codes, lines = {}, []
    for line in proc.stdout:
        lines.append(line)
        m = re.search(r"--team (\S+) --code (\S+)", line)
        if m:
            codes[m[1]] = m[2]
        m = re.search(r"/instructor\?token=(\S+)", line)
        if m:
            return proc, codes, m[1]
    raise AssertionError("".join(lines))


def connect(url: str, team: str, code: str) -> RemoteSession:
    # The server prints before it listens: a refused connection right after is retried.
    for _ in range(100):
        try:
            return RemoteSession.join(url, team, code, timeout=60)
        except ConnectionLost:
            import time
            time.sleep(0.1)
    raise AssertionError("the server never listened")


@pytest.mark.skipif(sys.platform == "win32", reason="kill -9")
def test_a_server_killed_mid_game_resumes_every_team_at_its_turn_with_the_same_codes(tmp_path):
    new_tournament(small("meal_kit", 2000), ["Red", "Blue"], tmp_path / "class.json")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc, codes, token = start(tmp_path, port)
    try:
        red, blue = connect(url, "Red", codes["Red"]), connect(url, "Blue", codes["Blue"])
        for _ in range(3):
            red.end_turn(red.default_plan())
        blue.end_turn(blue.default_plan())
        books = [r.books for r in red.results]
        plan = red.default_plan()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    with pytest.raises(ConnectionLost):
        red.end_turn(plan)
    red.close()
    blue.close()

    proc, again, token_again = start(tmp_path, port)
    try:
        assert again == codes and token_again == token
        red = connect(url, "Red", codes["Red"])
        assert red.turn == 4 and [r.books for r in red.results] == books
        blue = connect(url, "Blue", codes["Blue"])
        assert blue.turn == 2
        while not red.done:
            red.end_turn(red.default_plan())
        red.close()
        blue.close()
    finally:
        proc.terminate()
        proc.wait(30)
        proc.stdout.close()
    record = read_record(tmp_path / "state" / "teams" / "01-Red.json")
    assert record.strategy == "Red" and len(record.decisions) == record.scenario.turns
    assert verify_record(record, references=False) == []
    partial = read_record(tmp_path / "state" / "teams" / "02-Blue.json", partial=True)
    assert partial.partial and len(partial.decisions) == 1
