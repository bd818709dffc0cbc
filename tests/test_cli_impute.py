"""``emkit impute`` and ``emkit fit`` of data with missing cells: the tables are the face's
``impute`` and ``sample_missing`` of the same rows, as CSV and Parquet; models that cannot
take missing cells refuse them in one line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import emkit
from cli_support import run_cli as _run

RNG = np.random.RandomState(0)
COV = np.array([[1.0, 0.8], [0.8, 1.0]])
X = np.concatenate(
    [RNG.multivariate_normal([0, 0], COV, 100), RNG.multivariate_normal([4, 4], COV, 100)]
)
X[RNG.rand(*X.shape) < 0.2] = np.nan
X[np.isnan(X).all(axis=1), 0] = 1.0


def _ok(capsys, *argv):
    code, out, err = _run(capsys, *argv)
    assert code == 0, err
    return out, err


def _fail(capsys, *argv):
    code, out, err = _run(capsys, *argv)
    assert code == 2, (out, err)
    assert err.startswith("emkit: error: ") and err.count("\n") == 1, err
    return err.removeprefix("emkit: error: ").rstrip("\n")


@pytest.fixture
def fitted(tmp_path, capsys):
    data = tmp_path / "data.csv"
    # Empty cells (column a) and NA (column b) both mark a missing value.
    cells = [
        ["" if np.isnan(a) else repr(a), "NA" if np.isnan(b) else repr(b)] for a, b in X.tolist()
    ]
    data.write_text("a,b\n" + "".join(",".join(row) + "\n" for row in cells))
    model = tmp_path / "model.emkit"
    _ok(capsys, "fit", data, "--model", "gmm", "-k", 2, "--random-state", 0, "-o", model, "-q")
    return data, model, emkit.load(model)


FRAME = pd.DataFrame(X, columns=["a", "b"])


def test_fit_takes_missing_cells_for_a_gaussian_mixture(fitted):
    _, _, gm = fitted
    direct = emkit.GaussianMixture(2, random_state=0, n_init=gm.n_init).fit(X)
    np.testing.assert_allclose(np.sort(gm.means_[:, 0]), np.sort(direct.means_[:, 0]), rtol=1e-6)
    assert gm.score(FRAME) == pytest.approx(direct.score(X), rel=1e-9)


def test_csv_round_trip(fitted, tmp_path, capsys):
    data, model, gm = fitted
    out = tmp_path / "imputed.csv"
    _ok(capsys, "impute", model, data, "-o", out)
    table = pd.read_csv(out)
    assert list(table.columns) == ["a", "b"]
    np.testing.assert_allclose(table.to_numpy(), gm.impute(FRAME), rtol=1e-15)
    assert not table.isna().any().any()


def test_parquet_round_trip_with_std(fitted, tmp_path, capsys):
    _, model, gm = fitted
    parquet = tmp_path / "data.parquet"
    pd.DataFrame(X, columns=["a", "b"]).to_parquet(parquet)
    out = tmp_path / "imputed.parquet"
    _ok(capsys, "impute", model, parquet, "-o", out, "--std")
    table = pd.read_parquet(out)
    assert list(table.columns) == ["a", "b", "a_std", "b_std"]
    values, std = gm.impute(FRAME, return_std=True)
    np.testing.assert_array_equal(table[["a", "b"]].to_numpy(), values)
    np.testing.assert_array_equal(table[["a_std", "b_std"]].to_numpy(), std)


def test_imputations(fitted, tmp_path, capsys):
    data, model, gm = fitted
    out = tmp_path / "draws.csv"
    _ok(capsys, "impute", model, data, "-o", out, "--imputations", 3, "--random-state", 5)
    table = pd.read_csv(out)
    assert list(table.columns) == ["imputation", "a", "b"]
    np.testing.assert_array_equal(table["imputation"], np.repeat([0, 1, 2], X.shape[0]))
    draws = gm.sample_missing(FRAME, 3, random_state=5)
    np.testing.assert_allclose(table[["a", "b"]].to_numpy(), draws.reshape(-1, 2), rtol=1e-15)
    again = tmp_path / "again.csv"
    _ok(capsys, "impute", model, data, "-o", again, "--imputations", 3, "--random-state", 5)
    assert again.read_text() == out.read_text()


def test_npy_data_to_standard_output(fitted, tmp_path, capsys):
    _, model, gm = fitted
    npy = tmp_path / "data.npy"
    np.save(npy, X)
    out, _ = _ok(capsys, "impute", model, npy)
    lines = out.splitlines()
    assert lines[0] == "a,b"
    np.testing.assert_allclose(
        np.array([[float(v) for v in line.split(",")] for line in lines[1:]]), gm.impute(FRAME)
    )


def test_refusals(fitted, tmp_path, capsys):
    data, model, _ = fitted
    kmeans = tmp_path / "kmeans.emkit"
    complete = tmp_path / "complete.csv"
    pd.DataFrame(np.nan_to_num(X), columns=["a", "b"]).to_csv(complete, index=False)
    _ok(capsys, "fit", complete, "--model", "kmeans", "-k", 2, "-o", kmeans, "-q")
    assert "cannot impute missing values" in _fail(capsys, "impute", kmeans, data)
    # A model whose family cannot take missing cells refuses them, naming the first.
    err = _fail(capsys, "fit", data, "--model", "kmeans", "-k", 2, "-o", tmp_path / "k.emkit")
    assert "column 'a' has" in err and "missing value" in err
    assert "--random-state" in _fail(capsys, "impute", model, data, "--random-state", 1)
    assert "choose one" in _fail(capsys, "impute", model, data, "--std", "--imputations", 2)
    narrow = tmp_path / "narrow.csv"
    pd.DataFrame(X[:, :1], columns=["c"]).to_csv(narrow, index=False)
    assert "lacks" in _fail(capsys, "impute", model, narrow)


def test_predict_takes_missing_cells(fitted, tmp_path, capsys):
    # The posteriors of rows with missing cells condition on what the rows show.
    data, model, gm = fitted
    out = tmp_path / "labels.csv"
    _ok(capsys, "predict", model, data, "--proba", "-o", out, "--chunk-size", 64)
    table = pd.read_csv(out)
    np.testing.assert_array_equal(table["row"], np.arange(X.shape[0]))
    np.testing.assert_array_equal(table["label"], gm.predict(FRAME))
    proba = table.drop(columns=["row", "label"]).to_numpy()
    np.testing.assert_allclose(proba, gm.predict_proba(FRAME), rtol=1e-12, atol=1e-300)


def test_predict_refuses_missing_cells_for_a_model_that_cannot_take_them(tmp_path, capsys):
    complete = tmp_path / "complete.csv"
    pd.DataFrame(np.nan_to_num(X), columns=["a", "b"]).to_csv(complete, index=False)
    kmeans = tmp_path / "kmeans.emkit"
    _ok(capsys, "fit", complete, "--model", "kmeans", "-k", 2, "-o", kmeans, "-q")
    data = tmp_path / "data.csv"
    FRAME.to_csv(data, index=False)
    err = _fail(capsys, "predict", kmeans, data, "-o", tmp_path / "labels.csv")
    assert "column 'a' has" in err and "missing value" in err
    assert not (tmp_path / "labels.csv").exists()


def test_a_hidden_markov_model_of_one_sequence_takes_missing_cells(tmp_path, capsys):
    # Without a sequence column the table is one sequence, read whole.
    data = tmp_path / "one.csv"
    FRAME.to_csv(data, index=False)
    model = tmp_path / "hmm.emkit"
    _ok(capsys, "fit", data, "--model", "hmm", "-k", 2, "--random-state", 0, "-o", model, "-q")
    hmm = emkit.load(model)
    direct = emkit.GaussianHMM(2, random_state=0, n_init=hmm.n_init).fit(X)
    assert hmm.score(FRAME) == pytest.approx(direct.score(X), rel=1e-9)
    out = tmp_path / "states.csv"
    _ok(capsys, "predict", model, data, "-o", out)
    np.testing.assert_array_equal(pd.read_csv(out)["state"], hmm.predict(FRAME))
