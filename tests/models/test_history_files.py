"""Histories from files: a ragged universe walked through time, a point-in-time benchmark, and
nothing demanded (caps, prices) that nothing uses."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trimtab.models import DataError, MarketHistory, load_history

_spec = importlib.util.spec_from_file_location("trimtab_tests_ragged_files", Path(__file__).with_name("ragged_files.py"))
ragged = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ragged)
IDS, DATES, LATE, GONE = ragged.IDS, ragged.DATES, ragged.LATE, ragged.GONE


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    return ragged.write_ragged(tmp_path_factory.mktemp("ragged"), suffix=".csv.gz")


@pytest.fixture(scope="module")
def history(files) -> MarketHistory:
    return load_history(files["universe"], files["returns"], benchmark_weights=files["benchmark"])


def test_the_universe_follows_listings_and_delistings(history):
    before, after = DATES[ragged.LATE_FIRST - 1], DATES[ragged.GONE_LAST + 1]
    assert LATE not in history.snapshot(before, window=200).asset_ids
    assert GONE in history.snapshot(before, window=200).asset_ids
    late = history.snapshot(DATES[ragged.LATE_FIRST + 30], window=200)
    assert LATE in late.asset_ids and late.short_history == (LATE,) and late.history_days[LATE] == 31
    assert GONE not in history.snapshot(after, window=200).asset_ids
    steady = history.snapshot(DATES[300], window=200)  # nobody listed inside this window
    assert steady.short_history == () and steady.history_days is None and steady.n_assets == 23
    for snap in (late, steady):
        assert np.isfinite(snap.returns.to_numpy()).all() and snap.benchmark_weights.sum() == pytest.approx(1.0)
        assert list(snap.characteristics.index) == list(snap.asset_ids)
        assert abs(float(snap.characteristics["book_to_price"] @ snap.benchmark_weights)) < 1e-12


def test_the_point_in_time_benchmark_is_the_last_file_date_drifted(history, files):
    file = pd.read_csv(files["benchmark"], parse_dates=["date"])
    returns = ragged.ragged_returns()
    day = DATES[333]
    last = file.loc[file["date"] <= day, "date"].max()
    rows = file[file["date"] == last].set_index("asset_id")["weight"]
    grown = rows * (1.0 + returns.loc[(returns.index > last) & (returns.index <= day), rows.index]).prod()
    expected = (grown / grown.sum()).reindex(IDS, fill_value=0.0)
    np.testing.assert_allclose(history.benchmark_weights_at(day), expected, rtol=1e-10, atol=1e-15)
    assert history.benchmark_weights_at(DATES[ragged.GONE_LAST])[GONE] == 0  # dropped at the close of its last day


def test_without_a_benchmark_file_the_universe_weights_drift_back_over_the_names_that_trade(files):
    history = load_history(files["universe"], files["returns"])
    w = history.benchmark_weights_at(DATES[100])
    assert w[LATE] == 0 and w.sum() == pytest.approx(1.0)  # LATE has not listed yet
    final = ragged.universe().set_index("asset_id")["benchmark_weight"]
    growth = (1.0 + ragged.ragged_returns().fillna(0.0)).iloc[101:].prod()
    expected = (final / growth).where(lambda x: x.index != LATE, 0.0)
    np.testing.assert_allclose(w, expected / expected.sum(), rtol=1e-10)


def test_caps_and_prices_are_optional_until_something_needs_them(tmp_path, files):
    bare = ragged.universe(caps=False).drop(columns=["price"])
    bare.to_csv(tmp_path / "bare.csv", index=False)
    history = load_history(tmp_path / "bare.csv", files["returns"], benchmark_weights=files["benchmark"])
    snap = history.snapshot(DATES[400], window=126)
    assert snap.assets["market_cap"].isna().all() and snap.assets["price"].isna().all()
    assert "size" not in snap.characteristics  # no caps, no size
    with pytest.raises(DataError, match="no 'market_cap' column"):
        history.market_caps_at(DATES[400])
    with pytest.raises(DataError, match="no 'market_cap' column"):
        snap.market_caps
    no_benchmark = bare.drop(columns="benchmark_weight")
    no_benchmark.to_csv(tmp_path / "none.csv", index=False)
    with pytest.raises(DataError, match="market_cap and/or benchmark_weight"):
        load_history(tmp_path / "none.csv", files["returns"])
    assets = no_benchmark.set_index("asset_id").sort_index()
    with pytest.raises(DataError, match="no 'market_cap' column"):  # a cap-weighted benchmark needs caps
        MarketHistory("bare", assets, ragged.ragged_returns())


def test_a_benchmark_file_that_does_not_overlap_the_returns_names_both_spans(tmp_path, files):
    frame = pd.read_csv(files["benchmark"])
    frame = frame[frame["date"] == frame["date"].iloc[0]].assign(date="2030-06-28")
    frame.to_csv(tmp_path / "later.csv", index=False)
    with pytest.raises(DataError) as info:
        load_history(files["universe"], files["returns"], benchmark_weights=tmp_path / "later.csv")
    message = str(info.value)
    assert str(tmp_path / "later.csv") in message and "2030-06-28" in message and str(DATES[-1].date()) in message
