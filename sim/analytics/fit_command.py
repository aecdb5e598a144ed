"""``ccsim fit``: fit a customer-base model to a CSV file, report it, predict.

The command's side of the analytics lab: read a summary or a transaction log
(:mod:`sim.analytics.csv_input`), fit one model by maximum likelihood, print
the estimates with standard errors and 95% intervals (or one JSON object),
and optionally write per-customer predictions to a CSV file, atomically.

What differs between models (columns, horizon, prediction columns, report
lines, the help's tables) is each model's spec in
:mod:`sim.analytics.registry`; nothing here tests a model's name.

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
from . import registry
from .model_spec import Horizon, ModelSpec, PredictionTable

__all__ = ["MODELS", "FitFailed", "FitUsageError", "add_parser", "run", "write_csv_atomically"]

#: The models at import (the parser asks the registry when it is built).
MODELS = registry.csv_names()
TIME_UNITS = ("days", "weeks")
EXIT_FAILED = 1
EXIT_USAGE = 2
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

# The --help epilog: the parts naming models are made from the registry's
# specs (_epilog), so a model added there shows up here too.
_INPUT_HELP = """\
input: column names match case-insensitively, in any order; other columns
are ignored. A summary file has one row per customer (or per group of
identical customers, counted by an optional whole-number weights column):
{inputs}
An id column (customer_id or id, e.g. CDNOW's ID) is carried through to the
predictions.

{every_model} also reads a transaction log, one row per purchase:
customer_id (or id), time, and amount (dollars; needed for {amount}).
time holds numbers (any unit; predictions come out in it) or dates
YYYY-MM-DD, converted to --time-unit (weeks unless told) since the earliest
date in the file. A customer's purchases at the same time are one purchase;
her first purchase starts her clock and is not counted; T runs to
--observation-end (default: the latest transaction).{whole_times}{referrals}

--predict OUT.csv writes one row per input row, in input order (for a
transaction log, one per customer in order of first appearance), with the id
and the model's input columns, then:
{predictions}
--horizon is required with --predict ({no_horizon} takes none); it is at most
{limits}. --discount-rate
applies to {discounted} only; without it the {discounted_columns} column is left
out. An option that would have no effect is refused, not ignored. OUT is
written to a temporary file beside it and renamed into place, so a failure
never leaves a half-written file.
"""

_LIMITS_HELP = """\
numbers in the file must be plain ASCII decimals (12, 3.5, 4e-5; not 1_0,
inf or nan), at most 1e9; weights at most 1e6 a row and 1e7 in all. A
summary's customer ids must be distinct. Fewer than 2 customers ({repeat_counted}:
repeat buyers), or nobody with a repeat purchase, is refused; fewer than 10
is fitted with a warning that the estimates are unreliable.

exit status: 0 fitted; 1 the fit failed (the optimiser did not converge, or
the predictions came out non-finite or negative: nothing is written); 2 bad
input, with one line naming the file, and the line and column at fault. An
existing OUT.csv that cannot be written (read-only file or folder) is refused
before fitting and never replaced, and so is a symbolic link, a device, a
folder or the input file itself."""


def _joined(words: list[str], conjunction: str = "and") -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def _help_table(groups: list[tuple[str, tuple[str, ...]]]) -> str:
    """Two-column help lines: names, then the text, continued under the text."""
    width = max(len(names) for names, _ in groups)
    lines = []
    for names, text in groups:
        lines.append(f"  {names.ljust(width)}  {text[0]}".rstrip())
        lines += [f"  {'':{width}}  {line}" for line in text[1:]]
    return "\n".join(lines)


def _grouped(specs: list[ModelSpec], text) -> list[tuple[str, tuple[str, ...]]]:
    """(names, text) with models of the same text on one line, in registry order."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for spec in specs:
        groups.setdefault(text(spec), []).append(spec.name)
    return [(", ".join(names), lines) for lines, names in groups.items()]


