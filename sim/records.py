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
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .decisions import Decision, DecisionError
from .errors import SimError
from .observation import TurnBooks
from .scenario import Scenario, ScenarioError, parse_scenario
from .score_columns import decode_column, encode_column
from .strict_json import finite_or_null

FORMAT = "ccsim-record"
SCHEMA_VERSION = 1
#: Larger files are refused before they are read (a default-size record is a few MB).
MAX_RECORD_BYTES = 256 * 1024 * 1024

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
        decisions: one per turn.
        books: the books claimed for each turn.
        scores: claimed firm_value, discounted_profit, terminal_equity and,
            when the references were played, centricity_score and baselines.
        engine_version: the version of ``ccsim`` that wrote it.
        created: when it was written (UTC, ISO 8601).
        claimed_sha256: the scenario hash the file claims (empty for a record
            made in this process); ``verify_record`` compares it with the
            content's own hash.
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

    def to_json(self) -> dict:
        """The record as a JSON-ready mapping (strict: no NaN or infinity)."""
        return {
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


def decode_decision(data: Any, where: str) -> Decision:
    """The inverse of ``encode_decision``.

    Raises:
        RecordError: naming ``where`` and the faulty entry.
    """
    if not isinstance(data, dict):
        raise RecordError(f"{where}: must be a mapping")
    encoded = data.get("scores", {})
    if not isinstance(encoded, dict):
        raise RecordError(f"{where}.scores: must map score names to encoded columns")
    scores = {}
    for name, column in encoded.items():
        try:
            scores[name] = decode_column(column)
        except ValueError as exc:
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


def write_record(record: GameRecord, path: str | Path) -> Path:
    """Write ``record`` to ``path`` atomically (a temporary file, then a rename).

    A crash mid-write leaves the previous file, if any, untouched.
    """
    path = Path(path)
    text = json.dumps(record.to_json(), allow_nan=False, separators=(",", ":"))
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        # mkstemp makes the file private; a record is an ordinary document.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_record(path: str | Path) -> GameRecord:
    """Read and validate a record file (JSON only; nothing in it is executed).

    Raises:
        RecordError: unreadable, truncated, not a record, an unknown schema
            version, or a malformed entry (the message names it).
    """
    path = Path(path)
    name = path.name
    try:
        size = path.stat().st_size
        if size > MAX_RECORD_BYTES:
            raise RecordError(f"{name}: {size:,} bytes is larger than any record "
                              f"({MAX_RECORD_BYTES:,} at most)")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(f"{name}: cannot read the file ({exc})") from None
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except (json.JSONDecodeError, ValueError) as exc:
        raise RecordError(f"{name}: not a complete JSON record (truncated or edited?): {exc}") from None
    except RecursionError:
        raise RecordError(f"{name}: nested too deeply to be a record") from None
    return parse_record(data, name)


def _refuse_constant(token: str) -> None:
    raise ValueError(f"{token} is not a number in strict JSON")


def parse_record(data: Any, name: str = "record") -> GameRecord:
    """Validate a parsed record document and build a ``GameRecord``.

    Raises:
        RecordError: naming ``name`` and the entry at fault.
    """
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise RecordError(f"{name}: not a ccsim game record (no \"format\": \"{FORMAT}\")")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise RecordError(f"{name}: schema_version {version!r} is not one this version of ccsim "
                          f"reads (it reads {SCHEMA_VERSION}); use the ccsim that wrote it")
    for key in ("scenario", "prospects", "seed", "turns", "scores", "strategy"):
        if key not in data:
            raise RecordError(f"{name}: {key}: missing")
    header = data["scenario"]
    if not isinstance(header, dict) or not {"key", "sha256", "content"} <= set(header):
        raise RecordError(f"{name}: scenario: must hold key, sha256 and content")
    try:
        scenario = parse_scenario(header["content"], f"{name}: scenario.content",
                                  key=str(header["key"]))
    except ScenarioError as exc:
        raise RecordError(str(exc)) from None
    except RecursionError:
        raise RecordError(f"{name}: scenario.content: nested too deeply") from None
    seed, prospects = data["seed"], data["prospects"]
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise RecordError(f"{name}: seed: must be a whole number >= 0, got {seed!r}")
    if prospects != scenario.prospects:
        raise RecordError(f"{name}: prospects: {prospects!r} differs from the scenario's "
                          f"{scenario.prospects}")
    turns = data["turns"]
    if not isinstance(turns, list):
        raise RecordError(f"{name}: turns: must be a list")
    if len(turns) != scenario.turns:
        raise RecordError(f"{name}: turns: {len(turns)} turns recorded, the scenario has "
                          f"{scenario.turns} (an unfinished game cannot be verified)")
    decisions, books = [], []
    for i, turn in enumerate(turns):
        where = f"{name}: turns[{i}]"
        if not isinstance(turn, dict) or not {"decision", "books"} <= set(turn):
            raise RecordError(f"{where}: must hold decision and books")
        decisions.append(decode_decision(turn["decision"], f"{where}.decision"))
        try:
            books.append(TurnBooks.from_dict(turn["books"]))
        except TypeError:
            raise RecordError(f"{where}.books: not the books of a turn") from None
    scores = data["scores"]
    if not isinstance(scores, dict):
        raise RecordError(f"{name}: scores: must be a mapping")
    return GameRecord(scenario, seed, str(data["strategy"]), decisions, books, scores,
                      str(data.get("engine_version", "")), str(data.get("created", "")),
                      str(header["sha256"]))


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
