"""Finding and loading the game's assets (theme, fonts), each loaded once and cached.

``assets_dir`` is the one place that knows where ``assets/`` lives: the
data package installed with ``sim`` (``sim._shipped``), or the folder at the
top of a source tree.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from importlib.resources.abc import Traversable
from pathlib import Path

import pygame

from .._shipped import shipped_folder


def assets_dir() -> Traversable:
    """The folder holding theme.json and any fonts or images."""
    return shipped_folder("assets")


@lru_cache(maxsize=1)
def _base_theme() -> dict:
    return json.loads((assets_dir() / "theme.json").read_text(encoding="utf-8"))


def theme_for(scale: float) -> dict:
    """The pygame_gui theme with every font size multiplied by ``scale``.

    pygame_gui fonts have fixed sizes, so a window twice as tall gets a
    theme with fonts twice as big (readable on a 1080p projector).
    """
    theme = copy.deepcopy(_base_theme())
    for block in theme.values():
        font = block.get("font") if isinstance(block, dict) else None
        if font and "size" in font:
            font["size"] = str(max(10, round(float(font["size"]) * scale)))
    return theme


def _font_file(bold: bool) -> Path:
    import pygame_gui.data

    return Path(pygame_gui.data.__file__).parent / ("NotoSans-Bold.ttf" if bold else "NotoSans-Regular.ttf")


@lru_cache(maxsize=64)
def font(size_px: int, bold: bool = False) -> pygame.font.Font:
    """The game's font (Noto Sans, shipped with pygame_gui) at ``size_px`` pixels, cached."""
    return pygame.font.Font(str(_font_file(bold)), max(8, int(size_px)))
