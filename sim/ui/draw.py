"""Painting helpers: colours, text, cards, tables, chart surfaces and tooltips.

Nothing here changes game state.  Chart surfaces are cached by a key the
caller gives (the chart, the turn, the size, the palette), so a chart is
rendered by matplotlib once and blitted every frame after.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Sequence

import pygame

from .. import charts
from .assets import font

BACKGROUND = (22, 32, 42)
PANEL = (31, 43, 56)
PANEL_EDGE = (58, 74, 90)
TEXT = (238, 242, 246)
MUTED = (160, 174, 188)
ACCENT = (230, 159, 0)       # Okabe-Ito orange
GOOD = (0, 158, 115)         # Okabe-Ito bluish green
BAD = (213, 94, 0)           # Okabe-Ito vermillion
CHART_BG = "#1f2b38"


def text(surface: pygame.Surface, s: str, pos, size: int, colour=TEXT, bold: bool = False,
         anchor: str = "topleft", max_width: int | None = None, shrink: bool = True) -> pygame.Rect:
    """Draw one line of text fitted to ``max_width`` pixels.

    A line too wide is first set a little smaller (when ``shrink``; table cells
    do not, so a column keeps one size), then cut with an ellipsis.
    """
    f = font(size, bold)
    image = f.render(s, True, colour)
    if max_width is not None and image.get_width() > max_width > 0:
        # Shrink a little (never below 85%: smaller is unreadable on a projector), then cut
        # the end with an ellipsis.
        smallest = max(9, int(size * 0.85)) if shrink else size
        while image.get_width() > max_width and size > smallest:
            size -= 1
            f = font(size, bold)
            image = f.render(s, True, colour)
        if image.get_width() > max_width:
            cut = s
            while cut and f.size(cut + "…")[0] > max_width:
                cut = cut[:-1]
            image = f.render(cut.rstrip() + "…", True, colour)
    rect = image.get_rect(**{anchor: pos})
    surface.blit(image, rect)
    return rect


def wrap(s: str, size: int, width: int, bold: bool = False) -> list[str]:
    """Split ``s`` into lines no wider than ``width`` pixels (paragraphs kept)."""
    f = font(size, bold)
    lines: list[str] = []
    for paragraph in s.split("\n"):
        words, line = paragraph.split(), ""
        if not words:
            lines.append("")
        for word in words:
            trial = f"{line} {word}".strip()
            if f.size(trial)[0] <= width or not line:
                line = trial
            else:
                lines.append(line)
                line = word
        if words:
            lines.append(line)
    return lines


def paragraph(surface: pygame.Surface, s: str, rect: pygame.Rect, size: int, colour=TEXT,
              bold: bool = False, spacing: float = 1.3) -> int:
    """Draw wrapped text inside ``rect``; returns the y below the last line drawn."""
    y = rect.top
    step = int(size * spacing)
    for line in wrap(s, size, rect.width, bold):
        if y + step > rect.bottom + step * 0.3:
            break
        text(surface, line, (rect.left, y), size, colour, bold)
        y += step
    return y


def panel(surface: pygame.Surface, rect: pygame.Rect, title: str | None = None,
          size: int = 16) -> pygame.Rect:
    """A rounded panel; returns the inner rectangle below the title."""
    pygame.draw.rect(surface, PANEL, rect, border_radius=6)
    pygame.draw.rect(surface, PANEL_EDGE, rect, width=1, border_radius=6)
    inner = rect.inflate(-2 * max(6, size // 2), -2 * max(6, size // 2))
    if title:
        text(surface, title, inner.topleft, size, MUTED, bold=True, max_width=inner.width)
        inner = pygame.Rect(inner.left, inner.top + int(size * 1.5), inner.width,
                            inner.height - int(size * 1.5))
    return inner


def card(surface: pygame.Surface, rect: pygame.Rect, label: str, value: str, size: int,
         colour=TEXT) -> None:
    """A key number: a small label above a big value."""
    pygame.draw.rect(surface, PANEL, rect, border_radius=6)
    pygame.draw.rect(surface, PANEL_EDGE, rect, width=1, border_radius=6)
    pad = max(6, size // 2)
    text(surface, label, (rect.left + pad, rect.top + pad // 2), int(size * 0.8), MUTED,
         max_width=rect.width - 2 * pad)
    text(surface, value, (rect.left + pad, rect.bottom - pad // 2), int(size * 1.35), colour,
         bold=True, anchor="bottomleft", max_width=rect.width - 2 * pad)


@dataclass
class Column:
    """A table column: heading, width share, alignment ('l' or 'r')."""

    heading: str
    share: float
    align: str = "r"


def table(surface: pygame.Surface, rect: pygame.Rect, columns: Sequence[Column],
          rows: Sequence[Sequence[str]], size: int, highlight: int | None = None,
          sort_column: int | None = None, descending: bool = True,
          colours: Sequence[tuple] | None = None) -> list[pygame.Rect]:
    """A plain table with a heading row; rows that do not fit are not drawn.

    Returns:
        The heading cells' rectangles (for click-to-sort).
    """
    total = sum(c.share for c in columns)
    widths = [int(rect.width * c.share / total) for c in columns]
    row_h = int(size * 1.45)
    x, heads = rect.left, []
    pad = max(4, size // 3)
    for col, w in zip(columns, widths):
        cell = pygame.Rect(x, rect.top, w, row_h)
        heads.append(cell)
        sorted_here = sort_column is not None and columns.index(col) == sort_column
        mark = size // 2 + 4 if sorted_here else 0
        anchor, pos = (("topright", (cell.right - pad - mark, cell.top)) if col.align == "r"
                       else ("topleft", (cell.left + pad, cell.top)))
        drawn = text(surface, col.heading, pos, max(9, int(size * 0.92)), ACCENT, bold=True, anchor=anchor,
                     max_width=w - 2 * pad - mark)
        if sorted_here:
            # A triangle, not a glyph: the font has no arrow characters.
            cx, cy, r = drawn.right + 4 + size // 4, drawn.centery, size // 4
            points = ([(cx - r, cy - r // 2), (cx + r, cy - r // 2), (cx, cy + r)] if descending
                      else [(cx - r, cy + r // 2), (cx + r, cy + r // 2), (cx, cy - r)])
            pygame.draw.polygon(surface, ACCENT, points)
        x += w
    pygame.draw.line(surface, PANEL_EDGE, (rect.left, rect.top + row_h), (rect.right, rect.top + row_h))
    y = rect.top + row_h + 2
    for i, row in enumerate(rows):
        if y + row_h > rect.bottom:
            break
        if highlight == i:
            pygame.draw.rect(surface, PANEL_EDGE, (rect.left, y, rect.width, row_h))
        x = rect.left
        colour = colours[i] if colours else TEXT
        for col, w, value in zip(columns, widths, row):
            anchor, pos = (("topright", (x + w - pad, y)) if col.align == "r" else ("topleft", (x + pad, y)))
            text(surface, value, pos, size, colour, anchor=anchor, max_width=w - 2 * pad, shrink=False)
            x += w
        y += row_h
    return heads


def rows_that_fit(height: int, size: int) -> int:
    """How many table rows (after the heading) fit in ``height`` pixels."""
    row_h = int(size * 1.45)
    return max(0, (height - row_h - 2) // row_h)


class ChartCache:
    """Rendered charts as pygame surfaces, by key; least recently used dropped first."""

    def __init__(self, capacity: int = 48):
        self.capacity = capacity
        self._surfaces: OrderedDict = OrderedDict()
        self.renders = 0    # charts rendered by matplotlib (tests check the cache works)

    def get(self, key, make: Callable[[], object]) -> pygame.Surface:
        """The surface for ``key``, rendering ``make()``'s figure only the first time."""
        if key in self._surfaces:
            self._surfaces.move_to_end(key)
            return self._surfaces[key]
        pixels, size = charts.rgba_buffer(make())
        surface = pygame.image.frombuffer(pixels, size, "RGBA").convert_alpha() \
            if pygame.display.get_surface() else pygame.image.frombuffer(pixels, size, "RGBA")
        self._surfaces[key] = surface
        self.renders += 1
        while len(self._surfaces) > self.capacity:
            self._surfaces.popitem(last=False)
        return surface

    def clear(self) -> None:
        self._surfaces.clear()


