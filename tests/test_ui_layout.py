"""Every scene the demo visits, on every shipped scenario, at every window size and in large text:
nothing clipped, nothing overlapping, everything inside its panel and the window
(checked on the rectangles of the texts as drawn and of the widgets: ``ui_layout``; and
inside each chart, on the extents of its texts: ``sim.ui.draw.chart_text_problems``)."""

from __future__ import annotations

import pygame
import pytest

from conftest import SCENARIOS
from ui_layout import layout_problems

from sim.ui import draw
from sim.ui.demo import run_demo

#: (window size, large text): large text at 1280x720 (a projector), the default elsewhere.
MODES = (((1280, 720), True), ((1024, 768), False), ((1280, 720), False), ((1920, 1080), False))


def check_every_mode(app, name: str, problems: list[str]) -> None:
    """Lay the scene on screen out in every mode, check it and its charts, and put the first mode back."""
    for size, large in MODES:
        where = f"{name} {size[0]}x{size[1]}{' large' if large else ''}"
        draw.CHART_PROBLEMS.clear()
        app.large_text = large
        app.resize(size)
        app.pump(2)
        # Large text at 1280x720: every text at least 20 px, painted or on a widget.
        problems += layout_problems(app, where, smallest=20 if large and size == (1280, 720) else 0)
        problems += [f"{where}: {p}" for p in draw.CHART_PROBLEMS]
    size, large = MODES[0]
    app.large_text = large
    app.resize(size)
    app.pump(1)


@pytest.fixture
def chart_checks():
    """Check the texts of every chart rendered (cut by the chart's edge, overlapping)."""
    draw.CHART_PROBLEMS = []
    yield
    draw.CHART_PROBLEMS = None


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_no_text_is_clipped_or_overlaps_in_any_scene_at_any_size(tmp_path, scenario, chart_checks):
    problems: list[str] = []
    shots = run_demo(tmp_path / "shots", MODES[0][0], scenario, seed=2, prospects=2000, home=tmp_path / "home",
                     large_text=MODES[0][1], on_shot=lambda app, name: check_every_mode(app, name, problems))
    assert len(shots) >= 20
    assert problems == []


def test_large_text_is_at_least_20_px_and_charts_16_px_at_1280x720(tmp_path):
    from sim import charts
    from sim.ui.app import App
    from sim.ui.typography import CHART_SMALLEST, ROLES

    app = App(size=(1280, 720), home=tmp_path, large_text=True, tour=False)
    t = app.typography
    assert min(t.size(role) for role in ROLES if role != "chart") >= 20
    assert t.chart_px() * CHART_SMALLEST >= 16
    # The charts' smallest text (legends, notes, colour-bar ticks) is CHART_SMALLEST x the body size.
    style = charts.ChartStyle(font_px=t.chart_px())
    fig = charts.rfm_chart(_grid(), (800, 500), style)
    sizes = [text.get_fontsize() for ax in fig.axes for text in ax.findobj(
        lambda a: hasattr(a, "get_fontsize") and getattr(a, "get_text", lambda: "")())]
    assert min(sizes) * charts.DPI / 72 >= 16 - 1e-6
    pygame.quit()


def _grid():
    import numpy as np

    from sim.analytics.reports import RFMGrid

    customers = np.arange(25).reshape(5, 5) + 1
    return RFMGrid(customers=customers, mean_value=np.linspace(-50, 400, 25).reshape(5, 5))


def test_the_chart_check_sees_a_title_cut_by_the_edge_and_the_charts_avoid_it():
    from sim import charts

    style = charts.ChartStyle(font_px=19.5)
    fig, (ax,) = charts._figure((500, 300), style)
    title = "What each lever was worth (firm value vs mass-marketing)"
    ax.set_title(title, fontsize=style.points * 1.15)
    charts.rgba_buffer(fig)
    assert any("cut by the chart's edge" in p and "lever" in p for p in draw.chart_text_problems(fig))
    # Each lever swapped with three partners' (the debrief's lever chart), at its size in large text.
    fig = charts.lever_chart(["mass-marketing", "customer-centric", "oracle"], [-17000.0, 1400.0, -160000.0],
                             [2500.0, None, -31000.0], (700, 290), style)
    charts.rgba_buffer(fig)
    assert draw.chart_text_problems(fig) == []
