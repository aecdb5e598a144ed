"""The player's preferences: read defensively, written atomically.

``settings.json`` lives beside the autosave.  It is the player's own file,
but anything may end up there (a hand edit, a broken disk, a prank), so
reading it never blocks, never reads more than ``MAX_SETTINGS_BYTES``,
never raises, and says in one line what it ignored:

* a path that is not a regular file (a folder, a FIFO, ``/dev/zero``) or
  a file larger than the cap is ignored as a whole;
* each entry is checked on its own: a bad one gets its default, the good
  ones are kept (``window: [Infinity, 720]`` does not cost the palette);
* booleans are exactly JSON ``true``/``false`` (``"no"`` is not false, so
  it is refused, not read as true);
* a window size is two whole numbers of pixels, at least ``MIN_SIZE``;
  one larger than the screen is reduced to it when the game opens
  (``fit_window``), and never beyond ``MAX_WINDOW``.

Nothing here imports pygame: the App passes in the display's size.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from ..errors import SimError
from ..output_paths import write_atomically

#: Window sizes offered on the settings screen, pixels.
WINDOW_SIZES = ((1280, 720), (1600, 900), (1920, 1080))
#: The smallest window the layouts are made for, pixels.
MIN_SIZE = (960, 600)
#: The largest window ever opened (4K UHD), pixels: a window needs about
#: 4 bytes per pixel several times over (screen, cached layers), so a size
#: from a settings file never goes beyond this, whatever the display says.
MAX_WINDOW = (3840, 2160)
#: A settings file is a few hundred bytes; anything over this is not one.
MAX_SETTINGS_BYTES = 64 * 1024
PALETTES = ("colour-blind safe", "standard")
FILE_NAME = "settings.json"


@dataclass
class Settings:
    """The player's preferences, kept in ``settings.json`` beside the autosave.

    Attributes:
        window: window size in pixels (when not full screen).
        fullscreen: use the whole screen.
        palette: chart colours: "colour-blind safe" (Okabe-Ito, default) or "standard".
        large_text: larger type everywhere, for a projector (body text at
            least 20 px at 1280x720).
        tour_done: the guided first turn has been shown (or skipped).
    """

    window: tuple[int, int] = (1280, 720)
    fullscreen: bool = False
    palette: str = "colour-blind safe"
    large_text: bool = False
    tour_done: bool = False

    @classmethod
    def load(cls, home: str | Path) -> tuple["Settings", str]:
        """The saved settings and a one-line message about what was ignored ("" if nothing).

        Never raises and never blocks: see the module docstring.
        """
        path = Path(home) / FILE_NAME
        data, problem = _read_json_object(path)
        if data is None:
            return cls(), problem
        settings, bad = cls(), []
        for f in fields(cls):
            if f.name not in data:
                continue
            value, ok = _CHECKS[f.name](data[f.name])
            if ok:
                setattr(settings, f.name, value)
            else:
                bad.append(f"{f.name}: {_brief(data[f.name])}")
        unknown = sorted(k for k in data if k not in {f.name for f in fields(cls)})
        notes = []
        if bad:
            notes.append("ignored " + "; ".join(bad) + " (defaults used)")
        if unknown:
            notes.append("unknown entries ignored: " + ", ".join(_brief(k, 24) for k in unknown[:5]))
        return settings, f"{FILE_NAME}: " + "; ".join(notes) if notes else ""

    def save(self, home: str | Path) -> str:
        """Write the settings atomically; returns "" or a one-line message why not."""
        home = Path(home)
        data = asdict(self)
        data["window"] = list(self.window)
        try:
            home.mkdir(parents=True, exist_ok=True)
            write_atomically(home / FILE_NAME, json.dumps(data, indent=1), "the settings")
        except SimError as exc:
            return f"{FILE_NAME}: could not be saved ({exc})"
        except OSError as exc:
            return f"{FILE_NAME}: could not be saved ({exc.strerror or exc})"
        return ""


def fit_window(size: tuple[int, int], display: tuple[int, int] | None) -> tuple[int, int]:
    """A window size that fits: at least ``MIN_SIZE``, at most the display and ``MAX_WINDOW``.

    Args:
        size: the size asked for, pixels.
        display: the display's size in pixels, or None when it cannot be told
            (a headless driver).
    """
    w, h = (max(lo, min(int(v), hi)) for v, lo, hi in zip(size, MIN_SIZE, MAX_WINDOW))
    if display and display[0] > 0 and display[1] > 0:
        w, h = min(w, max(display[0], MIN_SIZE[0])), min(h, max(display[1], MIN_SIZE[1]))
    return w, h


def _read_json_object(path: Path) -> tuple[dict | None, str]:
    """The file's JSON object, or (None, why not); "" when there is simply no file."""
    name = FILE_NAME
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None, ""
    except OSError as exc:
        return None, f"{name}: cannot be read ({exc.strerror or exc}); defaults used"
    if not stat.S_ISREG(info.st_mode):
        return None, f"{name}: not a regular file; ignored, defaults used"
    if info.st_size > MAX_SETTINGS_BYTES:
        return None, f"{name}: larger than {MAX_SETTINGS_BYTES // 1024} KiB; ignored, defaults used"
    try:
        # O_NONBLOCK: if the path became a FIFO since the stat, opening must not wait for a writer.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return None, f"{name}: not a regular file; ignored, defaults used"
            raw = f.read(MAX_SETTINGS_BYTES + 1)
    except OSError as exc:
        return None, f"{name}: cannot be read ({exc.strerror or exc}); defaults used"
    if len(raw) > MAX_SETTINGS_BYTES:
        return None, f"{name}: larger than {MAX_SETTINGS_BYTES // 1024} KiB; ignored, defaults used"
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__
        return None, f"{name}: not valid JSON ({reason}); defaults used"
    if not isinstance(data, dict):
        return None, f"{name}: not a JSON object; defaults used"
    return data, ""


def _refuse_constant(token: str):
    raise ValueError(f"{token} is not a number JSON allows")


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_window(value: Any) -> tuple[Any, bool]:
    if (isinstance(value, list) and len(value) == 2 and all(_whole(v) for v in value)
            and value[0] >= MIN_SIZE[0] and value[1] >= MIN_SIZE[1]):
        # Huge sizes are kept here and reduced to the display when the window opens.
        return (min(value[0], MAX_WINDOW[0]), min(value[1], MAX_WINDOW[1])), True
    return None, False


def _check_bool(value: Any) -> tuple[Any, bool]:
    return value, isinstance(value, bool)


def _check_palette(value: Any) -> tuple[Any, bool]:
    return value, isinstance(value, str) and value in PALETTES


_CHECKS = {"window": _check_window, "fullscreen": _check_bool, "palette": _check_palette,
           "large_text": _check_bool, "tour_done": _check_bool}


def _brief(value: Any, limit: int = 40) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        text = type(value).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."
