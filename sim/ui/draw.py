"""Painting helpers: colours, text, cards, tables, chart surfaces and tooltips.

Nothing here changes game state.  Chart surfaces are cached by a key the
caller gives (the chart, the turn, the size, the palette), so a chart is
rendered by matplotlib once and blitted every frame after.

Every colour here has at least 4.5:1 contrast with the backgrounds it is
drawn on (``tests/test_ui_contrast.py`` checks them all).  Every text drawn
through ``text`` and ``paragraph`` can be recorded (``LayoutRecord``) with
its rectangle and whether it had to be cut: the layout tests use that to
prove nothing overlaps or is clipped, on every screen and window size.
"""

from __future__ import annotations

from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Sequence

import pygame

from .. import charts
from .assets import font

BACKGROUND = (22, 32, 42)
PANEL = (31, 43, 56)
PANEL_EDGE = (58, 74, 90)
#: Behind a selected table row (text on it keeps 4.5:1).
HIGHLIGHT = (44, 60, 77)
TEXT = (238, 242, 246)
MUTED = (176, 189, 201)
ACCENT = (230, 159, 0)       # Okabe-Ito orange
GOOD = (72, 199, 152)        # Okabe-Ito bluish green, lightened for 4.5:1 on panels
BAD = (255, 138, 101)        # Okabe-Ito vermillion, lightened for 4.5:1 on panels
LESSON_BG = (58, 48, 20)
TOOLTIP_BG = (255, 248, 230)
TOOLTIP_TEXT = (29, 39, 51)
CHART_BG = "#1f2b38"
CHART_FG = "#e8edf2"
#: Backgrounds that screen text is drawn on (the contrast test checks every text colour on each).
TEXT_BACKGROUNDS = (BACKGROUND, PANEL, HIGHLIGHT, LESSON_BG)
TEXT_COLOURS = (TEXT, MUTED, ACCENT, GOOD, BAD)


# --------------------------------------------------------------------- layout record

@dataclass
class DrawnText:
    """One text as drawn: its ink rectangle, the text, whether it had to be cut, its size in pixels."""

    rect: pygame.Rect
    text: str
    cut: bool = False
    layer: str = "scene"
    size: int = 0


@dataclass
class LayoutRecord:
    """What a frame drew: texts (with their ink rectangles) and panels.

    Switched on by tests with ``recording()``; off, drawing records nothing.
    """

    texts: list[DrawnText] = field(default_factory=list)
    panels: list[pygame.Rect] = field(default_factory=list)
    layer: str = "scene"

    def clear(self) -> None:
        self.texts.clear()
        self.panels.clear()


#: The record being written, or None (the normal case: no cost).
RECORD: LayoutRecord | None = None


@contextmanager
def recording():
    """Record every text and panel drawn inside the block (tests)."""
    global RECORD
    previous, RECORD = RECORD, LayoutRecord()
    try:
        yield RECORD
    finally:
        RECORD = previous


@contextmanager
def layer(name: str):
    """Texts drawn inside are recorded under ``name`` (e.g. a tooltip above the scene)."""
    if RECORD is None:
        yield
        return
    previous, RECORD.layer = RECORD.layer, name
    try:
        yield
    finally:
        RECORD.layer = previous


def _record(image: pygame.Surface, rect: pygame.Rect, s: str, cut: bool, size: int) -> None:
    ink = image.get_bounding_rect()
    if ink.width and ink.height:
        RECORD.texts.append(DrawnText(ink.move(rect.topleft), s, cut, RECORD.layer, size))


# --------------------------------------------------------------------- text

