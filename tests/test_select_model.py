"""Tests for model selection (emkit.selection) and the hierarchical start
(emkit.models.hierarchical)."""

from __future__ import annotations

import itertools
import pathlib

import numpy as np
import pytest
from scipy.cluster.hierarchy import linkage
from scipy.stats import multivariate_normal
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.metrics import adjusted_rand_score

from emkit.estimators.gaussian_mixture import GaussianMixture
from emkit.exceptions import ConvergenceWarning
from emkit.families.covariance import covariance_structure
from emkit.models.hierarchical import (
    MAX_AGGLOMERATED,
    agglomerate,
    merged_log_dets,
    merged_log_dets_reference,
)
from emkit.models.initialization import initializer
from emkit.selection import (
    MCLUST_MODELS,
    TABLE_COLUMNS,
    default_covariance_types,
    mclust_n_parameters,
    select_model,
)

ROOT = pathlib.Path(__file__).resolve().parents[1]
FAITHFUL = ROOT / "examples" / "data" / "faithful.csv"


def _faithful():
    return np.loadtxt(FAITHFUL, delimiter=",", skiprows=1)


def _blobs(seed=0, n=(150, 100, 120)):
    """Three well separated Gaussian clusters in 2-d with different full covariances."""
    rng = np.random.RandomState(seed)
    covs = [[[1.0, 0.6], [0.6, 1.0]], [[0.3, 0.0], [0.0, 2.0]], [[1.5, -0.7], [-0.7, 0.8]]]
    means = [[0.0, 0.0], [8.0, 1.0], [2.0, 9.0]]
    X = np.concatenate(
        [rng.multivariate_normal(m, c, size=k) for m, c, k in zip(means, covs, n, strict=True)]
    )
    return X, np.repeat(np.arange(3), n)


# --------------------------------------------------------------------------------------- #
# Parameter counts: mclust's formulas, written out by hand
# --------------------------------------------------------------------------------------- #

# Covariance parameters of mclust's models (Celeux & Govaert 1995; mclust's nVarParams):
# lambda (volume), A (shape, D - 1 free values), D (orientation, D(D-1)/2 free values), each
# equal (E), variable (V) across the K components, or the identity (I).
MCLUST_COVARIANCE_PARAMETERS = {
    "EII": lambda k, d: 1,
    "VII": lambda k, d: k,
    "EEI": lambda k, d: d,
    "VEI": lambda k, d: k + (d - 1),
    "EVI": lambda k, d: 1 + k * (d - 1),
    "VVI": lambda k, d: k * d,
    "EEE": lambda k, d: d * (d + 1) // 2,
    "VEE": lambda k, d: k + (d - 1) + d * (d - 1) // 2,
    "EVE": lambda k, d: 1 + k * (d - 1) + d * (d - 1) // 2,
    "VVE": lambda k, d: k + k * (d - 1) + d * (d - 1) // 2,
    "EEV": lambda k, d: 1 + (d - 1) + k * d * (d - 1) // 2,
    "VEV": lambda k, d: k + (d - 1) + k * d * (d - 1) // 2,
    "EVV": lambda k, d: 1 + k * (d - 1) + k * d * (d - 1) // 2,
    "VVV": lambda k, d: k * d * (d + 1) // 2,
}
ALIASES = {"spherical": "VII", "diag": "VVI", "tied": "EEE", "full": "VVV"}


@pytest.mark.parametrize("name", [*MCLUST_MODELS, *ALIASES])
def test_parameter_counts_follow_mclust(name):
    formula = MCLUST_COVARIANCE_PARAMETERS[ALIASES.get(name, name)]
    for k, d in itertools.product(range(1, 6), range(2, 6)):
        expected = (k - 1) + k * d + formula(k, d)
        assert mclust_n_parameters(name, k, d) == expected, (name, k, d)


def test_published_degrees_of_freedom():
    # mclust's summaries: faithful EEE with 3 components has df 11, iris VEV with 2 has 26.
    assert mclust_n_parameters("EEE", 3, 2) == 11
    assert mclust_n_parameters("VEV", 2, 4) == 26


