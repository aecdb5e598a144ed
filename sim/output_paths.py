"""Where ccsim writes: output paths checked before any work, files replaced atomically.

Every writer (game records and autosaves, ``fit --predict``, reports,
screenshots, tournament results, settings) checks its destination with
:func:`check_output_file` or :func:`check_output_folder` *before* doing the
work, so a game is never played to the end only to fail at the last step,
and writes through :func:`write_atomically`: a temporary file beside the
target, flushed to disk, then renamed over it, so a reader sees the old file
or the whole new one.

Some targets are never replaced, because replacing them would do something
other than "write this file": a symbolic link (``os.replace`` would put a
file where the link was, not write where it points), a device, a named pipe
or a socket, and a read-only file (someone's way of saying "keep this"; the
rename would ignore the file's own permission).  Each refusal is an
:class:`OutputPathError` (a ``SimError``: the CLI exits 2 with its one line).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .capped_read import file_kind
from .errors import SimError

__all__ = ["OutputPathError", "check_output_file", "check_output_folder", "write_atomically",
           "write_chunks_atomically"]


class OutputPathError(SimError):
    """A destination ccsim cannot or will not write; the message names it and why."""


def _given(path: str | os.PathLike, option: str) -> Path:
    if not isinstance(path, (str, os.PathLike)) or isinstance(path, bytes):
        raise OutputPathError(f"{option}: expected a path, got {type(path).__name__}")
    text = os.fspath(path)
    if not text.strip():
        raise OutputPathError(f"{option}: the path is empty; give a file or folder name")
    if "\0" in text:
        raise OutputPathError(f"{option}: the path holds a NUL character")
    return Path(text)


def _shown(path: Path) -> str:
    text = str(path)
    shown = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    return shown if len(shown) <= 160 else "..." + shown[-157:]


def _lstat(path: Path, option: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise OutputPathError(f"{option} {_shown(path)}: a part of the path is a file, "
                              f"not a folder") from None
    except OSError as exc:
        raise OutputPathError(f"{option} {_shown(path)}: {exc.strerror or exc}") from None


def _read_only(st: os.stat_result, path: Path) -> bool:
    """True for a file (or folder) no one may write, or we may not.

    The mode bits count even for root, for whom ``os.access`` always says yes.
    """
    return not (st.st_mode & 0o222) or not os.access(path, os.W_OK)


def _check_replaceable(path: Path, st: os.stat_result, option: str) -> None:
    """Refuse an existing target that writing would not simply replace."""
    mode = st.st_mode
    if stat.S_ISLNK(mode):
        raise OutputPathError(f"{option} {_shown(path)}: is a symbolic link; it is left as it "
                              f"is (name the file itself)")
    if stat.S_ISDIR(mode):
        raise OutputPathError(f"{option} {_shown(path)}: is a folder; give a file name")
    if not stat.S_ISREG(mode):
        raise OutputPathError(f"{option} {_shown(path)}: is {file_kind(mode)}; it is left as "
                              f"it is")
    if _read_only(st, path):
        raise OutputPathError(f"{option} {_shown(path)}: the file is read-only; it is left as "
                              f"it is")


def _check_writable_folder(folder: Path, option: str, target: Path) -> None:
    try:
        st = os.stat(folder)
    except FileNotFoundError:
        raise OutputPathError(f"{option} {_shown(target)}: no such folder "
                              f"{_shown(folder)!r}") from None
    except NotADirectoryError:
        raise OutputPathError(f"{option} {_shown(target)}: {_shown(folder)!r} is not a "
                              f"folder") from None
    except OSError as exc:
        raise OutputPathError(f"{option} {_shown(target)}: {exc.strerror or exc}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise OutputPathError(f"{option} {_shown(target)}: {_shown(folder)!r} is a file, "
                              f"not a folder")
    if _read_only(st, folder) or not os.access(folder, os.W_OK | os.X_OK):
        raise OutputPathError(f"{option} {_shown(target)}: cannot write in the folder "
                              f"{_shown(folder)!r}")


def check_output_file(path: str | os.PathLike, option: str,
                      inputs: tuple[str | os.PathLike, ...] = ()) -> Path:
    """Refuse, before any work, a file path that cannot or must not be written.

    Args:
        path: the file to be written (it may not exist yet).
        option: how the user gave it, for messages (``--record``).
        inputs: files the same command reads; writing over one is refused.

    Returns:
        The path.

    Raises:
        OutputPathError: an empty path; an existing symbolic link, folder,
            device, pipe, socket or read-only file; a parent that is missing,
            not a folder or not writable; one of ``inputs``.
    """
    target = _given(path, option)
    st = _lstat(target, option)
    if st is not None:
        _check_replaceable(target, st, option)
    _check_writable_folder(target.parent, option, target)
    if st is not None and any(_same_file(target, source) for source in inputs):
        raise OutputPathError(f"{option} {_shown(target)}: would overwrite the input file")
    return target


def _same_file(a: Path, b: str | os.PathLike) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError, TypeError):
        return False


def check_output_folder(path: str | os.PathLike, option: str) -> Path:
    """Refuse, before any work, a folder that cannot be created or written in.

    A missing folder is fine when the nearest folder that exists above it
    is writable (the writer creates the rest).

    Returns:
        The path.

    Raises:
        OutputPathError: an empty path; an existing file (or device, pipe)
            where the folder should be; a folder that is not writable; a
            missing folder under a file or an unwritable folder.
    """
    target = _given(path, option)
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except NotADirectoryError:
        raise OutputPathError(f"{option} {_shown(target)}: a part of the path is a file, "
                              f"not a folder") from None
    except OSError as exc:
        raise OutputPathError(f"{option} {_shown(target)}: {exc.strerror or exc}") from None
    if st is not None:
        if not stat.S_ISDIR(st.st_mode):
            what = "a file" if stat.S_ISREG(st.st_mode) else file_kind(st.st_mode)
            raise OutputPathError(f"{option} {_shown(target)}: is {what}, not a folder")
        if _read_only(st, target) or not os.access(target, os.W_OK | os.X_OK):
            raise OutputPathError(f"{option} {_shown(target)}: cannot write in the folder")
        return target
    above = target.parent
    while True:
        try:
            st = os.stat(above)
            break
        except FileNotFoundError:
            if above == above.parent:
                raise OutputPathError(f"{option} {_shown(target)}: no folder above it "
                                      f"exists") from None
            above = above.parent
        except OSError as exc:
            raise OutputPathError(f"{option} {_shown(target)}: {exc.strerror or exc}") from None
    _check_writable_folder(above, option, target)
    return target


def _new_file_mode() -> int:
    """Permissions of an ordinary new file: 0o666 less the umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomically(path: str | os.PathLike, data: bytes | str, what: str = "the file") -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename.

    A crash mid-write leaves the previous file, if any, untouched.  An
    existing file keeps its permissions; a new one gets the usual ones.

    Args:
        path: the destination.
        data: the content (text is written as UTF-8).
        what: what is being written, for messages.

    Raises:
        OutputPathError: the destination is a symbolic link, a folder, a
            device, a pipe, a socket or read-only, or cannot be written.
    """
    return write_chunks_atomically(path, (data,), what)


def write_chunks_atomically(path: str | os.PathLike, chunks: Iterable[bytes | str],
                            what: str = "the file") -> Path:
    """``write_atomically`` for content made piece by piece (a large CSV file).

    The chunks are written to the temporary file as they come, so the whole
    content never has to be in memory at once; the rename happens only after
    the last one, so a failure mid-way (also in the code making the chunks)
    leaves the previous file, if any, untouched.

    Raises:
        OutputPathError: as ``write_atomically``.
    """
    target = _given(path, what)
    st = _lstat(target, what)
    if st is not None:
        _check_replaceable(target, st, f"cannot write {what}:")
    folder = target.parent
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name[:100]}.", suffix=".tmp",
                                         dir=folder)
    except OSError as exc:
        raise OutputPathError(f"cannot write {what} {_shown(target)}: "
                              f"{exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk))
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes the file private; the result is an ordinary document.
        os.chmod(temporary, stat.S_IMODE(st.st_mode) if st is not None else _new_file_mode())
        os.replace(temporary, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError):
            raise OutputPathError(f"cannot write {what} {_shown(target)}: "
                                  f"{exc.strerror or exc}") from None
        raise
    return target
