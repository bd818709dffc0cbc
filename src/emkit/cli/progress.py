"""The progress of ``emkit fit`` on standard error: a bar (tqdm) updated after every E-step
of the fit, through the callback of :func:`emkit.config_context`, so that no estimator needs
a parameter for it.

The bar shows the restart, the iterations done of ``max_iter``, the bound (the mean
log-likelihood per sample, or what the model maximises) and its last change, the rows read
per second, and the time left were every restart to run ``max_iter`` iterations: at most
that, since a fit usually converges earlier.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from types import TracebackType
from typing import IO, Any

__all__ = ["FitProgress", "wanted"]

_BAR_FORMAT = (
    "{desc}: iteration {n_fmt}/{total_fmt} |{bar}| [{elapsed}, at most {remaining} left{postfix}]"
)


def wanted(progress: bool | None, quiet: bool, stream: IO[str]) -> bool:
    """Whether to show the bar: ``--progress`` (True) or ``--no-progress`` (False), else
    when ``stream`` is a terminal; never with ``--quiet``."""
    if quiet:
        return False
    if progress is not None:
        return progress
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


class FitProgress:
    """Watches the fits run within it (``with FitProgress(...):``), as the callback of
    :func:`emkit.config_context`: it keeps the last E-step's
    :class:`~emkit.core.driver.IterationInfo` (:attr:`last`, where an interrupted fit
    stopped) and, when ``show``, draws the bar on ``stream``.

    Parameters
    ----------
    n_init : int
        Restarts of the fit.
    max_iter : int
        Most iterations of one restart.
    show : bool
        Whether to draw the bar.
    stream : file, optional
        Where the bar goes (default: standard error, as it is when the fit starts).
    """

    def __init__(
        self, n_init: int, max_iter: int, *, show: bool, stream: IO[str] | None = None
    ) -> None:
        self.n_init, self.max_iter, self.show = n_init, max_iter, show
        self.stream = stream
        self.last: Any = None
        self._bar: Any = None
        self._run = -1
        self._since = time.perf_counter()
        self._context = contextlib.ExitStack()

    def __enter__(self) -> FitProgress:
        from emkit.config import config_context

        self._since = time.perf_counter()
        self._context.enter_context(config_context(callback=self))
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._context.close()
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __call__(self, info: Any) -> None:
        now = time.perf_counter()
        elapsed, self._since = now - self._since, now
        self.last = info
        if not self.show:
            return
        description = f"run {info.run + 1}/{self.n_init}"
        postfix = _postfix(info, elapsed)
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(
                desc=description,
                total=self.max_iter,
                file=self.stream if self.stream is not None else sys.stderr,
                bar_format=_BAR_FORMAT,
                dynamic_ncols=True,
                leave=True,
                postfix=postfix,
            )
            self._run = info.run
        bar = self._bar
        bar.set_description_str(description, refresh=False)
        bar.set_postfix_str(postfix, refresh=False)
        if info.run != self._run:
            # Every restart runs up to max_iter iterations of its own: the bar starts again.
            self._run = info.run
            bar.reset(total=self.max_iter)
        bar.update(info.n_iter - bar.n)

    def interruption(self) -> tuple[int, int] | None:
        """The iteration (M-steps) and restart (from 1) of the last E-step seen, None before
        the first."""
        if self.last is None:
            return None
        return int(self.last.n_iter), int(self.last.run) + 1


def _postfix(info: Any, elapsed: float) -> str:
    """The bound, its change and the rows per second of one E-step that ``elapsed``
    seconds ended after the previous one."""
    from tqdm import tqdm

    change = "-" if math.isnan(info.change) else f"{info.change:+.3g}"
    text = f"bound {info.lower_bound:.6g}, change {change}"
    # The first E-step of a restart follows its initialisation, which it did not read for.
    if info.n_iter > 0 and elapsed > 0 and math.isfinite(info.weight):
        text += f", {tqdm.format_sizeof(info.weight / elapsed)} rows/s"
    return text
