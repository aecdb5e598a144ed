"""The package version, written in one place (``pyproject.toml`` reads it)."""

from __future__ import annotations

from importlib import metadata

__version__ = "0.1.0"

#: The distribution name on PyPI and in ``pip list``.
DISTRIBUTION = "ccsim"


def package_version() -> str:
    """The installed distribution's version, or :data:`__version__` when run uninstalled.

    Installed metadata wins so that ``ccsim --version`` reports what pip
    installed; a source tree on ``sys.path`` (the tests) has no metadata.
    """
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return __version__
