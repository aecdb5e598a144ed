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


def theme_for(typography) -> dict:
    """The pygame_gui theme with its font sizes taken from ``typography``.

    pygame_gui fonts have fixed sizes, so the theme is rebuilt for every
    window size and text mode: theme.json's 16 is the "widget" role, a
    smaller size the "widget_small" role (the tooltip's, "tooltip"), a
    larger one grows in proportion.
    """
    theme = copy.deepcopy(_base_theme())
    for name, block in theme.items():
        font = block.get("font") if isinstance(block, dict) else None
        if font and "size" in font:
            size = float(font["size"])
            if name == "tool_tip":
                px = typography.size("tooltip")
            elif size < 16:
                px = typography.size("widget_small")
            else:
                px = round(size / 16 * typography.size("widget"))
            font["size"] = str(px)
        misc = block.get("misc") if isinstance(block, dict) else None
        if misc and "list_item_height" in misc:
            # A list's rows hold one line of widget text with room around it.
            misc["list_item_height"] = str(round(typography.size("widget") * 1.9))
    return theme


def _font_file(bold: bool) -> Path:
    import pygame_gui.data

    return Path(pygame_gui.data.__file__).parent / ("NotoSans-Bold.ttf" if bold else "NotoSans-Regular.ttf")


@lru_cache(maxsize=64)
def font(size_px: int, bold: bool = False) -> pygame.font.Font:
    """The game's font (Noto Sans, shipped with pygame_gui) at ``size_px`` pixels, cached."""
    return pygame.font.Font(str(_font_file(bold)), max(8, int(size_px)))
