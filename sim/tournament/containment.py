"""Keeping a bot's processes in a box: the process tree, its limits, its end.

A bot runs with its user's rights, so nothing here stops it from reading
that user's files.  What this module does, on Linux, is make sure that
whatever processes a bot starts are found, measured and killed:

* **Its own pid namespace** where the kernel allows one (as root, or with
  unprivileged user namespaces): the bot's process is the namespace's
  ``init``, and when it dies the kernel kills every process in the
  namespace, whatever they did (a new session, a double fork).
* **Child subreapers** otherwise: the bot's process and the fork server
  adopt their orphaned descendants (``PR_SET_CHILD_SUBREAPER``), so a
  double-forked daemon stays in the tree, where ``kill_tree`` finds it by
  walking ``/proc`` and the fork server kills any process left over from a
  finished bot.
* **Limits on the whole tree**: a ``Watchdog`` thread in the engine sums the
  proportional set size (PSS) and counts the processes of the tree every
  ``POLL_SECONDS`` and kills the tree past the limits; each process also has
  an address-space cap (``RLIMIT_AS``) and, for users other than root,
  ``RLIMIT_NPROC`` (the user's processes now plus the bot's allowance).
* **The scorer out of reach**: ``hardened`` makes the engine's process
  non-dumpable, so processes of the same user (a bot) cannot attach to it
  or read its memory through ``/proc/PID/mem`` (root still can).

On macOS and other systems without ``/proc`` only the per-process limits
and the process group hold; Windows cannot run sandboxed bots at all.  The
README's threat model lists what each platform enforces.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from typing import Callable, Iterator

#: How often the watchdog measures a bot's process tree, seconds.
POLL_SECONDS = 0.1
#: Processes a bot may run at once (its own included) unless told otherwise.
MAX_PROCESSES = 16

_LINUX = sys.platform.startswith("linux")
_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_PR_GET_DUMPABLE = 3
_PR_SET_CHILD_SUBREAPER = 36
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWPID = 0x20000000


def _libc():
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def _prctl(option: int, value: int) -> bool:
    libc = _libc()
    if not _LINUX or libc is None:
        return False
    return libc.prctl(option, value, 0, 0, 0) == 0


# ------------------------------------------------------------------ the engine's process
@contextlib.contextmanager
def hardened() -> Iterator[None]:
    """Make this process non-dumpable for the duration (Linux; elsewhere nothing).

    Processes of the same user (a bot, and anything it starts) can then
    neither ``ptrace`` this process nor read or write its memory through
    ``/proc/PID/mem``; its ``/proc`` entries other than ``stat``-like ones
    become unreadable to them.  Root keeps those powers.
    """
    libc = _libc()
    before = libc.prctl(_PR_GET_DUMPABLE, 0, 0, 0, 0) if _LINUX and libc is not None else None
    changed = before not in (None, 0) and _prctl(_PR_SET_DUMPABLE, 0)
    try:
        yield
    finally:
        if changed:
            _prctl(_PR_SET_DUMPABLE, before)


# ------------------------------------------------------------------ a bot's process
def become_subreaper() -> bool:
    """Adopt orphaned descendants instead of letting them go to ``init`` (Linux)."""
    return _prctl(_PR_SET_CHILD_SUBREAPER, 1)


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (nothing elsewhere)."""
    parent = os.getppid()
    if _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) and os.getppid() != parent:
        os._exit(1)  # the parent died before the request took effect


def enter_pid_namespace() -> bool:
    """Make this process's next child the ``init`` of a new pid namespace, if allowed.

    Tries a plain new pid namespace (needs ``CAP_SYS_ADMIN``, e.g. root),
    then one inside a new user namespace that maps this user to itself
    (unprivileged user namespaces).  Must be called single-threaded.

    Returns:
        True when the next ``fork`` starts a namespace of its own.
    """
    libc = _libc()
    if not _LINUX or libc is None:
        return False
    if libc.unshare(_CLONE_NEWPID) == 0:
        return True
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(_CLONE_NEWUSER | _CLONE_NEWPID) != 0:
        return False
    try:
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                           ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
    except OSError:
        pass  # unmapped ids still run; files the bot creates may fail
    return True


