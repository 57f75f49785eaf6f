"""A history scores the characteristics of many dates in one pass (``characteristics_on``) and
reuses them in its snapshots: the same tables as the per-date pandas computation (the reference
of ``test_characteristics``), on a steady and on a ragged history with a point-in-time benchmark;
counted, not timed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trimtab.models import MarketHistory, load_history, load_synthetic_history
from trimtab.models import _characteristics, _history


def _helper(name: str):
    spec = importlib.util.spec_from_file_location(f"trimtab_tests_{name}", Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


reference = _helper("test_characteristics")
ragged = _helper("ragged_files")


def reference_table(history: MarketHistory, date: pd.Timestamp) -> pd.DataFrame:
    """The old per-date computation: pandas winsorize/standardize over the names that trade on ``date``."""
    trading = history.trading_at(date).to_numpy()
    weights = history.benchmark_weights_at(date)[trading]
    table = reference.ref_build(history.assets[trading], weights, tuple(history.characteristic_columns))
    if not history.assets["market_cap"].isna().any():
        caps = history.market_caps_at(date)[trading]
        table["size"] = reference.ref_standardize(reference.ref_winsorize(np.log(caps).rename("size")), weights)
    return table


@pytest.fixture(scope="module")
def steady() -> MarketHistory:
    return load_synthetic_history(7, years=7)


@pytest.fixture(scope="module")
def ragged_history(tmp_path_factory) -> MarketHistory:
    files = ragged.write_ragged(tmp_path_factory.mktemp("ragged"))
    return load_history(files["universe"], files["returns"], benchmark_weights=files["benchmark"])


def month_ends(history: MarketHistory, first: int) -> pd.DatetimeIndex:
    dates = history.dates[first:]
    return pd.DatetimeIndex(pd.Series(dates, index=dates).groupby(dates.to_period("M")).max().to_numpy())


def assert_same_tables(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(got.columns) == list(expected.columns) and got.index.equals(expected.index)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("which", ["steady", "ragged_history"])
def test_many_dates_at_once_equal_the_per_date_reference(which, request):
    history = request.getfixturevalue(which)
    dates = month_ends(history, first=len(history.dates) - 400)
    tables = history.characteristics_on(dates)
    assert list(tables) == list(dates)
    for date in dates:
        assert_same_tables(tables[date], reference_table(history, date))
        assert_same_tables(history.snapshot(date, 200).characteristics, tables[date])


def test_ragged_dates_have_their_own_cross_sections(ragged_history):
    before, listed, delisted = (ragged.DATES[i] for i in (ragged.LATE_FIRST - 5, ragged.LATE_FIRST + 5, ragged.GONE_LAST + 5))
    tables = ragged_history.characteristics_on([before, listed, delisted])
    assert ragged.LATE not in tables[before].index and ragged.GONE in tables[before].index
    assert ragged.LATE in tables[listed].index and ragged.GONE in tables[listed].index
    assert ragged.LATE in tables[delisted].index and ragged.GONE not in tables[delisted].index
    for date, table in tables.items():
        weights = ragged_history.benchmark_weights_at(date)[table.index]
        np.testing.assert_allclose(weights @ table, 0.0, atol=1e-12)  # benchmark exposure 0 on every date


def test_a_backtests_dates_are_scored_once_and_reused(monkeypatch):
    history = load_synthetic_history(7, years=7)
    calls, winsorized = [], []
    original, original_winsorize = _history.characteristics_over, _characteristics.winsorize_array

    def counting(raw, weights, members=None, **kwargs):
        calls.append(len(weights))
        return original(raw, weights, members, **kwargs)

    def counting_winsorize(values, *args, **kwargs):
        winsorized.append(np.shape(values)[:-1])
        return original_winsorize(values, *args, **kwargs)

    monkeypatch.setattr(_history, "characteristics_over", counting)
    monkeypatch.setattr(_characteristics, "winsorize_array", counting_winsorize)
    dates = month_ends(history, first=len(history.dates) - 500)
    history.characteristics_on(dates)
    # one pass for every date; the fixed fundamentals winsorized once (every date trades the same names)
    assert calls == [len(dates)]
    assert winsorized[0] == (1, 7)  # (distinct cross-sections, descriptors)
    for date in dates:
        history.snapshot(date, 252)
    history.characteristics_on(dates[:3])
    assert calls == [len(dates)]  # nothing computed again
    history.characteristics_at(history.dates[-2])  # a date not scored ahead: computed alone
    assert calls == [len(dates), 1]


def test_the_memo_hands_out_copies(steady):
    date = steady.dates[-30]
    first = steady.characteristics_on([date])[date]
    first.iloc[:, :] = 99.0
    assert (steady.characteristics_at(date).to_numpy() != 99.0).all()
