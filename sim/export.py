"""The game's data out: a record's customer-level transaction log as CSV.

``ccsim export RECORD --transactions FILE.csv`` replays a game record and
writes one row per purchase, the layout Excel, R's BTYD packages,
``lifetimes`` and PyMC-Marketing read, and ``ccsim fit`` reads back:

    customer_id, turn, time, amount, cost_to_serve, channel, <profile tags>
    [, cancelled_after_turn] [, referred_by]

* ``customer_id`` is the opaque id the player saw; ``turn`` the game's turn
  (warm-up turns, the previous management's, are 0, -1, -2, ...).
* ``time`` is in turns since the start of the first warm-up turn, so it is
  never negative (transaction-log readers refuse negative times): turn k
  spans [k - 1 + W, k + W) with W the scenario's warm-up turns, and the
  observation ends at ``turns + W`` (:func:`observation_end`).
* ``amount`` is dollars, ``cost_to_serve`` the firm's dollars serving the
  customer (returns, support), ``channel`` and the tags their value names;
  a contractual scenario adds the turn at whose end the member cancelled
  (blank while a member), and a scenario with referrals ``referred_by``, the
  id of the customer who brought this one (blank if none; its channel is
  ``referral``).

The game keeps, per customer, each turn's purchase count, spend and cost to
serve, the first purchase's amount and the exact time of the latest
purchase; it does not keep the other purchases' times or amounts.  So each
customer's first purchase is at the start of the acquisition turn with its
own amount, the latest at its exact time, the others evenly spaced within
their turn, and a turn's spend and cost to serve are split evenly over its
purchases.  That is exactly enough for frequency, recency, T and mean
repeat spend to be those the analytics lab builds from the observation
(:func:`sim.analytics.transactions.summarise_observation`), so
``ccsim fit`` on the file gives the lab's fits.  In a contractual scenario
a member's turn without a purchase is not a row: its cost to serve (the
box) and the fee are not in a transaction log.

Rows are grouped by customer (in acquisition order, which is the lab's
order) and by time within a customer.  Everything is vectorised numpy;
the CSV text is made and written in chunks.
"""

from __future__ import annotations

import csv
import io
import time as _time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import SimError
from .observation import STILL_ACTIVE, Observation
from .output_paths import check_output_file, write_chunks_atomically

__all__ = ["ExportError", "TransactionLog", "ExportSummary", "transaction_log", "observation_end",
           "export_transactions", "export_record", "write_transaction_log", "csv_chunks",
           "FIXED_COLUMNS"]

#: The columns every export has, in order (tags and cancellations follow).
FIXED_COLUMNS = ("customer_id", "turn", "time", "amount", "cost_to_serve", "channel")
#: The contractual scenarios' extra column.
CANCEL_COLUMN = "cancelled_after_turn"
#: The extra column of scenarios with referrals (last).
REFERRED_COLUMN = "referred_by"
#: Rows formatted and written at a time: bounds the text held in memory.
CHUNK_ROWS = 250_000


class ExportError(SimError):
    """A record that cannot be exported (it does not replay to its books)."""


@dataclass(frozen=True)
class TransactionLog:
    """One entry per purchase, grouped by customer, in time order within one.

    Attributes:
        row: the observation row (customer) of each purchase.
        turn: the game turn of each purchase.
        time: turns since the start of the first warm-up turn.
        amount: dollars of each purchase.
        cost_to_serve: dollars the firm spent serving it.
        observation_end: the end of the observation window, same clock as
            ``time`` (the end of the last turn).
    """

    row: np.ndarray
    turn: np.ndarray
    time: np.ndarray
    amount: np.ndarray
    cost_to_serve: np.ndarray
    observation_end: float

    def __len__(self) -> int:
        return self.row.size


@dataclass(frozen=True)
class ExportSummary:
    """What ``export_transactions`` wrote.

    Attributes:
        path: the CSV file.
        rows: purchases written (data rows).
        customers: customers in the log.
        columns: the header.
        observation_end: the window's end, in the file's ``time`` unit.
        seconds: wall-clock time of the replay and of the writing.
    """

    path: Path
    rows: int
    customers: int
    columns: tuple[str, ...]
    observation_end: float
    seconds: dict[str, float]


def observation_end(observation: Observation) -> float:
    """End of the observed window in the export's clock: turns played plus warm-up turns."""
    return float(observation.now - observation.turn_columns[0] + 1) if observation.turn_columns.size \
        else 0.0


