"""Facts about MarketHistory and the synthetic history: it ends in the embedded snapshot,
caps drift with returns, snapshots cut the right window."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trimtab.models import DataError, MarketHistory, load_synthetic_history, load_synthetic_sp500


@pytest.fixture(scope="module")
def history() -> MarketHistory:
    return load_synthetic_history(seed=7, years=8)


@pytest.fixture(scope="module")
def snapshot():
    return load_synthetic_sp500(seed=7)


def test_last_1512_days_are_the_snapshot_returns(history, snapshot):
    assert len(history.dates) == 8 * 252
    tail = history.returns.iloc[-1512:]
    assert tail.index.equals(snapshot.returns.index)
    assert tail.columns.equals(snapshot.returns.columns)
    assert np.array_equal(tail.to_numpy(), snapshot.returns.to_numpy())


def test_final_benchmark_caps_and_characteristics_are_the_snapshots(history, snapshot):
    last = history.dates[-1]
    assert last == snapshot.as_of
    np.testing.assert_allclose(history.benchmark_weights_at(last), snapshot.benchmark_weights, rtol=1e-14, atol=0)
    np.testing.assert_allclose(history.market_caps_at(last), snapshot.market_caps, rtol=1e-14, atol=0)
    chars = history.characteristics_at(last)
    assert list(chars.columns) == list(snapshot.characteristics.columns)
    np.testing.assert_allclose(chars.to_numpy(), snapshot.characteristics.to_numpy(), rtol=0, atol=1e-12)


def test_caps_follow_the_cap_identity(history):
    r = history.returns.to_numpy()
    final = history.assets["market_cap"].to_numpy()
    for t in (0, 1, 700, len(r) - 2):
        # cap(t) = cap(T) / prod_{s in (t, T]} (1 + r_s), by numpy on the raw returns
        expected = final / np.prod(1.0 + r[t + 1 :], axis=0)
        np.testing.assert_allclose(history.market_caps_at(history.dates[t]), expected, rtol=1e-10)
        # one day later the cap has grown by that day's return
        np.testing.assert_allclose(
            history.market_caps_at(history.dates[t]) * (1.0 + r[t + 1]), history.market_caps_at(history.dates[t + 1]),
            rtol=1e-10,
        )


def test_benchmark_weights_sum_to_one_at_every_date_and_are_cap_weights(history):
    for date in history.dates:
        w = history.benchmark_weights_at(date)
        assert abs(w.sum() - 1.0) < 1e-12
    caps = history.market_caps_at(history.dates[100])
    np.testing.assert_allclose(history.benchmark_weights_at(history.dates[100]), caps / caps.sum(), rtol=1e-12)


def test_a_longer_history_extends_a_shorter_one():
    short, longer = load_synthetic_history(7, years=7), load_synthetic_history(7, years=9)
    assert longer.returns.iloc[-len(short.returns) :].equals(short.returns)
    assert longer.dates[0] < short.dates[0]
    # The extension is drawn from the same process: similar average volatility to the snapshot's.
    early = longer.returns.iloc[:252].std().mean() * np.sqrt(252)
    late = longer.returns.iloc[-252:].std().mean() * np.sqrt(252)
    assert abs(early / late - 1.0) < 0.15


def test_snapshot_cuts_the_trailing_window(history):
    as_of = history.dates[1000]
    snap = history.snapshot(as_of, window=300)
    assert snap.as_of == as_of
    assert snap.returns.index.equals(history.dates[701:1001])
    assert snap.returns.equals(history.returns.iloc[701:1001])
    pd.testing.assert_series_equal(snap.benchmark_weights, history.benchmark_weights_at(as_of))
    np.testing.assert_allclose(snap.holdings, snap.benchmark_weights)  # default holdings = benchmark
    np.testing.assert_allclose(snap.market_caps, history.market_caps_at(as_of))
    # prices move with caps (share counts fixed): price × shares = cap on the date
    np.testing.assert_allclose(snap.assets["price"] * snap.assets["shares_outstanding"], snap.market_caps, rtol=1e-9)
    assert snap.groups["MAG7"] == tuple(history.asset_ids[:7])


def test_snapshot_on_a_weekend_is_the_friday_before(history):
    friday = next(d for d in history.dates[500:] if d.day_of_week == 4 and d + pd.Timedelta(days=3) in history.dates)
    snap = history.snapshot(friday + pd.Timedelta(days=1), window=60)
    assert snap.as_of == friday


def test_snapshot_with_holdings(history):
    n = len(history.asset_ids)
    holdings = pd.Series(np.full(n, 1.0 / n), index=history.asset_ids)
    snap = history.snapshot(history.dates[-1], window=60, holdings=holdings)
    np.testing.assert_allclose(snap.holdings, 1.0 / n)


def test_characteristics_are_restandardized_on_the_date(history):
    date = history.dates[10]
    chars = history.characteristics_at(date)
    w = history.benchmark_weights_at(date).to_numpy()
    for column in chars.columns:
        x = chars[column].to_numpy()
        assert abs(w @ x) < 1e-10  # benchmark exposure 0 on that date's weights
        assert abs(x.std() - 1.0) < 1e-10
    # size is the date's log cap: same order as the caps of the date (winsorized ends tie)
    log_cap = np.log(history.market_caps_at(date))
    inner = (log_cap > log_cap.quantile(0.02)) & (log_cap < log_cap.quantile(0.98))
    order = np.argsort(log_cap[inner].to_numpy())
    assert np.all(np.diff(chars["size"][inner].to_numpy()[order]) > 0)
    assert not np.allclose(chars["size"], history.characteristics_at(history.dates[-1])["size"])


def test_window_before_the_history_names_the_dates(history):
    as_of = history.dates[99]
    with pytest.raises(DataError, match=str(as_of.date())) as info:
        history.snapshot(as_of, window=101)
    assert str(history.dates[0].date()) in str(info.value)
    history.snapshot(as_of, window=100)  # exactly fits


def test_dates_outside_the_history_are_errors(history):
    with pytest.raises(DataError, match="2001-02-03"):
        history.snapshot("2001-02-03", window=60)
    with pytest.raises(DataError, match="2030-01-02"):
        history.benchmark_weights_at("2030-01-02")


def test_too_few_or_too_many_years_or_a_negative_seed_is_an_error():
    with pytest.raises(DataError, match="at least 6"):
        load_synthetic_history(7, years=5)
    with pytest.raises(DataError, match=r"at most 100 .*got 2025"):
        load_synthetic_history(7, years=2025)  # e.g. a backtest starting in year 1: refused at once
    with pytest.raises(DataError, match=r"seed must be a non-negative integer .*got -1"):
        load_synthetic_history(-1, years=6)


def test_hand_history_with_an_index_as_benchmark():
    """Three assets, the third a real index held by the benchmark alone; caps drift by hand."""
    ids = pd.Index(["A", "B", "IDX"], name="asset_id")
    dates = pd.DatetimeIndex(["2020-01-02", "2020-01-03", "2020-01-06"])
    returns = pd.DataFrame([[0.10, -0.05, 0.01], [0.02, 0.04, -0.02], [-0.10, 0.00, 0.03]], index=dates, columns=ids)
    assets = pd.DataFrame(
        {"sector": ["X", "Y", "Index"], "market_cap": [110.0, 50.0, 1000.0], "price": [11.0, 5.0, 100.0],
         "adv": [1.0, 1.0, np.nan]},
        index=ids,
    )
    history = MarketHistory(
        "hand", assets, returns, benchmark_values=pd.Series([0.0, 0.0, 1.0], index=ids), characteristics=False
    )
    # cap of A on the first day: 110 / (1.02 × 0.90)
    assert history.market_caps_at("2020-01-02")["A"] == pytest.approx(110.0 / (1.02 * 0.90))
    assert history.market_caps_at("2020-01-03")["B"] == pytest.approx(50.0 / 1.00)
    assert history.assets_at("2020-01-02")["price"]["IDX"] == pytest.approx(100.0 / (0.98 * 1.03))
    for date in dates:
        assert history.benchmark_weights_at(date).tolist() == [0.0, 0.0, 1.0]
    snap = history.snapshot("2020-01-06", window=2)
    assert snap.characteristics.shape == (3, 0)
    assert snap.returns.index.equals(dates[1:])


def test_bad_histories_are_refused():
    ids = pd.Index(["A", "B"], name="asset_id")
    dates = pd.DatetimeIndex(["2020-01-02", "2020-01-03", "2020-01-06"])
    assets = pd.DataFrame({"sector": ["X", "Y"], "market_cap": [1.0, 2.0], "price": [1.0, 1.0], "adv": [1.0, 1.0]}, index=ids)
    gap = pd.DataFrame([[0.0, 0.01], [0.0, np.nan], [0.0, 0.0]], index=dates, columns=ids)  # inside B's life
    with pytest.raises(DataError, match="B on 2020-01-03"):
        MarketHistory("bad", assets, gap)
    infinite = pd.DataFrame([[0.0, np.inf], [0.0, 0.0], [0.0, 0.0]], index=dates, columns=ids)
    with pytest.raises(DataError, match="B on 2020-01-02"):
        MarketHistory("bad", assets, infinite)
    wiped = pd.DataFrame([[0.0, 0.0], [-1.0, 0.0], [0.0, 0.0]], index=dates, columns=ids)
    with pytest.raises(DataError, match="A on 2020-01-03"):
        MarketHistory("bad", assets, wiped)
    listing = pd.DataFrame([[0.0, np.nan], [0.0, 0.01], [0.0, 0.0]], index=dates, columns=ids)  # B lists on day 2
    MarketHistory("ragged", assets, listing)
