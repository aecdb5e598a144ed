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
import json
import os
import pickle
import signal
import subprocess
import sys
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
        self._process: subprocess.Popen | None = None
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
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([_PACKAGE_ROOT] + [p for p in
                                             env.get("PYTHONPATH", "").split(os.pathsep) if p])
        stderr = open(self.log, "ab") if self.log else subprocess.DEVNULL
        try:
            # A session of its own: on failure the whole process group is
            # killed, so whatever the bot started dies with it.
            self._process = subprocess.Popen(
                [sys.executable, "-m", "sim.tournament.botproc", str(self.path.resolve()),
                 str(self.memory_mb)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env,
                start_new_session=True, close_fds=True)
        finally:
            if self.log:
                stderr.close()
        columns = scenario.warmup_turns + scenario.turns
        start = {"scenario": scenario, "seed": int(seed), "columns": columns}
        reply = self._exchange(pickle.dumps(start, protocol=pickle.HIGHEST_PROTOCOL),
                               self.setup_seconds)
        if "ready" not in reply:
            self._fail_unexpected(reply)
        self.bot_name = str(reply["ready"])

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
        if p is None:
            return
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                p.kill()
        for stream in (p.stdin, p.stdout):
            try:
                stream.close()
            except OSError:
                pass
        p.wait()

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
            write_message(p.stdin.fileno(), message, deadline)
            raw = read_message(p.stdout.fileno(), deadline, MAX_REPLY_BYTES)
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
        p = self._process
        try:
            code = p.wait(timeout=2)
        except subprocess.TimeoutExpired:
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
        kind = str(reply.get("error", "invalid decision"))
        detail = str(reply.get("detail", "")) or "an unexpected reply"
        if kind == "no bot":
            self._fail(detail)
        self._fail(f"{kind}: {detail}")

    def _fail(self, reason: str) -> None:
        self.close()
        raise BotFailure(reason, self.turn)


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
