"""Tournament speed: 40 bot entries x 5 hidden markets at a shipped scenario's default size.

Measures the wall time of a whole tournament with 1 and with 2 worker
processes (each bot sandboxed in its own process, forked from a fork server
that has imported what bots import; references played once per market),
how long a bot takes to start (from ``SandboxedBot.reset`` to the bot's
"ready"), and a re-run over the finished output (every stored game verified
by replay, nothing played).  ``--attacks`` also measures issue 18's
attacks 6 and 7 (a reply with 3,000 score columns; 100 tiers x 2,400 rule
conditions) through ``ccsim run``: the time and the engine's peak memory
until the refusal.

    python benchmarks/tournament.py [--scenario direct_seller] [--bots 40] [--markets 5]
                                    [--workers 1,2] [--prospects N] [--attacks]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.scenario import load_scenario  # noqa: E402
from sim.tournament import Markets, Settings, run_tournament  # noqa: E402
from sim.tournament.keys import new_key  # noqa: E402

#: A family of simple bots: a share of the marketing budget spread over
#: the cheapest channels, and service for the top customers by profit.
BOT = '''
from sim.decisions import Decision, Tier


class Bot:
    name = "bot{i:02d}"

    def reset(self, scenario, seed=None):
        self.scenario = scenario

    def decide(self, observation, truth=None):
        s = self.scenario
        channels = s.channels[:{channels}]
        share = {acquisition} * 0.6 * s.budget.marketing / len(channels)
        n = max(int(observation.active.sum()), 1)
        level = min({service}, 0.4 * s.budget.marketing / max(n * {top}, 1))
        return Decision({{c.name: share for c in channels}},
                        (Tier("top", {{"top": {top}, "by": "profit_per_turn"}}, level),))
'''

ATTACKS = {
    "6: 3,000 score columns": '''
import numpy as np
import sim.tournament.botproc as botproc
from sim import Decision, Tier

botproc.essential_scores = lambda decision, n, observable: decision


class Bot:
    name = "columns"

    def reset(self, scenario, seed=None):
        pass

    def decide(self, observation, truth=None):
        scores = {f"s{i}": np.full(observation.n_customers, float(i)) for i in range(3000)}
        return Decision({}, (Tier("t", {"field": "s1", "op": ">", "value": 0}, 0.0),), scores)
''',
    "7: 100 tiers x 2,400 conditions": '''
from sim import Decision, Tier


class Bot:
    name = "conditions"

    def reset(self, scenario, seed=None):
        pass

    def decide(self, observation, truth=None):
        rule = {"all": [{"field": "profit", "op": ">", "value": -1e9 - i} for i in range(2400)]}
        return Decision({}, tuple(Tier(f"t{k}", rule, 0.0) for k in range(100)))
''',
}


def write_bots(folder: Path, count: int) -> list[Path]:
    paths = []
    for i in range(count):
        path = folder / f"bot{i:02d}.py"
        path.write_text(BOT.format(i=i, channels=1 + i % 3, acquisition=0.2 + 0.8 * (i % 5) / 4,
                                   service=1.0 + 2 * (i % 4), top=0.05 + 0.05 * (i % 3)))
        paths.append(path)
    return paths


def bot_starts(folder: Path) -> list[float]:
    """Seconds from reset to ready of every bot game stored under ``folder`` (hidden: unsealed)."""
    import json

    from sim.tournament.keys import parse_key, unseal

    key = json.loads((folder / "markets.json").read_text())["key"]
    starts = []
    for path in (folder / "games").glob("bot--*.json"):
        game = json.loads(unseal(parse_key(key), json.loads(path.read_text())["sealed"], path.name))
        if game.get("start_seconds") is not None:
            starts.append(game["start_seconds"])
    return starts


def measure_attacks(work: Path) -> None:
    """Each attack through ``ccsim run`` at 20,000 prospects: time and the engine's peak RSS."""
    for name, text in ATTACKS.items():
        bot = work / f"attack{name[0]}.py"
        bot.write_text(text)
        code = ("import resource, sys\nfrom sim.cli import main\n"
                f"code = main(['run', 'coffee', '--strategy', {str(bot)!r}, '--prospects', '20000',"
                " '--workers', '1'])\n"
                "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
                "sys.exit(code)\n")
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        seconds = time.perf_counter() - started
        peak = int(done.stderr.rsplit("PEAK", 1)[1].split()[0]) / 1024
        error = next((line for line in done.stderr.splitlines() if line.startswith("error")), "")
        print(f"attack {name}: exit {done.returncode} after {seconds:.1f} s, engine peak "
              f"{peak:,.0f} MB: {error[-160:]}", flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenario", default="direct_seller")
    p.add_argument("--bots", type=int, default=40)
    p.add_argument("--markets", type=int, default=5)
    p.add_argument("--workers", default="1,2")
    p.add_argument("--prospects", type=int, default=None)
    p.add_argument("--attacks", action="store_true", help="also measure attacks 6 and 7")
    args = p.parse_args()
    scenario = load_scenario(args.scenario)
    if args.prospects:
        scenario = scenario.with_prospects(args.prospects)
    settings = Settings(scenario, turn_seconds=30.0, memory_mb=1024)
    work = Path(tempfile.mkdtemp(prefix="ccsim-bench-tournament-"))
    try:
        print(f"load average at start: {Path('/proc/loadavg').read_text().split()[:3]}"
              if Path("/proc/loadavg").exists() else "load average: unknown")
        if args.attacks:
            measure_attacks(work)
        bots = write_bots(work, args.bots)
        print(f"{scenario.key}: {scenario.prospects:,} prospects, {args.bots} bots x "
              f"{args.markets} hidden markets (+ references): "
              f"{args.bots * args.markets + 5 * args.markets} games")
        for workers in map(int, args.workers.split(",")):
            out = work / f"out-{workers}"
            markets = Markets.hidden(args.markets, new_key())
            started = time.perf_counter()
            result = run_tournament(bots, markets, out, settings, workers=workers, progress=False)
            elapsed = time.perf_counter() - started
            failed = sum(len(s.failures) for s in result.standings)
            starts = sorted(bot_starts(out))
            print(f"workers={result.workers}: {elapsed:7.1f} s for {result.played} games "
                  f"({failed} failures)", flush=True)
            if starts:
                print(f"  bot start (reset to ready): median {1e3 * statistics.median(starts):.0f} "
                      f"ms, 90th percentile {1e3 * starts[int(0.9 * (len(starts) - 1))]:.0f} ms, "
                      f"max {1e3 * starts[-1]:.0f} ms over {len(starts)} bots (the first in each "
                      "worker starts its fork server)", flush=True)
            started = time.perf_counter()
            again = run_tournament(bots, markets, out, settings, workers=workers, progress=False)
            print(f"workers={again.workers}: re-run over finished output "
                  f"{time.perf_counter() - started:.1f} s ({again.played} games played, "
                  f"{again.reused} verified by replay and reused)", flush=True)
        print(result.table().splitlines()[3])
        print(f"load average at end: {Path('/proc/loadavg').read_text().split()[:3]}"
              if Path("/proc/loadavg").exists() else "")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
