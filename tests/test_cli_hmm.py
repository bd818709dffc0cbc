"""Tests for hidden Markov models on the ``emkit`` command line (emkit.cli.main)."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import pathlib

import numpy as np
import pytest

import emkit
from cli_support import run_cli as _run
from cli_support import table_rows as _table_rows
from emkit.cli.main import main
from emkit.io.readers import read_table

ROOT = pathlib.Path(__file__).resolve().parents[1]
CASINO = ROOT / "examples" / "data" / "casino.csv"
MAKE_CASINO = ROOT / "examples" / "make_casino.py"
# Lengths of the sequences of the Gaussian test file.
WALK_LENGTHS = (80, 45, 120, 60)
CASINO_FIT = (
    "--model",
    "hmm",
    "--emission",
    "categorical",
    "--components",
    2,
    "--sequence-column",
    "sequence",
    "--n-init",
    2,
    "--max-iter",
    500,
    "--random-state",
    1,
)


def _fail(capsys, *argv):
    """Run a command that must fail; returns its stderr, which must be one error line."""
    code, out, err = _run(capsys, *argv)
    assert code == 2, (out, err)
    assert err.startswith("emkit: error: ")
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


def _floats(rows, skip=1):
    return np.array([[float(v) for v in row[skip:]] for row in rows])


def _make_casino():
    spec = importlib.util.spec_from_file_location("make_casino", MAKE_CASINO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _casino():
    """Symbols (n, 1) and sequence lengths of the bundled casino file."""
    table = read_table(CASINO)
    assert table.columns == ("sequence", "roll")
    ids = table.values[:, 0]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    return table.values[:, 1:], np.diff(np.r_[starts, ids.size])


def _loaded(path):
    """The model in ``path`` without the column names the command line stores, so that
    plain arrays can be passed to it without scikit-learn's feature-name warning."""
    estimator = emkit.load(path)
    del estimator.feature_names_in_
    return estimator


def _parse_csv(text):
    lines = text.splitlines()
    return lines[0].split(","), np.array(
        [[float(v) for v in line.split(",")] for line in lines[1:]]
    )


@pytest.fixture(scope="module")
def casino_fit(tmp_path_factory):
    """A categorical HMM fitted to the casino file: (model path, fit output)."""
    path = tmp_path_factory.mktemp("casino") / "casino.emkit"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([str(a) for a in ("fit", CASINO, *CASINO_FIT, "-o", path)])
    assert code == 0
    return path, out.getvalue()


def _gaussian_sequences(seed=0, lengths=WALK_LENGTHS):
    """Two well-separated 2-D Gaussian states; returns (ids, X, states)."""
    rng = np.random.RandomState(seed)
    means = np.array([[0.0, 0.0], [5.0, 3.0]])
    transmat = np.array([[0.9, 0.1], [0.15, 0.85]])
    ids, rows, states = [], [], []
    for i, n in enumerate(lengths):
        state = rng.randint(2)
        for _ in range(n):
            ids.append(100 + i)
            states.append(state)
            rows.append(means[state] + rng.randn(2) * [0.6, 0.8])
            state = rng.choice(2, p=transmat[state])
    return np.array(ids), np.array(rows), np.array(states)


