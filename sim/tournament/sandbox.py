"""Bots in their own processes: the engine's side of the sandbox.

A ``SandboxedBot`` is a strategy for ``sim.runner.play_game`` whose
decisions come from a bot file running in a separate Python process
(``sim.tournament.botproc``).  That process gets the public scenario and
observation deltas only, never the engine or its truth, and shares no
memory with the engine.  Each turn has a time limit, the process an
address-space limit; any failure -- a crash, a hang, running out of memory,
an unusable decision -- raises ``BotFailure`` naming the reason and the
turn, and kills the process (and anything it started) so the tournament
goes on.

This is a fault boundary, not a security one: the bot runs with the
instructor's user rights and could read files.  Run bots from strangers
in a container or a throw-away account.
"""

from __future__ import annotations

import base64
import contextlib
import json
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

from ..decisions import Decision
from ..observation import Observation
from ..public import PublicScenario
from ..records import RecordError, decode_decision
from .protocol import (ChannelClosed, ChannelOverflow, ChannelTimeout, ObservationDelta,
                       read_message, write_message)

#: Seconds a bot may take to start (import, ``Bot()``, ``reset``) unless told otherwise.
SETUP_SECONDS = 30.0
#: Largest reply accepted from a bot, bytes (a decision with compressed score columns).
MAX_REPLY_BYTES = 64 * 1024 * 1024
#: The package root, put on the bot process's path so ``sim`` imports uninstalled.
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class BotFailure(Exception):
    """A sandboxed bot failed: ``reason`` in a few words, ``turn`` (0 = while starting)."""

    def __init__(self, reason: str, turn: int):
        super().__init__(f"turn {turn}: {reason}" if turn else f"while starting: {reason}")
        self.reason = reason
        self.turn = turn


class SandboxedBot:
    """A bot file played in its own process, as a ``Strategy``.

    Args:
        path: the bot's Python file (``class Bot`` with ``name``,
            ``reset(scenario, seed)`` and ``decide(observation, truth)``).
        name: the name shown on leaderboards (default: the file's stem).
        turn_seconds: most seconds per decision, the bot rebuilding its
            observation included.
        memory_mb: address-space limit of the bot's process (0: none).
        setup_seconds: most seconds to import the bot and ``reset`` it.
        log: a file for the bot's prints and tracebacks (default: discarded).

    Use as a context manager, or call ``close()``: the process is killed
    at the end of the game either way.
    """

    sees_truth = False

    def __init__(self, path: str | Path, name: str | None = None, turn_seconds: float = 10.0,
                 memory_mb: int = 1024, setup_seconds: float = SETUP_SECONDS,
                 log: str | Path | None = None):
        self.path = Path(path)
        self.name = name or self.path.stem
        self.turn_seconds = float(turn_seconds)
        self.memory_mb = int(memory_mb)
        self.setup_seconds = float(setup_seconds)
        self.log = log
        self.bot_name: str | None = None
        self.turn = 0
        self.decide_seconds = 0.0
        self._process: _Child | None = None
        self._delta = ObservationDelta()

    # ------------------------------------------------------------- Strategy
    def reset(self, scenario: PublicScenario, seed: int) -> None:
        """Start a fresh bot process for a game of ``scenario`` on ``seed``.

        Raises:
            BotFailure: the bot does not start (import error, no ``Bot``,
                a crash, too slow, out of memory).
        """
        self.close()
        self.turn = 0
        self._delta = ObservationDelta()
        self._process = _start(self.path.resolve(), self.memory_mb, self.log)
        columns = scenario.warmup_turns + scenario.turns
        start = {"scenario": scenario, "seed": int(seed), "columns": columns}
        reply = self._exchange(pickle.dumps(start, protocol=pickle.HIGHEST_PROTOCOL),
                               self.setup_seconds)
        if "ready" not in reply:
            self._fail_unexpected(reply)
        self.bot_name = str(reply["ready"])[:100]

    def decide(self, observation: Observation, truth=None) -> Decision:
        """The bot's decision for ``observation.turn``.

        Raises:
            BotFailure: a crash, a timeout, out of memory, or a reply that
                is not a decision.
        """
        self.turn = observation.turn
        delta = pickle.dumps(self._delta.delta(observation), protocol=pickle.HIGHEST_PROTOCOL)
        started = time.monotonic()
        reply = self._exchange(delta, self.turn_seconds)
        self.decide_seconds += time.monotonic() - started
        if "decision" not in reply:
            self._fail_unexpected(reply)
        encoded = reply["decision"]
        try:
            _check_score_sizes(encoded, observation.n_customers)
            return decode_decision(encoded, "decision")
        except RecordError as exc:
            self._fail(f"invalid decision: {exc}")

    # ------------------------------------------------------------- process
    def close(self) -> None:
        """Kill the bot's process group (if still running) and reap it."""
        p, self._process = self._process, None
        if p is not None:
            p.kill()

    def __enter__(self) -> "SandboxedBot":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def _exchange(self, message: bytes, seconds: float) -> dict:
        """Send ``message`` and wait for the reply, both within ``seconds``."""
        p = self._process
        deadline = time.monotonic() + seconds
        try:
            write_message(p.to_bot, message, deadline)
            raw = read_message(p.from_bot, deadline, MAX_REPLY_BYTES)
        except ChannelTimeout:
            self._fail(f"timed out (no decision within {seconds:g} s)" if self.turn
                       else f"timed out (not started within {seconds:g} s)")
        except ChannelClosed:
            self._fail(self._exit_reason())
        except ChannelOverflow as exc:
            self._fail(f"invalid decision: a reply of {exc.args[0]:,} bytes "
                       f"(at most {MAX_REPLY_BYTES:,})")
        try:
            reply = json.loads(raw)
        except (ValueError, RecursionError):
            self._fail("invalid decision: the reply is not JSON")
        if not isinstance(reply, dict):
            self._fail("invalid decision: the reply is not a JSON object")
        return reply

    def _exit_reason(self) -> str:
        code = self._process.exit_code(timeout=2)
        if code is None:
            return "crashed (closed its output)"
        if code < 0:
            try:
                sig = signal.Signals(-code).name
            except ValueError:
                sig = f"signal {-code}"
            if sig == "SIGKILL":
                return f"crashed (killed by {sig}; out of memory?)"
            return f"crashed (killed by {sig})"
        return f"crashed (exited with status {code})"

    def _fail_unexpected(self, reply: dict) -> None:
        # The bot's process wrote these: keep them short enough for a leaderboard.
        kind = str(reply.get("error", "invalid decision"))[:40]
        detail = str(reply.get("detail", ""))[:300] or "an unexpected reply"
        if kind == "no bot":
            self._fail(detail)
        self._fail(f"{kind}: {detail}")

    def _fail(self, reason: str) -> None:
        self.close()
        raise BotFailure(reason, self.turn)