def _epilog() -> str:
    """``ccsim fit --help``'s epilog, from the registered models' specs."""
    specs = [registry.get(name) for name in registry.csv_names()]
    no_log = [spec.name for spec in specs if not spec.reads_logs]
    limits: dict[int, list[ModelSpec]] = {}
    for spec in specs:
        if spec.horizon is not None:
            limits.setdefault(spec.horizon.limit, []).append(spec)
    # The commonest limit is "for the others"; the rest are named.
    common = max(limits, key=lambda limit: len(limits[limit]))
    named = [f"{limit} {spec.horizon.unit} for {spec.name}" for limit, group in limits.items()
             if limit != common for spec in group]
    others = [spec.horizon.unit for spec in limits[common]]
    others_unit = ("time units" + "".join(f" ({unit})" for unit in dict.fromkeys(others)
                                          if unit != "time units of the data"))
    named.append(f"{common} {others_unit} for the others")
    whole_times = "".join(f" For {spec.name} the times must\nbe whole {spec.horizon.singular} "
                          f"numbers." for spec in specs if spec.whole_times)
    referral_models = [spec.name for spec in specs if spec.log_needs_referrals]
    referrals = ("" if not referral_models else
                 f"\nA log for {_joined(referral_models, 'or')} also needs referred_by (the "
                 f"referrer's id,\nblank if none): a customer's referrals are the customers "
                 f"naming it, its\nexposure T less one time unit (a turn), cut at the end of "
                 f"the\ncancelled_after_turn of a log with that column and turn.")
    discounted = [spec for spec in specs if spec.discounted]
    # Predictions by what a row is: per customer over a window, per customer
    # without one, then per period (the order a reader meets them in).
    by_output = sorted(specs, key=lambda spec: (spec.kind == "survivors", spec.horizon is None))
    return _INPUT_HELP.format(
        inputs=_help_table(_grouped(specs, lambda spec: spec.help_input
                                    or (", ".join(spec.columns),))),
        every_model="Every model" + (f" but {_joined(no_log)}" if no_log else ""),
        amount=_joined([spec.name for spec in specs if spec.log_needs_amount], "or"),
        whole_times=whole_times, referrals=referrals,
        predictions=_help_table(_grouped(by_output, lambda spec: spec.help_predict
                                         or (f"see {spec.module or spec.name}",))),
        no_horizon=_joined([spec.name for spec in specs if spec.horizon is None], "or"),
        limits=_joined(named),
        discounted=_joined([spec.name for spec in discounted]),
        discounted_columns="/".join(spec.discounted for spec in discounted),
    ) + "\n" + _LIMITS_HELP.format(
        repeat_counted=", ".join(spec.name for spec in specs if spec.counts_repeat_buyers))


class FitUsageError(SimError):
    """Options that do not fit together, or an output that cannot be written."""


class FitFailed(Exception):
    """A fit that ran but whose result cannot be trusted or written (exit 1)."""


