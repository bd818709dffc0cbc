"""Frozen dataclasses of named arrays that add up field by field.

Every model's sufficient statistics derive from :class:`Additive`, so statistics of
chunks, of threads or of cluster workers combine with ``+`` and ``sum()``.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T", bound="Additive")


class Additive:
    """Mixin for frozen dataclasses whose fields are arrays, numbers or other
    :class:`Additive` values; ``a + b`` adds field by field.

    ``0 + stats`` returns ``stats`` so that the built-in ``sum`` works without a start value.
    """

    def __add__(self: T, other: T) -> T:
        if type(other) is not type(self):
            return NotImplemented
        return type(self)(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )  # type: ignore[arg-type]

    def __radd__(self: T, other: Any) -> T:
        if isinstance(other, int) and other == 0:
            return self
        return NotImplemented


def scale(stats: T, factor: float) -> T:
    """Every field of ``stats`` multiplied by ``factor`` (used by online EM and tests)."""
    return replace(
        stats, **{f.name: _scale_field(getattr(stats, f.name), factor) for f in fields(stats)}
    )  # type: ignore[arg-type]


def _scale_field(value: Any, factor: float) -> Any:
    if isinstance(value, Additive):
        return scale(value, factor)
    return value * factor


def as_dict(obj: Any, prefix: str = "") -> dict[str, np.ndarray]:
    """Flatten a (possibly nested) dataclass of arrays into ``{"a.b": array}``."""
    out: dict[str, np.ndarray] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        name = prefix + f.name
        if hasattr(value, "__dataclass_fields__"):
            out.update(as_dict(value, name + "."))
        else:
            out[name] = np.asarray(value)
    return out


def identical(a: Any, b: Any) -> bool:
    """Whether two dataclasses of arrays hold exactly the same values (False for anything
    that is not a dataclass)."""
    if type(a) is not type(b) or not hasattr(a, "__dataclass_fields__"):
        return False
    da, db = as_dict(a), as_dict(b)
    return da.keys() == db.keys() and all(
        da[k].shape == db[k].shape and np.array_equal(da[k], db[k]) for k in da
    )