def transaction_log(observation: Observation) -> TransactionLog:
    """Every purchase an observation holds, as a transaction log (vectorised).

    Args:
        observation: the game's observation (normally the final one).

    Returns:
        The log; see the module docstring for how times and amounts are
        placed where the game keeps only per-turn totals.
    """
    purchases = np.asarray(observation.purchases)
    n_cols = purchases.shape[1]
    # Clock shift: column 0 (the first warm-up turn) starts at time 0.
    first_turn = int(observation.turn_columns[0]) if n_cols else 1
    shift = 1.0 - first_turn
    cell_row, cell_col = np.nonzero(purchases)          # row-major: grouped by customer, turns ascending
    count = purchases[cell_row, cell_col].astype(np.int64)
    cell_turn = np.asarray(observation.turn_columns)[cell_col].astype(np.int64)
    acquisition = np.asarray(observation.acquisition_turn).astype(np.int64)
    has_first = cell_turn == acquisition[cell_row]
    # A customer's latest cell is the last of its run of cells.
    has_last = np.ones(cell_row.size, dtype=bool)
    has_last[:-1] = cell_row[1:] != cell_row[:-1]

    last_time = np.asarray(observation.last_purchase_time, dtype=float)
    low = cell_turn - 1.0                                # the turn's start, game clock
    high = np.where(has_last, last_time[cell_row], cell_turn.astype(float))
    fixed = has_first.astype(np.int64) + has_last
    fixed = np.where(has_first & has_last & (count == 1), 1, fixed)
    free = count - fixed

    # Per-cell values are spread over the cell's purchases with np.repeat
    # (a contiguous copy, faster than gathering by cell index).
    def each_purchase(values: np.ndarray) -> np.ndarray:
        return np.repeat(values, count)

    j = np.arange(int(count.sum())) - each_purchase(np.cumsum(count) - count)  # place in its cell
    first_here = each_purchase(has_first) & (j == 0)
    last_here = each_purchase(has_last) & (j == each_purchase(count - 1))
    # The others sit evenly in the open interval between the turn's start (or
    # the first purchase) and its end (or the latest purchase).
    step = (high - low) / (free + 1.0)
    game_time = each_purchase(low) + each_purchase(step) * (j - each_purchase(has_first) + 1.0)
    np.copyto(game_time, each_purchase(low), where=first_here)
    np.copyto(game_time, each_purchase(high), where=last_here)

    spend = np.asarray(observation.spend)[cell_row, cell_col]
    first_spend = np.asarray(observation.first_spend)[cell_row]
    rest = np.where(has_first, spend - first_spend, spend)
    rest_count = np.where(has_first, count - 1, count)
    amount = each_purchase(np.divide(rest, rest_count, out=np.zeros(rest.size),
                                     where=rest_count > 0))
    np.copyto(amount, each_purchase(first_spend), where=first_here)
    cts = np.asarray(observation.cost_to_serve)[cell_row, cell_col] / count
    return TransactionLog(row=each_purchase(cell_row), turn=each_purchase(cell_turn),
                          time=game_time + shift, amount=amount, cost_to_serve=each_purchase(cts),
                          observation_end=observation_end(observation))


def _header(observation: Observation) -> tuple[list[str], list[str]]:
    """(CSV header, tag names in order); a tag named like a fixed column gets a ``tag_`` prefix."""
    tags = [t.name for t in observation.scenario.profile]
    taken = set(FIXED_COLUMNS) | {CANCEL_COLUMN, REFERRED_COLUMN}
    header = list(FIXED_COLUMNS) + [f"tag_{name}" if name in taken else name for name in tags]
    if observation.scenario.contractual:
        header.append(CANCEL_COLUMN)
    if observation.referred_by is not None:
        header.append(REFERRED_COLUMN)
    return header, tags


def _quoted(names) -> np.ndarray:
    """Category names as CSV cells (quoted where they hold a comma or a quote)."""
    cells = []
    for name in names:
        text = io.StringIO()
        csv.writer(text, lineterminator="").writerow([name])
        cells.append(text.getvalue())
    return np.array(cells, dtype=object)


def _float_text(values: np.ndarray) -> list[str]:
    """Floats as the shortest text that reads back as the same double (``repr``)."""
    return list(map(repr, values.tolist()))


def _repeated_float_text(values: np.ndarray) -> np.ndarray:
    """``_float_text`` for a column with many repeats: each distinct value formatted once.

    A turn's spend and cost to serve are split evenly over its purchases,
    so a chunk holds about a fifth as many distinct values as rows, and
    formatting is the costly part of writing.
    """
    distinct, index = np.unique(values, return_inverse=True)
    return np.array(_float_text(distinct), dtype=object)[index.ravel()]


