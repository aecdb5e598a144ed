"""The bot's side of the sandbox: the process a bot runs in.

Started as a child of a fork server (``forked``) or as ``python -m
sim.tournament.botproc BOT.py MEMORY_MB`` (``main``) where a fork server
cannot be used (in a daemonic process such as a Dask worker's).

This process holds no engine and no truth: it receives the public scenario,
the seed and, each turn, an observation delta (``sim.tournament.protocol``),
and answers with the decision as JSON.  Its address space is capped
(``RLIMIT_AS``) before the bot file is imported, and the bot's prints go to
stderr so they cannot corrupt the conversation on the engine's pipes.

Replies: ``{"ready": name}``, ``{"decision": encoded}``, or ``{"error":
kind, "detail": text}`` with kind one of ``crashed``, ``out of memory``,
``invalid decision``, ``no bot``.
"""

from __future__ import annotations

import json
import os
import pickle
import sys
import traceback
from pathlib import Path

# Single-threaded maths: predictable memory (a BLAS thread pool reserves
# address space per thread) and one core per sandbox.  Must precede numpy.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from ..decisions import Decision  # noqa: E402
from ..records import encode_decision  # noqa: E402
from ..score_columns import essential_scores  # noqa: E402
from .protocol import ChannelClosed, ObservationMirror, read_message, write_message  # noqa: E402


#: Largest file a bot's process may write, bytes (its log included).
MAX_FILE_BYTES = 64 * 1024 * 1024


class BotLoadError(Exception):
    """The bot file cannot be loaded; the message says why in one line."""


def load_bot_class(path: str | Path):
    """A fresh instance of ``class Bot`` from the file at ``path`` (``sim.bots``' contract).

    The file defines ``class Bot`` with ``name``, ``reset(scenario, seed)``
    and ``decide(observation, truth=None) -> Decision``.

    Raises:
        BotLoadError: the file is missing, does not import, or has no
            usable ``Bot`` (the message names the file).
    """
    from ..bots import BotError, load_bot_instance

    try:
        return load_bot_instance(path)
    except BotError as exc:
        raise BotLoadError(str(exc)) from None


def _one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _limit_resources(megabytes: int) -> None:
    """Cap the address space (``megabytes``, 0 for none) and the size of any file written.

    The file cap keeps a bot printing in a loop from filling the disk with
    its log (past it the kernel stops the process with SIGXFSZ).
    """
    import resource

    if megabytes > 0:
        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))


def _die_with_parent() -> None:
    """Ask Linux to kill this process when the engine's process dies.

    Otherwise a bot stuck in a loop outlives an interrupted tournament.
    Elsewhere the closed pipe ends a waiting bot; a looping one is killed
    by the engine's timeout as long as the engine lives.
    """
    parent = os.getppid()
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def main(argv: list[str]) -> int:
    """Entry point as a subprocess: ``BOT.py MEMORY_MB``; the engine talks on stdin/stdout."""
    bot_path, memory_mb = argv[0], int(argv[1])
    if sys.platform.startswith("linux"):
        _die_with_parent()
    # The conversation uses private copies of stdin and stdout; the bot's own
    # prints go to stderr and it reads nothing.
    inbox, outbox = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    return serve(inbox, outbox, bot_path, memory_mb)


def forked(inbox, outbox, bot_path: str, memory_mb: int, log: str | None) -> None:
    """Entry point as a child of the fork server (``multiprocessing`` Connections as pipes).

    The fork server imported this module and nothing of any game, so the
    child starts in milliseconds and holds no engine state.
    """
    os.setsid()  # a process group of its own: the engine kills it and its children at once
    if sys.platform.startswith("linux"):
        _die_with_parent()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    sink = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644) if log else \
        os.open(os.devnull, os.O_WRONLY)
    os.dup2(sink, 1)
    os.dup2(sink, 2)
    sys.exit(serve(inbox.fileno(), outbox.fileno(), bot_path, memory_mb))


def serve(inbox: int, outbox: int, bot_path: str, memory_mb: int) -> int:
    """Load the bot and answer the engine until it closes the pipe; the exit status."""

    def reply(message: dict) -> None:
        write_message(outbox, json.dumps(message, allow_nan=True).encode())

    def fail(kind: str, exc: BaseException | None = None, detail: str = "") -> int:
        if exc is not None:
            try:
                traceback.print_exception(exc, file=sys.stderr)
            except OSError:  # the log is full (MAX_FILE_BYTES) or gone
                pass
            detail = detail or _one_line(exc)
        try:
            reply({"error": kind, "detail": detail})
        except (ChannelClosed, MemoryError):
            pass
        return 1

    _limit_resources(memory_mb)
    try:
        start = pickle.loads(read_message(inbox))
        bot = load_bot_class(bot_path)
        bot.reset(start["scenario"], start["seed"])
        reply({"ready": str(getattr(bot, "name", Path(bot_path).stem))})
    except ChannelClosed:
        return 0
    except MemoryError as exc:
        return fail("out of memory", exc, f"over the {memory_mb} MB limit while starting")
    except BotLoadError as exc:
        return fail("no bot", detail=str(exc))
    except BaseException as exc:
        return fail("crashed", exc)

    mirror = ObservationMirror(start["scenario"], start["columns"])
    while True:
        try:
            message = read_message(inbox)
        except ChannelClosed:
            return 0
        try:
            observation = mirror.apply(pickle.loads(message))
            decision = bot.decide(observation, None)
            if not isinstance(decision, Decision):
                return fail("invalid decision",
                            detail=f"decide() returned {type(decision).__name__}, not a Decision")
            decision = essential_scores(decision, observation.n_customers, set(observation.columns))
            encoded = encode_decision(decision)
        except MemoryError:
            return fail("out of memory", detail=f"over the {memory_mb} MB limit")
        except BaseException as exc:
            return fail("crashed", exc)
        try:
            reply({"decision": encoded})
        except ValueError as exc:  # e.g. an un-JSON-able value in a rule
            return fail("invalid decision", detail=_one_line(exc))
        except TypeError as exc:
            return fail("invalid decision", detail=f"not plain data: {_one_line(exc)}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
