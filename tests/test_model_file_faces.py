"""Edited model files, over every estimator that can be saved: ``emkit.load`` gives the saved
model or raises ModelFileError naming the field that is wrong, never anything else.

The shared fields (the container's dtypes and non-finite values, the fitted scalars, the
feature names, ``lower_bounds_``) are checked by ``emkit.io.model_file`` and
``EMEstimatorMixin._from_file``; hyperparameters and the shapes of a face's arrays by the
face's own ``_restore`` (every face checks its declared parameters there too).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import emkit
from emkit.estimators.factor_analysis import FactorAnalysis
from emkit.estimators.ppca import PPCA
from emkit.estimators.registry import all_faces
from emkit.families.poisson import Poisson
from emkit.io.model_file import ModelFileError, read_model_file
from model_file_support import same_estimator, write_raw_model_file

_RNG = np.random.default_rng(0)
_GAUSS = _RNG.normal(size=(60, 2)) + np.repeat([[0.0, 0.0], [4.0, 4.0]], 30, axis=0)
_BINARY = (_RNG.random((60, 3)) < 0.5).astype(float)
_CODES = _RNG.integers(0, 3, size=(60, 2)).astype(float)
_COUNTS = _RNG.multinomial(10, [0.2, 0.3, 0.5], size=60).astype(float)
_POISSON = _RNG.poisson(3.0, size=(60, 2)).astype(float)
_SYMBOLS = _RNG.integers(0, 3, size=(60, 1))
_LENGTHS = [30, 30]

# Every face that can be saved, fitted in a few iterations; some with hyperparameters that
# are stored as arrays.
BUILDERS: dict[str, Callable[[], Any]] = {
    "GaussianMixture": lambda: emkit.GaussianMixture(
        2, random_state=0, max_iter=5, means_init=_GAUSS[[0, 40]]
    ).fit(_GAUSS),
    "BayesianGaussianMixture": lambda: emkit.BayesianGaussianMixture(
        n_components=2, random_state=0, max_iter=5, mean_prior=[0.0, 0.0]
    ).fit(_GAUSS),
    "KMeans": lambda: emkit.KMeans(2, random_state=0, max_iter=5).fit(_GAUSS),
    "StudentMixture": lambda: emkit.StudentMixture(2, random_state=0, max_iter=5).fit(_GAUSS),
    "BernoulliMixture": lambda: emkit.BernoulliMixture(2, random_state=0, max_iter=5).fit(_BINARY),
    "CategoricalMixture": lambda: emkit.CategoricalMixture(
        2, random_state=0, max_iter=5, n_categories=[3, 3]
    ).fit(_CODES),
    "MultinomialMixture": lambda: emkit.MultinomialMixture(2, random_state=0, max_iter=5).fit(
        _COUNTS
    ),
    "PoissonMixture": lambda: emkit.PoissonMixture(2, random_state=0, max_iter=5).fit(_POISSON),
    "ExponentialMixture": lambda: emkit.ExponentialMixture(2, random_state=0, max_iter=5).fit(
        _POISSON + 0.5
    ),
    "Mixture": lambda: emkit.Mixture(Poisson(), 2, random_state=0, max_iter=5).fit(_POISSON),
    "GaussianHMM": lambda: emkit.GaussianHMM(2, random_state=0, n_iter=5).fit(_GAUSS, _LENGTHS),
    "GMMHMM": lambda: emkit.GMMHMM(2, 2, random_state=0, n_iter=5).fit(_GAUSS, _LENGTHS),
    "CategoricalHMM": lambda: emkit.CategoricalHMM(2, random_state=0, n_iter=5).fit(
        _SYMBOLS, _LENGTHS
    ),
    "MultinomialHMM": lambda: emkit.MultinomialHMM(2, n_trials=10, random_state=0, n_iter=5).fit(
        _COUNTS.astype(int), _LENGTHS
    ),
    "PoissonHMM": lambda: emkit.PoissonHMM(2, random_state=0, n_iter=5).fit(
        _POISSON.astype(int), _LENGTHS
    ),
    "HMM": lambda: emkit.HMM(Poisson(), 2, random_state=0, n_iter=5).fit(_POISSON, _LENGTHS),
    "LatentDirichletAllocation": lambda: emkit.LatentDirichletAllocation(
        2, doc_topic_prior="auto", random_state=0, max_iter=5
    ).fit(_COUNTS),
    "PLSA": lambda: emkit.PLSA(2, random_state=0, max_iter=5, tol=0.0).fit(_COUNTS),
    "FactorAnalysis": lambda: FactorAnalysis(1, max_iter=5, noise_variance_init=[1.0, 1.0]).fit(
        _GAUSS
    ),
    "PPCA": lambda: PPCA(1, random_state=0, max_iter=5).fit(_GAUSS),
}
# Registered classes that only other faces derive from.
ABSTRACT = {"BaseMixture", "CovarianceFace", "BaseHMM", "_DiscreteHMM"}
# The hyperparameter that counts components or clusters, for damages of an integer.
COUNT = {"KMeans": "n_clusters"}


@dataclass(frozen=True)
class Damage:
    """One edit of a model file: ``what`` says it, ``field`` is what the error must name
    (None when the edit makes two fields disagree, and either may be named)."""

    what: str
    field: str | None
    edit: Callable[[dict, dict], None]


def _set(*keys: str, value: Any) -> Callable[[dict, dict], None]:
    def edit(meta: dict, arrays: dict) -> None:
        target = meta
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return edit


def _delete(*keys: str) -> Callable[[dict, dict], None]:
    def edit(meta: dict, arrays: dict) -> None:
        del meta[keys[0]][keys[1]]

    return edit


def _array(name: str, change: Callable[[np.ndarray], np.ndarray]) -> Callable[[dict, dict], None]:
    def edit(meta: dict, arrays: dict) -> None:
        arrays[name] = change(arrays[name])

    return edit


def _with_value(value: float) -> Callable[[np.ndarray], np.ndarray]:
    def change(array: np.ndarray) -> np.ndarray:
        array = array.astype(np.float64)
        array.flat[0] = value  # whatever the array's memory order
        return array

    return change


def _longer(array: np.ndarray) -> np.ndarray:
    return np.concatenate([array, array[:1]]) if array.ndim else array.reshape(1)


WRONG_SCALARS = {
    "converged_": [1, "true", None],
    "n_iter_": [-1, 2.5, "3", True, None],
    "n_features_in_": [0, -1, 3.5, "3", True, None],
}


def _damages(name: str, meta: dict, arrays: dict) -> Iterator[Damage]:
    cls = all_faces()[name]
    fitted = meta["fitted"]
    yield Damage("hyperparameters as a list", "hyperparameters", _set("hyperparameters", value=[]))
    yield Damage("fitted attributes as a list", "fitted", _set("fitted", value=[1]))
    for scalar in cls._fitted_scalars:
        for value in WRONG_SCALARS.get(scalar, ["x", None, True, [1.0]]):
            yield Damage(f"{scalar} = {value!r}", scalar, _set("fitted", scalar, value=value))
        yield Damage(f"{scalar} missing", scalar, _delete("fitted", scalar))
    yield Damage("n_iter_ + 1", "n_iter_", _set("fitted", "n_iter_", value=fitted["n_iter_"] + 1))
    n_features = fitted["n_features_in_"]
    yield Damage("n_features_in_ + 1", None, _set("fitted", "n_features_in_", value=n_features + 1))
    for value in (["x"] * (n_features + 1), list(range(n_features)), "ab", {"a": "b"}):
        yield Damage(
            f"feature_names_in = {value!r}",
            "feature_names_in",
            _set("feature_names_in", value=value),
        )
    for hyper in meta["hyperparameters"]:
        yield Damage(
            f"{hyper} = 'nonsense'", hyper, _set("hyperparameters", hyper, value="nonsense")
        )
        yield Damage(
            f"{hyper} names a missing array",
            hyper,
            _set("hyperparameters", hyper, value={"array": "x"}),
        )
    count = COUNT.get(name, "n_components")
    for value in (2.5, -1, 0, True, "2"):
        yield Damage(f"{count} = {value!r}", count, _set("hyperparameters", count, value=value))
    for array_name, array in arrays.items():
        field = array_name.removeprefix("param__")
        if array.dtype.kind == "f":
            for value in (np.nan, np.inf):
                yield Damage(
                    f"{array_name} holds {value}", field, _array(array_name, _with_value(value))
                )
        for dtype in (np.complex128, object, "U8", [("x", np.float64)]):
            yield Damage(
                f"{array_name} of dtype {np.dtype(dtype)}",
                field,
                _array(array_name, lambda a, dtype=dtype: a.astype(dtype)),
            )
        yield Damage(f"{array_name} one element longer", field, _array(array_name, _longer))
        yield Damage(
            f"{array_name} with an extra axis", field, _array(array_name, lambda a: a[..., None])
        )
        yield Damage(
            f"{array_name} missing", field, lambda meta, arrays, n=array_name: arrays.pop(n)
        )


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("faces")
    paths = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a few iterations: some fits do not converge
        for name, build in BUILDERS.items():
            paths[name] = build().save(folder / f"{name}.emkit")
    return paths


def test_every_face_that_can_be_saved_is_covered():
    faces = {name for name, cls in all_faces().items() if cls.__module__.startswith("emkit.")}
    assert faces - ABSTRACT == set(BUILDERS)


def _outcomes(name: str, path, tmp_path) -> tuple[set[str], set[str]]:
    """The edits ``emkit.load`` accepted, and those it refused without naming the field;
    any other exception fails the test."""
    model = read_model_file(path)
    let_through, unnamed = set(), set()
    for i, damage in enumerate(_damages(name, model.metadata, model.arrays)):
        meta, arrays = copy.deepcopy(model.metadata), dict(model.arrays)
        damage.edit(meta, arrays)
        damaged = write_raw_model_file(tmp_path / f"{i}.emkit", model.kind, meta, arrays)
        try:
            emkit.load(damaged)
        except ModelFileError as exc:
            message = str(exc)
            assert repr(str(damaged)) in message, message
            # The public name is enough: '_covars_' is stored for covars_.
            if damage.field is not None and damage.field.strip("_") not in message:
                unnamed.add(damage.what)
        except Exception as exc:  # the failure this test exists for
            pytest.fail(f"{name}, {damage.what}: {type(exc).__name__}: {exc}")
        else:
            let_through.add(damage.what)
    return let_through, unnamed


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_edited_files_load_or_raise_model_file_error_naming_the_field(name, saved, tmp_path):
    let_through, unnamed = _outcomes(name, saved[name], tmp_path)
    assert sorted(let_through) == []
    assert sorted(unnamed) == []


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_saved_files_load_again_with_their_feature_names(name, saved, tmp_path):
    loaded = emkit.load(saved[name])
    assert same_estimator(emkit.load(loaded.save(tmp_path / "again.emkit")), loaded)
    model = read_model_file(saved[name])
    names = [f"f{i}" for i in range(model.metadata["fitted"]["n_features_in_"])]
    path = write_raw_model_file(
        tmp_path / "named.emkit",
        model.kind,
        {**model.metadata, "feature_names_in": names},
        model.arrays,
    )
    assert list(emkit.load(path).feature_names_in_) == names


PLUGIN = '''
from dataclasses import dataclass

from emkit.families.poisson import Poisson


@dataclass(frozen=True)
class PluginCounts(Poisson):
    """Poisson counts, as a package outside emkit would define a family."""
'''


def test_a_family_of_another_package_is_found_through_its_entry_point(tmp_path, monkeypatch):
    """A model file of a family whose module nobody has imported loads once the family's
    package registers it as an entry point of ``emkit.models``; without one it is refused,
    naming the family."""
    import sys
    from importlib.metadata import EntryPoint

    from emkit import plugins
    from emkit.families.base import FAMILIES

    (tmp_path / "plugin_counts.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    import plugin_counts

    X = np.random.default_rng(0).poisson([[1.0, 6.0]], size=(60, 2))
    fitted = emkit.Mixture(plugin_counts.PluginCounts(), 2, random_state=0).fit(X)
    path = tmp_path / "counts.emkit"
    fitted.save(path)

    def forget() -> None:
        # As in a new process: neither the module nor its family is known.
        monkeypatch.delitem(sys.modules, "plugin_counts")
        monkeypatch.delitem(FAMILIES, "PluginCounts")

    forget()
    monkeypatch.setattr(plugins, "entry_points", lambda group: [])
    with pytest.raises(ModelFileError, match="unknown family 'PluginCounts'"):
        emkit.load(path)

    entry = EntryPoint("plugin-counts", "plugin_counts:PluginCounts", plugins.GROUP)
    monkeypatch.setattr(plugins, "entry_points", lambda group: [entry])
    loaded = emkit.load(path)
    assert type(loaded.family).__module__ == "plugin_counts"
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
