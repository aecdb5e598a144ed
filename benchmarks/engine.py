#!/usr/bin/env python3
"""Engine benchmark: time, memory and a per-customer Python loop for comparison.

Run from the repository root::

    PYTHONPATH=. python3 benchmarks/engine.py                 # defaults
    PYTHONPATH=. python3 benchmarks/engine.py --prospects 200000 --repeats 5 --json out.json

What it measures (all in one run):

1. Speed.  For each pool size, a full game of the scenario scaled with
   ``Scenario.with_prospects(n)``: reset (drawing the market and playing the
   warm-up turns) plus every turn, the strategy's ``decide`` included, in the
   same order as ``sim.runner.play_game``.  Each (size, strategy) runs in its own
   fresh subprocess, which first plays one small game to warm lazy imports
   and the Gamma quantile tables, then plays ``--repeats`` timed games; the
   table shows medians over repeats.  Cost per turn is also shown per 1k
   customers processed (alive customers going through the behaviour step),
   and the ratio of that cost between the smallest and largest size says
   whether the cost is linear in customers.
2. Memory.  Peak memory of one full game per (size, strategy), each in a
   fresh subprocess that does nothing else: ``resource.getrusage(
   RUSAGE_SELF).ru_maxrss`` read in the child (peak resident set, the whole
   process: interpreter, numpy and scipy included; the baseline after
   imports is shown too) and, in another fresh child, ``tracemalloc``'s peak
   (bytes requested through Python's and numpy's allocators).  They differ
   on purpose: the engine allocates its per-row arrays with ``np.zeros``,
   whose untouched pages are never resident, so tracemalloc counts them in
   full and RSS does not.  The 1 GiB target is checked against peak RSS.
3. Loop versus vectorised.  ``loop_turn`` below is a plain per-customer
   Python loop over the same maths as one turn of ``Game._play`` (Hill
   service effect, served rates, death time, Poisson count by sequential
   search, Gamma–Gamma spend by ``scipy.special.gammaincinv``, cost to
   serve) fed the very same uniforms.  Its inputs are rebuilt from a real
   turn of the largest game (the last turn, mass-marketing); the vectorised
   functions of ``sim.behaviour`` are first checked to reproduce what the
   engine recorded for that turn, then both are timed on a random sample of
   ``--sample`` alive customers and the vectorised ones on the whole alive
   set, and the loop's results are checked against the vectorised ones.
   The loop gets its inputs as Python lists prepared outside the timing,
   which flatters the loop a little.

Targets (reported as PASS/MISS, never asserted): a full 12-turn game with
1M prospects under 3 s, peak memory under 1 GiB, cost linear in customers.
Timings are wall-clock; the machine's load average is printed at the start
and end, and each child's CPU time / wall time is shown (well below 1 means
the child was waiting for a core).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import scipy  # noqa: E402
from scipy import special  # noqa: E402

STRATEGIES = ("mass-marketing", "customer-centric")
TARGET_SECONDS = 3.0
TARGET_PROSPECTS = 1_000_000
TARGET_MEMORY_MIB = 1024.0
#: Cost per customer at the largest size may be at most this times the smallest's.
LINEAR_TOLERANCE = 1.25
WARM_PROSPECTS = 20_000


# ---------------------------------------------------------------- helpers

def machine_info() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    return {
        "nproc": affinity,
        "cpu_count": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "platform": platform.platform(),
        "loadavg_start": list(os.getloadavg()),
    }


def maxrss_mib() -> float:
    """Peak resident set of this process so far, MiB (Linux reports KiB)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024.0 if sys.platform != "darwin" else rss / 2**20


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_child(mode: str, **options) -> dict:
    """Run this file in a fresh interpreter in ``mode``; return its JSON answer."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", mode]
    for key, value in options.items():
        cmd += [f"--{key.replace('_', '-')}", str(value)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"child {' '.join(cmd[2:])} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def median(values) -> float:
    return float(statistics.median(values))


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


# ---------------------------------------------------------------- children

class _TimedStrategy:
    """Wraps a strategy so the runner's game can be timed decide by decide."""

    def __init__(self, strategy):
        self.strategy = strategy
        self.name = strategy.name
        self.sees_truth = getattr(strategy, "sees_truth", False)
        self.decided_at = self.decide_seconds = self.reset_at = 0.0

    def reset(self, scenario, seed):
        # The runner resets the strategy right after the game's reset.
        self.reset_at = time.perf_counter()
        self.strategy.reset(scenario, seed)

    def decide(self, observation, truth=None):
        t = time.perf_counter()
        decision = self.strategy.decide(observation, truth)
        self.decided_at = time.perf_counter()
        self.decide_seconds = self.decided_at - t
        return decision


