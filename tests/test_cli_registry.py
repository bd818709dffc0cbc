"""A family written outside emkit, registered by one entry point, is a model of the command
line: ``emkit fit --model geometric`` fits ``emkit.Mixture(GeometricCounts(), K)``, ``--model hmm
--emission geometric`` fits ``emkit.HMM(GeometricCounts(), K)``, its hyperparameters are options,
its check refuses data in the file's terms, and ``emkit info`` and ``emkit predict`` read its
model files back. No other code names it."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

import numpy as np
import pytest

import emkit
from cli_support import run_cli as _run
from cli_support import table_rows as _table_rows
from emkit import plugins
from emkit.cli import models
from emkit.estimators.description import description_of
from emkit.families.base import Family
from emkit.families.checks import check_counts, data_array, empty_components
from emkit.families.sums import WeightedSums, summed_chunks, weighted_sums

# -- a family emkit does not have ------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class GeometricParams:
    """``probs[k, d]``: probability of success of feature ``d`` under component ``k``,
    shape (n_components, n_features)."""

    probs: np.ndarray


@dataclass(frozen=True)
class GeometricCounts(Family):
    """Geometric counts: failures before the first success, independent given the component.

    ``log p(x | k) = sum_d x_d log(1 - p_kd) + log p_kd``; ``smoothing`` pseudo-failures and
    pseudo-successes are added to every component's counts (0: maximum likelihood).
    """

    smoothing: float = 0.0

    params_class = GeometricParams
    title = "geometric"

    def __post_init__(self) -> None:
        if not self.smoothing >= 0:
            raise ValueError(f"smoothing must be >= 0, got {self.smoothing!r}")

    def check_data(self, X):
        X = data_array(X, "Geometric")
        check_counts(X, "Geometric")
        return X

    def log_prob(self, params, X):
        probs = np.asarray(params.probs, dtype=np.float64)
        with np.errstate(divide="ignore"):
            return np.asarray(X, dtype=np.float64) @ np.log1p(-probs).T + np.log(probs).sum(1)

    def stats(self, params, X, resp):
        return weighted_sums(X, resp)

    def m_step(self, stats: WeightedSums, params):
        a = self.smoothing
        empty = empty_components(stats.sum_w)[:, None]
        probs = (stats.sum_w[:, None] + a) / (stats.sum_w[:, None] + stats.sum_x + 2 * a)
        return GeometricParams(np.where(empty, params.probs, probs))

    def from_responsibilities(self, chunks):
        stats = summed_chunks(chunks)
        pooled = stats.sum_w.sum() / (stats.sum_w.sum() + stats.sum_x.sum(axis=0))
        start = GeometricParams(np.repeat(pooled[None], stats.sum_w.shape[0], axis=0))
        return self.m_step(stats, start)

    def n_parameters(self, n_components, n_features):
        return n_components * n_features


ENTRY = EntryPoint("geometric", f"{__name__}:GeometricCounts", models.GROUP)


@pytest.fixture
def registered(monkeypatch):
    """The installed entry points and one more, as a package's pyproject.toml would add it."""

    def with_geometric(group):
        return [*entry_points(group=group), ENTRY]

    monkeypatch.setattr(models, "entry_points", with_geometric)
    monkeypatch.setattr(plugins, "entry_points", with_geometric)


def _counts(directory, seed=0):
    """Two kinds of rows of geometric counts, with a sequence column."""
    rng = np.random.default_rng(seed)
    z = np.repeat([0, 1, 0, 1], 40)
    X = rng.geometric(np.where(z[:, None] == 1, [0.7, 0.2], [0.15, 0.8])) - 1
    path = directory / "counts.csv"
    rows = [f"{i // 40},{a},{b}" for i, (a, b) in enumerate(X.tolist())]
    path.write_text("run,a,b\n" + "\n".join(rows) + "\n")
    return path, X.astype(np.float64)


def _lengths():
    return np.full(4, 40)