def limit_process_count(allowed: int) -> None:
    """``RLIMIT_NPROC``: this user's processes now plus ``allowed`` (no effect on root).

    The kernel counts every process of the user, so the cap is relative to
    how many the user runs when the bot starts.  Linux only (it needs
    ``/proc`` to count them).
    """
    if not _LINUX or os.geteuid() == 0:
        return
    import resource

    uid = os.getuid()
    mine = 0
    for entry in _proc_entries():
        try:
            if os.stat(f"/proc/{entry}").st_uid == uid:
                mine += 1
        except OSError:
            continue
    limit = mine + allowed
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit))


# ------------------------------------------------------------------ the tree
def _proc_entries() -> list[str]:
    try:
        return [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return []


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process (from ``/proc/PID/stat``)."""
    out = {}
    for entry in _proc_entries():
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                text = f.read()
        except OSError:
            continue
        tail = text[text.rfind(b")") + 2:].split()
        if len(tail) > 1:
            out[int(entry)] = int(tail[1])
    return out


def descendants(pid: int) -> list[int]:
    """Every living descendant of ``pid`` (not ``pid`` itself), parents before children."""
    if not _LINUX:
        return []
    children: dict[int, list[int]] = {}
    for child, parent in _parents().items():
        children.setdefault(parent, []).append(child)
    out, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), ()):
            out.append(child)
            queue.append(child)
    return out


def children_of(pid: int) -> list[int]:
    """The living children of ``pid``."""
    return [child for child, parent in _parents().items() if parent == pid] if _LINUX else []


def kill_tree(pid: int, include_root: bool = True, rounds: int = 50) -> None:
    """SIGKILL every descendant of ``pid`` (and ``pid``), until none is left.

    The root is stopped first (a stopped process starts nothing) and
    killed last: while it lives it adopts its descendants' orphans, so they
    stay findable.  The walk repeats until nothing is left (a fork bomb's
    newest children are found on the next round).
    """
    if include_root:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGSTOP)
    for _ in range(rounds):
        found = descendants(pid)
        if not found:
            break
        for child in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(child, signal.SIGKILL)
        time.sleep(0.001)
    if include_root:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _memory_bytes(pid: int) -> int:
    """The process's proportional set size (its share of shared pages), else its RSS."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def tree_usage(pid: int, skip: int | None = None) -> tuple[int, int]:
    """(processes, bytes of memory) of ``pid`` and its descendants; ``skip`` is not counted."""
    pids = [p for p in [pid] + descendants(pid) if p != skip]
    return len(pids), sum(_memory_bytes(p) for p in pids)


class Watchdog:
    """Measures a bot's process tree and kills it past its limits (Linux).

    Args:
        pid: the root of the bot's tree.
        memory_bytes: most memory (PSS) of the whole tree (0: no limit).
        max_processes: most processes in the tree at once.
        on_kill: called with the reason before the tree is killed.
        skip: a process of the tree not counted (the bot's keeper).
    """

    def __init__(self, pid: int, memory_bytes: int, max_processes: int,
                 on_kill: Callable[[str], None], skip: int | None = None):
        self.pid, self.memory_bytes, self.max_processes = pid, memory_bytes, max_processes
        self.on_kill, self.skip = on_kill, skip
        self.peak_bytes = 0
        self.peak_processes = 0
        self._stop = threading.Event()
        self._thread = None
        if _LINUX:
            self._thread = threading.Thread(target=self._run, name=f"watchdog {pid}", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            count, used = tree_usage(self.pid, self.skip)
            if count == 0:
                return
            self.peak_bytes = max(self.peak_bytes, used)
            self.peak_processes = max(self.peak_processes, count)
            reason = None
            if count > self.max_processes:
                reason = (f"too many processes: {count} running, at most "
                          f"{self.max_processes}")
            elif self.memory_bytes and used > self.memory_bytes:
                reason = (f"out of memory: its processes used {used / 2**20:,.0f} MB, "
                          f"over the {self.memory_bytes / 2**20:,.0f} MB limit")
            if reason:
                self.on_kill(reason)
                kill_tree(self.pid)
                return

    def stop(self) -> None:
        """Stop measuring (the tree is being killed anyway)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)


def enforced() -> dict[str, bool]:
    """What this platform enforces on a bot's processes (for messages and tests)."""
    return {"process_tree": _LINUX and os.path.isdir("/proc"),
            "tree_limits": _LINUX and os.path.isdir("/proc"),
            "process_count_rlimit": _LINUX and os.geteuid() != 0,
            "non_dumpable_engine": _LINUX,
            "address_space": sys.platform != "win32"}
