"""Reading and checking the CSV files ``ccsim fit`` fits models to.

Two kinds of file feed a model:

* a *summary*, one row per customer (or per group of identical customers,
  with a ``weights`` column of counts) in the papers' terms: ``frequency``
  (repeat purchases x), ``recency`` (t_x), ``T`` (age), ``monetary_value``
  (mean repeat spend, dollars) or, for BG/BB, ``periods`` (opportunities n);
  for sBG, one cohort's ``survivors`` at each ``period`` 0, 1, 2, ...;
* a *transaction log*, one row per purchase: ``customer_id`` (or ``id``),
  ``time`` and optionally ``amount`` (dollars), summarised with
  :func:`~sim.analytics.transactions.summarise_transactions`; for the
  referral NBD also ``referred_by`` (the referrer's id, blank if none) and,
  if the log has them (``ccsim export`` of a members' game),
  ``cancelled_after_turn`` and ``turn``, summarised with
  :func:`~sim.analytics.transactions.summarise_referrals`.

Which columns a model needs, how its rows are checked beyond the generic
checks, whether it takes weights and transaction logs: its spec in
:mod:`sim.analytics.registry`.  Column names match case-insensitively, in
any order; other columns are ignored. Every problem is a :class:`~sim.analytics.fitting.DataError` whose
message starts with the file name and, where one row is at fault, names the
line (the header is line 1) and the column, so a student can fix the file.
Only the ``csv`` module and numpy are used (no pandas).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..capped_read import display_name, read_capped_regular_file
from . import registry
from .fitting import DataError
from .model_spec import ModelSpec
from .transactions import CustomerSummary, summarise_referrals, summarise_transactions

__all__ = ["MODELS", "SUMMARY_COLUMNS", "TIME_UNITS", "CsvTable", "FitInput", "read_csv",
           "load_fit_input"]

# The built-in models and their summary columns, as the papers name them, at
# import; the reader itself asks the registry (sim.analytics.registry), so a
# model registered later is read too.
MODELS = registry.csv_names()
SUMMARY_COLUMNS: dict[str, tuple[str, ...]] = {name: registry.get(name).columns
                                               for name in MODELS}
ID_COLUMNS = ("customer_id", "id")
#: A log's referrer column, and the columns that bound a member's referrals
#: (as ``ccsim export`` names them, sim/export.py).
REFERRED_BY = "referred_by"
CANCELLED_AFTER = "cancelled_after_turn"
TURN = "turn"
TIME_UNITS = {"days": 1.0, "weeks": 7.0}  # days per unit
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Plain ASCII decimals only: float() would also take '1_0', Arabic-Indic
# digits, 'inf', 'nan' and 'infinity', none of which a student means.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
#: Largest value a cell may hold: counts, times and dollars beyond this are a
#: typo or an attack, and would overflow the likelihoods.
MAX_VALUE = 1e9
#: Largest weight of one row, and of all rows together (Gamma-Gamma expands
#: weighted rows into one entry per customer, 8 bytes each).
MAX_WEIGHT = 1e6
MAX_TOTAL_WEIGHT = 1e7
#: Fewest customers (sum of weights; Gamma-Gamma counts repeat buyers) for a
#: fit without a warning.  Below it the estimates are mostly noise however
#: the optimiser ends, so the report says so instead of a plain "converged".
MIN_CUSTOMERS = 10
#: Fewer than this is refused outright: one customer identifies nothing.
MIN_CUSTOMERS_TO_FIT = 2
#: Most bytes of a CSV file: CDNOW's whole transaction log is 2 MB, a
#: million-row log about 30 MB.
MAX_CSV_BYTES = 64 * 1024 * 1024
#: Most cells (commas plus line ends, counted before parsing): a million rows
#: of four columns.  Parsed, a cell takes about 120 bytes of Python objects.
MAX_CSV_CELLS = 4_000_000
#: Longest customer id: ids become a fixed-width text array, as wide as the
#: longest one, so one huge id would make every row huge.
MAX_ID_CHARS = 100


@dataclass(frozen=True)
class CsvTable:
    """A CSV file's header and data rows, as text.

    Attributes:
        source: The file's name, used to start every error message.
        header: Column names as written (surrounding spaces removed).
        rows: Data rows (blank lines skipped), each a list of cells.
        lines: Line number of each data row in the file (header = line 1).
    """

    source: str
    header: tuple[str, ...]
    rows: list[list[str]]
    lines: np.ndarray

    def error(self, message: str) -> DataError:
        return DataError(f"{self.source}: {message}")

    def row_error(self, row: int, column: str, message: str) -> DataError:
        return self.error(f"line {int(self.lines[row])}, column {column}: {message}")

    def find(self, name: str) -> str | None:
        """The header's spelling of column ``name`` (case-insensitive), or None."""
        matches = [column for column in self.header if column.lower() == name.lower()]
        if len(matches) > 1:
            raise self.error(f"column {name!r} appears {len(matches)} times in the header")
        return matches[0] if matches else None

    def first_bad(self, bad: np.ndarray, column: str, describe) -> None:
        """Raise the row error of the first True in ``bad``, ``describe(row)`` saying why.

        Raises:
            DataError: naming the line of the first bad row and ``column``
                as the header spells it.
        """
        if np.any(bad):
            row = int(np.flatnonzero(bad)[0])
            raise self.row_error(row, self.find(column) or column, describe(row))

    def has(self, name: str) -> bool:
        return self.find(name) is not None

    def text(self, name: str) -> list[str]:
        """A column's cells, stripped; '' where a short row lacks the cell."""
        column = self.find(name)
        if column is None:
            raise self.error(f"no column {name!r}")
        index = self.header.index(column)
        return [row[index].strip() if index < len(row) else "" for row in self.rows]

    def numbers(self, name: str, *, whole: bool = False) -> np.ndarray:
        """A column as finite, non-negative floats (whole numbers if ``whole``).

        Raises:
            DataError: naming the line and column of the first bad cell.
        """
        column = self.find(name)
        cells = self.text(name)
        for row, cell in enumerate(cells):
            if not _DECIMAL.fullmatch(cell):
                if cell == "":
                    raise self.row_error(row, column, "missing value")
                raise self.row_error(row, column, _not_a_number(cell))
        values = np.array([float(cell) for cell in cells], dtype=float)
        _check_values(values, self, column, whole)
        return values