def timed_game(scenario, strategy_name: str, seed: int) -> dict:
    """One full game through ``sim.runner.play_game``, timed turn by turn."""
    from sim.runner import play_game
    from sim.strategies import get_strategy

    strategy = _TimedStrategy(get_strategy(strategy_name))
    turns = []

    def on_turn(game, decision, result):
        step = time.perf_counter() - strategy.decided_at
        true_turn = game.truth.turns[-1]
        turns.append({"decide": strategy.decide_seconds, "step": step,
                      "processed": true_turn.alive + true_turn.lost})

    cpu0 = cpu_seconds()
    t0 = time.perf_counter()
    played = play_game(scenario, strategy, seed, on_turn=on_turn)
    total = time.perf_counter() - t0
    cpu = cpu_seconds() - cpu0
    truth = played.game.truth
    return {"reset": strategy.reset_at - t0, "total": total, "cpu": cpu, "turns": turns,
            "alive_end": int(truth.alive.sum()), "ever_acquired": int(truth.row_prospect.size),
            "n_turns": len(turns)}


def child_time(args) -> dict:
    from sim.scenario import load_scenario

    base = load_scenario(args.scenario)
    # Warm lazy imports and the Gamma quantile tables on a small game first.
    timed_game(base.with_prospects(min(WARM_PROSPECTS, args.prospects[0])), args.strategy, args.seed)
    scenario = base.with_prospects(args.prospects[0])
    games = []
    for _ in range(args.repeats):
        gc.collect()
        games.append(timed_game(scenario, args.strategy, args.seed))
    return {"games": games, "maxrss_mib": maxrss_mib()}


