"""Constructor parameters declared once: name, default, check and documentation.

A face lists its parameters as :class:`Param` objects in ``_parameters``; from them
:class:`DeclaredParameters` makes the constructor (scikit-learn reads its signature, so it
is a real function with keyword arguments), the "Parameters" section of the class docstring,
and the validation every fit (and every model file read) runs. Parameters the faces share
(``tol``, ``max_iter``, ``random_state``, ...) are module constants, written once.
"""

from __future__ import annotations

import numbers
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from emkit.core.online import OnlineEM

Check = Callable[[Any], "str | None"]
"""A check returns what is wrong with a value ('must be an integer >= 1'), or None."""

REQUIRED = type("Required", (), {"__repr__": lambda self: "REQUIRED"})()
"""The default of a parameter that has none (the caller must give it)."""


@dataclass(frozen=True)
class Param:
    """One constructor parameter.

    Attributes
    ----------
    name : str
    default : object
    type : str
        The numpydoc type line, e.g. ``'int'`` or ``"{'kmeans', 'random'}"``.
    doc : str
        The description, as lines (indentation is removed and put back).
    check : callable
        ``check(value) -> str | None``, the problem with ``value`` or None.
    positional : bool, default=False
        Whether the parameter may be given by position (the first ones only, such as
        ``n_components``); every other parameter is keyword-only.
    command_line : bool, default=True
        Whether ``emkit fit`` offers it as an option: False for what has no effect in one
        fit from a file (a warm start from a previous fit, a copy of the data).
    """

    name: str
    default: Any
    type: str
    doc: str
    check: Check
    positional: bool = False
    command_line: bool = True

    def validate(self, value: Any) -> None:
        """Raise ValueError naming the parameter when ``value`` fails the check."""
        problem = self.check(value)
        if problem is not None:
            raise ValueError(f"{self.name} {problem}, got {value!r}")

    def with_doc(self, doc: str) -> Param:
        """The same parameter, described for one face."""
        return replace(self, doc=doc)

    def documented(self) -> str:
        """The parameter's numpydoc entry, indented for a class docstring."""
        if self.default is REQUIRED:
            entry = f"    {self.name} : {self.type}\n"
        else:
            default = "optional" if self.default is None else f"default={self.default!r}"
            entry = f"    {self.name} : {self.type}, {default}\n"
        body = textwrap.indent(textwrap.dedent(self.doc).strip("\n"), " " * 8)
        return entry + (body + "\n" if body else "")


