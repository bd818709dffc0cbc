"""The options of ``emkit fit`` that a model's declarations give.

Every parameter a face declares (its ``_parameters``, see :mod:`emkit.estimators.parameters`)
whose numpydoc type is a number, a bool, a string or a set of choices is an option of the
models of that face: ``reg_covar`` is ``--reg-covar R`` wherever a face declares it, and
``--reg-covar`` given to a model whose face does not is refused with the models that take
it. For a family model, the fields of the family's dataclass are options the same way
(``--family-NAME`` where the face declares a parameter of the same name). A value is
converted by the parameter's type (``None`` where it allows None) and checked by its check.

The command line sets a few parameters itself, from options every model has:
``--components`` (the face's ``description.components``), ``--max-iter`` (``max_iter``, or
hmmlearn's ``n_iter``), ``--tol``, ``--n-init`` and ``--random-state``. Two options are
shorthands kept from earlier versions: ``--fixed-dof NU`` (``dof_init=NU``,
``fixed_dof=True``) and ``--weight-prior`` (``weight_concentration_prior_type``, with
hyphens). No model is named here.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from emkit.cli.errors import CommandError
from emkit.cli.models import HMM, Model, all_models, first_sentence

__all__ = [
    "DEFAULT_N_INIT",
    "DETERMINISTIC_STARTS",
    "GENERAL",
    "SHORTHANDS",
    "Option",
    "build_estimator",
    "describe_options",
    "flag_of",
    "model_options",
    "option_names",
]

# Restarts when --n-init is not given: on the bundled Old Faithful data three cost a few
# milliseconds more than one (benchmarks/README.md) and find the best maximum far more often.
DEFAULT_N_INIT = 3
# Starts that give the same parameters whatever the seed: restarts would repeat one fit.
DETERMINISTIC_STARTS = frozenset({"hc"})
# --max-iter when not given: the face's own default, but at least this many; hmmlearn's
# n_iter=10 stops most fits of real data before they converge.
MIN_ITERATIONS = 100


@dataclass(frozen=True)
class General:
    """An option every model has, and the parameters it may set (the first one a face
    declares)."""

    dest: str
    names: tuple[str, ...]


GENERAL = (
    General("max_iter", ("max_iter", "n_iter")),
    General("tol", ("tol",)),
    General("n_init", ("n_init",)),
    General("random_state", ("random_state",)),
)
"""The options of every model besides ``--components`` (whose parameter the face's
description names)."""


@dataclass(frozen=True)
class Shorthand:
    """An option that sets the declared parameters ``sets`` its own way: it applies to the
    models whose faces declare them all.

    Attributes
    ----------
    flag, dest : str
        The option, and its attribute in the parsed arguments.
    sets : tuple of str
        The parameters it sets.
    params : callable
        The parsed value to the parameters' values.
    argument : dict
        The rest of its ``argparse`` declaration (type or choices, metavar, help).
    """

    flag: str
    dest: str
    sets: tuple[str, ...]
    params: Callable[[Any], dict[str, Any]]
    argument: dict[str, Any]


def _degrees_of_freedom(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


SHORTHANDS = (
    Shorthand(
        "--fixed-dof",
        "fixed_dof",
        ("dof_init", "fixed_dof"),
        lambda nu: {"dof_init": nu, "fixed_dof": True},
        {
            "type": _degrees_of_freedom,
            "metavar": "NU",
            "help": "degrees of freedom of every component, kept fixed: dof_init=NU and "
            "fixed_dof=true, for a model whose estimator takes both (default: estimated)",
        },
    ),
    Shorthand(
        "--weight-prior",
        "weight_prior",
        ("weight_concentration_prior_type",),
        lambda prior: {"weight_concentration_prior_type": prior.replace("-", "_")},
        {
            "choices": ("dirichlet-process", "dirichlet-distribution"),
            "help": "weight_concentration_prior_type, spelled with hyphens, for a model whose "
            "estimator takes it",
        },
    ),
)
"""The shorthands of earlier versions, kept: every other option of a face's parameter has
its name."""


def flag_of(name: str) -> str:
    """The option of the parameter ``name``: ``reg_covar`` is ``--reg-covar``."""
    return "--" + name.replace("_", "-")


# --------------------------------------------------------------------------------------- #
# Values by declared type
# --------------------------------------------------------------------------------------- #

_CHOICES = re.compile(r"\{[^}]*\}")
_INTEGER = re.compile(r"[+-]?\d+")
_TRUE = ("true", "yes", "1")
_FALSE = ("false", "no", "0")


@dataclass(frozen=True)
class Conversion:
    """The values an option reads, from a parameter's numpydoc type (or a dataclass
    field's annotation): the first alternative that reads the text wins."""

    choices: tuple[Any, ...] = ()
    kinds: tuple[str, ...] = ()  # of 'int', 'float', 'bool', 'str', in the declared order
    none: bool = False

    @classmethod
    def of(cls, type_text: str, default: Any) -> Conversion | None:
        """The conversion of a type such as ``"int or None"``, ``"{'a', 'b'}"`` or
        ``"float or array-like"`` (the type of a default that is a bool, a number or a text
        where the type names none); None when no alternative is a value an option can give
        (arrays, callables, random states, families)."""
        choices: list[Any] = []
        for group in _CHOICES.findall(type_text):
            choices += [ast.literal_eval(item.strip()) for item in group[1:-1].split(",")]
        rest = _CHOICES.sub(" ", type_text)
        kinds: list[str] = []
        none = default is None
        for word in re.split(r"\s*(?:,|\||\bor\b)\s*", rest):
            word = word.strip()
            if word == "None":
                none = True
            elif word in ("int", "float", "bool", "str") and word not in kinds:
                kinds.append(word)
            elif len(word) > 1 and word[0] == word[-1] == "'":
                choices.append(word[1:-1])
        if not choices and not kinds:
            scalar = next((k for k in (bool, int, float, str) if isinstance(default, k)), None)
            if scalar is None:
                return None
            kinds.append(scalar.__name__)
        return cls(tuple(choices), tuple(kinds), none)

    def read(self, text: str | None, flag: str) -> Any:
        """The value of ``text`` (None: the option was given without a value)."""
        if text is None:
            if "bool" in self.kinds:
                return True
            raise CommandError(f"argument {flag}: expected a value ({self.expected()})")
        if self.none and text in ("None", "none"):
            return None
        for choice in self.choices:
            if isinstance(choice, str) and text in (choice, choice.replace("_", "-")):
                return choice
        for kind in self.kinds:
            value = _read(kind, text)
            if value is not None:
                return value
        raise CommandError(f"argument {flag}: expected {self.expected()}, got {text!r}")

    def expected(self) -> str:
        words = [f"one of {', '.join(map(repr, self.choices))}"] if self.choices else []
        words += [_KIND_WORDS[kind] for kind in self.kinds]
        if self.none:
            words.append("none")
        return " or ".join(words)


