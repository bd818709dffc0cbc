"""Settings that hold for every fit in a context, as scikit-learn's ``config_context``.

The executor is chosen here rather than by a parameter of every estimator: the same
estimator runs on this machine's threads by default, and on another executor (a Dask
cluster, say) inside ``with emkit.config_context(executor=...)``. A callback set here
watches every fit of the block (a progress bar) without a parameter of any estimator.
Settings are context-local (``contextvars``): threads and tasks started inside the context
see them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emkit.core.driver import IterationInfo
    from emkit.execution.executor import Executor
    from emkit.execution.sources import RowSource

Observer = Callable[["IterationInfo"], object]
"""A callback of :func:`config_context`: it sees every E-step; what it returns is ignored."""

_EXECUTOR: ContextVar[Executor | None] = ContextVar("emkit_executor", default=None)
_CALLBACK: ContextVar[Observer | None] = ContextVar("emkit_callback", default=None)


class _Unchanged:
    """The value of a setting that :func:`config_context` is not given: it stays as it is."""

    def __repr__(self) -> str:
        return "unchanged"


_UNCHANGED: Any = _Unchanged()


def get_config() -> dict[str, Any]:
    """The settings in force: ``{'executor': Executor or None, 'callback': callable or
    None}`` (executor None: threads, as many as each estimator's ``n_jobs`` says; callback
    None: no fit is watched)."""
    return {"executor": _EXECUTOR.get(), "callback": _CALLBACK.get()}


@contextlib.contextmanager
def config_context(
    *, executor: Executor | None = _UNCHANGED, callback: Observer | None = _UNCHANGED
) -> Iterator[None]:
    """Settings for the fits, predictions and model selections run inside the block.

    A setting that is not given keeps the value it has outside the block; one that is given
    replaces it inside the block (the value of an enclosing block comes back after it).

    Parameters
    ----------
    executor : Executor or None
        Where E-steps run (:class:`emkit.execution.executor.Executor`); an estimator's
        ``n_jobs`` then no longer applies. None: this machine's threads.
    callback : callable or None
        ``callback(info)`` with an :class:`emkit.IterationInfo` after every E-step of every
        fit inside the block (restarts, iterations, the bound and its change, the rows the
        E-step read), in addition to the callback of the fit itself, and on the thread that
        runs the fit; not for the fits an initialisation runs to find a start (the k-means
        of ``init_params='kmeans'``). It watches: what it returns is ignored, so it cannot
        stop a fit (raising ``KeyboardInterrupt`` interrupts it as Ctrl-C does). None: no
        callback.

    Raises
    ------
    TypeError
        For an executor that is not an Executor, or a callback that is not callable.

    Examples
    --------
    >>> import emkit
    >>> from emkit.execution.executor import ThreadExecutor
    >>> with emkit.config_context(executor=ThreadExecutor(n_jobs=1)):
    ...     pass  # every fit in here runs on the calling thread
    >>> seen = []
    >>> with emkit.config_context(callback=seen.append):
    ...     pass  # every E-step of every fit in here appends its IterationInfo
    """
    tokens = []
    if executor is not _UNCHANGED:
        from emkit.execution.executor import Executor

        if executor is not None and not isinstance(executor, Executor):
            raise TypeError(
                f"executor must be an emkit.execution.executor.Executor or None, got {executor!r}"
            )
    if callback is not _UNCHANGED and callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None, got {callback!r}")
    if executor is not _UNCHANGED:
        tokens.append((_EXECUTOR, _EXECUTOR.set(executor)))
    if callback is not _UNCHANGED:
        tokens.append((_CALLBACK, _CALLBACK.set(callback)))
    try:
        yield
    finally:
        for variable, token in reversed(tokens):
            variable.reset(token)


def executor_for(n_jobs: int | None, source: RowSource | None = None) -> Executor:
    """The executor of a fit whose estimator asks for ``n_jobs`` threads: the one set by
    :func:`config_context`, else the one where ``source``'s rows live
    (:meth:`~emkit.execution.sources.RowSource.home`: a dask collection's cluster), else
    threads."""
    configured = _EXECUTOR.get()
    if configured is not None:
        return configured
    home = None if source is None else source.home()
    if home is not None:
        return home
    from emkit.execution.executor import ThreadExecutor

    return ThreadExecutor(n_jobs)


def observer() -> Observer | None:
    """The callback :func:`config_context` sets for the fits of its block, or None."""
    return _CALLBACK.get()
