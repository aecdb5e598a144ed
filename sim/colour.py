"""Colour contrast by WCAG 2.x: relative luminance, contrast ratios, readable variants.

Text needs at least 4.5:1 against what is behind it and a chart mark (a
line, a bar, a cell) at least 3:1 (WCAG 2.1, 1.4.3 and 1.4.11).  The
screen's colours and the charts' palettes are checked with these functions
(``tests/test_ui_contrast.py``), and a palette colour too faint for a
background is lightened or darkened just enough (``readable``).
"""

from __future__ import annotations

from typing import Sequence

RGB = tuple[int, int, int]
#: Least contrast for text (WCAG AA, normal size).
TEXT_CONTRAST = 4.5
#: Least contrast for a graphical object such as a chart mark.
MARK_CONTRAST = 3.0


def rgb(colour) -> RGB:
    """(r, g, b) 0-255 from '#rrggbb', '#rrggbbaa', an RGB(A) tuple of 0-255 or of 0-1 floats."""
    if isinstance(colour, str):
        s = colour.lstrip("#")
        if len(s) not in (6, 8):
            raise ValueError(f"not a colour: {colour!r}")
        return tuple(int(s[i:i + 2], 16) for i in (0, 2, 4))
    values = tuple(colour)[:3]
    if all(isinstance(v, float) for v in values) and max(values) <= 1.0:
        return tuple(int(round(v * 255)) for v in values)
    return tuple(int(v) for v in values)


def luminance(colour) -> float:
    """WCAG relative luminance, 0 (black) to 1 (white)."""
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = rgb(colour)
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a, b) -> float:
    """WCAG contrast ratio of two colours, 1 to 21."""
    la, lb = luminance(a), luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


def hex_of(colour) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb(colour))


def readable(colour, background, minimum: float = MARK_CONTRAST) -> str:
    """``colour`` mixed with white (on a dark background) or black (on a light one) until
    it has ``minimum`` contrast against ``background``; unchanged if it already has."""
    if contrast(colour, background) >= minimum:
        return hex_of(colour)
    base = rgb(colour)
    target = (255, 255, 255) if luminance(background) < 0.18 else (0, 0, 0)
    for step in range(1, 101):
        t = step / 100
        mixed = tuple(int(round(c + (d - c) * t)) for c, d in zip(base, target))
        if contrast(mixed, background) >= minimum:
            return hex_of(mixed)
    return hex_of(target)


def readable_palette(palette: Sequence, background, minimum: float = MARK_CONTRAST) -> tuple[str, ...]:
    """Every colour of ``palette`` made ``readable`` against ``background`` (order kept)."""
    return tuple(readable(c, background, minimum) for c in palette)


def best_text(background, choices=("#000000", "#ffffff")) -> str:
    """The choice with the most contrast against ``background`` (text on a chart cell)."""
    return max(choices, key=lambda c: contrast(c, background))