_KIND_WORDS = {
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "str": "a text",
}


def _read(kind: str, text: str) -> Any:
    if kind == "str":
        return text
    if kind == "bool":
        word = text.lower()
        return True if word in _TRUE else False if word in _FALSE else None
    if kind == "int":
        return int(text) if _INTEGER.fullmatch(text) else None
    try:
        return float(text)
    except ValueError:
        return None


# --------------------------------------------------------------------------------------- #
# The options of a model
# --------------------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Option:
    """An option that sets one parameter of a face, or one field of a family.

    Attributes
    ----------
    flag : str
    name : str
        The parameter (or field).
    conversion : Conversion
    default : object
    doc : str
        The parameter's description ('' for a family's field).
    check : callable or None
        The parameter's check (``check(value) -> problem or None``); None for a family's
        field, which the family checks when it is made.
    of_family : bool
        Whether it is a field of the family of a family model.
    """

    flag: str
    name: str
    conversion: Conversion
    default: Any
    doc: str = ""
    check: Callable[[Any], str | None] | None = None
    of_family: bool = False

    def value(self, text: str | None) -> Any:
        value = self.conversion.read(text, self.flag)
        problem = None if self.check is None else self.check(value)
        if problem is not None:
            raise CommandError(f"argument {self.flag}: {problem}, got {value!r}")
        return value


