"""Value and quality composites as benchmark-relative z-scores (σ units).

Each descriptor is winsorized, then standardized so that its cap-weighted (benchmark)
mean is 0 and its equal-weighted cross-sectional standard deviation is 1. A composite is
the mean of its signed descriptor scores, standardized again the same way. An active
exposure of +0.25 therefore means "+0.25 σ versus the index".

The arithmetic is done on arrays whose last axis is the assets and whose leading axes are
anything else — dates, descriptors — so many dates are scored in one pass
(:func:`characteristics_over`, used by :class:`~trimtab.models.MarketHistory`) with no
per-date pandas work. ``members`` marks the cross-section of each row (the names that
trade that day); a value outside it is ignored, a missing value inside it (NaN) is scored
0, the benchmark's exposure. The pandas functions (:func:`winsorize`, :func:`standardize`,
:func:`composite_score`, :func:`build_characteristics`) are one-row cases of the same code.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._errors import DataError

#: Raw fundamentals behind the value composite and the sign each enters with.
VALUE_DESCRIPTORS: dict[str, int] = {
    "book_to_price": +1,
    "earnings_yield": +1,
    "cash_flow_yield": +1,
}

#: Raw fundamentals behind the quality composite and the sign each enters with.
QUALITY_DESCRIPTORS: dict[str, int] = {
    "return_on_equity": +1,
    "gross_profitability": +1,
    "leverage": -1,
    "earnings_variability": -1,
}

#: Composite name → its descriptors.
COMPOSITES: dict[str, dict[str, int]] = {"value": VALUE_DESCRIPTORS, "quality": QUALITY_DESCRIPTORS}

#: Default winsorization quantiles (fractions).
WINSOR_QUANTILES = (0.01, 0.99)

# ----------------------------------------------------------------------------- arrays


def _members(values: np.ndarray, members: np.ndarray | None) -> np.ndarray:
    if members is None:
        return np.ones(values.shape, dtype=bool)
    return np.broadcast_to(np.asarray(members, dtype=bool), values.shape)


def cross_section_quantiles(
    values: np.ndarray, quantiles: Sequence[float], members: np.ndarray | None = None
) -> np.ndarray:
    """Quantiles over the last axis of the present members, NaN where none is present.

    Linear interpolation between order statistics, as ``np.quantile`` (and pandas'
    ``Series.quantile``) compute it; shape ``(len(quantiles), *values.shape[:-1])``.
    """
    x = np.asarray(values, dtype=float)
    present = _members(x, members) & ~np.isnan(x)
    ordered = np.sort(np.where(present, x, np.nan), axis=-1)  # NaN sorts last
    count = present.sum(axis=-1)
    last = np.maximum(count - 1, 0)[None]
    q = np.asarray(quantiles, dtype=float).reshape((-1,) + (1,) * (x.ndim - 1))
    virtual = last * q
    below = np.floor(virtual)
    gamma = virtual - below
    lo = np.minimum(below.astype(np.intp), last)
    hi = np.minimum(lo + 1, last)
    stacked = np.broadcast_to(ordered, (q.shape[0], *ordered.shape))
    a = np.take_along_axis(stacked, lo[..., None], axis=-1)[..., 0]
    b = np.take_along_axis(stacked, hi[..., None], axis=-1)[..., 0]
    diff = b - a
    result = np.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma)  # numpy's _lerp
    return np.where(count[None] > 0, result, np.nan)


def winsorize_array(
    values: np.ndarray, quantiles: tuple[float, float] = WINSOR_QUANTILES, members: np.ndarray | None = None
) -> np.ndarray:
    """Clip each row (last axis) to the quantiles of its present members; NaN stays NaN."""
    x = np.asarray(values, dtype=float)
    lo, hi = cross_section_quantiles(x, quantiles, members)
    return np.clip(x, np.where(np.isnan(lo), -np.inf, lo)[..., None], np.where(np.isnan(hi), np.inf, hi)[..., None])


def standardize_array(
    values: np.ndarray, weights: np.ndarray, members: np.ndarray | None = None, *, names: object = None
) -> np.ndarray:
    """Z-scores over the last axis: benchmark-weighted mean 0, equal-weighted std 1 over the members.

    Per row: the mean is weighted by ``weights`` over the present values (equal weights if
    they hold none of them), the scale is the equal-weighted std (ddof 0) of the present
    values; a missing member then scores 0 (the benchmark's exposure) and the row is
    re-centred (weighted mean exactly 0) and rescaled (std 1 over the members). Outside
    the members the result is NaN.

    Parameters
    ----------
    values : np.ndarray, shape (..., n)
        Raw values, NaN where missing.
    weights : np.ndarray, broadcastable to ``values``
        Benchmark weights (fractions, ≥ 0; held by members only).
    members : np.ndarray of bool, broadcastable to ``values``, optional
        The cross-section of each row; all assets when None.
    names : str or array of str, broadcastable to ``values.shape[:-1]``
        What each row is, for error messages.

    Raises
    ------
    DataError
        For a row with fewer than two values or no dispersion, naming it.
    """
    x = np.asarray(values, dtype=float)
    member = _members(x, members)
    w = np.where(member, np.broadcast_to(np.asarray(weights, dtype=float), x.shape), 0.0)
    present = member & ~np.isnan(x)
    count = present.sum(axis=-1, keepdims=True)
    _refuse(count[..., 0] < 2, names, "fewer than two assets have a value")
    w_present = np.where(present, w, 0.0)
    x_present = np.where(present, x, 0.0)
    w_total = w_present.sum(axis=-1, keepdims=True)
    weighted_mean = (x_present * w_present).sum(axis=-1, keepdims=True) / np.where(w_total > 0, w_total, 1.0)
    mean = np.where(w_total > 0, weighted_mean, x_present.sum(axis=-1, keepdims=True) / count)
    plain_mean = x_present.sum(axis=-1, keepdims=True) / count
    std = np.sqrt((np.where(present, x - plain_mean, 0.0) ** 2).sum(axis=-1, keepdims=True) / count)
    _refuse(~(np.isfinite(std[..., 0]) & (std[..., 0] > 0)), names, "has no cross-sectional dispersion")
    z = np.where(present, (x - mean) / std, 0.0)
    held = w.sum(axis=-1, keepdims=True)
    _refuse(~(held[..., 0] > 0), names, "the benchmark holds none of the assets")
    z -= (z * w).sum(axis=-1, keepdims=True) / held
    z = np.where(member, z, 0.0)
    size = member.sum(axis=-1, keepdims=True)
    centred = np.where(member, z - z.sum(axis=-1, keepdims=True) / size, 0.0)
    scale = np.sqrt((centred**2).sum(axis=-1, keepdims=True) / size)
    return np.where(member, z / scale, np.nan)


def _refuse(bad: np.ndarray, names: object, problem: str) -> None:
    if np.any(bad):
        where = np.broadcast_to(np.asarray(names, dtype=object), np.shape(bad))[np.asarray(bad)]
        raise DataError(f"characteristic {where.flat[0]!r}: {problem}")


def characteristic_columns(columns: Sequence[str], extra_columns: Sequence[str] = ()) -> list[str]:
    """The characteristics :func:`build_characteristics` makes from a table with ``columns``, in order.

    The composites (``value``, ``quality``) that are given ready-made or whose descriptors
    are all present, then every descriptor present, then the present ``extra_columns``.
    """
    available = set(columns)
    out = [name for name, parts in COMPOSITES.items() if name in available or all(d in available for d in parts)]
    descriptors = [d for parts in COMPOSITES.values() for d in parts]
    for column in (*descriptors, *extra_columns):
        if column in available and column not in out:
            out.append(column)
    return out


def characteristics_over(
    raw: pd.DataFrame,
    weights: np.ndarray,
    members: np.ndarray | None = None,
    *,
    extra_columns: Sequence[str] = (),
    quantiles: tuple[float, float] = WINSOR_QUANTILES,
) -> tuple[list[str], np.ndarray]:
    """Characteristics of the same raw fundamentals against many benchmark weightings at once.

    Parameters
    ----------
    raw : pd.DataFrame, shape (n, ·)
        Raw fundamentals by asset (fixed).
    weights : np.ndarray, shape (D, n)
        Benchmark weights of each of ``D`` dates (fractions).
    members : np.ndarray of bool, shape (D, n), optional
        The names of each date's cross-section (the names that trade); all when None.
    extra_columns : sequence of str
        Further columns to standardize (see :func:`build_characteristics`).
    quantiles : (float, float)
        Winsorization quantiles.

    Returns
    -------
    names : list of str
        The characteristics (:func:`characteristic_columns`).
    scores : np.ndarray, shape (D, len(names), n)
        σ-unit scores; NaN outside each date's members.
    """
    weights = np.atleast_2d(np.asarray(weights, dtype=float))
    member = np.ones(weights.shape, dtype=bool) if members is None else np.atleast_2d(np.asarray(members, dtype=bool))
    names = characteristic_columns(list(raw.columns), extra_columns)
    if not names:
        return names, np.empty((weights.shape[0], 0, weights.shape[1]))
    singles = [c for c in names if c not in COMPOSITES or c in raw.columns]
    needed = list(dict.fromkeys(singles + [d for c in names if c not in singles for d in COMPOSITES[c]]))
    try:
        table = raw[needed].to_numpy(dtype=float).T  # (p, n)
    except (TypeError, ValueError) as exc:
        raise DataError(f"characteristics must be numeric fundamentals ({exc})") from None
    # Winsorizing depends only on the cross-section: once per distinct set of members.
    groups: dict[bytes, int] = {}
    which = np.array([groups.setdefault(row.tobytes(), len(groups)) for row in member], dtype=np.intp)
    distinct = member[np.unique(which, return_index=True)[1]]  # the members of each group, in group order
    winsorized = winsorize_array(np.broadcast_to(table, (len(distinct), *table.shape)), quantiles, distinct[:, None, :])
    scored = standardize_array(
        winsorized[which], weights[:, None, :], member[:, None, :], names=np.asarray(needed, dtype=object)
    )
    position = {c: i for i, c in enumerate(needed)}
    out = np.empty((weights.shape[0], len(names), weights.shape[1]))
    for i, name in enumerate(names):
        if name in singles:
            out[:, i] = scored[:, position[name]]
        else:
            parts = COMPOSITES[name]
            mean = sum(sign * scored[:, position[d]] for d, sign in parts.items()) / len(parts)
            out[:, i] = standardize_array(mean, weights, member, names=name)
    return names, out


# ----------------------------------------------------------------------------- pandas


def winsorize(values: pd.Series, quantiles: tuple[float, float] = WINSOR_QUANTILES) -> pd.Series:
    """Clip a descriptor to its cross-sectional quantiles (missing values stay missing)."""
    return pd.Series(winsorize_array(values.to_numpy(dtype=float), quantiles), index=values.index, name=values.name)


def standardize(values: pd.Series, benchmark_weights: pd.Series) -> pd.Series:
    """Z-score with benchmark (cap-weighted) mean 0 and equal-weighted std 1.

    Missing values are set to 0 (the benchmark's exposure) after standardizing.

    Parameters
    ----------
    values : pd.Series
        Raw descriptor by asset_id.
    benchmark_weights : pd.Series
        Benchmark weights by asset_id, fractions summing to 1.
    """
    weights = benchmark_weights.reindex(values.index).fillna(0.0).to_numpy(dtype=float)
    z = standardize_array(values.to_numpy(dtype=float), weights, names=values.name)
    return pd.Series(z, index=values.index, name=values.name)


def composite_score(
    fundamentals: pd.DataFrame,
    descriptors: dict[str, int],
    benchmark_weights: pd.Series,
    *,
    quantiles: tuple[float, float] = WINSOR_QUANTILES,
) -> pd.Series:
    """Mean of signed, winsorized, standardized descriptors, standardized again (σ units)."""
    missing = [d for d in descriptors if d not in fundamentals.columns]
    if missing:
        raise DataError(f"composite needs fundamentals column(s) {missing}")
    weights = benchmark_weights.reindex(fundamentals.index).fillna(0.0).to_numpy(dtype=float)
    names = list(descriptors)
    table = winsorize_array(fundamentals[names].to_numpy(dtype=float).T, quantiles)
    scored = standardize_array(table, weights, names=np.asarray(names, dtype=object))
    mean = sum(sign * scored[i] for i, sign in enumerate(descriptors.values())) / len(names)
    return pd.Series(standardize_array(mean, weights, names=None), index=fundamentals.index)


def build_characteristics(
    fundamentals: pd.DataFrame,
    benchmark_weights: pd.Series,
    *,
    extra_columns: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Standardized characteristics table: ``value``, ``quality`` and every descriptor.

    Composites whose descriptors are absent are skipped; a column already named ``value``
    or ``quality`` in ``fundamentals`` is taken as a ready-made score and re-standardized.

    Parameters
    ----------
    fundamentals : pd.DataFrame
        Raw fundamentals by asset_id (ratios as fractions, e.g. earnings yield 0.05).
    benchmark_weights : pd.Series
        Benchmark weights by asset_id.
    extra_columns : tuple of str
        Further numeric columns to standardize and include (e.g. user characteristics).

    Returns
    -------
    pd.DataFrame
        Indexed like ``fundamentals``; every column has benchmark exposure 0, std 1.
    """
    weights = benchmark_weights.reindex(fundamentals.index).fillna(0.0).to_numpy(dtype=float)
    names, scores = characteristics_over(fundamentals, weights[None], extra_columns=extra_columns)
    return pd.DataFrame(scores[0].T, index=fundamentals.index, columns=names)
