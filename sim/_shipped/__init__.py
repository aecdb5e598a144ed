"""Data shipped with the package: the scenarios and the UI's assets.

The folders live at the top of the repository (``scenarios/``, ``assets/``)
and are installed as the data packages ``sim._shipped.scenarios`` and
``sim._shipped.assets`` (see ``[tool.setuptools]`` in ``pyproject.toml``).
An installed wheel reads them with :mod:`importlib.resources`; a source tree
(the tests) and an editable install, where those data packages cannot be
imported, read the folders beside ``sim/``.
"""

from __future__ import annotations

import importlib.resources
from importlib.resources.abc import Traversable
from pathlib import Path

#: The folders installed with the package, by the name of their data package.
KINDS = ("scenarios", "assets")

_SOURCE_ROOT = Path(__file__).resolve().parents[2]


def shipped_folder(kind: str) -> Traversable:
    """The installed folder of shipped ``kind`` (``"scenarios"`` or ``"assets"``).

    Args:
        kind: one of :data:`KINDS`.

    Returns:
        A traversable folder (a ``pathlib.Path`` when the package is on disk).
        It may not exist when nothing of that kind is shipped.

    Raises:
        ValueError: for an unknown kind.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown shipped folder {kind!r} (known: {', '.join(KINDS)})")
    try:
        return importlib.resources.files(f"{__name__}.{kind}")
    except ModuleNotFoundError:
        # Not installed as a data package: a source tree or an editable
        # install, where the folder sits at the top of the repository.
        return _SOURCE_ROOT / kind
