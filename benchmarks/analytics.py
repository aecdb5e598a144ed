#!/usr/bin/env python3
"""Analytics benchmark: our model fits against the `lifetimes` library on the same data.

Run from the repository root::

    PYTHONPATH=. python3 benchmarks/analytics.py                        # defaults
    PYTHONPATH=. python3 benchmarks/analytics.py --sizes 10000 100000 --models bgnbd \\
        --lifetimes-python /tmp/ltvenv/bin/python --json out.json

What it measures:

* Data: customer summaries simulated exactly from each model with known,
  CDNOW-like parameters (keyed ``numpy`` generators, no global seed), ages in
  whole weeks 26..78 and recency rounded to days, as real data are; plus the
  real CDNOW summary (2,357 customers) for BG/NBD and Pareto/NBD.
* Our fit (the model's spec in ``sim.analytics.registry``: the fit
  ``ccsim fit`` runs) and the same model in `lifetimes`
  (``BetaGeoFitter``, ``ParetoNBDFitter``, ``GammaGammaFitter``,
  ``BetaGeoBetaBinomFitter``; sBG has no `lifetimes` fitter) each run in a
  fresh subprocess on the same raw per-customer arrays, timed around the
  fit call only; the median of ``--repeats`` fits is shown. Our fits merge
  identical rows internally; `lifetimes` is given no weights, as a user
  would call it.
* The largest relative difference between the two sets of parameters, and
  the log-likelihood of each set under our closed-form likelihood
  (positive ΔLL = ours is higher).

`lifetimes` is a benchmark-only extra (``pip install '.[bench]'``), never a
runtime dependency. It is looked for in this interpreter, or in the one
given by ``--lifetimes-python``; without it the comparison columns say so.

Targets (reported as PASS/MISS, never asserted): BG/NBD and Pareto/NBD on
100k customers each under 1 s on 2 cores, faster than `lifetimes`,
parameters equal to 1e-3 relative.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CDNOW = ROOT / "data" / "cdnow_summary.csv"

#: True parameters each simulated base is drawn from (CDNOW-like; BG/BB:
#: the donation data's; sBG: the "regular" segment of Fader & Hardie 2007).
#: Each model's simulated arrays are named as its spec's columns.
TRUE = {
    "bgnbd": {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4},
    "pareto_nbd": {"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7},
    "gamma_gamma": {"p": 6.25, "q": 3.74, "gamma": 15.44},
    "bgbb": {"alpha": 1.2, "beta": 0.75, "gamma": 0.66, "delta": 2.78},
    "sbg": {"alpha": 0.704, "beta": 1.182},
}
MODELS = tuple(TRUE)
#: Models with speed targets (the transaction models a 100k base is fitted with).
TARGET_MODELS = ("bgnbd", "pareto_nbd")
#: Columns of the real CDNOW summary: models reading only these are run on it too.
CDNOW_COLUMNS = ("frequency", "recency", "T")
MODEL_KEY = {name: i for i, name in enumerate(MODELS, start=1)}
#: lifetimes' class per model and how its parameter names map to the papers'.
LIFETIMES = {
    "bgnbd": ("BetaGeoFitter", {"r": "r", "alpha": "alpha", "a": "a", "b": "b"}),
    "pareto_nbd": ("ParetoNBDFitter", {"r": "r", "alpha": "alpha", "s": "s", "beta": "beta"}),
    "gamma_gamma": ("GammaGammaFitter", {"p": "p", "q": "q", "v": "gamma"}),
    "bgbb": ("BetaGeoBetaBinomFitter",
             {"alpha": "alpha", "beta": "beta", "gamma": "gamma", "delta": "delta"}),
}
TARGET_SIZE = 100_000
TARGET_SECONDS = 1.0
TARGET_PARAM_DIFF = 1e-3
BGBB_OPPORTUNITIES = 6
SBG_PERIODS = 8


# --- data ------------------------------------------------------------------------

def _ages(rng: np.random.Generator, size: int) -> np.ndarray:
    return rng.integers(26, 79, size).astype(float)


def _purchases_while_alive(rng, rate, active):
    """x ~ Poisson(λ·active) and t_x, the last of x uniform times, rounded to days."""
    x = rng.poisson(rate * active)
    last = np.where(x > 0, active * rng.random(x.size) ** (1.0 / np.maximum(x, 1)), 0.0)
    return x.astype(float), np.minimum(np.round(last * 7) / 7, active)


def simulate_pareto_nbd(rng, size, p):
    rate = rng.gamma(p["r"], 1 / p["alpha"], size)
    dropout = rng.gamma(p["s"], 1 / p["beta"], size)
    T = _ages(rng, size)
    x, t_x = _purchases_while_alive(rng, rate, np.minimum(rng.exponential(1 / dropout), T))
    return {"frequency": x, "recency": t_x, "T": T}


def simulate_bgnbd(rng, size, p):
    """Purchase by purchase: after each repeat purchase the customer drops with prob. p."""
    rate = rng.gamma(p["r"], 1 / p["alpha"], size)
    drop = rng.beta(p["a"], p["b"], size)
    T = _ages(rng, size)
    x, t_x, clock = np.zeros(size), np.zeros(size), np.zeros(size)
    buying = np.arange(size)
    while buying.size:            # one pass per purchase number, not per customer
        clock[buying] += rng.exponential(1 / rate[buying])
        buying = buying[clock[buying] <= T[buying]]
        x[buying] += 1
        t_x[buying] = clock[buying]
        buying = buying[rng.random(buying.size) >= drop[buying]]
    return {"frequency": x, "recency": np.minimum(np.round(t_x * 7) / 7, T), "T": T}


def simulate_gamma_gamma(rng, size, p):
    """Repeat buyers' mean spend: z̄ | ν ~ Gamma(p x, ν x), ν ~ Gamma(q, γ), to the cent."""
    x = simulate_pareto_nbd(rng, size, TRUE["pareto_nbd"])["frequency"]
    x = x[x > 0]
    nu = rng.gamma(p["q"], 1 / p["gamma"], x.size)
    spend = rng.gamma(p["p"] * x, 1 / (nu * x))
    return {"frequency": x, "monetary_value": np.maximum(np.round(spend, 2), 0.01)}


