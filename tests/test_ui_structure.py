"""The game window's structure, read from the code: one file per scene, scenes reached by name,
no import cycle, and the session interface as the only way to the game."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from conftest import ROOT, small

from sim.session import PlayerSession
from sim.session_api import GameSession

UI = ROOT / "sim" / "ui"
#: Modules that hold the engine, the truth or the scoring: no UI module may import them.
FORBIDDEN = ("sim.engine", "sim.runner", "sim.scoring", "sim.references", "sim.population", "sim.customers",
             "sim.behaviour", "sim.acquisition", "sim.strategies", "sim.tournament")
#: What only the local implementation has: the engine, the full scenario, the truth.
HIDDEN_ATTRIBUTES = ("game", "scenario_for_scoring", "_scenario", "truth", "_played")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def ui_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(UI.rglob("*.py"))}


def runtime_nodes(tree: ast.AST):
    """Every node of ``tree`` except those under ``if TYPE_CHECKING:`` (never run)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and getattr(child.test, "id", getattr(child.test, "attr", "")) \
                    == "TYPE_CHECKING":
                stack.extend(child.orelse)
                continue
            stack.append(child)


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports when it runs, anywhere in it (inside functions too), as
    absolute names; imports only for type checkers (``if TYPE_CHECKING:``) are not run."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            found.add(module)
            # "from . import draw" imports the module sim.ui.draw.
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return {m for m in found if m.split(".")[0] == "sim"}


def test_every_ui_module_imports_without_a_cycle():
    modules = ui_modules()
    graph = {m: {i for i in imports(p) if i in modules and i != m} for m, p in modules.items()}
    # Packages import their own modules to register them; a module importing its package is a cycle.
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(m, path):
        state[m] = 1
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycle.extend(path + [m, n])
                return True
            if n not in state and visit(n, path + [m]):
                return True
        state[m] = 2
        return False

    for m in sorted(graph):
        if m not in state and visit(m, []):
            break
    assert cycle == [], " -> ".join(cycle)


def test_scenes_never_import_each_other_and_the_app_only_through_the_registry():
    scenes = {m: p for m, p in ui_modules().items() if m.startswith("sim.ui.scenes.")}
    assert len(scenes) >= 10
    for name, path in scenes.items():
        others = {i for i in imports(path) if i.startswith("sim.ui.scenes.") and i != name}
        assert others == set(), f"{name} imports {others}"
        assert "sim.ui.app" not in imports(path), name


def test_one_scene_per_file_each_registered_by_its_name():
    from sim.ui import scenes  # noqa: F401
    from sim.ui.scene import REGISTRY, Scene

    files = sorted((UI / "scenes").glob("*.py"))
    defined = {}
    for path in files:
        if path.name == "__init__.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        classes = [n for n in tree.body if isinstance(n, ast.ClassDef)
                   and any(getattr(d, "id", "") == "register" for d in n.decorator_list)]
        assert len(classes) == 1, f"{path.name}: {len(classes)} registered scenes"
        defined[path.stem] = classes[0].name
    assert {cls.__name__ for cls in REGISTRY.values()} == set(defined.values())
    assert all(issubclass(cls, Scene) and cls.name == name for name, cls in REGISTRY.items())
    for name in ("title", "settings", "briefing", "dashboard", "lab", "decisions", "results", "debrief",
                 "rule", "glossary", "guide", "confirm"):
        assert name in REGISTRY


@pytest.mark.parametrize("path", sorted(UI.rglob("*.py")), ids=lambda p: str(p.relative_to(UI)))
def test_no_ui_module_reaches_the_engine_or_the_truth(path):
    bad = {i for i in imports(path) if i.startswith(FORBIDDEN)}
    assert bad == set(), f"imports {bad}"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    reached = sorted({n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr in HIDDEN_ATTRIBUTES})
    assert reached == [], f"reaches {reached}"


def protocol_members() -> set[str]:
    members = set(GameSession.__annotations__)
    members |= {n for n, v in vars(GameSession).items() if not n.startswith("_")
                and (callable(v) or isinstance(v, property))}
    return members


def test_every_use_of_the_session_in_the_ui_is_a_member_of_the_session_interface():
    members = protocol_members()
    used = {}
    for path in UI.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            # session.X, self.session.X, app.session.X, self.app.session.X
            if isinstance(node, ast.Attribute) and isinstance(node.value, (ast.Attribute, ast.Name)):
                owner = node.value.attr if isinstance(node.value, ast.Attribute) else node.value.id
                if owner == "session":
                    used.setdefault(node.attr, set()).add(path.name)
    assert used, "the UI must use the session"
    outside = {k: v for k, v in used.items() if k not in members}
    assert outside == {}, f"used but not in GameSession: {outside}"


def test_the_local_session_implements_the_interface(tmp_path):
    session = PlayerSession.new(small("coffee", 1500), seed=1, autosave=tmp_path / "a.json")
    assert isinstance(session, GameSession)
    for name in protocol_members():
        assert hasattr(session, name), name
        declared = getattr(GameSession, name, None)
        if callable(declared):
            mine = inspect.signature(getattr(PlayerSession, name))
            theirs = inspect.signature(declared)
            assert list(mine.parameters) == list(theirs.parameters), name