def test_default_grid_is_every_registered_mclust_model():
    registered = [name for name in MCLUST_MODELS if _registered(name)]
    expected = tuple(registered) if registered else ("spherical", "diag", "tied", "full")
    assert default_covariance_types() == expected
    assert len(set(type(covariance_structure(n)) for n in default_covariance_types())) == len(
        expected
    )


def _registered(name):
    try:
        covariance_structure(name)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------------------- #
# The table
# --------------------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def faithful_selection():
    return select_model(
        _faithful(),
        n_components=[1, 2, 3, 4],
        covariance_types=["spherical", "diag", "tied", "full"],
        random_state=0,
        n_jobs=2,
    )


def test_criteria_recomputed_from_the_fitted_models(faithful_selection):
    X = _faithful()
    n = X.shape[0]
    assert faithful_selection.n_samples == n
    assert len(faithful_selection.candidates) == 16
    for c in faithful_selection.candidates:
        assert not c.failed
        est = c.estimator
        assert (est.covariance_type, est.n_components) == (c.covariance_type, c.n_components)
        log_lik = est.score(X) * n
        assert c.log_likelihood == pytest.approx(log_lik, rel=1e-10)
        assert c.n_parameters == est._n_parameters()
        bic = 2 * log_lik - c.n_parameters * np.log(n)
        assert c.bic == pytest.approx(bic, rel=1e-10)
        # scikit-learn's sign is the opposite.
        assert c.bic == pytest.approx(-est.bic(X), rel=1e-10)
        assert c.aic == pytest.approx(-est.aic(X), rel=1e-10)
        assert c.aic == pytest.approx(2 * log_lik - 2 * c.n_parameters, rel=1e-10)
        z = est.predict_proba(X)
        hard = np.zeros_like(z)
        hard[np.arange(n), z.argmax(axis=1)] = 1.0
        entropy = np.sum(hard * np.log(np.where(z > 0, z, 1.0)))
        assert c.icl == pytest.approx(bic + 2 * entropy, rel=1e-10)
        assert c.icl <= c.bic
        assert c.converged and c.n_iter == est.n_iter_


def test_best_is_the_arg_best_of_the_table(faithful_selection):
    X = _faithful()
    for criterion in ("bic", "icl", "aic"):
        result = select_model(
            X,
            n_components=[1, 2, 3, 4],
            covariance_types=["spherical", "diag", "tied", "full"],
            criterion=criterion,
            random_state=0,
            n_jobs=2,
        )
        columns = result.columns(sort=False)
        best = int(np.argmax(columns[criterion]))
        assert result.best_params_ == {
            "covariance_type": columns["covariance_type"][best],
            "n_components": columns["n_components"][best],
        }
        assert result.best_score_ == columns[criterion].max()
        assert result.best_estimator_ is result.candidates[best].estimator
        table = result.table()
        assert table[0]["covariance_type"] == result.best_params_["covariance_type"]
        assert table[0]["n_components"] == result.best_params_["n_components"]
        scores = [row[criterion] for row in table]
        assert scores == sorted(scores, reverse=True)
        # A candidate's fit does not depend on the criterion.
        np.testing.assert_array_equal(columns["bic"], faithful_selection.columns(sort=False)["bic"])


def test_table_and_columns_agree(faithful_selection):
    table = faithful_selection.table()
    columns = faithful_selection.columns()
    assert list(table[0]) == list(TABLE_COLUMNS) == list(columns)
    for name in TABLE_COLUMNS:
        values = [row[name] for row in table]
        if name == "error":
            assert values == [None] * len(table)
            assert columns[name].tolist() == [""] * len(table)
        else:
            assert columns[name].tolist() == values
    assert columns["n_components"].dtype == np.int64
    assert columns["converged"].dtype == bool
    assert columns["bic"].dtype == np.float64
    grid = faithful_selection.table(sort=False)
    assert [(r["covariance_type"], r["n_components"]) for r in grid] == [
        (t, k) for t in ("spherical", "diag", "tied", "full") for k in (1, 2, 3, 4)
    ]