def text(surface: pygame.Surface, s: str, pos, size: int, colour=TEXT, bold: bool = False,
         anchor: str = "topleft", max_width: int | None = None, shrink: bool = True) -> pygame.Rect:
    """Draw one line of text fitted to ``max_width`` pixels.

    A line too wide is first set a little smaller (when ``shrink``; table cells
    do not, so a column keeps one size), then cut with an ellipsis (which the
    layout record marks as clipped: a layout should never need it).
    """
    f = font(size, bold)
    image = f.render(s, True, colour)
    cut = False
    if max_width is not None and image.get_width() > max_width > 0:
        # Shrink a little (never below 90%: smaller is unreadable on a projector), then cut
        # the end with an ellipsis.
        smallest = max(9, int(size * 0.9)) if shrink else size
        while image.get_width() > max_width and size > smallest:
            size -= 1
            f = font(size, bold)
            image = f.render(s, True, colour)
        if image.get_width() > max_width:
            cut = True
            trimmed = s
            while trimmed and f.size(trimmed + "…")[0] > max_width:
                trimmed = trimmed[:-1]
            image = f.render(trimmed.rstrip() + "…", True, colour)
    rect = image.get_rect(**{anchor: pos})
    surface.blit(image, rect)
    if RECORD is not None:
        _record(image, rect, s, cut, size)
    return rect


def text_width(s: str, size: int, bold: bool = False) -> int:
    """Width of ``s`` in pixels at ``size``."""
    return font(size, bold).size(s)[0]


def wrap(s: str, size: int, width: int, bold: bool = False) -> list[str]:
    """Split ``s`` into lines no wider than ``width`` pixels (paragraphs kept)."""
    f = font(size, bold)
    lines: list[str] = []
    for paragraph_text in s.split("\n"):
        words, line = paragraph_text.split(), ""
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


def paragraph_height(s: str, size: int, width: int, bold: bool = False, spacing: float = 1.3) -> int:
    """Pixels that ``paragraph`` needs for ``s`` at ``size`` in ``width``."""
    return len(wrap(s, size, width, bold)) * int(size * spacing)


def fits(s: str, size: int, rect: pygame.Rect, bold: bool = False, spacing: float = 1.3) -> bool:
    """True if ``paragraph`` draws all of ``s`` inside ``rect``."""
    return paragraph_height(s, size, rect.width, bold, spacing) <= rect.height + int(size * spacing * 0.3)


def paragraph(surface: pygame.Surface, s: str, rect: pygame.Rect, size: int, colour=TEXT,
              bold: bool = False, spacing: float = 1.3) -> int:
    """Draw wrapped text inside ``rect``; returns the y below the last line drawn.

    Lines that do not fit are left out, and the layout record marks the last
    line drawn as cut (so a test sees the loss).
    """
    y = rect.top
    step = int(size * spacing)
    lines = wrap(s, size, rect.width, bold)
    for i, line in enumerate(lines):
        if y + step > rect.bottom + step * 0.3:
            if RECORD is not None and RECORD.texts:
                RECORD.texts[-1].cut = True
            elif RECORD is not None:
                RECORD.texts.append(DrawnText(pygame.Rect(rect.left, rect.top, 1, 1), s, True,
                                              RECORD.layer))
            break
        text(surface, line, (rect.left, y), size, colour, bold)
        y += step
    return y


def panel(surface: pygame.Surface, rect: pygame.Rect, title: str | None = None,
          size: int = 16) -> pygame.Rect:
    """A rounded panel; returns the inner rectangle below the title."""
    pygame.draw.rect(surface, PANEL, rect, border_radius=6)
    pygame.draw.rect(surface, PANEL_EDGE, rect, width=1, border_radius=6)
    if RECORD is not None:
        RECORD.panels.append(pygame.Rect(rect))
    inner = rect.inflate(-2 * panel_pad(size), -2 * panel_pad(size))
    if title:
        text(surface, title, inner.topleft, size, MUTED, bold=True, max_width=inner.width)
        inner = pygame.Rect(inner.left, inner.top + title_height(size), inner.width,
                            inner.height - title_height(size))
    return inner


