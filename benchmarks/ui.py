"""UI speed: "End turn" to the results scene on screen, and the idle frame time.

Usage::

    SDL_VIDEODRIVER=dummy python benchmarks/ui.py [--prospects 200000] [--turns 5]

End turn covers everything the player waits for: the engine's turn, the
lab's predictions refreshed for every customer (models as last fitted),
the autosave (atomic write) and the results scene's first frame with its
chart.  Idle is the dashboard with its chart cached: the mean time of one
frame (events, widgets, drawing, flip), and the frame rate the game loop
holds with its 60 fps cap.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pygame  # noqa: E402

from sim.ui.app import App  # noqa: E402
from sim.ui.demo import press  # noqa: E402


def end_turn_seconds(app: App) -> float:
    """Seconds from the End-turn key to the first frame of the results scene."""
    press(app, pygame.K_e, frames=2)
    started = time.perf_counter()
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RETURN, mod=0, unicode="", scancode=0))
    for _ in range(10):
        app.frame(1 / 60)
        top = app.scenes.top
        if top.name == "results" and getattr(top, "_surface", None) is not None:
            return time.perf_counter() - started
    raise RuntimeError(f"End turn did not reach the results ({getattr(app.scenes.top, 'message', '')})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prospects", type=int, default=200_000)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--size", default="1280x720")
    args = parser.parse_args()
    width, _, height = args.size.partition("x")

    home = tempfile.mkdtemp(prefix="ccsim-bench-")
    app = App(size=(int(width), int(height)), home=home, scenario="coffee", seed=1, prospects=args.prospects,
              tour=False)
    press(app, pygame.K_n)
    started = time.perf_counter()
    press(app, pygame.K_RETURN, frames=2)
    start_s = time.perf_counter() - started
    customers = app.session.observation.n_customers

    times = []
    for _ in range(args.turns):
        times.append(end_turn_seconds(app))
        press(app, pygame.K_RETURN, frames=2)           # next turn: the dashboard

    app.pump(5)                                         # dashboard chart rendered and cached
    renders = app.charts.renders
    frames = 300
    t = time.perf_counter()
    app.pump(frames)
    idle_ms = (time.perf_counter() - t) / frames * 1000
    assert app.charts.renders == renders, "a chart was redrawn while idle"
    clock = pygame.time.Clock()
    t = time.perf_counter()
    for _ in range(120):
        app.frame(clock.tick(60) / 1000)
    capped_fps = 120 / (time.perf_counter() - t)

    print(f"coffee, {args.prospects:,} prospects, {customers:,} customers at turn 1, window {args.size}")
    print(f"new game (market, warm-up, first lab fit): {start_s:.2f} s")
    print(f"End turn -> results on screen, {len(times)} turns: median {statistics.median(times):.3f} s, "
          f"max {max(times):.3f} s (target < 0.5 s: {'met' if max(times) < 0.5 else 'NOT met'})")
    print(f"idle dashboard: {idle_ms:.2f} ms per frame uncapped ({1000 / idle_ms:.0f} fps possible); "
          f"{capped_fps:.1f} fps with the 60 fps cap; charts rendered while idle: 0")
    pygame.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