def _start(path: Path, memory_mb: int, log) -> "_Child":
    """Start a bot's process: forked from the fork server where allowed, else a subprocess."""
    if _FORK_SERVER and not multiprocessing.current_process().daemon:
        return _ForkedChild(path, memory_mb, log)
    return _SubprocessChild(path, memory_mb, log)


_FORK_SERVER = "forkserver" in multiprocessing.get_all_start_methods()


class _Child:
    """A running bot process: its pipes, its exit status, and killing it."""

    pid: int
    to_bot: int
    from_bot: int

    def exit_code(self, timeout: float) -> int | None:
        raise NotImplementedError

    def kill(self) -> None:
        """SIGKILL to the bot's process group (it and whatever it started), then reap."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass  # already gone, or not yet its own group leader: kill the process itself
        self._kill_process()
        self._close()

    def _kill_process(self) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError


class _ForkedChild(_Child):
    """A bot forked by ``multiprocessing``'s fork server.

    The fork server is a fresh interpreter that imported ``botproc`` (numpy,
    the decision types) and nothing of any game; forking from it costs
    milliseconds where starting Python costs a third of a second, and the
    bot gets no copy of the engine's memory.
    """

    def __init__(self, path: Path, memory_mb: int, log):
        # One BLAS thread: predictable address space under RLIMIT_AS.  The
        # fork server inherits this environment when it first starts.
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["sim.tournament.botproc"])
        from .botproc import forked

        bot_in, self._to_bot = context.Pipe(duplex=False)
        self._from_bot, bot_out = context.Pipe(duplex=False)
        self._process = context.Process(target=forked, name=f"bot {path.stem}", args=(
            bot_in, bot_out, str(path), memory_mb, str(log) if log else None))
        with _main_hidden():
            self._process.start()
        bot_in.close()
        bot_out.close()
        self.pid = self._process.pid
        self.to_bot, self.from_bot = self._to_bot.fileno(), self._from_bot.fileno()

    def exit_code(self, timeout: float) -> int | None:
        self._process.join(timeout)
        return self._process.exitcode

    def _kill_process(self) -> None:
        if self._process.exitcode is None:
            self._process.kill()
        self._process.join()

    def _close(self) -> None:
        self._to_bot.close()
        self._from_bot.close()
        self._process.close()


_MAIN_LOCK = threading.Lock()


@contextlib.contextmanager
def _main_hidden():
    """Start a child without it re-running this program's main script.

    ``multiprocessing`` children normally import the parent's ``__main__``
    file first (so pickled functions defined there resolve).  A bot's
    process needs nothing from it, should not run the instructor's script,
    and must start even from a script without an ``if __name__ ==
    "__main__"`` guard; so the file is hidden while the child is started.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    with _MAIN_LOCK:
        saved_file = main.__dict__.pop("__file__", None)
        saved_spec, main.__spec__ = getattr(main, "__spec__", None), None
        try:
            yield
        finally:
            main.__spec__ = saved_spec
            if saved_file is not None:
                main.__file__ = saved_file


class _SubprocessChild(_Child):
    """A bot in a fresh ``python -m sim.tournament.botproc`` (where forking is not allowed)."""

    def __init__(self, path: Path, memory_mb: int, log):
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([_PACKAGE_ROOT] + [p for p in
                                             env.get("PYTHONPATH", "").split(os.pathsep) if p])
        stderr = open(log, "ab") if log else subprocess.DEVNULL
        try:
            # A session of its own: on failure the whole process group is
            # killed, so whatever the bot started dies with it.
            self._popen = subprocess.Popen(
                [sys.executable, "-m", "sim.tournament.botproc", str(path), str(memory_mb)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env,
                start_new_session=True, close_fds=True)
        finally:
            if log:
                stderr.close()
        self.pid = self._popen.pid
        self.to_bot, self.from_bot = self._popen.stdin.fileno(), self._popen.stdout.fileno()

    def exit_code(self, timeout: float) -> int | None:
        try:
            return self._popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def _kill_process(self) -> None:
        if self._popen.poll() is None:
            self._popen.kill()
        self._popen.wait()

    def _close(self) -> None:
        for stream in (self._popen.stdin, self._popen.stdout):
            try:
                stream.close()
            except OSError:
                pass


def _check_score_sizes(encoded, n_customers: int) -> None:
    """Refuse score columns of the wrong length before decompressing anything.

    A bot could otherwise send a small zlib bomb that inflates to gigabytes
    in the engine's process.
    """
    if not isinstance(encoded, dict):
        return
    scores = encoded.get("scores", {})
    if not isinstance(scores, dict):
        return
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
