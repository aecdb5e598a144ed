"""What travels between the engine and a sandboxed bot, and how.

The engine sends each turn only what changed since the turn before
(``ObservationDelta``): the customer rows acquired since, the new turn
columns of the rows the bot already has, the running totals that changed
(as indices and values) and the new books.  ``ObservationMirror`` in the
bot's process applies those deltas and rebuilds an ``Observation`` equal,
array for array, to the engine's.

Messages are framed as an 8-byte big-endian length and a payload.  The
engine's messages to the bot are pickles (the engine is trusted; the bot
unpickles what the engine wrote).  The bot's replies are JSON, never
pickles: unpickling bot-made bytes would run bot-chosen code in the engine.
"""

from __future__ import annotations

import os
import select
import struct
import time

import numpy as np

from ..observation import Observation

#: Row-per-customer fields fixed at acquisition: sent once, with the row.
FIXED_FIELDS = ("customer_id", "channel", "acquisition_turn", "first_spend")
#: (rows, turn columns) matrices: new rows whole, old rows one new column a turn.
MATRIX_FIELDS = ("purchases", "spend", "cost_to_serve", "experiment_arm")
#: Per-row values the engine updates in place: only the changed entries are sent.
RUNNING_FIELDS = ("total_purchases", "total_spend", "total_cost_to_serve", "fees_paid",
                  "last_purchase_time", "cancel_turn", "active")
#: Fields only a scenario with referrals has (None otherwise, and then not sent):
#: the referrer is fixed at acquisition, the referrals made are a running total.
REFERRAL_FIXED = ("referred_by",)
REFERRAL_RUNNING = ("referrals",)

_HEADER = struct.Struct(">Q")


class ChannelClosed(Exception):
    """The other side closed its end (it exited or crashed)."""


class ChannelTimeout(Exception):
    """The other side did not answer before the deadline."""


class ChannelOverflow(Exception):
    """The other side announced a message larger than allowed."""


class ObservationDelta:
    """Engine side: turn each new observation into what changed since the last one."""

    def __init__(self) -> None:
        self._previous: Observation | None = None

    def delta(self, obs: Observation) -> dict:
        """The changes from the previous observation given to ``delta`` (or from nothing)."""
        prev = self._previous
        rows0 = prev.n_customers if prev is not None else 0
        cols0 = prev.turn_columns.size if prev is not None else 0
        books0 = len(prev.books) if prev is not None else 0
        referral = obs.referred_by is not None
        fixed = FIXED_FIELDS + (REFERRAL_FIXED if referral else ())
        running = RUNNING_FIELDS + (REFERRAL_RUNNING if referral else ())
        new_rows = {name: getattr(obs, name)[rows0:] for name in fixed + running}
        new_rows.update({name: getattr(obs, name)[rows0:] for name in MATRIX_FIELDS})
        new_rows["tags"] = {name: codes[rows0:] for name, codes in obs.tags.items()}
        changed = {}
        if prev is not None:
            for name in running:
                old, now = getattr(prev, name), getattr(obs, name)[:rows0]
                index = np.flatnonzero(old != now)
                if index.size:
                    changed[name] = (index.astype(np.int64), now[index])
        out = {
            "turn": obs.turn,
            "turn_columns": obs.turn_columns[cols0:],
            "rows": new_rows,
            "columns": {name: getattr(obs, name)[:rows0, cols0:] for name in MATRIX_FIELDS},
            "changed": changed,
            "books": obs.books[books0:],
        }
        self._previous = obs
        return out