def _not_a_number(cell: str) -> str:
    """Why a cell is not a plain decimal; a hint where Python would have read it."""
    try:
        float(cell)
    except ValueError:
        return f"{cell[:40]!r} is not a number"
    return (f"{cell[:40]!r} is not a plain decimal number (write ASCII digits, "
            f"e.g. 10 or 3.5 or 4e-5)")


def _check_values(values: np.ndarray, table: CsvTable, column: str, whole: bool) -> None:
    checks = [(~np.isfinite(values), "is not a finite number"),
              (values < 0, "is negative"),
              (values > MAX_VALUE, f"is too large (at most {MAX_VALUE:g})")]
    if whole:
        checks.append((values != np.round(values), "is not a whole number"))
    for bad, problem in checks:
        with np.errstate(invalid="ignore"):
            if np.any(bad):
                row = int(np.flatnonzero(bad)[0])
                raise table.row_error(row, column, f"{table.text(column)[row]} {problem}")


def read_csv(path: str | Path) -> CsvTable:
    """Read a CSV file with a header row.

    Raises:
        DataError: No such file, not a regular file, larger than
            MAX_CSV_BYTES or MAX_CSV_CELLS, unreadable, not text, not CSV,
            empty, no header (the first line holds only numbers), or no data
            rows.
    """
    source = display_name(path) if isinstance(path, (str, Path)) else "CSV"
    raw = read_capped_regular_file(path, MAX_CSV_BYTES, "a CSV file", DataError, source)
    cells = (raw.count(b",") + raw.count(b"\n") + raw.count(b"\r") - raw.count(b"\r\n"))
    if cells > MAX_CSV_CELLS:
        raise DataError(f"{source}: about {cells:,} cells; at most {MAX_CSV_CELLS:,} (a million "
                        f"rows of four columns)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{source}: not a text CSV file ({exc.reason} at byte {exc.start})") from None
    del raw
    try:
        reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
        records = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise DataError(f"{source}: not a valid CSV file ({exc})") from None
    if not records:
        raise DataError(f"{source}: the file is empty")
    header = tuple(cell.strip() for cell in records[0][1])
    if all(_is_number(cell) for cell in header if cell):
        raise DataError(f"{source}: no header: line {records[0][0]} should name the columns "
                        f"but holds numbers ({','.join(header)})")
    if len(records) == 1:
        raise DataError(f"{source}: no data rows after the header")
    return CsvTable(source=source, header=header, rows=[row for _, row in records[1:]],
                    lines=np.array([line for line, _ in records[1:]], dtype=int))