def test_ties_go_to_fewer_parameters_then_grid_order(faithful_selection):
    # With one component, VII and EII (or the four here) differ; 'tied' and 'full' coincide.
    one = [c for c in faithful_selection.candidates if c.n_components == 1]
    tied, full = (c for c in one if c.covariance_type in ("tied", "full"))
    assert tied.bic == pytest.approx(full.bic, abs=1e-8)
    ranked = faithful_selection.ranked()
    assert ranked.index(tied) < ranked.index(full)


# --------------------------------------------------------------------------------------- #
# Recovery, failures, options, reproducibility
# --------------------------------------------------------------------------------------- #


@pytest.mark.parametrize("criterion", ["bic", "icl"])
def test_recovers_the_number_of_components(criterion):
    X, y = _blobs()
    result = select_model(
        X,
        n_components=range(1, 7),
        covariance_types=["VII", "EEE", "VVV"],
        criterion=criterion,
        random_state=1,
        n_jobs=2,
    )
    assert result.best_params_ == {"covariance_type": "VVV", "n_components": 3}
    labels = result.best_estimator_.predict(X)
    # The clusters are the simulated ones, up to renaming.
    assert len({(a, b) for a, b in zip(labels, y, strict=True)}) == 3


def test_sample_weights_enter_the_criteria():
    X, _ = _blobs(n=(60, 40, 50))
    w = np.random.RandomState(3).randint(1, 4, size=X.shape[0]).astype(float)
    result = select_model(
        X, n_components=[2, 3], covariance_types=["VVV"], sample_weight=w, random_state=0
    )
    assert result.n_samples == w.sum()
    for c in result.candidates:
        log_lik = c.estimator.score(X, sample_weight=w) * w.sum()
        assert c.log_likelihood == pytest.approx(log_lik, rel=1e-10)
        assert c.bic == pytest.approx(2 * log_lik - c.n_parameters * np.log(w.sum()), rel=1e-10)
    # Integer weights: the same table as the repeated rows.
    repeated = select_model(
        np.repeat(X, w.astype(int), axis=0),
        n_components=[2, 3],
        covariance_types=["VVV"],
        init_params="kmeans",
        random_state=0,
    )
    weighted = select_model(
        X,
        n_components=[2, 3],
        covariance_types=["VVV"],
        sample_weight=w,
        init_params="kmeans",
        random_state=0,
    )
    for a, b in zip(repeated.candidates, weighted.candidates, strict=True):
        assert a.bic == pytest.approx(b.bic, abs=1e-3)


def test_failures_are_recorded_not_raised():
    rng = np.random.RandomState(0)
    # A block of identical rows is a cluster of zero scatter: singular without reg_covar.
    X = np.concatenate([rng.normal(size=(60, 2)), np.tile([[5.0, 5.0]], (15, 1))])
    result = select_model(
        X, n_components=[1, 2, 3], covariance_types=["VVV", "VII"], reg_covar=0.0, n_jobs=1
    )
    failed = [c for c in result.candidates if c.failed]
    assert failed, result.table()
    for c in failed:
        assert c.estimator is None and not c.converged and c.n_iter == 0
        assert np.isnan([c.log_likelihood, c.bic, c.icl, c.aic]).all()
        assert "ill-defined empirical covariance" in c.error
        assert c.n_parameters == mclust_n_parameters(c.covariance_type, c.n_components, 2)
    assert not result.best_.failed
    ranked = result.ranked()
    assert all(c.failed for c in ranked[-len(failed) :])
    assert result.columns()["error"][-1] != ""


def test_more_components_than_samples_is_a_recorded_failure():
    X = np.random.RandomState(1).normal(size=(5, 2))
    result = select_model(X, n_components=[1, 6], covariance_types=["VII"], random_state=0)
    assert result.best_params_["n_components"] == 1
    (failed,) = [c for c in result.candidates if c.failed]
    assert failed.n_components == 6
    assert "6 clusters" in failed.error or "n_components" in failed.error