def child_memory(args) -> dict:
    import tracemalloc

    from sim.scenario import load_scenario
    from sim.runner import play_game
    from sim.strategies import get_strategy

    scenario = load_scenario(args.scenario).with_prospects(args.prospects[0])
    strategy = get_strategy(args.strategy)
    baseline = maxrss_mib()
    if args.tracemalloc:
        tracemalloc.start()
    game = play_game(scenario, strategy, args.seed).game
    out = {"baseline_mib": baseline, "peak_mib": maxrss_mib(),
           "ever_acquired": int(game.truth.row_prospect.size)}
    if args.tracemalloc:
        out["tracemalloc_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return out


def child_profile(args) -> dict:
    import cProfile
    import io
    import pstats

    from sim.scenario import load_scenario
    from sim.runner import play_game
    from sim.strategies import get_strategy

    base = load_scenario(args.scenario)
    play_game(base.with_prospects(WARM_PROSPECTS), get_strategy(args.strategy), args.seed)
    scenario = base.with_prospects(args.prospects[0])
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    play_game(scenario, get_strategy(args.strategy), args.seed)
    profiler.disable()
    wall = time.perf_counter() - t0
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(args.top)
    return {"wall": wall, "text": text.getvalue()}


# ---------------------------------------------------------------- loop vs vectorised

def loop_turn(service, purchase_rate, dropout_rate, theta, disengaged, u_death, u_count, u_spend,
              spend_shape, spend_rate, cost_to_serve, first_spend, u_incidents, u_incident_cost,
              is_new, *, g_max, half_saturation, hill, purchase_boost, purchase_multiplier,
              dropout_multiplier, cost_to_serve_factor, contractual, membership_fee,
              incident_cost_shape):
    """One turn's behaviour, customer by customer, in plain Python.

    The same maths as ``sim.behaviour.customer_turn`` with its hill_response,
    served_rates, disengaged_rates, poisson_inverse, gamma_total_spend and
    cost_to_serve_per_purchase, on the same
    uniforms.  Every argument before ``*`` is a sequence with one entry per
    customer.

    Returns:
        (died, purchase count, spend on purchases, cost to serve) lists.
    """
    fee = membership_fee if contractual else 0.0
    died_out, count_out, spend_out, cts_out = [], [], [], []
    for i in range(len(service)):
        # Hill service effect and the served rates.
        ratio = (service[i] / half_saturation) ** hill
        g = g_max * ratio / (1.0 + ratio)
        th = theta[i]
        lam = purchase_rate[i] * (1.0 + purchase_boost * th * g)
        mu = dropout_rate[i] * math.exp(-th * g)
        off = disengaged[i]
        kappa = cost_to_serve[i]
        if off:
            lam, mu, kappa = (lam * purchase_multiplier, mu * dropout_multiplier,
                              kappa * cost_to_serve_factor)
        # Death at an exponential time, by inversion of the same uniform.
        death_time = -math.log(u_death[i]) / mu
        died = death_time < 1.0
        exposure = 1.0 if contractual else min(death_time, 1.0)
        # Poisson count: smallest n with P(N <= n) >= u, by sequential search.
        mean = lam * exposure
        u = u_count[i]
        if mean > 200.0:  # the engine's rare path (scipy's ppf); never hit in shipped scenarios
            from scipy import stats
            n = int(stats.poisson.ppf(u, mean))
        else:
            pmf = math.exp(-mean)
            cdf = pmf
            n = 0
            while u > cdf and pmf > 0.0:
                n += 1
                pmf *= mean / n
                cdf += pmf
        # Gamma–Gamma: total of n purchases is the u-quantile of Gamma(n p, nu).
        bought = float(special.gammaincinv(n * spend_shape[i], u_spend[i])) / spend_rate[i] \
            if n > 0 else 0.0
        revenue = bought + fee + first_spend[i]
        # Cost to serve: Binomial(occasions, kappa) incidents by sequential search,
        # each costing the average ticket times a Gamma(c, c) severity.
        occasions = n + int(is_new[i]) + (1 if fee > 0 else 0)
        incidents = 0
        if occasions > 0 and kappa >= 1.0:
            incidents = occasions
        elif occasions > 0:
            pmf = (1.0 - kappa) ** occasions
            cdf = pmf
            odds = kappa / (1.0 - kappa)
            while u_incidents[i] > cdf and pmf > 0.0 and incidents < occasions:
                pmf *= (occasions - incidents) / (incidents + 1.0) * odds
                incidents += 1
                cdf += pmf
        cts = 0.0
        if incidents > 0:
            severity = float(special.gammaincinv(incidents * incident_cost_shape,
                                                 u_incident_cost[i])) / incident_cost_shape
            cts = revenue / occasions * severity
        died_out.append(died)
        count_out.append(n)
        spend_out.append(bought)
        cts_out.append(cts)
    return died_out, count_out, spend_out, cts_out


def vector_turn(inp: dict, scenario):
    """The engine's own vectorised turn (``sim.behaviour.customer_turn``) on the same inputs."""
    from sim.behaviour import TurnInputs, customer_turn

    out = customer_turn(TurnInputs(
        service=inp["service"], disengaged=inp["disengaged"], purchase_rate=inp["purchase_rate"],
        dropout_rate=inp["dropout_rate"], service_response=inp["theta"],
        spend_shape=inp["spend_shape"], spend_rate=inp["spend_rate"],
        cost_to_serve=inp["cost_to_serve"], new=inp["is_new"], first_spend=inp["first_spend"],
        u_death=inp["u_death"], u_count=inp["u_count"], u_spend=inp["u_spend"],
        u_timing=inp["u_timing"], u_incidents=inp["u_incidents"],
        u_incident_cost=inp["u_incident_cost"]), scenario)
    return out.died, out.purchases, out.spend, out.cost_to_serve


LOOP_FIELDS = ("service", "purchase_rate", "dropout_rate", "theta", "disengaged", "u_death",
               "u_count", "u_spend", "spend_shape", "spend_rate", "cost_to_serve", "first_spend",
               "u_incidents", "u_incident_cost", "is_new")


def loop_options(scenario) -> dict:
    s = scenario
    return dict(g_max=s.service.g_max, half_saturation=s.service.half_saturation,
                hill=s.service.hill, purchase_boost=s.service.purchase_boost,
                purchase_multiplier=s.disengage.purchase_multiplier,
                dropout_multiplier=s.disengage.dropout_multiplier,
                cost_to_serve_factor=s.disengage.cost_to_serve_factor,
                contractual=s.contractual, membership_fee=s.membership_fee,
                incident_cost_shape=s.incident_cost_shape)


def capture_turn(scenario, strategy_name: str, seed: int):
    """Play a game up to its last turn and rebuild that turn's behaviour inputs.

    Returns (inputs, engine record) for every customer alive in the turn's
    behaviour step; the record holds what the engine stored for them.
    """
    from sim.decisions import assign_tiers
    from sim.engine import Game
    from sim.rng import uniforms
    from sim.strategies import get_strategy

    s = scenario
    game = Game(s)
    strategy = get_strategy(strategy_name)
    obs = game.reset(seed)
    strategy.reset(game.public, seed)
    while game.turn < s.turns:
        obs, _ = game.step(strategy.decide(obs, game.truth if strategy.sees_truth else None))
    k = game.turn
    decision = strategy.decide(obs, game.truth if strategy.sees_truth else None)
    # The same tier assignment the engine makes from this observation.
    assignment = assign_tiers(decision, dict(obs.columns), obs.categories, float("inf"),
                              servable=obs.active)
    n = s.prospects
    service = np.zeros(n)
    disengaged = np.zeros(n, dtype=bool)
    prospect = game.truth.row_prospect  # customer ids are opaque: rows to prospects from the truth
    service[prospect] = assignment.service_per_customer
    disengaged[prospect] = assignment.disengaged
    alive_before = np.flatnonzero(game.truth.alive)

    new_obs, _ = game.step(decision)
    col = k - game.first_turn
    rows_new = np.flatnonzero(new_obs.acquisition_turn == k)
    new_prospect = game.truth.row_prospect
    alive_ids = np.union1d(alive_before, new_prospect[rows_new])
    row_of = np.full(n, -1, dtype=np.int64)
    row_of[new_prospect] = np.arange(new_obs.n_customers)
    rows = row_of[alive_ids]
    is_new = new_obs.acquisition_turn[rows] == k

    pop = game.population
    inp = {
        "service": service[alive_ids],
        "purchase_rate": pop.purchase_rate[alive_ids],
        "dropout_rate": pop.dropout_rate[alive_ids],
        "theta": pop.service_response[alive_ids],
        "disengaged": disengaged[alive_ids],
        "u_death": uniforms(seed, "death", k, n)[alive_ids],
        "u_count": uniforms(seed, "purchase_count", k, n)[alive_ids],
        "u_spend": uniforms(seed, "purchase_spend", k, n)[alive_ids],
        "u_timing": uniforms(seed, "purchase_timing", k, n)[alive_ids],
        "spend_shape": pop.spend_shape[alive_ids],
        "spend_rate": pop.spend_rate[alive_ids],
        "cost_to_serve": pop.cost_to_serve[alive_ids],
        "first_spend": np.where(is_new, new_obs.first_spend[rows], 0.0),
        "u_incidents": uniforms(seed, "service_incidents", k, n)[alive_ids],
        "u_incident_cost": uniforms(seed, "incident_cost", k, n)[alive_ids],
        "is_new": is_new.astype(np.int64),
    }
    # What the engine stored; newcomers' column already held their first purchase.
    record = {
        "purchases": new_obs.purchases[rows, col].copy(),
        "spend": new_obs.spend[rows, col].copy(),
        "cts": new_obs.cost_to_serve[rows, col].copy(),
        "died": ~game.truth.alive[alive_ids],
        "is_new": is_new,
    }
    return k, inp, record


def rel_diff(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = np.maximum(np.abs(a), np.abs(b))
    d = np.divide(np.abs(a - b), scale, out=np.zeros_like(scale), where=scale > 0)
    return float(d.max()) if d.size else 0.0


def time_call(fn, repeats: int, min_seconds: float = 0.2) -> float:
    """Median seconds per call, batching calls until a batch lasts ``min_seconds``."""
    number = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_seconds or number >= 1 << 20:
            break
        number *= 2
    runs = [dt / number]
    for _ in range(max(repeats - 1, 0)):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - t0) / number)
    return median(runs)