def _is_number(cell: str) -> bool:
    return bool(_DECIMAL.fullmatch(cell.strip()))


@dataclass(frozen=True)
class FitInput:
    """What one model needs from a file, checked.

    Attributes:
        source: The file's name (starts error messages).
        model: A registered model's name (:mod:`sim.analytics.registry`).
        kind: ``"summary"``, ``"transaction log"`` or ``"survivors"`` (sBG).
        columns: Canonical column name -> array: ``frequency``, ``recency``,
            ``T``, ``monetary_value``, ``periods``, ``weights``, ``period``,
            ``survivors``, whichever the model and file supply.
        ids: Customer ids (text) in output order, or None if the file has no
            id column.
        id_column: The id column's name as the file spells it.
        rows: Rows the model sees (customers for a transaction log).
        transactions: Rows of a transaction log (0 for a summary).
    """

    source: str
    model: str
    kind: str
    columns: dict[str, np.ndarray]
    ids: np.ndarray | None = None
    id_column: str | None = None
    rows: int = 0
    transactions: int = 0
    notes: tuple[str, ...] = field(default=())
    warnings: tuple[str, ...] = field(default=())


def load_fit_input(path: str | Path, model: str, *, time_unit: str | None = None,
                   observation_end: str | None = None) -> FitInput:
    """Read ``path`` and check it holds what ``model`` needs.

    A file with all of the model's summary columns is read as a summary;
    otherwise a file with a ``time`` column is read as a transaction log
    (if the model's spec reads logs: not sBG).

    Args:
        path: The CSV file.
        model: The name of a model ``ccsim fit`` fits to CSV files
            (:func:`sim.analytics.registry.csv_names`).
        time_unit: ``"days"`` or ``"weeks"`` (default) for a log whose times
            are dates; refused for numeric times.
        observation_end: End of observation for a log, a number or a date
            like its times; defaults to the latest transaction.

    Raises:
        DataError: Whatever is wrong, naming the file, and the line and
            column where one cell is at fault.
    """
    spec = registry.get(model, csv=True)
    table = read_csv(path)
    missing = [name for name in spec.columns if not table.has(name)]
    is_log = bool(missing) and spec.reads_logs and table.has("time")
    if not is_log and (time_unit is not None or observation_end is not None):
        option = "--time-unit" if time_unit is not None else "--observation-end"
        raise table.error(f"{option} applies to transaction logs only "
                          f"(customer_id, time[, amount]); this file is a summary")
    if is_log:
        return _load_log(table, spec, time_unit, observation_end)
    if missing:
        raise table.error(_missing_message(table, spec, missing))
    return _LOADERS[spec.kind](table, spec)


def _missing_message(table: CsvTable, spec: ModelSpec, missing: Sequence[str]) -> str:
    needed = ", ".join(spec.columns)
    if spec.weighted:
        needed += " [, weights]"
    alternative = ("" if not spec.reads_logs else
                   f", or a transaction log with customer_id (or id), time"
                   f"{', amount' if spec.log_needs_amount else ''}")
    has = ", ".join(column for column in table.header if column) or "no named columns"
    plural = "s" if len(missing) > 1 else ""
    return (f"missing column{plural} {', '.join(missing)}: {spec.name} needs {needed}{alternative}; "
            f"the file has {has}")


def _id_column(table: CsvTable) -> str | None:
    for name in ID_COLUMNS:
        column = table.find(name)
        if column is not None:
            return column
    return None