# -- checks -----------------------------------------------------------------------------------
def _is_integer(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def integer(minimum: int) -> Check:
    """An integer (not a bool) of at least ``minimum``."""

    def check(value: Any) -> str | None:
        if _is_integer(value) and value >= minimum:
            return None
        return f"must be an integer >= {minimum}"

    return check


def real(minimum: float | None = None, *, strict: bool = False, finite: bool = True) -> Check:
    """A real number (not a bool), at least (``strict``: above) ``minimum``; finite unless
    ``finite`` is False (then infinities pass, NaN never)."""
    bound = "" if minimum is None else f" {'>' if strict else '>='} {minimum:g}"
    kind = "a finite number" if finite else "a number"

    def check(value: Any) -> str | None:
        if not _is_real(value) or np.isnan(value) or (finite and not np.isfinite(value)):
            return f"must be {kind}{bound}"
        if minimum is not None and (value <= minimum if strict else value < minimum):
            return f"must be {kind}{bound}"
        return None

    return check


def reals(minimum: float | None = None, *, none: bool = False) -> Check:
    """A real number or an array-like of them (a scalar or per-state prior), all finite and
    at least ``minimum``; None too when ``none``."""
    bound = "" if minimum is None else f" >= {minimum:g}"

    def check(value: Any) -> str | None:
        if value is None and none:
            return None
        try:
            array = np.asarray(value)
        except (TypeError, ValueError):
            array = np.asarray([])
        if (
            array.size == 0
            or array.dtype.kind not in "iuf"
            or not np.all(np.isfinite(array))
            or (minimum is not None and np.any(array < minimum))
        ):
            return f"must be a finite number{bound} or an array of them" + (
                " or None" if none else ""
            )
        return None

    return check


def one_of(*choices: Any) -> Check:
    """One of ``choices`` (compared with ``==``, strings case-sensitively)."""

    def check(value: Any) -> str | None:
        if isinstance(value, (str, bool, type(None))) or _is_real(value):
            if any(type(value) is type(c) and value == c for c in choices):
                return None
        return f"must be one of {list(choices)}"

    return check


def boolean(value: Any) -> str | None:
    """A bool (NumPy's too)."""
    return None if isinstance(value, (bool, np.bool_)) else "must be True or False"


def seed(value: Any) -> str | None:
    """What ``sklearn.utils.check_random_state`` takes: None, an integer or a RandomState."""
    if value is None or isinstance(value, np.random.RandomState):
        return None
    if _is_integer(value) and 0 <= value < 2**32:
        return None
    return "must be None, an integer in [0, 2**32) or a numpy.random.RandomState"


def optional(check: Check) -> Check:
    """None, or what ``check`` accepts."""

    def optional_check(value: Any) -> str | None:
        if value is None:
            return None
        problem = check(value)
        return None if problem is None else f"{problem} or None"

    return optional_check


def anything(value: Any) -> str | None:
    """No check here: the face checks the value against the data (arrays of starting
    values, whose shapes depend on it), or the family it builds checks it (a family owns
    the checks of its hyperparameters)."""
    return None


# -- faces whose parameters are declared --------------------------------------------------------
class DeclaredParameters:
    """Mixin of a face whose constructor parameters are the :class:`Param` objects of its
    ``_parameters``: a class that sets ``_parameters`` gets the constructor and the
    "Parameters" section of its docstring made from them, and :meth:`_check_parameters`
    checks every one."""

    _parameters: ClassVar[tuple[Param, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "_parameters" in cls.__dict__:
            names = [p.name for p in cls._parameters]
            if len(set(names)) != len(names):
                raise TypeError(f"{cls.__name__} declares a parameter twice: {names}")
            cls.__init__ = _constructor(cls)  # type: ignore[method-assign]
            cls.__doc__ = _with_parameters(cls.__doc__ or "", cls._parameters)

    def _check_parameters(self) -> None:
        """Raise ValueError for the first parameter whose value fails its check."""
        for param in self._parameters:
            param.validate(getattr(self, param.name))


def _constructor(cls: type) -> Callable[..., None]:
    """An ``__init__`` with one argument per declared parameter that stores each as an
    attribute of the same name (scikit-learn's convention: no logic in constructors)."""
    params = cls._parameters  # type: ignore[attr-defined]
    positional = [p for p in params if p.positional]
    keywords = [p for p in params if not p.positional]
    if params[: len(positional)] != tuple(positional):
        raise TypeError(f"{cls.__name__}: positional parameters must come first")

    def argument(p: Param) -> str:
        return p.name if p.default is REQUIRED else f"{p.name}=_defaults[{p.name!r}]"

    arguments = ["self"] + [argument(p) for p in positional]
    if keywords:
        arguments += ["*"] + [argument(p) for p in keywords]
    body = "".join(f"    self.{p.name} = {p.name}\n" for p in params) or "    pass\n"
    source = f"def __init__({', '.join(arguments)}):\n{body}"
    namespace: dict[str, Any] = {"_defaults": {p.name: p.default for p in params}}
    exec(source, namespace)  # the dataclasses module makes constructors the same way
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = f"Store the hyperparameters (see :class:`{cls.__name__}`)."
    return init


def _with_parameters(doc: str, params: Sequence[Param]) -> str:
    """``doc`` with a numpydoc "Parameters" section of ``params``, placed before its first
    section (or at its end)."""
    section = "    Parameters\n    ----------\n" + "".join(p.documented() for p in params)
    lines = doc.splitlines(keepends=True)
    for i in range(len(lines) - 1):
        header, rule = lines[i].strip(), lines[i + 1].strip()
        if header and rule and set(rule) == {"-"} and len(rule) == len(header):
            return "".join(lines[:i]) + section + "\n" + "".join(lines[i:])
    return doc.rstrip() + "\n\n" + section + "    "


# -- parameters every kind of face has ----------------------------------------------------------
RANDOM_STATE = Param(
    "random_state",
    None,
    "int, RandomState instance or None",
    "Seeds the initialisations (and sampling).",
    seed,
)
N_INIT = Param(
    "n_init",
    1,
    "int",
    "Number of initialisations; the best result is kept.",
    integer(1),
)
CHUNK_SIZE = Param(
    "chunk_size",
    None,
    "int",
    """
    Rows per E-step batch; bounds temporary memory to O(chunk_size * n_components).
    """,
    optional(integer(1)),
)
N_JOBS = Param(
    "n_jobs",
    None,
    "int or None",
    """
    Threads that run E-steps on chunks in parallel (None: every available core; -1 too;
    1: none). Results do not depend on it, bit for bit.
    """,
    optional(lambda v: None if _is_integer(v) and v != 0 else "must be a non-zero integer"),
)


# -- online EM (emkit.core.online), with the names of scikit-learn's LatentDirichletAllocation --
LEARNING_METHOD = Param(
    "learning_method",
    "batch",
    "{'batch', 'online'}",
    """
    'batch': every M-step from all the data. 'online': stepwise EM, an M-step after every
    mini-batch of ``batch_size`` rows from a running average of the statistics, which
    converges in one or a few passes over data too large to pass over often;
    ``max_iter`` then counts passes, ``tol`` applies to the change of the mean
    log-likelihood of a pass, and ``lower_bounds_`` holds the log-likelihood of every
    batch (not monotone: each batch is scored before its own step).
    """,
    one_of("batch", "online"),
)
BATCH_SIZE = Param(
    "batch_size",
    1024,
    "int",
    "Rows per mini-batch of online EM (and of every call of ``partial_fit``'s steps).",
    integer(1),
)
LEARNING_DECAY = Param(
    "learning_decay",
    0.7,
    "float",
    """
    Online EM's step ``(learning_offset + t)^-learning_decay`` after ``t`` batches; in
    (0.5, 1] for convergence.
    """,
    lambda v: None if _is_real(v) and 0.5 < v <= 1.0 else "must be a number in (0.5, 1]",
)
LEARNING_OFFSET = Param(
    "learning_offset",
    10.0,
    "float",
    "Online EM's offset (>= 0): larger values weight the first batches less.",
    real(0.0),
)
ONLINE_PARAMETERS = (LEARNING_METHOD, BATCH_SIZE, LEARNING_DECAY, LEARNING_OFFSET)
"""The parameters of faces that fit online too."""


def online_steps(face: Any) -> OnlineEM:
    """The schedule of online EM's steps of a face declaring :data:`ONLINE_PARAMETERS` (for
    ``learning_method='online'`` and ``partial_fit``)."""
    from emkit.core.online import OnlineEM

    return OnlineEM(int(face.batch_size), float(face.learning_decay), float(face.learning_offset))
