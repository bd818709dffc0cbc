"""Every failure a user can cause gives one line on the command line, never a traceback: data
the fit cannot support, save destinations checked before the fit, a pandas row index, a file
separated by semicolons, Ctrl-C."""

from __future__ import annotations

import errno
import os
import pathlib

import numpy as np
import pytest

import emkit
from cli_support import run_cli as _run
from emkit.estimators.gaussian_mixture import GaussianMixture
from emkit.estimators.hmm import GaussianHMM
from emkit.io.readers import read_table

ROOT = pathlib.Path(__file__).resolve().parents[1]
FAITHFUL = ROOT / "examples" / "data" / "faithful.csv"


def _fail(capsys, *argv, status=2):
    """Run a command that must fail with one error line; returns that line."""
    code, out, err = _run(capsys, *argv)
    assert code == status, (out, err)
    assert out == ""
    assert err.startswith("emkit: error: ")
    assert err.count("\n") == 1, err
    return err.removeprefix("emkit: error: ").rstrip("\n")


def _write_csv(path, header, rows):
    path.write_text(",".join(header) + "\n" + "".join(",".join(map(repr, r)) + "\n" for r in rows))
    return path


def _fit_must_not_run(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the fit ran")

    monkeypatch.setattr(GaussianMixture, "fit", refuse)


# --------------------------------------------------------------------------------------- #
# Fits the data cannot support
# --------------------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("gmm", "Gaussian"),
        ("kmeans", "KMeans"),
        ("student", "Student-t"),
        ("hmm", "GaussianHMM"),
        ("bayesian-gmm", "Gaussian"),
    ],
)
def test_values_too_large_to_square(tmp_path, capsys, model, family):
    # The family (or face) refuses them, naming the column and row by their positions; the
    # command line names them as the file does.
    rows = np.random.default_rng(0).normal(size=(30, 2)) * 1e300
    rows[0, 0] = 1.5
    data = _write_csv(tmp_path / "huge.csv", ["a", "b"], rows.tolist())
    message = _fail(capsys, "fit", data, "--model", model, "-k", 2, "-o", tmp_path / "m")
    assert message.startswith(
        f"{str(data)!r}: {family} data hold values too large for float64 arithmetic: the "
        "largest magnitude is "
    )
    assert message.endswith(
        f"; column 'b' holds {float(rows[0, 1])!r} (data row 1). Rescale the data (divide it by a "
        "power of ten, or standardise it)."
    )


def test_large_values_that_square_are_fitted(tmp_path, capsys):
    rows = np.random.default_rng(0).normal(size=(30, 2)) * 1e100
    data = _write_csv(tmp_path / "large.csv", ["a", "b"], rows.tolist())
    code, _, err = _run(capsys, "fit", data, "--model", "gmm", "-k", 1, "-q", "-o", tmp_path / "m")
    assert (code, err) == (0, "")


def test_select_refuses_values_too_large_to_square(tmp_path, capsys):
    rows = np.random.default_rng(1).normal(size=(30, 2)) * 1e300
    data = _write_csv(tmp_path / "huge.csv", ["a", "b"], rows.tolist())
    message = _fail(capsys, "select", data, "-k", "1-2")
    assert message.startswith(f"{str(data)!r}: Gaussian data hold values too large for float64")
    assert f"column 'a' holds {float(rows[0, 0])!r} (data row 1)" in message


def test_singular_covariance_names_the_option(tmp_path, capsys):
    data = _write_csv(tmp_path / "constant.csv", ["a", "b"], [[1.0, 2.0]] * 20)
    message = _fail(
        capsys, "fit", data, "--model", "gmm", "-k", 2, "--reg-covar", 0, "-o", tmp_path / "m"
    )
    assert message.startswith("the fit failed: ")
    assert "increase --reg-covar" in message
    assert "reg_covar" not in message


@pytest.mark.parametrize(
    "error",
    [
        FloatingPointError("the log-likelihood is -inf (try a larger reg_covar)"),
        np.linalg.LinAlgError("singular matrix; increase reg_covar"),
        OverflowError("overflow in exp (try a larger reg_covar)"),
    ],
    ids=["FloatingPointError", "LinAlgError", "OverflowError"],
)
def test_numerical_failures_of_a_fit(tmp_path, capsys, monkeypatch, error):
    def fail(self, *args, **kwargs):
        raise error

    monkeypatch.setattr(GaussianMixture, "fit", fail)
    message = _fail(capsys, "fit", FAITHFUL, "--model", "gmm", "-k", 2, "-o", tmp_path / "m")
    assert message == f"the fit failed: {error}".replace("reg_covar", "--reg-covar")