def panel_pad(size: int) -> int:
    """Padding inside a panel whose title is ``size`` pixels."""
    return max(6, size // 2)


def title_height(size: int) -> int:
    """Height a panel's title takes (with the gap below it)."""
    return int(size * 1.5)


def card(surface: pygame.Surface, rect: pygame.Rect, label: str, value: str, label_size: int,
         value_size: int, colour=TEXT) -> None:
    """A key number: a small label (wrapped if it must) above a big value."""
    pygame.draw.rect(surface, PANEL, rect, border_radius=6)
    pygame.draw.rect(surface, PANEL_EDGE, rect, width=1, border_radius=6)
    if RECORD is not None:
        RECORD.panels.append(pygame.Rect(rect))
    pad = card_pad(label_size)
    y = rect.top + pad // 2
    for line in wrap(label, label_size, rect.width - 2 * pad):
        text(surface, line, (rect.left + pad, y), label_size, MUTED, max_width=rect.width - 2 * pad)
        y += int(label_size * 1.25)
    text(surface, value, (rect.left + pad, rect.bottom - pad // 2), value_size, colour,
         bold=True, anchor="bottomleft", max_width=rect.width - 2 * pad)


def card_pad(label_size: int) -> int:
    return max(6, label_size // 2)


def card_height(label: str, width: int, label_size: int, value_size: int) -> int:
    """Pixels a ``card`` of ``width`` needs for its (wrapped) label and its value."""
    lines = len(wrap(label, label_size, width - 2 * card_pad(label_size)))
    return int(lines * label_size * 1.25 + value_size * 1.45) + card_pad(label_size)


# --------------------------------------------------------------------- tables

@dataclass
class Column:
    """A table column: heading, width share, alignment ('l' or 'r')."""

    heading: str
    share: float
    align: str = "r"


def row_height(size: int) -> int:
    return int(size * 1.45)


def column_widths(columns: Sequence[Column], rows: Sequence[Sequence[str]], size: int,
                  width: int, sort_column: int | None = None) -> list[int]:
    """Column widths: each at least as wide as its heading and cells, the rest by share.

    Returns the natural widths unchanged (summing to more than ``width``)
    when the content does not fit; ``table`` then cuts cells, and a layout
    test sees it.
    """
    pad = max(4, size // 3)
    need = []
    for j, col in enumerate(columns):
        # The sorted column's heading has a triangle beside it.
        widest = text_width(col.heading, size, bold=True) + (size // 2 + 4 if j == sort_column else 0)
        for row in rows:
            if j < len(row):
                widest = max(widest, text_width(row[j], size))
        need.append(widest + 2 * pad)
    spare = width - sum(need)
    if spare <= 0:
        return need
    total = sum(c.share for c in columns) or 1.0
    widths = [n + int(spare * c.share / total) for n, c in zip(need, columns)]
    widths[-1] += width - sum(widths)
    return widths


def fit_columns(columns: Sequence[Column], rows: Sequence[Sequence[str]], size: int, width: int,
                priority: Sequence[int]) -> list[int]:
    """Indices of the columns to show so the table fits ``width``: the highest ``priority``
    numbers (the least telling) are left out first, ties from the right."""
    keep = list(range(len(columns)))
    while len(keep) > 1 and sum(column_widths([columns[j] for j in keep], [[r[j] for j in keep] for r in rows],
                                              size, 0)) > width:
        keep.remove(max(keep, key=lambda j: (priority[j], j)))
    return keep


def table(surface: pygame.Surface, rect: pygame.Rect, columns: Sequence[Column],
          rows: Sequence[Sequence[str]], size: int, highlight: int | None = None,
          sort_column: int | None = None, descending: bool = True,
          colours: Sequence[tuple] | None = None,
          widths: Sequence[int] | None = None) -> list[pygame.Rect]:
    """A plain table with a heading row; rows that do not fit are not drawn.

    Columns are as wide as their content needs (``column_widths``), the
    rest shared by their ``share``.

    Returns:
        The heading cells' rectangles (for click-to-sort).
    """
    widths = list(widths) if widths is not None else column_widths(columns, rows, size, rect.width, sort_column)
    row_h = row_height(size)
    x, heads = rect.left, []
    pad = max(4, size // 3)
    for col, w in zip(columns, widths):
        cell = pygame.Rect(x, rect.top, w, row_h)
        heads.append(cell)
        sorted_here = sort_column is not None and columns.index(col) == sort_column
        mark = size // 2 + 4 if sorted_here else 0
        anchor, pos = (("topright", (cell.right - pad - mark, cell.top)) if col.align == "r"
                       else ("topleft", (cell.left + pad, cell.top)))
        drawn = text(surface, col.heading, pos, size, ACCENT, bold=True, anchor=anchor,
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
            pygame.draw.rect(surface, HIGHLIGHT, (rect.left, y, rect.width, row_h))
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
    row_h = row_height(size)
    return max(0, (height - row_h - 2) // row_h)


def table_height(rows: int, size: int) -> int:
    """Pixels a table of ``rows`` rows (plus its heading) needs."""
    return row_height(size) * (rows + 1) + 4


# --------------------------------------------------------------------- charts

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
        figure = make()
        pixels, size = charts.rgba_buffer(figure)
        if CHART_PROBLEMS is not None:
            CHART_PROBLEMS.extend(chart_text_problems(figure))
        surface = pygame.image.frombuffer(pixels, size, "RGBA").convert_alpha() \
            if pygame.display.get_surface() else pygame.image.frombuffer(pixels, size, "RGBA")
        self._surfaces[key] = surface
        self.renders += 1
        while len(self._surfaces) > self.capacity:
            self._surfaces.popitem(last=False)
        return surface

    def clear(self) -> None:
        self._surfaces.clear()


#: Problems found in the charts rendered while a list is here (tests set it; None: no checking).
CHART_PROBLEMS: list[str] | None = None


def _drawn_texts(figure):
    """The texts a figure shows: titles, axis labels, notes, legends, and the tick labels of
    ticks inside the axes' view (matplotlib keeps labels for ticks it does not draw)."""
    for ax in figure.axes:
        yield from (ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label)
        yield from ax.texts
        legend = ax.get_legend()
        if legend is not None:
            yield from legend.get_texts()
        for axis, (lo, hi) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            lo, hi = min(lo, hi), max(lo, hi)
            slack = (hi - lo) * 1e-9
            for tick in axis.get_major_ticks():
                if lo - slack <= tick.get_loc() <= hi + slack:
                    yield from (tick.label1, tick.label2)
    yield from figure.texts


def chart_text_problems(figure) -> list[str]:
    """Texts of a rendered matplotlib figure that are cut by its edge or overlap another text."""
    renderer = figure.canvas.get_renderer()
    bounds = figure.bbox
    texts = []
    for artist in _drawn_texts(figure):
        if not artist.get_visible() or not artist.get_text().strip():
            continue
        texts.append((artist.get_text().replace("\n", " "), artist.get_window_extent(renderer)))
    problems = []
    for text, box in texts:
        if box.x0 < bounds.x0 - 1 or box.y0 < bounds.y0 - 1 or box.x1 > bounds.x1 + 1 or box.y1 > bounds.y1 + 1:
            problems.append(f"chart text cut by the chart's edge: {text!r}")
    for i, (a, box_a) in enumerate(texts):
        for b, box_b in texts[i + 1:]:
            if min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0) > 1 and \
                    min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0) > 1:
                problems.append(f"chart texts overlap: {a!r} and {b!r}")
    return problems


# --------------------------------------------------------------------- tooltips

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
        pygame.draw.rect(surface, TOOLTIP_BG, box, border_radius=5)
        pygame.draw.rect(surface, ACCENT, box, width=2, border_radius=5)
        y = box.top + 7
        with layer("tooltip"):
            for line in lines:
                text(surface, line, (box.left + 9, y), size, TOOLTIP_TEXT)
                y += int(size * 1.3)


def money(x: float) -> str:
    """Dollars for the screen: -$1,234 / $12,345."""
    if x != x:     # NaN
        return "n/a"
    return f"-${-x:,.0f}" if x < 0 else f"${x:,.0f}"
