"""Bots in their own processes: the engine's side of the sandbox.

A ``SandboxedBot`` is a strategy for ``sim.runner.play_game`` whose
decisions come from a bot file running in a process of its own
(``sim.tournament.botproc``), forked from a fork server that has already
imported what bots import (``sim.tournament.forkserver``), so a bot starts
in milliseconds.  The process gets the public scenario and observation
deltas only -- never the engine, the seed, a key or the truth -- shares no
memory with the engine, and answers in JSON (never a pickle).  ``ccsim
run --strategy bot.py``, class play and tournaments all play bot files
through it; it is the API a server playing bots builds on:

    with SandboxedBot("bots/mine.py", turn_seconds=10, memory_mb=1024) as bot:
        played = sim.runner.play_game(scenario, bot, seed)

Limits, each named when it is the reason a bot fails: ``turn_seconds`` per
decision, counting the bot's own time and the engine's time decoding and
checking its reply (size limits from ``sim.decision_limits``, rules and
budget); ``setup_seconds`` to start; ``memory_mb`` and ``max_processes``
for the bot's whole process tree (``sim.tournament.containment``, what is
enforced depends on the platform).  Any failure -- a mistake in the bot, a
crash, a hang, too much memory, a process of its own ending -- raises
``BotFailure`` (a ``sim.bots.BotError``, so a ``sim.SimError``) naming the
bot, the turn and the reason, and kills the bot's processes; after
``close()`` no process the bot started is left.  Text from the bot (its
name, its errors, its log) passes through ``redact`` before it is shown.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Callable, TextIO

from ..bots import BotError
from ..decision_limits import DecisionLimits
from ..decisions import Decision, DecisionError
from ..engine import check_decision
from ..observation import Observation
from ..public import PublicScenario
from ..records import RecordError, decode_decision
from ..scenario import Scenario
from . import containment
from .botfiles import BotFiles, pack
from .forkserver import PRIVATE_ENV, ForkServer, ForkServerError, read_status
from .protocol import (ChannelClosed, ChannelOverflow, ChannelTimeout, ObservationDelta,
                       read_message, write_message)

#: Seconds a bot may take to start (import, ``Bot()``, ``reset``) unless told otherwise.
SETUP_SECONDS = 30.0
#: Largest reply while starting, bytes.
MAX_READY_BYTES = 64 * 1024
#: Most of a bot's output copied to a stream log, bytes.
MAX_STREAMED_BYTES = 1024 * 1024
#: Longest reason kept from a bot's own words, characters.
MAX_REASON_CHARS = 300
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class BotFailure(BotError):
    """A sandboxed bot failed: ``reason`` in a few words, ``turn`` (0 = while starting).

    ``trace`` is the traceback of the bot's exception, if it raised one (for logs).
    """

    def __init__(self, label: str, reason: str, turn: int, trace: str = ""):
        super().__init__(label, reason, turn or None)
        self.reason = reason
        self.turn = turn
        self.trace = trace


class SandboxedBot:
    """A bot file played in its own process, as a ``Strategy``.

    Args:
        bot: the bot file (its folder is copied with it, see
            ``sim.tournament.botfiles``) or an already packed ``BotFiles``.
        name: the strategy's name in results (default: the bot's own ``name``
            once it has started, the file's stem before).
        turn_seconds: most seconds per decision, the engine's evaluation of
            the reply included.
        memory_mb: most memory of the bot's process tree, MB (0: none).
        max_processes: most processes of the bot's tree at once.
        setup_seconds: most seconds to start the bot and ``reset`` it.
        log: where the bot's prints and tracebacks go: a file path, a text
            stream (e.g. ``sys.stderr``), or None to discard them.
        redact: applied to every text from the bot before it is shown.
        pid_namespace: run the bot as the init of a pid namespace of its own
            where the kernel allows it (False: subreapers only).

    Use as a context manager, or call ``close()``.

    Raises:
        BotError: the bot file is missing or its folder is too large.
    """

    sees_truth = False

    def __init__(self, bot: str | Path | BotFiles, name: str | None = None,
                 turn_seconds: float = 10.0, memory_mb: int = 1024,
                 max_processes: int = containment.MAX_PROCESSES,
                 setup_seconds: float = SETUP_SECONDS, log: str | Path | TextIO | None = None,
                 redact: Callable[[str], str] | None = None, pid_namespace: bool = True):
        self.files = bot if isinstance(bot, BotFiles) else pack(bot)
        self.label = self.files.label
        if os.name == "nt":
            raise BotError(self.label, "bot files play sandboxed, which needs Linux or macOS "
                           "(POSIX processes); on Windows use WSL")
        self.name = name or Path(self.files.entry).stem
        self._own_name = name is None
        self.turn_seconds = float(turn_seconds)
        self.memory_mb = int(memory_mb)
        self.max_processes = int(max_processes)
        self.setup_seconds = float(setup_seconds)
        self.redact = redact or (lambda text: text)
        self.pid_namespace = bool(pid_namespace)
        self.started_by: str | None = None
        self.bot_name: str | None = None
        self.turn = 0
        self.decide_seconds = 0.0
        self.evaluate_seconds = 0.0
        self.start_seconds: float | None = None
        self._log = log
        self._folder: tempfile.TemporaryDirectory | None = None
        self._path: Path | None = None
        self._process: _Process | None = None
        self._watchdog: containment.Watchdog | None = None
        self._killed_for: str | None = None
        self._trace = ""
        self._stream_log: _StreamLog | None = None
        self._scenario: PublicScenario | None = None
        self._delta = ObservationDelta()

    # ------------------------------------------------------------- Strategy
    def reset(self, scenario: PublicScenario | Scenario, seed: int | None = None) -> None:
        """Start a fresh bot process for a game of ``scenario``; ``seed`` is never passed on.

        Raises:
            BotFailure: the bot does not start (import error, no ``Bot``,
                a crash, too slow, out of memory).
        """
        self.close()
        if isinstance(scenario, Scenario):
            scenario = PublicScenario.of(scenario)  # never the latent types
        self._scenario = scenario
        self.turn = 0
        self._delta = ObservationDelta()
        self._killed_for = None
        started = time.monotonic()
        self._process = self._start()
        self._watchdog = containment.Watchdog(self._process.pid, self.memory_mb * 2**20,
                                              self.max_processes, self._killed)
        columns = scenario.warmup_turns + scenario.turns
        start = {"scenario": scenario, "columns": columns}
        reply = self._exchange(pickle.dumps(start, protocol=pickle.HIGHEST_PROTOCOL),
                               started + self.setup_seconds, MAX_READY_BYTES)
        if "ready" not in reply:
            self._fail_unexpected(reply)
        self.bot_name = self._clean(str(reply["ready"]))[:100]
        if self._own_name:
            self.name = self.bot_name
        self.start_seconds = time.monotonic() - started

    def decide(self, observation: Observation, truth=None) -> Decision:
        """The bot's decision for ``observation.turn``, checked as the engine will play it.

        Raises:
            BotFailure: a mistake, a crash, a timeout (the engine's time
                evaluating the reply included), out of memory, or a decision
                the game refuses.
        """
        if self._process is None:
            raise BotFailure(self.label, "decide() called before reset()", observation.turn)
        self.turn = observation.turn
        limits = DecisionLimits.of_market(self._scenario.prospects, observation.n_customers)
        delta = pickle.dumps(self._delta.delta(observation), protocol=pickle.HIGHEST_PROTOCOL)
        started = time.monotonic()
        reply = self._exchange(delta, started + self.turn_seconds, limits.max_reply_bytes)
        answered = time.monotonic()
        self.decide_seconds += answered - started
        if "decision" not in reply:
            self._fail_unexpected(reply)
        try:
            decision = self._evaluate(reply["decision"], observation, limits)
        finally:
            self.evaluate_seconds += time.monotonic() - answered
        spent = time.monotonic() - started
        if self._killed_for:
            self._fail(self._killed_for)
        if spent > self.turn_seconds:
            self._fail(f"timed out: the turn took {spent:.2f} s (the bot {answered - started:.2f} "
                       f"s, the engine {spent - (answered - started):.2f} s evaluating its "
                       f"decision), over the {self.turn_seconds:g} s allowed")
        return decision

    def _evaluate(self, encoded, observation: Observation, limits: DecisionLimits) -> Decision:
        """Decode the reply and check it as the engine will: what the engine plays is this."""
        try:
            _check_score_sizes(encoded, observation.n_customers, limits)
            decision = decode_decision(encoded, "decision")
        except (RecordError, DecisionError) as exc:
            self._fail(f"invalid decision: {exc}")
        try:
            check_decision(self._scenario, observation, decision)
        except DecisionError as exc:
            self._fail(f"decision refused: {exc}")
        return decision

    # ------------------------------------------------------------- process
    def close(self) -> None:
        """Kill the bot's processes (all of them) and forget its copy of the files."""
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            watchdog.stop()
        process, self._process = self._process, None
        if process is not None:
            process.kill()
        if self._stream_log is not None:
            self._stream_log.drain(self.redact)

    def __enter__(self) -> "SandboxedBot":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def __del__(self) -> None:
        try:
            self.__exit__()
        except Exception:
            pass

    def _killed(self, reason: str) -> None:
        self._killed_for = reason

    def _start(self) -> "_Process":
        if self._folder is None:
            self._folder = tempfile.TemporaryDirectory(prefix="ccsim-bot-")
            self._path = self.files.write(self._folder.name)
        header = {"bot": str(self._path), "label": self.label, "memory_mb": self.memory_mb,
                  "max_processes": self.max_processes, "pid_namespace": self.pid_namespace}
        log = self._log_fd()
        try:
            if _FORK_SERVER:
                try:
                    process = _Forked(header, log, self.setup_seconds)
                    self.started_by = "fork server"
                    return process
                except ForkServerError:
                    pass  # e.g. a system without SOCK_SEQPACKET: start Python instead
            self.started_by = "python"
            return _Subprocess(header, log)
        finally:
            os.close(log)

    def _log_fd(self) -> int:
        log = self._log
        if log is None:
            return os.open(os.devnull, os.O_WRONLY)
        if hasattr(log, "write"):
            if self._stream_log is None:
                self._stream_log = _StreamLog(Path(self._folder.name) / "output.log", log)
            path = self._stream_log.path
        else:
            path = Path(log)
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def _exchange(self, message: bytes, deadline: float, max_bytes: int) -> dict:
        """Send ``message`` and wait for the reply, both before ``deadline``."""
        p = self._process
        try:
            write_message(p.to_bot, message, deadline)
            raw = read_message(p.from_bot, deadline, max_bytes)
        except ChannelTimeout:
            self._fail(f"timed out (no decision within {self.turn_seconds:g} s)" if self.turn
                       else f"timed out (not started within {self.setup_seconds:g} s)")
        except ChannelClosed:
            self._fail(self._exit_reason())
        except ChannelOverflow as exc:
            self._fail(f"invalid decision: a reply of {exc.args[0]:,} bytes (at most "
                       f"{max_bytes:,} in this market)")
        finally:
            if self._stream_log is not None:
                self._stream_log.drain(self.redact)
        try:
            reply = json.loads(raw)
        except (ValueError, RecursionError):
            self._fail("invalid decision: the reply is not JSON")
        if not isinstance(reply, dict):
            self._fail("invalid decision: the reply is not a JSON object")
        return reply

    def _exit_reason(self) -> str:
        code = self._process.exit_code(timeout=2)
        if self._killed_for:
            return self._killed_for
        if code is None:
            return "its process closed the engine's pipe and did not answer"
        if code < 0:
            try:
                sig = signal.Signals(-code).name
            except ValueError:
                sig = f"signal {-code}"
            if sig == "SIGKILL":
                return f"its process was killed by {sig} (out of memory?)"
            if sig == "SIGXFSZ":
                return f"its process was killed by {sig} (it wrote more than the file size limit)"
            return f"its process was killed by {sig}"
        return f"its process ended (exit status {code}) instead of answering"

    def _clean(self, text: str) -> str:
        """A bot's words as one short, redacted line."""
        line = " ".join(str(text).split())
        return self.redact(line)[:MAX_REASON_CHARS]

    def _fail_unexpected(self, reply: dict) -> None:
        self._trace = self.redact(str(reply.get("trace", "")))[-20_000:]
        kind = str(reply.get("error", ""))
        detail = self._clean(reply.get("detail", "")) or "an unexpected reply"
        if kind == "bot":
            self._fail(detail)
        if kind == "out of memory":
            self._fail(f"out of memory: {detail}")
        self._fail(f"invalid reply: {self._clean(json.dumps(reply)[:200])}")

    def _fail(self, reason: str) -> None:
        self.close()
        trace, self._trace = self._trace, ""
        raise BotFailure(self.label, self.redact(reason), self.turn, trace)


