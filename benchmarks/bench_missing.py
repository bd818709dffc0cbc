"""Gaussian mixtures with missing cells: EM on the observed cells against the complete data,
and against mean imputation followed by scikit-learn.

Data: a seeded mixture of K = 4 Gaussians with random full covariances, N x D = 200,000 x 8;
cells removed completely at random (10 % and 30 %). Measured, one thread (BLAS and Numba
limited to one):

- seconds per EM iteration of ``emkit.GaussianMixture(covariance_type='full')`` on the data
  with missing cells against the same on the complete data (``(t(max_iter=21) -
  t(max_iter=1)) / 20`` from the same start, median of 5);
- accuracy of the recovered parameters: emkit on the observed cells, and scikit-learn's
  GaussianMixture on mean-imputed data (``SimpleImputer``), both from the same start,
  against the simulated means and covariances (components matched by their means), as the
  largest absolute error of a mean and the relative Frobenius error of the covariances;
- the root mean squared error of the imputed cells: emkit's conditional means
  (``impute``) against mean imputation, over the removed cells.

Usage::

    PYTHONPATH=src python benchmarks/bench_missing.py            # results/missing.md, .json
    PYTHONPATH=src python benchmarks/bench_missing.py --quick    # N / 10
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import time
import warnings

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
RESULTS = HERE / "results"
K, D = 4, 8


def simulate(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.RandomState(seed)
    means = rng.normal(0, 4, (K, D))
    covariances = np.empty((K, D, D))
    for k in range(K):
        A = rng.normal(size=(D, D))
        covariances[k] = A @ A.T / D + 0.2 * np.eye(D)
    labels = rng.randint(0, K, n)
    X = np.empty((n, D))
    for k in range(K):
        rows = labels == k
        X[rows] = rng.multivariate_normal(means[k], covariances[k], rows.sum())
    return X, means, covariances


def _timed(fit) -> float:
    start = time.perf_counter()
    fit()
    return time.perf_counter() - start


def per_iteration(make, X) -> float:
    runs = []
    for _ in range(5):
        t1 = _timed(lambda: make(1).fit(X))
        t21 = _timed(lambda: make(21).fit(X))
        runs.append((t21 - t1) / 20)
    return statistics.median(runs)


def errors(means, covariances, true_means, true_covariances) -> tuple[float, float]:
    order = [int(np.argmin(((means - m) ** 2).sum(axis=1))) for m in true_means]
    mean_error = float(np.max(np.abs(means[order] - true_means)))
    cov_error = float(
        max(
            np.linalg.norm(covariances[o] - c) / np.linalg.norm(c)
            for o, c in zip(order, true_covariances, strict=True)
        )
    )
    return mean_error, cov_error


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    import numba

    numba.set_num_threads(1)
    from sklearn.impute import SimpleImputer
    from sklearn.mixture import GaussianMixture as SkGaussianMixture

    import emkit

    n = 20_000 if args.quick else 200_000
    X, true_means, true_covariances = simulate(n)
    rng = np.random.RandomState(1)
    start = emkit.GaussianMixture(K, random_state=0, max_iter=0).fit(X)
    init = {
        "weights_init": start.weights_,
        "means_init": start.means_,
        "precisions_init": start.precisions_,
    }

    def ours(max_iter: int, tol: float = 0.0):
        return emkit.GaussianMixture(K, max_iter=max_iter, tol=tol, n_jobs=1, **init)

    warnings.simplefilter("ignore")
    results: dict = {"n": n, "d": D, "k": K, "cases": {}}
    complete = per_iteration(ours, X)
    results["complete_seconds_per_iteration"] = complete
    print(f"complete: {complete:.4f} s/iteration", flush=True)
    for fraction in (0.1, 0.3):
        removed = rng.rand(*X.shape) < fraction
        Xm = np.where(removed, np.nan, X)
        seconds = per_iteration(ours, Xm)
        fitted = ours(300, 1e-6).fit(Xm)
        filled = SimpleImputer().fit_transform(Xm)
        theirs = SkGaussianMixture(K, max_iter=300, tol=1e-6, **init).fit(filled)
        case = {
            "seconds_per_iteration": seconds,
            "ratio_to_complete": seconds / complete,
            "incomplete_rows": float(np.isnan(Xm).any(axis=1).mean()),
            "emkit_errors": errors(
                fitted.means_, fitted.covariances_, true_means, true_covariances
            ),
            "mean_imputed_sklearn_errors": errors(
                theirs.means_, theirs.covariances_, true_means, true_covariances
            ),
            "rmse_mean_imputation": float(np.sqrt(np.mean((filled[removed] - X[removed]) ** 2))),
        }
        if hasattr(fitted, "impute"):
            imputed = fitted.impute(Xm)
            case["rmse_emkit_impute"] = float(
                np.sqrt(np.mean((imputed[removed] - X[removed]) ** 2))
            )
        results["cases"][f"{int(fraction * 100)}%"] = case
        print(fraction, case, flush=True)
    lines = [
        f"{n} x {D}, K = {K}, full covariance, one thread; cells missing completely at random.",
        "",
        "| missing | incomplete rows | s / iteration | vs complete | emkit mean err / cov err "
        "| mean-imputed + scikit-learn mean err / cov err | RMSE impute (emkit / mean) |",
        "|---|---:|---:|---:|---|---|---|",
    ]
    for name, case in results["cases"].items():
        ours_err, theirs_err = case["emkit_errors"], case["mean_imputed_sklearn_errors"]
        rmse = case.get("rmse_emkit_impute")
        rmse_text = f"{rmse:.3f}" if rmse is not None else "n/a"
        lines.append(
            f"| {name} | {case['incomplete_rows']:.0%} | {case['seconds_per_iteration']:.4f} | "
            f"{case['ratio_to_complete']:.1f}x | {ours_err[0]:.3f} / {ours_err[1]:.3f} | "
            f"{theirs_err[0]:.3f} / {theirs_err[1]:.3f} | {rmse_text} / "
            f"{case['rmse_mean_imputation']:.3f} |"
        )
    lines.append(f"\nComplete data: {complete:.4f} s per iteration.")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "missing.json").write_text(json.dumps(results, indent=1))
    (RESULTS / "missing.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
