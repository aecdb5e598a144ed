"""Every chart of the game, once: matplotlib figures for the screen and the report.

Each chart is a pure function of plain data (the analytics lab's reports,
the books, the debrief's numbers) returning a ``matplotlib.figure.Figure``
built with the object API (``Figure`` + ``FigureCanvasAgg``), never pyplot,
so no global state is touched and the same function serves two outputs:
``rgba_buffer`` for a pygame surface (``sim.ui`` wraps it) and ``save_png``
for the HTML report.  Nothing here imports pygame.

Sizes are in pixels: a chart is drawn for the rectangle it will fill, with
fonts scaled to that rectangle, so it stays readable from a 1280x720 laptop
to a 1920x1080 projector without being stretched.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from .analytics.reports import CohortRevenue, RetentionCurves, RFMGrid, WhaleCurve
from .colour import MARK_CONTRAST, best_text, contrast, readable_palette
from .observation import TurnBooks
from .output_paths import write_atomically

#: Okabe & Ito (2008): distinguishable with every common colour-vision deficiency.
COLOUR_BLIND_SAFE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00",
                     "#F0E442", "#000000")
#: matplotlib's default cycle (tab10), for players who prefer it.
STANDARD = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f")
PALETTES = {"colour-blind safe": COLOUR_BLIND_SAFE, "standard": STANDARD}

#: Pixels per inch of the figures (fonts are in points, so this fixes their pixel size).
DPI = 100


@dataclass(frozen=True)
class ChartStyle:
    """How a chart is drawn.

    Attributes:
        palette: colours for series, in order.
        font_px: body font size in pixels (titles are 1.2x).
        background: figure background colour.
        foreground: text and axis colour.
    """

    palette: Sequence[str] = COLOUR_BLIND_SAFE
    font_px: float = 14.0
    background: str = "#ffffff"
    foreground: str = "#1d2733"

    def __post_init__(self):
        # Every mark at least 3:1 against the background (WCAG 1.4.11): a palette colour too
        # faint there (Okabe-Ito's black on a dark screen, its yellow on white) is lightened or
        # darkened just enough, so no series is invisible.
        object.__setattr__(self, "_scheme", "cividis" if tuple(self.palette) == COLOUR_BLIND_SAFE
                           else "viridis")
        object.__setattr__(self, "palette", readable_palette(self.palette, self.background))

    @classmethod
    def for_size(cls, height_px: int, palette: str = "colour-blind safe",
                 dark: bool = False) -> "ChartStyle":
        """A style whose fonts scale with the window height (14 px at 720 px tall)."""
        return cls(PALETTES.get(palette, COLOUR_BLIND_SAFE), max(11.0, 14.0 * height_px / 720),
                   "#1f2833" if dark else "#ffffff", "#e8edf2" if dark else "#1d2733")

    @property
    def points(self) -> float:
        """The body font size in points (matplotlib's unit) at ``DPI``."""
        return self.font_px * 72 / DPI

    @property
    def sequential(self) -> str:
        # viridis and cividis are perceptually uniform and colour-blind safe.
        return self._scheme

    def colormap(self):
        """The sequential colour map cut to the part that keeps 3:1 against the background."""
        return _readable_colormap(self.sequential, self.background)


def _figure(size_px: tuple[int, int], style: ChartStyle, ncols: int = 1,
            left_em: float = 5.5, right_em: float = 1.2) -> tuple[Figure, list]:
    """A figure of ``size_px`` pixels with ``ncols`` axes side by side.

    Margins are fixed in multiples of the font size (``left_em`` for the
    y tick labels and label, ``right_em``) rather than computed by
    matplotlib's constrained layout, which costs ~0.1 s a chart: the charts
    are redrawn on every turn and the player waits for them.
    """
    w, h = max(int(size_px[0]), 160), max(int(size_px[1]), 120)
    fig = Figure(figsize=(w / DPI, h / DPI), dpi=DPI, facecolor=style.background)
    FigureCanvasAgg(fig)
    em = style.font_px
    axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    fig.subplots_adjust(left=min(0.45, left_em * em / w), right=1 - min(0.3, right_em * em / w),
                        bottom=min(0.4, 3.4 * em / h), top=1 - min(0.3, 2.3 * em / h),
                        wspace=min(0.6, left_em * em * ncols / w) if ncols > 1 else 0.2)
    points = style.font_px * 72 / DPI
    for ax in axes:
        ax.set_facecolor(style.background)
        ax.tick_params(colors=style.foreground, labelsize=points * 0.9)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        for side in ("left", "bottom"):
            ax.spines[side].set_color(style.foreground)
        ax.xaxis.label.set_color(style.foreground)
        ax.yaxis.label.set_color(style.foreground)
        ax.xaxis.label.set_size(points)
        ax.yaxis.label.set_size(points)
        ax.title.set_color(style.foreground)
        ax.title.set_size(points * 1.15)
    return fig, axes


def _integer_turns(*axes) -> None:
    """Turns are whole numbers: no 0.5 ticks on a turn axis."""
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _title(ax, style: ChartStyle, title: str) -> None:
    """An axes title at 1.15x the body size (``set_title`` alone would use matplotlib's default).

    A title wider than its room (its axes' share of the figure, centred on the
    axes) is set smaller, down to the charts' smallest text, then on two lines
    (the axes move down to make room), so no title is cut by the figure's edge.
    """
    fig = ax.figure
    size = style.points * 1.15
    ax.set_title(title, fontsize=size, color=style.foreground)
    renderer = fig.canvas.get_renderer()
    width = fig.bbox.width
    columns = [a for a in fig.axes if a.get_label() != "<colorbar>"]
    i, n = columns.index(ax) if ax in columns else 0, max(1, len(columns))
    lo, hi = i * width / n, (i + 1) * width / n
    box = ax.get_position()
    centre = (box.x0 + box.width / 2) * width
    room = 2 * min(centre - lo, hi - centre) - 8
    text_width = ax.title.get_window_extent(renderer).width
    if text_width <= room:
        return
    smallest = style.points * 0.85
    size = max(smallest, size * room / text_width)
    ax.title.set_fontsize(size)
    if ax.title.get_window_extent(renderer).width <= room:
        return
    words = title.split()
    best = min(range(1, len(words)), key=lambda k: abs(len(" ".join(words[:k])) - len(" ".join(words[k:]))),
               default=None)
    if best is None:
        return
    ax.title.set_text(" ".join(words[:best]) + "\n" + " ".join(words[best:]))
    line = size * 1.25 * DPI / 72 / fig.bbox.height
    for a in fig.axes:
        p = a.get_position()
        a.set_position([p.x0, p.y0, p.width, max(0.05, p.height - line)])


def _legend(ax, style: ChartStyle, ncols: int = 1, **kwargs):
    """The axes' legend in up to ``ncols`` columns: fewer when a row would run past the
    figure's edge (large text on a narrow chart). Its ``rows`` attribute says how many rows."""
    points = style.font_px * 72 / DPI
    entries = len(ax.get_legend_handles_labels()[0])
    renderer = ax.figure.canvas.get_renderer()
    while True:
        legend = ax.legend(fontsize=points * 0.85, frameon=False, labelcolor=style.foreground, ncols=ncols,
                           **kwargs)
        box = legend.get_window_extent(renderer)
        if ncols == 1 or (box.x0 >= -1 and box.x1 <= ax.figure.bbox.width + 1):
            break
        legend.remove()
        ncols -= 1
    legend.rows = math.ceil(entries / ncols) if entries else 0
    return legend


def _wrap_category_ticks(ax, labels: Sequence[str], renderer) -> None:
    """Category names under bars on two lines where one line would run into its neighbour."""
    ax.figure.canvas.draw()      # tick labels are laid out only when drawn
    slot = ax.get_window_extent(renderer).width / max(1, len(labels))
    if any(t.get_window_extent(renderer).width > slot - 6 for t in ax.get_xticklabels()):
        wrapped = []
        for label in labels:
            words = label.split()
            k = min(range(1, len(words)), key=lambda k: abs(len(" ".join(words[:k])) - len(" ".join(words[k:]))),
                    default=len(words))
            wrapped.append(" ".join(words[:k]) + ("\n" + " ".join(words[k:]) if k < len(words) else ""))
        # Set through the ticks (the formatter writes the labels again at every draw).
        ax.set_xticks(ax.get_xticks(), wrapped)


def _spaced_x_ticks(ax, style: ChartStyle) -> None:
    """Few enough dollar ticks on the x axis that their labels never touch (large text, narrow chart)."""
    width = ax.get_position().width * ax.figure.bbox.width
    ax.locator_params(axis="x", nbins=max(3, int(width / (5.5 * style.font_px))))


def _keep_texts_inside(ax, renderer, rounds: int = 4) -> None:
    """Widen the x range until the value labels written beside bars lie inside the axes."""
    for _ in range(rounds):
        box = ax.get_window_extent(renderer)
        lo, hi = ax.get_xlim()
        per_px = (hi - lo) / max(1.0, box.width)
        left = max([box.x0 - t.get_window_extent(renderer).x0 for t in ax.texts] + [0.0])
        right = max([t.get_window_extent(renderer).x1 - box.x1 for t in ax.texts] + [0.0])
        if left <= 0 and right <= 0:
            return
        ax.set_xlim(lo - (left + 4) * per_px * (left > 0), hi + (right + 4) * per_px * (right > 0))


def _clear_of_legend(ax, legend, renderer, rounds: int = 8) -> None:
    """Raise the top of the y range until no value label in the axes runs into the legend."""
    for _ in range(rounds):
        box = legend.get_window_extent(renderer)
        if not any(box.overlaps(t.get_window_extent(renderer)) for t in ax.texts):
            return
        lo, hi = ax.get_ylim()
        ax.set_ylim(lo, hi + (hi - lo) * 0.12)


def dollars(x: float, _pos=None) -> str:
    """Compact dollar label: $1.2M, $35k, -$800."""
    sign = "-" if x < 0 else ""
    x = abs(x)
    if x >= 1e9:
        return f"{sign}${x / 1e9:.1f}B"
    if x >= 1e6:
        return f"{sign}${x / 1e6:.1f}M"
    if x >= 1e4:
        return f"{sign}${x / 1e3:.0f}k"
    if x >= 1e3:
        return f"{sign}${x / 1e3:.1f}k"
    return f"{sign}${x:.0f}"


_DOLLARS = FuncFormatter(dollars)


def rgba_buffer(fig: Figure) -> tuple[bytes, tuple[int, int]]:
    """Render ``fig`` and return its RGBA pixels and (width, height) in pixels."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    buffer = canvas.buffer_rgba()
    return bytes(buffer), (buffer.shape[1], buffer.shape[0])


def save_png(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` as a PNG file at its own pixel size (atomically: ``sim.output_paths``)."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    png = io.BytesIO()
    canvas.print_png(png)
    return write_atomically(path, png.getvalue(), "the chart")


# --- dashboard -------------------------------------------------------------------

def whale_chart(curve: WhaleCurve, size_px, style: ChartStyle) -> Figure:
    """The whale curve: cumulative share of profit against share of customers."""
    fig, (ax,) = _figure(size_px, style)
    # A million points draw no better than a thousand: thin the curve evenly.
    step = max(1, curve.customer_share.size // 2000)
    x, y = curve.customer_share[::step], curve.profit_share[::step]
    ax.plot(x, y, color=style.palette[0], lw=2.5)
    ax.axhline(1.0, color=style.foreground, lw=1, ls="--", alpha=0.6)
    ax.plot([curve.peak_customer_share], [curve.peak_share], "o", color=style.palette[5], ms=8)
    ax.annotate(f"peak {curve.peak_share:.0%} of profit\nfrom the best {curve.peak_customer_share:.0%}",
                (curve.peak_customer_share, curve.peak_share), textcoords="offset points",
                xytext=(-8, -44), ha="right", color=style.foreground, fontsize=style.points * 0.85)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("customers, most profitable first")
    ax.set_ylabel("cumulative share of profit")
    _title(ax, style, f"Whale curve: {curve.unprofitable_share:.0%} of customers lose money "
                 f"({dollars(curve.profit_lost)})")
    return fig


def layer_cake_chart(c3: CohortRevenue, size_px, style: ChartStyle, first_turn: int = 1) -> Figure:
    """The C3 layer cake: revenue per turn stacked by acquisition cohort."""
    fig, (ax,) = _figure(size_px, style)
    cohorts = c3.cohorts
    cmap = style.colormap()
    colours = [cmap((i + 0.5) / max(len(cohorts), 1)) for i in range(len(cohorts))]
    ax.stackplot(c3.periods, c3.revenue, colors=colours, edgecolor=style.background, linewidth=0.5)
    if c3.periods.size and c3.periods[-1] >= first_turn:
        # Only once the player has played: mark where their turns begin.
        ax.axvline(first_turn - 0.5, color=style.foreground, lw=1, ls=":")
        ax.text(first_turn - 0.55, ax.get_ylim()[1] * 0.97, "you take over ", va="top", ha="right",
                color=style.foreground, fontsize=style.points * 0.85)
    ax.yaxis.set_major_formatter(_DOLLARS)
    _integer_turns(ax)
    ax.set_xlabel("turn (turns <= 0: before you took over)")
    ax.set_ylabel("revenue per turn")
    _title(ax, style, "Revenue by acquisition cohort (C3 layer cake; darkest = oldest)")
    return fig


def _readable_colormap(name: str, background: str):
    """``name``'s longest stretch whose colours all keep 3:1 against ``background``."""
    from matplotlib import colormaps
    from matplotlib.colors import ListedColormap

    samples = colormaps[name](np.linspace(0.0, 1.0, 256))
    ok = np.array([contrast(tuple(float(v) for v in c[:3]), background) >= MARK_CONTRAST
                   for c in samples])
    best, start = (0, 0), None
    for i, good in enumerate(np.append(ok, False)):
        if good and start is None:
            start = i
        elif not good and start is not None:
            best = max(best, (start, i), key=lambda r: r[1] - r[0])
            start = None
    lo, hi = best if best[1] > best[0] else (0, 256)
    return ListedColormap(samples[lo:hi], name=f"{name}_readable")


def retention_chart(curves: RetentionCurves, labels: Sequence[str], size_px, style: ChartStyle,
                    contractual: bool) -> Figure:
    """Share of each channel's customers still active k turns after acquisition."""
    fig, (ax,) = _figure(size_px, style)
    share = curves.share
    for i, label in enumerate(labels):
        keep = curves.at_risk[i] >= 20       # fewer than 20 customers: noise, not a rate
        if keep.any():
            ax.plot(curves.ages[keep], share[i][keep], marker="o", ms=4, lw=2,
                    color=style.palette[i % len(style.palette)], label=label)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylim(0, 1.02)
    _integer_turns(ax)
    ax.set_xlabel("turns since acquisition")
    ax.set_ylabel("still members" if contractual else "bought in the turn")
    _title(ax, style, "Retention by channel" if contractual else "Repeat buying by channel")
    _legend(ax, style, loc="upper right")
    return fig


def acquisition_chart(turns: Sequence[int], acquired: np.ndarray, spend: np.ndarray,
                      labels: Sequence[str], size_px, style: ChartStyle) -> Figure:
    """Acquisitions per channel per turn (stacked bars) and cost per acquisition (lines).

    Args:
        turns: the turn of each column.
        acquired: (channels, turns) customers acquired.
        spend: (channels, turns) acquisition dollars.
    """
    fig, (left, right) = _figure(size_px, style, ncols=2, left_em=4.5)
    bottom = np.zeros(len(turns))
    for i, label in enumerate(labels):
        colour = style.palette[i % len(style.palette)]
        left.bar(turns, acquired[i], bottom=bottom, color=colour, label=label, width=0.8)
        bottom += acquired[i]
        cpa = np.divide(spend[i], acquired[i], out=np.full(len(turns), np.nan), where=acquired[i] > 0)
        right.plot(turns, cpa, marker="o", ms=4, lw=2, color=colour, label=label)
    _integer_turns(left, right)
    # Headroom above the tallest bar for the legend.
    left.set_ylim(0, max(1.0, float(bottom.max())) * 1.4)
    _title(left, style, "Customers acquired")
    left.set_xlabel("turn")
    _title(right, style, "Cost per acquisition")
    right.set_xlabel("turn")
    right.yaxis.set_major_formatter(_DOLLARS)
    _legend(left, style, loc="upper left")
    return fig


def rfm_chart(grid: RFMGrid, size_px, style: ChartStyle) -> Figure:
    """Recency x frequency grid: mean profit per customer (colour) and customers (number)."""
    fig, (ax,) = _figure(size_px, style)
    bins = grid.customers.shape[0]
    values = grid.mean_value if grid.mean_value is not None else grid.customers.astype(float)
    cmap = style.colormap()
    image = ax.imshow(values, origin="lower", cmap=cmap, aspect="auto")
    for r in range(bins):
        for f in range(bins):
            if grid.customers[r, f] == 0:
                continue
            mean = values[r, f]
            # Black or white, whichever reads better on this cell's colour.
            cell = image.to_rgba(mean)[:3]
            ax.text(f, r, f"{dollars(mean)}\n{grid.customers[r, f]:,}", ha="center", va="center",
                    fontsize=style.points * 1.05, color=best_text(tuple(float(v) for v in cell)))
    ax.set_xticks(range(bins), [str(i + 1) for i in range(bins)])
    ax.set_yticks(range(bins), [str(i + 1) for i in range(bins)])
    ax.set_xlabel("frequency score (5 = most purchases)")
    ax.set_ylabel("recency score (5 = most recent)")
    _title(ax, style, "RFM grid: mean profit per customer, and customers")
    bar = fig.colorbar(image, ax=ax, format=_DOLLARS)
    bar.ax.tick_params(colors=style.foreground, labelsize=style.points * 0.85)
    return fig


def clv_crv_chart(grid, size_px, style: ChartStyle) -> Figure:
    """The CLV x CRV matrix: customers per quadrant (colour), with each one's mean CLV and CRV.

    Args:
        grid: a ``sim.analytics.reports.ValueGrid``.
    """
    # Room on the left for two-line CRV ticks and the axis label beside them.
    fig, (ax,) = _figure(size_px, style, left_em=6.5)
    counts = grid.customers.astype(float)
    image = ax.imshow(counts, origin="lower", cmap=style.colormap(), aspect="auto")
    for row in range(2):
        for column in range(2):
            cell = image.to_rgba(counts[row, column])[:3]
            text = f"{grid.name(row, column)}\n{grid.customers[row, column]:,}"
            if grid.customers[row, column]:
                text += (f"\nCLV {dollars(grid.mean_clv[row, column])}"
                         f"\nCRV {dollars(grid.mean_crv[row, column])}")
            ax.text(column, row, text, ha="center", va="center", fontsize=style.points * 1.05,
                    color=best_text(tuple(float(v) for v in cell)))
    ax.set_xticks([0, 1], [f"CLV <= {dollars(grid.clv_cut)}", f"CLV > {dollars(grid.clv_cut)}"])
    ax.set_yticks([0, 1], [f"CRV\n<= {dollars(grid.crv_cut)}", f"CRV\n> {dollars(grid.crv_cut)}"])
    ax.set_xlabel("predicted lifetime value (what they buy)")
    ax.set_ylabel("predicted referral value (whom they bring)")
    _title(ax, style, "CLV x CRV: customers per quadrant")
    return fig


def clv_histogram(predicted_clv: np.ndarray, size_px, style: ChartStyle) -> Figure:
    """Distribution of predicted CLV; the tails beyond the 0.5th/99.5th percentiles are clipped."""
    fig, (ax,) = _figure(size_px, style)
    values = np.asarray(predicted_clv, dtype=float)
    values = values[np.isfinite(values)]
    if values.size:
        lo, hi = np.percentile(values, [0.5, 99.5])
        ax.hist(np.clip(values, lo, hi), bins=60, color=style.palette[0])
        ax.axvline(0, color=style.palette[5], lw=2, ls="--", label="zero: worth nothing more")
        ax.set_yscale("log")
        _legend(ax, style, loc="upper right")
    ax.xaxis.set_major_formatter(_DOLLARS)
    ax.set_xlabel("predicted CLV (tails clipped)")
    ax.set_ylabel("customers (log scale)")
    _title(ax, style, "Predicted customer lifetime value")
    return fig


def profit_chart(books: Sequence[TurnBooks], size_px, style: ChartStyle) -> Figure:
    """Profit per turn, warm-up turns shaded apart from the player's turns."""
    fig, (ax,) = _figure(size_px, style, left_em=4.8)
    turns = np.array([b.turn for b in books])
    profit = np.array([b.profit for b in books])
    colours = [style.palette[4] if t <= 0 else style.palette[0] for t in turns]
    ax.bar(turns, profit, color=colours)
    ax.axhline(0, color=style.foreground, lw=1)
    ax.yaxis.set_major_formatter(_DOLLARS)
    _integer_turns(ax)
    ax.set_xlabel("turn (light bars: before you took over)")
    _title(ax, style, "Profit per turn")
    return fig


# --- debrief -----------------------------------------------------------------------

def firm_value_chart(rows: Sequence[tuple[str, float, float]], player: str, size_px,
                     style: ChartStyle) -> Figure:
    """Firm value of each strategy split into discounted profit and the customer equity left.

    Args:
        rows: (label, discounted profit, equity left discounted), dollars at turn 1.
        player: the player's label (drawn in the accent colour).
    """
    fig, (ax,) = _figure(size_px, style, left_em=10.5)
    rows = sorted(rows, key=lambda r: r[1] + r[2])
    labels = [r[0] for r in rows]
    profit = np.array([r[1] for r in rows])
    equity = np.array([r[2] for r in rows])
    y = np.arange(len(rows))
    ax.barh(y, profit, color=style.palette[0], height=0.6, label="discounted profit")
    # Equity stacks on the profit where the profit is positive, from zero where it is not.
    ax.barh(y, equity, left=np.maximum(profit, 0.0), color=style.palette[2], height=0.6,
            label="equity left (discounted)")
    total = profit + equity
    ax.plot(total, y, "D", color=style.foreground, ms=6, label="firm value")
    for yi, (label, value) in enumerate(zip(labels, total)):
        right = max(value, profit[yi] + equity[yi], np.maximum(profit[yi], 0) + equity[yi])
        ax.text(right, yi, "  " + dollars(value), va="center", ha="left", color=style.foreground,
                fontsize=style.points * 0.85, fontweight="bold" if label == player else "normal")
    ax.set_yticks(y, labels)
    for tick, label in zip(ax.get_yticklabels(), labels):
        if label == player:
            tick.set_fontweight("bold")
    ax.axvline(0, color=style.foreground, lw=1)
    ax.xaxis.set_major_formatter(_DOLLARS)
    ax.margins(x=0.22, y=0.04)
    _spaced_x_ticks(ax, style)
    _title(ax, style, "Firm value = profit + customer equity left")
    legend = _legend(ax, style, loc="upper left", ncols=3)
    # Room above the top bar for the legend (several rows where the chart is narrow): the share
    # of the axes' height it takes, kept free of bars.
    renderer = fig.canvas.get_renderer()
    share = min(0.6, legend.get_window_extent(renderer).height / max(1.0, ax.get_window_extent(renderer).height)
                + 0.03)
    bottom, top_bar = -0.6, len(rows) - 0.4
    ax.set_ylim(bottom, (top_bar - share * bottom) / (1 - share))
    return fig


def decile_chart(service_share: Sequence[float], value_share: Sequence[float], size_px,
                 style: ChartStyle) -> Figure:
    """Where the service money went against where the value was, by true-value decile."""
    fig, (ax,) = _figure(size_px, style, left_em=4.2)
    x = np.arange(1, len(service_share) + 1)
    ax.bar(x - 0.2, service_share, width=0.4, color=style.palette[1], label="your service dollars")
    ax.bar(x + 0.2, value_share, width=0.4, color=style.palette[0], label="true customer value")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xticks(x)
    ax.set_xlabel("decile of customers by true value (1 = most valuable tenth)")
    _title(ax, style, "Where your money went, and where the value was")
    _legend(ax, style, loc="upper right")
    return fig


def lever_chart(partners: Sequence[str], acquisition: Sequence[float],
                service: Sequence[float | None], size_px, style: ChartStyle) -> Figure:
    """What the player's acquisition and service were worth against each partner's (signed bars).

    Args:
        partners: the reference each lever is swapped with.
        acquisition: firm value of (your acquisition + partner's service) - partner's, dollars.
        service: firm value of (partner's acquisition + your service) - partner's (None: not measurable).
    """
    fig, (ax,) = _figure(size_px, style, left_em=11.5)
    y = np.arange(len(partners))[::-1]
    height = 0.38
    for offset, values, colour, label in ((height / 2, acquisition, style.palette[1], "your acquisition"),
                                          (-height / 2, service, style.palette[0], "your service")):
        shown = [0.0 if v is None or not np.isfinite(v) else v for v in values]
        bars = ax.barh(y + offset, shown, height=height, color=colour, label=label)
        for bar, v in zip(bars, values):
            text = " not measurable" if v is None or not np.isfinite(v) else f" {dollars(v)} "
            ha = "left" if v is None or not np.isfinite(v) or v >= 0 else "right"
            ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, text, va="center", ha=ha,
                    color=style.foreground, fontsize=style.points * 0.85)
    ax.set_yticks(y, [f"vs {p}" for p in partners])
    ax.axvline(0, color=style.foreground, lw=1)
    ax.xaxis.set_major_formatter(_DOLLARS)
    ax.margins(x=0.3, y=0.08)
    ax.set_ylim(-0.6, len(partners) - 0.4 + 0.5)
    ax.set_xlabel("firm value your lever gained, same draws")
    _spaced_x_ticks(ax, style)
    _title(ax, style, "Each lever swapped with another strategy's")
    legend = _legend(ax, style, loc="upper right", ncols=2)
    renderer = fig.canvas.get_renderer()
    _keep_texts_inside(ax, renderer)
    _clear_of_legend(ax, legend, renderer)
    return fig