def test_no_candidate_fitted_raises():
    X = np.random.RandomState(1).normal(size=(4, 2))
    with pytest.raises(ValueError, match="none of the 2 candidate models could be fitted"):
        select_model(X, n_components=[5, 6], covariance_types=["VII"], random_state=0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"criterion": "bicc"}, "criterion must be one of"),
        ({"n_components": []}, "n_components is empty"),
        ({"n_components": [0, 1]}, "integer >= 1"),
        ({"n_components": [2, 2]}, "repeats"),
        ({"n_components": "3"}, "integer >= 1"),
        ({"n_components": 2.5}, "integer or an iterable"),
        ({"covariance_types": ["XYZ"]}, "covariance_type must be one of"),
        ({"covariance_types": []}, "covariance_types is empty"),
        ({"covariance_types": ["full", "VVV"]}, r"same model twice \('full' and 'VVV'\)"),
        ({"covariance_types": ["VII", "VII"]}, "same model twice"),
        ({"n_init": 2}, "n_init must be 1 with init_params='hc'"),
        ({"init_params": "kmeans", "n_init": 0}, "n_init"),
        ({"init_params": "nope"}, "init_params"),
        ({"covariance_type": "full"}, "pass covariance_types"),
        ({"means_init": np.zeros((2, 2))}, "one grid cell"),
        ({"warm_start": True}, "fresh fit"),
        ({"foo": 1}, r"unknown GaussianMixture option\(s\) \['foo'\]"),
        ({"tol": -1.0}, "tol"),
        ({"n_jobs": 0}, "n_jobs"),
        ({"sample_weight": -np.ones(30)}, "sample_weight"),
        ({"sample_weight": np.ones(3)}, "sample_weight.shape"),
    ],
)
def test_bad_options_are_refused(kwargs, message):
    X = np.random.RandomState(0).normal(size=(30, 2))
    with pytest.raises(ValueError, match=message):
        select_model(X, **{"n_components": [1, 2], "covariance_types": ["VII"], **kwargs})


def test_hierarchical_start_on_singular_data_is_refused_clearly():
    x = np.random.RandomState(0).normal(size=40)
    X = np.column_stack([x, 2 * x])
    with pytest.raises(ValueError, match=r"hierarchical start \(init_params='hc'\) cannot be"):
        select_model(X, n_components=[1, 2], covariance_types=["VII"])
    result = select_model(
        X, n_components=[1, 2], covariance_types=["VII"], init_params="kmeans", random_state=0
    )
    assert not result.best_.failed


def test_bad_data_is_refused():
    with pytest.raises(ValueError, match="NaN"):
        select_model(np.array([[0.0, 1.0], [np.nan, 2.0], [1.0, 1.0]]), n_components=[1])
    with pytest.raises(ValueError, match="minimum of 2"):
        select_model(np.zeros((1, 2)), n_components=[1])


@pytest.mark.parametrize("init_params", ["hc", "kmeans"])
def test_reproducible_with_a_seed_whatever_n_jobs(init_params):
    X, _ = _blobs(n=(50, 40, 45))
    runs = [
        select_model(
            X,
            n_components=[1, 2, 3],
            covariance_types=["VII", "VVV"],
            init_params=init_params,
            random_state=7,
            n_jobs=n_jobs,
        )
        for n_jobs in (1, 2, 1)
    ]
    first = runs[0].columns(sort=False)
    for run in runs[1:]:
        for name, values in run.columns(sort=False).items():
            np.testing.assert_array_equal(values, first[name])
    # A candidate's fit does not depend on the rest of the grid.
    alone = select_model(
        X, n_components=3, covariance_types="VVV", init_params=init_params, random_state=7
    )
    assert alone.best_.bic == runs[0].candidates[-1].bic