def _load_summary(table: CsvTable, spec: ModelSpec) -> FitInput:
    columns: dict[str, np.ndarray] = {}
    for name in spec.columns:
        columns[name] = table.numbers(name, whole=name in spec.whole_columns)
    if spec.weighted and table.has("weights"):
        weights = columns["weights"] = table.numbers("weights", whole=True)
        table.first_bad(weights > MAX_WEIGHT, "weights",
                        lambda row: f"{weights[row]:g} is too large (at most {MAX_WEIGHT:g} "
                                    f"customers per row)")
        if weights.sum() <= 0:
            raise table.error("weights sum to zero: no customers to fit")
        if weights.sum() > MAX_TOTAL_WEIGHT:
            raise table.error(f"weights add up to {weights.sum():g} customers; at most "
                              f"{MAX_TOTAL_WEIGHT:g}")
    if spec.check_rows is not None:
        spec.check_rows(table, columns)
    id_column = _id_column(table)
    if id_column is not None:
        _check_unique_ids(table, id_column)
    warnings = _check_enough(table, spec, columns)
    return FitInput(source=table.source, model=spec.name, kind="summary", columns=columns,
                    ids=np.array(table.text(id_column)) if id_column else None,
                    id_column=id_column, rows=len(table.rows), warnings=warnings)


def _check_id_lengths(table: CsvTable, id_column: str, ids: list[str]) -> None:
    for row, customer in enumerate(ids):
        if len(customer) > MAX_ID_CHARS:
            raise table.row_error(row, id_column, f"a customer id of {len(customer):,} "
                                                  f"characters; at most {MAX_ID_CHARS}")


def _check_unique_ids(table: CsvTable, id_column: str) -> None:
    """A summary has one row per customer: a repeated id is a mistake (say where)."""
    first: dict[str, int] = {}
    ids = table.text(id_column)
    _check_id_lengths(table, id_column, ids)
    for row, customer in enumerate(ids):
        if customer == "":
            raise table.row_error(row, id_column, "missing customer id")
        if customer in first:
            raise table.row_error(row, id_column, f"customer id {customer[:40]!r} appears again "
                                                  f"(first on line {int(table.lines[first[customer]])}); "
                                                  f"a summary has one row per customer")
        first[customer] = row


def _check_enough(table: CsvTable, spec: ModelSpec, columns: dict[str, np.ndarray]
                  ) -> tuple[str, ...]:
    """Refuse data that identifies nothing; warn about data too thin to trust.

    With one customer, or nobody buying twice, the likelihood has no interior
    maximum and the optimiser stops at its bounds ("r = 6420"), which would
    read as a real estimate: refused.  Fewer than MIN_CUSTOMERS customers are
    fitted, with a warning the report carries instead of a plain "converged".

    Returns:
        Warnings for the report (empty if the data are enough).
    """
    rows = len(next(iter(columns.values())))
    weights = columns.get("weights", np.ones(rows))
    if spec.counts_repeat_buyers:
        who, count = "repeat buyer(s) (frequency > 0)", float(weights[columns["frequency"] > 0].sum())
    else:
        count = float(weights.sum())
        who = "customer" if count == 1 else "customers"
    if count < MIN_CUSTOMERS_TO_FIT:
        raise table.error(f"only {count:g} {who}; {spec.name} needs at least {MIN_CUSTOMERS} "
                          f"(and cannot fit fewer than {MIN_CUSTOMERS_TO_FIT})")
    if count < MIN_CUSTOMERS:
        return (f"only {count:g} {who}: fewer than {MIN_CUSTOMERS}, so the estimates are "
                f"unreliable whatever the optimiser reports",)
    return ()


def _load_survivors(table: CsvTable, spec: ModelSpec) -> FitInput:
    period = table.numbers("period", whole=True)
    survivors = table.numbers("survivors", whole=True)
    expected = np.arange(period.size)
    table.first_bad(period != expected, "period",
                    lambda row: f"expected {row} (periods run 0, 1, 2, ... in order), "
                                f"got {period[row]:g}")
    if period.size < 2:
        raise table.error("survivors needs the cohort size at period 0 and at least one "
                          "later count")
    if survivors[0] <= 0:
        raise table.row_error(0, table.find("survivors"), "the cohort size at period 0 must be > 0")
    warnings = ()
    if survivors[0] < MIN_CUSTOMERS:
        warnings = (f"a cohort of {survivors[0]:g}: fewer than {MIN_CUSTOMERS}, so the "
                    f"estimates are unreliable whatever the optimiser reports",)
    rising = np.concatenate([[False], np.diff(survivors) > 0])
    table.first_bad(rising, "survivors",
                    lambda row: f"survivors increase from {survivors[row - 1]:g} to "
                                f"{survivors[row]:g}; a cohort can only shrink")
    return FitInput(source=table.source, model=spec.name, kind="survivors",
                    columns={"period": period, "survivors": survivors}, rows=period.size,
                    warnings=warnings)