def channel_chart(labels: Sequence[str], spent: Sequence[float], value: Sequence[float], size_px,
                  style: ChartStyle) -> Figure:
    """Acquisition dollars by channel against the true value of the customers they bought."""
    fig, (ax,) = _figure(size_px, style, left_em=4.8)
    x = np.arange(len(labels))
    ax.bar(x - 0.2, spent, width=0.4, color=style.palette[1], label="acquisition dollars")
    ax.bar(x + 0.2, value, width=0.4, color=style.palette[2], label="true value bought")
    top = max([*spent, *value, 1.0])
    for xi, (s, v) in enumerate(zip(spent, value)):
        if s > 0:
            ax.text(xi, max(s, v, 0) + 0.03 * top, f"${v / s:,.2f} per $1", ha="center", va="bottom",
                    color=style.foreground, fontsize=style.points * 0.85, parse_math=False)
        elif v != 0:
            # Customers who came without acquisition dollars (friends customers brought).
            ax.text(xi, max(v, 0) + 0.03 * top, "no spend", ha="center", va="bottom",
                    color=style.foreground, fontsize=style.points * 0.85, parse_math=False)
    ax.set_xticks(x, labels)
    ax.axhline(0, color=style.foreground, lw=1)
    ax.yaxis.set_major_formatter(_DOLLARS)
    ax.set_ylim(min(0.0, min(value, default=0.0) * 1.15), top * 1.35)
    _title(ax, style, "Acquisition by channel: dollars spent against the value bought")
    legend = _legend(ax, style, loc="upper right", ncols=2)
    renderer = fig.canvas.get_renderer()
    _wrap_category_ticks(ax, labels, renderer)
    _clear_of_legend(ax, legend, renderer)
    return fig