def type_text(annotation: Any) -> str:
    """A dataclass field's annotation as text: a string as it is (postponed annotations), a
    class by its name, any other annotation as Python writes it (``int | None``)."""
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def declared(face: type) -> tuple[Any, ...]:
    """The parameters ``face`` declares (:class:`emkit.estimators.parameters.Param`)."""
    return tuple(getattr(face, "_parameters", ()))


def set_by_the_command_line(face: type) -> frozenset[str]:
    """The parameters of ``face`` that options of every model set."""
    from emkit.estimators.description import description_of

    names = {description_of(face).components, "family"}
    names.update(name for general in GENERAL for name in general.names)
    return frozenset(names)


def model_options(model: Model) -> dict[str, Option]:
    """The options of ``model`` that its declarations give, by flag."""
    own = set_by_the_command_line(model.face)
    options: dict[str, Option] = {}
    for param in declared(model.face):
        conversion = Conversion.of(param.type, param.default)
        if param.name in own or conversion is None or not param.command_line:
            continue
        flag = flag_of(param.name)
        options[flag] = Option(flag, param.name, conversion, param.default, param.doc, param.check)
    if model.family is not None:
        for field in dataclasses.fields(model.family):
            default = None if field.default is dataclasses.MISSING else field.default
            conversion = Conversion.of(type_text(field.type), default)
            if conversion is None or not field.init:
                continue
            flag = flag_of(field.name)
            if flag in options or field.name in own:
                flag = flag_of(f"family_{field.name}")
            options[flag] = Option(flag, field.name, conversion, default, of_family=True)
    return options


def shorthands_of(model: Model) -> list[Shorthand]:
    """The shorthands whose parameters the face of ``model`` declares."""
    names = {param.name for param in declared(model.face)}
    return [s for s in SHORTHANDS if set(s.sets) <= names]


def option_names(model: Model) -> dict[str, str]:
    """Parameter names in messages, by the options that set them: those of the model's
    declared parameters with an underscore (a word such as 'prior' may be prose), and of
    the options every model has."""
    from emkit.estimators.description import description_of

    names = {
        option.name: flag for flag, option in model_options(model).items() if "_" in option.name
    }
    for general in GENERAL:
        for name in general.names:
            names[name] = flag_of(general.dest)
    names[description_of(model.face).components] = "--components"
    return names


# --------------------------------------------------------------------------------------- #
# The estimator of emkit fit
# --------------------------------------------------------------------------------------- #


def build_estimator(args: Any, model: Model) -> Any:
    """The estimator that the options of ``emkit fit`` ask for, not fitted.

    Raises
    ------
    CommandError
        For an option the model does not take (naming the models that do), or a value its
        parameter refuses.
    """
    from emkit.estimators.description import description_of

    options = model_options(model)
    declared_names = {param.name for param in declared(model.face)}
    params: dict[str, Any] = {description_of(model.face).components: args.components}
    fields: dict[str, Any] = {}
    _refuse_options_elsewhere(args, model, options)
    for shorthand in shorthands_of(model):
        value = getattr(args, shorthand.dest)
        if value is not None:
            params.update(shorthand.params(value))
    for flag, text in args.parameters:
        option = options[flag]
        (fields if option.of_family else params)[option.name] = option.value(text)
    for general in GENERAL:
        name = next((n for n in general.names if n in declared_names), None)
        value = getattr(args, general.dest)
        if name is not None and value is not None:
            params[name] = value
    _defaults(model, params, declared_names, args)
    if model.family is None:
        return model.face(**params)
    try:
        family = model.family(**fields)
    except (TypeError, ValueError) as exc:
        raise CommandError(f"--model {model.name}: {exc}") from None
    return model.face(family, **params)


