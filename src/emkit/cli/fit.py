"""``emkit fit``: fit a model to a data file, print its summary and write a model file."""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from emkit.cli import models
from emkit.cli.data import check_family_data, check_magnitude, read_features, read_sequences
from emkit.cli.errors import CommandError, warn, with_options
from emkit.cli.parser import MODEL_SUFFIX
from emkit.cli.summary import Restarts, count, fit_summary, quote

__all__ = ["build_estimator", "run"]


def run(args: argparse.Namespace) -> None:
    from emkit.io.model_file import check_writable

    estimator = build_estimator(args)
    face = models.face_of(estimator)
    output = args.output or Path(args.data).stem + MODEL_SUFFIX
    # A save that cannot succeed is reported now, not after a long fit.
    check_writable(output)
    lengths = None
    if face.kind == "hmm":
        table, lengths = read_sequences(
            args.data, args.columns, args.sequence_column, args.delimiter
        )
    else:
        table = read_features(args.data, args.columns, args.delimiter)
    X = table.values
    check_family_data(estimator, X, table.columns, args.data)
    check_magnitude(face, X, table.columns, args.data)
    k = args.components
    if X.shape[0] < k:
        raise CommandError(
            f"{quote(args.data)} has {count(X.shape[0], 'sample')}, fewer "
            f"than the {count(k, face.unit)} asked for"
        )
    if face.kind in ("mixture", "variational") and X.shape[0] < 2:
        article = "an" if face.title[0] in "aeiou" else "a"
        raise CommandError(
            f"{quote(args.data)} has 1 sample; {article} {face.title} needs at least 2"
        )

    extra = (lengths,) if face.kind == "hmm" else ()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        finals = _fit_recording_restarts(estimator, lambda: estimator.fit(X, *extra))
        restarts = Restarts(
            finals * X.shape[0],  # totals over the data, as the summary prints them
            deterministic=getattr(estimator, "init_params", None) in models.DETERMINISTIC_INITS,
        )
        lines = (
            []
            if args.quiet
            else fit_summary(
                estimator, X, table.columns, args.data, restarts, lengths, args.sequence_column
            )
        )
    for warning in caught:
        if not issubclass(warning.category, (DeprecationWarning, PendingDeprecationWarning)):
            warn(with_options(str(warning.message), models.REGULARISATION_OPTION.get(args.model)))

    # Stored so that 'emkit predict' can pick the same columns out of other data files.
    estimator.feature_names_in_ = np.asarray(table.columns, dtype=object)
    estimator.save(output)
    if not args.quiet:
        lines.append(f"model written to {output}")
        print("\n".join(lines))


def _fit_recording_restarts(estimator: Any, fit: Callable[[], Any]) -> np.ndarray:
    """Run ``fit`` and return the final mean bound of every restart of ``estimator``, shape
    (n_init,) (empty if the fit does not run the driver).

    The faces keep the best restart only; the driver's result, which every face obtains
    through its ``_run_em``, holds them all.
    """
    results: list[Any] = []
    run_em = estimator._run_em

    def recording(*args: Any, **kwargs: Any) -> Any:
        result = run_em(*args, **kwargs)
        results.append(result)
        return result

    estimator._run_em = recording
    try:
        fit()
    finally:
        del estimator._run_em
    if not results:
        return np.empty(0)
    return np.asarray(results[-1].run_lower_bounds, dtype=np.float64)


def build_estimator(args: argparse.Namespace) -> Any:
    """The estimator that the options of ``emkit fit`` ask for, not fitted."""
    model = models.MODELS[args.model]
    emission = models.model_key(args.model, args.emission)
    _check_scoped_options(args, emission)
    four_only = models.FOUR_COVARIANCE_MODELS.get(args.model)
    if four_only and args.covariance_type not in (None, *models.FOUR_COVARIANCE_TYPES):
        raise CommandError(
            f"--covariance-type {args.covariance_type} applies to --model gmm or student only; "
            f"{four_only} takes one of {', '.join(models.FOUR_COVARIANCE_TYPES)}"
        )
    face = models.model_face(args.model, args.emission)
    params: dict[str, Any] = {face.components: args.components, "random_state": args.random_state}
    if args.max_iter is not None or model.max_iter is not None:
        params[model.iterations] = args.max_iter or model.max_iter
    if args.tol is not None:
        params["tol"] = args.tol
    for option in models.OPTIONS:
        value = getattr(args, option.dest)
        if value is not None:
            params.update(option.params(value))
    n_init = args.n_init
    if n_init is None:
        deterministic = params.get("init_params") in models.DETERMINISTIC_INITS
        n_init = 1 if deterministic else models.DEFAULT_N_INIT
    params["n_init"] = n_init
    return models.estimator_class(face)(**params)


def _check_scoped_options(args: argparse.Namespace, emission: str) -> None:
    """Refuse the options that do not apply to the chosen model (and emission)."""
    refused: dict[str, list[str]] = {}
    for option in models.OPTIONS:
        if getattr(args, option.dest) is not None and not option.scope.applies(
            args.model, emission
        ):
            refused.setdefault(option.scope.text, []).append(option.flag)
    if refused:
        parts = [f"{', '.join(flags)} applies to {text}" for text, flags in refused.items()]
        raise CommandError("; ".join(parts))