def _customer_text(observation: Observation, tags: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per customer: its id as text, and the rest of its row after the purchase's cells.

    The channel, the tags, a member's cancellation and the referrer are the customer's,
    the same on each of its rows, so they are joined once per customer.
    """
    names = observation.categories
    ids = np.array(list(map(str, np.asarray(observation.customer_id).tolist())), dtype=object)
    tail = [_quoted(names["channel"])[np.asarray(observation.channel)]]
    tail += [_quoted(names[name])[np.asarray(observation.tags[name])] for name in tags]
    if observation.scenario.contractual:
        turn = np.asarray(observation.cancel_turn)
        tail.append(np.where(turn == STILL_ACTIVE, "", turn.astype(str)).astype(object))
    if observation.referred_by is not None:
        by = np.asarray(observation.referred_by)
        tail.append(np.where(by >= 0, by.astype(str), "").astype(object))
    joined = np.array(list(map(",".join, zip(*(column.tolist() for column in tail)))),
                      dtype=object)
    return ids, joined


def csv_chunks(observation: Observation, log: TransactionLog,
               chunk_rows: int = CHUNK_ROWS) -> Iterator[str]:
    """The CSV text of ``log``: the header, then ``chunk_rows`` rows at a time."""
    header, tags = _header(observation)
    yield ",".join(_quoted(header)) + "\n"
    if observation.n_customers == 0:
        return
    ids, tail = _customer_text(observation, tags)
    first_turn = int(observation.turn_columns[0])
    turns = np.array([str(t) for t in range(first_turn, observation.turn)], dtype=object)
    for start in range(0, len(log), chunk_rows):
        part = slice(start, start + chunk_rows)
        rows = log.row[part]
        columns = [ids[rows].tolist(), turns[log.turn[part] - first_turn].tolist(),
                   _float_text(log.time[part]),
                   _repeated_float_text(log.amount[part]).tolist(),
                   _repeated_float_text(log.cost_to_serve[part]).tolist(),
                   tail[rows].tolist()]
        yield "\n".join(map(",".join, zip(*columns))) + "\n"


def _replay(record):
    """Play the record again; refuse it if the game differs from the books it claims."""
    from .decisions import DecisionError
    from .runner import replay_game

    if record.partial:
        raise ExportError(f"an unfinished game ({len(record.decisions)} of "
                          f"{record.scenario.turns} turns) cannot be exported")
    turns = []

    def compare(game, decision, result) -> None:
        claimed = record.books[len(turns)]
        turns.append(result.books.turn)
        for key, value in result.books.to_dict().items():
            if getattr(claimed, key) != value:
                raise ExportError(f"the record does not replay: turn {result.books.turn}'s "
                                  f"{key} is {getattr(claimed, key)!r} in the record, "
                                  f"{value!r} when played (see ccsim replay)")

    try:
        return replay_game(record.scenario, record.seed, record.decisions, record.strategy,
                           on_turn=compare)
    except DecisionError as exc:
        raise ExportError(f"the record does not replay: turn {len(turns) + 1}'s decision is "
                          f"refused ({exc})") from None


def export_transactions(record_path: str | Path, out_path: str | Path,
                        progress: Callable[[str], None] | None = None) -> ExportSummary:
    """Replay a game record and write its transaction log to ``out_path``.

    Args:
        record_path: a finished game's record (``ccsim run --record``, the
            game window's save).
        out_path: the CSV file to write (atomically: a failure leaves any
            previous file untouched).
        progress: called with a short message before each stage.

    Returns:
        What was written.

    Raises:
        OutputPathError: ``out_path`` cannot or must not be written (checked
            before the record is read).
        RecordError: the record cannot be read.
        ExportError: a partial record, or one that does not replay to its books.
    """
    from .records import read_record

    target = check_output_file(out_path, "--transactions", inputs=(record_path,))
    return export_record(read_record(record_path), target, progress)


def export_record(record, out_path: str | Path,
                  progress: Callable[[str], None] | None = None) -> ExportSummary:
    """Replay a game record already read (``sim.records.GameRecord``) and write its transaction log.

    The caller checks ``out_path`` first (``sim.output_paths.check_output_file``).

    Raises:
        OutputPathError: ``out_path`` cannot be written.
        ExportError: a partial record, or one that does not replay to its books.
    """
    target = Path(out_path)
    if progress:
        progress(f"replaying {record.scenario.turns} turns of {record.scenario.prospects:,} "
                 f"prospects")
    started = _time.perf_counter()
    played = _replay(record)
    replayed = _time.perf_counter() - started
    observation = played.game.observation
    if progress:
        progress("writing the transaction log")
    started = _time.perf_counter()
    summary = write_transaction_log(observation, target)
    return ExportSummary(path=summary.path, rows=summary.rows, customers=summary.customers,
                         columns=summary.columns, observation_end=summary.observation_end,
                         seconds={"replay": replayed, "write": _time.perf_counter() - started})


def write_transaction_log(observation: Observation, out_path: str | Path) -> ExportSummary:
    """Write an observation's transaction log to ``out_path`` (atomically), no replay.

    For a game already in memory (e.g. the debrief of the game just
    played): pass its final observation.  The caller checks the path first
    (``sim.output_paths.check_output_file``).

    Returns:
        What was written (``seconds`` holds the writing time only).

    Raises:
        OutputPathError: ``out_path`` cannot be written.
    """
    started = _time.perf_counter()
    log = transaction_log(observation)
    header, _ = _header(observation)
    target = write_chunks_atomically(out_path, csv_chunks(observation, log), "the transaction log")
    return ExportSummary(path=Path(target), rows=len(log), customers=observation.n_customers,
                         columns=tuple(header), observation_end=log.observation_end,
                         seconds={"write": _time.perf_counter() - started})