def _defaults(model: Model, params: dict[str, Any], names: set[str], args: Any) -> None:
    """The command line's defaults of restarts and iterations, where not given."""
    defaults = {param.name: param.default for param in declared(model.face)}
    if args.max_iter is None:
        for name in ("max_iter", "n_iter"):
            if name in names and isinstance(defaults[name], int):
                params[name] = max(defaults[name], MIN_ITERATIONS)
                break
    if args.n_init is None and "n_init" in names:
        deterministic = params.get("init_params", defaults.get("init_params"))
        params["n_init"] = 1 if deterministic in DETERMINISTIC_STARTS else DEFAULT_N_INIT


def _refuse_options_elsewhere(args: Any, model: Model, options: dict[str, Option]) -> None:
    """Refuse the options that ``model`` does not take, naming the models that do."""
    given = [flag for flag, _ in args.parameters if flag not in options]
    shorthands = {s.flag for s in shorthands_of(model)}
    given += [s.flag for s in SHORTHANDS if getattr(args, s.dest) is not None]
    given = [flag for flag in given if flag not in shorthands]
    if args.sequence_column is not None and not _reads_sequences(model):
        given.append("--sequence-column")
    if not given:
        return
    others = all_models()
    parts = []
    for flag in dict.fromkeys(given):
        takers = [m for m in others if _takes(m, flag)]
        if not takers:
            parts.append(f"unrecognized arguments: {flag} (see 'emkit models {model.name}')")
        else:
            parts.append(f"{flag} applies to {_named(takers, others)} only")
    raise CommandError("; ".join(parts))


def _reads_sequences(model: Model) -> bool:
    from emkit.estimators.description import description_of

    return description_of(model.face).kind == "hmm"


def _takes(model: Model, flag: str) -> bool:
    if flag == "--sequence-column":
        return _reads_sequences(model)
    if flag in {s.flag for s in shorthands_of(model)}:
        return True
    return flag in model_options(model)


def _named(takers: Sequence[Model], everything: Sequence[Model]) -> str:
    """``--model a, b or c`` and ``--model hmm`` (with ``--emission x or y`` when only some
    emissions take it)."""
    plain = [m.name for m in takers if m.emission is None]
    emissions = [m.emission for m in takers if m.emission is not None]
    all_emissions = [m.emission for m in everything if m.emission is not None]
    parts = [f"--model {_or(plain)}"] if plain else []
    if emissions:
        hmm = f"--model {HMM}"
        if len(emissions) < len(all_emissions):
            hmm += f" --emission {_or(emissions)}"
        parts.append(hmm)
    return " and to ".join(parts)


def _or(words: Sequence[Any]) -> str:
    words = [str(w) for w in words]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


# --------------------------------------------------------------------------------------- #
# emkit models MODEL
# --------------------------------------------------------------------------------------- #


def describe_options(model: Model) -> list[str]:
    """Lines for ``emkit models MODEL``: the model's own options, their values and
    defaults."""
    lines = ["options (besides those of every model; see 'emkit fit --help'):"]
    entries = [
        (f"{shorthand.flag} (sets {', '.join(shorthand.sets)})", "")
        for shorthand in shorthands_of(model)
    ]
    for option in model_options(model).values():
        what = option.conversion.expected()
        default = "" if option.default is None else f"; default {option.default!r}"
        entries.append((f"{option.flag} ({what}{default})", first_sentence(option.doc)))
    for head, doc in entries:
        lines.append(f"  {head}")
        if doc:
            lines.append(f"      {doc}")
    return lines
