"""The estimator faces emkit has, by the kind their model files name.

A face registers itself when its class is created (see ``EMEstimatorMixin``), so adding a
face is adding its module under ``emkit.estimators``; nothing lists the faces by hand.
"""

from __future__ import annotations

import importlib
import pkgutil

FACES: dict[str, type] = {}
"""Face classes by model-file kind (the class name), as their modules are imported."""


def register(cls: type) -> None:
    """Record ``cls`` under its model-file kind, its class name, unless it is a base that
    faces derive from (``_abstract_face = True`` in its own body)."""
    if not cls.__dict__.get("_abstract_face", False):
        FACES[cls.__name__] = cls


def all_faces() -> dict[str, type]:
    """Every face emkit has, by kind: the modules of ``emkit.estimators`` are imported first,
    since ``import emkit`` imports none of them until they are used."""
    import emkit.estimators as package

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")
    return FACES
