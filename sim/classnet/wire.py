"""What travels between the class server and a team's window: JSON text, never pickles.

Every message is one JSON object (a websocket text frame) with an ``"op"``.
Arrays (an observation delta's columns, from ``sim.tournament.protocol``)
travel as ``{"dtype": "<f8", "shape": [rows, cols], "b64": ...}``: the raw
little-endian bytes in base64, read back with ``numpy.frombuffer`` for a
short list of plain numeric dtypes only, after checking the byte count
matches the shape.  Reading a message never runs anything it names.

Client to server::

    {"op": "join", "team": T, "code": C}                   first message
    {"op": "end_turn", "turn": n, "decision": {...}}       sim.records.encode_decision
    {"op": "sync", "have": n}                              the turns after n, and the observation
    {"op": "reveal"}                                       is the debrief released?

Server to client::

    {"op": "welcome", "team", "tournament", "public", "observation", "history", "released"}
    {"op": "turn", "observation": delta, "played": [history entries]}
    {"op": "refused", "message", "reason"}                 nothing changed
    {"op": "released", "scenario", "key", "seed"}          the debrief's material
    {"op": "waiting"}                                      not released yet

A history entry is ``{"turn", "decision", "result", "tier_outcomes", "closed"}``
(``closed``: the instructor closed the turn and the team's last plan was played).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

from ..decisions import Decision
from ..engine import TurnResult
from ..errors import SimError
from ..observation import TurnBooks
from ..public import PublicScenario
from ..records import RecordError, decode_decision, encode_decision
from ..scenario import Budget, Channel, InheritedPolicy, ProfileTag, ServiceResponse
from ..session import TierOutcome

#: Most bytes of one message a client may send (a decision with the lab's score
#: columns for 50,000 customers is about 1 MB as JSON).
MAX_CLIENT_MESSAGE = 8 * 1024 * 1024
#: Most bytes of one message a client accepts from the server (a welcome holds
#: the whole observation: about 60 bytes a customer a turn).
MAX_SERVER_MESSAGE = 512 * 1024 * 1024
#: The only dtypes an array may have on the wire (plain numbers and booleans).
DTYPES = frozenset({"<f8", "<f4", "<i8", "<i4", "<i2", "|i1", "<u8", "<u4", "<u2", "|u1", "|b1"})


class ProtocolError(SimError):
    """A message that is not what the protocol says; the text says which part."""


# ---------------------------------------------------------------- arrays and deltas
def encode_array(a: np.ndarray) -> dict:
    """An array as JSON: dtype, shape and its bytes in base64 (little-endian)."""
    a = np.ascontiguousarray(a)
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    return {"dtype": a.dtype.str, "shape": list(a.shape),
            "b64": base64.b64encode(a.tobytes()).decode("ascii")}


def decode_array(data: Any, where: str) -> np.ndarray:
    """The inverse of ``encode_array``, for plain numeric dtypes only.

    Raises:
        ProtocolError: not an encoded array, a dtype not allowed, or bytes
            that do not fill the shape.
    """
    if not isinstance(data, dict) or set(data) != {"dtype", "shape", "b64"}:
        raise ProtocolError(f"{where}: not an encoded array")
    dtype, shape = data["dtype"], data["shape"]
    if dtype not in DTYPES:
        raise ProtocolError(f"{where}: dtype {str(dtype)[:20]!r} is not allowed")
    if not isinstance(shape, list) or not 1 <= len(shape) <= 2 \
            or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
        raise ProtocolError(f"{where}: shape must be one or two whole numbers")
    try:
        raw = base64.b64decode(data["b64"], validate=True)
    except (ValueError, TypeError):
        raise ProtocolError(f"{where}: b64 is not base64") from None
    dt = np.dtype(dtype)
    if len(raw) != int(np.prod(shape)) * dt.itemsize:
        raise ProtocolError(f"{where}: {len(raw)} bytes do not fill shape {shape}")
    return np.frombuffer(raw, dtype=dt).reshape(shape).copy()


def encode_delta(delta: dict) -> dict:
    """An ``ObservationDelta.delta`` as JSON."""
    rows = {name: (encode_array(v) if name != "tags" else
                   {tag: encode_array(codes) for tag, codes in v.items()})
            for name, v in delta["rows"].items()}
    return {"turn": int(delta["turn"]), "turn_columns": encode_array(delta["turn_columns"]),
            "rows": rows,
            "columns": {name: encode_array(v) for name, v in delta["columns"].items()},
            "changed": {name: [encode_array(i), encode_array(v)]
                        for name, (i, v) in delta["changed"].items()},
            "books": [b.to_dict() for b in delta["books"]]}


def decode_delta(data: Any) -> dict:
    """The inverse of ``encode_delta`` (what ``ObservationMirror.apply`` takes).

    Raises:
        ProtocolError: naming the entry that is malformed.
    """
    from ..tournament.protocol import (FIXED_FIELDS, MATRIX_FIELDS, REFERRAL_FIXED,
                                       REFERRAL_RUNNING, RUNNING_FIELDS)

    if not isinstance(data, dict):
        raise ProtocolError("observation: must be a mapping")
    try:
        rows_in = data["rows"]
        rows = {}
        for name in FIXED_FIELDS + RUNNING_FIELDS + MATRIX_FIELDS:
            rows[name] = decode_array(rows_in[name], f"observation.rows.{name}")
        # Only a scenario with referrals sends these (its referrer ids and referrals so far).
        for name in REFERRAL_FIXED + REFERRAL_RUNNING:
            if name in rows_in:
                rows[name] = decode_array(rows_in[name], f"observation.rows.{name}")
        rows["tags"] = {str(tag): decode_array(v, f"observation.rows.tags.{tag}")
                        for tag, v in dict(rows_in["tags"]).items()}
        columns = {name: decode_array(data["columns"][name], f"observation.columns.{name}")
                   for name in MATRIX_FIELDS if name in data["columns"]}
        changed = {}
        for name, pair in dict(data["changed"]).items():
            if name not in RUNNING_FIELDS + REFERRAL_RUNNING or not isinstance(pair, list) \
                    or len(pair) != 2:
                raise ProtocolError(f"observation.changed.{str(name)[:40]}: not a running total")
            if name not in rows:
                raise ProtocolError(f"observation.changed.{name}: no such column in rows")
            changed[name] = (decode_array(pair[0], f"observation.changed.{name}"),
                             decode_array(pair[1], f"observation.changed.{name}"))
        books = tuple(books_of(b, "observation.books") for b in data["books"])
        turn = data["turn"]
        if not isinstance(turn, int) or isinstance(turn, bool):
            raise ProtocolError("observation.turn: must be a whole number")
        return {"turn": turn, "turn_columns": decode_array(data["turn_columns"], "observation.turn_columns"),
                "rows": rows, "columns": columns, "changed": changed, "books": books}
    except (KeyError, TypeError, ValueError) as exc:
        raise ProtocolError(f"observation: {exc} missing or malformed") from None


def books_of(data: Any, where: str) -> TurnBooks:
    try:
        return TurnBooks.from_dict(dict(data))
    except (SimError, TypeError, ValueError) as exc:
        raise ProtocolError(f"{where}: {exc}") from None


# ---------------------------------------------------------------- the public scenario
def public_to_json(public: PublicScenario) -> dict:
    """The public scenario as JSON (the scenario file's layout of those fields)."""
    from dataclasses import asdict

    data = asdict(public)
    data["inherited"]["acquisition"] = dict(public.inherited.acquisition)
    return data


def public_from_json(data: Any) -> PublicScenario:
    """The inverse of ``public_to_json``.

    Raises:
        ProtocolError: a field missing or of the wrong kind.
    """
    try:
        d = dict(data)
        d["budget"] = Budget(float(d["budget"]["marketing"]))
        d["service"] = ServiceResponse(**{k: float(v) for k, v in dict(d["service"]).items()})
        inherited = dict(d["inherited"])
        d["inherited"] = InheritedPolicy({str(k): float(v) for k, v in dict(inherited["acquisition"]).items()},
                                         float(inherited["service"]))
        d["channels"] = tuple(Channel(str(c["name"]), str(c["label"]), float(c["ceiling"]),
                                      float(c["efficiency"])) for c in d["channels"])
        d["profile"] = tuple(ProfileTag(str(t["name"]), tuple(str(v) for v in t["values"]))
                             for t in d["profile"])
        return PublicScenario(**d)
    except (KeyError, TypeError, ValueError) as exc:
        raise ProtocolError(f"public: {exc} missing or malformed") from None


# ---------------------------------------------------------------- what a turn did
def history_entry(turn: int, decision: Decision, result: TurnResult, outcomes: list[TierOutcome],
                  closed: bool) -> dict:
    """One played turn as JSON (see the module docstring)."""
    return {"turn": turn, "decision": encode_decision(decision),
            "result": {"books": result.books.to_dict(), "tier_counts": list(result.tier_counts)},
            "tier_outcomes": [[o.name, o.customers, o.buyers, o.revenue, o.service, o.disengaged]
                              for o in outcomes],
            "closed": bool(closed)}


def read_history_entry(data: Any, max_rows: int) -> tuple[int, Decision, TurnResult, list[TierOutcome], bool]:
    """The inverse of ``history_entry``.

    Raises:
        ProtocolError: naming the part that is malformed.
    """
    try:
        turn = int(data["turn"])
        decision = decode_decision(data["decision"], f"turn {turn}.decision", max_rows=max_rows)
        result = TurnResult(books_of(data["result"]["books"], f"turn {turn}.books"),
                            tuple(int(n) for n in data["result"]["tier_counts"]))
        outcomes = [TierOutcome(str(o[0]), int(o[1]), int(o[2]), float(o[3]), float(o[4]), bool(o[5]))
                    for o in data["tier_outcomes"]]
        return turn, decision, result, outcomes, bool(data["closed"])
    except RecordError as exc:
        raise ProtocolError(str(exc)) from None
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ProtocolError(f"history: {exc} missing or malformed") from None


# ---------------------------------------------------------------- messages
def dumps(message: dict) -> str:
    """A message as compact strict JSON."""
    return json.dumps(message, separators=(",", ":"), allow_nan=False)


def loads(text: Any, limit: int) -> dict:
    """One message: a JSON object with a text ``"op"``, at most ``limit`` bytes.

    Raises:
        ProtocolError: too large, not JSON, not an object, or no op.
    """
    if isinstance(text, (bytes, bytearray)):
        raise ProtocolError("messages are JSON text, not binary frames")
    if not isinstance(text, str):
        raise ProtocolError("not a message")
    if len(text) > limit:
        raise ProtocolError(f"message of {len(text):,} bytes; at most {limit:,}")
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"not JSON ({str(exc)[:120]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("op"), str):
        raise ProtocolError('a message is a JSON object with an "op"')
    return data


def _refuse_constant(token: str) -> float:
    raise ValueError(f"{token} is not a number")