def loop_versus_vector(args, scenario) -> dict:
    from sim import behaviour as B

    k, inp, record = capture_turn(scenario, "mass-marketing", args.seed)
    n_alive = inp["service"].size
    died, count, bought, cts = vector_turn(inp, scenario)
    # Rebuild the stored columns the way the engine does (first purchase + the turn's).
    is_new = record["is_new"]
    reproduces = {
        "died_equal": bool(np.array_equal(died, record["died"])),
        "count_equal": bool(np.array_equal(count + is_new, record["purchases"])),
        "bought_rel": rel_diff(np.where(is_new, inp["first_spend"], 0.0) + bought, record["spend"]),
        "cts_rel": rel_diff(cts, record["cts"]),
    }

    rng = np.random.default_rng(args.seed)
    m = min(args.sample, n_alive)
    pick = np.sort(rng.choice(n_alive, size=m, replace=False))
    sample = {f: inp[f][pick] for f in (*LOOP_FIELDS, "u_timing")}
    lists = {f: sample[f].tolist() for f in LOOP_FIELDS}
    opts = loop_options(scenario)

    l_died, l_count, l_bought, l_cts = loop_turn(*(lists[f] for f in LOOP_FIELDS), **opts)
    v_died, v_count, v_bought, v_cts = vector_turn(sample, scenario)
    agree = {
        "died_equal": int(np.sum(np.array(l_died) == v_died)),
        "count_equal": int(np.sum(np.array(l_count) == v_count)),
        "n": m,
        "buyers": int(np.sum(v_count > 0)),
        "max_count": int(v_count.max()) if m else 0,
        "bought_rel": rel_diff(l_bought, v_bought),
        "cts_rel": rel_diff(l_cts, v_cts),
    }
    agree["ok"] = (agree["died_equal"] == m and agree["count_equal"] == m
                   and agree["bought_rel"] <= 1e-5 and agree["cts_rel"] <= 1e-5)

    loop_runs = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        loop_turn(*(lists[f] for f in LOOP_FIELDS), **opts)
        loop_runs.append(time.perf_counter() - t0)
    loop_s = median(loop_runs)
    vec_sample_s = time_call(lambda: vector_turn(sample, scenario), args.repeats)
    vec_full_s = time_call(lambda: vector_turn(inp, scenario), args.repeats, min_seconds=0.5)

    # Where the vectorised time goes on the full alive set, stage by stage.
    s = scenario
    g = B.hill_response(inp["service"], s.service)
    lam, mu = B.served_rates(inp["purchase_rate"], inp["dropout_rate"], inp["theta"], g,
                             s.service.purchase_boost)
    death_time = -np.log(inp["u_death"]) / mu
    exposure = np.minimum(death_time, 1.0)
    mean = lam * exposure
    cnt = B.poisson_inverse(inp["u_count"], mean)
    stages = {
        "hill_response": lambda: B.hill_response(inp["service"], s.service),
        "served_rates": lambda: B.served_rates(inp["purchase_rate"], inp["dropout_rate"],
                                               inp["theta"], g, s.service.purchase_boost),
        "death_time": lambda: -np.log(inp["u_death"]) / mu,
        "poisson_inverse": lambda: B.poisson_inverse(inp["u_count"], mean),
        "gamma_total_spend": lambda: B.gamma_total_spend(inp["u_spend"], cnt, inp["spend_shape"],
                                                         inp["spend_rate"]),
    }
    stage_us = {name: time_call(fn, args.repeats) / n_alive * 1e6 for name, fn in stages.items()}

    return {
        "turn": k, "alive": n_alive, "prospects": scenario.prospects, "sample": m,
        "reproduces_engine": reproduces, "agree": agree,
        "loop_us": loop_s / m * 1e6,
        "vec_sample_us": vec_sample_s / m * 1e6,
        "vec_full_us": vec_full_s / n_alive * 1e6,
        "vec_full_ms": vec_full_s * 1e3,
        "stage_us_per_customer": stage_us,
    }


