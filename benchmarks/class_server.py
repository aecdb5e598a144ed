"""Class server load: 30 headless teams on localhost play a whole game of each shipped scenario.

For each scenario a class tournament is made at the class size
(``--prospects``, default ``CLASS_PROSPECTS``) and ``ccsim serve`` is
started in its own process.  30 teams join over websockets (aiohttp
clients in this process, each rebuilding its observation from the deltas
as the window does) and every turn all 30 end the turn at once.  Measured:

* End turn -> results at the client: from sending the decision to holding
  the turn's message (books and the next observation's delta), per team per
  turn; median, p95 and max;
* the server's resident memory peak (VmHWM of its process);
* the load average while it ran.

In one scenario (``--kill-scenario``) the server is killed with SIGKILL at a
random turn (``--kill-seed``) and started again on the same state folder:
every team joins again with its code and continues.  At the end every
team's final record (every scenario) is verified by replay
(``sim.records.verify_record``, as ``ccsim replay --no-references``).

    python benchmarks/class_server.py [--teams 30] [--prospects 50000] [--scenarios coffee,...]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.classnet import wire  # noqa: E402
from sim.records import read_record, verify_record  # noqa: E402
from sim.scenario import load_scenario, shipped_scenario_names  # noqa: E402
from sim.tournament.classplay import new_tournament  # noqa: E402
from sim.tournament.protocol import ObservationMirror  # noqa: E402

#: The class default size (README, "Running a class tournament").
CLASS_PROSPECTS = 50_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(folder: Path, port: int) -> tuple[subprocess.Popen, dict[str, str]]:
    proc = subprocess.Popen([sys.executable, "-m", "sim", "serve", str(folder / "class.json"),
                             "--secret", str(folder / "class.secret.json"), "--host", "127.0.0.1",
                             "--port", str(port), "--state", str(folder / "state"), "--max-rate", "100"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    codes = {}
    for line in proc.stdout:
        m = re.search(r"--team (\S+) --code (\S+)", line)
        if m:
            codes[m[1]] = m[2]
        if "/instructor?token=" in line:
            return proc, codes
    raise RuntimeError("the server did not start")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Team:
    """A headless team: a websocket, the rebuilt observation, a simple plan of its own."""

    def __init__(self, name: str, index: int, code: str):
        self.name, self.index, self.code = name, index, code
        self.latencies: list[float] = []

    async def join(self, session: aiohttp.ClientSession, url: str) -> None:
        for _ in range(200):
            try:
                self.ws = await session.ws_connect(url.replace("http", "ws") + "/ws",
                                                   max_msg_size=wire.MAX_SERVER_MESSAGE)
                break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
        await self.ws.send_str(wire.dumps({"op": "join", "team": self.name, "code": self.code}))
        welcome = wire.loads((await self.ws.receive()).data, wire.MAX_SERVER_MESSAGE)
        assert welcome["op"] == "welcome", welcome
        self.public = wire.public_from_json(welcome["public"])
        self.mirror = ObservationMirror(self.public, self.public.warmup_turns + self.public.turns)
        self.obs = self.mirror.apply(wire.decode_delta(welcome["observation"]))

    def decision(self) -> dict:
        """A share of the budget on acquisition (a team's own mix), the rest as service for all."""
        p = self.public
        budget = p.budget.marketing
        share = 0.3 + 0.4 * (self.index % 7) / 6
        names = p.channel_names
        weights = np.array([1.0 + ((self.index + i) % 3) for i in range(len(names))])
        acquisition = {c: float(budget * share * w / weights.sum()) for c, w in zip(names, weights)}
        servable = max(1, int(np.count_nonzero(self.obs.active)))
        service = min(2.0 + self.index % 5, 0.95 * budget * (1 - share) / servable)
        return {"acquisition": acquisition, "tiers": [{"name": "all", "rule": "all", "service": service}]}

    async def end_turn(self) -> None:
        turn = self.obs.turn
        started = time.perf_counter()
        await self.ws.send_str(wire.dumps({"op": "end_turn", "turn": turn, "decision": self.decision()}))
        message = wire.loads((await self.ws.receive()).data, wire.MAX_SERVER_MESSAGE)
        self.latencies.append(time.perf_counter() - started)
        assert message["op"] == "turn", message
        self.obs = self.mirror.apply(wire.decode_delta(message["observation"]))


async def play(url: str, codes: dict[str, str], turns: int, kill_at: int | None, restart) -> list[Team]:
    teams = [Team(name, i, codes[name]) for i, name in enumerate(codes)]
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(t.join(session, url) for t in teams))
        for turn in range(1, turns + 1):
            if turn == kill_at:
                restart()
                await asyncio.gather(*(t.ws.close() for t in teams))
                await asyncio.gather(*(t.join(session, url) for t in teams))
                assert all(t.obs.turn == turn for t in teams), "a team did not continue at its turn"
            await asyncio.gather(*(t.end_turn() for t in teams))
        await asyncio.gather(*(t.ws.close() for t in teams))
    return teams


