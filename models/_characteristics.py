"""Value and quality composites as benchmark-relative z-scores (σ units).

Each descriptor is winsorized, then standardized so that its cap-weighted (benchmark)
mean is 0 and its equal-weighted cross-sectional standard deviation is 1. A composite is
the mean of its signed descriptor scores, standardized again the same way. An active
exposure of +0.25 therefore means "+0.25 σ versus the index".
"""

from __future__ import annotations

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


def winsorize(values: pd.Series, quantiles: tuple[float, float] = WINSOR_QUANTILES) -> pd.Series:
    """Clip a descriptor to its cross-sectional quantiles (missing values stay missing)."""
    lo, hi = values.quantile(list(quantiles))
    return values.clip(lower=lo, upper=hi)


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
    x = values.astype(float)
    present = x.notna()
    if present.sum() < 2:
        raise DataError(f"characteristic {values.name!r}: fewer than two assets have a value")
    w = benchmark_weights.reindex(x.index).fillna(0.0)[present]
    x_present = x[present]
    mean = float(np.average(x_present, weights=w)) if w.sum() > 0 else float(x_present.mean())
    std = float(x_present.std(ddof=0))
    if not np.isfinite(std) or std <= 0:
        raise DataError(f"characteristic {values.name!r}: has no cross-sectional dispersion")
    z = (x - mean) / std
    # Missing → benchmark exposure; re-centre so the cap-weighted mean stays exactly 0.
    z = z.fillna(0.0)
    z -= float(np.average(z, weights=benchmark_weights.reindex(z.index).fillna(0.0)))
    return z / float(z.std(ddof=0))


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
    scores = pd.DataFrame(
        {
            name: sign * standardize(winsorize(fundamentals[name], quantiles), benchmark_weights)
            for name, sign in descriptors.items()
        }
    )
    return standardize(scores.mean(axis=1), benchmark_weights)


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
    out: dict[str, pd.Series] = {}
    for name, descriptors in COMPOSITES.items():
        if name in fundamentals.columns:
            out[name] = standardize(winsorize(fundamentals[name]), benchmark_weights)
        elif all(d in fundamentals.columns for d in descriptors):
            out[name] = composite_score(fundamentals, descriptors, benchmark_weights)
    descriptor_names = [d for group in COMPOSITES.values() for d in group]
    for column in (*descriptor_names, *extra_columns):
        if column in fundamentals.columns and column not in out:
            out[column] = standardize(winsorize(fundamentals[column]), benchmark_weights)
    return pd.DataFrame(out, index=fundamentals.index)
