"""Characteristics scored on arrays (many dates at once) equal the per-date pandas computation,
kept here as the reference; the cross-sections of ragged dates and the errors too."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trimtab.models import COMPOSITES, build_characteristics, composite_score, standardize, winsorize
from trimtab.models._characteristics import (
    characteristics_over,
    cross_section_quantiles,
    standardize_array,
    winsorize_array,
)
from trimtab.models._errors import DataError

DESCRIPTORS = [d for parts in COMPOSITES.values() for d in parts]


# ----------------------------------------------------------------------------- the reference (the old code)


def ref_winsorize(values: pd.Series, quantiles=(0.01, 0.99)) -> pd.Series:
    lo, hi = values.quantile(list(quantiles))
    return values.clip(lower=lo, upper=hi)


def ref_standardize(values: pd.Series, benchmark_weights: pd.Series) -> pd.Series:
    x = values.astype(float)
    present = x.notna()
    if present.sum() < 2:
        raise DataError(f"characteristic {values.name!r}: fewer than two assets have a value")
    w = benchmark_weights.reindex(x.index).fillna(0.0)[present]
    mean = float(np.average(x[present], weights=w)) if w.sum() > 0 else float(x[present].mean())
    std = float(x[present].std(ddof=0))
    if not np.isfinite(std) or std <= 0:
        raise DataError(f"characteristic {values.name!r}: has no cross-sectional dispersion")
    z = ((x - mean) / std).fillna(0.0)
    z -= float(np.average(z, weights=benchmark_weights.reindex(z.index).fillna(0.0)))
    return z / float(z.std(ddof=0))


def ref_build(fundamentals: pd.DataFrame, weights: pd.Series, extra_columns=()) -> pd.DataFrame:
    out = {}
    for name, parts in COMPOSITES.items():
        if name in fundamentals.columns:
            out[name] = ref_standardize(ref_winsorize(fundamentals[name]), weights)
        elif all(d in fundamentals.columns for d in parts):
            scores = pd.DataFrame({d: s * ref_standardize(ref_winsorize(fundamentals[d]), weights) for d, s in parts.items()})
            out[name] = ref_standardize(scores.mean(axis=1), weights)
    for column in (*DESCRIPTORS, *extra_columns):
        if column in fundamentals.columns and column not in out:
            out[column] = ref_standardize(ref_winsorize(fundamentals[column]), weights)
    return pd.DataFrame(out, index=fundamentals.index)


def random_fundamentals(rng: np.random.Generator, n: int, missing: float = 0.1) -> tuple[pd.DataFrame, pd.Series]:
    ids = pd.Index([f"A{i:04d}" for i in range(n)])
    table = pd.DataFrame(rng.standard_t(3, (n, len(DESCRIPTORS) + 1)), index=ids, columns=[*DESCRIPTORS, "momentum"])
    table = table.mask(rng.random(table.shape) < missing)
    weights = pd.Series(rng.lognormal(0, 2, n), index=ids)
    weights[rng.random(n) < 0.2] = 0.0
    return table, weights / weights.sum()


# ----------------------------------------------------------------------------- one date


@pytest.mark.parametrize("seed", range(12))
def test_build_characteristics_equals_the_pandas_reference(seed):
    rng = np.random.default_rng(seed)
    table, weights = random_fundamentals(rng, int(rng.integers(6, 400)))
    if seed % 3 == 0:
        table = table.drop(columns="leverage")  # no quality composite; its other descriptors stay
    if seed % 4 == 0:
        table["value"] = rng.normal(size=len(table))  # a ready-made score, re-standardized
    expected = ref_build(table, weights, extra_columns=("momentum",))
    got = build_characteristics(table, weights, extra_columns=("momentum",))
    assert list(got.columns) == list(expected.columns) and got.index.equals(expected.index)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-12)
    assert np.allclose(weights @ got, 0.0, atol=1e-12) and np.allclose(got.std(ddof=0), 1.0)


def test_pandas_wrappers_equal_the_reference():
    rng = np.random.default_rng(5)
    table, weights = random_fundamentals(rng, 300)
    x = table["momentum"].rename("momentum")
    pd.testing.assert_series_equal(winsorize(x), ref_winsorize(x), rtol=0, atol=1e-15)
    pd.testing.assert_series_equal(standardize(x, weights), ref_standardize(x, weights), rtol=0, atol=1e-12)
    got = composite_score(table, COMPOSITES["quality"], weights)
    parts = {d: s * ref_standardize(ref_winsorize(table[d]), weights) for d, s in COMPOSITES["quality"].items()}
    np.testing.assert_allclose(got, ref_standardize(pd.DataFrame(parts).mean(axis=1), weights), atol=1e-12)


def test_quantiles_are_numpys_on_the_present_members():
    rng = np.random.default_rng(2)
    values = rng.normal(size=(7, 50))
    values[rng.random(values.shape) < 0.2] = np.nan
    members = rng.random(values.shape) < 0.8
    got = cross_section_quantiles(values, (0.01, 0.5, 0.99), members)
    for i in range(7):
        kept = values[i][members[i] & ~np.isnan(values[i])]
        np.testing.assert_allclose(got[:, i], np.quantile(kept, [0.01, 0.5, 0.99]), rtol=0, atol=1e-15)
    assert np.isnan(cross_section_quantiles(np.full((1, 4), np.nan), (0.5,))).all()
    np.testing.assert_array_equal(winsorize_array(np.full(4, np.nan)), np.full(4, np.nan))  # nothing to clip to


def test_errors_name_the_characteristic():
    weights = np.full(5, 0.2)
    with pytest.raises(DataError, match="characteristic 'book_to_price': fewer than two assets have a value"):
        standardize_array(np.array([1.0, np.nan, np.nan, np.nan, np.nan]), weights, names="book_to_price")
    with pytest.raises(DataError, match="characteristic 'leverage': has no cross-sectional dispersion"):
        standardize_array(np.array([[1.0, 2, 3, 4, 5], [2.0, 2, 2, 2, 2]]), weights, names=np.array(["x", "leverage"]))
    with pytest.raises(DataError, match="the benchmark holds none"):
        standardize_array(np.arange(5.0), np.zeros(5), names="size")


# ----------------------------------------------------------------------------- many dates


def test_many_dates_at_once_equal_each_date_alone():
    """Dates with their own benchmark weights and cross-sections (ragged: names missing some days)."""
    rng = np.random.default_rng(9)
    table, _ = random_fundamentals(rng, 120)
    dates = 15
    weights = rng.lognormal(0, 1, (dates, len(table)))
    members = rng.random(weights.shape) < 0.9
    members[::3] = members[0]  # some dates share a cross-section (winsorized once for them)
    weights = np.where(members, weights, 0.0)
    weights /= weights.sum(axis=1, keepdims=True)
    names, scores = characteristics_over(table, weights, members, extra_columns=("momentum",))
    assert scores.shape == (dates, len(names), len(table))
    for d in range(dates):
        keep = members[d]
        expected = ref_build(table[keep], pd.Series(weights[d][keep], index=table.index[keep]), ("momentum",))
        assert list(expected.columns) == names
        np.testing.assert_allclose(scores[d][:, keep].T, expected.to_numpy(), rtol=0, atol=1e-12)
        assert np.isnan(scores[d][:, ~keep]).all()


def test_no_characteristics_give_an_empty_table():
    table = pd.DataFrame({"other": [1.0, 2.0]}, index=["A", "B"])
    names, scores = characteristics_over(table, np.full((3, 2), 0.5))
    assert names == [] and scores.shape == (3, 0, 2)
    assert build_characteristics(table, pd.Series([0.5, 0.5], index=["A", "B"])).shape == (2, 0)
