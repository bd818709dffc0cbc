"""What every EM estimator shares: running the driver, progress output, fitted attributes,
input checks and model files."""

from __future__ import annotations

import numbers
import os
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from emkit.core.driver import EMResult, IterationInfo, fit_em
from emkit.io.model_file import ModelFile, ModelFileError, read_model_file, write_model_file

ESTIMATORS: dict[str, type] = {}
"""Estimator classes by name, for reading model files."""


def load(path: str | os.PathLike) -> Any:
    """Read a model written by ``estimator.save(path)``.

    Raises
    ------
    emkit.io.model_file.ModelFileError
        When the file is corrupt, truncated, not an emkit model, or describes a model this
        version of emkit does not know.
    """
    model_file = read_model_file(path)
    cls = ESTIMATORS.get(model_file.kind)
    if cls is None:
        raise ModelFileError(
            f"{path!s} holds a model of kind {model_file.kind!r}, which this "
            f"emkit does not know (known: {sorted(ESTIMATORS)})"
        )
    return cls._from_file(model_file, path)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        ESTIMATORS[cls.__name__] = cls

    def _check_data(self, X: Any, *, reset: bool, min_samples: int = 1) -> np.ndarray:
        return validate_data(
            self, X, dtype=[np.float64, np.float32], reset=reset, ensure_min_samples=min_samples
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
            warn_unconverged=warn_unconverged and self._warn_unconverged,
        )
        if callback is not None:
            callback.finish(result)
        self.converged_ = bool(result.converged)
        self.n_iter_ = int(result.n_iter)
        self.lower_bound_ = float(result.lower_bound)
        self.lower_bounds_ = result.lower_bounds
        return result

    def _check_fitted(self) -> None:
        check_is_fitted(self)

    def _checked(self, X: Any) -> np.ndarray:
        """``X`` validated against the fitted model."""
        self._check_fitted()
        return self._check_data(X, reset=False)

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
            if isinstance(value, (np.ndarray, list, tuple)):
                arrays[f"param__{name}"] = np.asarray(value)
                hyper[name] = {"array": f"param__{name}"}
            elif isinstance(value, np.random.RandomState):
                hyper[name] = None  # a generator's state is not a hyperparameter worth keeping
            else:
                hyper[name] = value.item() if isinstance(value, np.generic) else value
        fitted = {name: _plain(getattr(self, name)) for name in self._fitted_scalars}
        names = getattr(self, "feature_names_in_", None)
        for name in self._fitted_arrays:
            arrays[name] = np.asarray(getattr(self, name))
        metadata = {
            "hyperparameters": hyper,
            "fitted": fitted,
            "feature_names_in": None if names is None else [str(n) for n in names],
        }
        return write_model_file(path, type(self).__name__, metadata, arrays)

    @classmethod
    def _from_file(cls, model_file: ModelFile, path: str | os.PathLike) -> EMEstimatorMixin:
        meta, arrays = model_file.metadata, model_file.arrays
        try:
            hyper = {
                name: arrays[value["array"]] if isinstance(value, dict) else value
                for name, value in meta["hyperparameters"].items()
            }
            est = cls(**hyper)
            for name in cls._fitted_scalars:
                setattr(est, name, meta["fitted"][name])
            for name in cls._fitted_arrays:
                setattr(est, name, arrays[name])
            if meta.get("feature_names_in") is not None:
                est.feature_names_in_ = np.asarray(meta["feature_names_in"], dtype=object)
            est._restore()
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(
                f"{os.fspath(path)!r} holds an inconsistent {cls.__name__}: {exc}"
            ) from exc
        return est

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


def check_int(value: Any, name: str, minimum: int) -> None:
    """Raise ValueError unless ``value`` is an integer (not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