# ---------------------------------------------------------------- summary

def summarise_time(size: int, strategy: str, child: dict) -> dict:
    games = child["games"]
    per_turn = [(g["total"] - g["reset"]) / g["n_turns"] for g in games]
    decide = [sum(t["decide"] for t in g["turns"]) / g["n_turns"] for g in games]
    step = [sum(t["step"] for t in g["turns"]) / g["n_turns"] for g in games]
    processed = statistics.fmean(t["processed"] for t in games[0]["turns"])
    turn_s = median(per_turn)
    return {
        "prospects": size, "strategy": strategy, "repeats": len(games),
        "game_s": median(g["total"] for g in games),
        "game_runs_s": [g["total"] for g in games],
        "reset_s": median(g["reset"] for g in games),
        "turn_s": turn_s, "decide_s": median(decide), "step_s": median(step),
        "cpu_over_wall": median(g["cpu"] / g["total"] for g in games),
        "customers_per_turn": processed,
        "alive_end": games[0]["alive_end"], "ever_acquired": games[0]["ever_acquired"],
        "turn_ms_per_1k_customers": turn_s / processed * 1e6,
        "turn_ms_per_1k_prospects": turn_s / size * 1e6,
        "n_turns": games[0]["n_turns"],
        "child_maxrss_mib": child["maxrss_mib"],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prospects", type=int, nargs="+", default=[100_000, 1_000_000],
                        help="pool sizes (default: 100000 1000000)")
    parser.add_argument("--scenario", default="coffee", help="shipped scenario name or path")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3, help="timed games per size and strategy")
    parser.add_argument("--sample", type=int, default=2000,
                        help="customers in the per-customer Python loop")
    parser.add_argument("--json", metavar="OUT", help="also write every number to this JSON file")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="also cProfile one mass-marketing game at the largest size and "
                             "print the top N functions by tottime (default: off)")
    # Internal: what a child process does.
    parser.add_argument("--child", choices=("time", "memory", "profile"), help=argparse.SUPPRESS)
    parser.add_argument("--strategy", default="mass-marketing", help=argparse.SUPPRESS)
    parser.add_argument("--tracemalloc", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--top", type=int, default=8, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        out = {"time": child_time, "memory": child_memory, "profile": child_profile}[args.child](args)
        print(json.dumps(out))
        return 0

    from sim.scenario import load_scenario

    sizes = sorted(set(args.prospects))
    base = load_scenario(args.scenario)
    info = machine_info()
    line = "=" * 100
    print(line)
    print("Engine benchmark")
    print(f"machine : nproc {info['nproc']} (cpu_count {info['cpu_count']}), {info['cpu']}")
    print(f"          {info['platform']}")
    print(f"software: python {info['python']}, numpy {info['numpy']}, scipy {info['scipy']}")
    la = info["loadavg_start"]
    print(f"load avg: {la[0]:.2f} {la[1]:.2f} {la[2]:.2f} (1/5/15 min) at start"
          + ("  <- the machine was busy in the last minute; timings may be inflated" if la[0] > 0.5 else ""))
    print(f"scenario: {base.key} ({base.turns} turns + {base.warmup_turns} warm-up), "
          f"seed {args.seed}, repeats {args.repeats}, sizes {', '.join(f'{n:,}' for n in sizes)}")
    print(line)

    # ------------------------------------------------------------ 1. speed
    print("\n1. Speed: full game = reset (market + warm-up turns) + all turns incl. decide; "
          f"median of {args.repeats}; fresh process per row, warmed by a {WARM_PROSPECTS:,}-prospect game")
    header = (f"{'prospects':>10} {'strategy':<17} {'game s':>7} {'reset s':>7} {'turn ms':>8} "
              f"{'decide':>7} {'step':>7} {'cust/turn':>10} {'alive end':>10} {'acquired':>9} "
              f"{'ms/turn/1k cust':>15} {'cpu/wall':>8}")
    print(header)
    print("-" * len(header))
    timing = []
    for n in sizes:
        for strategy in STRATEGIES:
            child = run_child("time", prospects=n, scenario=args.scenario, seed=args.seed,
                              repeats=args.repeats, strategy=strategy)
            r = summarise_time(n, strategy, child)
            timing.append(r)
            print(f"{n:>10,} {strategy:<17} {r['game_s']:>7.2f} {r['reset_s']:>7.2f} "
                  f"{r['turn_s'] * 1e3:>8.1f} {r['decide_s'] * 1e3:>7.1f} {r['step_s'] * 1e3:>7.1f} "
                  f"{r['customers_per_turn']:>10,.0f} {r['alive_end']:>10,} {r['ever_acquired']:>9,} "
                  f"{r['turn_ms_per_1k_customers']:>15.3f} {r['cpu_over_wall']:>8.2f}")
    print("   turn ms = (game - reset) / turns; decide = strategy, step = engine (per turn); "
          "cust/turn = alive customers through the behaviour step, mean over turns")
    print("   game s of each repeat: " + "; ".join(
        f"{r['prospects']:,} {r['strategy']}: " + ", ".join(f"{x:.2f}" for x in r["game_runs_s"])
        for r in timing))

    linear = {}
    if len(sizes) >= 2:
        lo, hi = sizes[0], sizes[-1]
        print(f"\n   Linearity, {hi:,} vs {lo:,} prospects (per-customer turn cost ratio; "
              "1.0 = linear, < 1 = fixed overheads amortised):")
        for strategy in STRATEGIES:
            a = next(r for r in timing if r["prospects"] == lo and r["strategy"] == strategy)
            b = next(r for r in timing if r["prospects"] == hi and r["strategy"] == strategy)
            ratio = b["turn_ms_per_1k_customers"] / a["turn_ms_per_1k_customers"]
            game_ratio = (b["game_s"] / b["ever_acquired"]) / (a["game_s"] / a["ever_acquired"])
            slope = math.log(b["turn_s"] / a["turn_s"]) / math.log(
                b["customers_per_turn"] / a["customers_per_turn"])
            ok = ratio <= LINEAR_TOLERANCE
            linear[strategy] = {"turn_cost_ratio": ratio, "game_cost_ratio": game_ratio,
                                "loglog_slope": slope, "pass": ok}
            print(f"   {strategy:<17} turn cost per customer x{ratio:.2f}, game cost per acquired "
                  f"customer x{game_ratio:.2f}, log-log slope {slope:.2f}  "
                  f"{verdict(ok)} (target: ratio <= {LINEAR_TOLERANCE})")

    # ------------------------------------------------------------ 2. memory
    print("\n2. Peak memory of one full game, each in a fresh process "
          "(RSS = getrusage(RUSAGE_SELF).ru_maxrss in the child, whole process;")
    print("   tracemalloc = peak bytes requested via Python/numpy allocators in another fresh child, "
          "counts untouched np.zeros pages that RSS does not)")
    header2 = (f"{'prospects':>10} {'strategy':<17} {'RSS base MiB':>12} {'RSS peak MiB':>12} "
               f"{'game adds MiB':>13} {'tracemalloc MiB':>15} {'acquired':>9}")
    print(header2)
    print("-" * len(header2))
    memory = []
    for n in sizes:
        for strategy in STRATEGIES:
            rss = run_child("memory", prospects=n, scenario=args.scenario, seed=args.seed,
                            strategy=strategy)
            tm = run_child("memory", prospects=n, scenario=args.scenario, seed=args.seed,
                           strategy=strategy, tracemalloc=1)
            m = {"prospects": n, "strategy": strategy, "rss_baseline_mib": rss["baseline_mib"],
                 "rss_peak_mib": rss["peak_mib"],
                 "tracemalloc_peak_mib": tm["tracemalloc_peak_mib"],
                 "ever_acquired": rss["ever_acquired"]}
            memory.append(m)
            print(f"{n:>10,} {strategy:<17} {m['rss_baseline_mib']:>12.0f} {m['rss_peak_mib']:>12.0f} "
                  f"{m['rss_peak_mib'] - m['rss_baseline_mib']:>13.0f} "
                  f"{m['tracemalloc_peak_mib']:>15.0f} {m['ever_acquired']:>9,}")

    # ------------------------------------------------------------ 3. loop vs vectorised
    big = sizes[-1]
    print(f"\n3. Per-customer Python loop vs vectorised sim.behaviour, one real turn "
          f"(last turn, mass-marketing, {big:,} prospects)")
    lv = loop_versus_vector(args, base.with_prospects(big))
    rep = lv["reproduces_engine"]
    print(f"   turn {lv['turn']}: {lv['alive']:,} alive customers; inputs rebuilt from the game "
          f"(tier assignment, traits, keyed uniforms)")
    rep_ok = rep["died_equal"] and rep["count_equal"] and rep["bought_rel"] == 0 and rep["cts_rel"] == 0
    print(f"   vectorised functions reproduce the engine's record of that turn: deaths "
          f"{'equal' if rep['died_equal'] else 'DIFFER'}, counts "
          f"{'equal' if rep['count_equal'] else 'DIFFER'}, spend max rel diff {rep['bought_rel']:.1e}, "
          f"cost-to-serve {rep['cts_rel']:.1e}  {'OK' if rep_ok else 'CHECK'}")
    ag = lv["agree"]
    print(f"   loop vs vectorised on the {ag['n']:,}-customer sample ({ag['buyers']:,} buyers, "
          f"max count {ag['max_count']}): deaths {ag['died_equal']}/{ag['n']} equal, counts "
          f"{ag['count_equal']}/{ag['n']} equal, spend max rel diff {ag['bought_rel']:.1e}, "
          f"cost-to-serve {ag['cts_rel']:.1e} (tol 1e-5)  {'AGREE' if ag['ok'] else 'DISAGREE'}")
    header3 = f"   {'implementation':<44} {'customers':>10} {'us/customer':>12} {'speed-up':>9}"
    print(header3)
    print("   " + "-" * (len(header3) - 3))
    print(f"   {'loop_turn (pure Python, gammaincinv scalar)':<44} {lv['sample']:>10,} "
          f"{lv['loop_us']:>12.3f} {'1.0x':>9}")
    print(f"   {'vectorised, same sample':<44} {lv['sample']:>10,} {lv['vec_sample_us']:>12.3f} "
          f"{lv['loop_us'] / lv['vec_sample_us']:>8.0f}x")
    print(f"   {'vectorised, whole alive set':<44} {lv['alive']:>10,} {lv['vec_full_us']:>12.3f} "
          f"{lv['loop_us'] / lv['vec_full_us']:>8.0f}x")
    print(f"   vectorised whole set: {lv['vec_full_ms']:.1f} ms for the turn's behaviour maths; by stage "
          "(us/customer): " + ", ".join(f"{k} {v:.3f}" for k, v in lv["stage_us_per_customer"].items()))
    print(f"   a loop over the whole alive set would take ~{lv['loop_us'] * lv['alive'] / 1e3:,.0f} ms "
          f"per turn for these maths alone (vectorised: {lv['vec_full_ms']:.1f} ms)")

    # ------------------------------------------------------------ targets
    print("\nTargets (reported, not asserted)")
    targets = []
    target_size = TARGET_PROSPECTS if TARGET_PROSPECTS in sizes else big
    note = "" if target_size == TARGET_PROSPECTS else f" (measured at {big:,}, not 1M)"
    turns_note = "" if base.turns == 12 else f" (this scenario has {base.turns} turns)"
    for strategy in STRATEGIES:
        r = next(r for r in timing if r["prospects"] == target_size and r["strategy"] == strategy)
        ok = r["game_s"] < TARGET_SECONDS
        targets.append({"target": f"game < {TARGET_SECONDS} s", "strategy": strategy,
                        "value": r["game_s"], "pass": ok})
        print(f"   full {r['n_turns']}-turn game, {target_size:,} prospects, {strategy:<17} "
              f"< {TARGET_SECONDS:.0f} s : {r['game_s']:.2f} s  {verdict(ok)}{note}{turns_note}")
    for strategy in STRATEGIES:
        m = next(m for m in memory if m["prospects"] == target_size and m["strategy"] == strategy)
        ok = m["rss_peak_mib"] < TARGET_MEMORY_MIB
        targets.append({"target": "peak RSS < 1 GiB", "strategy": strategy,
                        "value": m["rss_peak_mib"], "pass": ok})
        print(f"   peak memory (RSS), {target_size:,} prospects, {strategy:<17} < 1 GiB : "
              f"{m['rss_peak_mib']:.0f} MiB  {verdict(ok)}{note}")
    for strategy, lin in linear.items():
        targets.append({"target": "linear in customers", "strategy": strategy,
                        "value": lin["turn_cost_ratio"], "pass": lin["pass"]})
        print(f"   cost linear in customers, {strategy:<17}: per-customer turn cost ratio "
              f"x{lin['turn_cost_ratio']:.2f}  {verdict(lin['pass'])}")

    if args.profile:
        prof = run_child("profile", prospects=big, scenario=args.scenario, seed=args.seed,
                         strategy="mass-marketing", top=args.profile)
        print(f"\ncProfile of one mass-marketing game, {big:,} prospects "
              f"({prof['wall']:.2f} s under the profiler), top {args.profile} by tottime:")
        print(prof["text"])

    la_end = list(os.getloadavg())
    print(f"\nload avg at end: {la_end[0]:.2f} {la_end[1]:.2f} {la_end[2]:.2f}")
    if args.json:
        info["loadavg_end"] = la_end
        report = {"machine": info, "args": {k: v for k, v in vars(args).items()
                                            if k not in ("child", "strategy", "tracemalloc", "top")},
                  "speed": timing, "linearity": linear, "memory": memory, "loop_vs_vector": lv,
                  "targets": targets}
        Path(args.json).write_text(json.dumps(report, indent=2))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
