"""UI speed: "End turn" to the results scene on screen, the idle frame time, and the reveal.

Usage::

    SDL_VIDEODRIVER=dummy python benchmarks/ui.py [--prospects 200000] [--cold]

A whole game of coffee is played through the window with the pre-filled
plan.  End turn covers everything the player waits for: the engine's turn,
the lab's predictions refreshed for every customer (models as last
fitted), the autosave (atomic write) and the results scene's first frame
with its chart.  Idle is the dashboard with its chart cached: the mean time
of one frame (events, widgets, drawing, flip), and the frame rate the game
loop holds with its 60 fps cap.

The reveal is timed from the last results screen's Enter to the debrief
ready on screen (its first chart drawn).  The reference games start in
background workers when the game starts; a student takes minutes over a
game, so before the last turn the benchmark waits until they are played
(it says how long they took) -- unless ``--cold``, which times the reveal
with nothing played beforehand.
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

from sim import references  # noqa: E402
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


def wait_for_background_references(app: App) -> None:
    """Wait until the reference games started with the session are all played."""
    scenario, seed = app.session.scenario_for_scoring, app.session.seed
    while any(references.pending(scenario, n, seed) for n in references.REFERENCES):
        time.sleep(0.05)


def reveal_seconds(app: App) -> tuple[float, list[str]]:
    """Seconds from the last results screen's Enter to the debrief ready with its chart; the games named."""
    named = []
    started = time.perf_counter()
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RETURN, mod=0, unicode="", scancode=0))
    while True:
        app.frame(1 / 60)
        top = app.scenes.top
        if top.name == "debrief":
            if top.error:
                raise RuntimeError(top.error)
            what = top.progress[0]
            if not named or named[-1] != what:
                named.append(what)
            if top.ready and top._surface is not None:
                return time.perf_counter() - started, named
        time.sleep(0.01)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prospects", type=int, default=200_000)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--cold", action="store_true",
                        help="time the reveal without the references played in the background first")
    args = parser.parse_args()
    width, _, height = args.size.partition("x")

    home = tempfile.mkdtemp(prefix="ccsim-bench-")
    app = App(size=(int(width), int(height)), home=home, scenario="coffee", seed=1, prospects=args.prospects,
              tour=False)
    press(app, pygame.K_n)
    started = time.perf_counter()
    press(app, pygame.K_RETURN, frames=2)
    start_s = time.perf_counter() - started
    game_started = time.perf_counter()
    customers = app.session.observation.n_customers
    if args.cold:
        references.shutdown_background()
        references.clear_cache()

    times = []
    turns = app.session.public.turns
    background_s = None
    for turn in range(1, turns + 1):
        if turn == turns and not args.cold:
            wait_for_background_references(app)
            background_s = time.perf_counter() - game_started
        times.append(end_turn_seconds(app))
        if turn == 2:
            press(app, pygame.K_RETURN, frames=2)       # the dashboard
            app.pump(5)                                 # its chart rendered and cached
            idle = measure_idle(app)
        elif turn < turns:
            press(app, pygame.K_RETURN, frames=2)       # next turn: the dashboard
    reveal_s, named = reveal_seconds(app)

    print(f"coffee, {args.prospects:,} prospects, {customers:,} customers at turn 1, window {args.size}")
    print(f"new game (market, warm-up, first lab fit, background workers): {start_s:.2f} s")
    print(f"End turn -> results on screen, {len(times)} turns: median {statistics.median(times):.3f} s, "
          f"max {max(times):.3f} s (target < 0.5 s: {'met' if max(times) < 0.5 else 'NOT met'})")
    print(f"idle dashboard: {idle[0]:.2f} ms per frame uncapped ({1000 / idle[0]:.0f} fps possible); "
          f"{idle[1]:.1f} fps with the 60 fps cap; charts rendered while idle: 0")
    if background_s is not None:
        print(f"reference games in the background: done {background_s:.1f} s after the game started")
    print(f"reveal ({'cold' if args.cold else 'references played in the background'}): {reveal_s:.2f} s "
          f"(target < 10 s: {'met' if reveal_s < 10 else 'NOT met'}); progress named: "
          + "; ".join(named))
    with open("/proc/loadavg") as f:
        print(f"load average {f.read().split()[0]}, {time.strftime('%Y-%m-%d')}")
    references.shutdown_background()
    pygame.quit()
    return 0


def measure_idle(app: App) -> tuple[float, float]:
    """(ms per idle dashboard frame uncapped, frames per second under the 60 fps cap)."""
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
    return idle_ms, 120 / (time.perf_counter() - t)


if __name__ == "__main__":
    sys.exit(main())