def simulate_bgbb(rng, size, p):
    """n opportunities; alive ones buy with prob. p, and die before each next one with prob. θ."""
    buy = rng.beta(p["alpha"], p["beta"], size)
    die = rng.beta(p["gamma"], p["delta"], size)
    alive = np.ones(size, dtype=bool)
    x, t_x = np.zeros(size), np.zeros(size)
    for opportunity in range(1, BGBB_OPPORTUNITIES + 1):
        alive &= rng.random(size) >= die
        bought = alive & (rng.random(size) < buy)
        x += bought
        t_x[bought] = opportunity
    return {"frequency": x, "recency": t_x, "periods": np.full(size, float(BGBB_OPPORTUNITIES))}


def simulate_sbg(rng, size, p):
    """A cohort of ``size`` subscribers: survivors after each of SBG_PERIODS renewals."""
    churn = rng.beta(p["alpha"], p["beta"], size)
    lifetime = rng.geometric(churn)          # periods paid, ≥ 1
    renewals = np.arange(SBG_PERIODS + 1)
    return {"period": renewals.astype(float),
            "survivors": (lifetime[None, :] > renewals[:, None]).sum(axis=1).astype(float)}


SIMULATORS = {"bgnbd": simulate_bgnbd, "pareto_nbd": simulate_pareto_nbd,
              "gamma_gamma": simulate_gamma_gamma, "bgbb": simulate_bgbb, "sbg": simulate_sbg}


def dataset(model: str, size: int | str, seed: int) -> dict[str, np.ndarray]:
    """The arrays one benchmark row fits; ``size`` "cdnow" reads the CDNOW summary."""
    if size == "cdnow":
        table = np.loadtxt(CDNOW, delimiter=",", skiprows=1)
        return {"frequency": table[:, 1], "recency": table[:, 2], "T": table[:, 3]}
    rng = np.random.default_rng([MODEL_KEY[model], int(size), seed])
    return SIMULATORS[model](rng, int(size), TRUE[model])


# --- children: one fit each, in a fresh process -------------------------------------

def _spec(model: str):
    sys.path.insert(0, str(ROOT))
    from sim.analytics import registry

    return registry.get(model)


