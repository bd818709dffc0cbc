"""What every component family may declare, with its defaults, and how a family is written
down as data (for model files and summaries).

A family is any object with ``log_prob``, ``stats``, ``m_step`` and ``from_responsibilities``
(see :class:`emkit.models.mixture.Mixture`); deriving from :class:`Family` adds the rest with
defaults: no prior, an exact M-step, parameters that are the fields of one dataclass, and a
description of the family's hyperparameters as JSON data, so that a mixture of it can be
saved and read back and the command line can build it by name. A family registers itself
(by class name) when its class is made; nothing lists the families by hand.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np

from emkit.families.tables import Columns, ParameterTable, Table

FAMILIES: dict[str, type] = {}
"""Families by class name, as their modules are imported: the name model files store."""

DESCRIBABLE: dict[str, type] = {}
"""Dataclasses a family's hyperparameters may hold (priors), by class name."""


def describable(cls: type) -> type:
    """Class decorator: instances of the dataclass ``cls`` may appear in a family's
    description (e.g. a prior)."""
    DESCRIBABLE[cls.__name__] = cls
    return cls


def _origin(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class Family:
    """Base of emkit's component families.

    Subclasses are frozen dataclasses of hyperparameters and set :attr:`params_class`, the
    dataclass of their parameters (arrays with a leading axis of components).
    """

    params_class: ClassVar[type]
    title: ClassVar[str]
    """What summaries call the family ('Poisson': a 'Poisson mixture', 'Poisson emissions');
    by default its class name."""
    allows_missing: ClassVar[bool] = False
    """Whether its data may hold NaN, a cell not observed (missing at random), which its
    E-step conditions on; families that cannot refuse NaN with their own message."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        known = FAMILIES.get(cls.__name__)
        # A model file names its family by class name alone, so two families of one name
        # would read each other's files. The same class defined again (a module reloaded, a
        # dataclass rebuilt with slots) takes its place.
        if known is not None and _origin(known) != _origin(cls):
            raise TypeError(
                f"a family named {cls.__name__!r} is already registered "
                f"({_origin(known)}); model files name families by class name, so give "
                f"{_origin(cls)} another name"
            )
        FAMILIES[cls.__name__] = cls
        if "title" not in cls.__dict__:
            cls.title = cls.__name__

    # -- what a family may declare -------------------------------------------------------
    @property
    def monotone(self) -> bool:
        """Whether the M-step exactly maximises the objective EM reports (the expected
        complete-data log-likelihood plus :meth:`log_prior`)."""
        return True

    def log_prior(self, params: Any) -> float:
        """Log density of the family's prior at ``params``, up to a constant; 0 without a
        prior."""
        return 0.0

    def fitted(self, params: Any) -> Family:
        """The family with what it inferred from the training data (as held by ``params``)
        fixed: data scored later must keep within it, and it counts in the parameters."""
        return self

    def check_params(self, params: Any, n_components: int, n_features: int) -> None:
        """Raise ValueError unless ``params`` are valid parameters of ``n_components``
        components over ``n_features`` features (parameters read from a model file, which
        may have been edited). The default checks that every array is finite."""
        for name, array in self.params_arrays(params).items():
            if not np.all(np.isfinite(np.asarray(array, dtype=np.float64))):
                raise ValueError(f"{name}_ holds NaN or infinite values")

    # -- parameters as named arrays --------------------------------------------------------
    def params_arrays(self, params: Any) -> dict[str, np.ndarray]:
        """The parameters as named arrays, which a mixture exposes as fitted attributes
        (``name_``) and a model file stores."""
        return {f.name: getattr(params, f.name) for f in dataclasses.fields(params)}

    def params_from_arrays(self, arrays: dict[str, np.ndarray]) -> Any:
        """The parameters from :meth:`params_arrays`'s arrays (KeyError for a missing one)."""
        names = self.params_names()
        return self.params_class(**{name: arrays[name] for name in names})

    def params_names(self) -> tuple[str, ...]:
        """The names :meth:`params_arrays` gives, in order."""
        return tuple(f.name for f in dataclasses.fields(self.params_class))

    def stored_names(self) -> tuple[str, ...]:
        """The arrays a model file keeps (the others are derived from them)."""
        return self.params_names()

    def from_stored(self, arrays: dict[str, np.ndarray], n_components: int, n_features: int) -> Any:
        """Checked parameters from the arrays of :meth:`stored_names` (read from a model
        file, which may have been edited): ValueError naming what is wrong."""
        params = self.params_from_arrays(arrays)
        self.check_params(params, n_components, n_features)
        return params

    # -- the family in summaries -------------------------------------------------------------
    def summary_words(self) -> tuple[str, ...]:
        """What a summary says of the family's hyperparameters after its title ('diagonal
        covariance'); nothing by default."""
        return ()

    def summary_tables(self) -> tuple[Table, ...]:
        """The tables of fitted parameters a summary shows, naming the family's arrays (see
        :mod:`emkit.families.tables`). By default one table per stored array, titled by its
        name and laid out by its shape, the first with the weights."""
        return tuple(
            ParameterTable(f"{name} by {{unit}}", (Columns(name, "auto"),), weights=i == 0)
            for i, name in enumerate(self.stored_names())
        )

    # -- the family as data ------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """The family as JSON data: its class name under ``'family'`` and its
        hyperparameters (read back by :func:`family_from_description`)."""
        description: dict[str, Any] = {"family": type(self).__name__}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            description[f.name] = _encode(getattr(self, f.name))
        return description


CONTRACT = ("log_prob", "stats", "m_step", "from_responsibilities")
"""The methods by which a structure (mixture, HMM) uses a family."""


def checked_family(family: Any, reserved: frozenset[str], owner: str) -> Family:
    """``family`` when a face of ``owner`` (a 'mixture', an 'HMM') can hold it: a
    :class:`Family` object with the :data:`CONTRACT`'s methods, none of whose parameter
    names is ``reserved`` (the face's own fitted attributes, less their underscore).

    Raises
    ------
    TypeError
        For a class instead of an object, an object without the methods, or one not derived
        from :class:`Family`.
    ValueError
        For parameter names that would shadow the face's attributes.
    """
    if isinstance(family, type):
        # A class has the methods too, unbound: it would fail later and obscurely.
        raise TypeError(
            f"family must be a family object such as {family.__name__}(), not the "
            f"class {family.__name__}"
        )
    missing = [name for name in CONTRACT if not callable(getattr(family, name, None))]
    if missing:
        raise TypeError(
            f"family must be a family object with {', '.join(CONTRACT)}, such as "
            f"emkit.families.Poisson(); {type(family).__name__} has no {', '.join(missing)}"
        )
    if not isinstance(family, Family):
        raise TypeError(
            "family must derive from emkit.families.Family (which names its arrays, "
            f"checks them and writes the family into model files); {type(family).__name__} "
            "does not"
        )
    shadowed = sorted(set(family.params_names()) & reserved)
    if shadowed:
        raise ValueError(
            f"the family's parameters {shadowed} would shadow the {owner}'s fitted "
            "attributes of the same names; rename those fields"
        )
    return family


def family_from_description(description: Any) -> Any:
    """The family :meth:`Family.describe` wrote.

    Raises
    ------
    ValueError
        When the description is not a family's (a mapping with a known ``'family'``), or its
        hyperparameters are not the family's.
    """
    if not isinstance(description, dict) or not isinstance(description.get("family"), str):
        raise ValueError(f"a family is described by a mapping with 'family', got {description!r}")
    _import_families()
    fields = dict(description)
    name = fields.pop("family")
    if name not in FAMILIES:
        from emkit.plugins import import_plugins

        import_plugins()
    cls = FAMILIES.get(name)
    if cls is None:
        raise ValueError(f"unknown family {description['family']!r}; known: {sorted(FAMILIES)}")
    try:
        return cls(**{name: _decode(value) for name, value in fields.items()})
    except TypeError as exc:
        raise ValueError(f"the description of a {cls.__name__} family is wrong: {exc}") from None


def _encode(value: Any) -> Any:
    from emkit.families.covariance import CovarianceStructure

    if isinstance(value, Family):
        return value.describe()
    if isinstance(value, CovarianceStructure):
        return {"covariance": value.name}
    if dataclasses.is_dataclass(value) and type(value).__name__ in DESCRIBABLE:
        return {
            "dataclass": type(value).__name__,
            "fields": {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)},
        }
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, (tuple, list)):
        return [_encode(v) for v in value]
    if isinstance(value, np.ndarray):
        return {"array": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(
        f"a family's hyperparameter {value!r} ({type(value).__name__}) cannot be written as data"
    )


def _decode(value: Any) -> Any:
    from emkit.families.covariance import covariance_structure

    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "family" in value:
        return family_from_description(value)
    if set(value) == {"covariance"}:
        return covariance_structure(value["covariance"])
    if set(value) == {"array", "dtype"}:
        dtype = np.dtype(value["dtype"])
        if dtype.kind not in "biuf":
            raise ValueError(f"an array of a family's hyperparameter has dtype {dtype}")
        return np.asarray(value["array"], dtype=dtype)
    if set(value) == {"dataclass", "fields"} and value["dataclass"] in DESCRIBABLE:
        cls = DESCRIBABLE[value["dataclass"]]
        return cls(**{name: _decode(v) for name, v in dict(value["fields"]).items()})
    raise ValueError(f"not a description of a family's hyperparameter: {value!r}")


def _import_families() -> None:
    """Import every module of :mod:`emkit.families`, so that their families are known."""
    import importlib
    import pkgutil

    import emkit.families as package

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")
