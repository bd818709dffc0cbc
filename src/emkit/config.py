"""Settings that hold for every fit in a context, as scikit-learn's ``config_context``.

The executor is chosen here rather than by a parameter of every estimator: the same
estimator runs on this machine's threads by default, and on another executor (a Dask
cluster, say) inside ``with emkit.config_context(executor=...)``. Settings are context-local
(``contextvars``): threads and tasks started inside the context see them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emkit.execution.executor import Executor

_EXECUTOR: ContextVar[Executor | None] = ContextVar("emkit_executor", default=None)


def get_config() -> dict[str, Any]:
    """The settings in force: ``{'executor': Executor or None}`` (None: threads, as many as
    each estimator's ``n_jobs`` says)."""
    return {"executor": _EXECUTOR.get()}


@contextlib.contextmanager
def config_context(*, executor: Executor | None = None) -> Iterator[None]:
    """Settings for the fits, predictions and model selections run inside the block.

    Parameters
    ----------
    executor : Executor or None
        Where E-steps run (:class:`emkit.execution.executor.Executor`); an estimator's
        ``n_jobs`` then no longer applies. None: this machine's threads.

    Examples
    --------
    >>> import emkit
    >>> from emkit.execution.executor import ThreadExecutor
    >>> with emkit.config_context(executor=ThreadExecutor(n_jobs=1)):
    ...     pass  # every fit in here runs on the calling thread
    """
    from emkit.execution.executor import Executor

    if executor is not None and not isinstance(executor, Executor):
        raise TypeError(
            f"executor must be an emkit.execution.executor.Executor or None, got {executor!r}"
        )
    token = _EXECUTOR.set(executor)
    try:
        yield
    finally:
        _EXECUTOR.reset(token)


def executor_for(n_jobs: int | None) -> Executor:
    """The executor of a fit whose estimator asks for ``n_jobs`` threads: the one set by
    :func:`config_context`, else threads."""
    configured = _EXECUTOR.get()
    if configured is not None:
        return configured
    from emkit.execution.executor import ThreadExecutor

    return ThreadExecutor(n_jobs)