def _fit_input(model: str, data: dict):
    """The arrays as ``ccsim fit`` hands them to the model's spec."""
    from sim.analytics.csv_input import FitInput

    spec = _spec(model)
    return FitInput(source="benchmark", model=model, kind=spec.kind,
                    columns={name: data[name] for name in spec.columns})


def fit_ours(model: str, data: dict, repeats: int) -> dict:
    import importlib

    spec = _spec(model)
    importlib.import_module(spec.module)      # loaded before the clock starts
    inputs = _fit_input(model, data)
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        fit = spec.fit(inputs)
        seconds.append(time.perf_counter() - start)
    return {"seconds": seconds, "params": fit.params, "converged": fit.converged}


def fit_lifetimes(model: str, data: dict, repeats: int) -> dict:
    import warnings

    import lifetimes

    warnings.simplefilter("ignore")
    class_name, names = LIFETIMES[model]
    seconds = []
    for _ in range(repeats):
        fitter = getattr(lifetimes, class_name)()
        start = time.perf_counter()
        fitter.fit(*[data[k] for k in _spec(model).columns])
        seconds.append(time.perf_counter() - start)
    params = {names[key]: float(value) for key, value in fitter.params_.items()}
    return {"seconds": seconds, "params": params, "version": lifetimes.__version__}