def test_numerical_failure_of_a_model_without_the_option(tmp_path, capsys, monkeypatch):
    def fail(self, *args, **kwargs):
        raise FloatingPointError(
            "the log-likelihood is nan at iteration 3 (try a larger reg_covar)"
        )

    monkeypatch.setattr(GaussianHMM, "fit", fail)
    message = _fail(capsys, "fit", FAITHFUL, "--model", "hmm", "-k", 2, "-o", tmp_path / "m")
    # An hmm has no --reg-covar: the hint is left out rather than pointing at nothing.
    assert message == "the fit failed: the log-likelihood is nan at iteration 3"


def test_multi_line_messages_become_one_line(tmp_path, capsys, monkeypatch):
    def fail(self, *args, **kwargs):
        raise ValueError("first line\n  second line")

    monkeypatch.setattr(GaussianMixture, "fit", fail)
    message = _fail(capsys, "fit", FAITHFUL, "--model", "gmm", "-k", 2, "-o", tmp_path / "m")
    assert message == "first line second line"


def test_keyboard_interrupt(tmp_path, capsys, monkeypatch):
    def interrupt(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(GaussianMixture, "fit", interrupt)
    message = _fail(
        capsys, "fit", FAITHFUL, "--model", "gmm", "-k", 2, "-o", tmp_path / "m", status=130
    )
    assert message == "interrupted"
    assert not (tmp_path / "m").exists()


def test_save_failure_after_the_fit_names_the_path(tmp_path, capsys, monkeypatch):
    def full_disk(self, path):
        raise OSError(errno.ENOSPC, f"cannot write the model file {str(path)!r}: disk full")

    monkeypatch.setattr(GaussianMixture, "save", full_disk)
    path = tmp_path / "m.emkit"
    message = _fail(capsys, "fit", FAITHFUL, "--model", "gmm", "-k", 2, "-o", path)
    assert message == f"cannot write the model file {str(path)!r}: disk full"


def test_memory_error(tmp_path, capsys, monkeypatch):
    def exhausted(self, *args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(GaussianMixture, "fit", exhausted)
    message = _fail(capsys, "fit", FAITHFUL, "--model", "gmm", "-k", 2, "-o", tmp_path / "m")
    assert message == "not enough memory for this data and model"


# --------------------------------------------------------------------------------------- #
# Save destinations, checked before the fit
# --------------------------------------------------------------------------------------- #


def test_missing_directory_is_reported_before_the_fit(tmp_path, capsys, monkeypatch):
    _fit_must_not_run(monkeypatch)
    path = tmp_path / "nowhere" / "m.emkit"
    message = _fail(capsys, "fit", FAITHFUL, "--model", "gmm", "-k", 2, "-o", path)
    assert message == (
        f"cannot write the model file {str(path)!r}: the directory "
        f"{str(path.parent)!r} does not exist"
    )


def test_directory_as_model_path_is_reported_before_the_fit(tmp_path, capsys, monkeypatch):
    _fit_must_not_run(monkeypatch)
    message = _fail(capsys, "fit", FAITHFUL, "--model", "gmm", "-k", 2, "-o", tmp_path)
    assert message == f"cannot write the model file {str(tmp_path)!r}: it is a directory"


def test_default_model_path_is_checked_before_the_fit(tmp_path, capsys, monkeypatch):
    _fit_must_not_run(monkeypatch)
    (tmp_path / "faithful.emkit").mkdir()
    monkeypatch.chdir(tmp_path)
    message = _fail(capsys, "fit", FAITHFUL, "--model", "gmm", "-k", 2)
    assert message.startswith("cannot write the model file 'faithful.emkit': it is a directory")


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes to read-only directories"
)
def test_read_only_directory_is_reported_before_the_fit(tmp_path, capsys, monkeypatch):
    _fit_must_not_run(monkeypatch)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        path = locked / "m.emkit"
        message = _fail(capsys, "fit", FAITHFUL, "--model", "gmm", "-k", 2, "-o", path)
    finally:
        locked.chmod(0o755)
    assert message == f"cannot write the model file {str(path)!r}: Permission denied"
    assert os.listdir(locked) == []


def test_select_destinations_are_checked_before_the_fits(tmp_path, capsys, monkeypatch):
    _fit_must_not_run(monkeypatch)
    path = tmp_path / "nowhere" / "out"
    missing = f"the directory {str(path.parent)!r} does not exist"
    message = _fail(capsys, "select", FAITHFUL, "-k", "1-2", "--save", path)
    assert message == f"cannot write the model file {str(path)!r}: {missing}"
    message = _fail(capsys, "select", FAITHFUL, "-k", "1-2", "--output", path)
    assert message == f"cannot write the table {str(path)!r}: {missing}"
    message = _fail(capsys, "select", FAITHFUL, "-k", "1-2", "--output", tmp_path)
    assert message == f"cannot write the table {str(tmp_path)!r}: it is a directory"


# --------------------------------------------------------------------------------------- #
# Files written by other programs
# --------------------------------------------------------------------------------------- #


def _pandas_csv(path):
    """Old Faithful as pandas writes it with ``df.to_csv(path)``: the row index first, under
    an empty header."""
    X = read_table(FAITHFUL).values
    lines = [",eruptions,waiting"] + [f"{i},{e!r},{w!r}" for i, (e, w) in enumerate(X.tolist())]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_pandas_index_column_is_warned_about(tmp_path, capsys):
    data = _pandas_csv(tmp_path / "indexed.csv")
    code, out, err = _run(
        capsys, "fit", data, "--model", "gmm", "-k", 2, "-q", "-o", tmp_path / "m"
    )
    assert (code, out) == (0, "")
    assert err == (
        f"emkit: warning: {str(data)!r}: the first column has no name and holds 0, 1, 2, ...: "
        "a row index, as pandas writes with to_csv; it is fitted as the feature 'x0': leave it "
        "out with --columns eruptions,waiting\n"
    )
    # The suggested option fits the data alone, without a warning.
    code, _, err = _run(
        capsys,
        "fit",
        data,
        "--model",
        "gmm",
        "-k",
        2,
        "-q",
        "-o",
        tmp_path / "m",
        "--columns",
        "eruptions,waiting",
    )
    assert (code, err) == (0, "")
    assert list(emkit.load(tmp_path / "m").feature_names_in_) == ["eruptions", "waiting"]


def test_unnamed_first_column_that_is_no_index_is_not_warned_about(tmp_path, capsys):
    data = tmp_path / "unnamed.csv"
    data.write_text(",a\n3,1\n1,2\n2,3\n5,4\n")
    code, _, err = _run(capsys, "fit", data, "--model", "gmm", "-k", 1, "-q", "-o", tmp_path / "m")
    assert (code, err) == (0, "")
    headerless = tmp_path / "headerless.csv"
    headerless.write_text("0,1.5\n1,2.5\n2,0.5\n3,1.0\n")
    code, _, err = _run(
        capsys, "fit", headerless, "--model", "gmm", "-k", 1, "-q", "-o", tmp_path / "m"
    )
    assert (code, err) == (0, "")


def test_semicolon_separated_csv(tmp_path, capsys):
    X = read_table(FAITHFUL).values
    data = tmp_path / "semicolons.csv"
    data.write_text("eruptions;waiting\n" + "".join(f"{e!r};{w!r}\n" for e, w in X.tolist()))
    message = _fail(capsys, "fit", data, "--model", "gmm", "-k", 2, "-o", tmp_path / "m")
    assert message == (
        f"{str(data)!r}: column 'eruptions;waiting' is not numeric: value '3.6;79.0' on line 2; "
        "its first line holds ';' but no comma: its fields may be separated by semicolons: use "
        "--delimiter ';'"
    )
    model = tmp_path / "m.emkit"
    code, _, err = _run(
        capsys, "fit", data, "--model", "gmm", "-k", 2, "--delimiter", ";", "-q", "-o", model
    )
    assert (code, err) == (0, "")
    assert list(emkit.load(model).feature_names_in_) == ["eruptions", "waiting"]
    code, by_semicolons, _ = _run(capsys, "predict", model, data, "--delimiter", "semicolon")
    assert code == 0
    assert by_semicolons == _run(capsys, "predict", model, FAITHFUL)[1]


def test_delimiter_applies_to_text_files_only(tmp_path, capsys):
    data = tmp_path / "d.npy"
    np.save(data, read_table(FAITHFUL).values)
    message = _fail(capsys, "fit", data, "--model", "gmm", "-k", 2, "--delimiter", ";")
    assert message == f"{str(data)!r} is not a text file: a delimiter applies to text files only"
    assert (
        "argument --delimiter: expected one character"
        in _run(capsys, "fit", FAITHFUL, "--model", "gmm", "-k", 2, "--delimiter", ";;")[2]
    )