_FORK_SERVER = hasattr(os, "fork") and hasattr(__import__("socket"), "send_fds")


class _Process:
    """A running bot process: its pipes, its exit status, and killing it (and its tree)."""

    pid: int
    to_bot: int
    from_bot: int

    def exit_code(self, timeout: float) -> int | None:
        raise NotImplementedError

    def kill(self) -> None:
        containment.kill_tree(self.pid)
        try:
            os.killpg(self.pid, signal.SIGKILL)  # where there is no /proc: the process group
        except (ProcessLookupError, PermissionError, OSError):
            pass
        self._reap()

    def _reap(self) -> None:
        raise NotImplementedError


class _Forked(_Process):
    """A bot forked by this process's fork server."""

    def __init__(self, header: dict, log: int, timeout: float):
        bot_in, self.to_bot = os.pipe()
        self.from_bot, bot_out = os.pipe()
        self._status, status_w = os.pipe()
        try:
            self.pid = ForkServer.get().start_bot(header, [bot_in, bot_out, status_w, log], timeout)
        except BaseException:
            for fd in (self.to_bot, self.from_bot, self._status):
                os.close(fd)
            raise
        finally:
            for fd in (bot_in, bot_out, status_w):
                os.close(fd)
        self._code: int | None = None

    def exit_code(self, timeout: float) -> int | None:
        if self._code is None and self._status >= 0:
            self._code = read_status(self._status, timeout)
        return self._code

    def _reap(self) -> None:
        self.exit_code(2)
        for fd in (self.to_bot, self.from_bot, self._status):
            if fd >= 0:
                os.close(fd)
        self.to_bot = self.from_bot = self._status = -1


