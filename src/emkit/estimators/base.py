"""What every EM estimator shares: running the driver, progress output, fitted attributes,
input checks and model files."""

from __future__ import annotations

import numbers
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from emkit.core import diagnostics
from emkit.core.batches import map_rows
from emkit.core.diagnostics import FitDiagnostics
from emkit.core.driver import EMResult, IterationInfo, fit_em
from emkit.core.online import OnlineEM, OnlineState
from emkit.estimators.registry import all_faces, register
from emkit.execution.sources import DEFAULT_CHUNK_SIZE, RowSource
from emkit.families.base import Family, family_from_description
from emkit.io.model_file import ModelFile, ModelFileError, read_model_file, write_model_file

ROWS_INSTEAD = (
    "an array, emkit.open_data(path) for a file, or a re-iterable of chunks as "
    "emkit.execution.sources.ChunkRows(chunks)"
)
"""What a face that reads row sources takes in place of a generator."""


def load(path: str | os.PathLike) -> Any:
    """Read a model written by ``estimator.save(path)``.

    The file may be damaged, edited or hostile: whatever it holds, the result is the model
    that was saved or one of the errors below.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist (``OSError`` when it cannot be opened).
    emkit.io.model_file.ModelFileError
        When the file is corrupt, truncated, not an emkit model, describes a model this
        version of emkit does not know, or holds values the model cannot have (metadata of
        the wrong type, arrays of the wrong dtype or shape, NaN or infinity, ...). It is a
        ``ValueError``; the message names the file and the problem.
    """
    model_file = read_model_file(path)
    faces = all_faces()
    if model_file.kind not in faces:
        from emkit.plugins import import_plugins

        import_plugins()
    cls = faces.get(model_file.kind)
    if cls is None:
        raise ModelFileError(
            f"{os.fspath(path)!r} holds a model of kind {model_file.kind!r}, which this "
            f"emkit does not know (known: {sorted(faces)})"
        )
    return cls._from_file(model_file, path)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _hyperparameter(name: str, value: Any, arrays: dict[str, np.ndarray]) -> Any:
    """A hyperparameter as :meth:`EMEstimatorMixin.save` wrote it: a stored array, a family,
    a non-finite number, or the JSON value itself."""
    if not isinstance(value, dict):
        return value
    if set(value) == {"array"} and value["array"] in arrays:
        return arrays[value["array"]]
    if set(value) == {"family"} and isinstance(value["family"], dict):
        return family_from_description(value["family"])
    if isinstance(value.get("family"), str):
        # Files of emkit 0.1 wrote the family's description itself.
        return family_from_description(value)
    if set(value) == {"number"} and value["number"] in ("inf", "-inf", "nan"):
        return float(value["number"])
    raise ValueError(f"hyperparameter {name} is not written as emkit writes it: {value!r}")


