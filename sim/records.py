"""Game records: one JSON document that replays a game exactly and proves its score.

A record holds the scenario's full content and its hash, the prospect-pool
size, the seed, each turn's decision and the books the game produced, and
the final scores.  Because the engine is deterministic (keyed random
streams), ``verify_record`` can play the decisions again and compare every
number claimed with the number recomputed.  Reading a record never runs
anything: it is JSON, parsed by ``json`` and validated field by field.
Score columns are stored compactly (``sim.score_columns``).

Schema (version 1)::

    {"format": "ccsim-record", "schema_version": 1, "engine_version": "0.1.0",
     "created": "2026-11-25T15:00:00Z", "strategy": "customer-centric",
     "scenario": {"key": "coffee", "sha256": "...", "content": {...}},
     "prospects": 200000, "seed": 3,
     "turns": [{"turn": 1, "decision": {...}, "books": {...}}, ...],
     "scores": {"firm_value": ..., "discounted_profit": ..., "terminal_equity": ...,
                "centricity_score": ... or null, "baselines": {name: firm value}}}

An unfinished game (the window's autosave) is a *partial* record: the same
document with ``"partial": true``, the turns played so far, empty scores and
``"lab_fitted_turn"``.  One reader reads both (``read_record(path,
partial=True)`` for the autosave), with the same checks and caps; a partial
record resumes, it cannot be verified.  Reading is bounded before anything
is built: the file's bytes, its JSON entries, and the bytes every score
column may inflate to (see the ``MAX_*`` caps below).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import limits
from .capped_read import display_name, read_capped_regular_file
from .decisions import Decision, DecisionError
from .errors import SimError
from .observation import TurnBooks
from .output_paths import write_atomically
from .scenario import Scenario, ScenarioError, parse_scenario
from .score_columns import ColumnError, decode_column, encode_column
from .strict_json import finite_or_null

FORMAT = "ccsim-record"
SCHEMA_VERSION = 1
#: The autosave's format before autosaves became partial records: still read.
LEGACY_AUTOSAVE_FORMAT = "ccsim-autosave"

# --- caps (README, "Exit statuses and bad input"), checked before anything is built -----
#: Most bytes of a record file.  A default-size record is 0.1-0.25 MB; a bot's
#: 1,000,000-prospect record ranking customers by two score columns of its own
#: every turn is 32 MB (``benchmarks/record_caps.py``): 8x headroom.
MAX_RECORD_BYTES = 256 * 1024 * 1024
#: Most JSON entries (counted as commas plus opening brackets, before parsing).
#: A real record has a few hundred to a few thousand; a million empty objects
#: would take over 100 MB of Python objects to parse.
MAX_JSON_ENTRIES = 1_000_000
#: Most digits of a whole number in a record (a seed is at most 20).
MAX_INT_DIGITS = 40
#: Most score columns one decision may carry (the lab offers four).
MAX_SCORE_COLUMNS = 64
#: Most bytes all score columns of a record may decode to (8 bytes a value).
#: A 1,000,000-prospect bot record with two score columns decodes to 25 MB.
MAX_SCORE_BYTES = 1024 * 1024 * 1024
#: Longest strategy name, engine version or date a record may hold.
MAX_LABEL_CHARS = 1000

_SCORE_FIELDS = ("firm_value", "discounted_profit", "terminal_equity")


class RecordError(SimError):
    """A record that cannot be read; the message names the file and the entry."""


@dataclass
class GameRecord:
    """A game as data: enough to replay it and the numbers it claims.

    Attributes:
        scenario: the scenario played (at the size played).
        seed: the root seed.
        strategy: who played (a reference's name, a bot file's, a team's).
        decisions: one per turn played.
        books: the books claimed for each turn played.
        scores: claimed firm_value, discounted_profit, terminal_equity and,
            when the references were played, centricity_score and baselines.
        engine_version: the version of ``ccsim`` that wrote it.
        created: when it was written (UTC, ISO 8601).
        claimed_sha256: the scenario hash the file claims (empty for a record
            made in this process); ``verify_record`` compares it with the
            content's own hash.
        partial: True for an unfinished game (an autosave): fewer turns than
            the scenario has and no scores; it can be resumed, not verified.
        lab_fitted_turn: of a partial record, the turn whose data the
            analytics lab's models were last fitted on (a resumed game fits
            them on the same turn, so its predictions are the ones the player
            saw); None if never fitted.
    """

    scenario: Scenario
    seed: int
    strategy: str
    decisions: list[Decision]
    books: list[TurnBooks]
    scores: dict[str, Any] = field(default_factory=dict)
    engine_version: str = ""
    created: str = ""
    claimed_sha256: str = ""
    partial: bool = False
    lab_fitted_turn: int | None = None

    def to_json(self) -> dict:
        """The record as a JSON-ready mapping (strict: no NaN or infinity)."""
        data = {
            "format": FORMAT,
            "schema_version": SCHEMA_VERSION,
            "engine_version": self.engine_version or engine_version(),
            "created": self.created or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "strategy": self.strategy,
            "scenario": {"key": self.scenario.key, "sha256": self.scenario.content_hash,
                         "content": self.scenario.to_dict()},
            "prospects": self.scenario.prospects,
            "seed": self.seed,
            "turns": [{"turn": b.turn, "decision": encode_decision(d), "books": b.to_dict()}
                      for d, b in zip(self.decisions, self.books)],
            "scores": _finite_or_none(dict(self.scores)),
        }
        if self.partial:
            data["partial"] = True
            data["lab_fitted_turn"] = self.lab_fitted_turn
        return data


def engine_version() -> str:
    """The installed ``ccsim`` version (the source tree's when not installed)."""
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version("ccsim")
    except PackageNotFoundError:
        return "0+source"


def _finite_or_none(value: Any) -> Any:
    """``value`` with every non-finite number as None (a record is strict JSON)."""
    return finite_or_null(value, "$", {})


def encode_decision(decision: Decision) -> dict:
    """A decision's JSON form with its score columns compressed."""
    out = Decision(decision.acquisition, decision.tiers).to_dict()
    if decision.scores:
        out["scores"] = {name: encode_column(values) for name, values in decision.scores.items()}
    return out


class _ScoreBudget:
    """Bytes the score columns of one record may still decode to."""

    def __init__(self) -> None:
        self.total = MAX_SCORE_BYTES
        self.left = self.total

    def take(self, values: int, where: str) -> None:
        self.left -= 8 * values
        if self.left < 0:
            raise RecordError(f"{where}: the score columns decode to more than "
                              f"{self.total:,} bytes in all")


def decode_decision(data: Any, where: str, max_rows: int | None = None,
                    budget: _ScoreBudget | None = None) -> Decision:
    """The inverse of ``encode_decision``.

    Args:
        data: the decision's JSON form.
        where: names the decision in messages.
        max_rows: most values a score column may hold (the game's prospects:
            a decision has one value per customer); checked before inflating.
        budget: what the record's score columns may still decode to.

    Raises:
        RecordError: naming ``where`` and the faulty entry.
    """
    if not isinstance(data, dict):
        raise RecordError(f"{where}: must be a mapping")
    encoded = data.get("scores", {})
    if not isinstance(encoded, dict):
        raise RecordError(f"{where}.scores: must map score names to encoded columns")
    if len(encoded) > MAX_SCORE_COLUMNS:
        raise RecordError(f"{where}.scores: {len(encoded)} score columns; at most "
                          f"{MAX_SCORE_COLUMNS}")
    budget = budget or _ScoreBudget()
    scores = {}
    for name, column in encoded.items():
        try:
            n = column.get("n") if isinstance(column, dict) else None
            if _is_whole(n) and 0 <= n <= (max_rows if max_rows is not None else n):
                budget.take(n, f"{where}.scores.{name}")
            scores[name] = decode_column(column, max_values=max_rows)
        except ColumnError as exc:
            raise RecordError(f"{where}.scores.{name}: {exc}") from None
    try:
        plain = Decision.from_dict({k: v for k, v in data.items() if k != "scores"}, where)
    except DecisionError as exc:
        raise RecordError(str(exc)) from None
    return Decision(plain.acquisition, plain.tiers, scores)


def record_of(played, scores: dict[str, Any] | None = None) -> GameRecord:
    """The record of a ``sim.runner.PlayedGame``, claiming its value (and ``scores``)."""
    v = played.value
    claimed = {k: getattr(v, k) for k in _SCORE_FIELDS}
    claimed.update(scores or {})
    return GameRecord(played.scenario, played.seed, played.strategy, list(played.decisions),
                      [r.books for r in played.game.results], claimed)


def record_text(record: GameRecord) -> str:
    """The record as the compact strict JSON written to disk.

    Raises:
        RecordError: the record would break a cap readers enforce (so no
            ccsim could read it back).
    """
    text = json.dumps(record.to_json(), allow_nan=False, separators=(",", ":"))
    raw = text.encode("utf-8")
    if len(raw) > MAX_RECORD_BYTES:
        raise RecordError(f"the record would be {len(raw):,} bytes, more than a record may be "
                          f"({MAX_RECORD_BYTES:,}): fewer or coarser score columns, or fewer "
                          f"prospects")
    _check_entries(raw, "the record")
    return text


def write_record(record: GameRecord, path: str | Path) -> Path:
    """Write ``record`` to ``path`` atomically (a temporary file, then a rename).

    A crash mid-write leaves the previous file, if any, untouched.  A
    symbolic link, a device or a read-only file at ``path`` is never
    replaced (``sim.output_paths``).

    Raises:
        RecordError: the record breaks a reader's cap.
        OutputPathError: ``path`` cannot or must not be written.
    """
    what = "the autosave" if record.partial else "the record"
    return write_atomically(path, record_text(record), what)


def read_record(path: str | Path, partial: bool = False) -> GameRecord:
    """Read and validate a record file (JSON only; nothing in it is executed).

    Args:
        path: the record.
        partial: also accept an unfinished game's partial record (an
            autosave, or one in the format autosaves had before they were
            partial records); a finished game's record reads either way.

    Raises:
        RecordError: not a regular file, larger than a record can be,
            unreadable, truncated, not a record, an unknown schema version,
            a cap broken (entries, score columns) or a malformed entry (the
            message names it).
    """
    name = display_name(path) if isinstance(path, (str, Path)) else "record"
    return record_from_bytes(read_record_bytes(path), name, partial=partial)


def read_record_bytes(path: str | Path) -> bytes:
    """A record file's bytes, read as ``read_record`` reads them (regular file, capped).

    For a caller that keeps the bytes (a tournament entry is hashed and
    replayed later from them): parse them with ``record_from_bytes``.

    Raises:
        RecordError: not a regular file, larger than a record can be, unreadable.
    """
    return read_capped_regular_file(path, MAX_RECORD_BYTES, "a game record", RecordError,
                                    display_name(path) if isinstance(path, (str, Path)) else None)


def record_from_bytes(raw: bytes, name: str = "record", partial: bool = False) -> GameRecord:
    """A record from a file's bytes: every cap and check of ``read_record``.

    Raises:
        RecordError: naming ``name`` and the entry at fault.
    """
    if len(raw) > MAX_RECORD_BYTES:
        raise RecordError(f"{name}: {len(raw):,} bytes is larger than a game record can be "
                          f"(at most {MAX_RECORD_BYTES:,} bytes)")
    return parse_record(load_json(raw, name), name, partial=partial)


def load_json(raw: bytes, name: str) -> Any:
    """Strict JSON of a record: caps first, then no NaN, no infinity, no duplicate keys.

    Raises:
        RecordError: naming ``name``.
    """
    _check_entries(raw, name)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordError(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start:,})") from None
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float,
                          parse_int=_whole, object_pairs_hook=_unique_keys)
    except RecordError as exc:
        raise RecordError(f"{name}: {exc}") from None
    except (json.JSONDecodeError, ValueError) as exc:
        raise RecordError(f"{name}: not a complete JSON record (truncated or edited?): {exc}") from None
    except RecursionError:
        raise RecordError(f"{name}: nested too deeply to be a record") from None