# -- the demonstration -----------------------------------------------------------------------


def test_the_entry_point_alone_makes_the_model(tmp_path, capsys):
    data, _ = _counts(tmp_path)
    code, _, err = _run(capsys, "fit", data, "--model", "geometric", "-k", 2, "--columns", "a,b")
    assert code == 2
    assert "argument --model: invalid choice: 'geometric'" in err


def test_fit_a_mixture_of_the_family(registered, tmp_path, capsys):
    data, X = _counts(tmp_path)
    path = tmp_path / "g.emkit"
    argv = ["fit", data, "--model", "geometric", "-k", 2, "--columns", "a,b"]
    code, out, err = _run(capsys, *argv, "--random-state", 0, "-o", path)
    assert (code, err) == (0, "")
    expected = emkit.Mixture(GeometricCounts(), 2, n_init=3, random_state=0).fit(X)
    lines = out.splitlines()
    assert lines[0] == "emkit fit: geometric mixture, 2 components"
    assert f"log-likelihood  {expected.score(X) * 160:.6g}" in out
    assert f"BIC             {-expected.bic(X):.6g} (2 log L - df log n)" in out
    # The family's default table: its array, by component, with the weights.
    header, rows = _table_rows(out, "probs by component")
    assert header == ["component", "weight", "a", "b"]
    assert rows == [
        [str(k), f"{w:.6g}", *(f"{p:.6g}" for p in probs)]
        for k, (w, probs) in enumerate(zip(expected.weights_, expected.probs_, strict=True))
    ]
    # Every restart's final log-likelihood, from the face's restart_lower_bounds_.
    finals = np.sort(expected.restart_lower_bounds_ * 160)[::-1]
    assert (
        f"restarts        3: final log-likelihoods {', '.join(f'{v:.6g}' for v in finals)}" in out
    )

    loaded = emkit.load(path)
    assert isinstance(loaded, emkit.Mixture) and loaded.family == GeometricCounts()
    np.testing.assert_array_equal(loaded.probs_, expected.probs_)
    code, info, err = _run(capsys, "info", path)
    assert (code, err) == (0, "")
    assert "model           Mixture: geometric mixture, 2 components\n" in info
    assert _table_rows(info, "probs by component") == (header, rows)
    code, predicted, _ = _run(capsys, "predict", path, data)
    assert code == 0
    del loaded.feature_names_in_
    labels = [int(line.split(",")[1]) for line in predicted.splitlines()[1:]]
    np.testing.assert_array_equal(labels, loaded.predict(X))


def test_fit_a_hidden_markov_model_of_the_family(registered, tmp_path, capsys):
    data, X = _counts(tmp_path)
    path = tmp_path / "h.emkit"
    argv = ["fit", data, "--model", "hmm", "--emission", "geometric", "-k", 2]
    code, out, err = _run(
        capsys, *argv, "--sequence-column", "run", "--random-state", 0, "-o", path
    )
    assert (code, err) == (0, "")
    expected = emkit.HMM(GeometricCounts(), 2, n_iter=100, n_init=3, random_state=0).fit(
        X, _lengths()
    )
    assert out.splitlines()[0] == "emkit fit: hidden Markov model, 2 states, geometric emissions"
    assert "160 samples x 2 features (a, b), 4 sequences (column 'run')" in out
    assert f"log-likelihood  {expected.score(X, _lengths()):.6g}" in out
    header, rows = _table_rows(out, "probs by state")
    assert header == ["state", "a", "b"]
    assert rows == [
        [str(k), *(f"{p:.6g}" for p in probs)] for k, probs in enumerate(expected.probs_)
    ]
    code, info, err = _run(capsys, "info", path)
    assert (code, err) == (0, "")
    assert "model           HMM: hidden Markov model, 2 states, geometric emissions\n" in info
    assert _table_rows(info, "probs by state") == (header, rows)
    code, predicted, _ = _run(capsys, "predict", path, data, "--sequence-column", "run")
    assert code == 0
    states = [int(line.split(",")[1]) for line in predicted.splitlines()[1:]]
    np.testing.assert_array_equal(states, expected.predict(X, _lengths()))


