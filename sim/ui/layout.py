"""Small layout helpers: cut rectangles, lay buttons in rows that fit.

Layouts are measured in the typography's sizes (``Typography.em``,
``control``), never in fixed pixels, so a screen that fits in normal text
fits in large text too — or chooses, here, a shorter label or a second row.
"""

from __future__ import annotations

from typing import Sequence

import pygame


def cut_top(rect: pygame.Rect, height: int, gap: int = 0) -> tuple[pygame.Rect, pygame.Rect]:
    """(the top ``height`` pixels of ``rect``, what is left below after ``gap``)."""
    height = max(0, min(height, rect.height))
    top = pygame.Rect(rect.left, rect.top, rect.width, height)
    rest = pygame.Rect(rect.left, rect.top + height + gap, rect.width, max(0, rect.height - height - gap))
    return top, rest


def cut_bottom(rect: pygame.Rect, height: int, gap: int = 0) -> tuple[pygame.Rect, pygame.Rect]:
    """(the bottom ``height`` pixels of ``rect``, what is left above before ``gap``)."""
    height = max(0, min(height, rect.height))
    bottom = pygame.Rect(rect.left, rect.bottom - height, rect.width, height)
    rest = pygame.Rect(rect.left, rect.top, rect.width, max(0, rect.height - height - gap))
    return bottom, rest


def cut_left(rect: pygame.Rect, width: int, gap: int = 0) -> tuple[pygame.Rect, pygame.Rect]:
    """(the left ``width`` pixels of ``rect``, what is left on the right after ``gap``)."""
    width = max(0, min(width, rect.width))
    left = pygame.Rect(rect.left, rect.top, width, rect.height)
    rest = pygame.Rect(rect.left + width + gap, rect.top, max(0, rect.width - width - gap), rect.height)
    return left, rest


def cut_right(rect: pygame.Rect, width: int, gap: int = 0) -> tuple[pygame.Rect, pygame.Rect]:
    """(the right ``width`` pixels of ``rect``, what is left on the left before ``gap``)."""
    width = max(0, min(width, rect.width))
    right = pygame.Rect(rect.right - width, rect.top, width, rect.height)
    rest = pygame.Rect(rect.left, rect.top, max(0, rect.width - width - gap), rect.height)
    return right, rest


def row(rect: pygame.Rect, widths: Sequence[int], gap: int, stretch: int | None = None) -> list[pygame.Rect]:
    """Rectangles of ``widths`` side by side from ``rect``'s left; ``stretch`` (an index)
    takes whatever width is left over."""
    widths = list(widths)
    if stretch is not None:
        widths[stretch] = max(0, rect.width - (sum(widths) - widths[stretch]) - gap * (len(widths) - 1))
    out, x = [], rect.left
    for w in widths:
        out.append(pygame.Rect(x, rect.top, w, rect.height))
        x += w + gap
    return out


def split(rect: pygame.Rect, n: int, gap: int) -> list[pygame.Rect]:
    """``rect`` cut into ``n`` equal columns with ``gap`` between them."""
    if n <= 0:
        return []
    w = (rect.width - gap * (n - 1)) // n
    return [pygame.Rect(rect.left + i * (w + gap), rect.top, w, rect.height) for i in range(n)]


def flow(width: int, widths: Sequence[int], gap: int) -> list[tuple[int, int]]:
    """(row, x offset) of each item laid left to right, wrapping when ``width`` is used up."""
    out, r, x = [], 0, 0
    for w in widths:
        if x > 0 and x + w > width:
            r, x = r + 1, 0
        out.append((r, x))
        x += w + gap
    return out


def fits_in(width: int, widths: Sequence[int], gap: int) -> bool:
    return sum(widths) + gap * max(0, len(widths) - 1) <= width