class _Subprocess(_Process):
    """A bot in a fresh ``python -m sim.tournament.botproc`` (where no fork server runs)."""

    def __init__(self, header: dict, log: int):
        env = {k: v for k, v in os.environ.items() if k not in PRIVATE_ENV}
        env["PYTHONPATH"] = os.pathsep.join([_PACKAGE_ROOT] + [p for p in
                                             env.get("PYTHONPATH", "").split(os.pathsep) if p])
        self._popen = subprocess.Popen(
            [sys.executable, "-m", "sim.tournament.botproc", json.dumps(header)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=log, env=env,
            start_new_session=True, close_fds=True)
        self.pid = self._popen.pid
        self.to_bot, self.from_bot = self._popen.stdin.fileno(), self._popen.stdout.fileno()

    def exit_code(self, timeout: float) -> int | None:
        try:
            return self._popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def _reap(self) -> None:
        if self._popen.poll() is None:
            self._popen.kill()
        self._popen.wait()
        for stream in (self._popen.stdin, self._popen.stdout):
            try:
                stream.close()
            except OSError:
                pass


class _StreamLog:
    """A bot's output kept in a file and copied, redacted, to a text stream as it grows."""

    def __init__(self, path: Path, stream: TextIO):
        self.path, self.stream, self._offset = path, stream, 0
        path.touch()

    def drain(self, redact: Callable[[str], str]) -> None:
        if self._offset >= MAX_STREAMED_BYTES:
            return
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                data = f.read(MAX_STREAMED_BYTES - self._offset)
        except OSError:
            return
        if not data:
            return
        self._offset += len(data)
        text = redact(data.decode("utf-8", errors="replace"))
        if self._offset >= MAX_STREAMED_BYTES:
            text += "\n(the rest of the bot's output is not shown)\n"
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass


def _check_score_sizes(encoded, n_customers: int, limits: DecisionLimits) -> None:
    """Refuse too many score columns, or columns of the wrong length, before decoding any.

    A bot could otherwise send many small zlib bombs that inflate to
    gigabytes in the engine's process.
    """
    if not isinstance(encoded, dict):
        return
    scores = encoded.get("scores", {})
    if not isinstance(scores, dict):
        return
    limits.check_columns(len(scores))
    for name, column in scores.items():
        n = column.get("n") if isinstance(column, dict) else None
        if n != n_customers:
            raise RecordError(f"decision.scores.{name}: {n!r} values for {n_customers} customers")
        data = column.get("data")
        if isinstance(data, str):
            try:
                inflater = zlib.decompressobj()
                inflated = inflater.decompress(base64.b64decode(data), 8 * n_customers + 1)
            except (ValueError, zlib.error):
                continue  # decode_column names the problem
            if len(inflated) > 8 * n_customers or inflater.unconsumed_tail:
                raise RecordError(f"decision.scores.{name}: inflates past "
                                  f"{8 * n_customers:,} bytes for {n_customers} customers")
