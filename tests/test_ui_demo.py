"""`ccsim demo` (a PNG of every scene) and `ccsim report` (HTML + PNGs from a record)."""

from __future__ import annotations

import re

import numpy as np
import pygame
import pytest

from sim.cli import main

SCENES = ("title", "confirm_quit", "settings", "briefing", "guide", "dashboard_whale", "dashboard_cohorts",
          "dashboard_retention", "dashboard_acquisition", "dashboard_rfm", "glossary", "lab", "new_tier", "decisions",
          "decisions_refused", "results", "debrief_progress", "debrief_firm_value", "debrief_levers",
          "debrief_channels", "debrief_money", "debrief_equity", "debrief_timeline", "debrief_strategies",
          "debrief_lever_table", "debrief_turns", "debrief_exported")


@pytest.mark.parametrize("argv, size, scenes", [
    ((), (1280, 720), SCENES),
    # Large text: the dashboard shows charts and the customer table one at a time (a sixth tab).
    (("--large-text", "--size", "1280x720"), (1280, 720),
     SCENES[:10] + ("dashboard_customers",) + SCENES[10:])])
def test_demo_saves_one_screenshot_per_scene(tmp_path, capsys, argv, size, scenes):
    out = tmp_path / "shots"
    assert main(["demo", "--screenshots", str(out), "--prospects", "2000", "--seed", "2", *argv]) == 0
    files = sorted(out.glob("*.png"))
    assert [re.sub(r"^\d+_", "", f.stem) for f in files] == list(scenes)
    for f in files:
        image = pygame.image.load(str(f))
        assert image.get_size() == size
        pixels = pygame.surfarray.array3d(image).reshape(-1, 3)
        # Every screen has text and content: far more than a handful of colours.
        assert len(np.unique(pixels[::7], axis=0)) > 40, f.name
    assert capsys.readouterr().out.count(".png") == len(scenes)


def test_report_from_a_record_writes_html_and_charts(tmp_path, capsys):
    record = tmp_path / "game.json"
    assert main(["run", "coffee", "--strategy", "customer-centric", "--seed", "3", "--prospects", "3000",
                 "--record", str(record)]) == 0
    out = tmp_path / "report"
    assert main(["report", str(record), "--out", str(out)]) == 0
    page = (out / "index.html").read_text()
    from sim.report import DEBRIEF_STEMS

    for stem in DEBRIEF_STEMS:
        assert (out / f"{stem}.png").stat().st_size > 5000
        assert f'src="{stem}.png"' in page
    assert "centricity score" in page and "Each lever swapped" in page
    assert "http" not in page.split("</style>")[0]      # nothing fetched from elsewhere
    # The firm value in the report is the one the record claims (the replay is exact).
    claimed = __import__("json").loads(record.read_text())["scores"]["firm_value"]
    assert f"${claimed:,.0f}" in page


def test_report_of_a_broken_record_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert main(["report", str(bad), "--out", str(tmp_path / "r")]) == 2
    assert capsys.readouterr().err.startswith("error: bad.json")
