"""Run one hostile input under a memory limit and a time limit, in a forked child.

A hostile-input test that regresses must fail, not take the machine down:
each case runs in a child forked from the test process (so nothing is
imported again: a case costs milliseconds), with ``RLIMIT_AS`` capped at the
child's size plus a budget and an alarm that kills it after a time limit.
The child's stdout and stderr go to files the parent reads back.
"""

from __future__ import annotations

import io
import os
import resource
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable

#: Memory a case may use beyond what the test process already maps.
MEMORY_BUDGET = 1536 * 1024 * 1024
#: Seconds a case may run.
SECONDS = 60
#: Exit statuses the child uses for what is not the function's own status.
TRACEBACK_STATUS = 71
MEMORY_STATUS = 72


@dataclass(frozen=True)
class Outcome:
    """How a case ended.

    Attributes:
        status: the exit status (the function's return value), or None if killed.
        out: what it printed on stdout.
        err: what it printed on stderr.
        ended: "exit", "timeout" (the alarm), "memory" (MemoryError escaped) or
            "killed by signal N".
        seconds: wall time.
    """

    status: int | None
    out: str
    err: str
    ended: str
    seconds: float

    def describe(self) -> str:
        return (f"ended: {self.ended}, status {self.status}, {self.seconds:.1f} s\n"
                f"stdout: {self.out[-2000:]!r}\nstderr: {self.err[-2000:]!r}")


def _mapped_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _child(function: Callable[..., Any], args: tuple, out, err, memory: int,
           seconds: int) -> None:
    status = TRACEBACK_STATUS
    try:
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8",
                                      write_through=True)
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8",
                                      write_through=True)
        sys.stdin = io.TextIOWrapper(io.FileIO(os.open(os.devnull, os.O_RDONLY), "r"))
        limit = _mapped_bytes() + memory
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.alarm(seconds)
        result = function(*args)
        status = result if isinstance(result, int) else 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except MemoryError:
        status = MEMORY_STATUS
    except BaseException:  # noqa: BLE001 - reported to the parent as a traceback
        traceback.print_exc()
        status = TRACEBACK_STATUS
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(status & 0xFF)


def run_limited(function: Callable[..., Any], *args: Any, memory: int = MEMORY_BUDGET,
                seconds: int = SECONDS) -> Outcome:
    """``function(*args)`` in a forked child under the limits; its exit status is the return value."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            _child(function, args, out, err, memory, seconds)
        deadline = started + seconds + 15
        while True:
            done, wait_status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                _, wait_status = os.waitpid(pid, 0)
                break
            time.sleep(0.01)
        elapsed = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    if os.WIFSIGNALED(wait_status):
        number = os.WTERMSIG(wait_status)
        ended = "timeout" if number == signal.SIGALRM else f"killed by signal {number}"
        return Outcome(None, stdout, stderr, ended, elapsed)
    status = os.WEXITSTATUS(wait_status)
    ended = {MEMORY_STATUS: "memory", TRACEBACK_STATUS: "traceback"}.get(status, "exit")
    return Outcome(status, stdout, stderr, ended, elapsed)


def _cli(argv: list[str]) -> int:
    from sim.cli import main

    return main(argv)


def run_cli_limited(*argv: Any, memory: int = MEMORY_BUDGET, seconds: int = SECONDS) -> Outcome:
    """``ccsim argv`` (``sim.cli.main``) under the limits."""
    return run_limited(_cli, [str(arg) for arg in argv], memory=memory, seconds=seconds)