def test_the_familys_hyperparameters_are_options(registered, tmp_path, capsys):
    data, _ = _counts(tmp_path)
    path = tmp_path / "g.emkit"
    argv = ["fit", data, "--model", "geometric", "-k", 2, "--columns", "a,b", "-q", "-o", path]
    assert _run(capsys, *argv, "--smoothing", "0.5", "--init-params", "random") == (0, "", "")
    loaded = emkit.load(path)
    assert loaded.family == GeometricCounts(smoothing=0.5)
    assert loaded.init_params == "random"
    code, _, err = _run(capsys, *argv, "--smoothing", "-1")
    assert (code, err) == (2, "emkit: error: --model geometric: smoothing must be >= 0, got -1.0\n")
    code, _, err = _run(capsys, *argv, "--reg-covar", "1")
    assert err == "emkit: error: --reg-covar applies to --model bayesian-gmm, gmm or student only\n"
    code, _, err = _run(capsys, "fit", data, "--model", "gmm", "-k", 2, "--smoothing", "1")
    assert err == (
        "emkit: error: --smoothing applies to --model geometric and to --model hmm --emission "
        "geometric only\n"
    )


def test_the_familys_check_speaks_of_the_file(registered, tmp_path, capsys):
    data = tmp_path / "bad.csv"
    data.write_text("a,b\n1,2\n3,-1\n")
    code, _, err = _run(capsys, "fit", data, "--model", "geometric", "-k", 1)
    assert code == 2
    assert err == (
        f"emkit: error: {str(data)!r}: Geometric counts must be non-negative; column 'b' holds "
        "-1 (data row 2)\n"
    )


def test_emkit_models_lists_it(registered, capsys):
    code, out, err = _run(capsys, "models")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert any(
        line.startswith("geometric ")
        and line.endswith(
            "mixture of the family GeometricCounts: Geometric counts: failures before the first "
            "success, independent given the component."
        )
        for line in lines
    )
    assert any(line.startswith("hmm --emission geometric ") for line in lines)
    assert any(
        line.startswith("gmm ") and "GaussianMixture: Gaussian mixture" in line for line in lines
    )
    code, out, _ = _run(capsys, "models", "geometric")
    assert code == 0
    assert "  --smoothing (a number; default 0.0)" in out.splitlines()
    assert any(line.startswith("  --init-params (one of 'kmeans'") for line in out.splitlines())


# -- the descriptions the summaries read ---------------------------------------------------------


def test_a_products_tables_are_its_parts_over_their_columns():
    family = emkit.families.Product(
        [(GeometricCounts(), [2]), (emkit.families.Categorical(), [0, 1])], names=["waits", "codes"]
    )
    face = description_of(emkit.Mixture(family, 2))
    tables = face.tables_of(emkit.Mixture(family, 2))
    assert [t.title for t in tables] == [
        "waits: probs by {unit}",
        "codes: category probabilities by {unit} (feature=code)",
    ]
    assert [t.features for t in tables] == [(2,), (0, 1)]
    assert [t.weights for t in tables] == [True, False]
    assert tables[1].columns[0].attribute == "codes_probs_"
    assert tables[1].columns[0].counts == "codes_n_categories_"
    assert face.title_of(emkit.Mixture(family, 2)) == "product mixture"
    assert face.words_of(emkit.Mixture(family, 2)) == [
        "parts waits (geometric), codes (categorical)"
    ]


