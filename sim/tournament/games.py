"""A tournament's games: its markets, who plays which, playing one game, results on disk.

Every bot plays every market; a record counts for its own market once it
verifies; each reference strategy is played once per market and shared by
all entries.  A game is a ``Job``: plain data that carries the bot's files
or the record's bytes, so it runs the same here, in a local process pool or
on a Dask worker.

Markets are **hidden** by default (``Markets.hidden``): their seeds derive
from a 128-bit key (``sim.tournament.keys``) that lives only in the
organiser's memory (and terminal) until every game has finished; then the
key and the seeds are published with the results, so anyone can re-run the
games and check them.  ``Markets.public`` keeps seeds everyone knows (a
rehearsable tournament, labelled so on every leaderboard).

Each finished game is one JSON file under ``OUT/games/``, written
atomically, holding the game's full record.  Nothing on disk is trusted:
with hidden markets the file is sealed under the key (encrypted and
authenticated), so a bot that reads the folder learns no seed, and while
the key is in no file a seal that opens proves the game genuine; otherwise
(public seeds, a class market, a published key) a stored game counts only
after its record is replayed and every number matches (``verify_stored``).
A stored game that fails is played again, and the run says so.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..bots import reserved_name
from ..decisions import DecisionError
from ..records import (RecordError, engine_version, parse_record, read_record_bytes,
                       record_from_bytes, record_of, verify_record)
from ..references import REFERENCES, remember
from ..runner import play_game
from ..scenario import Scenario
from . import containment
from .botfiles import BotFiles, pack
from .errors import TournamentError
from .keys import commitment, market_seeds, parse_key, seal, unseal
from .sandbox import SETUP_SECONDS, BotError, BotFailure, SandboxedBot

__all__ = ["GAME_FORMAT", "Job", "Markets", "Rejection", "ResultStore", "Settings",
           "TournamentError", "parse_seeds", "plan", "play_job", "verify_stored"]

GAME_FORMAT = "ccsim-tournament-game"
#: Kept from a bot's stderr per game, characters (the end: where a traceback is).
LOG_TAIL = 20_000
#: Most markets (seeds) in one tournament.
MAX_MARKETS = 1000


@dataclass(frozen=True)
class Settings:
    """What makes two games comparable: the scenario at its size and the bots' limits.

    Attributes:
        scenario: the scenario played (at the tournament's size).
        turn_seconds: most seconds per decision for a bot.
        memory_mb: most memory of a bot's processes, MB (0: none).
        setup_seconds: most seconds for a bot to import and reset.
        max_processes: most processes a bot may run at once.
    """

    scenario: Scenario
    turn_seconds: float = 10.0
    memory_mb: int = 1024
    setup_seconds: float = SETUP_SECONDS
    max_processes: int = containment.MAX_PROCESSES

    def describe(self) -> dict:
        """The settings as JSON; results made under other settings are not reused."""
        return {"scenario": self.scenario.key, "sha256": self.scenario.content_hash,
                "prospects": self.scenario.prospects, "turn_seconds": self.turn_seconds,
                "memory_mb": self.memory_mb, "setup_seconds": self.setup_seconds,
                "max_processes": self.max_processes, "engine_version": engine_version()}

    @property
    def fingerprint(self) -> str:
        return _sha256(json.dumps(self.describe(), sort_keys=True).encode())


@dataclass(frozen=True)
class Markets:
    """The markets a tournament plays: seeds derived from a key, or given.

    Attributes:
        seeds: the root seed of each market, in order.
        key: the key the seeds derive from (hidden and class markets), else None.
        kind: ``hidden`` (a bot tournament's secret markets), ``class`` (a class
            tournament's market, whose key is revealed when play starts) or
            ``public`` (seeds everyone knew: rehearsable).
    """

    seeds: tuple[int, ...]
    key: str | None = field(default=None, repr=False)
    kind: str = "public"

    @classmethod
    def hidden(cls, count: int, key: str) -> "Markets":
        """``count`` markets whose seeds derive from ``key``."""
        if not 1 <= count <= MAX_MARKETS:
            raise TournamentError(f"--markets: between 1 and {MAX_MARKETS}, got {count}")
        return cls(tuple(market_seeds(parse_key(key), count)), key, "hidden")

    @classmethod
    def of_class(cls, key: str) -> "Markets":
        """A class tournament's one market (market 0 of its key)."""
        return cls(tuple(market_seeds(parse_key(key), 1)), key, "class")

    @classmethod
    def public(cls, seeds: list[int]) -> "Markets":
        """Markets of seeds everyone knows (rehearsable)."""
        if not seeds:
            raise TournamentError("--public-seeds: no seeds")
        return cls(tuple(seeds))

    @property
    def is_hidden(self) -> bool:
        """True when the seeds derive from a key (stored games are then sealed under it)."""
        return self.key is not None

    @property
    def commitment(self) -> str | None:
        return commitment(parse_key(self.key)) if self.key else None

    def label(self, seed: int) -> str:
        """How results name a market: ``market 3``, ``class market`` or ``seed 7``."""
        if seed not in self.seeds:  # a record's own seed, refused as another
            return f"seed {seed}"
        if self.kind == "class":
            return "class market"
        return f"market {self.seeds.index(seed) + 1}" if self.is_hidden else f"seed {seed}"

    def short(self, seed: int) -> str:
        """A file-name part for a market: ``m3`` or ``seed7``."""
        return f"m{self.seeds.index(seed) + 1}" if self.is_hidden else f"seed{seed}"

    def describe(self) -> dict:
        """What ``tournament.json`` keeps (never the key or a hidden seed)."""
        if self.is_hidden:
            return {"markets": self.kind, "count": len(self.seeds), "commitment": self.commitment}
        return {"markets": "public", "seeds": list(self.seeds)}


@dataclass(frozen=True)
class Job:
    """One game to play.

    Attributes:
        kind: ``reference``, ``bot`` or ``record``.
        entry: the name on the leaderboard.
        seed: the market's root seed.
        source: the reference's name, or the bot's or the record's file.
        content: the bot's files, or the record's JSON (empty for a reference).
        market: the file-name part naming the market (``m3``, ``seed7``).
    """

    kind: str
    entry: str
    seed: int
    source: str
    content: bytes | BotFiles = field(default=b"", repr=False)
    market: str = ""

    @property
    def fingerprint(self) -> str:
        """Changes when the bot's files or the record change: then the game is played again."""
        if isinstance(self.content, BotFiles):
            return self.content.digest
        return _sha256(self.content) if self.content else self.source

    @property
    def filename(self) -> str:
        market = self.market or f"seed{self.seed}"
        if self.kind == "record":  # one file per record: two records of a team never collide
            return f"record--{slug(self.entry)}--{market}--{self.fingerprint[:10]}.json"
        return f"{self.kind}--{slug(self.entry)}--{market}.json"


@dataclass(frozen=True)
class Rejection:
    """An entry refused before any game: ``source``, why, and the seed if known."""

    entry: str
    source: str
    reason: str
    seed: int | None = None


def slug(name: str) -> str:
    """A file-name-safe form of an entry's name (with a hash when it had to change)."""
    clean = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "entry"
    return clean if clean == name else f"{clean[:60]}-{_sha256(name.encode())[:8]}"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_seeds(text: str, limit: int = MAX_MARKETS) -> list[int]:
    """``"1-5"``, ``"3"`` or ``"1,4,9-10"`` as a sorted list of distinct seeds.

    Raises:
        TournamentError: anything else, a seed past 2**63 - 1, or more than ``limit`` seeds
            (counted before any list is built).
    """
    spans = []
    for part in str(text).split(","):
        m = re.fullmatch(r"\s*(\d{1,19})\s*(?:-\s*(\d{1,19})\s*)?", part)
        if not m:
            raise TournamentError(f"--seeds: {part.strip()[:40]!r} is not a seed or a range like 1-5")
        lo, hi = int(m[1]), int(m[2] or m[1])
        if hi < lo:
            raise TournamentError(f"--seeds: {part.strip()!r} runs backwards")
        if hi >= 2**63:
            raise TournamentError(f"--seeds: {hi} is past the largest seed, {2**63 - 1}")
        spans.append((lo, hi))
        if sum(h - lo_ + 1 for lo_, h in spans) > limit:
            raise TournamentError(f"--seeds: more than {limit:,} seeds")
    return sorted({s for lo, hi in spans for s in range(lo, hi + 1)})


def plan(entries: list[str | Path], markets: Markets, settings: Settings,
         teams: tuple[str, ...] | None = None) -> tuple[list[Job], list[Rejection]]:
    """The games a tournament plays, and the entries refused before playing.

    Bot files (``.py``) play every market, named by their file's stem and
    played from a copy of their folder; record files (``.json``) play their
    own seed, named by the strategy or team they record, once they are of
    this scenario (at this size) and of one of the markets.  A record that
    names a reference strategy (in any case or punctuation) is refused.
    With ``teams`` (class play), only records of those teams are accepted.

    Raises:
        TournamentError: two bot files with one name, or a bot named as a reference.
    """
    seeds = list(markets.seeds)
    jobs = [Job("reference", name, seed, name, market=markets.short(seed))
            for seed in seeds for name in REFERENCES]
    rejections: list[Rejection] = []
    bots: dict[str, Path] = {}
    records = []
    for raw in entries:
        path = Path(raw)
        if path.suffix == ".py":
            name = path.stem
            if name in bots and bots[name].resolve() != path.resolve():
                raise TournamentError(f"{path}: another entry is also called {name!r} "
                                      f"({bots[name]}); rename one")
            builtin = reserved_name(name)
            if builtin:
                raise TournamentError(f"{path}: {name!r} is the reference strategy {builtin!r}'s "
                                      "name (case and punctuation aside); rename the file")
            bots[name] = path
        elif path.suffix == ".json":
            records.append(path)
        else:
            rejections.append(Rejection(path.name, str(path),
                                        "neither a bot (.py) nor a game record (.json)"))
    packed: dict[str, BotFiles] = {}
    for name, path in bots.items():
        try:
            packed[name] = pack(path)
        except BotError as exc:
            rejections.append(Rejection(name, str(path), exc.problem))
            continue
        jobs += [Job("bot", name, seed, str(path), packed[name], markets.short(seed))
                 for seed in seeds]
    for path in records:
        job, rejection = _record_job(path, markets, settings, set(bots), teams)
        if job:
            jobs.append(job)
        else:
            rejections.append(rejection)
    return jobs, rejections


def _record_job(path: Path, markets: Markets, settings: Settings, bot_names: set[str],
                teams: tuple[str, ...] | None = None) -> tuple[Job | None, Rejection | None]:
    """A record's game, or why it is refused (the quick checks; replaying is the game)."""
    try:
        content = read_record_bytes(path)
        record = record_from_bytes(content, path.name)
    except RecordError as exc:
        return None, Rejection(path.stem, str(path), str(exc))
    name = record.strategy
    if teams is not None and name not in teams:
        return None, Rejection(name, str(path), f"{name!r} is not a team of this tournament "
                               f"(teams: {', '.join(teams)})", record.seed)
    builtin = reserved_name(name)
    if builtin:
        return None, Rejection(name, str(path), f"a record of the reference strategy {builtin!r} "
                               "is not an entry (rename it and it still plays the reference's "
                               "game: it is refused as a copy)", record.seed)
    if name in bot_names:
        name = f"{name} (record)"
    s, want = record.scenario, settings.scenario
    if s.content_hash != want.content_hash:
        what = "another size of it" if s.key == want.key and s.prospects != want.prospects else \
            "another scenario"
        return None, Rejection(name, str(path), f"{what}: played {s.key} at {s.prospects:,} "
                               f"prospects, this tournament is {want.key} at {want.prospects:,}",
                               record.seed)
    if record.seed not in markets.seeds:
        where = "none of this tournament's hidden markets" if markets.is_hidden else \
            f"this tournament's seeds are {_seed_text(list(markets.seeds))}"
        return None, Rejection(name, str(path), f"another seed: played seed {record.seed}, "
                               f"{where}", record.seed)
    return Job("record", name, record.seed, str(path), content, markets.short(record.seed)), None


def _seed_text(seeds: list[int]) -> str:
    return ", ".join(map(str, seeds)) if len(seeds) <= 8 else f"{seeds[0]}..{seeds[-1]}"


# ------------------------------------------------------------------ playing one game
def play_job(job: Job, settings: Settings) -> dict:
    """Play one game and return its result (a JSON-ready mapping).

    A failing bot is a result, not an exception: ``status`` is ``failed``
    with the ``reason`` and the ``turn``.  A record that does not verify is
    ``rejected`` with its first differences.  A finished game carries its
    full ``record`` and the digest of its decisions; a bot's stderr comes
    back as ``log`` (its end).
    """
    with containment.hardened():  # this process holds the seed: out of reach of bots' processes
        return _play_job(job, settings)


def _play_job(job: Job, settings: Settings) -> dict:
    started = time.perf_counter()
    result: dict[str, Any] = {"format": GAME_FORMAT, "settings": settings.fingerprint,
                              "kind": job.kind, "entry": job.entry, "seed": job.seed,
                              "source": job.source, "fingerprint": job.fingerprint,
                              "status": "finished", "firm_value": None, "reason": None,
                              "turn": None, "record": None}
    scenario = settings.scenario
    if job.kind == "reference":
        from ..strategies import get_strategy

        played = play_game(scenario, get_strategy(job.source), job.seed)
        remember(scenario, job.source, job.seed, played.value)
        result.update(_finished(record_of(played)))
    elif job.kind == "bot":
        result.update(_play_bot(job, settings))
    elif job.kind == "record":
        result.update(_verify_record(job))
    else:
        raise ValueError(f"unknown kind of game {job.kind!r}")
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


def _finished(record) -> dict:
    data = record.to_json()
    return {"firm_value": float(record.scores["firm_value"]), "record": data,
            "decisions": decisions_digest(data)}


def decisions_digest(record_json: dict) -> str:
    """SHA-256 of a record's decisions: equal for two games played the same way."""
    turns = [t["decision"] for t in record_json.get("turns", [])]
    return _sha256(json.dumps(turns, sort_keys=True, separators=(",", ":")).encode())


def _play_bot(job: Job, settings: Settings) -> dict:
    with tempfile.TemporaryDirectory(prefix="ccsim-game-") as folder:
        log = Path(folder) / "stderr.log"
        files = job.content if isinstance(job.content, BotFiles) else pack(job.source)
        out: dict[str, Any] = {}
        trace = ""
        with SandboxedBot(files, job.entry, settings.turn_seconds, settings.memory_mb,
                          settings.max_processes, settings.setup_seconds, log=log) as bot:
            try:
                played = play_game(settings.scenario, bot, job.seed)
                out.update(_finished(record_of(played)))
            except BotFailure as exc:
                out.update(status="failed", reason=exc.reason, turn=exc.turn)
                trace = exc.trace
            except DecisionError as exc:  # the sandbox checks first: a last line of defence
                out.update(status="failed", reason=f"decision refused: {exc}", turn=bot.turn)
            out["bot_name"] = bot.bot_name
            out["decide_seconds"] = round(bot.decide_seconds, 3)
            out["start_seconds"] = bot.start_seconds
            out["started_by"] = bot.started_by
        text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        out["log"] = (text + trace)[-LOG_TAIL:]
        return out


def _verify_record(job: Job) -> dict:
    try:
        record = record_from_bytes(job.content, Path(job.source).name)
    except RecordError as exc:
        return {"status": "rejected", "reason": str(exc)}
    differences = verify_record(record, references=False)
    if differences:
        more = f" (and {len(differences) - 1} more)" if len(differences) > 1 else ""
        return {"status": "rejected", "reason": f"does not verify: {differences[0]}{more}",
                "turn": differences[0].turn}
    return _finished(record)


def verify_stored(job: Job, result: Any, settings: Settings, replay: bool = True) -> str | None:
    """Why a stored result of ``job`` cannot count, or None once it is verified.

    A finished game must hold a record of this scenario, seed and entry whose
    replay gives every number it claims (``replay``; without it only the
    record's form and claims are checked), and the firm value the result
    claims; a failed or rejected game must not claim a value.
    """
    if not isinstance(result, dict) or result.get("format") != GAME_FORMAT:
        return "not a tournament game file"
    for key, want in (("settings", settings.fingerprint), ("fingerprint", job.fingerprint),
                      ("kind", job.kind), ("entry", job.entry), ("seed", job.seed)):
        if result.get(key) != want:
            return f"{key} is not this game's"
    status = result.get("status")
    if status in ("failed", "rejected"):
        return None if result.get("firm_value") is None else "a lost game claims a firm value"
    if status != "finished":
        return f"unknown status {status!r}"
    try:
        record = parse_record(result.get("record"), job.filename)
    except RecordError as exc:
        return f"its record: {exc}"
    if record.scenario.content_hash != settings.scenario.content_hash or record.seed != job.seed:
        return "its record is of another game"
    if result.get("decisions") != decisions_digest(result["record"]):
        return "its decisions digest does not match its record"
    differences = verify_record(record, references=False) if replay else []
    if differences:
        return f"its record does not replay: {differences[0]}"
    if result.get("firm_value") != record.scores.get("firm_value"):
        return (f"firm_value: claimed {result.get('firm_value')!r}, its record replays to "
                f"{record.scores.get('firm_value')!r}")
    return None


# ------------------------------------------------------------------ results on disk
class ResultStore:
    """The results of one tournament's games, one JSON file each under ``folder/games``.

    With hidden markets every file is sealed under the key (``keys.seal``).

    Args:
        folder: the tournament's output folder (created if missing).
        settings: results under other settings are not reused; a folder
            made under other settings is refused.
        markets: the tournament's markets (a hidden tournament's folder is
            refused with a key that does not match its commitment).

    Raises:
        TournamentError: ``folder`` holds a tournament with other settings,
            other markets, or cannot be written.
    """

    def __init__(self, folder: str | Path, settings: Settings, markets: Markets):
        self.folder = Path(folder)
        self.games = self.folder / "games"
        self.logs = self.folder / "logs"
        self.settings, self.markets = settings, markets
        try:
            self.games.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TournamentError(f"--out {self.folder}: cannot make the results folder "
                                  f"({exc.strerror or exc})") from None
        header = self.folder / "tournament.json"
        mine = {**settings.describe(), **markets.describe()}
        if header.exists():
            try:
                theirs = json.loads(header.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                theirs = None
            if theirs != mine:
                changed = sorted(k for k in set(mine) | set(theirs or {}) if not isinstance(theirs, dict)
                                 or theirs.get(k) != mine.get(k))
                raise TournamentError(
                    f"{self.folder}: holds a tournament with other settings "
                    f"({', '.join(changed) or 'unreadable tournament.json'}); use another --out "
                    "or delete the folder")
        else:
            write_json_atomic(header, mine)

    @property
    def published(self) -> Path:
        """Where the key and the seeds are written once every game has finished."""
        return self.folder / "markets.json"

    @property
    def trusts_seal(self) -> bool:
        """True while a stored game's seal is proof enough that it is genuine.

        That is while a hidden tournament is unfinished: its key is then in no
        file, only in the memory of the (non-dumpable) processes running it,
        so no bot's process can forge a seal.  Once the key is published, or
        for a class market (whose key the class knows) or public seeds, every
        stored game is replayed before it counts.
        """
        return self.markets.kind == "hidden" and not self.published.exists()

    def load(self, job: Job) -> tuple[dict | None, str | None]:
        """(the stored result of ``job``, or None; why a stored file did not count, or None).

        A missing file is neither.  The result's form and claims are checked
        (``verify_stored`` without replay); replaying it is the caller's
        next step unless ``trusts_seal``.
        """
        path = self.games / job.filename
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None, None
        except (OSError, ValueError):
            return None, "unreadable"
        if self.markets.is_hidden:
            try:
                data = json.loads(unseal(parse_key(self.markets.key), data.get("sealed"), job.filename))
            except (TournamentError, ValueError, AttributeError):
                return None, "its seal does not open with the tournament's key (edited?)"
        problem = verify_stored(job, data, self.settings, replay=False)
        if problem is None and not self.markets.is_hidden and data.get("status") == "failed":
            return None, None  # a failure in a file anyone can write proves nothing: play again
        return (data, None) if problem is None else (None, problem)

    def save(self, job: Job, result: dict) -> None:
        """Store ``result`` atomically; the bot's log (if any) goes to ``logs/``."""
        log = result.pop("log", "")
        if log:
            self.logs.mkdir(exist_ok=True)
            (self.logs / job.filename.replace(".json", ".log")).write_text(log, encoding="utf-8")
        data: Any = result
        if self.markets.is_hidden:
            data = {"format": GAME_FORMAT, "sealed": seal(parse_key(self.markets.key),
                                                          json.dumps(result).encode())}
        write_json_atomic(self.games / job.filename, data)


def write_json_atomic(path: Path, data: Any, mode: int = 0o644) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file and a rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, allow_nan=False)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

