"""Packaging: a wheel built from the tree plays the shipped scenarios from any folder.

The wheel test builds from a copy of the tree, installs the wheel with
``--no-deps`` into a fresh venv that reuses this environment's numpy, scipy
and pyyaml (no download), and runs the installed ``ccsim`` from an unrelated
folder, so nothing can come from the source tree.  Also: every package is
listed in ``pyproject.toml``, and nothing in the repository points outside it.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import site
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from conftest import ROOT, SCENARIOS
from sim._version import __version__

#: What a wheel is built from: the package, its data folders and metadata files.
TREE = ("pyproject.toml", "README.md", "LICENSE", "sim", "scenarios", "assets")


def _missing_tools() -> str | None:
    for module in ("venv", "pip"):
        if importlib.util.find_spec(module) is None:
            return f"the {module} module is not available to {sys.executable}"
    return None


def _setuptools_version() -> tuple[int, ...]:
    # From the metadata: importing setuptools here would meddle with distutils.
    try:
        version = metadata.version("setuptools")
    except metadata.PackageNotFoundError:
        return (0,)
    return tuple(int(x) for x in re.findall(r"\d+", version)[:2])


def _run(argv: list, cwd: Path, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.skipif(_missing_tools() is not None, reason=_missing_tools() or "")
def test_wheel_installed_in_a_fresh_venv_plays_from_any_folder(tmp_path):
    # 1. Build a wheel from a copy of the tree (the build writes build/ and
    #    *.egg-info next to its sources; the working tree stays clean).
    src = tmp_path / "src"
    src.mkdir()
    for name in TREE:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, src / name)
    build = [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-w", tmp_path / "dist"]
    if _setuptools_version() >= (77,):
        build.append("--no-build-isolation")  # offline: `make test` installs setuptools
    built = _run(build, src, timeout=180)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp_path / "dist").glob("ccsim-*.whl")

    names = zipfile.ZipFile(wheel).namelist()
    for scenario in SCENARIOS:
        assert f"sim/_shipped/scenarios/{scenario}.yaml" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not [n for n in names if n.startswith(("data/", "tests/", "examples/", "scenarios/"))]
    metadata = zipfile.ZipFile(wheel).read(f"ccsim-{__version__}.dist-info/METADATA").decode()
    assert "License-Expression: MIT" in metadata

    # 2. A fresh venv; numpy and friends come from this environment through a
    #    .pth line (--system-site-packages alone misses them when this is a venv).
    venv = tmp_path / "venv"
    made = _run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv], tmp_path)
    assert made.returncode == 0, made.stderr
    python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    target = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path)
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], *site.getsitepackages()}
    (Path(target.stdout.strip()) / "_ccsim_test_deps.pth").write_text(
        "\n".join(sorted(p for p in ours if Path(p).is_dir())) + "\n")
    installed = _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps",
                      "--no-index", wheel], tmp_path)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    # 3. The installed ccsim, run from a folder that has nothing of the project.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    ccsim = venv / ("Scripts" if os.name == "nt" else "bin") / "ccsim"

    where = _run([python, "-c", "import sim; print(sim.__file__)"], elsewhere, env)
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout + where.stderr

    run = _run([ccsim, "run", "coffee", "--strategy", "do-nothing", "--seed", "1",
                "--prospects", "2000"], elsewhere, env)
    assert run.returncode == 0, run.stderr
    assert "firm value" in run.stdout

    listed = _run([ccsim, "scenarios"], elsewhere, env)
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()
            if line and not line[0].isspace()] == SCENARIOS

    version = _run([ccsim, "--version"], elsewhere, env)
    assert (version.returncode, version.stdout.strip()) == (0, f"ccsim {__version__}")

    shutil.copy2(ROOT / "examples" / "bots" / "even_bot.py", elsewhere / "even_bot.py")
    bot = _run([ccsim, "run", "meal_kit", "--strategy", "even_bot.py", "--prospects", "2000"],
               elsewhere, env)
    assert bot.returncode == 0, bot.stderr
    assert "firm value" in bot.stdout

    missing = _run([ccsim, "run", "coffee2"], elsewhere, env)
    assert missing.returncode == 2
    assert ("error: coffee2: no such file and no shipped scenario of that name "
            f"(shipped: {', '.join(SCENARIOS)})") in missing.stderr


def test_pyproject_lists_every_package():
    # The packages are listed by hand (the data packages are mapped from
    # top-level folders), so a new subpackage must be added there too.
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "sim").rglob("__init__.py")}
    assert on_disk <= listed, f"add to pyproject.toml [tool.setuptools] packages: {sorted(on_disk - listed)}"
    mapped = config["tool"]["setuptools"]["package-dir"]
    assert mapped == {"sim._shipped.scenarios": "scenarios", "sim._shipped.assets": "assets"}
    assert config["project"]["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")


def test_version_without_metadata_is_the_constant(capsys):
    from sim.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"ccsim {__version__}"


def test_shipped_scenarios_come_from_the_shipped_folder():
    from sim._shipped import shipped_folder
    from sim.scenario import resolve_scenario_path

    folder = shipped_folder("scenarios")
    assert sorted(p.name for p in folder.iterdir() if p.name.endswith(".yaml")) == \
        [f"{name}.yaml" for name in SCENARIOS]
    assert resolve_scenario_path("coffee").read_text(encoding="utf-8") == \
        (ROOT / "scenarios" / "coffee.yaml").read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="unknown shipped folder 'fonts'"):
        shipped_folder("fonts")


def test_nothing_points_outside_the_repository():
    # Users' clones have no ../shared: docs, code and tests must not need it.
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if tracked.returncode != 0:
        pytest.skip("not a git checkout")
    offenders = []
    for name in tracked.stdout.splitlines():
        path = ROOT / name
        if (path.suffix not in {".py", ".md", ".toml", ".yaml", ".cfg", ""} or not path.is_file()
                or path == Path(__file__)):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if re.search(r"\.\./shared|\"shared\"|'shared'|shared/data|/work/", text):
            offenders.append(name)
    assert offenders == []
    assert (ROOT / "data" / "cdnow_summary.csv").is_file()
    assert (ROOT / "docs" / "design.md").is_file()
