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
(mybot.py line 12)``.  Bots run in this process; sandboxing them in their own
processes is the tournament's job.
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
    """A bot file that cannot be loaded or played; the message names the file (and turn)."""


def _where_in_file(exc: BaseException, path: Path) -> str:
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


def _describe(exc: BaseException) -> str:
    """``KeyError: 'x'``: the exception's type and message, as Python prints them."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _import_file(path: Path, label: str) -> ModuleType:
    stem = re.sub(r"\W", "_", path.stem)
    module_name = f"_ccsim_bot_{next(_load_counter)}_{stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise BotError(f"{label}: not a Python file that can be imported")
    module = importlib.util.module_from_spec(spec)
    # Registered while it runs so that dataclasses and pickling inside the bot
    # can find their module, as for any imported file.
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(module_name, None)
        line = f"line {exc.lineno}: " if exc.lineno else ""
        raise BotError(f"{label}: {line}{type(exc).__name__}: {exc.msg}") from None
    except ImportError as exc:
        sys.modules.pop(module_name, None)
        raise BotError(f"{label}: cannot import: {_describe(exc)}{_where_in_file(exc, path)}") from None
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - any failure of user code is reported
        sys.modules.pop(module_name, None)
        raise BotError(f"{label}: loading the file raised {_describe(exc)}"
                       f"{_where_in_file(exc, path)}") from None
    return module


def load_bot(path: str | Path) -> "LoadedBot":
    """Load the ``Bot`` class of a Python file and wrap an instance as a strategy.

    Args:
        path: the bot file (``.py``).

    Returns:
        A :class:`LoadedBot`, usable wherever a built-in strategy is.

    Raises:
        BotError: as :func:`load_bot_instance`.
    """
    return LoadedBot(load_bot_instance(path), Path(path), str(path))


def load_bot_instance(path: str | Path) -> object:
    """A fresh, checked instance of the ``Bot`` class of a Python file, unwrapped.

    For callers that fence the bot themselves (the tournament's sandbox
    process); everyone else wants :func:`load_bot`.

    Args:
        path: the bot file (``.py``).

    Raises:
        BotError: the file is missing or unreadable, has a syntax error, fails
            to import something, defines no class ``Bot``, ``Bot()`` raises,
            or the instance lacks ``name``, ``reset`` or ``decide``.
    """
    from .strategies import strategy_names

    label = str(path)
    path = Path(path)
    if not path.is_file():
        raise BotError(f"{label}: no such bot file")
    module = _import_file(path, label)
    cls = getattr(module, "Bot", None)
    if not isinstance(cls, type):
        raise BotError(f"{label}: defines no class Bot (a bot file defines `class Bot` with "
                       f"name, reset(scenario, seed) and decide(observation, truth=None))")
    try:
        bot = cls()
    except (Exception, SystemExit) as exc:  # noqa: BLE001
        raise BotError(f"{label}: Bot() raised {_describe(exc)}{_where_in_file(exc, path)}") from None
    missing = [m for m in ("reset", "decide") if not callable(getattr(bot, m, None))]
    if missing:
        raise BotError(f"{label}: Bot has no method {', '.join(f'{m}()' for m in missing)}")
    name = getattr(bot, "name", None)
    if not isinstance(name, str) or not name.strip():
        raise BotError(f"{label}: Bot.name must be a non-empty string, got {name!r}")
    # The scorer plays the built-ins under their names; a bot with one of
    # those names would be mistaken for that baseline.
    if name in strategy_names():
        raise BotError(f"{label}: Bot.name {name!r} is a built-in strategy's name; choose another")
    return bot


class LoadedBot:
    """A bot from a file, adapted to the Strategy protocol and fenced.

    Exceptions from the bot's ``reset`` and ``decide`` and a ``decide`` that
    returns anything but a :class:`sim.Decision` become :class:`BotError`
    naming the file and the turn.  The truth is never passed on.

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
        at = f"turn {self.turn}: " if self.turn is not None else ""
        return BotError(f"{self.label}: {at}{problem}")

    def reset(self, scenario: Scenario, seed: int) -> None:
        """Start a new game: calls the bot's ``reset(scenario, seed)``."""
        self.turn = None
        try:
            self._bot.reset(scenario, seed)  # type: ignore[attr-defined]
        except (Exception, SystemExit) as exc:  # noqa: BLE001
            raise BotError(f"{self.label}: reset() raised {_describe(exc)}"
                           f"{_where_in_file(exc, self.path)}") from None

    def decide(self, observation: Observation, truth: object = None) -> Decision:
        """The bot's decision for ``observation.turn``; ``truth`` is ignored, never passed on."""
        self.turn = observation.turn
        try:
            decision = self._bot.decide(observation)  # type: ignore[attr-defined]
        except (Exception, SystemExit) as exc:  # noqa: BLE001
            raise self.error(f"decide() raised {_describe(exc)}{_where_in_file(exc, self.path)}") from None
        if not isinstance(decision, Decision):
            hint = " (build one with Decision.from_dict(...))" if isinstance(decision, dict) else ""
            raise self.error(f"decide() returned {type(decision).__name__}, not a sim.Decision{hint}")
        return decision


def is_bot_path(value: str) -> bool:
    """True if a ``--strategy`` value names a bot file rather than a built-in strategy."""
    return value.endswith(BOT_SUFFIX)
