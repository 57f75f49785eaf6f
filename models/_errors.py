"""Error types shared by every trimtab package.

Each error names what failed (file, field, asset, constraint) and what to try.
They subclass ``ValueError`` or ``RuntimeError`` so generic handlers still work.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


class TrimtabError(Exception):
    """Base class of every error trimtab raises on purpose."""


class DataError(TrimtabError, ValueError):
    """Input data is missing, malformed or inconsistent (files, returns, weights)."""


def nonfinite_cells(
    values: np.ndarray, label: Callable[[int, int], str], *, limit: int | None = None
) -> tuple[int, list[str]]:
    """Count the missing or non-finite cells of a 2-D array and label the first ``limit``.

    Parameters
    ----------
    values : np.ndarray
        A 2-D float array (dates × assets, assets × factors, …).
    label : callable
        ``(row, column) -> str`` describing one cell, e.g. ``"SP001 on 2026-01-05"``.
    limit : int, optional
        How many cells to label (all when None).

    Returns
    -------
    (int, list of str)
        The number of bad cells and the labels, in row-major order.
    """
    finite = np.isfinite(values)
    if finite.all():
        return 0, []
    rows, cols = np.nonzero(~finite)
    return len(rows), [label(int(r), int(c)) for r, c in zip(rows[:limit], cols[:limit])]