def test_a_product_model_prints_its_parts(tmp_path, capsys):
    rng = np.random.default_rng(3)
    z = rng.integers(0, 2, 120)
    X = np.column_stack(
        [rng.integers(0, 2, 120) + 2 * z, rng.integers(0, 3, 120), rng.normal(4 * z, 1.0)]
    )
    family = emkit.families.Product(
        [
            (emkit.families.Categorical(), [0, 1]),
            (emkit.families.Gaussian(emkit.families.covariance_structure("diag")), [2]),
        ]
    )
    path = tmp_path / "p.emkit"
    estimator = emkit.Mixture(family, 2, init_params="random", n_init=2, random_state=0).fit(X)
    estimator.feature_names_in_ = np.asarray(["c1", "c2", "x"], dtype=object)
    estimator.save(path)
    code, out, err = _run(capsys, "info", path)
    assert (code, err) == (0, "")
    assert (
        "model           Mixture: product mixture, 2 components, parts categorical "
        "(categorical), gaussian (Gaussian, diagonal covariance)"
    ) in out
    header, rows = _table_rows(
        out, "categorical: category probabilities by component (feature=code)"
    )
    counts = estimator.categorical_n_categories_
    assert header[:2] == ["component", "weight"]
    assert header[2:] == [
        f"{n}={c}" for n, k in zip(["c1", "c2"], counts, strict=True) for c in range(k)
    ]
    header, rows = _table_rows(out, "gaussian: means by component")
    assert header == ["component", "x"]
    assert [r[1] for r in rows] == [f"{m:.6g}" for m in estimator.gaussian_means_[:, 0]]
    header, rows = _table_rows(out, "gaussian: variances by component")
    assert [r[1] for r in rows] == [f"{v:.6g}" for v in estimator.gaussian_covariances_[:, 0]]


def test_faces_without_a_family_check_values_too_large_to_square():
    X = np.random.default_rng(0).normal(size=(30, 2)) * 1e300
    for estimator, name in (
        (emkit.KMeans(2, n_init=1), "KMeans"),
        (emkit.GaussianHMM(2), "GaussianHMM"),
        (emkit.GMMHMM(2), "GMMHMM"),
    ):
        with pytest.raises(ValueError, match=rf"^{name} data hold values too large for float64"):
            estimator.fit(X)
    # k-means' limit counts the features a squared distance sums: these values square in
    # a Gaussian's moments, but their inertia (1.8 times the largest float) does not.
    n, d = 30, 4
    limit = np.sqrt(np.finfo(np.float64).max / (4 * n))
    X = np.full((n, d), limit / 1.5)
    X[::2] *= -1
    emkit.families.Gaussian(emkit.families.covariance_structure("diag")).check_data(X)
    with pytest.raises(ValueError, match=r"column 0 holds .* \(row 0\)"):
        emkit.KMeans(2, n_init=1).fit(X)


def test_categorical_hmm_counts_its_columns_before_reading_symbols():
    with pytest.raises(ValueError, match=r"one column of integer symbols.*got 2 columns"):
        emkit.CategoricalHMM(2).fit(np.array([[0.5, 1.0], [1.0, 2.0]]))


def test_a_family_without_tables_or_title_gets_defaults():
    tables = GeometricCounts().summary_tables()
    assert [(t.title, t.columns[0].attribute, t.columns[0].layout) for t in tables] == [
        ("probs by {unit}", "probs", "auto")
    ]

    @dataclass(frozen=True)
    class Untitled(GeometricCounts):
        pass

    assert (GeometricCounts.title, Untitled.title) == ("geometric", "Untitled")


def test_the_outside_family_passes_the_conformance_checks():
    """What the README promises of a family written outside emkit: the checks every emkit
    model runs hold for a mixture of it."""
    from emkit.models.initialization import initializer
    from emkit.models.mixture import Mixture
    from emkit.testing.conformance import run_all

    rng = np.random.default_rng(0)
    z = rng.integers(0, 2, (300, 1))
    X = (rng.geometric(np.where(z == 1, [0.7, 0.2], [0.15, 0.8])) - 1).astype(np.float64)
    model = Mixture(GeometricCounts(), 2, initializer("kmeans"))
    w = rng.uniform(0.2, 3.0, X.shape[0])
    run_all(model, X, model.init(X, np.random.RandomState(0), w), sample_weight=w)