class EMEstimatorMixin:
    """Shared machinery of emkit's scikit-learn style estimators.

    Subclasses build a model, call :meth:`_run_em`, and describe how they are stored in a
    model file through :meth:`_fitted_arrays` and :meth:`_restore`.
    """

    # Fitted attributes a model file keeps; everything else is derived from them on load.
    _fitted_scalars: ClassVar[tuple[str, ...]] = (
        "converged_",
        "n_iter_",
        "lower_bound_",
        "n_features_in_",
    )
    _fitted_arrays: ClassVar[tuple[str, ...]] = ("lower_bounds_",)
    # Whether a fit that stops at max_iter warns. Callers that record convergence themselves
    # (model selection over a grid) switch it off on their own instances: a warnings filter
    # would be process-wide.
    _warn_unconverged: bool = True
    # Every face declares the parameter: rows per chunk of its passes.
    chunk_size: int | None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        register(cls)

    _one_pass_instead: ClassVar[str] = ROWS_INSTEAD
    """What the face takes in place of a generator (:func:`refuse_one_pass`)."""

    def _check_data(
        self, X: Any, *, reset: bool, min_samples: int = 1, allow_nan: bool = False
    ) -> np.ndarray:
        """``X`` as float data of the face; NaN (a missing cell) passes where ``allow_nan``,
        infinities never."""
        refuse_one_pass(X, self._one_pass_instead)
        return validate_data(
            self,
            X,
            dtype=[np.float64, np.float32],
            reset=reset,
            ensure_min_samples=min_samples,
            ensure_all_finite="allow-nan" if allow_nan else True,
        )

    def _check_sample_weight(self, sample_weight: Any, n_samples: int) -> np.ndarray | None:
        if sample_weight is None:
            return None
        if isinstance(sample_weight, numbers.Number):
            sample_weight = np.full(n_samples, sample_weight, dtype=np.float64)
        w = np.asarray(sample_weight, dtype=np.float64)
        if w.ndim != 1 or w.shape[0] != n_samples:
            raise ValueError(f"sample_weight.shape == {w.shape}, expected ({n_samples},)!")
        if not np.all(np.isfinite(w)):
            raise ValueError("sample_weight contains NaN or infinite values")
        if np.any(w < 0):
            raise ValueError(
                "sample_weight must be non-negative (negative weights are not allowed)"
            )
        if not w.sum() > 0:
            raise ValueError("sample_weight must not sum to zero")
        return w

    def _run_em(
        self,
        model: Any,
        X: np.ndarray,
        sample_weight: np.ndarray | None,
        *,
        init: Any,
        hard: bool = False,
        chunk_size: int | None = None,
        tol: float | None = None,
        warn_unconverged: bool = True,
    ) -> EMResult:
        verbose = getattr(self, "verbose", 0)
        callback = _Progress(verbose, getattr(self, "verbose_interval", 10)) if verbose else None
        result = fit_em(
            model,
            X,
            sample_weight=sample_weight,
            n_init=self.n_init,
            max_iter=self.max_iter,
            tol=self.tol if tol is None else tol,
            init=init,
            random_state=check_random_state(self.random_state),
            hard=hard,
            callback=callback,
            chunk_size=chunk_size,
            n_jobs=self.n_jobs,
            # Estimators without the hyperparameter (hard-EM ones such as KMeans) never
            # accelerate.
            accelerate=getattr(self, "accelerate", None),
            online=self._online_schedule(),
            warn_unconverged=warn_unconverged and self._warn_unconverged,
        )
        if callback is not None:
            callback.finish(result)
        self._record_result(result)
        return result

    def _online_schedule(self) -> OnlineEM | None:
        """Online EM's schedule when the face fits online, else None (faces that declare
        the online parameters say which)."""
        return None

    def _record_result(
        self, result: EMResult, converged: bool | None = None, tol: float | None = None
    ) -> None:
        """The fitted attributes every face keeps of a fit by the driver: ``converged_``
        (the driver's verdict unless the face gives its own), ``n_iter_``, ``lower_bound_``,
        ``lower_bounds_``, ``restart_lower_bounds_``, the final bound of every
        initialisation (shape (n_init,); not kept in model files), and the diagnostics of
        the fit (:attr:`diagnostics_`; not kept in model files either), judged against
        ``tol`` on the mean bound (the driver's by default; a face that applies its own
        rule gives it in the driver's units). An online fit leaves its running average,
        from which ``partial_fit`` continues it."""
        if result.online_state is not None:
            self._online_state = result.online_state
        # Online EM records the bound of every mini-batch, not of every iteration.
        self._bounds_per_batch = result.online_state is not None
        self.converged_ = bool(result.converged if converged is None else converged)
        self.n_iter_ = int(result.n_iter)
        self.lower_bound_ = float(result.lower_bound)
        self.lower_bounds_ = result.lower_bounds
        self.restart_lower_bounds_ = np.asarray(result.run_lower_bounds, dtype=np.float64)
        self._diagnostics = diagnostics.diagnose(result, converged=self.converged_, tol=tol)

    def _record_steps(
        self, state: OnlineState, history: np.ndarray, bounds: Sequence[float]
    ) -> None:
        """What ``partial_fit``'s online steps leave on the face: the running average
        ``state`` (kept for the next call, not in model files), the steps taken since it
        started, and the batches' bounds appended to the ``history`` of earlier calls."""
        self._online_state = state
        self._bounds_per_batch = True
        self.converged_ = False
        self.n_iter_ = state.n_batches
        self.lower_bounds_ = np.concatenate([history, bounds])
        self.lower_bound_ = float(self.lower_bounds_[-1])
        self.restart_lower_bounds_ = np.asarray([self.lower_bound_])
        self._diagnostics = diagnostics.online_steps(self.lower_bounds_, state.n_batches)

    @property
    def diagnostics_(self) -> FitDiagnostics:
        """How the last fit went (:class:`emkit.core.diagnostics.FitDiagnostics`): the
        verdict ("converged", "stopped but not converged", ...), the estimated rate of
        convergence and the fraction of missing information it implies, the histories of
        the bound and of the parameter changes, the distinct optima of the restarts, and the
        health of the components as the face sees it in its fitted attributes now, all also
        as sentences (``messages``).

        Raises
        ------
        AttributeError
            When the model was read from a model file, which keeps the fitted parameters but
            not the course of the fit (sklearn's NotFittedError, also an AttributeError,
            before any fit).
        """
        self._check_fitted()
        found = self.__dict__.get("_diagnostics")
        if found is None:
            raise AttributeError(
                f"this {type(self).__name__} has no diagnostics_: it was read from a model "
                "file, which keeps the fitted parameters but not the course of the fit; fit "
                "it again to see its diagnostics"
            )
        return found.with_health(self._component_health())

    def _component_health(self) -> tuple[str, ...]:
        """Sentences about components that look unwell in the fitted attributes (weights
        near zero, near-singular covariances, states never visited); empty when all look
        well. Faces that can tell cheaply say it here; by default nothing is said."""
        return ()

    def _check_fitted(self) -> None:
        check_is_fitted(self)

    def _checked(self, X: Any) -> np.ndarray:
        """``X`` validated against the fitted model."""
        self._check_fitted()
        return self._check_data(X, reset=False)

    def _check_source_columns(self, source: RowSource, *, reset: bool) -> None:
        """Make the columns of ``source`` the face's features (``reset``: ``n_features_in_``,
        and ``feature_names_in_`` when the source names its columns), or check them
        against those the face was fitted to.

        Raises
        ------
        ValueError
            When the number of columns, or their names, differ from the fitted ones.
        """
        names = source.columns
        if reset:
            self.n_features_in_ = source.n_features
            if names is not None:
                self.feature_names_in_ = np.asarray(names, dtype=object)
            elif "feature_names_in_" in self.__dict__:
                del self.feature_names_in_
            return
        if source.n_features != self.n_features_in_:
            raise ValueError(
                f"X has {source.n_features} features, but {type(self).__name__} is "
                f"expecting {self.n_features_in_} features as input."
            )
        fitted = self.__dict__.get("feature_names_in_")
        if fitted is not None and names is not None and list(fitted) != list(names):
            raise ValueError(
                f"the source's columns {list(names)} are not those the model was fitted "
                f"to, {list(fitted)}"
            )

    def _map_rows(self, fn: Any, X: np.ndarray | RowSource) -> np.ndarray:
        """``fn`` over row chunks of ``X`` (an array, or a source read a chunk at a time)
        of at most ``chunk_size`` rows, the results stacked."""
        if isinstance(X, RowSource):
            parts = [fn(rows) for rows, _ in X.chunks(self.chunk_size or DEFAULT_CHUNK_SIZE)]
            return np.concatenate(parts)
        return map_rows(fn, X, self.chunk_size)

    # -- reports ------------------------------------------------------------------------
    def report(
        self,
        X: Any = None,
        path: str | os.PathLike | None = None,
        *,
        lengths: Any = None,
        title: str | None = None,
    ) -> str | Path:
        """The fitted model's report, one self-contained HTML page of plots and verdicts
        (:func:`emkit.report.build_report`; its figures need matplotlib,
        ``pip install 'emkit[report]'``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), optional
            Data to show with the model (usually the data it was fitted to).
        path : str or path-like, optional
            Where to write the page (atomically); by default it is returned.
        lengths : array-like of int, shape (n_sequences,), optional
            For a hidden Markov model, the lengths of the sequences of ``X``.
        title : str, optional
            The page's title.

        Returns
        -------
        str or pathlib.Path
            The HTML, or the path written when ``path`` is given.
        """
        # The report sits above the faces (it draws any of them): imported when asked for,
        # as pandas imports its plotting.
        from emkit.report import build_report, write_report

        if path is None:
            return build_report(self, X, lengths=lengths, title=title)
        return write_report(self, path, X, lengths=lengths, title=title)

    # -- model files --------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted model to ``path``: JSON metadata and arrays in one file, never a
        pickle, written atomically. Read it back with :func:`emkit.load`.

        Returns
        -------
        pathlib.Path
            The path written.
        """
        self._check_fitted()
        hyper, arrays = {}, {}
        for name, value in self.get_params(deep=False).items():
            if isinstance(value, Family):
                hyper[name] = {"family": value.describe()}
            elif isinstance(value, (np.ndarray, list, tuple)):
                arrays[f"param__{name}"] = np.asarray(value)
                hyper[name] = {"array": f"param__{name}"}
            elif isinstance(value, np.random.RandomState):
                hyper[name] = None  # a generator's state is not a hyperparameter worth keeping
            else:
                value = _plain(value)
                # JSON has no infinities (hmmlearn's tol=-inf, say): they are kept as text.
                if isinstance(value, float) and not np.isfinite(value):
                    value = {"number": repr(value)}
                hyper[name] = value
        fitted = {name: _plain(getattr(self, name)) for name in self._fitted_scalars}
        if self.__dict__.get("_bounds_per_batch", False):
            fitted["bounds_per_batch"] = True
        names = getattr(self, "feature_names_in_", None)
        for name in self._stored_array_names():
            arrays[name] = np.asarray(getattr(self, name))
        metadata = {
            "hyperparameters": hyper,
            "fitted": fitted,
            "feature_names_in": None if names is None else [str(n) for n in names],
        }
        return write_model_file(path, type(self).__name__, metadata, arrays)

    @classmethod
    def _from_file(cls, model_file: ModelFile, path: str | os.PathLike) -> EMEstimatorMixin:
        """The estimator a model file describes, its shared fields checked here and the
        face's own in :meth:`_restore`; ModelFileError naming the field if one is wrong."""
        meta, arrays = model_file.metadata, model_file.arrays

        def mapping(key: str, what: str) -> dict:
            if not isinstance(meta.get(key), dict):
                raise ValueError(f"{what} must be a JSON object, got {meta.get(key)!r}")
            return meta[key]

        def scalar(name: str, value: Any) -> Any:
            # JSON numbers are finite and fit in 64 bits (the reader checks); the
            # scalars faces add to these (inertia_, the priors) are real numbers.
            if name == "converged_":
                valid, wanted = isinstance(value, bool), "true or false"
            elif name in ("n_iter_", "n_features_in_"):
                minimum = 0 if name == "n_iter_" else 1
                valid = type(value) is int and value >= minimum
                wanted = f"an integer >= {minimum}"
            else:
                valid, wanted = type(value) in (int, float), "a real number"
            if not valid:
                raise ValueError(f"the fitted attribute {name} must be {wanted}, got {value!r}")
            return value

        try:
            hyper = {}
            for name, value in mapping("hyperparameters", "hyperparameters").items():
                hyper[name] = _hyperparameter(name, value, arrays)
            fitted = mapping("fitted", "the fitted attributes")
            est = cls(**hyper)
            for name in cls._fitted_scalars:
                if name not in fitted:
                    raise ValueError(f"the fitted attribute {name} is missing")
                setattr(est, name, scalar(name, fitted[name]))
            for name in est._stored_array_names():
                if name not in arrays:
                    raise ValueError(f"the array {name} is missing")
                setattr(est, name, arrays[name])
            bounds = arrays.get("lower_bounds_")
            per_batch = fitted.get("bounds_per_batch", False)
            if per_batch is not True and per_batch is not False:
                raise ValueError(f"bounds_per_batch must be true or false, got {per_batch!r}")
            if per_batch:
                # Online EM: one bound per mini-batch, however many batches a pass held.
                if bounds is not None and (
                    bounds.dtype.kind != "f" or bounds.ndim != 1 or bounds.size == 0
                ):
                    raise ValueError(
                        f"lower_bounds_ of online steps must be a non-empty 1-D array of "
                        f"floats, got {bounds.dtype} of shape {bounds.shape}"
                    )
                est._bounds_per_batch = True
            elif bounds is not None and (
                bounds.dtype.kind != "f" or bounds.shape != (est.n_iter_ + 1,)
            ):
                raise ValueError(
                    f"lower_bounds_ must be floats of shape (n_iter_ + 1,) = "
                    f"({est.n_iter_ + 1},), got {bounds.dtype} of shape {bounds.shape}"
                )
            names = meta.get("feature_names_in")
            if names is not None:
                if not (
                    isinstance(names, list)
                    and len(names) == est.n_features_in_
                    and all(isinstance(n, str) for n in names)
                ):
                    raise ValueError(
                        f"feature_names_in must be a list of n_features_in_ = "
                        f"{est.n_features_in_} strings, got {names!r}"
                    )
                est.feature_names_in_ = np.asarray(names, dtype=object)
            est._restore()
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(
                f"{os.fspath(path)!r} holds an inconsistent {cls.__name__}: {exc}"
            ) from exc
        return est

    def _stored_array_names(self) -> tuple[str, ...]:
        """The fitted arrays a model file keeps; everything else is derived from them."""
        return self._fitted_arrays

    def _restore(self) -> None:
        """Recompute derived fitted attributes after loading, checking consistency."""


