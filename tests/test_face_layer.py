"""One face layer: parameters declared once (constructor, documentation, validation), families
that describe themselves (model files), name their arrays (fitted attributes) and check their
own parameters, and faces that register themselves."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone

import emkit
from emkit.estimators.parameters import REQUIRED, DeclaredParameters, Param, integer, real
from emkit.estimators.registry import all_faces
from emkit.families import Bernoulli, Categorical, Gaussian, Poisson, Product, StudentT
from emkit.families.base import FAMILIES, Family, family_from_description
from emkit.families.covariance import covariance_structure
from emkit.families.gaussian import GaussianPrior
from emkit.families.multinomial import Multinomial

# -- parameters declared once ------------------------------------------------------------------


class _Face(DeclaredParameters):
    """A face.

    Attributes
    ----------
    done_ : bool
    """

    _parameters = (
        Param("family", REQUIRED, "Family", "The family.", lambda v: None, positional=True),
        Param("n_components", 1, "int", "Components.", integer(1), positional=True),
        Param("tol", 1e-3, "float", "Tolerance.", real(0.0)),
    )


def test_the_constructor_is_made_from_the_declarations():
    signature = inspect.signature(_Face)
    assert str(signature) == "(family, n_components=1, *, tol=0.001)"
    face = _Face("f", 3, tol=0.5)
    assert (face.family, face.n_components, face.tol) == ("f", 3, 0.5)
    with pytest.raises(TypeError):
        _Face("f", 3, 0.5)  # keyword-only


def test_the_docstring_gets_a_parameters_section_before_its_first_section():
    doc = _Face.__doc__
    assert doc.index("Parameters\n    ----------") < doc.index("Attributes\n    ----------")
    assert "    family : Family\n        The family.\n" in doc
    assert "    n_components : int, default=1\n        Components.\n" in doc


def test_validation_names_the_parameter_and_the_value():
    with pytest.raises(ValueError, match=r"n_components must be an integer >= 1, got 0"):
        _Face("f", 0)._check_parameters()
    with pytest.raises(ValueError, match=r"tol must be a finite number >= 0, got 'x'"):
        _Face("f", tol="x")._check_parameters()
    with pytest.raises(ValueError, match=r"n_components must be an integer >= 1, got True"):
        _Face("f", True)._check_parameters()


@pytest.mark.parametrize("name", sorted(all_faces()))
def test_every_face_declares_every_parameter_it_takes(name):
    cls = all_faces()[name]
    declared = getattr(cls, "_parameters", None)
    if not declared:
        pytest.skip(f"{name} writes its constructor by hand")
    assert list(inspect.signature(cls).parameters) == [p.name for p in declared]
    doc = cls.__doc__
    for param in declared:
        assert re.search(rf"^    {param.name} : ", doc, re.M), f"{name}.{param.name} undocumented"


@pytest.mark.parametrize(
    ("face", "value"),
    [
        (emkit.GaussianMixture, {"hard": "yes"}),
        (emkit.PoissonMixture, {"verbose": -1}),
        (emkit.BernoulliMixture, {"random_state": "seed"}),
        (emkit.StudentMixture, {"n_jobs": 0}),
        (emkit.BayesianGaussianMixture, {"warm_start": 1}),
        (emkit.CategoricalMixture, {"chunk_size": 0}),
    ],
)
def test_every_shared_parameter_is_checked(face, value):
    (name,) = value
    X = np.abs(np.round(np.random.default_rng(0).normal(size=(30, 2)) * 2)) % 2
    with pytest.raises(ValueError, match=rf"^{name} must be"):
        face(2, **value).fit(X)


# -- families that describe themselves -------------------------------------------------------------
FAMILY_CASES = [
    Bernoulli(prior=2.0),
    Categorical(n_categories=(3, 4), prior=1.5),
    Categorical(),
    Multinomial(n_trials=5),
    Poisson(lambdas_prior=1.0, lambdas_weight=0.5, frozen=frozenset({"lambdas"})),
    Gaussian(covariance_structure("VEI"), reg_covar=0.0),
    Gaussian(
        "diag",
        prior=GaussianPrior(means_prior=np.array([1.0, 2.0]), covars_prior=0.5, covars_weight=3),
    ),
    StudentT("spherical", dof_init=(4.0, 7.0)),
    Product([(Gaussian("full"), [0, 1]), (Categorical(), [2])], names=["real", "code"]),
]


@pytest.mark.parametrize("family", FAMILY_CASES, ids=lambda f: type(f).__name__)
def test_a_family_is_written_as_data_and_read_back(family):
    import json

    description = json.loads(json.dumps(family.describe()))
    back = family_from_description(description)
    assert type(back) is type(family)
    assert back.describe() == description


def test_every_emkit_family_registers_itself():
    names = {"Bernoulli", "Categorical", "Exponential", "Gaussian", "Multinomial"}
    names |= {"Poisson", "Product", "StudentT"}
    assert names <= set(FAMILIES)
    assert all(issubclass(FAMILIES[name], Family) for name in names)


def test_a_second_family_of_a_registered_name_is_refused():
    """Model files name a family by class name: another class of that name would read them."""
    with pytest.raises(TypeError, match="a family named 'Poisson' is already registered"):
        type("Poisson", (Family,), {})
    assert FAMILIES["Poisson"] is Poisson


@pytest.mark.parametrize(
    ("description", "match"),
    [
        ({"family": "Nonesuch"}, "unknown family 'Nonesuch'"),
        ({"family": "Poisson", "rates": 1.0}, "description of a Poisson family is wrong"),
        ("Poisson", "described by a mapping"),
        ({"family": "Gaussian", "covariance": {"covariance": "XYZ"}}, "covariance_type"),
        ({"family": "Gaussian", "prior": {"dataclass": "os.system", "fields": {}}}, "not a"),
    ],
)
def test_a_bad_description_is_refused(description, match):
    with pytest.raises(ValueError, match=match):
        family_from_description(description)


def test_covariance_structures_compare_and_print_as_values():
    assert covariance_structure("diag") == covariance_structure("diag")
    assert covariance_structure("diag") != covariance_structure("full")
    assert repr(Gaussian("diag")).startswith("Gaussian(covariance=covariance_structure('diag')")
    assert " at 0x" not in repr(emkit.Mixture(Product([(Gaussian("diag"), [0])]), 2))


# -- a product of families as a mixture face ----------------------------------------------------
def _records(n: int = 400, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    labels = rng.choice(2, size=n)
    numbers = rng.normal(size=(n, 2)) + 3.0 * labels[:, None]
    codes = np.where(rng.random(n) < 0.8, labels, 1 - labels) + 2 * rng.integers(0, 2, n)
    counts = rng.poisson(np.where(labels == 0, 2.0, 9.0))
    return np.column_stack([numbers, codes, counts]).astype(np.float64)


def _product() -> Product:
    return Product([(Gaussian("diag"), [0, 1]), (Categorical(), [2]), (Poisson(), [3])])


def test_a_product_mixture_has_readable_attributes_criteria_and_a_model_file(tmp_path):
    X = _records()
    est = emkit.Mixture(_product(), 2, init_params="random", n_init=3, random_state=0).fit(X)
    assert est.family.names == ("gaussian", "categorical", "poisson")
    for name in (
        "gaussian_means_",
        "gaussian_covariances_",
        "categorical_probs_",
        "categorical_n_categories_",
        "poisson_lambdas_",
    ):
        assert hasattr(est, name), name
    assert not any(a.startswith("part") for a in vars(est))
    assert_array_equal(est.categorical_n_categories_, [4])
    # The criteria count every part's parameters (the categorical part's categories from
    # the fit): 2 x (2 + 2) Gaussian, 2 x 3 categorical, 2 x 1 Poisson, 1 weight.
    assert est._n_parameters() == 8 + 6 + 2 + 1
    n = X.shape[0]
    assert_allclose(est.bic(X), -2 * est.score(X) * n + 17 * np.log(n))
    assert_allclose(est.aic(X), -2 * est.score(X) * n + 34)
    loaded = emkit.load(est.save(tmp_path / "records.emkit"))
    assert loaded.family == est.family
    assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    assert_array_equal(loaded.poisson_lambdas_, est.poisson_lambdas_)
    assert clone(est).get_params()["family"] == est.family


def test_product_parts_take_given_names_and_refuse_bad_ones():
    family = Product([(Poisson(), [0]), (Poisson(), [1])])
    assert family.names == ("poisson", "poisson_2")
    named = Product([(Poisson(), [0]), (Poisson(), [1])], names=["visits", "calls"])
    X = np.random.default_rng(1).poisson(3.0, size=(100, 2)).astype(float)
    est = emkit.Mixture(named, 2, random_state=0).fit(X)
    assert est.visits_lambdas_.shape == est.calls_lambdas_.shape == (2, 1)
    for names, match in [
        (["a"], "name each of the 2 parts"),
        (["a", "a"], "must all differ"),
        (["a", "b c"], "Python identifier"),
        ("ab", "not the string"),
    ]:
        with pytest.raises(ValueError, match=match):
            Product([(Poisson(), [0]), (Poisson(), [1])], names=names)


def test_an_edited_product_model_file_names_the_part(tmp_path):
    from emkit.io.model_file import ModelFileError, read_model_file, write_model_file

    X = _records()
    path = emkit.Mixture(_product(), 2, random_state=0).fit(X).save(tmp_path / "r.emkit")
    model = read_model_file(path)
    arrays = dict(model.arrays, poisson_lambdas_=-np.ones((2, 1)))
    write_model_file(path, model.kind, model.metadata, arrays)
    with pytest.raises(ModelFileError, match=r"parts\[2\] \(Poisson, column 3\).*non-negative"):
        emkit.load(path)


@pytest.mark.parametrize(
    ("face", "fit"),
    [
        (lambda: emkit.GaussianMixture(3, n_init=4, random_state=0), lambda e, X: e.fit(X)),
        (lambda: emkit.KMeans(3, n_init=4, random_state=0), lambda e, X: e.fit(X)),
        (
            lambda: emkit.GaussianHMM(3, n_init=4, random_state=0, n_iter=20),
            lambda e, X: e.fit(X, [100, 200]),
        ),
    ],
    ids=["gmm", "kmeans", "hmm"],
)
def test_every_restart_leaves_its_final_bound(face, fit):
    X = np.random.default_rng(5).normal(size=(300, 2)) + np.repeat(np.eye(3, 2) * 4, 100, 0)
    est = fit(face(), X)
    assert est.restart_lower_bounds_.shape == (4,)
    assert est.lower_bound_ == est.restart_lower_bounds_.max()