class Tooltips:
    """Hover explanations for drawn numbers: rectangles with a sentence each.

    Scenes register rectangles when they lay out; ``update`` finds the one
    under the mouse after a short hover, and ``draw`` paints it.
    """

    DELAY_S = 0.4

    def __init__(self):
        self.zones: list[tuple[pygame.Rect, str]] = []
        self.active: tuple[pygame.Rect, str] | None = None
        self._hover_s = 0.0
        self._under: str | None = None

    def clear(self) -> None:
        self.zones.clear()
        self.active = None

    def add(self, rect: pygame.Rect, tip: str) -> None:
        self.zones.append((pygame.Rect(rect), tip))

    def update(self, dt: float, mouse: tuple[int, int]) -> None:
        under = next(((r, t) for r, t in reversed(self.zones) if r.collidepoint(mouse)), None)
        key = under[1] if under else None
        self._hover_s = self._hover_s + dt if key == self._under else 0.0
        self._under = key
        self.active = under if under and self._hover_s >= self.DELAY_S else None

    def draw(self, surface: pygame.Surface, size: int, mouse: tuple[int, int]) -> None:
        if not self.active:
            return
        width = min(int(size * 26), surface.get_width() - 20)
        lines = wrap(self.active[1], size, width - 16)
        h = int(len(lines) * size * 1.3) + 14
        w = max(font(size).size(line)[0] for line in lines) + 18
        box = pygame.Rect(mouse[0] + 16, mouse[1] + 18, w, h)
        box.clamp_ip(surface.get_rect())
        pygame.draw.rect(surface, (255, 248, 230), box, border_radius=5)
        pygame.draw.rect(surface, ACCENT, box, width=2, border_radius=5)
        y = box.top + 7
        for line in lines:
            text(surface, line, (box.left + 9, y), size, (29, 39, 51))
            y += int(size * 1.3)


def money(x: float) -> str:
    """Dollars for the screen: -$1,234 / $12,345."""
    if x != x:     # NaN
        return "n/a"
    return f"-${-x:,.0f}" if x < 0 else f"${x:,.0f}"