class _Progress:
    """Prints progress like scikit-learn's mixtures do when ``verbose`` is set."""

    def __init__(self, verbose: int, interval: int) -> None:
        self.verbose = verbose
        self.interval = max(1, int(interval))
        self.t_run = self.t_iter = time.perf_counter()

    def __call__(self, info: IterationInfo) -> None:
        now = time.perf_counter()
        if info.n_iter == 0:
            print(f"Initialization {info.run}")
            self.t_run = self.t_iter = now
        elif info.n_iter % self.interval == 0:
            if self.verbose >= 2:
                print(
                    f"  Iteration {info.n_iter}\t time lapse {now - self.t_iter:.5f}s\t "
                    f"ll change {info.change:.5f}"
                )
            else:
                print(f"  Iteration {info.n_iter}")
            self.t_iter = now

    def finish(self, result: EMResult) -> None:
        state = "converged" if result.converged else "did not converge"
        print(
            f"Best of {result.run_lower_bounds.size} initialization(s) {state}. "
            f"time lapse {time.perf_counter() - self.t_run:.5f}s\t "
            f"lower bound {result.lower_bound:.5f}."
        )


def output_dtype(X: np.ndarray | RowSource) -> Any:
    """float32 for float32 data, as scikit-learn returns; float64 for anything else."""
    return np.float32 if X.dtype == np.float32 else np.float64


def dask_rows(X: Any) -> Any:
    """A dask array or DataFrame as its row source, read block by block where its blocks
    live (on the active ``distributed.Client``'s cluster, if there is one); anything else as
    it is, so that scikit-learn's checks do not pull a dask collection into memory whole."""
    if type(X).__module__.partition(".")[0] == "dask":
        from emkit.execution.sources import as_source

        return as_source(X)
    return X


def refuse_one_pass(X: Any, instead: str = ROWS_INSTEAD) -> None:
    """Refuse an iterator (a generator) as data, which scikit-learn's checks would take for
    a 0-d array of objects.

    Raises
    ------
    TypeError
        Saying what to give ``instead``.
    """
    if isinstance(X, Iterator):
        raise TypeError(
            f"X is a {type(X).__name__}, which can be read only once, and a fit reads its "
            f"data at every iteration: give {instead}"
        )


def check_int(value: Any, name: str, minimum: int) -> None:
    """Raise ValueError unless ``value`` is an integer (not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
