"""The lab's models by name: one :class:`~sim.analytics.model_spec.ModelSpec` each.

Everything that offers, reads, fits, predicts or reports a model looks it up
here instead of testing its name: ``ccsim fit`` (its ``--model`` choices,
options, report and ``--predict`` columns), the CSV reader, the in-game
lab's list of models and the analytics benchmark.  Adding a model is
writing its spec and registering it (``BUILT_IN`` in
:mod:`sim.analytics.lab_models`, or :func:`register`); docs/adding-a-model.md
walks through one.
"""

from __future__ import annotations

from ..errors import DataError
from .lab_models import BUILT_IN
from .model_spec import ModelSpec

__all__ = ["ModelSpec", "register", "unregister", "get", "names", "csv_names", "specs",
           "label", "game_models", "models_sentence"]

# Registration order is the order ``ccsim fit --model`` lists the models in.
_SPECS: dict[str, ModelSpec] = {spec.name: spec for spec in BUILT_IN}


def register(spec: ModelSpec) -> ModelSpec:
    """Add a model; it is offered everywhere the registry is read from then on.

    Raises:
        ValueError: A model of that name is registered already.
    """
    if spec.name in _SPECS:
        raise ValueError(f"a model named {spec.name!r} is registered already")
    _SPECS[spec.name] = spec
    return spec


def unregister(name: str) -> ModelSpec:
    """Remove a model (a test's toy model, say); returns its spec."""
    return _SPECS.pop(name)


def specs() -> tuple[ModelSpec, ...]:
    """Every registered model, in registration order."""
    return tuple(_SPECS.values())


def names() -> tuple[str, ...]:
    """Every registered model's name, in registration order."""
    return tuple(_SPECS)


def csv_names() -> tuple[str, ...]:
    """Names of the models ``ccsim fit`` fits to a CSV file, in registration order."""
    return tuple(spec.name for spec in _SPECS.values() if spec.reads_csv)


def get(name: str, *, csv: bool = False) -> ModelSpec:
    """The spec of model ``name``.

    Args:
        name: A registered name (exact, as ``--model`` takes it).
        csv: Only models that can be fitted to a CSV file.

    Raises:
        DataError: No such model, naming the ones there are.
    """
    spec = _SPECS.get(name) if isinstance(name, str) else None
    if spec is None or (csv and not spec.reads_csv):
        choices = csv_names() if csv else names()
        raise DataError(f"unknown model {name!r:.60}; expected one of {choices}")
    return spec


def label(name: str) -> str:
    """Model ``name`` as the papers write it ("Pareto/NBD"); an unregistered name as it is."""
    spec = _SPECS.get(name)
    return spec.label if spec is not None else name


def game_models(business: str) -> tuple[ModelSpec, ...]:
    """The models the in-game lab fits for ``business`` ("shops" or "members")."""
    return tuple(spec for spec in _SPECS.values() if spec.game == business)


def models_sentence() -> str:
    """What the lab's fit button fits, for its tooltip, from the registered models."""
    shops = " and ".join(spec.label for spec in game_models("shops"))
    members = " and ".join(spec.label for spec in game_models("members"))
    return (f"Fit {shops} (or {members} for members) to your customers' purchases so far, "
            f"then predict every customer.")