def test_refitting_the_best_model_reproduces_it():
    X, _ = _blobs(n=(50, 40, 45))
    result = select_model(X, n_components=[2, 3], covariance_types=["EEE", "VVV"], random_state=3)
    best = result.best_estimator_
    assert best.init_params == "hc"
    assert best.means_init is None and best.precisions_init is None
    again = clone(best).fit(X)
    np.testing.assert_allclose(again.means_, best.means_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(again.covariances_, best.covariances_, rtol=1e-8, atol=1e-10)
    assert again.n_iter_ == best.n_iter_


# --------------------------------------------------------------------------------------- #
# Published mclust results
# --------------------------------------------------------------------------------------- #


def test_old_faithful_matches_mclust():
    # mclust's Mclust(faithful): EEE with 3 components, log-likelihood -1126.326, df 11,
    # BIC -2314.316 (mclust 5.4 and later; -2314.386 in earlier versions' documentation).
    result = select_model(_faithful(), random_state=0, n_jobs=2)
    assert result.best_params_ == {"covariance_type": "EEE", "n_components": 3}
    assert result.best_.n_parameters == 11
    assert result.best_score_ >= -2314.316 - 0.1
    assert result.best_.log_likelihood == pytest.approx(-1126.326, abs=0.05)
    assert not [c for c in result.candidates if c.failed or not c.converged]
    # mclust's next two: VVE,2 (-2320.433) and VEE,3 (-2322.103); emkit's fits are at least
    # as good.
    by_cell = {(c.covariance_type, c.n_components): c.bic for c in result.candidates}
    assert by_cell["VVE", 2] >= -2320.433 - 0.1
    assert by_cell["VEE", 3] >= -2322.103 - 0.1


def test_iris_matches_mclust():
    # mclust's Mclust(iris[, 1:4]): VEV with 2 components, log-likelihood -215.7259, df 26,
    # BIC -561.7285, ICL -561.7289.
    result = select_model(load_iris().data, random_state=0, n_jobs=2)
    assert result.best_params_ == {"covariance_type": "VEV", "n_components": 2}
    assert result.best_.n_parameters == 26
    assert result.best_score_ >= -561.7285 - 0.1
    assert result.best_.log_likelihood == pytest.approx(-215.7259, abs=0.05)
    assert result.best_.icl == pytest.approx(-561.7289, abs=0.1)
    assert np.bincount(result.best_estimator_.predict(load_iris().data)).tolist() in (
        [50, 100],
        [100, 50],
    )


# --------------------------------------------------------------------------------------- #
# The hierarchical start
# --------------------------------------------------------------------------------------- #


def _brute_force_merges(X, w, model, alpha=1.0):
    """Every stage: try every pair of clusters, recompute the whole criterion of the merged
    partition from its members, merge the best pair."""
    n, d = X.shape
    mean = w @ X / w.sum()
    S = ((X - mean) * w[:, None]).T @ (X - mean) / w.sum()

    def term(members):
        P, v = X[members], w[members]
        nk = v.sum()
        centred = P - v @ P / nk
        W = (centred * v[:, None]).T @ centred
        if model == "EII":
            return np.trace(W)
        if model == "VII":
            return nk * d * np.log((np.trace(W) + alpha * np.trace(S)) / (nk * d))
        return nk * np.linalg.slogdet((W + alpha * S) / nk)[1]

    clusters = [[i] for i in range(n)]
    merges = []
    while len(clusters) > 1:
        best = None
        for i, j in itertools.combinations(range(len(clusters)), 2):
            rest = [c for k, c in enumerate(clusters) if k not in (i, j)]
            total = sum(term(c) for c in rest) + term(clusters[i] + clusters[j])
            if best is None or total < best[0]:
                best = (total, i, j)
        _, i, j = best
        merges.append(sorted((min(clusters[i]), min(clusters[j]))))
        merged = clusters[i] + clusters[j]
        clusters = [c for k, c in enumerate(clusters) if k not in (i, j)] + [merged]
    return np.array(merges)


@pytest.mark.parametrize("model", ["VVV", "VII", "EII"])
@pytest.mark.parametrize("weighted", [False, True])
def test_agglomeration_merges_the_pairs_brute_force_merges(model, weighted):
    rng = np.random.RandomState(11)
    for _ in range(4):
        X = rng.normal(size=(9, 3)) * [1.0, 4.0, 0.3]
        w = rng.uniform(0.5, 3.0, size=9) if weighted else np.ones(9)
        tree = agglomerate(X, w if weighted else None, model=model, max_samples=None)
        np.testing.assert_array_equal(tree.merges, _brute_force_merges(X, w, model))


def test_agglomeration_with_another_ridge_follows_brute_force():
    X = np.random.RandomState(2).normal(size=(8, 2))
    tree = agglomerate(X, model="VVV", alpha=0.05, max_samples=None)
    np.testing.assert_array_equal(tree.merges, _brute_force_merges(X, np.ones(8), "VVV", 0.05))


def test_eii_is_wards_method():
    X = np.random.RandomState(5).normal(size=(40, 3))
    tree = agglomerate(X, model="EII", max_samples=None)
    ward = linkage(X, method="ward")
    # scipy's height is sqrt(2 * increase of the within-cluster sum of squares).
    np.testing.assert_allclose(np.sqrt(2 * tree.costs), ward[:, 2], rtol=1e-10)
    for k in range(1, 41):
        labels = tree.leaf_labels(k)
        assert len(set(labels)) == k
        assert _partition(labels) == _partition(_scipy_cut(ward, 40, k))


def _partition(labels):
    return {frozenset(np.flatnonzero(labels == j)) for j in np.unique(labels)}


def _scipy_cut(Z, n, k):
    """Labels after the first n - k merges of a scipy linkage."""
    owner = {i: {i} for i in range(n)}
    for s in range(n - k):
        a, b = int(Z[s, 0]), int(Z[s, 1])
        owner[n + s] = owner.pop(a) | owner.pop(b)
    labels = np.empty(n, dtype=int)
    for j, members in enumerate(owner.values()):
        labels[list(members)] = j
    return labels


def test_vvv_agglomeration_is_affine_invariant():
    rng = np.random.RandomState(4)
    X = rng.normal(size=(60, 3))
    A = rng.normal(size=(3, 3)) + 3 * np.eye(3)
    tree = agglomerate(X, max_samples=None)
    moved = agglomerate(X @ A + [100.0, -3.0, 7.0], max_samples=None)
    np.testing.assert_array_equal(tree.merges, moved.merges)
    np.testing.assert_allclose(tree.costs, moved.costs, rtol=1e-8, atol=1e-8)


def test_integer_weights_give_the_tree_of_repeated_rows():
    rng = np.random.RandomState(6)
    X = rng.normal(size=(20, 2))
    w = np.ones(20)
    w[7] = 2.0
    weighted = agglomerate(X, w, max_samples=None)
    # The repeated row (last) merges with its twin first, at the lowest possible cost; the
    # remaining stages are those of the weighted tree.
    repeated = agglomerate(np.vstack([X, X[7:8]]), max_samples=None)
    np.testing.assert_array_equal(repeated.merges[0], [7, 20])
    np.testing.assert_array_equal(repeated.merges[1:], weighted.merges)


def test_cuts_are_nested_and_numbered_by_smallest_leaf():
    X, _ = _blobs(n=(30, 20, 25))
    tree = agglomerate(X, max_samples=None)
    previous = None
    for k in range(1, 76):
        labels = tree.cut(k)
        assert labels.shape == (75,)
        assert np.unique(labels).tolist() == list(range(k))
        firsts = [np.flatnonzero(labels == j)[0] for j in range(k)]
        assert firsts == sorted(firsts)
        if previous is not None:
            # Every cluster at k lies inside one cluster at k - 1.
            for j in range(k):
                assert len(set(previous[labels == j])) == 1
        previous = labels
    with pytest.raises(ValueError, match="cannot cut the agglomeration of 75 samples into 76"):
        tree.cut(76)


def test_agglomeration_separates_clear_clusters():
    X, y = _blobs()
    labels = agglomerate(X).cut(3)
    assert _partition(labels) == _partition(y)


def _assigned_independently(X, w, leaves, leaf_labels, k, model):
    """Cluster of every row by the regularised Gaussians of the clusters of the leaves,
    computed in the data's own coordinates."""
    P, v = X[leaves], w[leaves]
    centre = v @ P / v.sum()
    S = ((P - centre) * v[:, None]).T @ (P - centre) / v.sum()
    d = X.shape[1]
    scores = np.empty((X.shape[0], k))
    for j in range(k):
        members = leaf_labels == j
        nk = v[members].sum()
        mean = v[members] @ P[members] / nk
        centred = P[members] - mean
        W = (centred * v[members, None]).T @ centred
        if model == "EII":
            scores[:, j] = -np.sum((X - mean) ** 2, axis=1)
        elif model == "VII":
            var = (np.trace(W) + np.trace(S)) / (nk * d)
            scores[:, j] = multivariate_normal(mean, var * np.eye(d)).logpdf(X)
        else:
            scores[:, j] = multivariate_normal(mean, (W + S) / nk).logpdf(X)
    return scores.argmax(axis=1)


@pytest.mark.parametrize("model", ["VVV", "VII", "EII"])
def test_subset_and_rows_of_zero_weight_are_assigned(model):
    X, y = _blobs(n=(300, 200, 250))
    tree = agglomerate(X, model=model, max_samples=200, random_state=0)
    assert tree.n_leaves == 200 and np.all(np.diff(tree.rows) > 0)
    labels = tree.cut(3)
    assert labels.shape == (750,)
    leaf = tree.leaf_labels(3)
    np.testing.assert_array_equal(labels[tree.rows], leaf)
    rest = np.setdiff1d(np.arange(750), tree.rows)
    expected = _assigned_independently(X, np.ones(750), tree.rows, leaf, 3, model)
    np.testing.assert_array_equal(labels[rest], expected[rest])
    # The clusters are the simulated ones, but for an outlier or two.
    assert adjusted_rand_score(y, labels) > 0.97
    again = agglomerate(X, model=model, max_samples=200, random_state=0)
    np.testing.assert_array_equal(again.rows, tree.rows)
    other = agglomerate(X, model=model, max_samples=200, random_state=1)
    assert not np.array_equal(other.rows, tree.rows)

    w = np.ones(750)
    w[::3] = 0.0
    w[1::3] = 2.5
    tree = agglomerate(X, w, model=model, max_samples=None)
    np.testing.assert_array_equal(tree.rows, np.flatnonzero(w))
    labels = tree.cut(3)
    expected = _assigned_independently(X, w, tree.rows, tree.leaf_labels(3), 3, model)
    np.testing.assert_array_equal(labels[::3], expected[::3])
    assert adjusted_rand_score(y, labels) > 0.97


def test_agglomeration_refuses_what_it_cannot_do():
    X = np.random.RandomState(0).normal(size=(MAX_AGGLOMERATED + 1, 2))
    with pytest.raises(ValueError, match=r"at most 5000 rows are agglomerated"):
        agglomerate(X, max_samples=None)
    with pytest.raises(ValueError, match="max_samples must be an integer from 1 to 5000"):
        agglomerate(X, max_samples=MAX_AGGLOMERATED + 1)
    collinear = np.column_stack([X[:50, 0], 2 * X[:50, 0]])
    with pytest.raises(ValueError, match="covariance matrix is positive definite"):
        agglomerate(collinear)
    with pytest.raises(ValueError, match="model must be one of"):
        agglomerate(X[:10], model="EEE")
    with pytest.raises(ValueError, match="alpha must be a positive number"):
        agglomerate(X[:10], alpha=0.0)
    with pytest.raises(ValueError, match="no row of X has a positive weight"):
        agglomerate(X[:10], np.zeros(10))
    # Ward's criterion needs no covariance.
    assert agglomerate(collinear, model="EII").n_leaves == 50


def test_vvv_kernel_matches_its_numpy_twin():
    rng = np.random.RandomState(8)
    for d in (1, 2, 5):
        m = 12
        mu = rng.normal(size=(m, d))
        scatter = np.stack([(lambda a: a @ a.T)(rng.normal(size=(d, d))) for _ in range(m)])
        n = rng.uniform(1, 10, size=m)
        others = np.array([1, 3, 4, 9, 11])
        out = np.empty(others.size)
        merged_log_dets(scatter[0], mu[0], n[0], scatter, mu, n, others, out)
        expected = merged_log_dets_reference(scatter[0], mu[0], n[0], scatter, mu, n, others)
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_hc_initializer_cuts_the_same_tree():
    X, _ = _blobs(n=(40, 30, 35))
    start = initializer("hc")
    labels = start(X, 3, np.random.RandomState(0), None)
    np.testing.assert_array_equal(labels, agglomerate(X).cut(3))
    fitted = GaussianMixture(3, init_params="hc", random_state=0).fit(X)
    assert fitted.converged_


def test_unconverged_fits_are_recorded_not_warned_and_the_returned_model_warns_again():
    rng = np.random.default_rng(5)
    X = np.concatenate([rng.normal(0, 1, (150, 2)), rng.normal(2, 1, (150, 2))])
    # warnings are errors in this suite: a ConvergenceWarning from the grid would fail here
    result = select_model(
        X, n_components=[2, 3], covariance_types=["VVV"], max_iter=1, tol=1e-12, random_state=0
    )
    assert not any(c.converged for c in result.candidates)
    with pytest.warns(ConvergenceWarning):
        clone(result.best_estimator_).fit(X)
    with pytest.warns(ConvergenceWarning):
        result.best_estimator_.fit(X)


# -- candidates the data cannot estimate, and the edge of the range --------------------------------
def _wide_clusters(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three clusters of 20 rows in 30 dimensions: each has fewer rows than features."""
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1, 2], 20)
    return rng.normal(0.0, 3.0, (3, 30))[labels] + rng.normal(size=(60, 30)), labels


def test_a_covariance_only_reg_covar_keeps_non_singular_is_not_estimable():
    X, labels = _wide_clusters()
    result = select_model(
        X, n_components=range(1, 5), covariance_types=["VVV", "EEE", "VVI", "EII"], random_state=0
    )
    by_cell = {(c.covariance_type, c.n_components): c for c in result.candidates}
    for k in (2, 3, 4):
        vvv = by_cell["VVV", k]
        assert vvv.failed and vvv.error.startswith("not estimable: the covariance of component")
        assert np.isnan(vvv.bic) and np.isfinite(vvv.log_likelihood)
        assert vvv.estimator is not None
    # One component of 60 rows in 30 dimensions is estimable.
    assert not by_cell["VVV", 1].failed
    assert result.best_params_ == {"covariance_type": "EII", "n_components": 3}
    assert adjusted_rand_score(labels, result.best_estimator_.predict(X)) == 1.0


def test_the_best_at_the_edge_of_the_range_is_noted():
    X, _ = _wide_clusters()
    kwargs = {"covariance_types": ["EII"], "random_state": 0}
    assert "largest tried" in select_model(X, n_components=[1, 2], **kwargs).boundary_note
    assert "smallest tried" in select_model(X, n_components=[3, 4, 5], **kwargs).boundary_note
    assert select_model(X, n_components=[2, 3, 4], **kwargs).boundary_note is None
    assert select_model(X, n_components=[3], **kwargs).boundary_note is None


def test_a_source_is_selected_on_as_its_array_a_chunk_at_a_time(tmp_path):
    import emkit
    from emkit.execution.sources import ChunkRows

    X, _ = _blobs()
    np.save(tmp_path / "x.npy", X)
    grid = {"n_components": [1, 2, 3], "covariance_types": ["VVV", "EII"], "random_state": 0}
    chunks = ChunkRows([X[i : i + 64] for i in range(0, X.shape[0], 64)])
    on_array = select_model(X, init_params="kmeans", chunk_size=64, **grid)
    for source in (emkit.open_data(tmp_path / "x.npy"), chunks):
        on_source = select_model(source, init_params="kmeans", chunk_size=64, **grid)
        for a, b in zip(on_array.candidates, on_source.candidates, strict=True):
            np.testing.assert_allclose(
                [b.log_likelihood, b.bic, b.icl, b.aic],
                [a.log_likelihood, a.bic, a.icl, a.aic],
                rtol=1e-12,
            )
            np.testing.assert_array_equal(b.estimator.means_, a.estimator.means_)
    # The hierarchical start of a file agglomerates a sample of it, and finds the blobs.
    hc = select_model(emkit.open_data(tmp_path / "x.npy"), **grid)
    assert hc.best_params_ == {"covariance_type": "VVV", "n_components": 3}
    with pytest.raises(ValueError, match="its sample weights go with its rows"):
        select_model(chunks, sample_weight=np.ones(X.shape[0]), **grid)
    with pytest.raises(ValueError, match="the source has 1 rows"):
        select_model(ChunkRows([X[:1]]), **grid)
