"""Architecture rules: the engine never imports pygame; no global random state."""

from __future__ import annotations

import pkgutil
import re
import subprocess
import sys

from conftest import ROOT

import sim


def test_sim_never_imports_pygame():
    modules = [m.name for m in pkgutil.walk_packages(sim.__path__, "sim.")
               if not m.name.startswith("sim.ui")]
    code = ("import sys; sys.path.insert(0, %r)\n" % str(ROOT)
            + "".join(f"import {m}\n" for m in modules if m != "sim.__main__")
            + "print(sorted(k for k in sys.modules if k.split('.')[0] in ('pygame', 'pygame_gui')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_global_random_state():
    pattern = re.compile(r"np\.random\.(seed|rand|randn|random|normal|poisson|gamma|choice|uniform)\(|"
                         r"^\s*import random\b|random\.seed\(", re.M)
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "sim").rglob("*.py")
                 if pattern.search(p.read_text())]
    assert offenders == []


def test_no_seed_plus_i():
    pattern = re.compile(r"seed\s*\+\s*\w")
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "sim").rglob("*.py")
                 if pattern.search(p.read_text())]
    assert offenders == []
