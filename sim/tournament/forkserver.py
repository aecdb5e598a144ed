"""The fork server: a clean process that has imported what every bot imports, and forks bots.

Starting Python and importing numpy, scipy and ``sim`` takes a second or
two; forking a process that has already done so takes milliseconds.  So
each engine process starts one fork server (``python -m
sim.tournament.forkserver``) the first time it needs a bot, and asks it for
every bot after that.  The server holds no game: it never sees a seed, a
key or the truth, so forking it gives a bot nothing the bot should not
have.

The server is a child subreaper: a process left over from a finished bot
(a daemon that started its own session, a double fork) is adopted by the
server rather than by ``init``, and the server kills every child that is
not a running bot (``_sweep``).  It ends when the engine does (end of file
on its socket), killing every bot.

Protocol, over a ``SOCK_SEQPACKET`` socket pair: the engine sends a JSON
header with four file descriptors (the bot's end of the two pipes, the write
end of an exit-status pipe, and the bot's log or -1); the server forks, the
child becomes the bot's process (``sim.tournament.botproc.forked``), and the
server answers with the child's pid.  When the child exits the server writes
its exit status (a signed 32-bit integer) to the status pipe.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

from .._blas_threads import default_one_thread
from . import containment

#: Modules imported by the server before it forks any bot: what bots import.
PRELOAD = ("numpy", "scipy", "scipy.special", "scipy.stats", "scipy.optimize", "sim",
           "sim.strategies", "sim.analytics", "sim.analytics.clv", "sim.tournament.botproc")
#: Environment variables never passed to the server (and so to bots).
PRIVATE_ENV = ("CCSIM_TOURNAMENT_KEY",)
#: After a bot ends, how long the server keeps sweeping for leftovers, seconds.
SWEEP_AFTER_SECONDS = 5.0
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
_STATUS = struct.Struct(">i")
_PID = struct.Struct(">q")


class ForkServerError(OSError):
    """The fork server could not be started or did not answer."""


# ------------------------------------------------------------------ engine side
class ForkServer:
    """The engine's handle on its fork server (one per process, started on first use)."""

    _instance: "ForkServer | None" = None
    _instance_lock = threading.Lock()

    def __init__(self) -> None:
        self._lock = threading.Lock()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {k: v for k, v in os.environ.items() if k not in PRIVATE_ENV}
        env["PYTHONPATH"] = os.pathsep.join(
            [_PACKAGE_ROOT] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
        # One BLAS thread: predictable address space under RLIMIT_AS, one core per bot.
        default_one_thread(env)
        try:
            self._popen = subprocess.Popen(
                [sys.executable, "-m", "sim.tournament.forkserver", str(theirs.fileno())],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                env=env, close_fds=True)
        finally:
            theirs.close()
        self._socket = ours
        self.pid = self._popen.pid
        self._owner = os.getpid()

    @classmethod
    def get(cls) -> "ForkServer":
        """This process's fork server, started (or restarted) if need be."""
        with cls._instance_lock:
            server = cls._instance
            if server is None or server._owner != os.getpid() or server._popen.poll() is not None:
                server = cls._instance = cls()
            return server

    def start_bot(self, header: dict, fds: list[int], timeout: float) -> int:
        """Fork a bot's process with ``header`` and the four ``fds``; its pid.

        Raises:
            ForkServerError: the server is gone or did not answer within ``timeout``.
        """
        with self._lock:
            try:
                self._socket.settimeout(timeout)
                socket.send_fds(self._socket, [json.dumps(header).encode()], fds)
                reply = self._socket.recv(64)
            except OSError as exc:
                raise ForkServerError(f"the fork server did not answer ({exc})") from None
        if len(reply) != _PID.size:
            raise ForkServerError("the fork server did not answer (it is gone)")
        return _PID.unpack(reply)[0]

    def close(self) -> None:
        """Stop the server (its bots die with it)."""
        self._socket.close()
        try:
            self._popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._popen.kill()
            self._popen.wait()


def read_status(fd: int, timeout: float) -> int | None:
    """The exit status written to a status pipe (negative: killed by that signal), or None."""
    if not select.select([fd], [], [], timeout)[0]:
        return None
    data = os.read(fd, _STATUS.size)
    return _STATUS.unpack(data)[0] if len(data) == _STATUS.size else None


# ------------------------------------------------------------------ server side
def main(argv: list[str]) -> int:
    """Run the fork server on the socket whose descriptor is ``argv[0]``."""
    sock = socket.socket(fileno=int(argv[0]))
    # No PR_SET_PDEATHSIG here: it follows the *thread* that started the
    # server, which may end long before the engine does.  The engine's end
    # closes the socket instead, and the server then kills every bot.
    containment.become_subreaper()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the engine's to handle
    for name in PRELOAD:
        try:
            __import__(name)
        except ImportError:
            pass
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    running: dict[int, int] = {}  # bot pid -> its status pipe
    sweep_until = 0.0
    while True:
        wait = 0.25 if time.monotonic() < sweep_until else None
        readable = select.select([sock, wake_r], [], [], wait)[0]
        if wake_r in readable:
            while True:
                try:
                    if not os.read(wake_r, 4096):
                        break
                except BlockingIOError:
                    break
        if _reap(running):
            sweep_until = time.monotonic() + SWEEP_AFTER_SECONDS
        if sock in readable:
            try:
                message, fds, _, _ = socket.recv_fds(sock, 1 << 16, 4)
            except OSError:
                message, fds = b"", []
            if not message:
                _shutdown(running)
                return 0
            pid = os.fork()
            if pid == 0:
                _child(sock, wake_r, wake_w, running, json.loads(message), fds)
            for fd in fds[:2] + fds[3:]:
                if fd >= 0:
                    os.close(fd)
            running[pid] = fds[2]
            sock.send(_PID.pack(pid))
        if time.monotonic() < sweep_until and _sweep(running):
            sweep_until = time.monotonic() + SWEEP_AFTER_SECONDS


def _child(sock, wake_r, wake_w, running, header: dict, fds: list[int]) -> None:
    """In the forked child: drop the server's descriptors and become the bot's process."""
    code = 1
    try:
        sock.close()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        for fd in [wake_r, wake_w, fds[2]] + list(running.values()):
            os.close(fd)
        from .botproc import forked

        code = forked(fds[0], fds[1], fds[3], header)
    finally:
        os._exit(code)


def _reap(running: dict[int, int]) -> bool:
    """Collect exited children; tell the engine how its bots ended.  True if a bot ended."""
    ended = False
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return ended
        if pid == 0:
            return ended
        fd = running.pop(pid, None)
        if fd is not None:
            ended = True
            try:
                os.write(fd, _STATUS.pack(os.waitstatus_to_exitcode(status)))
            except OSError:
                pass
            os.close(fd)


def _sweep(running: dict[int, int]) -> bool:
    """Kill every child that is not a running bot (leftovers of finished bots).  True if any."""
    strays = [pid for pid in containment.children_of(os.getpid()) if pid not in running]
    for pid in strays:
        containment.kill_tree(pid)
    return bool(strays)


def _shutdown(running: dict[int, int]) -> None:
    for pid in list(running) + containment.children_of(os.getpid()):
        containment.kill_tree(pid)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
