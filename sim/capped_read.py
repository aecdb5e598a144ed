"""Reading a file someone handed us: a regular file only, and never more than a cap.

Every reader of a user's file (game records and autosaves, scenarios, the
CSV files ``ccsim fit`` reads, the window's settings) goes through
:func:`read_capped_regular_file`, so none of them can be made to block on a
named pipe, read ``/dev/zero`` until memory runs out, or load a file far
larger than the thing it claims to be.  The caps themselves live with the
readers (``sim.records``, ``sim.scenario``, ``sim.analytics.csv_input``) and
are listed in the README's bad-input section.

Order of checks: ``os.stat`` first (a FIFO or a device is refused before it
is opened, as opening a FIFO for reading blocks until a writer comes), then
the file is opened non-blocking and checked again with ``os.fstat`` on the
open descriptor (the path could have been swapped for a FIFO in between),
then at most ``cap + 1`` bytes are read (a file that grew past the cap while
being read is refused too).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import SimError

__all__ = ["read_capped_regular_file", "read_capped_text", "file_kind", "display_name"]

#: Bytes read per ``os.read`` call.
_CHUNK = 1 << 20


_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link"))


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words ('a folder', 'a named pipe (FIFO)', ...)."""
    return next((words for test, words in _KINDS if test(mode)), "not a regular file")


def display_name(path: str | os.PathLike, limit: int = 120) -> str:
    """A path's file name for a one-line message: printable, at most ``limit`` characters."""
    text = Path(path).name or os.fspath(path)
    shown = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def _check(st: os.stat_result, name: str, cap: int, what: str, error: type[SimError]) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{name}: is {file_kind(st.st_mode)}, not {what} (a regular file)")
    if st.st_size > cap:
        raise error(f"{name}: {st.st_size:,} bytes is larger than {what} can be "
                    f"(at most {cap:,} bytes)")


def read_capped_regular_file(path: str | os.PathLike, cap: int, what: str,
                             error: type[SimError] = SimError, name: str | None = None) -> bytes:
    """The bytes of the regular file at ``path``, refusing anything else or anything bigger.

    Args:
        path: the file (a symbolic link to a regular file is followed).
        cap: most bytes accepted.
        what: what the file should hold, for messages ("a game record").
        error: the ``SimError`` subclass to raise (``RecordError``, ``DataError``, ...).
        name: how messages name the file (default: its printable file name).

    Returns:
        The file's content, at most ``cap`` bytes.

    Raises:
        error: one line, starting with the file's name: no such file, not a
            regular file (a folder, FIFO, device or socket), larger than
            ``cap``, or unreadable.
    """
    if not isinstance(path, (str, os.PathLike)) or isinstance(path, bytes):
        raise error(f"{what}: expected a file path, got {type(path).__name__}")
    if not os.fspath(path).strip():
        raise error(f"{what}: the file name is empty")
    name = name or display_name(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise error(f"{name}: no such file") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise error(f"{name}: cannot read the file ({getattr(exc, 'strerror', None) or exc})") from None
    _check(st, name, cap, what, error)
    flags = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
             | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise error(f"{name}: cannot read the file ({exc.strerror or exc})") from None
    chunks: list[bytes] = []
    try:
        _check(os.fstat(fd), name, cap, what, error)
        left = cap + 1
        while left > 0:
            chunk = os.read(fd, min(left, _CHUNK))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise error(f"{name}: cannot read the file ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > cap:
        raise error(f"{name}: grew past {cap:,} bytes while being read; larger than {what} can be")
    return data


def read_capped_text(path: str | os.PathLike, cap: int, what: str,
                     error: type[SimError] = SimError, name: str | None = None,
                     encoding: str = "utf-8") -> str:
    """:func:`read_capped_regular_file`, decoded (UTF-8 by default; ``utf-8-sig`` drops a BOM).

    Raises:
        error: as :func:`read_capped_regular_file`, or the bytes are not
            text in ``encoding`` (the message gives the byte offset).
    """
    data = read_capped_regular_file(path, cap, what, error, name)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise error(f"{name or display_name(path)}: not UTF-8 text ({exc.reason} at byte "
                    f"{exc.start:,})") from None
