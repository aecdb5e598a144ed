"""The bot's side of the sandbox: the process a bot runs in.

Forked by the fork server (``forked``, see ``sim.tournament.forkserver``) or
started as ``python -m sim.tournament.botproc HEADER_JSON`` (``main``) where
no fork server can be used (in a daemonic process such as a Dask worker's).

This process holds no engine, no seed and no truth: it receives the public
scenario and, each turn, an observation delta (``sim.tournament.protocol``),
and answers with the decision as JSON.  Before the bot file is imported it
is boxed in (``sim.tournament.containment``): a session of its own, a pid
namespace where the kernel allows one (else a child subreaper), an
address-space cap, a cap on the size of files it writes and, for users other
than root, on its processes.  The bot's prints go to its log (or nowhere),
never to the engine's pipes or output.

Replies: ``{"ready": name}``, ``{"decision": encoded}``, or ``{"error": kind,
"turn": turn, "detail": text, "trace": traceback}`` with kind ``bot`` (the
bot's mistake, in the words of ``sim.bots``) or ``out of memory``.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path

# Single-threaded maths: predictable memory (a BLAS thread pool reserves
# address space per thread) and one core per sandbox.  Must precede numpy.
from .. import _blas_threads  # noqa: E402,F401  (sets the variables on import)
from .. import bots  # noqa: E402
from ..decisions import Decision, Tier  # noqa: E402
from ..records import encode_decision  # noqa: E402
from ..score_columns import essential_scores  # noqa: E402
from . import containment  # noqa: E402
from .protocol import ChannelClosed, ObservationMirror, read_message, write_message  # noqa: E402

#: Largest file a bot's process may write, bytes (its log included).
MAX_FILE_BYTES = 64 * 1024 * 1024
#: Most of a traceback sent back to the engine, characters (the end: where the bot failed).
MAX_TRACE_CHARS = 20_000


class BotMistake(Exception):
    """What the bot did wrong, in one line (the sandbox adds the file and the turn)."""


def plain_decision(decision, observation) -> dict:
    """The decision ``decide`` returned as JSON-ready data, or ``BotMistake`` saying why not.

    Checks what the engine would otherwise trip over in Python's own words
    (``Decision(None)``, ``tiers=None``, tiers as a generator, a tier that is
    not a ``Tier``, ``scores=None``); the engine then checks the data itself
    (names, numbers, rules, budget) when it decodes and plays it.
    """
    if not isinstance(decision, Decision):
        hint = " (build one with Decision.from_dict(...))" if isinstance(decision, dict) else ""
        raise BotMistake(f"decide() returned {type(decision).__name__}, not a sim.Decision{hint}")
    if not isinstance(decision.acquisition, Mapping):
        raise BotMistake(f"decide() returned a Decision whose acquisition is "
                         f"{type(decision.acquisition).__name__}, not a mapping of channel names "
                         "to dollars (Decision(acquisition, tiers, scores))")
    if not isinstance(decision.tiers, (tuple, list)):
        raise BotMistake(f"decide() returned a Decision whose tiers are "
                         f"{type(decision.tiers).__name__}, not a tuple of sim.Tier")
    for i, tier in enumerate(decision.tiers):
        if not isinstance(tier, Tier):
            raise BotMistake(f"decide() returned a Decision whose tiers[{i}] is "
                             f"{type(tier).__name__}, not a sim.Tier")
    if not isinstance(decision.scores, Mapping):
        raise BotMistake(f"decide() returned a Decision whose scores are "
                         f"{type(decision.scores).__name__}, not a mapping of names to columns")
    decision = Decision(dict(decision.acquisition), tuple(decision.tiers), dict(decision.scores))
    try:
        decision = essential_scores(decision, observation.n_customers, set(observation.columns))
        encoded = encode_decision(decision)
        # The reply must be plain JSON: numpy integers, sets, objects in a rule are refused here.
        json.dumps(encoded, allow_nan=True)
    except (TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise BotMistake(f"decide() returned a Decision that is not plain data: "
                         f"{bots.describe(exc)}") from None
    return encoded


def _limit_resources(memory_mb: int, max_processes: int) -> None:
    """Cap the address space (``memory_mb``, 0 for none), the files written, the processes.

    The file cap keeps a bot printing in a loop from filling the disk with
    its log (past it the kernel stops the process with SIGXFSZ).
    """
    import resource

    if memory_mb > 0:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
    containment.limit_process_count(max_processes)


def _box(header: dict) -> int | None:
    """Box this process in before any bot code runs.

    Returns None in the process that goes on to run the bot, or the exit
    status for a keeper whose bot (the init of a new pid namespace) ended.
    """
    containment.die_with_parent()
    if header.get("pid_namespace", True) and containment.enter_pid_namespace():
        child = os.fork()
        if child:
            # The keeper: waits, and reports the bot's end as its own.
            _, status = os.waitpid(child, 0)
            code = os.waitstatus_to_exitcode(status)
            if code < 0:
                signal.signal(-code, signal.SIG_DFL)
                os.kill(os.getpid(), -code)
            return max(code, 0)
        containment.die_with_parent()  # the namespace dies with its keeper
    else:
        containment.become_subreaper()
    _limit_resources(int(header.get("memory_mb", 0)),
                     int(header.get("max_processes", containment.MAX_PROCESSES)))
    return None


def forked(inbox: int, outbox: int, log: int, header: dict) -> int:
    """Entry point in a child of the fork server; returns the exit status.

    The fork server imported what bots import and nothing of any game, so
    this starts in milliseconds and holds no engine state.
    """
    os.setsid()  # a session of its own: no Ctrl-C from the terminal, one group to kill
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    kept = _box(header)
    if kept is not None:
        return kept
    return serve(inbox, outbox, header)


def main(argv: list[str]) -> int:
    """Entry point as a subprocess: ``HEADER_JSON``; the engine talks on stdin/stdout."""
    header = json.loads(argv[0])
    # The conversation uses private copies of stdin and stdout; the bot's own
    # prints go to stderr (the log) and it reads nothing.
    inbox, outbox = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    kept = _box(header)
    if kept is not None:
        return kept
    return serve(inbox, outbox, header)


def serve(inbox: int, outbox: int, header: dict) -> int:
    """Load the bot and answer the engine until it closes the pipe; the exit status."""
    bot_path = Path(header["bot"])
    label = str(header.get("label") or bot_path)
    turn = None

    def reply(message: dict) -> None:
        write_message(outbox, json.dumps(message, allow_nan=True).encode())

    def fail(kind: str, detail: str, exc: BaseException | None = None) -> int:
        # The traceback travels in the reply, not through the bot's output:
        # where it is shown (a tournament's log, not ``ccsim run``'s stderr)
        # is the engine's choice.
        trace = ""
        if exc is not None:
            try:
                trace = "".join(traceback.format_exception(exc))[-MAX_TRACE_CHARS:]
            except BaseException:  # a bot's exception whose __str__ raises
                trace = ""
        try:
            reply({"error": kind, "turn": turn, "detail": detail, "trace": trace})
        except (ChannelClosed, MemoryError, OSError):
            pass
        return 1

    memory_mb = int(header.get("memory_mb", 0))
    # The bot's folder (a copy) comes first on the path: modules beside it import.
    sys.path.insert(0, str(bot_path.parent))
    try:
        start = pickle.loads(read_message(inbox))
        bot = bots.load_bot_instance(bot_path, label, catching=BaseException)
        try:
            bot.reset(start["scenario"], None)  # a bot is never told the seed
        except BaseException as exc:
            return fail("bot", f"reset() raised {bots.describe(exc)}"
                        f"{bots.where_in_file(exc, bot_path)}", exc)
        reply({"ready": str(bot.name)})
    except ChannelClosed:
        return 0
    except MemoryError as exc:
        return fail("out of memory", f"over the {memory_mb} MB limit while starting", exc)
    except bots.BotError as exc:
        return fail("bot", exc.problem)

    mirror = ObservationMirror(start["scenario"], start["columns"])
    while True:
        try:
            message = read_message(inbox)
        except ChannelClosed:
            return 0
        observation = mirror.apply(pickle.loads(message))
        turn = observation.turn
        try:
            decision = bot.decide(observation)
        except MemoryError as exc:
            return fail("out of memory", f"over the {memory_mb} MB limit", exc)
        except BaseException as exc:
            return fail("bot", f"decide() raised {bots.describe(exc)}"
                        f"{bots.where_in_file(exc, bot_path)}", exc)
        try:
            encoded = plain_decision(decision, observation)
        except BotMistake as exc:
            return fail("bot", str(exc))
        except BaseException as exc:  # the bot's own objects (a __len__, __iter__) raised
            return fail("bot", f"decide() returned a Decision that raised "
                        f"{bots.describe(exc)} when read", exc)
        reply({"decision": encoded})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
