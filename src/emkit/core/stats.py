"""Frozen dataclasses of named arrays that add up field by field.

Every model's sufficient statistics derive from :class:`Additive`, so statistics of
chunks, of threads or of cluster workers combine with ``+`` and ``sum()``.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any, ClassVar, TypeVar

import numpy as np

T = TypeVar("T", bound="Additive")


class Additive:
    """Mixin for frozen dataclasses whose fields are arrays, numbers or other
    :class:`Additive` values; ``a + b`` adds field by field.

    Fields named in :attr:`references` are not sums but what the sums are taken about (the
    centres of centred moments, the structure their second moments are reduced to). They
    are never added or scaled: ``a + b`` keeps ``a``'s, after re-basing ``b`` onto them
    (:meth:`rebased`) when they differ, so that statistics computed under different
    parameters (online EM's steps, a cluster's partitions) still add up to those of all the
    data about one reference.

    ``0 + stats`` returns ``stats`` so that the built-in ``sum`` works without a start value.
    """

    references: ClassVar[tuple[str, ...]] = ()

    def rebased(self: T, like: T) -> T:
        """The same statistics taken about ``like``'s references."""
        raise TypeError(f"{type(self).__name__} statistics have no reference to re-base")

    def __add__(self: T, other: T) -> T:
        if type(other) is not type(self):
            return NotImplemented
        if self.references and not _same_references(self, other):
            other = other.rebased(self)
        return type(self)(
            **{
                f.name: getattr(self, f.name)
                if f.name in self.references
                else getattr(self, f.name) + getattr(other, f.name)
                for f in fields(self)
            }
        )  # type: ignore[arg-type]

    def __radd__(self: T, other: Any) -> T:
        if isinstance(other, int) and other == 0:
            return self
        return NotImplemented


def _same_references(a: Additive, b: Additive) -> bool:
    for name in a.references:
        x, y = getattr(a, name), getattr(b, name)
        if x is y:  # the common case: chunks of one E-step share their parameters' arrays
            continue
        if isinstance(x, np.ndarray):
            if not (x.shape == np.shape(y) and np.array_equal(x, y)):
                return False
        elif x != y:
            return False
    return True


def scale(stats: T, factor: float) -> T:
    """Every sum of ``stats`` multiplied by ``factor`` (its references kept); used by
    online EM and tests."""
    return replace(
        stats,
        **{
            f.name: _scale_field(getattr(stats, f.name), factor)
            for f in fields(stats)
            if f.name not in stats.references
        },
    )  # type: ignore[arg-type]


def _scale_field(value: Any, factor: float) -> Any:
    if isinstance(value, Additive):
        return scale(value, factor)
    return value * factor


def as_dict(obj: Any, prefix: str = "") -> dict[str, np.ndarray]:
    """Flatten a (possibly nested) dataclass of arrays into ``{"a.b": array}`` (references
    that are not arrays, such as a covariance structure, left out)."""
    out: dict[str, np.ndarray] = {}
    references = getattr(obj, "references", ())
    for f in fields(obj):
        value = getattr(obj, f.name)
        if f.name in references and not isinstance(value, np.ndarray):
            continue  # a structure, not numbers (the sums are reduced to it)
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
