"""Readable from the back of the room: every text colour at least 4.5:1 against what it is drawn on,
every chart mark at least 3:1 against the chart's background (WCAG 2.1, 1.4.3 and 1.4.11).

Samples the widget theme (assets/theme.json), the colours painted by
``sim/ui/draw.py``, the charts' palettes and colour maps (``sim/charts.py``)
on the screen's dark background and the report's white one.  Text size does
not change a colour, so this holds in normal and large text alike.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from sim import charts
from sim.colour import MARK_CONTRAST, TEXT_CONTRAST, best_text, contrast, readable, rgb
from sim.ui import draw
from sim.ui.assets import assets_dir

#: (text colour id, background colour id) pairs pygame_gui draws (buttons, fields, lists, tooltips).
THEME_PAIRS = (("normal_text", "normal_bg"), ("hovered_text", "hovered_bg"), ("selected_text", "selected_bg"),
               ("active_text", "active_bg"), ("disabled_text", "disabled_bg"), ("normal_text", "dark_bg"),
               ("disabled_text", "disabled_dark_bg"))


def theme_blocks():
    theme = json.loads((assets_dir() / "theme.json").read_text(encoding="utf-8"))
    defaults = theme["defaults"]["colours"]
    for name, block in theme.items():
        colours = {**defaults, **block.get("colours", {})}
        yield name, colours


def opaque(colour: str) -> bool:
    return not (isinstance(colour, str) and len(colour.lstrip("#")) == 8 and colour.lstrip("#")[6:] == "00")


@pytest.mark.parametrize("name, colours", list(theme_blocks()), ids=[n for n, _ in theme_blocks()])
def test_every_widget_text_colour_has_4_5_to_1(name, colours):
    for text, background in THEME_PAIRS:
        if text in colours and background in colours and opaque(colours[background]):
            ratio = contrast(colours[text], colours[background])
            assert ratio >= TEXT_CONTRAST, f"{name}: {text} on {background}: {ratio:.2f}:1"
    if "dark_bg" in colours and not opaque(colours["dark_bg"]):
        # A transparent label: its text lies on the screen's own backgrounds.
        for background in draw.TEXT_BACKGROUNDS:
            assert contrast(colours["normal_text"], background) >= TEXT_CONTRAST, name


@pytest.mark.parametrize("colour", draw.TEXT_COLOURS, ids=str)
@pytest.mark.parametrize("background", draw.TEXT_BACKGROUNDS, ids=str)
def test_every_painted_text_colour_has_4_5_to_1_on_every_background(colour, background):
    assert contrast(colour, background) >= TEXT_CONTRAST, f"{contrast(colour, background):.2f}:1"


def test_tooltips_and_chart_text_have_4_5_to_1():
    assert contrast(draw.TOOLTIP_TEXT, draw.TOOLTIP_BG) >= TEXT_CONTRAST
    assert contrast(draw.CHART_FG, draw.CHART_BG) >= TEXT_CONTRAST
    assert contrast(charts.ChartStyle().foreground, charts.ChartStyle().background) >= TEXT_CONTRAST


STYLES = [(palette, background) for palette in charts.PALETTES for background in (draw.CHART_BG, "#ffffff")]


@pytest.mark.parametrize("palette, background", STYLES, ids=[f"{p}-{b}" for p, b in STYLES])
def test_every_chart_mark_has_3_to_1_against_its_background(palette, background):
    style = charts.ChartStyle(charts.PALETTES[palette], 14.0, background)
    for colour in style.palette:
        assert contrast(colour, background) >= MARK_CONTRAST, f"{colour}: {contrast(colour, background):.2f}:1"
    cmap = style.colormap()
    for x in np.linspace(0, 1, 33):
        cell = tuple(float(v) for v in cmap(x)[:3])
        assert contrast(cell, background) >= MARK_CONTRAST, f"{style.sequential}({x:.2f})"
        # The numbers written on an RFM cell are black or white, whichever reads better.
        assert contrast(best_text(cell), cell) >= TEXT_CONTRAST


def test_the_rfm_grid_on_screen_has_no_cell_lost_in_the_background():
    from sim.analytics.reports import RFMGrid

    style = charts.ChartStyle(charts.PALETTES["colour-blind safe"], 14.0, draw.CHART_BG, draw.CHART_FG)
    grid = RFMGrid(customers=np.ones((5, 5), dtype=int), mean_value=np.linspace(-100, 900, 25).reshape(5, 5))
    fig = charts.rfm_chart(grid, (600, 400), style)
    image = fig.axes[0].images[0]
    cells = image.to_rgba(grid.mean_value)[..., :3].reshape(-1, 3)
    assert min(contrast(tuple(c), draw.CHART_BG) for c in cells) >= MARK_CONTRAST
    for text in fig.axes[0].texts:
        x, y = (int(round(v)) for v in text.get_position())
        assert contrast(text.get_color(), tuple(cells[y * 5 + x])) >= TEXT_CONTRAST


def test_readable_keeps_good_colours_and_mends_faint_ones():
    assert readable("#e69f00", "#16202a") == "#e69f00"
    mended = readable("#000000", "#1f2b38")             # Okabe-Ito's black on the dark screen
    assert contrast(mended, "#1f2b38") >= MARK_CONTRAST
    assert contrast(readable("#f0e442", "#ffffff"), "#ffffff") >= MARK_CONTRAST
    assert rgb("#0072B2") == (0, 114, 178) and rgb((0.0, 0.5, 1.0)) == (0, 128, 255)
    assert contrast("#ffffff", "#000000") == pytest.approx(21.0)