def run_child(python: str, who: str, model: str, path: Path, repeats: int,
              timeout: float) -> dict:
    """Run one fit in a fresh interpreter; errors come back as {"error": ...}."""
    command = [python, str(Path(__file__).resolve()), "--child", who, "--models", model,
               "--data", str(path), "--repeats", str(repeats)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {done.returncode}: {last}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def lifetimes_python(requested: str | None) -> tuple[str | None, str]:
    """(interpreter that can import lifetimes or None, what was found, for the header)."""
    candidate = requested or sys.executable
    try:
        probe = subprocess.run([candidate, "-c", "import lifetimes"], capture_output=True,
                               text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, f"not installed: cannot run {candidate} ({error})"
    if probe.returncode != 0:
        return None, (f"not installed in {candidate} "
                      "(pip install '.[bench]', or --lifetimes-python PATH)")
    return candidate, candidate


# --- comparison ---------------------------------------------------------------------

def log_likelihood(model: str, params: dict, data: dict) -> float:
    return float(_spec(model).log_likelihood(params, _fit_input(model, data)))


def measure(model: str, size, args, other_python: str | None) -> dict:
    data = dataset(model, size, args.seed)
    # A survivors model's data are one cohort: its size is the count at period 0.
    survivors = _spec(model).kind == "survivors"
    customers = int(data["survivors"][0]) if survivors else data["frequency"].size
    row = {"model": model, "size": size, "customers": customers}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.npz"
        np.savez(path, **data)
        row["ours"] = run_child(sys.executable, "ours", model, path, args.repeats, args.timeout)
        if model not in LIFETIMES:
            row["lifetimes"] = {"error": "no lifetimes fitter"}
        elif other_python is None:
            row["lifetimes"] = {"error": "lifetimes not installed"}
        elif customers > args.lifetimes_max:
            row["lifetimes"] = {"error": f"skipped above --lifetimes-max {args.lifetimes_max}"}
        else:
            row["lifetimes"] = run_child(other_python, "lifetimes", model, path,
                                         args.repeats, args.timeout)
    for who in ("ours", "lifetimes"):
        if "params" in row[who]:
            row[who]["median_seconds"] = statistics.median(row[who]["seconds"])
            row[who]["log_likelihood"] = log_likelihood(model, row[who]["params"], data)
    if "params" in row["ours"] and "params" in row["lifetimes"]:
        ours, theirs = row["ours"]["params"], row["lifetimes"]["params"]
        row["max_relative_param_diff"] = max(abs(ours[k] - theirs[k]) / abs(theirs[k])
                                             for k in ours)
        row["ratio"] = row["lifetimes"]["median_seconds"] / row["ours"]["median_seconds"]
        row["delta_log_likelihood"] = (row["ours"]["log_likelihood"]
                                       - row["lifetimes"]["log_likelihood"])
    return row


def print_row(row: dict) -> None:
    ours, theirs = row["ours"], row["lifetimes"]
    size = "CDNOW" if row["size"] == "cdnow" else f"{row['customers']:,}"
    our_time = f"{ours['median_seconds']:9.3f}" if "params" in ours else f"{'error':>9}"
    their_time = f"{theirs['median_seconds']:9.3f}" if "params" in theirs else f"{'-':>9}"
    ratio = f"{row['ratio']:7.1f}x" if "ratio" in row else f"{'-':>8}"
    diff = f"{row['max_relative_param_diff']:9.1e}" if "ratio" in row else f"{'-':>9}"
    delta = f"{row['delta_log_likelihood']:+10.1e}" if "ratio" in row else f"{'-':>10}"
    notes = "; ".join(f"{who}: {part['error']}" for who, part in (("ours", ours),
                      ("lifetimes", theirs)) if "error" in part)
    print(f"{row['model']:<12}{size:>11}{our_time}{their_time}{ratio}{diff}{delta}  {notes}")
    if "params" in ours:
        shown = ", ".join(f"{k}={v:.5g}" for k, v in ours["params"].items())
        print(f"{'':12}{'':11}  ours: {shown}")


def targets(rows: list[dict]) -> list[str]:
    lines = []
    for model in TARGET_MODELS:
        row = next((r for r in rows if r["model"] == model and r["size"] == TARGET_SIZE), None)
        if row is None or "params" not in row["ours"]:
            lines.append(f"   {model} at {TARGET_SIZE:,}: not measured")
            continue
        seconds = row["ours"]["median_seconds"]
        lines.append(f"   {model:<11} {TARGET_SIZE:,} customers < {TARGET_SECONDS:.0f} s : "
                     f"{seconds:.3f} s  {'PASS' if seconds < TARGET_SECONDS else 'MISS'}")
        if "ratio" in row:
            lines.append(f"   {model:<11} faster than lifetimes : {row['ratio']:.1f}x  "
                         f"{'PASS' if row['ratio'] > 1 else 'MISS'}")
            diff = row["max_relative_param_diff"]
            lines.append(f"   {model:<11} params within {TARGET_PARAM_DIFF:g} : {diff:.1e}  "
                         f"{'PASS' if diff <= TARGET_PARAM_DIFF else 'MISS'}")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--repeats", type=int, default=3, help="fits per row (median shown)")
    parser.add_argument("--seed", type=int, default=1, help="key of the simulated data")
    parser.add_argument("--lifetimes-python", metavar="PATH",
                        help="interpreter with lifetimes installed (default: this one)")
    parser.add_argument("--lifetimes-max", type=int, default=100_000,
                        help="skip lifetimes above this many customers (its fits take minutes)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per child")
    parser.add_argument("--json", metavar="OUT", help="also write every number to this file")
    parser.add_argument("--child", choices=("ours", "lifetimes"), help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        data = dict(np.load(args.data))
        fit = fit_ours if args.child == "ours" else fit_lifetimes
        print(json.dumps(fit(args.models[0], data, args.repeats)))
        return 0

    other, found = lifetimes_python(args.lifetimes_python)
    print("=" * 100)
    print("Analytics benchmark")
    print(f"machine : nproc {os.cpu_count()}, {platform.processor() or platform.machine()}, "
          f"python {platform.python_version()}, numpy {np.__version__}")
    print(f"lifetimes: {found}")
    print(f"load avg: {' '.join(f'{v:.2f}' for v in os.getloadavg())} at start; "
          f"median of {args.repeats} fits, each side in a fresh process")
    print("=" * 100)
    print(f"{'model':<12}{'customers':>11}{'ours s':>9}{'lifet. s':>9}{'ratio':>8}"
          f"{'max rel':>9}{'ΔLL':>10}")
    rows = []
    for model in args.models:
        on_cdnow = set(_spec(model).columns) <= set(CDNOW_COLUMNS)
        sizes = (["cdnow"] if on_cdnow else []) + args.sizes
        for size in sizes:
            row = measure(model, size, args, other)
            rows.append(row)
            print_row(row)
            sys.stdout.flush()
    print("   ratio = lifetimes time / ours; max rel = largest |ours − theirs| / |theirs| over "
          "parameters;\n   ΔLL = our log-likelihood at our estimates minus at lifetimes' "
          "(both by our closed form; > 0: ours fit better)")
    print("\nTargets (reported, not asserted)")
    print("\n".join(targets(rows)))
    print(f"load avg at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "lifetimes_python": other},
                                              indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
