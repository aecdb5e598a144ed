"""A tournament's games: who plays which seed, playing one game, and the results on disk.

Every bot plays every seed; a record counts for its own seed once it
verifies; each reference strategy is played once per seed and shared by
all entries.  A game is a ``Job``: plain data that carries the bot's or the
record's bytes, so it runs the same in this process, in a local process
pool or on a Dask worker on another machine.  Each finished game is one
JSON file under ``OUT/games/``, written atomically, so an interrupted
tournament resumes without replaying what is done.
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

from ..decisions import DecisionError
from ..errors import SimError
from ..records import (RecordError, engine_version, read_record_bytes, record_from_bytes,
                       verify_record)
from ..references import REFERENCES, play_reference
from ..runner import play_game
from ..scenario import Scenario
from .sandbox import SETUP_SECONDS, BotFailure, SandboxedBot

GAME_FORMAT = "ccsim-tournament-game"
#: Kept from a bot's stderr per game, characters (the end: where a traceback is).
LOG_TAIL = 20_000


class TournamentError(SimError):
    """A tournament that cannot run as asked; the message is one line."""


@dataclass(frozen=True)
class Settings:
    """What makes two games comparable: the scenario at its size and the bots' limits.

    Attributes:
        scenario: the scenario played (at the tournament's size).
        turn_seconds: most seconds per decision for a bot.
        memory_mb: a bot process's address-space limit (0: none).
        setup_seconds: most seconds for a bot to import and reset.
    """

    scenario: Scenario
    turn_seconds: float = 10.0
    memory_mb: int = 1024
    setup_seconds: float = SETUP_SECONDS

    def describe(self) -> dict:
        """The settings as JSON; results made under other settings are not reused."""
        return {"scenario": self.scenario.key, "sha256": self.scenario.content_hash,
                "prospects": self.scenario.prospects, "turn_seconds": self.turn_seconds,
                "memory_mb": self.memory_mb, "setup_seconds": self.setup_seconds,
                "engine_version": engine_version()}

    @property
    def fingerprint(self) -> str:
        return _sha256(json.dumps(self.describe(), sort_keys=True).encode())


@dataclass(frozen=True)
class Job:
    """One game to play.

    Attributes:
        kind: ``reference``, ``bot`` or ``record``.
        entry: the name on the leaderboard.
        seed: the root seed.
        source: the reference's name, or the bot's or the record's file.
        content: the bot's source or the record's JSON (empty for a reference).
    """

    kind: str
    entry: str
    seed: int
    source: str
    content: bytes = field(default=b"", repr=False)

    @property
    def fingerprint(self) -> str:
        """Changes when the bot or the record file changes: then the game is played again."""
        return _sha256(self.content) if self.content else self.source

    @property
    def filename(self) -> str:
        return f"{self.kind}--{slug(self.entry)}--seed{self.seed}.json"


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


def parse_seeds(text: str) -> list[int]:
    """``"1-5"``, ``"3"`` or ``"1,4,9-10"`` as a sorted list of distinct seeds.

    Raises:
        TournamentError: anything else, or a negative seed.
    """
    seeds: set[int] = set()
    for part in text.split(","):
        m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not m:
            raise TournamentError(f"--seeds: {part.strip()!r} is not a seed or a range like 1-5")
        lo, hi = int(m[1]), int(m[2] or m[1])
        if hi < lo:
            raise TournamentError(f"--seeds: {part.strip()!r} runs backwards")
        seeds.update(range(lo, hi + 1))
    return sorted(seeds)


def plan(entries: list[str | Path], seeds: list[int], settings: Settings,
         teams: tuple[str, ...] | None = None) -> tuple[list[Job], list[Rejection]]:
    """The games a tournament plays, and the entries refused before playing.

    Bot files (``.py``) play every seed, named by their file's stem; record
    files (``.json``) play their own seed, named by the strategy they
    record, once they are of this scenario (at this size) and of one of
    ``seeds``; a name used twice for one seed is refused the second time.
    With ``teams`` (class play), only records of those teams are accepted.

    Raises:
        TournamentError: two bot files with one name, or a bot named as a reference.
    """
    if not seeds:
        raise TournamentError("--seeds: no seeds")
    jobs = [Job("reference", name, seed, name) for seed in seeds for name in REFERENCES]
    rejections: list[Rejection] = []
    bots: dict[str, Path] = {}
    taken: set[tuple[str, int]] = set()
    records = []
    for raw in entries:
        path = Path(raw)
        if path.suffix == ".py":
            name = path.stem
            if name in bots and bots[name].resolve() != path.resolve():
                raise TournamentError(f"{path}: another entry is also called {name!r} "
                                      f"({bots[name]}); rename one")
            if name in REFERENCES:
                raise TournamentError(f"{path}: {name!r} is a reference strategy's name; rename "
                                      "the file")
            if not path.is_file():
                rejections.append(Rejection(name, str(path), "no such file"))
                continue
            bots[name] = path
        elif path.suffix == ".json":
            records.append(path)
        else:
            rejections.append(Rejection(path.name, str(path),
                                        "neither a bot (.py) nor a game record (.json)"))
    for name, path in bots.items():
        content = path.read_bytes()
        jobs += [Job("bot", name, seed, str(path), content) for seed in seeds]
    for path in records:
        job, rejection = _record_job(path, seeds, settings, set(bots), taken, teams)
        if job:
            jobs.append(job)
        else:
            rejections.append(rejection)
    return jobs, rejections


def _record_job(path: Path, seeds: list[int], settings: Settings, bot_names: set[str],
                taken: set[tuple[str, int]], teams: tuple[str, ...] | None = None,
                ) -> tuple[Job | None, Rejection | None]:
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
    if name in bot_names or name in REFERENCES:
        name = f"{name} (record)"
    s, want = record.scenario, settings.scenario
    if s.content_hash != want.content_hash:
        what = "another size of it" if s.key == want.key and s.prospects != want.prospects else \
            "another scenario"
        return None, Rejection(name, str(path), f"{what}: played {s.key} at {s.prospects:,} "
                               f"prospects, this tournament is {want.key} at {want.prospects:,}",
                               record.seed)
    if record.seed not in seeds:
        return None, Rejection(name, str(path), f"another seed: played seed {record.seed}, "
                               f"this tournament's seeds are {_seed_text(seeds)}", record.seed)
    if (name, record.seed) in taken:
        return None, Rejection(name, str(path), f"a second record of {name!r} for seed "
                               f"{record.seed}", record.seed)
    taken.add((name, record.seed))
    return Job("record", name, record.seed, str(path), content), None


def _seed_text(seeds: list[int]) -> str:
    return ", ".join(map(str, seeds)) if len(seeds) <= 8 else f"{seeds[0]}..{seeds[-1]}"


def play_job(job: Job, settings: Settings) -> dict:
    """Play one game and return its result (a JSON-ready mapping).

    A failing bot is a result, not an exception: ``status`` is ``failed``
    with the ``reason`` and the ``turn``.  A record that does not verify is
    ``rejected`` with its first differences.  The bot's stderr comes back
    as ``log`` (its end).
    """
    started = time.perf_counter()
    result: dict[str, Any] = {"format": GAME_FORMAT, "settings": settings.fingerprint,
                              "kind": job.kind, "entry": job.entry, "seed": job.seed,
                              "source": job.source, "fingerprint": job.fingerprint,
                              "status": "finished", "firm_value": None, "reason": None,
                              "turn": None}
    scenario = settings.scenario
    if job.kind == "reference":
        result["firm_value"] = play_reference(scenario, job.source, job.seed).firm_value
    elif job.kind == "bot":
        result.update(_play_bot(job, settings))
    elif job.kind == "record":
        result.update(_verify_record(job))
    else:
        raise ValueError(f"unknown kind of game {job.kind!r}")
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


def _play_bot(job: Job, settings: Settings) -> dict:
    with tempfile.TemporaryDirectory(prefix="ccsim-bot-") as folder:
        # The bot runs from a copy: the same bytes on any machine, and a file
        # edited mid-tournament does not change a game already planned.
        path = Path(folder) / Path(job.source).name
        path.write_bytes(job.content)
        log = Path(folder) / "stderr.log"
        bot = SandboxedBot(path, job.entry, settings.turn_seconds, settings.memory_mb,
                           settings.setup_seconds, log=log)
        out: dict[str, Any] = {}
        try:
            played = play_game(settings.scenario, bot, job.seed)
            out["firm_value"] = played.value.firm_value
        except BotFailure as exc:
            out.update(status="failed", reason=exc.reason, turn=exc.turn)
        except DecisionError as exc:
            out.update(status="failed", reason=f"refused decision: {exc}", turn=bot.turn)
        finally:
            bot.close()
        out["bot_name"] = bot.bot_name
        out["decide_seconds"] = round(bot.decide_seconds, 3)
        text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        out["log"] = text[-LOG_TAIL:]
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
    return {"firm_value": float(record.scores["firm_value"])}


class ResultStore:
    """The results of one tournament's games, one JSON file each under ``folder/games``.

    Args:
        folder: the tournament's output folder (created if missing).
        settings: results under other settings are not reused; a folder
            made under other settings is refused.

    Raises:
        TournamentError: ``folder`` holds a tournament with other settings.
    """

    def __init__(self, folder: str | Path, settings: Settings):
        self.folder = Path(folder)
        self.games = self.folder / "games"
        self.logs = self.folder / "logs"
        self.settings = settings
        self.games.mkdir(parents=True, exist_ok=True)
        header = self.folder / "tournament.json"
        mine = settings.describe()
        if header.exists():
            try:
                theirs = json.loads(header.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                theirs = None
            if theirs != mine:
                changed = sorted(k for k in mine if not isinstance(theirs, dict)
                                 or theirs.get(k) != mine[k])
                raise TournamentError(
                    f"{self.folder}: holds a tournament with other settings "
                    f"({', '.join(changed) or 'unreadable tournament.json'}); use another --out "
                    "or delete the folder")
        else:
            write_json_atomic(header, mine)

    def load(self, job: Job) -> dict | None:
        """The stored result of ``job`` if it is of this job as planned now, else None."""
        path = self.games / job.filename
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if (not isinstance(result, dict) or result.get("format") != GAME_FORMAT
                or result.get("settings") != self.settings.fingerprint
                or result.get("fingerprint") != job.fingerprint):
            return None
        return result

    def save(self, job: Job, result: dict) -> None:
        """Store ``result`` atomically; the bot's log (if any) goes to ``logs/``."""
        log = result.pop("log", "")
        if log:
            self.logs.mkdir(exist_ok=True)
            (self.logs / job.filename.replace(".json", ".log")).write_text(log, encoding="utf-8")
        write_json_atomic(self.games / job.filename, result)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file and a rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, allow_nan=False)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
