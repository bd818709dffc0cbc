"""Mixture faces on row sources: a fit, its predictions and scores on a file read a chunk at a
time equal those on the array in memory."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal

import emkit
from emkit.execution.sources import ArrayRows

RNG = np.random.default_rng(8)
MEANS = np.array([[0.0, 0.0, 0.0], [5.0, 0.0, 1.0], [0.0, 5.0, -1.0]])
X = MEANS[RNG.choice(3, size=3000)] + RNG.normal(size=(3000, 3))
COUNTS = RNG.poisson([[1.0, 6.0, 3.0]], size=(3000, 3)).astype(np.float64)


def _files(tmp_path, data: np.ndarray) -> dict[str, emkit.execution.sources.RowSource]:
    np.save(tmp_path / "x.npy", data)
    frame = pd.DataFrame(data, columns=["a", "b", "c"])
    frame.to_parquet(tmp_path / "x.parquet")
    frame.to_csv(tmp_path / "x.csv", index=False)
    return {
        "npy": emkit.open_data(tmp_path / "x.npy"),
        "parquet": emkit.open_data(tmp_path / "x.parquet"),
        "csv": emkit.open_data(tmp_path / "x.csv"),
        "chunks": ArrayRows(data).map(lambda rows: rows),
    }


FACES = {
    "gaussian": (lambda: emkit.GaussianMixture(3, random_state=0, chunk_size=500), X),
    "student": (lambda: emkit.StudentMixture(3, random_state=0, chunk_size=500), X),
    "poisson": (lambda: emkit.PoissonMixture(2, random_state=0, chunk_size=500), COUNTS),
    "variational": (
        lambda: emkit.BayesianGaussianMixture(n_components=3, random_state=0, chunk_size=500),
        X,
    ),
}


@pytest.mark.parametrize("face", sorted(FACES))
@pytest.mark.parametrize("kind", ["npy", "parquet", "csv", "chunks"])
def test_a_fit_on_a_source_equals_the_fit_on_the_array(face, kind, tmp_path):
    make, data = FACES[face]
    source = _files(tmp_path, data)[kind]
    on_source, on_array = make().fit(source), make().fit(data)
    assert_array_equal(on_source.lower_bounds_, on_array.lower_bounds_)
    assert_array_equal(on_source.weights_, on_array.weights_)
    assert_array_equal(on_source.predict(source), on_array.predict(data))
    assert_array_equal(on_source.predict_proba(source), on_array.predict_proba(data))
    assert on_source.score(source) == on_array.score(data)
    if hasattr(on_array, "bic"):
        assert on_source.bic(source) == on_array.bic(data)
    if kind in ("parquet", "csv"):
        assert list(on_source.feature_names_in_) == ["a", "b", "c"]
    else:
        assert not hasattr(on_source, "feature_names_in_")


def test_a_face_fits_a_source_online(tmp_path):
    source = _files(tmp_path, X)["npy"]
    make = lambda: emkit.GaussianMixture(  # noqa: E731
        3, random_state=0, learning_method="online", batch_size=250, max_iter=2, tol=0.1
    )
    assert_array_equal(make().fit(source).means_, make().fit(X).means_)


def test_a_source_s_bad_rows_and_shapes_are_refused(tmp_path):
    bad = COUNTS.copy()
    bad[2500, 1] = -1.0
    np.save(tmp_path / "bad.npy", bad)
    with pytest.raises(ValueError, match="must be non-negative"):
        emkit.PoissonMixture(2, random_state=0).fit(emkit.open_data(tmp_path / "bad.npy"))
    fitted = emkit.GaussianMixture(2, random_state=0).fit(X)
    np.save(tmp_path / "two.npy", X[:, :2])
    with pytest.raises(ValueError, match="X has 2 features, but GaussianMixture is expecting 3"):
        fitted.predict(emkit.open_data(tmp_path / "two.npy"))
    named = emkit.GaussianMixture(2, random_state=0).fit(pd.DataFrame(X, columns=["a", "b", "c"]))
    pd.DataFrame(X, columns=["a", "c", "b"]).to_parquet(tmp_path / "swapped.parquet")
    with pytest.raises(ValueError, match="not those the model was fitted to"):
        named.score(emkit.open_data(tmp_path / "swapped.parquet"))
    with pytest.raises(ValueError, match="sample weights and labels go with its rows"):
        emkit.GaussianMixture(2).fit(_files(tmp_path, X)["npy"], sample_weight=np.ones(3000))


@pytest.mark.parametrize(
    "face", [emkit.GaussianMixture, emkit.KMeans, emkit.BayesianGaussianMixture]
)
def test_a_generator_is_refused_with_what_to_give_instead(face):
    fitted = face(2, random_state=0).fit(np.abs(X))
    for call in (face(2).fit, fitted.predict):
        with pytest.raises(TypeError, match=r"generator, which can be read only once.*ChunkRows"):
            call(np.abs(X[i : i + 500]) for i in range(0, 3000, 500))


def test_a_variational_fit_on_a_source_refuses_what_its_rows_cannot_give(tmp_path):
    bgm = emkit.BayesianGaussianMixture(n_components=3, random_state=0)
    with pytest.raises(ValueError, match="sample weights go with its rows"):
        bgm.fit(_files(tmp_path, X)["npy"], sample_weight=np.ones(3000))
    with pytest.raises(ValueError, match="n_components = 3, n_samples = 2"):
        bgm.fit(emkit.execution.sources.ChunkRows([X[:1], X[1:2]]))
    bad = X.copy()
    bad[2900, 2] = np.inf
    np.save(tmp_path / "bad.npy", bad)
    with pytest.raises(ValueError, match="infinite"):
        bgm.fit(emkit.open_data(tmp_path / "bad.npy"))
    fitted = bgm.fit(X)
    np.save(tmp_path / "two.npy", X[:, :2])
    with pytest.raises(ValueError, match="X has 2 features, but BayesianGaussianMixture"):
        fitted.predict(emkit.open_data(tmp_path / "two.npy"))


def test_a_weighted_source_fits_as_the_weighted_array():
    w = np.random.default_rng(3).uniform(0.5, 2.0, size=3000)
    chunks = emkit.execution.sources.ChunkRows(
        [(X[i : i + 500], w[i : i + 500]) for i in range(0, 3000, 500)]
    )
    for face in ("gaussian", "variational"):
        make = FACES[face][0]
        on_source, on_array = make().fit(chunks), make().fit(X, sample_weight=w)
        assert_array_equal(on_source.means_, on_array.means_)
        assert_array_equal(on_source.lower_bounds_, on_array.lower_bounds_)


def test_a_start_given_whole_draws_no_sample_from_a_file(tmp_path, monkeypatch):
    from emkit.execution.files import NpyFile

    fitted = emkit.GaussianMixture(3, random_state=0).fit(X)
    start = dict(
        weights_init=fitted.weights_, means_init=fitted.means_, precisions_init=fitted.precisions_
    )
    np.save(tmp_path / "x.npy", X)
    passes = []
    chunks = NpyFile.chunks
    monkeypatch.setattr(NpyFile, "chunks", lambda self, m: passes.append(m) or chunks(self, m))
    for max_iter in (1, 3):
        passes.clear()
        face = emkit.GaussianMixture(3, max_iter=max_iter, tol=0.0, **start)
        face.fit(emkit.open_data(tmp_path / "x.npy"))
        assert len(passes) == max_iter + 1  # the E-steps alone
        assert_array_equal(
            face.means_, emkit.GaussianMixture(3, max_iter=max_iter, tol=0.0, **start).fit(X).means_
        )
    # Without the covariances, the start reads the rows: a sample is drawn.
    passes.clear()
    partial = dict(weights_init=fitted.weights_, means_init=fitted.means_)
    emkit.GaussianMixture(3, max_iter=1, tol=0.0, **partial).fit(
        emkit.open_data(tmp_path / "x.npy")
    )
    assert len(passes) == 3


def test_restarts_from_a_file_share_one_sample(tmp_path, monkeypatch):
    import emkit.core.driver as driver
    from emkit.execution.files import NpyFile

    monkeypatch.setattr(driver, "INIT_MAX_ROWS", 400)  # the file holds more: a sample
    np.save(tmp_path / "x.npy", X)
    passes = []
    chunks = NpyFile.chunks
    monkeypatch.setattr(NpyFile, "chunks", lambda self, m: passes.append(m) or chunks(self, m))
    face = emkit.GaussianMixture(
        3, n_init=3, max_iter=1, tol=0.0, init_params="random", random_state=0
    )
    face.fit(emkit.open_data(tmp_path / "x.npy"))
    assert len(passes) == 1 + 3 * 2  # one sample, then two E-steps a restart
    assert face.restart_lower_bounds_.size == 3
    assert np.unique(face.restart_lower_bounds_).size == 3  # the starts still differ
