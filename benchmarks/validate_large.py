"""How long ``ccsim validate`` takes on the largest scenario file it reads (issues 14, 21).

A valid scenario is small, so a large valid one is the coffee scenario with a
long briefing and comment block, just under the byte cap
(``sim.limits.MAX_SCENARIO_BYTES``, 8 MiB).  Also timed: a file of that size
made of list entries, refused (too many entries) before it is composed, and
a 50 MB file, refused by its size before it is read.  The "before" column
parses the same text with PyYAML's pure-Python safe loader, which is what
``load_scenario`` used until issue 14.

    PYTHONPATH=. python benchmarks/validate_large.py [--megabytes 8]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import yaml

from sim import limits
from sim._shipped import shipped_folder
from sim.errors import ScenarioError
from sim.scenario import load_scenario

SCENARIO_DIR = shipped_folder("scenarios")


def _valid(megabytes: float) -> str:
    coffee = (SCENARIO_DIR / "coffee.yaml").read_text(encoding="utf-8")
    line = "  The shop on the corner sells coffee to people who come back, or do not.\n"
    copies = int(megabytes * 1e6 / 2 / len(line))
    comment = "".join(f"# note {i}: {line.strip()}\n" for i in range(copies))
    return comment + coffee.replace("briefing: |\n", "briefing: |\n" + line * copies, 1)


def _many_entries(megabytes: float) -> str:
    count = int(megabytes * 1e6 / 10)
    coffee = (SCENARIO_DIR / "coffee.yaml").read_text(encoding="utf-8")
    return coffee + "notes: [" + ", ".join(f"{i * 0.5}" for i in range(count)) + "]\n"


def _time(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float,
                        default=limits.MAX_SCENARIO_BYTES / 1e6 * 0.9)
    parser.add_argument("--skip-before", action="store_true",
                        help="do not time the pure-Python loader (about 5 s at 8 MB)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for label, text, valid in (("valid (long text)", _valid(args.megabytes), True),
                                   ("entries (refused)", _many_entries(args.megabytes), False),
                                   ("50 MB (refused)", _valid(50.0), False)):
            path = Path(folder) / "big.yaml"
            path.write_text(text, encoding="utf-8")

            def load() -> None:
                try:
                    load_scenario(path)
                except ScenarioError as exc:
                    assert not valid, exc
                    print(f"  refused: {str(exc)[:100]}")
                else:
                    assert valid

            now = _time(load)
            before = (float("nan") if args.skip_before else
                      _time(lambda: yaml.load(text, Loader=yaml.SafeLoader)))  # noqa: S506
            print(f"{label:<22} {len(text) / 1e6:6.1f} MB  now {now:6.2f} s  "
                  f"before (pure-Python safe_load) {before:6.2f} s")


if __name__ == "__main__":
    main()
