"""The models of the command line, registered as entry points, and ``emkit models``, which
lists them.

Every entry point of the group ``emkit.models`` names a model of ``--model`` by its name:
either an estimator face (``name = "package.module:Face"``, a class with a
:class:`~emkit.estimators.description.FaceDescription`), or
a family, a subclass of :class:`emkit.families.Family`, which ``--model NAME`` fits as
``emkit.Mixture(family, K)`` and ``--model hmm --emission NAME`` as ``emkit.HMM(family, K)``.
A name ``hmm.EMISSION`` is the face of ``--model hmm --emission EMISSION``, and the entry
point ``hmm`` names the face of the default emission. A package adds a model with one line
in its own ``pyproject.toml``::

    [project.entry-points."emkit.models"]
    geometric = "somepkg.geometric:Geometric"

Reading the names imports nothing but :mod:`importlib.metadata` (the parser lists them); a
model's module is imported when a command resolves it (:func:`load`).
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from emkit.cli.errors import CommandError
from emkit.plugins import GROUP, import_plugins

__all__ = [
    "GROUP",
    "HMM",
    "Model",
    "all_models",
    "emission_names",
    "import_all",
    "load",
    "model_names",
    "registered",
    "run",
]

HMM = "hmm"
"""The ``--model`` of hidden Markov models, whose ``--emission`` choose among the entry points
named ``hmm.EMISSION`` and the families."""
_HMM_PREFIX = f"{HMM}."


def registered() -> dict[str, EntryPoint]:
    """The entry points of the group by name, sorted (the first found of a name registered
    twice is kept)."""
    found: dict[str, EntryPoint] = {}
    for entry in entry_points(group=GROUP):
        found.setdefault(entry.name, entry)
    return dict(sorted(found.items()))


def model_names() -> list[str]:
    """The names ``--model`` takes: every entry point but ``hmm.*``, and ``hmm`` when there
    are some."""
    names = {HMM if name.startswith(_HMM_PREFIX) else name: None for name in registered()}
    return list(names)


def emission_names() -> list[str]:
    """The emissions of the ``hmm.*`` entry points, the default first: the one whose face
    the entry point ``hmm`` names (families are emissions too, known once imported)."""
    entries = registered()
    emissions = [name[len(_HMM_PREFIX) :] for name in entries if name.startswith(_HMM_PREFIX)]
    default = entries.get(HMM)
    if default is not None:
        emissions.sort(key=lambda e: entries[_HMM_PREFIX + e].value != default.value)
    return emissions


# --------------------------------------------------------------------------------------- #
# Loading
# --------------------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Model:
    """What ``--model`` (and ``--emission``) name, loaded.

    Attributes
    ----------
    face : type
        The estimator class it builds.
    model : str
        The name of ``--model``.
    emission : str or None
        The name of ``--emission`` of a hidden Markov model; None for other models.
    family : type or None
        For a family model, the family class: the face (``emkit.Mixture`` or
        ``emkit.HMM``) takes an instance built from its hyperparameters.
    """

    face: type
    model: str
    emission: str | None = None
    family: type | None = None

    @property
    def name(self) -> str:
        """As messages say it: the name of ``--model``, or ``hmm --emission EMISSION``."""
        return self.model if self.emission is None else f"{HMM} --emission {self.emission}"


def load(model: str, emission: str | None = None) -> Model:
    """The model of ``--model model`` (and ``--emission emission``), its module imported.

    Raises
    ------
    CommandError
        For an emission with a model other than ``hmm``, an unknown emission, or an entry
        point that cannot be imported or names neither a face nor a family.
    """
    import emkit

    entries = registered()
    if model != HMM:
        if emission is not None:
            raise CommandError(f"--emission applies to --model {HMM} only")
        if model not in entries:
            raise CommandError(f"unknown --model {model!r}; models: {', '.join(model_names())}")
        target = _loaded(model, entries[model])
        if _is_family(target):
            return Model(emkit.Mixture, model, family=target)
        return Model(_face(model, target, entries[model]), model)
    emissions = emission_names()
    emission = emission or (emissions[0] if emissions else None)
    name = f"{HMM} --emission {emission}"
    if emission in emissions:
        entry = entries[_HMM_PREFIX + emission]
        return Model(_face(name, _loaded(name, entry), entry), model, emission)
    target = _loaded(emission, entries[emission]) if emission in entries else None
    if _is_family(target):
        return Model(emkit.HMM, model, emission, target)
    families = [m.model for m in all_models() if m.family is not None and m.emission is None]
    known = ", ".join([*emissions, *families])
    raise CommandError(f"--emission {emission}: no such emission; emissions: {known}")


def all_models() -> list[Model]:
    """Every model and every emission of ``--model hmm`` (a family is both), in the order of
    ``--model``; entry points that cannot be loaded are left out."""
    found: list[Model] = []
    hmm: list[Model] = []
    for name in model_names():
        if name == HMM:
            for emission in emission_names():
                found.extend(_loadable(HMM, emission))
            continue
        for model in _loadable(name):
            found.append(model)
            if model.family is not None:
                hmm.extend(_loadable(HMM, name))
    return found + hmm


def import_all() -> None:
    """Import every registered model, so that model files of its faces and families can be
    read; those that cannot be imported are left out (a command that names one says why)."""
    import_plugins()


def _loadable(model: str, emission: str | None = None) -> list[Model]:
    try:
        return [load(model, emission)]
    except CommandError:
        return []


def _loaded(name: str, entry: EntryPoint) -> Any:
    try:
        return entry.load()
    except Exception as exc:  # whatever a plug-in's import raises is reported
        raise CommandError(
            f"the model {name} ({entry.value}) cannot be loaded: {type(exc).__name__}: {exc}"
        ) from None


def _is_family(target: Any) -> bool:
    from emkit.families.base import Family

    return isinstance(target, type) and issubclass(target, Family)


def _face(name: str, target: Any, entry: EntryPoint) -> type:
    from emkit.estimators.description import description_of

    try:
        description_of(target)
    except TypeError:
        raise CommandError(
            f"the model {name} ({entry.value}) is neither an emkit face (a class with a "
            "FaceDescription) nor a family (a subclass of emkit.families.Family)"
        ) from None
    return target


# --------------------------------------------------------------------------------------- #
# emkit models
# --------------------------------------------------------------------------------------- #


def run(args: argparse.Namespace) -> None:
    """Print every model, one line each, or the options of one."""
    from emkit.cli.options import describe_options

    if args.model is None:
        if args.emission is not None:
            raise CommandError(f"--emission applies to --model {HMM} only")
        models = all_models()
        width = max(len(model.name) for model in models) + 2
        print("\n".join(f"{model.name:<{width}}{_what(model)}" for model in models))
        return
    model = load(args.model, args.emission)
    print("\n".join([f"{model.name}: {_what(model)}", *describe_options(model)]))


def _what(model: Model) -> str:
    if model.family is not None:
        structure = "hidden Markov model" if model.emission else "mixture"
        doc = first_sentence(model.family.__doc__)
        return f"{structure} of the family {model.family.__name__}: {doc}"
    return f"{model.face.__name__}: {first_sentence(model.face.__doc__)}"


def first_sentence(doc: str | None) -> str:
    """The first sentence of the docstring ``doc``, on one line, without reST markup."""
    paragraph = (doc or "").strip().split("\n\n")[0]
    text = " ".join(paragraph.split())
    text = re.sub(r":\w+:`~?([^`]+)`", r"\1", text).replace("``", "")
    end = text.find(". ")
    return text if end < 0 else text[: end + 1]