def _check_entries(raw: bytes, name: str) -> None:
    """Refuse a document with more JSON entries than a record has, before parsing it."""
    entries = raw.count(b",") + raw.count(b"[") + raw.count(b"{")
    if entries > MAX_JSON_ENTRIES:
        raise RecordError(f"{name}: more than {MAX_JSON_ENTRIES:,} JSON entries ({entries:,}); "
                          f"a record has a few thousand")


def _refuse_constant(token: str) -> None:
    raise RecordError(f"{token} is not a number in strict JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise RecordError(f"{text[:40]} is out of range (not a finite number)")
    return value


def _whole(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise RecordError(f"a whole number of {len(text):,} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise RecordError(f"duplicate key {key[:60]!r} in one object (which one counts?)")
            seen.add(key)
    return out


def _label(data: dict, key: str, name: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise RecordError(f"{name}: {key}: must be text, got {type(value).__name__}")
    if len(value) > MAX_LABEL_CHARS:
        raise RecordError(f"{name}: {key}: {len(value):,} characters; at most {MAX_LABEL_CHARS}")
    return value


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_BOOKS_COUNTS = ("turn", "acquired", "buyers", "cancellations")
_BOOKS_DOLLARS = ("revenue", "gross_margin", "cost_to_serve", "service_spend",
                  "acquisition_spend", "fixed_cost", "profit")


def parse_books(data: Any, where: str) -> TurnBooks:
    """A turn's books from their JSON form, every field checked.

    Raises:
        RecordError: a missing, unknown or ill-typed field (named).
    """
    fields_ = set(_BOOKS_COUNTS + _BOOKS_DOLLARS + ("acquired_by_channel", "members"))
    if not isinstance(data, dict):
        raise RecordError(f"{where}: must be a mapping")
    missing = sorted(fields_ - {"members"} - set(data))
    if missing:
        raise RecordError(f"{where}.{missing[0]}: missing")
    unknown = sorted(set(data) - fields_)
    if unknown:
        raise RecordError(f"{where}.{unknown[0][:60]}: unknown entry")
    for key in _BOOKS_COUNTS:
        if not _is_whole(data[key]):
            raise RecordError(f"{where}.{key}: must be a whole number")
    for key in _BOOKS_DOLLARS:
        if not _is_number(data[key]):
            raise RecordError(f"{where}.{key}: must be a number of dollars")
    channels = data["acquired_by_channel"]
    if not isinstance(channels, dict) or not all(
            isinstance(k, str) and _is_whole(v) for k, v in channels.items()):
        raise RecordError(f"{where}.acquired_by_channel: must map channel names to counts")
    members = data.get("members")
    if members is not None and not _is_whole(members):
        raise RecordError(f"{where}.members: must be a whole number or null")
    return TurnBooks.from_dict(data)


def _check_scores(scores: Any, name: str) -> None:
    if not isinstance(scores, dict):
        raise RecordError(f"{name}: scores: must be a mapping")
    for key, value in scores.items():
        if isinstance(value, dict):
            if not all(isinstance(v, (int, float, type(None), str)) and not isinstance(v, bool)
                       for v in value.values()):
                raise RecordError(f"{name}: scores.{key[:60]}: must map names to numbers")
        elif value is not None and not _is_number(value):
            raise RecordError(f"{name}: scores.{key[:60]}: must be a number or null")


def parse_record(data: Any, name: str = "record", partial: bool = False) -> GameRecord:
    """Validate a parsed record document and build a ``GameRecord``.

    Args:
        data: the parsed JSON.
        name: names the file in messages.
        partial: accept an unfinished game's partial record too.

    Raises:
        RecordError: naming ``name`` and the entry at fault.
    """
    if not isinstance(data, dict) or data.get("format") not in (FORMAT, LEGACY_AUTOSAVE_FORMAT):
        raise RecordError(f"{name}: not a ccsim game record (no \"format\": \"{FORMAT}\")")
    legacy = data["format"] == LEGACY_AUTOSAVE_FORMAT
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise RecordError(f"{name}: schema_version {version!r:.40} is not one this version of "
                          f"ccsim reads (it reads {SCHEMA_VERSION}); use the ccsim that wrote it")
    unfinished = legacy or data.get("partial", False)
    if not isinstance(unfinished, bool):
        raise RecordError(f"{name}: partial: must be true or false")
    if unfinished and not partial:
        raise RecordError(f"{name}: an unfinished game's autosave, not a finished game's record; "
                          f"continue it in the game window (ccsim play)")
    for key in ("scenario", "prospects", "seed", "turns", "scores", "strategy"):
        if key not in data:
            raise RecordError(f"{name}: {key}: missing")
    header = data["scenario"]
    if not isinstance(header, dict) or not {"key", "sha256", "content"} <= set(header):
        raise RecordError(f"{name}: scenario: must hold key, sha256 and content")
    key = _label(header, "key", f"{name}: scenario")
    sha256 = _label(header, "sha256", f"{name}: scenario")
    try:
        scenario = parse_scenario(header["content"], f"{name}: scenario.content", key=key)
    except ScenarioError as exc:
        raise RecordError(str(exc)) from None
    except RecursionError:
        raise RecordError(f"{name}: scenario.content: nested too deeply") from None
    seed, prospects = data["seed"], data["prospects"]
    if not _is_whole(seed) or seed < 0:
        raise RecordError(f"{name}: seed: must be a whole number >= 0, got {seed!r:.40}")
    if prospects != scenario.prospects:
        raise RecordError(f"{name}: prospects: {prospects!r:.40} differs from the scenario's "
                          f"{scenario.prospects}")
    problem = limits.check_game_memory(scenario.prospects, scenario.warmup_turns + scenario.turns,
                                       len(scenario.profile),
                                       max((len(t.values) for t in scenario.profile), default=0))
    if problem:
        raise RecordError(f"{name}: prospects: {problem}")
    strategy = _label(data, "strategy", name)
    turns = data["turns"]
    if not isinstance(turns, list):
        raise RecordError(f"{name}: turns: must be a list")
    if unfinished and len(turns) > scenario.turns:
        raise RecordError(f"{name}: turns: {len(turns)} turns saved, the scenario has "
                          f"{scenario.turns}")
    if not unfinished and len(turns) != scenario.turns:
        raise RecordError(f"{name}: turns: {len(turns)} turns recorded, the scenario has "
                          f"{scenario.turns} (an unfinished game cannot be verified)")
    decisions, books = [], []
    budget = _ScoreBudget()
    for i, turn in enumerate(turns):
        where = f"{name}: turns[{i}]"
        if not isinstance(turn, dict) or not {"decision", "books"} <= set(turn):
            raise RecordError(f"{where}: must hold decision and books")
        if turn.get("turn", i + 1) != i + 1:
            raise RecordError(f"{where}.turn: must be {i + 1}")
        decisions.append(decode_decision(turn["decision"], f"{where}.decision",
                                         scenario.prospects, budget))
        books.append(parse_books(turn["books"], f"{where}.books"))
        if books[-1].turn != i + 1:
            raise RecordError(f"{where}.books.turn: must be {i + 1}")
    scores = data["scores"]
    _check_scores(scores, name)
    lab_turn = data.get("lab_fitted_turn")
    if lab_turn is not None and (not _is_whole(lab_turn) or not 1 <= lab_turn <= scenario.turns):
        raise RecordError(f"{name}: lab_fitted_turn: must be a turn 1 .. {scenario.turns} or null")
    return GameRecord(scenario, seed, strategy, decisions, books, scores,
                      _label(data, "engine_version", name, ""), _label(data, "created", name, ""),
                      sha256, partial=unfinished, lab_fitted_turn=lab_turn if unfinished else None)


@dataclass(frozen=True)
class Difference:
    """One number a record claims that replaying does not give.

    Attributes:
        turn: the turn, or None for the scenario and the final scores.
        field: what differs: a books field, ``decision``, ``scenario.sha256``
            or ``scores.<name>``.
        claimed: the record's value.
        recomputed: the value from playing the record again.
    """

    turn: int | None
    field: str
    claimed: Any
    recomputed: Any

    def __str__(self) -> str:
        where = f"turn {self.turn}: " if self.turn is not None else ""
        return f"{where}{self.field}: claimed {self.claimed!r}, recomputed {self.recomputed!r}"


def verify_record(record: GameRecord, references: bool = True) -> list[Difference]:
    """Play the record's decisions again and list every claimed number that differs.

    Args:
        record: a record read with ``read_record``.
        references: also replay the reference strategies when the record
            claims baselines or a centricity score.

    Returns:
        The differences in the order found (scenario, turns, scores); empty
        when the record is verified.
    """
    from .runner import replay_game

    if record.partial:
        raise RecordError(f"an unfinished game ({len(record.decisions)} of "
                          f"{record.scenario.turns} turns) cannot be verified")
    differences = []
    actual_hash = record.scenario.content_hash
    if record.claimed_sha256 and record.claimed_sha256 != actual_hash:
        # The scenario was edited after the game: name it first, then see what else differs.
        differences.append(Difference(None, "scenario.sha256", record.claimed_sha256, actual_hash))

    played_turns = []

    def compare_books(game, decision, result) -> None:
        claimed = record.books[len(played_turns)]
        played_turns.append(result.books.turn)
        for key, value in result.books.to_dict().items():
            if getattr(claimed, key) != value:
                differences.append(Difference(result.books.turn, key, getattr(claimed, key), value))

    try:
        played = replay_game(record.scenario, record.seed, record.decisions, record.strategy,
                             on_turn=compare_books)
    except DecisionError as exc:
        refused = len(played_turns) + 1
        return differences + [Difference(refused, "decision", "accepted", f"refused: {exc}")]
    return differences + _score_differences(record, played, references)


def _score_differences(record: GameRecord, played, references: bool) -> list[Difference]:
    """Claimed final scores against the replayed game's (and the references', if claimed).

    Every reference a record claims is played again on the record's seed
    (``sim.references``), including one that shares the record's strategy
    name: a name is a claim like any other.  A baseline that names no
    reference strategy cannot be recomputed and differs.
    """
    from .references import REFERENCES, SCALE, is_reference, reference_values
    from .scoring import centricity_score

    recomputed: dict[str, Any] = {k: getattr(played.value, k) for k in _SCORE_FIELDS}
    baselines = record.scores.get("baselines")
    if references and (isinstance(baselines, dict) or "centricity_score" in record.scores):
        claimed_names = list(baselines) if isinstance(baselines, dict) else []
        names = [n for n in REFERENCES if n in claimed_names or n in SCALE]
        values = {n: v.firm_value for n, v in reference_values(record.scenario, record.seed,
                                                                names).items()}
        if isinstance(baselines, dict):
            recomputed["baselines"] = {n: values[n] if is_reference(n) else "(not a reference strategy)"
                                       for n in baselines}
        if "centricity_score" in record.scores:
            recomputed["centricity_score"] = _finite_or_none(centricity_score(
                played.value.firm_value, values["mass-marketing"], values["oracle"]))
    differences = []
    for key in sorted(set(record.scores) | set(_SCORE_FIELDS)):
        if key not in recomputed:
            if references:
                differences.append(Difference(None, f"scores.{key}", record.scores.get(key),
                                              "(not a score)"))
            continue
        claimed, actual = record.scores.get(key), recomputed[key]
        if isinstance(actual, dict):
            claimed_map = claimed if isinstance(claimed, dict) else {}
            for name in sorted(set(actual) | set(claimed_map)):
                if claimed_map.get(name) != actual.get(name):
                    differences.append(Difference(None, f"scores.{key}.{name}", claimed_map.get(name),
                                                  actual.get(name)))
        elif claimed != actual:
            differences.append(Difference(None, f"scores.{key}", claimed, actual))
    return differences
