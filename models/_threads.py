"""BLAS threads for small dense algebra (``threadpoolctl``).

The risk models and a backtest's loop multiply and factor small matrices (500 names × a
few hundred dates × a dozen factors): milliseconds of work that a multi-threaded BLAS
splits into pieces too small to pay for the hand-off. When other work shares the cores,
those threads wait on each other and the run is several times slower than on one thread
(issue 13: a 10-year backtest took 43–50 s with two BLAS threads under load, 18.8 s with
one). :func:`blas_threads` caps the BLAS thread pools for a block; :func:`small_problem_threads`
is the cap for dense algebra on a returns window: one thread below
:data:`SMALL_PROBLEM_ELEMENTS`, otherwise BLAS's own setting. Thin algebra — a dozen factors
against thousands of names, the factor models' products, QR and ARPACK matrix-vector
products — runs on :data:`THIN_ALGEBRA_THREADS` at every size: it is memory-bound, so a
second thread gains little on a quiet machine and costs 5–20× when the cores are shared
(measured at 3,000 names under load: regressions 15 ms vs 320 ms, PCA 0.07 s vs 0.4–1.8 s).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import ThreadpoolController

__all__ = ["SMALL_PROBLEM_ELEMENTS", "THIN_ALGEBRA_THREADS", "blas_threads", "small_problem_threads"]

#: BLAS threads for thin algebra (n × k with k a few dozen at most), whatever n.
THIN_ALGEBRA_THREADS = 1

#: Largest returns window (dates × assets) whose algebra runs on one BLAS thread: 3 years ×
#: 2,000 names. Above it (e.g. 10,000 names) the products are large enough to share out.
SMALL_PROBLEM_ELEMENTS = 756 * 2_000

_CONTROLLER: list[ThreadpoolController] = []  # created on first use (enumerating libraries costs ~10 ms)


def _controller() -> ThreadpoolController:
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0]


@contextmanager
def blas_threads(limit: int | None) -> Iterator[None]:
    """Cap the BLAS thread pools at ``limit`` threads inside the block (no cap when None).

    Cheap to enter (tens of microseconds); the previous settings are restored on exit.
    The cap is process-wide while the block runs.
    """
    if limit is None:
        yield
        return
    with _controller().limit(limits=int(limit), user_api="blas"):
        yield


def small_problem_threads(n_dates: int, n_assets: int) -> int | None:
    """The BLAS thread cap for algebra on a ``n_dates × n_assets`` window: 1 if small, else None (no cap)."""
    return 1 if int(n_dates) * int(n_assets) <= SMALL_PROBLEM_ELEMENTS else None
