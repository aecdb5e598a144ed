"""``ccsim fit``: fit a customer-base model to a CSV file, report it, predict.

The command's side of the analytics lab: read a summary or a transaction log
(:mod:`sim.analytics.csv_input`), fit one model by maximum likelihood, print
the estimates with standard errors and 95% intervals (or one JSON object),
and optionally write per-customer predictions to a CSV file, atomically.

Only the standard library and numpy are imported here at module level, so
building the ``ccsim`` parser stays cheap; the models (scipy) load when the
command runs.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import math
import os
import re
import sys
from pathlib import Path

import numpy as np

from ..errors import SimError
from ..output_paths import OutputPathError, check_output_file, write_atomically

__all__ = ["MODELS", "FitFailed", "FitUsageError", "add_parser", "run", "write_csv_atomically"]

MODELS = ("bgnbd", "pareto_nbd", "gamma_gamma", "bgbb", "sbg")
TITLES = {"bgnbd": "BG/NBD", "pareto_nbd": "Pareto/NBD", "gamma_gamma": "Gamma-Gamma",
          "bgbb": "BG/BB", "sbg": "sBG"}
# Models with a discounted-value column in --predict: Pareto/NBD's DERT, sBG's DERL.
DISCOUNTED = ("pareto_nbd", "sbg")
CORRELATION_WARNING = 0.3
TIME_UNITS = ("days", "weeks")
EXIT_FAILED = 1
EXIT_USAGE = 2
#: Longest --horizon: the sbg prediction writes one row per period and the
#: others' closed forms lose all precision far beyond any data's span
#: (BG/BB at 1e16 opportunities came out negative).
MAX_HORIZON = {"sbg": 1000, "bgbb": 10_000}
MAX_HORIZON_DEFAULT = 10_000
#: Largest --discount-rate: 100% per time unit (a weekly rate is a fraction
#: of a percent); beyond it the discounted columns say nothing.
MAX_DISCOUNT_RATE = 1.0
# Plain ASCII decimals only: float() would also take '1_0', other scripts'
# digits, 'nan' and 'inf'.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")

DESCRIPTION = """\
Fit a customer-base model to a CSV file by maximum likelihood and print the
parameters (named as in the papers) with standard errors, 95% intervals
(Wald intervals on the log scale) and the log-likelihood."""

EPILOG = """\
input: column names match case-insensitively, in any order; other columns
are ignored. A summary file has one row per customer (or per group of
identical customers, counted by an optional whole-number weights column):
  bgnbd, pareto_nbd  frequency, recency, T   (x repeat purchases, t_x, age;
                     recency and T in one time unit, e.g. weeks)
  gamma_gamma        frequency, monetary_value   (mean repeat spend, dollars;
                     rows with frequency 0 are left out of the fit)
  bgbb               frequency, recency, periods   (whole numbers; periods =
                     opportunities n)
  sbg                period, survivors   (one cohort: periods 0, 1, 2, ... in
                     order; survivors at period 0 is the cohort size)
An id column (customer_id or id, e.g. CDNOW's ID) is carried through to the
predictions.

Every model but sbg also reads a transaction log, one row per purchase:
customer_id (or id), time, and amount (dollars; needed for gamma_gamma).
time holds numbers (any unit; predictions come out in it) or dates
YYYY-MM-DD, converted to --time-unit (weeks unless told) since the earliest
date in the file. A customer's purchases at the same time are one purchase;
her first purchase starts her clock and is not counted; T runs to
--observation-end (default: the latest transaction). For bgbb the times must
be whole opportunity numbers.

--predict OUT.csv writes one row per input row, in input order (for a
transaction log, one per customer in order of first appearance), with the id
and the model's input columns, then:
  bgnbd        p_alive, expected_purchases (in the next --horizon time units)
  pareto_nbd   p_alive, expected_purchases, and with --discount-rate d also
               dert (discounted expected residual transactions, at simple
               rate d per time unit)
  bgbb         p_alive (at the next opportunity), expected_purchases (in the
               next --horizon opportunities)
  gamma_gamma  expected_spend (dollars per future purchase); no --horizon
  sbg          one row per period 0 .. last + --horizon: period, survivors
               (observed; blank beyond the data), fitted_survivors,
               retention_rate (blank at period 0), and with --discount-rate
               d also derl: discounted expected residual lifetime, in
               periods, of a subscriber still there at that period (next
               renewal undiscounted)
--horizon is required with --predict (gamma_gamma takes none); it is at most
1000 periods for sbg and 10000 time units (opportunities) for the others. --discount-rate
applies to pareto_nbd and sbg only; without it the dert/derl column is left
out. An option that would have no effect is refused, not ignored. OUT is
written to a temporary file beside it and renamed into place, so a failure
never leaves a half-written file.

numbers in the file must be plain ASCII decimals (12, 3.5, 4e-5; not 1_0,
inf or nan), at most 1e9; weights at most 1e6 a row and 1e7 in all. A
summary's customer ids must be distinct. Fewer than 2 customers (gamma_gamma:
repeat buyers), or nobody with a repeat purchase, is refused; fewer than 10
is fitted with a warning that the estimates are unreliable.

