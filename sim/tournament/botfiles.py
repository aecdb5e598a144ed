"""A bot file and what sits beside it, packed so it plays the same anywhere.

A bot may import a module from its own folder (``import helpers``) or read
a file there.  So a bot is played from a copy of its folder: the regular
files at its top level and the Python packages (folders with an
``__init__.py``) in it, without hidden entries or ``__pycache__``.  The copy
is made once, when the bot is entered, so a file edited during a tournament
does not change a game already planned, and the same bytes travel to a
worker on another machine.  A folder larger than ``MAX_FOLDER_BYTES`` or
with more than ``MAX_FOLDER_FILES`` files is refused up front, with the
reason, rather than copied.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..bots import BotError

#: Largest folder (the files copied with a bot), bytes.
MAX_FOLDER_BYTES = 4 * 1024 * 1024
#: Most files copied with a bot.
MAX_FOLDER_FILES = 256


@dataclass(frozen=True)
class BotFiles:
    """A bot file and the files copied with it.

    Attributes:
        entry: the bot file's name within the folder.
        label: how messages name the bot (the path the user gave).
        files: relative path (``/``-separated) -> content.
    """

    entry: str
    label: str
    files: dict[str, bytes] = field(repr=False)

    @property
    def digest(self) -> str:
        """SHA-256 of every file's path and content: changes when any file does."""
        h = hashlib.sha256()
        for name in sorted(self.files):
            h.update(name.encode() + b"\0" + hashlib.sha256(self.files[name]).digest())
        return h.hexdigest()

    def write(self, folder: str | Path) -> Path:
        """Copy the files into ``folder``; the bot file's path there."""
        folder = Path(folder)
        for name, content in self.files.items():
            target = folder.joinpath(*name.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        return folder / self.entry


def pack(path: str | Path) -> BotFiles:
    """The bot file at ``path`` with its folder's files.

    Raises:
        BotError: no such file, or a folder too large to copy (naming the limit).
    """
    label = str(path)
    path = Path(path)
    if not path.is_file():
        raise BotError(label, "no such bot file")
    folder = path.resolve().parent
    files: dict[str, bytes] = {}
    total = 0
    for relative, full in _candidates(folder):
        if len(files) >= MAX_FOLDER_FILES:
            raise BotError(label, f"its folder {folder} holds more than {MAX_FOLDER_FILES} files; a "
                           "bot is played from a copy of its folder: put the bot (and the "
                           "modules it imports) in a folder of their own")
        try:
            size = full.stat().st_size
            total += size
            if total > MAX_FOLDER_BYTES:
                raise BotError(label, f"its folder {folder} holds more than "
                               f"{MAX_FOLDER_BYTES // 2**20} MB; a bot is played from a copy of "
                               "its folder: put the bot (and the modules it imports) in a "
                               "folder of their own")
            files[relative] = full.read_bytes()
        except OSError as exc:
            if full.name == path.name and full.parent == folder:
                raise BotError(label, f"cannot read the bot file ({exc.strerror or exc})") from None
    return BotFiles(path.name, label, files)


def _candidates(folder: Path):
    """(relative name, path) of the files copied with a bot in ``folder``."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(".") or entry.name == "__pycache__":
            continue
        if entry.is_file():
            yield entry.name, Path(entry.path)
        elif entry.is_dir(follow_symlinks=False) and os.path.isfile(os.path.join(entry.path, "__init__.py")):
            for root, dirs, names in os.walk(entry.path):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
                for name in sorted(names):
                    full = Path(root) / name
                    if not name.startswith(".") and full.is_file():
                        yield full.relative_to(folder).as_posix(), full