# --- transaction logs -----------------------------------------------------------

def _parse_time(cell: str) -> float | dt.date | None:
    """A plain decimal number, a date (YYYY-MM-DD), or None if it is neither."""
    if _DECIMAL.fullmatch(cell):
        return float(cell)
    if _DATE.fullmatch(cell):
        try:
            return dt.date.fromisoformat(cell)
        except ValueError:
            return None
    return None


def _log_times(table: CsvTable, time_unit: str | None, observation_end: str | None
               ) -> tuple[np.ndarray, float | None, str]:
    """(times as numbers, observation end, description of the time scale)."""
    column = table.find("time")
    cells = table.text("time")
    parsed = [_parse_time(cell) for cell in cells]
    kind = dt.date if isinstance(parsed[0], dt.date) else float
    for row, (cell, value) in enumerate(zip(cells, parsed)):
        if cell == "":
            raise table.row_error(row, column, "missing value")
        if value is None:
            raise table.row_error(row, column, f"{cell!r} is not a number or a date YYYY-MM-DD")
        if not isinstance(value, kind):
            wanted = "a date YYYY-MM-DD" if kind is dt.date else "a number"
            raise table.row_error(row, column, f"{cell!r} is not {wanted} like the first "
                                               f"row's time {cells[0]!r}")
    end: float | None = None
    if kind is dt.date:
        unit = time_unit or "weeks"
        origin = min(parsed)
        days_per_unit = TIME_UNITS[unit]
        times = np.array([(day - origin).days for day in parsed], dtype=float) / days_per_unit
        if observation_end is not None:
            end_day = _parse_time(observation_end.strip())
            if not isinstance(end_day, dt.date):
                raise table.error(f"--observation-end {observation_end!r} must be a date "
                                  f"YYYY-MM-DD like the times")
            end = (end_day - origin).days / days_per_unit
        scale = f"{unit} since {origin.isoformat()}"
    else:
        if time_unit is not None:
            raise table.error("--time-unit applies to dates only; numeric times are used "
                              "as they are (predictions come out in their unit)")
        times = np.array(parsed, dtype=float)
        _check_values(times, table, column, whole=False)
        if observation_end is not None:
            if not _DECIMAL.fullmatch(observation_end.strip()):
                raise table.error(f"--observation-end {observation_end[:40]!r} must be a number "
                                  f"like the times")
            end = float(observation_end)
            if not (np.isfinite(end) and end <= MAX_VALUE):
                raise table.error(f"--observation-end must be at most {MAX_VALUE:g}, "
                                  f"got {observation_end[:40]}")
        scale = "time units of the file"
    if end is not None and np.any(times > end):
        row = int(np.flatnonzero(times > end)[0])
        raise table.row_error(row, column, f"{cells[row]} is after --observation-end "
                                           f"{observation_end}")
    return times, end, scale


def _load_log(table: CsvTable, spec: ModelSpec, time_unit: str | None,
              observation_end: str | None) -> FitInput:
    id_column = _id_column(table)
    if id_column is None:
        has = ", ".join(column for column in table.header if column)
        raise table.error(f"missing column customer_id: a transaction log needs customer_id "
                          f"(or id), time[, amount]; the file has {has}")
    ids = table.text(id_column)
    if "" in ids:
        raise table.row_error(ids.index(""), id_column, "missing customer id")
    _check_id_lengths(table, id_column, ids)
    amount = table.numbers("amount") if table.has("amount") else None
    if spec.log_needs_amount and amount is None:
        has = ", ".join(column for column in table.header if column)
        raise table.error(f"missing column amount: {spec.name} needs the amount of each "
                          f"transaction (dollars) in a transaction log; the file has {has}")
    times, end, scale = _log_times(table, time_unit, observation_end)
    if spec.whole_times:
        step = spec.horizon.singular
        table.first_bad(times != np.round(times), "time",
                        lambda row: f"{table.text('time')[row]} is not a whole number: "
                                    f"{spec.name} needs times as {step} numbers (the first "
                                    f"purchase at 0)")
        if end is not None and end != round(end):
            raise table.error(f"--observation-end {observation_end} must be a whole "
                              f"{step} number for {spec.name}")
    try:
        summary = summarise_transactions(np.array(ids), times, amount, observation_end=end)
    except DataError as exc:  # pragma: no cover - the checks above come first
        raise table.error(str(exc)) from None
    warnings = _check_enough(table, spec, {"frequency": summary.frequency})
    if spec.log_needs_referrals:
        summary = _with_referrals(table, spec, summary, np.array(ids), id_column)
    columns = {name: getattr(summary, field_name) for name, field_name in spec.from_log.items()}
    return FitInput(source=table.source, model=spec.name, kind="transaction log", columns=columns,
                    ids=summary.customer_id.astype(str), id_column=id_column,
                    rows=len(summary), transactions=len(table.rows),
                    notes=(f"times in {scale}",), warnings=warnings)