def run_scenario(name: str, args, folder: Path, kill: bool) -> dict:
    scenario = load_scenario(name).with_prospects(args.prospects)
    teams = [f"T{i + 1:02d}" for i in range(args.teams)]
    new_tournament(scenario, teams, folder / "class.json")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc, codes = start_server(folder, port)
    procs = [proc]
    kill_at = int(np.random.default_rng(args.kill_seed).integers(2, scenario.turns + 1)) if kill else None

    def restart():
        os.kill(procs[-1].pid, 0)
        rss.append(peak_rss_mb(procs[-1].pid))
        procs[-1].send_signal(signal.SIGKILL)
        procs[-1].wait()
        again, again_codes = start_server(folder, port)
        assert again_codes == codes
        procs.append(again)

    rss: list[float] = []
    load0 = os.getloadavg()
    started = time.perf_counter()
    played = asyncio.run(play(url, codes, scenario.turns, kill_at, restart))
    wall = time.perf_counter() - started
    rss.append(peak_rss_mb(procs[-1].pid))
    load1 = os.getloadavg()
    procs[-1].terminate()
    procs[-1].wait(60)
    latencies = sorted(x for t in played for x in t.latencies)
    verified = 0
    for path in sorted((folder / "state" / "teams").glob("*.json")):
        record = read_record(path)
        assert not record.partial and verify_record(record, references=False) == [], path
        verified += 1
    return {"scenario": name, "turns": scenario.turns, "wall": wall,
            "median": statistics.median(latencies), "p95": latencies[int(0.95 * (len(latencies) - 1))],
            "max": latencies[-1], "rss": max(rss), "load": (load0, load1), "kill_at": kill_at,
            "verified": verified}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=30)
    parser.add_argument("--prospects", type=int, default=CLASS_PROSPECTS)
    parser.add_argument("--scenarios", default=",".join(shipped_scenario_names()))
    parser.add_argument("--kill-scenario", default="coffee")
    parser.add_argument("--kill-seed", type=int, default=19)
    args = parser.parse_args()
    print(f"{args.teams} teams, {args.prospects:,} prospects, {os.cpu_count()} cores")
    print(f"{'scenario':<17} {'turns':>5} {'median s':>9} {'p95 s':>7} {'max s':>7} {'RSS MB':>7} "
          f"{'wall s':>7} {'load 1m':>12} {'killed at':>9} {'verified':>8}")
    for name in args.scenarios.split(","):
        with tempfile.TemporaryDirectory(prefix="ccsim-class-bench-") as tmp:
            r = run_scenario(name, args, Path(tmp), kill=name == args.kill_scenario)
        print(f"{r['scenario']:<17} {r['turns']:>5} {r['median']:>9.3f} {r['p95']:>7.3f} {r['max']:>7.3f} "
              f"{r['rss']:>7.0f} {r['wall']:>7.1f} {r['load'][0][0]:>5.2f}->{r['load'][1][0]:<5.2f} "
              f"{r['kill_at'] or '-':>9} {r['verified']:>8}", flush=True)


if __name__ == "__main__":
    main()
