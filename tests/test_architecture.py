"""Architecture rules: the layers of docs/design.md, pygame only in the UI, no global random state.

The layer rules are read from the table in docs/design.md ("Layers: which
part may import which"), so the document and the test cannot drift apart:
every module of ``sim`` must belong to exactly one part, and every import in
it (at module level or inside a function, read with ``ast``) must be of a
part its row allows.
"""

from __future__ import annotations

import ast
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

import sim

DESIGN = ROOT / "docs" / "design.md"


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


# ------------------------------------------------------------------ layers

def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _is_module(name: str) -> bool:
    path = ROOT / Path(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports_of(path: Path) -> set[str]:
    """The ``sim`` modules a file imports, wherever the import statement is."""
    return imports_in(path.read_text(encoding="utf-8"), _module_name(path),
                      path.name == "__init__.py")


def imports_in(source: str, module: str, is_package: bool) -> set[str]:
    """The ``sim`` modules ``source`` (the text of ``module``) imports, at any depth."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "sim")
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, is_package, node)
            if target.split(".")[0] != "sim":
                continue
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                found.add(candidate if _is_module(candidate) else target)
    return found - {module}


def layer_table(text: str) -> tuple[dict[str, list[str]], dict[str, set[str]]]:
    """(part -> module patterns, part -> parts it may import) from docs/design.md's table."""
    section = text[text.index("### Layers: which part may import which"):]
    table = []
    for line in section.splitlines()[1:]:
        if line.startswith("|"):
            table.append(line)
        elif table:
            break
    rows = [line for line in table[1:] if not line.startswith("|---")]
    order: list[str] = []
    members: dict[str, list[str]] = {}
    cells: dict[str, str] = {}
    for row in rows:
        part, modules, allowed = [cell.strip() for cell in row.strip().strip("|").split("|")]
        order.append(part)
        members[part] = re.findall(r"`([^`]+)`", modules)
        if "the `sim` package itself" in modules:
            members[part] = [m for m in members[part] if m != "sim"] + ["<package>"]
        cells[part] = allowed
    may: dict[str, set[str]] = {}
    for index, part in enumerate(order):
        allowed = cells[part]
        if allowed == "everything":
            may[part] = set(order)
            continue
        names: set[str] = set()
        for item in (piece.strip() for piece in allowed.split(",")):
            above = re.fullmatch(r"all the parts above(?: except (.+))?", item)
            if above:
                names |= set(order[:index]) - {x.strip() for x in (above.group(1) or "").split(" and ")}
            else:
                assert item in order, f"docs/design.md layer table: unknown part {item!r} in {part}"
                names.add(item)
        may[part] = names
    return members, may


MEMBERS, MAY_IMPORT = layer_table(DESIGN.read_text(encoding="utf-8"))


def part_of(module: str) -> str:
    """The part a module belongs to (the most specific pattern of the table)."""
    if module == "sim":
        candidates = [part for part, patterns in MEMBERS.items() if "<package>" in patterns]
        assert len(candidates) == 1
        return candidates[0]
    inner = module[len("sim."):]
    matches = []
    for part, patterns in MEMBERS.items():
        for pattern in patterns:
            if pattern.endswith("/"):
                folder = pattern[:-1].replace("/", ".")
                if inner == folder or inner.startswith(folder + "."):
                    matches.append((len(folder), part))
            elif inner == pattern.removesuffix(".py"):
                matches.append((len(inner) + 1000, part))
    assert matches, f"{module} belongs to no part of docs/design.md's layer table"
    return max(matches)[1]


SIM_FILES = sorted((ROOT / "sim").rglob("*.py"))


def test_the_layer_table_names_every_part_and_only_modules_that_exist():
    assert len(MEMBERS) >= 8
    for part, patterns in MEMBERS.items():
        for pattern in patterns:
            if pattern == "<package>":
                continue
            assert _is_module("sim." + pattern.removesuffix("/").replace("/", ".")), \
                f"docs/design.md names {pattern} in {part}, which does not exist"


@pytest.mark.parametrize("path", SIM_FILES, ids=[_module_name(p) for p in SIM_FILES])
def test_every_import_follows_the_layer_rules(path):
    module = _module_name(path)
    part = part_of(module)
    broken = sorted(f"{imported} ({part_of(imported)})" for imported in imports_of(path)
                    if part_of(imported) not in MAY_IMPORT[part])
    assert broken == [], (f"{module} ({part}) may import only {sorted(MAY_IMPORT[part])}, "
                          f"but imports {broken}")


def test_the_rules_the_issue_names_hold():
    assert not {"play", "presentation", "tournaments", "window", "command line"} & MAY_IMPORT["engine"]
    assert "engine" not in MAY_IMPORT["lab"] and "scoring" not in MAY_IMPORT["lab"]
    assert part_of("sim.runner") not in MAY_IMPORT["scoring"]
    assert part_of("sim.engine") not in MAY_IMPORT[part_of("sim.ui.app")]


LATE_IMPORT = """
import numpy as np

def play():
    from .runner import play_game
    if True:
        import sim.ui.app
    return play_game
"""


def test_imports_inside_functions_are_seen_and_refused():
    found = imports_in(LATE_IMPORT, "sim.engine", is_package=False)
    assert found == {"sim.runner", "sim.ui.app"}
    assert {part_of(m) for m in found} & MAY_IMPORT["engine"] == set()
