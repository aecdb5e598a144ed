"""Text sizes: the one place every scene's type comes from.

A scene never writes a pixel size for text: it asks the app's
``Typography`` for a *role* ("body", "heading", "value", ...), and the
widgets' theme is scaled from the same numbers.  So the large-text setting
(for a projector) and the window size change every text on every screen,
the debrief's included, in one place.

Sizes are given for a 1280x720 window and scale with the window (the
smaller of width/1280 and height/720).  In large text every role is at
least 20 px at 1280x720, and every chart text (ticks and legends included,
drawn at 0.85x the chart's body size or more) at least 16 px.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Role -> (normal, large) size in pixels at 1280x720.
ROLES: dict[str, tuple[float, float]] = {
    "display": (44, 52),      # the title screen's name
    "title": (28, 34),        # a screen's heading
    "heading": (17, 22),      # a panel's title
    "body": (16, 21),         # paragraphs, row labels
    "small": (15, 20),        # details, help, table cells
    "label": (14, 20),        # a card's label above its number
    "value": (24, 30),        # a card's number
    "widget": (16, 21),       # buttons, fields, menus
    "widget_small": (14, 20),  # chart tabs and other small buttons
    "tooltip": (15, 20),
    "chart": (15, 19.5),      # a chart's body text; ticks 0.9x, legends 0.85x
}
#: The smallest chart text relative to the chart's body size (``sim.charts``: legends, notes).
CHART_SMALLEST = 0.85
#: Body size in pixels that the widget theme's sizes (assets/theme.json, 16 = body) refer to.
THEME_BODY = 16.0


def window_scale(size: tuple[int, int]) -> float:
    """Layout scale of a window: 1.0 at 1280x720, 1.5 at 1920x1080 (the smaller ratio)."""
    w, h = size
    return max(0.75, min(w / 1280, h / 720))


@dataclass(frozen=True)
class Typography:
    """Text sizes for one window size and text mode.

    Attributes:
        scale: the window's layout scale (``window_scale``).
        large: the large-text setting.
    """

    scale: float = 1.0
    large: bool = False

    def size(self, role: str) -> int:
        """Pixel size of ``role`` in this window (never below 12 px; 20 px for large text at 1x)."""
        normal, large = ROLES[role]
        base = large if self.large else normal
        return max(12, int(round(base * self.scale)))

    def __getattr__(self, role: str) -> int:
        # typo.body, typo.heading, ...: the size of that role.
        if role in ROLES:
            return self.size(role)
        raise AttributeError(role)

    @property
    def em(self) -> int:
        """The body size: the unit the layouts are measured in."""
        return self.size("body")

    def line(self, role: str = "body", spacing: float = 1.3) -> int:
        """Height of one line of ``role`` text, pixels."""
        return int(self.size(role) * spacing)

    @property
    def control(self) -> int:
        """Height of a button, field or slider: room for its text with padding."""
        return int(round(self.size("widget") * 2.35))

    @property
    def widget_factor(self) -> float:
        """How much bigger than assets/theme.json the widgets' fonts are drawn."""
        return self.size("widget") / THEME_BODY

    def chart_px(self) -> float:
        """The charts' body size in pixels (``sim.charts.ChartStyle.font_px``)."""
        return float(self.size("chart"))