class ObservationMirror:
    """Bot side: the engine's observation rebuilt from deltas.

    Storage grows by doubling, so a turn costs the size of its delta, not of
    the whole history.
    """

    def __init__(self, scenario, total_columns: int) -> None:
        self.scenario = scenario
        self._columns = total_columns
        self._rows = 0
        self._cols = 0
        self._turn_columns = np.zeros(0, dtype=np.int64)
        self._books: tuple = ()
        self._store: dict[str, np.ndarray] = {}
        self._tags: dict[str, np.ndarray] = {}

    def _room(self, name: str, like: np.ndarray, rows: int, store: dict) -> np.ndarray:
        """The storage for ``name`` with room for ``rows`` rows (shape and dtype as ``like``)."""
        have = store.get(name)
        if have is None or have.shape[0] < rows:
            capacity = max(rows, 2 * (have.shape[0] if have is not None else 0), 1024)
            shape = (capacity, self._columns) if like.ndim == 2 else (capacity,)
            grown = np.zeros(shape, dtype=like.dtype)
            if have is not None:
                grown[: self._rows] = have[: self._rows]
            store[name] = have = grown
        return have

    def apply(self, delta: dict) -> Observation:
        """Apply one ``ObservationDelta.delta`` and return the rebuilt observation."""
        rows0, cols0 = self._rows, self._cols
        new_cols = delta["turn_columns"]
        rows1 = rows0 + len(delta["rows"]["customer_id"])
        cols1 = cols0 + new_cols.size
        for name, values in delta["rows"].items():
            if name == "tags":
                for tag, codes in values.items():
                    self._room(tag, codes, rows1, self._tags)[rows0:rows1] = codes
            elif name in MATRIX_FIELDS:
                self._room(name, values, rows1, self._store)[rows0:rows1, :cols1] = values
            else:
                self._room(name, values, rows1, self._store)[rows0:rows1] = values
        for name, values in delta["columns"].items():
            self._store[name][:rows0, cols0:cols1] = values
        for name, (index, values) in delta["changed"].items():
            self._store[name][index] = values
        self._rows, self._cols = rows1, cols1
        self._turn_columns = np.concatenate([self._turn_columns, new_cols])
        self._books = self._books + tuple(delta["books"])

        def view(a: np.ndarray) -> np.ndarray:
            v = a.view()
            v.flags.writeable = False
            return v

        s = self._store
        # A scenario with referrals sends its referral fields from the first delta on.
        fixed = FIXED_FIELDS + tuple(name for name in REFERRAL_FIXED if name in s)
        running = RUNNING_FIELDS + tuple(name for name in REFERRAL_RUNNING if name in s)
        # Running totals are copies, as the engine's are: a bot may keep them.
        return Observation(
            scenario=self.scenario, turn=int(delta["turn"]), turn_columns=view(self._turn_columns),
            **{name: view(s[name][:rows1]) for name in fixed},
            tags={name: view(codes[:rows1]) for name, codes in self._tags.items()},
            **{name: view(s[name][:rows1, :cols1]) for name in MATRIX_FIELDS},
            **{name: s[name][:rows1].copy() for name in running},
            books=self._books,
        )


def write_message(fd: int, payload: bytes, deadline: float | None = None) -> None:
    """Write one framed message to ``fd``, giving up at ``deadline`` (``time.monotonic``).

    Raises:
        ChannelTimeout: the reader did not take the message in time.
        ChannelClosed: the reader is gone.
    """
    data = memoryview(_HEADER.pack(len(payload)) + payload)
    while data:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([], [fd], [], left)[1]:
                raise ChannelTimeout()
        try:
            written = os.write(fd, data[: 1 << 16])
        except (BrokenPipeError, ConnectionResetError):
            raise ChannelClosed() from None
        data = data[written:]


def read_message(fd: int, deadline: float | None = None, max_bytes: int | None = None) -> bytes:
    """Read one framed message from ``fd`` before ``deadline``.

    Raises:
        ChannelTimeout: nothing complete arrived in time.
        ChannelClosed: end of file (the writer exited).
        ChannelOverflow: the message announced is larger than ``max_bytes``.
    """
    (length,) = _HEADER.unpack(_read_exactly(fd, _HEADER.size, deadline))
    if max_bytes is not None and length > max_bytes:
        raise ChannelOverflow(length)
    return _read_exactly(fd, length, deadline)


def _read_exactly(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise ChannelTimeout()
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise ChannelClosed()
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)