def add_parser(subparsers, func) -> argparse.ArgumentParser:
    """Register ``fit`` on ``ccsim``'s subparsers, calling ``func(args)``."""
    p = subparsers.add_parser("fit", help="fit a customer-base model to a CSV file",
                              description=DESCRIPTION, epilog=_epilog(),
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    specs = [registry.get(name) for name in registry.csv_names()]
    per_period = [spec.name for spec in specs if spec.kind == "survivors"]
    p.add_argument("csv", metavar="CSV", help="a summary file or a transaction log")
    p.add_argument("--model", required=True, choices=registry.csv_names(),
                   help="the model to fit (input columns and predictions below)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object: the parameters by name, log_likelihood, "
                        "standard_errors, confidence_intervals, n, model, converged")
    p.add_argument("--predict", metavar="OUT.csv", default=None,
                   help="also write per-customer predictions"
                        + (f" (per-period for {_joined(per_period)})" if per_period else "")
                        + " to OUT.csv")
    own_units = [f"{spec.horizon.unit} for {spec.name}" for spec in specs
                 if spec.horizon is not None and spec.horizon != Horizon()]
    discounted = [spec for spec in specs if spec.discounted]
    per_step = [f"per {spec.horizon.singular} for {spec.name}" for spec in discounted
                if spec.horizon != Horizon()]
    p.add_argument("--horizon", metavar="t", type=_decimal("--horizon"), default=None,
                   help="forecast window for --predict, in the time unit of the data"
                        + (f" (whole {', '.join(own_units)})" if own_units else ""))
    p.add_argument("--discount-rate", metavar="d", type=_decimal("--discount-rate"), default=None,
                   help="simple discount rate per time unit"
                        + (f" ({', '.join(per_step)})" if per_step else "")
                        + f" for the {'/'.join(spec.discounted for spec in discounted)} "
                          f"column of --predict; must be > 0")
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

def _check_options(args: argparse.Namespace, spec: ModelSpec) -> None:
    model, horizon = spec.name, spec.horizon
    if args.predict is None:
        for option, value in (("--horizon", args.horizon), ("--discount-rate", args.discount_rate)):
            if value is not None:
                raise FitUsageError(f"{option} only applies with --predict OUT.csv")
        return
    if horizon is None:
        if args.horizon is not None:
            raise FitUsageError(f"--horizon does not apply to {model}: {spec.no_horizon}")
    elif args.horizon is None:
        raise FitUsageError(f"--predict needs --horizon t (the forecast window, in {horizon.unit})")
    elif not args.horizon > 0:
        raise FitUsageError(f"--horizon must be > 0, got {args.horizon:g}")
    elif args.horizon > horizon.limit:
        raise FitUsageError(f"--horizon must be at most {horizon.limit:,} for {model}, "
                            f"got {args.horizon:g}")
    elif horizon.whole and args.horizon != round(args.horizon):
        raise FitUsageError(f"--horizon must be a whole number of {horizon.unit} for {model}, "
                            f"got {args.horizon:g}")
    if args.discount_rate is not None:
        if spec.discounted is None:
            having = [f"{other.name} ({other.discounted})" for other in registry.specs()
                      if other.reads_csv and other.discounted]
            raise FitUsageError(f"--discount-rate does not apply to {model}: only "
                                f"{_joined(having)} have a discounted prediction")
        if not args.discount_rate > 0:
            raise FitUsageError(f"--discount-rate must be > 0, got {args.discount_rate:g}")
        if args.discount_rate > MAX_DISCOUNT_RATE:
            raise FitUsageError(f"--discount-rate must be at most {MAX_DISCOUNT_RATE:g} (100% per "
                                f"time unit), got {args.discount_rate:g}")
    check_output_file(args.predict, "--predict", inputs=(args.csv,))


# --- fitting -----------------------------------------------------------------------

def _fit(data, spec: ModelSpec):
    from .fitting import DataError

    try:
        return spec.fit(data)
    except DataError as exc:
        raise DataError(f"{data.source}: {exc}") from None


# --- predictions -------------------------------------------------------------------

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


def _check_predictions(table: PredictionTable) -> None:
    """Refuse to write predictions that are NaN, infinite or negative.

    Every prediction is a probability, a count or dollars: a NaN or a
    negative number means the fitted model broke down (e.g. parameters at
    the optimiser's bounds), and writing it would pass it on silently.

    Raises:
        FitFailed: naming the first bad column and row.
    """
    header, rows = table.header, table.rows
    for column in range(table.first_prediction, len(header)):
        for index, row in enumerate(rows):
            value = row[column]
            if isinstance(value, str):  # a blank cell (sbg beyond the data)
                continue
            number = float(value)
            if not math.isfinite(number) or number < 0:
                raise FitFailed(f"{header[column]} is {number} for {table.row_noun} {index + 1}; "
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


def _report_text(data, fit, extras: dict, spec: ModelSpec) -> str:
    title = spec.label
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
    facts = [["log-likelihood", f"{fit.log_likelihood:.2f}"],
             [spec.count_label, f"{fit.n:,}"],
             ["converged", ("NO (the estimates are not a maximum)" if not fit.converged
                            else "yes, but see the warning below" if data.warnings else "yes")]]
    if spec.facts is not None:
        facts += [list(fact) for fact in spec.facts(extras)]
    width = max(len(label) for label, _ in facts)
    lines += [f"{label.ljust(width)}  {value}" for label, value in facts]
    lines += _model_warnings(spec, extras)
    lines += [f"warning: {warning}" for warning in data.warnings]
    lines.append("(95% intervals: Wald intervals for the log of each parameter, mapped back)")
    return "\n".join(lines)


def _model_warnings(spec: ModelSpec, extras: dict) -> list[str]:
    """The model's own warnings about the fit (Gamma-Gamma: spend tracks frequency)."""
    return list(spec.warnings(extras)) if spec.warnings is not None else []


def _run(args: argparse.Namespace) -> int:
    from .. import strict_json
    from .csv_input import load_fit_input

    spec = registry.get(args.model, csv=True)
    _check_options(args, spec)
    data = load_fit_input(args.csv, spec.name, time_unit=args.time_unit,
                          observation_end=args.observation_end)
    fit = _fit(data, spec)
    if not all(math.isfinite(value) and value > 0 for value in fit.params.values()):
        raise FitFailed(f"the estimates are not finite positive numbers ({fit.params})")
    extras = spec.extras(data, fit) if spec.extras is not None else {}
    predicted = None
    if args.predict is not None and fit.converged:
        # Warnings off: a breakdown shows up as NaN, which the check below names.
        with np.errstate(all="ignore"):
            table = spec.predict(data, fit, args.horizon, args.discount_rate)
        _check_predictions(table)
        header, rows = table.header, table.rows
        write_csv_atomically(args.predict, header, rows)
        predicted = {"path": args.predict, "rows": len(rows), "columns": header}
    status = 0 if fit.converged else EXIT_FAILED
    if args.json:
        print(strict_json.dumps(_report_json(data, fit, extras, predicted), indent=2))
        for line in _model_warnings(spec, extras):
            print(line, file=sys.stderr)
        for warning in data.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    else:
        print(_report_text(data, fit, extras, spec))
        if predicted is not None:
            print(f"wrote {len(rows):,} rows to {args.predict} ({', '.join(header)})")
    if not fit.converged:
        unwritten = f"; {args.predict} was not written" if args.predict is not None else ""
        print(f"fit failed: the optimiser did not converge{unwritten}", file=sys.stderr)
    return status