@pytest.fixture
def gaussian_csv(tmp_path):
    ids, X, _ = _gaussian_sequences()
    path = tmp_path / "walk.csv"
    lines = ["seq,x,y"] + [f"{i},{a!r},{b!r}" for i, (a, b) in zip(ids, X.tolist(), strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _write(path, text):
    path.write_text(text)
    return path


# --------------------------------------------------------------------------------------- #
# The bundled casino file
# --------------------------------------------------------------------------------------- #


def test_casino_file_is_reproducible(tmp_path):
    module = _make_casino()
    written = module.write(tmp_path / "casino.csv")
    assert written.read_bytes() == CASINO.read_bytes()
    assert CASINO.stat().st_size < 50_000
    X, lengths = _casino()
    assert set(np.unique(X).tolist()) == set(range(6))
    sequence, roll, loaded = module.simulate()
    assert lengths.size == module.N_SESSIONS == np.unique(sequence).size
    np.testing.assert_array_equal(roll, X[:, 0])
    assert loaded.shape == roll.shape


# --------------------------------------------------------------------------------------- #
# Categorical emissions on the casino file
# --------------------------------------------------------------------------------------- #


def test_fit_casino(casino_fit):
    path, out = casino_fit
    lines = out.splitlines()
    assert lines[0] == "emkit fit: hidden Markov model, 2 states, categorical emissions (6 symbols)"
    assert f"{CASINO}: 3451 samples x 1 feature (roll), 12 sequences (column 'sequence')" in out
    assert "converged       yes, after" in out
    assert "(tol 0.01 on the total log-likelihood), best of 2 initialisations" in out
    assert "parameters      13" in out  # 1 start + 2 transition + 2 * 5 symbol probabilities
    assert lines[-1] == f"model written to {path}"

    est = emkit.load(path)
    assert isinstance(est, emkit.CategoricalHMM)
    assert (est.n_components, est.n_iter, est.n_init, est.random_state) == (2, 500, 2, 1)
    assert list(est.feature_names_in_) == ["roll"]

    header, rows = _table_rows(out, "symbol probabilities by state")
    assert header == ["state", "0", "1", "2", "3", "4", "5"]
    probs = _floats(rows)
    np.testing.assert_allclose(probs, est.emissionprob_, rtol=1e-4)
    # The loaded die shows a six (symbol 5) half of the time, the fair one a sixth.
    loaded = int(np.argmax(probs[:, 5]))
    assert probs[loaded, 5] == pytest.approx(0.5, abs=0.08)
    assert probs[1 - loaded] == pytest.approx(np.full(6, 1 / 6), abs=0.04)

    header, rows = _table_rows(out, "start and transition probabilities (->j: to state j)")
    assert header == ["state", "start", "->0", "->1"]
    chain = _floats(rows)
    np.testing.assert_allclose(chain[:, 0], est.startprob_, rtol=1e-4)
    np.testing.assert_allclose(chain[:, 1:], est.transmat_, rtol=1e-4)
    assert np.all(np.diag(est.transmat_) > 0.85)

    X, lengths = _casino()
    total = est.score(X, lengths)
    assert f"log-likelihood  {total:.6g} (mean per sample" in out
    # mclust's sign, larger is better: the estimator's bic() and aic() negated.
    assert f"BIC             {-est.bic(X, lengths):.6g} (2 log L - df log n)" in out
    assert f"AIC             {-est.aic(X, lengths):.6g} (2 log L - 2 df)" in out
    assert "ICL" not in out


def test_predict_casino_matches_python(casino_fit, capsys):
    path, _ = casino_fit
    code, out, err = _run(capsys, "predict", path, CASINO, "--sequence-column", "sequence")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "row,state"
    states = np.array([int(line.split(",")[1]) for line in lines[1:]])
    X, lengths = _casino()
    np.testing.assert_array_equal(states, _loaded(path).predict(X, lengths))
    # Viterbi finds which die was rolled most of the time.
    loaded = _make_casino().simulate()[2]
    agreement = max(np.mean(states == loaded), np.mean(states != loaded))
    assert agreement > 0.75


def test_predict_casino_proba_to_file(casino_fit, tmp_path, capsys):
    path, _ = casino_fit
    out_path = tmp_path / "states.csv"
    argv = ("predict", path, CASINO, "--sequence-column", "sequence", "--proba", "-o", out_path)
    assert _run(capsys, *argv) == (0, "", "")
    table = read_table(out_path)
    assert table.columns == ("row", "state", "p0", "p1")
    X, lengths = _casino()
    est = _loaded(path)
    np.testing.assert_array_equal(table.values[:, 0], np.arange(X.shape[0]))
    np.testing.assert_array_equal(table.values[:, 1], est.predict(X, lengths))
    np.testing.assert_allclose(table.values[:, 2:], est.predict_proba(X, lengths), rtol=1e-12)
    np.testing.assert_allclose(table.values[:, 2:].sum(axis=1), 1.0, rtol=1e-12)


def test_predict_without_sequence_column_is_one_sequence(casino_fit, capsys):
    path, _ = casino_fit
    code, out, _ = _run(capsys, "predict", path, CASINO, "--proba")
    assert code == 0
    header, values = _parse_csv(out)
    assert header == ["row", "state", "p0", "p1"]
    X, _ = _casino()
    est = _loaded(path)
    np.testing.assert_array_equal(values[:, 1], est.predict(X))
    np.testing.assert_allclose(values[:, 2:], est.predict_proba(X), rtol=1e-12)


def test_info_casino(casino_fit, capsys):
    path, fit_out = casino_fit
    code, out, err = _run(capsys, "info", path)
    assert code == 0, err
    assert (
        "model           CategoricalHMM: hidden Markov model, 2 states, categorical emissions "
        "(6 symbols)"
    ) in out
    assert "features        1 (roll)" in out
    assert "converged       yes, after" in out
    assert "parameters      13" in out
    assert "  n_iter              500" in out
    est = emkit.load(path)
    assert f"log-likelihood  mean per sample {est.lower_bound_:.6g} (training data)" in out
    for title in (
        "start and transition probabilities (->j: to state j)",
        "symbol probabilities by state",
    ):
        assert _table_rows(out, title) == _table_rows(fit_out, title)


# --------------------------------------------------------------------------------------- #
# Gaussian emissions on a sequence file written here
# --------------------------------------------------------------------------------------- #


def test_gaussian_round_trip(gaussian_csv, tmp_path, capsys):
    model = tmp_path / "walk.emkit"
    code, out, err = _run(
        capsys,
        "fit",
        gaussian_csv,
        "--model",
        "hmm",
        "-k",
        2,
        "--sequence-column",
        "seq",
        "--random-state",
        0,
        "-o",
        model,
    )
    assert (code, err) == (0, ""), err
    fit_out = out
    assert out.splitlines()[0] == (
        "emkit fit: hidden Markov model, 2 states, Gaussian emissions, diagonal covariance"
    )
    assert "305 samples x 2 features (x, y), 4 sequences (column 'seq')" in out
    est = emkit.load(model)
    assert isinstance(est, emkit.GaussianHMM)
    assert (est.covariance_type, est.n_iter) == ("diag", 100)
    assert list(est.feature_names_in_) == ["x", "y"]
    header, rows = _table_rows(out, "means by state")
    assert header == ["state", "x", "y"]
    means = _floats(rows)
    np.testing.assert_allclose(means[np.argsort(means[:, 0])], [[0, 0], [5, 3]], atol=0.3)
    header, rows = _table_rows(out, "variances by state")
    variances = _floats(rows)
    np.testing.assert_allclose(variances, np.diagonal(est.covars_, axis1=1, axis2=2), rtol=1e-4)

    code, out, err = _run(capsys, "predict", model, gaussian_csv, "--sequence-column", "seq")
    assert (code, err) == (0, "")
    states = np.array([int(v.split(",")[1]) for v in out.splitlines()[1:]])
    _, X, truth = _gaussian_sequences()
    np.testing.assert_array_equal(states, _loaded(model).predict(X, WALK_LENGTHS))
    assert max(np.mean(states == truth), np.mean(states != truth)) > 0.97

    code, info, _ = _run(capsys, "info", model)
    assert code == 0
    assert "GaussianHMM: hidden Markov model, 2 states, Gaussian emissions" in info
    for title in ("means by state", "variances by state"):
        assert _table_rows(info, title) == _table_rows(fit_out, title)
    assert "  covariance_type  diag" in info


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical", "tied"])
def test_gmm_emissions(gaussian_csv, tmp_path, capsys, covariance_type):
    model = tmp_path / "gmm.emkit"
    argv = ["fit", gaussian_csv, "--model", "hmm", "--emission", "gmm", "--n-mix", 2, "-k", 2]
    argv += ["--covariance-type", covariance_type, "--sequence-column", "seq"]
    argv += ["--random-state", 0, "--max-iter", 20, "--tol", 0, "-o", model]
    code, out, err = _run(capsys, *argv)
    assert (code, err) == (0, "")
    words = {"diag": "diagonal"}.get(covariance_type, covariance_type)
    assert (
        f"Gaussian-mixture emissions (2 Gaussians per state), {words} covariance"
        in out.splitlines()[0]
    )
    est = emkit.load(model)
    assert isinstance(est, emkit.GMMHMM)
    assert (est.n_mix, est.covariance_type, est.n_iter, est.tol) == (2, covariance_type, 20, 0.0)
    header, rows = _table_rows(out, "means by state and mixture component")
    assert header == ["state", "mix", "weight", "x", "y"]
    values = _floats(rows, skip=2)
    np.testing.assert_allclose(values[:, 0], est.weights_.ravel(), rtol=1e-4)
    np.testing.assert_allclose(values[:, 1:], est.means_.reshape(4, 2), rtol=1e-4, atol=1e-8)
    header, rows = _table_rows(out, "variances by state and mixture component")
    assert header == ["state", "mix", "x", "y"]
    assert np.all(_floats(rows, skip=2) > 0)

    code, out, _ = _run(capsys, "predict", model, gaussian_csv, "--sequence-column", "seq")
    assert code == 0
    _, X, _ = _gaussian_sequences()
    expected = _loaded(model).predict(X, WALK_LENGTHS)
    np.testing.assert_array_equal([int(v.split(",")[1]) for v in out.splitlines()[1:]], expected)


@pytest.mark.parametrize(
    ("emission", "title", "words"),
    [
        ("poisson", "rates by state", "Poisson emissions"),
        ("multinomial", "emission probabilities by state", "multinomial emissions"),
    ],
)
def test_count_emissions(tmp_path, capsys, emission, title, words):
    rng = np.random.RandomState(0)
    rates = np.array([[1.0, 6.0], [7.0, 2.0]])
    lines, counts, state = ["day,run,a,b"], [], 0
    for t in range(240):
        row = rng.poisson(rates[state])
        counts.append(row)
        lines.append(f"{t},{t // 60},{row[0]},{row[1]}")
        state = state if rng.rand() < 0.9 else 1 - state
    data = _write(tmp_path / "counts.csv", "\n".join(lines) + "\n")
    model = tmp_path / "m.emkit"
    argv = ["fit", data, "--model", "hmm", "--emission", emission, "-k", 2, "--columns", "a,b"]
    code, out, err = _run(
        capsys, *argv, "--sequence-column", "run", "--random-state", 0, "-o", model
    )
    assert (code, err) == (0, "")
    assert f"2 states, {words}" in out.splitlines()[0]
    assert "240 samples x 2 features (a, b), 4 sequences (column 'run')" in out
    header, rows = _table_rows(out, title)
    assert header == ["state", "a", "b"]
    est = emkit.load(model)
    attribute = est.lambdas_ if emission == "poisson" else est.emissionprob_
    np.testing.assert_allclose(_floats(rows), attribute, rtol=1e-4)

    code, out, _ = _run(capsys, "predict", model, data, "--sequence-column", "run")
    assert code == 0
    expected = _loaded(model).predict(np.array(counts, dtype=float), [60] * 4)
    np.testing.assert_array_equal([int(v.split(",")[1]) for v in out.splitlines()[1:]], expected)


def test_fit_without_sequence_column_is_one_sequence(tmp_path, capsys):
    _, X, _ = _gaussian_sequences()
    data = _write(tmp_path / "xy.csv", "x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in X.tolist()))
    model = tmp_path / "m.emkit"
    code, out, err = _run(
        capsys, "fit", data, "--model", "hmm", "-k", 2, "--random-state", 0, "-o", model
    )
    assert (code, err) == (0, "")
    assert "305 samples x 2 features (x, y), 1 sequence (the whole table)" in out
    est = _loaded(model)
    assert f"log-likelihood  {est.score(X):.6g}" in out
    code, out, _ = _run(capsys, "predict", model, data)
    np.testing.assert_array_equal(
        [int(v.split(",")[1]) for v in out.splitlines()[1:]], est.predict(X)
    )


def test_headerless_npy_with_sequence_column(tmp_path, capsys):
    ids, X, _ = _gaussian_sequences()
    data = tmp_path / "walk.npy"
    np.save(data, np.column_stack([ids, X]))
    model = tmp_path / "m.emkit"
    argv = ("fit", data, "--model", "hmm", "-k", 2, "--sequence-column", "x0", "-o", model)
    code, out, err = _run(capsys, *argv, "--random-state", 0)
    assert (code, err) == (0, "")
    assert "305 samples x 2 features (x1, x2), 4 sequences (column 'x0')" in out
    code, out, _ = _run(capsys, "predict", model, data, "--sequence-column", "x0")
    assert code == 0
    expected = _loaded(model).predict(X, WALK_LENGTHS)
    np.testing.assert_array_equal([int(v.split(",")[1]) for v in out.splitlines()[1:]], expected)


def test_predict_model_saved_without_column_names(gaussian_csv, tmp_path, capsys):
    """A model fitted in Python has no column names: the columns besides the sequence column
    are its features, by position."""
    _, X, _ = _gaussian_sequences()
    lengths = WALK_LENGTHS
    model = tmp_path / "plain.emkit"
    emkit.GaussianHMM(2, n_iter=50, random_state=0).fit(X, lengths).save(model)
    code, out, err = _run(capsys, "predict", model, gaussian_csv, "--sequence-column", "seq")
    assert (code, err) == (0, ""), err
    expected = emkit.load(model).predict(X, lengths)
    np.testing.assert_array_equal([int(v.split(",")[1]) for v in out.splitlines()[1:]], expected)
    three = _write(tmp_path / "three.csv", "seq,a,b,c\n1,1,2,3\n")
    err = _fail(capsys, "predict", model, three, "--sequence-column", "seq")
    assert (
        f"the model was fitted on 2 features but {str(three)!r} has 3 columns besides the "
        "sequence column 'seq'"
    ) in err


def test_fit_is_reproducible_with_random_state(gaussian_csv, tmp_path, capsys):
    argv = ("fit", gaussian_csv, "--model", "hmm", "-k", 2, "--sequence-column", "seq")
    argv += ("--random-state", 3, "--n-init", 2)
    _, out1, _ = _run(capsys, *argv, "-o", tmp_path / "a.emkit")
    _, out2, _ = _run(capsys, *argv, "-o", tmp_path / "b.emkit")
    assert out1.splitlines()[:-1] == out2.splitlines()[:-1]


def test_fit_quiet(gaussian_csv, tmp_path, capsys):
    model = tmp_path / "m.emkit"
    argv = ("fit", gaussian_csv, "--model", "hmm", "-k", 2, "--sequence-column", "seq", "-q")
    assert _run(capsys, *argv, "-o", model) == (0, "", "")
    assert isinstance(emkit.load(model), emkit.GaussianHMM)


def test_fit_reports_non_convergence_as_a_warning(casino_fit, tmp_path, capsys):
    argv = ["fit", CASINO, *CASINO_FIT[:-6], "--max-iter", 1, "--tol", "1e-9"]
    code, out, err = _run(capsys, *argv, "-o", tmp_path / "m.emkit")
    assert code == 0
    assert "converged       no, after 1 iteration" in out
    assert err.startswith("emkit: warning: Baum-Welch did not converge")
    assert "Traceback" not in err


# --------------------------------------------------------------------------------------- #
# Errors
# --------------------------------------------------------------------------------------- #


def test_error_missing_sequence_column(casino_fit, capsys):
    expected = (
        f"emkit: error: --sequence-column: {str(CASINO)!r} has no column 'session'; "
        "available columns: 'sequence', 'roll'"
    )
    argv = ("--model", "hmm", "--emission", "categorical", "-k", 2, "--sequence-column", "session")
    assert expected in _fail(capsys, "fit", CASINO, *argv)
    assert expected in _fail(capsys, "fit", CASINO, *argv, "--columns", "roll")
    path, _ = casino_fit
    assert expected in _fail(capsys, "predict", path, CASINO, "--sequence-column", "session")


def test_error_reappearing_sequence_id(casino_fit, tmp_path, capsys):
    data = _write(tmp_path / "shuffled.csv", "sequence,roll\n7,0\n7,5\n8,3\n8,1\n7,2\n9,4\n")
    expected = (
        f"emkit: error: {str(data)!r}: sequence 7 of column 'sequence' appears again at data "
        "row 5, after other sequences (its earlier rows are 1 to 2); the rows of one sequence "
        "must be consecutive: sort the rows by 'sequence', keeping their time order"
    )
    argv = ("--model", "hmm", "--emission", "categorical", "-k", 2, "--sequence-column", "sequence")
    assert _fail(capsys, "fit", data, *argv) == expected + "\n"
    path, _ = casino_fit
    assert expected in _fail(capsys, "predict", path, data, "--sequence-column", "sequence")


def test_error_text_sequence_ids(tmp_path, capsys):
    data = _write(tmp_path / "names.csv", "player,roll\nann,0\nann,5\nbob,3\n")
    err = _fail(capsys, "fit", data, "--model", "hmm", "-k", 2, "--sequence-column", "player")
    assert (
        "column 'player' is not numeric: value 'ann' on line 2; sequence ids must be numbers"
        in (err)
    )


@pytest.mark.parametrize(
    ("rolls", "problem", "shown", "row"),
    [("0,2.5,1", "integer", "2.5", 2), ("0,1,-1", "non-negative", "-1", 3)],
)
def test_error_categorical_symbols_not_codes(tmp_path, capsys, rolls, problem, shown, row):
    data = _write(
        tmp_path / "bad.csv",
        "sequence,roll\n" + "".join(f"1,{v}\n" for v in rolls.split(",")),
    )
    argv = ("--model", "hmm", "--emission", "categorical", "-k", 1, "--sequence-column", "sequence")
    err = _fail(capsys, "fit", data, *argv)
    assert err == (
        f"emkit: error: {str(data)!r}: Categorical data must be {problem} category codes; "
        f"column 'roll' holds {shown} (data row {row})\n"
    )


def test_error_count_emissions_not_counts(tmp_path, capsys):
    data = _write(tmp_path / "bad.csv", "a,b\n1,2\n3,0.5\n")
    for emission, family in (("poisson", "Poisson"), ("multinomial", "Multinomial")):
        err = _fail(capsys, "fit", data, "--model", "hmm", "--emission", emission, "-k", 1)
        assert err == (
            f"emkit: error: {str(data)!r}: {family} counts must be integers; column 'b' holds "
            "0.5 (data row 2)\n"
        )


def test_error_categorical_needs_one_column(gaussian_csv, capsys):
    argv = ("--model", "hmm", "--emission", "categorical", "-k", 2, "--sequence-column", "seq")
    err = _fail(capsys, "fit", gaussian_csv, *argv)
    # Before the symbols: columns of other data are no symbols either.
    assert err == (
        "emkit: error: CategoricalHMM takes one column of integer symbols, shape (n_samples, "
        "1); got 2 columns\n"
    )


def test_error_symbol_unknown_to_the_model(casino_fit, tmp_path, capsys):
    path, _ = casino_fit
    data = _write(tmp_path / "d8.csv", "sequence,roll\n1,0\n1,7\n")
    err = _fail(capsys, "predict", path, data, "--sequence-column", "sequence")
    assert err == (
        f"emkit: error: {str(data)!r}: Categorical column 'roll' has 6 categories (codes "
        "0..5); data row 2 holds 7\n"
    )


@pytest.mark.parametrize(
    ("model", "extra", "message"),
    [
        ("gmm", ["--emission", "gaussian"], "--emission applies to --model hmm only"),
        (
            "kmeans",
            ["--sequence-column", "sequence"],
            "--sequence-column applies to --model hmm only",
        ),
        ("gmm", ["--n-mix", "2"], "--n-mix applies to --model hmm --emission gmm only"),
        ("hmm", ["--n-mix", "2"], "--n-mix applies to --model hmm --emission gmm only"),
        (
            "hmm",
            ["--emission", "categorical", "--covariance-type", "full"],
            "--covariance-type applies to --model bayesian-gmm, gmm or student and to --model "
            "hmm --emission gaussian or gmm only",
        ),
        (
            "hmm",
            ["--emission", "poisson", "--n-mix", "2"],
            "--n-mix applies to --model hmm --emission gmm only",
        ),
        (
            "hmm",
            ["--reg-covar", "1e-3"],
            "--reg-covar applies to --model bayesian-gmm, gmm or student only",
        ),
        (
            "hmm",
            ["--reg-covar", "0", "--weight-prior", "dirichlet-process", "--prior", "2"],
            "--reg-covar applies to --model bayesian-gmm, gmm or student only; --prior applies "
            "to --model bernoulli, categorical or multinomial only; --weight-prior applies to "
            "--model bayesian-gmm only",
        ),
        (
            "gmm",
            ["--bogus", "2"],
            "unrecognized arguments: --bogus (see 'emkit models gmm')",
        ),
    ],
)
def test_error_options_that_do_not_apply(capsys, model, extra, message):
    err = _fail(capsys, "fit", CASINO, "--model", model, "-k", 2, *extra)
    assert err == f"emkit: error: {message}\n"


def test_error_sequence_column_with_a_mixture_model(tmp_path, capsys):
    model = tmp_path / "g.emkit"
    assert _run(capsys, "fit", CASINO, "--model", "gmm", "-k", 2, "-q", "-o", model)[0] == 0
    err = _fail(capsys, "predict", model, CASINO, "--sequence-column", "sequence")
    assert (
        f"--sequence-column applies to hidden Markov models only; {str(model)!r} holds a "
        "GaussianMixture"
    ) in err


def test_error_sequence_column_is_a_feature(casino_fit, capsys):
    argv = ("--model", "hmm", "-k", 2, "--sequence-column", "sequence")
    err = _fail(capsys, "fit", CASINO, *argv, "--columns", "sequence,roll")
    assert "the sequence column 'sequence' cannot also be a feature (--columns)" in err
    path, _ = casino_fit
    err = _fail(capsys, "predict", path, CASINO, "--sequence-column", "roll")
    assert "the sequence column 'roll' is one of the columns the model was fitted on" in err


def test_error_only_a_sequence_column(tmp_path, capsys):
    data = _write(tmp_path / "ids.csv", "sequence\n1\n1\n2\n")
    err = _fail(capsys, "fit", data, "--model", "hmm", "-k", 1, "--sequence-column", "sequence")
    assert f"{str(data)!r} has no columns besides the sequence column 'sequence'" in err


def test_error_fewer_samples_than_states(tmp_path, capsys):
    data = _write(tmp_path / "short.csv", "sequence,roll\n1,0\n1,2\n2,3\n")
    argv = ("--model", "hmm", "--emission", "categorical", "-k", 4, "--sequence-column", "sequence")
    err = _fail(capsys, "fit", data, *argv)
    assert "has 3 samples, fewer than the 4 states asked for" in err


def test_error_predict_data_lacks_model_columns(casino_fit, gaussian_csv, capsys):
    path, _ = casino_fit
    err = _fail(capsys, "predict", path, gaussian_csv, "--sequence-column", "seq")
    assert f"{str(gaussian_csv)!r} lacks column 'roll' that the model was fitted on" in err


# --------------------------------------------------------------------------------------- #
# Sequences read a chunk at a time
# --------------------------------------------------------------------------------------- #


def test_fit_and_predict_stream_sequences_from_parquet(tmp_path, capsys, monkeypatch):
    """fit and predict read a file of sequences a chunk of whole sequences at a time
    (chunks of 50 rows cut the sequences of the file): the model equals the one fitted to
    the arrays in Python, and predict writes the states of every row in order."""
    import pandas as pd

    from emkit.execution.sequence_files import SequenceFile

    ids, X, _ = _gaussian_sequences()
    data = tmp_path / "walk.parquet"
    pd.DataFrame({"x": X[:, 0], "seq": ids, "y": X[:, 1]}).to_parquet(data, row_group_size=33)
    chunked = []
    original = SequenceFile.chunks

    def counted(self, max_rows):
        for chunk in original(self, max_rows):
            chunked.append(chunk[0].shape[0])
            yield chunk

    monkeypatch.setattr(SequenceFile, "chunks", counted)
    model = tmp_path / "walk.emkit"
    argv = ("fit", data, "--model", "hmm", "-k", 2, "--sequence-column", "seq", "-q")
    code, out, err = _run(capsys, *argv, "--random-state", 0, "--chunk-size", 50, "-o", model)
    assert (code, out, err) == (0, "", "")
    # Every chunk of a pass holds whole sequences (80, 45, 120, 60 rows): one each, as 50
    # rows cut all; the start's sample reads blocks of up to 16384 rows (all 305).
    assert chunked.count(X.shape[0]) == 1
    assert set(chunked) - {X.shape[0]} == set(WALK_LENGTHS)
    est = _loaded(model)
    ref = emkit.GaussianHMM(2, random_state=0, chunk_size=50).fit(X, WALK_LENGTHS)
    np.testing.assert_allclose(est.means_, ref.means_, rtol=1e-9)
    np.testing.assert_allclose(est.transmat_, ref.transmat_, rtol=1e-9)
    assert est.n_iter_ == ref.n_iter_

    chunked.clear()
    argv = ("predict", model, data, "--sequence-column", "seq", "--chunk-size", 100, "--proba")
    code, out, err = _run(capsys, *argv)
    assert (code, err) == (0, "")
    assert chunked == [80, 45, 120, 60]
    header, values = _parse_csv(out)
    assert header == ["row", "state", "p0", "p1"]
    np.testing.assert_array_equal(values[:, 0], np.arange(X.shape[0]))
    np.testing.assert_array_equal(values[:, 1], ref.predict(X, WALK_LENGTHS))
    np.testing.assert_allclose(values[:, 2:], ref.predict_proba(X, WALK_LENGTHS), atol=1e-9)


def test_error_reappearing_sequence_id_in_a_later_chunk(tmp_path, capsys):
    rows = "".join(f"{i},{i % 3}\n" for i in (1, 1, 2, 2, 3, 3))
    data = _write(tmp_path / "back.csv", "sequence,roll\n" + rows + "1,4\n")
    argv = ("--model", "hmm", "--emission", "categorical", "-k", 2, "--sequence-column", "sequence")
    err = _fail(capsys, "fit", data, *argv, "--chunk-size", 2)
    assert err == (
        f"emkit: error: {str(data)!r}: sequence 1 of column 'sequence' appears again at data "
        "row 7, after other sequences (its earlier rows are 1 to 2); the rows of one sequence "
        "must be consecutive: sort the rows by 'sequence', keeping their time order\n"
    )