exit status: 0 fitted; 1 the fit failed (the optimiser did not converge, or
the predictions came out non-finite or negative: nothing is written); 2 bad
input, with one line naming the file, and the line and column at fault. An
existing OUT.csv that cannot be written (read-only file or folder) is refused
before fitting and never replaced, and so is a symbolic link, a device, a
folder or the input file itself."""


class FitUsageError(SimError):
    """Options that do not fit together, or an output that cannot be written."""


class FitFailed(Exception):
    """A fit that ran but whose result cannot be trusted or written (exit 1)."""


def add_parser(subparsers, func) -> argparse.ArgumentParser:
    """Register ``fit`` on ``ccsim``'s subparsers, calling ``func(args)``."""
    p = subparsers.add_parser("fit", help="fit a customer-base model to a CSV file",
                              description=DESCRIPTION, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("csv", metavar="CSV", help="a summary file or a transaction log")
    p.add_argument("--model", required=True, choices=MODELS,
                   help="the model to fit (input columns and predictions below)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object: the parameters by name, log_likelihood, "
                        "standard_errors, confidence_intervals, n, model, converged")
    p.add_argument("--predict", metavar="OUT.csv", default=None,
                   help="also write per-customer predictions (per-period for sbg) to OUT.csv")
    p.add_argument("--horizon", metavar="t", type=_decimal("--horizon"), default=None,
                   help="forecast window for --predict, in the time unit of the data "
                        "(whole opportunities for bgbb, periods for sbg)")
    p.add_argument("--discount-rate", metavar="d", type=_decimal("--discount-rate"), default=None,
                   help="simple discount rate per time unit (per period for sbg) for the "
                        "dert/derl column of --predict; must be > 0")
    p.add_argument("--time-unit", choices=TIME_UNITS, default=None,
                   help="unit for a transaction log's dates (default weeks)")
    p.add_argument("--observation-end", metavar="TIME", default=None,
                   help="end of a transaction log's observation window, a number or a "
                        "date like its times (default: the latest transaction)")
    p.set_defaults(func=func)
    return p


def _decimal(option: str):
    """argparse type: a plain ASCII decimal number (its errors exit 2 naming ``option``)."""
    def parse(text: str) -> float:
        if not _DECIMAL.fullmatch(text.strip()):
            raise argparse.ArgumentTypeError(f"{option} must be a plain decimal number "
                                             f"(e.g. 39 or 0.01), got {text[:40]!r}")
        return float(text)
    return parse


def run(args: argparse.Namespace) -> int:
    """Run ``ccsim fit``; returns the exit status (2 for bad input, with one line)."""
    from .fitting import DataError

    try:
        return _run(args)
    except (DataError, FitUsageError, OutputPathError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except FitFailed as exc:
        print(f"fit failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:
        # The reader went away (``ccsim fit ... | head``): stop quietly, as the
        # Python docs advise, pointing stdout at devnull so exit does not fail again.
        with contextlib.suppress(AttributeError, OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


# --- options ---------------------------------------------------------------------

def _check_options(args: argparse.Namespace) -> None:
    model = args.model
    if args.predict is None:
        for option, value in (("--horizon", args.horizon), ("--discount-rate", args.discount_rate)):
            if value is not None:
                raise FitUsageError(f"{option} only applies with --predict OUT.csv")
        return
    if model == "gamma_gamma":
        if args.horizon is not None:
            raise FitUsageError("--horizon does not apply to gamma_gamma: expected spend per "
                                "purchase has no time window")
    elif args.horizon is None:
        unit = {"bgbb": "opportunities", "sbg": "periods"}.get(model, "time units of the data")
        raise FitUsageError(f"--predict needs --horizon t (the forecast window, in {unit})")
    elif not args.horizon > 0:
        raise FitUsageError(f"--horizon must be > 0, got {args.horizon:g}")
    elif args.horizon > MAX_HORIZON.get(model, MAX_HORIZON_DEFAULT):
        raise FitUsageError(f"--horizon must be at most "
                            f"{MAX_HORIZON.get(model, MAX_HORIZON_DEFAULT):,} for {model}, "
                            f"got {args.horizon:g}")
    elif model in ("bgbb", "sbg") and args.horizon != round(args.horizon):
        raise FitUsageError(f"--horizon must be a whole number of "
                            f"{'opportunities' if model == 'bgbb' else 'periods'} for {model}, "
                            f"got {args.horizon:g}")
    if args.discount_rate is not None:
        if model not in DISCOUNTED:
            raise FitUsageError(f"--discount-rate does not apply to {model}: only pareto_nbd "
                                f"(dert) and sbg (derl) have a discounted prediction")
        if not args.discount_rate > 0:
            raise FitUsageError(f"--discount-rate must be > 0, got {args.discount_rate:g}")
        if args.discount_rate > MAX_DISCOUNT_RATE:
            raise FitUsageError(f"--discount-rate must be at most {MAX_DISCOUNT_RATE:g} (100% per "
                                f"time unit), got {args.discount_rate:g}")
    check_output_file(args.predict, "--predict", inputs=(args.csv,))


# --- fitting -----------------------------------------------------------------------

def _expanded_spend(data) -> tuple[np.ndarray, np.ndarray]:
    """Gamma-Gamma's (x, z̄) with weighted rows repeated (its fit takes no weights)."""
    x, zbar = data.columns["frequency"], data.columns["monetary_value"]
    weights = data.columns.get("weights")
    if weights is None:
        return x, zbar
    counts = weights.astype(int)
    return np.repeat(x, counts), np.repeat(zbar, counts)


def _fit(data):
    from . import bgbb, bgnbd, gamma_gamma, pareto_nbd, sbg
    from .fitting import DataError

    c = data.columns
    try:
        if data.model == "bgnbd":
            return bgnbd.fit(c["frequency"], c["recency"], c["T"], c.get("weights"))
        if data.model == "pareto_nbd":
            return pareto_nbd.fit(c["frequency"], c["recency"], c["T"], c.get("weights"))
        if data.model == "bgbb":
            return bgbb.fit(c["frequency"], c["recency"], c["periods"], c.get("weights"))
        if data.model == "gamma_gamma":
            return gamma_gamma.fit(*_expanded_spend(data))
        return sbg.fit(c["survivors"])
    except DataError as exc:
        raise DataError(f"{data.source}: {exc}") from None


def _spend_facts(data, fit) -> dict[str, float]:
    from . import gamma_gamma

    x, zbar = _expanded_spend(data)
    return {"spend_frequency_correlation": gamma_gamma.spend_frequency_correlation(x, zbar),
            "mean_spend": gamma_gamma.mean_spend(fit),
            "observed_mean_spend": float(np.mean(zbar[x > 0]))}


# --- predictions -------------------------------------------------------------------

def _predictions(data, fit, horizon: float | None, discount_rate: float | None
                 ) -> tuple[list[str], list[list]]:
    """(header, rows) of the --predict file."""
    from . import bgbb, bgnbd, gamma_gamma, pareto_nbd, sbg

    model, c = data.model, data.columns
    if model == "sbg":
        return _survivor_predictions(sbg, c, fit, int(horizon), discount_rate)
    columns: dict[str, object] = {}
    if data.ids is not None:
        columns[data.id_column] = data.ids
    columns.update(c)
    if model in ("bgnbd", "pareto_nbd"):
        module = bgnbd if model == "bgnbd" else pareto_nbd
        history = (c["frequency"], c["recency"], c["T"])
        columns["p_alive"] = module.p_alive(fit, *history)
        columns["expected_purchases"] = module.conditional_expected_purchases(fit, horizon, *history)
        if discount_rate is not None:
            columns["dert"] = pareto_nbd.dert(fit, *history, discount_rate)
    elif model == "bgbb":
        history = (c["frequency"], c["recency"], c["periods"])
        columns["p_alive"] = bgbb.p_alive(fit, *history)
        columns["expected_purchases"] = bgbb.conditional_expected_purchases(
            fit, int(horizon), *history)
    else:
        columns["expected_spend"] = gamma_gamma.expected_spend(fit, c["frequency"],
                                                               c["monetary_value"])
    header = list(columns)
    rows = [list(row) for row in zip(*columns.values())]
    return header, rows


def _survivor_predictions(sbg, c, fit, horizon: int, discount_rate: float | None
                          ) -> tuple[list[str], list[list]]:
    observed = c["survivors"]
    periods = np.arange(observed.size + horizon)
    fitted = observed[0] * sbg.survival(fit, periods)
    retention = [""] + list(sbg.retention_rate(fit, periods[1:]))
    header = ["period", "survivors", "fitted_survivors", "retention_rate"]
    columns = [periods, list(observed) + [""] * horizon, fitted, retention]
    if discount_rate is not None:
        header.append("derl")
        columns.append(sbg.discounted_expected_residual_lifetime(fit, periods + 1, discount_rate))
    return header, [list(row) for row in zip(*columns)]


def _cell(value) -> str:
    """Text for one CSV cell: whole numbers without '.0', other floats exactly."""
    if isinstance(value, str):
        return value
    if isinstance(value, (np.integer, int)):
        return str(int(value))
    number = float(value)
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return repr(number)


def write_csv_atomically(path: str | Path, header: list[str], rows: list[list]) -> None:
    """Write a CSV file through a temporary file beside it and a rename.

    Readers see the old file or the whole new one, never part of it; on any
    failure the old file (if any) stays.  A symbolic link, a device or a
    read-only file is never replaced (``sim.output_paths``).

    Raises:
        OutputPathError: The file cannot or must not be written.
    """
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows([_cell(value) for value in row] for row in rows)
    write_atomically(path, text.getvalue(), "the predictions")


# --- reporting ---------------------------------------------------------------------

def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _check_predictions(header: list[str], rows: list[list], data) -> None:
    """Refuse to write predictions that are NaN, infinite or negative.

    Every prediction is a probability, a count or dollars: a NaN or a
    negative number means the fitted model broke down (e.g. parameters at
    the optimiser's bounds), and writing it would pass it on silently.

    Raises:
        FitFailed: naming the first bad column and row.
    """
    first_prediction = len(data.columns) + (data.ids is not None)
    if data.model == "sbg":
        first_prediction = 2
    for column in range(first_prediction, len(header)):
        for index, row in enumerate(rows):
            value = row[column]
            if isinstance(value, str):  # a blank cell (sbg beyond the data)
                continue
            number = float(value)
            if not math.isfinite(number) or number < 0:
                what = "period" if data.model == "sbg" else "row"
                raise FitFailed(f"{header[column]} is {number} for {what} {index + 1}; "
                                f"the fitted model breaks down on this data, so "
                                f"{len(rows):,} rows were not written")


def _report_json(data, fit, extras: dict, predicted: dict | None) -> dict:
    report: dict[str, object] = {"model": data.model, "file": data.source, "input": data.kind}
    report.update({name: value for name, value in fit.params.items()})
    report["log_likelihood"] = fit.log_likelihood
    report["standard_errors"] = {name: _finite_or_none(se)
                                 for name, se in fit.standard_errors.items()}
    report["confidence_intervals"] = {
        name: [_finite_or_none(bound) for bound in fit.confidence_interval(name)]
        for name in fit.params}
    report["n"] = fit.n
    report["converged"] = fit.converged
    report["warnings"] = list(data.warnings)
    if data.kind == "transaction log":
        report["transactions"] = data.transactions
    report.update({name: _finite_or_none(value) for name, value in extras.items()})
    if predicted is not None:
        report["predictions"] = predicted
    return report


def _number(value: float) -> str:
    """Four significant figures, keeping trailing zeros (0.5010, not 0.501)."""
    if not math.isfinite(value):
        return "n/a"
    text = f"{value:#.4g}"
    return text[:-1] if text.endswith(".") else text


def _aligned(rows: list[list[str]]) -> list[str]:
    """First column left-aligned, the rest right-aligned, two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join([row[0].ljust(widths[0])]
                      + [cell.rjust(width) for cell, width in zip(row[1:], widths[1:])]).rstrip()
            for row in rows]


def _report_text(data, fit, extras: dict) -> str:
    title = TITLES[data.model]
    if data.kind == "transaction log":
        described = f"transaction log, {data.transactions:,} transactions; {data.notes[0]}"
    elif data.kind == "survivors":
        described = f"one cohort, periods 0-{data.rows - 1}"
    else:
        described = f"summary, {data.rows:,} rows"
    lines = [f"{title} fit to {data.source} ({described})", ""]
    table = [["parameter", "estimate", "std. error", "95% interval"]]
    for name, estimate in fit.params.items():
        low, high = fit.confidence_interval(name)
        interval = f"[{_number(low)}, {_number(high)}]" if math.isfinite(low) else "n/a"
        table.append([name, _number(estimate), _number(fit.standard_errors[name]), interval])
    lines += _aligned(table)
    lines.append("")
    who = {"gamma_gamma": "repeat buyers", "sbg": "cohort size"}.get(data.model, "customers")
    facts = [["log-likelihood", f"{fit.log_likelihood:.2f}"],
             [who, f"{fit.n:,}"],
             ["converged", ("NO (the estimates are not a maximum)" if not fit.converged
                            else "yes, but see the warning below" if data.warnings else "yes")]]
    if data.model == "gamma_gamma":
        model_mean = extras["mean_spend"]
        correlation = extras["spend_frequency_correlation"]
        facts += [["mean spend",
                   (f"${model_mean:,.2f}" if math.isfinite(model_mean) else "infinite (q <= 1)")
                   + f" per purchase (model, p*gamma/(q-1)); repeat buyers' observed "
                     f"${extras['observed_mean_spend']:,.2f}"],
                  ["spend-frequency correlation",
                   f"{correlation:.3f} (repeat buyers)" if math.isfinite(correlation)
                   else "n/a (spend or frequency is constant)"]]
    width = max(len(label) for label, _ in facts)
    lines += [f"{label.ljust(width)}  {value}" for label, value in facts]
    correlation = extras.get("spend_frequency_correlation", 0.0)
    if abs(correlation) > CORRELATION_WARNING:
        lines.append(_correlation_warning(correlation))
    lines += [f"warning: {warning}" for warning in data.warnings]
    lines.append("(95% intervals: Wald intervals for the log of each parameter, mapped back)")
    return "\n".join(lines)


def _correlation_warning(correlation: float) -> str:
    return (f"warning: spend and frequency correlate ({correlation:.2f}, beyond "
            f"±{CORRELATION_WARNING}); Gamma-Gamma assumes they are independent, so do not "
            f"multiply its spend by a transaction model's counts without care")


def _run(args: argparse.Namespace) -> int:
    from .. import strict_json
    from .csv_input import load_fit_input

    _check_options(args)
    data = load_fit_input(args.csv, args.model, time_unit=args.time_unit,
                          observation_end=args.observation_end)
    fit = _fit(data)
    if not all(math.isfinite(value) and value > 0 for value in fit.params.values()):
        raise FitFailed(f"the estimates are not finite positive numbers ({fit.params})")
    extras = _spend_facts(data, fit) if data.model == "gamma_gamma" else {}
    predicted = None
    if args.predict is not None and fit.converged:
        # Warnings off: a breakdown shows up as NaN, which the check below names.
        with np.errstate(all="ignore"):
            header, rows = _predictions(data, fit, args.horizon, args.discount_rate)
        _check_predictions(header, rows, data)
        write_csv_atomically(args.predict, header, rows)
        predicted = {"path": args.predict, "rows": len(rows), "columns": header}
    status = 0 if fit.converged else EXIT_FAILED
    if args.json:
        print(strict_json.dumps(_report_json(data, fit, extras, predicted), indent=2))
        correlation = extras.get("spend_frequency_correlation", 0.0)
        if abs(correlation) > CORRELATION_WARNING:
            print(_correlation_warning(correlation), file=sys.stderr)
        for warning in data.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    else:
        print(_report_text(data, fit, extras))
        if predicted is not None:
            print(f"wrote {len(rows):,} rows to {args.predict} ({', '.join(header)})")
    if not fit.converged:
        unwritten = f"; {args.predict} was not written" if args.predict is not None else ""
        print(f"fit failed: the optimiser did not converge{unwritten}", file=sys.stderr)
    return status