def _with_referrals(table: CsvTable, spec: ModelSpec, summary: CustomerSummary,
                    ids: np.ndarray, id_column: str) -> CustomerSummary:
    """The summary with referrals and exposure from the log's ``referred_by`` column.

    A customer's referrer is the same on all its rows, names another customer
    of the log, and is blank if nobody referred it.

    Raises:
        DataError: No ``referred_by`` column, or the first row where a
            referrer is not one of the above.
    """
    if not table.has(REFERRED_BY):
        has = ", ".join(column for column in table.header if column)
        raise table.error(f"missing column {REFERRED_BY}: {spec.name} needs the id of the "
                          f"customer who referred each one (blank if none) in a transaction "
                          f"log; the file has {has}")
    column = table.find(REFERRED_BY)
    cells = np.array(table.text(REFERRED_BY))
    known = summary.customer_id
    order = np.argsort(known, kind="stable")
    customer = order[np.searchsorted(known[order], ids)]        # summary row of each log row
    first_row = np.full(len(summary), ids.size)
    np.minimum.at(first_row, customer, np.arange(ids.size))
    own = cells[first_row][customer]
    table.first_bad(cells != own, REFERRED_BY,
                    lambda row: f"referred_by {cells[row][:40]!r} differs from the same "
                                f"customer's earlier rows ({own[row][:40]!r}); a customer has "
                                f"one referrer")
    table.first_bad((cells != "") & (cells == ids), REFERRED_BY,
                    lambda row: f"customer {ids[row][:40]!r} is named as its own referrer")
    position = np.minimum(np.searchsorted(known[order], cells), known.size - 1)
    found = known[order][position] == cells
    table.first_bad((cells != "") & ~found, REFERRED_BY,
                    lambda row: f"referred_by {cells[row][:40]!r} is not a customer id of this "
                                f"log (column {id_column})")
    referrer_of_row = np.where(cells != "", order[position], -1)
    referrer = referrer_of_row[first_row]
    span = None
    if table.has(CANCELLED_AFTER) and table.has(TURN):
        turn = _signed_numbers(table, TURN, blank=False)
        cancelled = _signed_numbers(table, CANCELLED_AFTER, blank=True)
        first_turn = np.full(len(summary), np.inf)
        np.minimum.at(first_turn, customer, turn)
        # A member refers up to the end of its cancellation turn: cancel - first turn + 1 turns.
        cancel = cancelled[first_row]
        span = np.where(np.isnan(cancel), np.inf, cancel - first_turn + 1.0)
    return summarise_referrals(summary, referrer, span)


def _signed_numbers(table: CsvTable, name: str, *, blank: bool) -> np.ndarray:
    """A column of whole numbers that may be negative (game turns; warm-up turns are <= 0).

    Blank cells are NaN if ``blank``, else refused.
    """
    column = table.find(name)
    cells = table.text(name)
    values = np.full(len(cells), np.nan)
    for row, cell in enumerate(cells):
        if cell == "" and blank:
            continue
        if not _DECIMAL.fullmatch(cell):
            raise table.row_error(row, column, "missing value" if cell == "" else _not_a_number(cell))
        value = float(cell)
        if not (abs(value) <= MAX_VALUE and value == round(value)):
            raise table.row_error(row, column, f"{cell[:40]} is not a whole turn number "
                                               f"(at most {MAX_VALUE:g} in size)")
        values[row] = value
    return values


# A spec's kind -> the loader of a file that has the spec's columns.
_LOADERS = {"summary": _load_summary, "survivors": _load_survivors}
