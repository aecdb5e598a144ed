"""Bot files: a strategy written as a Python file, loaded by path.

A bot file defines ``class Bot`` with the Strategy protocol of
:mod:`sim.strategies.base`::

    class Bot:
        name = "my bot"                       # shown on leaderboards
        def reset(self, scenario, seed): ...  # a new game begins
        def decide(self, observation, truth=None) -> sim.Decision: ...

``Bot()`` is called with no arguments.  A bot never sees the truth: whatever
the bot says about ``sees_truth``, :class:`LoadedBot` calls
``decide(observation)`` with the observation alone.  ``decide`` must return a
:class:`sim.Decision`; a dict is refused (turn one into a decision with
``Decision.from_dict`` inside the bot), so a mistake in its keys is reported
by the bot's own code, not guessed at here.

Every problem with a bot file is a :class:`BotError` naming the file and,
during a game, the turn: ``mybot.py: turn 3: decide() raised KeyError: 'x'
(mybot.py line 12)``.

``load_bot`` runs the bot **in the calling process, unsandboxed**: the bot
can reach anything the caller can (the game's truth up the stack included).
It is for trying a bot from Python.  ``ccsim run``, class play and
tournaments never use it: they play bot files through
``sim.tournament.sandbox.SandboxedBot``, in a process of their own, which
loads the file with ``load_bot_instance`` and reports problems in the same
words.
"""

from __future__ import annotations

import importlib.util
import itertools
import re
import sys
import traceback
from pathlib import Path
from types import ModuleType

from .decisions import Decision
from .errors import SimError
from .observation import Observation
from .scenario import Scenario

#: Suffix that makes a ``--strategy`` value a bot file rather than a built-in name.
BOT_SUFFIX = ".py"

# Each load gets its own module name, so two files called bot.py (or the same
# file loaded twice) never share or replace each other's module.
_load_counter = itertools.count(1)


class BotError(SimError):
    """A bot file that cannot be loaded or played; the message names the file (and turn).

    Attributes:
        problem: the message without the file and the turn.
        turn: the turn being decided (None while loading or resetting).
    """

    def __init__(self, label: str, problem: str, turn: int | None = None):
        at = f"turn {turn}: " if turn is not None else ""
        super().__init__(f"{label}: {at}{problem}")
        self.label, self.problem, self.turn = label, problem, turn


def name_key(name: str) -> str:
    """A name as compared for confusion: case and punctuation ignored (``Customer_Centric``
    and ``customer-centric`` are the same name)."""
    return "".join(ch for ch in str(name).casefold() if ch.isalnum())


def reserved_name(name: str) -> str | None:
    """The built-in strategy ``name`` could be mistaken for, if any."""
    from .strategies import strategy_names

    return next((b for b in strategy_names() if name_key(b) == name_key(name)), None)


def where_in_file(exc: BaseException, path: Path) -> str:
    """`` (file line N)`` for the innermost traceback frame in the bot file, else ``""``."""
    target = str(path.resolve())
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        try:
            if str(Path(frame.filename).resolve()) == target:
                line = frame.lineno
        except (OSError, ValueError):
            continue
    return f" ({path.name} line {line})" if line is not None else ""