def timeline_chart(turns: Sequence[int], profit: Sequence[float], mass_profit: Sequence[float],
                   alive: Sequence[int], size_px, style: ChartStyle) -> Figure:
    """Turn by turn: your profit against mass-marketing's, and your customers really alive."""
    fig, (left, right) = _figure(size_px, style, ncols=2, left_em=4.8)
    _integer_turns(left, right)
    left.plot(turns, profit, marker="o", lw=2.5, color=style.palette[1], label="you")
    left.plot(turns, mass_profit, marker="s", lw=2, color=style.palette[0], label="mass-marketing")
    left.axhline(0, color=style.foreground, lw=1)
    left.yaxis.set_major_formatter(_DOLLARS)
    left.set_xlabel("turn")
    _title(left, style, "Profit per turn")
    _legend(left, style, loc="best")
    right.bar(turns, alive, color=style.palette[2])
    right.set_xlabel("turn")
    _title(right, style, "Customers really alive (revealed)")
    return fig


def equity_chart(estimated: float, low: float, high: float, true: float, size_px,
                 style: ChartStyle) -> Figure:
    """Customer equity at the end: the lab's estimate (with its interval) against the truth."""
    fig, (ax,) = _figure(size_px, style, left_em=4.8)
    names = ["your lab's estimate", "the truth"]
    estimate = estimated if np.isfinite(estimated) else 0.0
    bars = ax.bar(names, [estimate, true], color=[style.palette[1], style.palette[0]], width=0.5)
    if np.isfinite(low) and np.isfinite(high):
        ax.errorbar([0], [estimate], yerr=[[estimate - low], [high - estimate]], fmt="none",
                    ecolor=style.foreground, capsize=10, lw=2)
    for bar, v, label in zip(bars, [estimated, true], ["", ""]):
        ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height() / 2,
                dollars(v) if np.isfinite(v) else "not estimated", ha="center", va="center",
                color="#ffffff", fontsize=style.points, fontweight="bold")
    ax.yaxis.set_major_formatter(_DOLLARS)
    ax.set_ylim(0, max(true, high if np.isfinite(high) else 0.0, estimate, 1.0) * 1.15)
    _title(ax, style, "Customer equity left at the end, both valued as the score does")
    return fig


def message_chart(message: str, size_px, style: ChartStyle) -> Figure:
    """A chart-sized panel saying why there is no chart yet (e.g. too little data)."""
    fig, (ax,) = _figure(size_px, style)
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True, color=style.foreground,
            fontsize=style.points * 1.0, transform=ax.transAxes)
    return fig
