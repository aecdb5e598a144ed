"""A holdout test from the tier builder to the results screen, with keys and clicks only."""

from __future__ import annotations

import os

import pygame

from sim.ui.app import App
from sim.ui.demo import click, pick, press, type_text
from ui_layout import layout_problems

PROSPECTS = 2500


def top(app):
    return app.scenes.top


def replace_text(app, entry, text: str) -> None:
    click(app, entry)
    press(app, pygame.K_a, mod=pygame.KMOD_CTRL)
    press(app, pygame.K_BACKSPACE)
    type_text(app, text)


def _shot(app, name: str) -> None:
    """Save the screen as a PNG into $SHOTS, when set (to look at the layout by eye)."""
    folder = os.environ.get("SHOTS")
    if folder:
        app.pump(1)
        pygame.image.save(app.screen, os.path.join(folder, name))


def test_a_tier_with_a_holdout_runs_as_a_test_and_the_results_compare_it(tmp_path):
    app = App(size=(1280, 720), home=tmp_path, scenario="direct_seller", seed=3, prospects=PROSPECTS,
              tour=False)
    app.pump(2)
    press(app, pygame.K_n)
    press(app, pygame.K_RETURN, frames=4)
    assert top(app).name == "dashboard"
    press(app, pygame.K_e)
    press(app, pygame.K_a)
    builder = top(app)
    assert builder.name == "rule"
    pick(app, builder.fields, "profit")
    builder = top(app)
    replace_text(app, builder.holdout_entry, "95")
    press(app, pygame.K_RETURN)
    assert "from 0 to 90" in builder.message
    replace_text(app, builder.holdout_entry, "25")
    press(app, pygame.K_RETURN)
    assert "held out as a control" in builder.outcome
    assert layout_problems(app, "rule builder with a holdout") == []
    _shot(app, "rule.png")
    replace_text(app, builder.name_entry, "keen test")
    press(app, pygame.K_RETURN)
    press(app, pygame.K_RETURN)                     # Add tier
    assert top(app).name == "decisions"
    tier = next(t for t in app.plan.tiers if t.name == "keen test")
    assert tier.holdout == 0.25
    assert layout_problems(app, "decisions with a test") == []
    _shot(app, "decisions.png")
    press(app, pygame.K_RETURN, frames=3)           # End turn
    results = top(app)
    assert results.name == "results", getattr(results, "message", "")
    decision = app.session.decisions[-1]
    index = next(i for i, t in enumerate(decision.tiers) if t.name == "keen test")
    assert decision.tiers[index].holdout == 0.25
    arm = app.session.observation.experiment_arm[:, -1]
    treated, control = int((arm == index + 1).sum()), int((arm == -(index + 1)).sum())
    assert treated > 0 and control > 0
    assert len(results.tests) == 1 and results.tests[0][0] == "keen test"
    assert results.tests[0][2] == f"{treated:,} / {control:,}"
    assert layout_problems(app, "results with a test") == []
    _shot(app, "results.png")
    # The lab's experiments view: the test turn by turn, the channels' cohorts per dollar.
    press(app, pygame.K_RETURN)
    press(app, pygame.K_l)
    lab = top(app)
    assert lab.name == "lab" and lab.view == "deciles"
    press(app, pygame.K_x)
    assert lab.view == "experiments"
    assert layout_problems(app, "lab experiments") == []
    _shot(app, "lab_experiments.png")
    press(app, pygame.K_x)
    assert lab.view == "deciles"