def describe(exc: BaseException) -> str:
    """``KeyError: 'x'``: the exception's type and message, as Python prints them."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _import_file(path: Path, label: str,
                 catching: tuple[type[BaseException], ...] = (Exception, SystemExit)) -> ModuleType:
    stem = re.sub(r"\W", "_", path.stem)
    module_name = f"_ccsim_bot_{next(_load_counter)}_{stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise BotError(label, "not a Python file that can be imported")
    module = importlib.util.module_from_spec(spec)
    # Registered while it runs so that dataclasses and pickling inside the bot
    # can find their module, as for any imported file.
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(module_name, None)
        line = f"line {exc.lineno}: " if exc.lineno else ""
        raise BotError(label, f"{line}{type(exc).__name__}: {exc.msg}") from None
    except ImportError as exc:
        sys.modules.pop(module_name, None)
        raise BotError(label, f"cannot import: {describe(exc)}{where_in_file(exc, path)}") from None
    except catching as exc:  # any failure of the bot's code is reported as the bot's
        sys.modules.pop(module_name, None)
        raise BotError(label, f"loading the file raised {describe(exc)}"
                       f"{where_in_file(exc, path)}") from None
    return module


#: What a bot's own code may raise and have reported as the bot's fault in
#: this process: not ``KeyboardInterrupt`` (the user's Ctrl-C is theirs).
#: The sandbox's process, which no Ctrl-C reaches, catches every
#: ``BaseException``.
IN_PROCESS = (Exception, SystemExit)


def load_bot(path: str | Path) -> "LoadedBot":
    """Load the ``Bot`` class of a Python file and wrap an instance as a strategy.

    The bot runs in this process, unsandboxed (see the module's docstring).

    Args:
        path: the bot file (``.py``).

    Returns:
        A :class:`LoadedBot`, usable wherever a built-in strategy is.

    Raises:
        BotError: as :func:`load_bot_instance`.
    """
    return LoadedBot(load_bot_instance(path), Path(path), str(path))


def load_bot_instance(path: str | Path, label: str | None = None,
                      catching: tuple[type[BaseException], ...] = IN_PROCESS) -> object:
    """A fresh, checked instance of the ``Bot`` class of a Python file, unwrapped.

    For callers that fence the bot themselves (the sandbox's process);
    everyone else wants :func:`load_bot`.

    Args:
        path: the bot file (``.py``).
        label: how messages name the file (default: ``path``).
        catching: the exceptions from the bot's code reported as its fault.

    Raises:
        BotError: the file is missing or unreadable, has a syntax error, fails
            to import something, defines no class ``Bot``, ``Bot()`` raises,
            the instance lacks ``name``, ``reset`` or ``decide``, or its
            name is a built-in strategy's (case and punctuation aside).
    """
    label = label or str(path)
    path = Path(path)
    if not path.is_file():
        raise BotError(label, "no such bot file")
    module = _import_file(path, label, catching)
    cls = getattr(module, "Bot", None)
    if not isinstance(cls, type):
        raise BotError(label, "defines no class Bot (a bot file defines `class Bot` with "
                       "name, reset(scenario, seed) and decide(observation, truth=None))")
    try:
        bot = cls()
    except catching as exc:
        raise BotError(label, f"Bot() raised {describe(exc)}{where_in_file(exc, path)}") from None
    try:
        missing = [m for m in ("reset", "decide") if not callable(getattr(bot, m, None))]
        name = getattr(bot, "name", None)
    except catching as exc:
        raise BotError(label, f"reading Bot.name raised {describe(exc)}"
                       f"{where_in_file(exc, path)}") from None
    if missing:
        raise BotError(label, f"Bot has no method {', '.join(f'{m}()' for m in missing)}")
    if not isinstance(name, str) or not name.strip():
        raise BotError(label, f"Bot.name must be a non-empty string, got {_brief(name)}")
    # The scorer plays the built-ins under their names; a bot with one of
    # those names, in any case or punctuation, would be mistaken for one.
    builtin = reserved_name(name)
    if builtin is not None:
        raise BotError(label, f"Bot.name {name[:60]!r} is the built-in strategy {builtin!r}'s "
                       "name (case and punctuation aside); choose another")
    return bot


def _brief(value: object) -> str:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a bot's own __repr__ may raise
        text = f"a {type(value).__name__}"
    return text if len(text) <= 60 else text[:57] + "..."


class LoadedBot:
    """A bot from a file, adapted to the Strategy protocol and fenced (in this process).

    Exceptions from the bot's ``reset`` and ``decide`` and a ``decide`` that
    returns anything but a :class:`sim.Decision` become :class:`BotError`
    naming the file and the turn.  The truth and the seed are never passed on.

    Attributes:
        name: the bot's own ``name``.
        sees_truth: always False.
        path: the bot file.
        turn: the turn of the latest ``decide`` call (None before the first).
    """

    sees_truth = False

    def __init__(self, bot: object, path: Path, label: str | None = None) -> None:
        self._bot = bot
        self.path = path
        self.label = label or str(path)
        self.name: str = bot.name  # type: ignore[attr-defined]
        self.turn: int | None = None

    def error(self, problem: str) -> BotError:
        """A :class:`BotError` for ``problem`` at the current turn of this bot's game."""
        return BotError(self.label, problem, self.turn)

    def reset(self, scenario: Scenario, seed: int | None = None) -> None:
        """Start a new game: calls the bot's ``reset(scenario, None)`` (a bot is never told a seed)."""
        self.turn = None
        try:
            self._bot.reset(scenario, None)  # type: ignore[attr-defined]
        except IN_PROCESS as exc:
            raise self.error(f"reset() raised {describe(exc)}{where_in_file(exc, self.path)}") from None

    def decide(self, observation: Observation, truth: object = None) -> Decision:
        """The bot's decision for ``observation.turn``; ``truth`` is ignored, never passed on."""
        self.turn = observation.turn
        try:
            decision = self._bot.decide(observation)  # type: ignore[attr-defined]
        except IN_PROCESS as exc:
            raise self.error(f"decide() raised {describe(exc)}{where_in_file(exc, self.path)}") from None
        if not isinstance(decision, Decision):
            hint = " (build one with Decision.from_dict(...))" if isinstance(decision, dict) else ""
            raise self.error(f"decide() returned {type(decision).__name__}, not a sim.Decision{hint}")
        return decision


def is_bot_path(value: str) -> bool:
    """True if a ``--strategy`` value names a bot file rather than a built-in strategy."""
    return value.endswith(BOT_SUFFIX)
