"""Facts about the embedded synthetic S&P 500-like dataset."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trimtab.models import DataError
from trimtab.models._characteristics import QUALITY_DESCRIPTORS, VALUE_DESCRIPTORS, build_characteristics
from trimtab.models._snapshot import MarketSnapshot
from trimtab.models._synthetic import (
    HOLDINGS_AGE_DAYS,
    N_INDEX_ADDITIONS,
    N_SHARE_CHANGES,
    SYNTHETIC_AS_OF,
    SYNTHETIC_DATASET_NAME,
    _generate,
    load_synthetic_sp500,
    synthetic_factor_process,
)
from trimtab.models._synthetic_universe import _NAME_STARTS, GICS_SECTORS, SECTOR_COUNTS, _draw

ANNUAL = np.sqrt(252)
FUNDAMENTALS = [*VALUE_DESCRIPTORS, *QUALITY_DESCRIPTORS]
#: Calibration facts must hold for any seed, not just the default; a few are checked.
SEEDS = (7, 0, 2024)


@pytest.fixture(scope="module", params=SEEDS, ids=lambda s: f"seed{s}")
def snap(request) -> MarketSnapshot:
    return load_synthetic_sp500(request.param)


@pytest.fixture(scope="module")
def default() -> MarketSnapshot:
    return load_synthetic_sp500()


def mag7(s: MarketSnapshot) -> list[str]:
    return list(s.groups["MAG7"])


# --- identity -------------------------------------------------------------------------------


def test_dataset_name_and_as_of(default):
    assert default.dataset == "synthetic-sp500 v1 (seed 7)"
    assert default.dataset.startswith("synthetic-sp500")
    assert SYNTHETIC_DATASET_NAME.format(seed=123) == "synthetic-sp500 v1 (seed 123)"
    assert load_synthetic_sp500(3).dataset == "synthetic-sp500 v1 (seed 3)"
    assert default.as_of == pd.Timestamp("2026-10-30") == SYNTHETIC_AS_OF
    assert isinstance(default, MarketSnapshot)


def test_every_table_is_indexed_by_sorted_asset_id(snap):
    ids = [f"SP{i:03d}" for i in range(1, 501)]
    assert snap.asset_ids.tolist() == ids
    for table in (snap.assets, snap.benchmark_weights, snap.holdings, snap.characteristics):
        assert table.index.name == "asset_id"
        assert table.index.equals(snap.asset_ids)
    assert snap.returns.columns.name == "asset_id"
    assert snap.returns.columns.equals(snap.asset_ids)


def test_ids_rank_by_market_cap_and_identifiers_are_unique(snap):
    caps = snap.market_caps.to_numpy()
    assert np.all(np.diff(caps) < 0), "SP001 is the largest, SP500 the smallest"
    assert snap.assets["ticker"].is_unique and snap.assets["name"].is_unique
    assert snap.assets["ticker"].str.fullmatch(r"SYN[A-Z]{2}").all()
    assert snap.assets.loc["SP001", "ticker"] == "SYNAA"


# --- sectors ---------------------------------------------------------------------------------


def test_sector_counts_are_realistic(snap):
    counts = snap.sectors.value_counts()
    assert snap.n_assets == 500 and counts.sum() == 500
    assert set(counts.index) == set(GICS_SECTORS) and len(GICS_SECTORS) == 11
    assert counts.to_dict() == SECTOR_COUNTS
    assert set(counts.nlargest(4).index) == {"Information Technology", "Financials", "Industrials", "Health Care"}
    assert set(counts.nsmallest(3).index) == {"Energy", "Materials", "Communication Services"}


def test_gics_names_are_exact():
    assert set(GICS_SECTORS) == {
        "Information Technology", "Financials", "Industrials", "Health Care", "Consumer Discretionary",
        "Consumer Staples", "Utilities", "Real Estate", "Materials", "Communication Services", "Energy",
    }


def test_technology_is_the_heaviest_sector(snap):
    by_sector = snap.benchmark_weights.groupby(snap.sectors).sum()
    assert by_sector.idxmax() == "Information Technology"
    assert 0.25 <= by_sector["Information Technology"] <= 0.40


# --- caps and benchmark ----------------------------------------------------------------------


def test_benchmark_is_cap_weighted(snap):
    caps = snap.market_caps
    np.testing.assert_allclose(snap.benchmark_weights, caps / caps.sum(), rtol=1e-12)
    assert (snap.benchmark_weights > 0).all()
    assert 40e12 <= caps.sum() <= 60e12, "total cap around 50 trillion USD"


def test_mag7_is_the_seven_largest_with_realistic_sectors(snap):
    assert set(snap.groups) == {"MAG7"}
    members = mag7(snap)
    assert members == snap.asset_ids[:7].tolist()
    assert snap.sectors[members].value_counts().to_dict() == {
        "Information Technology": 3,
        "Consumer Discretionary": 2,
        "Communication Services": 2,
    }


def test_cap_weights_are_heavy_tailed(snap):
    w = snap.benchmark_weights
    assert 0.30 <= w[mag7(snap)].sum() <= 0.36
    assert 0.35 <= w.iloc[:10].sum() <= 0.40
    assert w.iloc[-1] < 0.0003, "the smallest names weigh a few basis points"
    assert w.iloc[0] / w.median() > 50


# --- fundamentals and characteristics --------------------------------------------------------


def test_fundamentals_are_plausible_fractions(snap):
    f = snap.assets[FUNDAMENTALS]
    assert np.isfinite(f.to_numpy()).all()
    assert f["book_to_price"].between(0.01, 3.0).all()
    assert f["earnings_yield"].between(-0.25, 0.25).all()
    assert f["cash_flow_yield"].between(0.0, 0.40).all()
    assert f["return_on_equity"].between(-0.5, 1.0).all()
    assert f["gross_profitability"].between(0.0, 1.2).all()
    assert f["leverage"].between(0.0, 0.85).all()
    assert f["earnings_variability"].between(0.0, 3.0).all()
    medians = f.median()
    assert 0.03 <= medians["earnings_yield"] <= 0.08 and 0.10 <= medians["return_on_equity"] <= 0.25
    assert (f["earnings_yield"] < 0).mean() < 0.12, "a few loss makers, not many"


def test_characteristics_come_from_build_characteristics(snap):
    expected = build_characteristics(snap.assets[FUNDAMENTALS], snap.benchmark_weights)
    pd.testing.assert_frame_equal(snap.characteristics[expected.columns], expected, check_names=False)
    assert {"value", "quality", "size"} <= set(snap.characteristics.columns)


def test_characteristics_are_benchmark_relative_z_scores(snap):
    c = snap.characteristics
    exposure = c.T @ snap.benchmark_weights
    np.testing.assert_allclose(exposure, 0.0, atol=1e-9)
    np.testing.assert_allclose(c.std(ddof=0), 1.0, atol=1e-9)


def test_mega_caps_are_expensive_and_high_quality(snap):
    members = mag7(snap)
    w = snap.benchmark_weights[members]
    c = snap.characteristics.loc[members]
    assert np.average(c["value"], weights=w) < 0
    assert np.average(c["quality"], weights=w) > 0
    size = np.log(snap.market_caps)
    assert size.corr(snap.characteristics["value"]) < 0, "bigger names are more expensive"
    assert size.corr(snap.characteristics["quality"]) > 0, "bigger names are more profitable"


def test_sector_fundamentals_look_like_the_real_index(default):
    medians = default.assets.groupby("sector")[["book_to_price", "gross_profitability", "leverage"]].median()
    assert medians["book_to_price"].idxmin() == "Information Technology"
    assert medians.loc["Financials", "book_to_price"] > medians.loc["Information Technology", "book_to_price"] * 3
    assert medians.loc["Utilities", "leverage"] > medians.loc["Information Technology", "leverage"]


# --- prices and liquidity --------------------------------------------------------------------


def test_prices_and_adv(snap):
    a = snap.assets
    assert a["price"].between(10.0, 900.0).all()
    np.testing.assert_allclose(a["shares_outstanding"] * a["price"], a["market_cap"], rtol=1e-12)
    daily_turnover = a["adv"] / a["shares_outstanding"]
    assert daily_turnover.between(0.0029, 0.0151).all()
    assert (a["adv"] > 0).all()


# --- returns ---------------------------------------------------------------------------------


def test_returns_window(snap):
    r = snap.returns
    assert r.shape == (1512, 500)
    assert r.index[-1] == snap.as_of
    assert r.index.is_monotonic_increasing and r.index.is_unique
    assert (r.index.day_of_week < 5).all(), "trading days only"
    assert r.index[-1] - r.index[0] >= pd.Timedelta(days=5 * 365), "at least five years"
    assert pd.Timestamp("2025-12-25") not in r.index and pd.Timestamp("2025-07-04") not in r.index
    values = r.to_numpy()
    assert np.isfinite(values).all()
    assert values.min() > -0.95


def test_index_and_single_name_volatility_are_realistic(snap):
    r = snap.returns
    index_vol = float((r @ snap.benchmark_weights).std() * ANNUAL)
    assert 0.15 <= index_vol <= 0.20
    name_vol = r.std() * ANNUAL
    assert name_vol.min() >= 0.20
    assert name_vol.max() <= 0.60


def test_returns_are_heavy_tailed(default):
    excess_kurtosis = default.returns.kurt()
    assert excess_kurtosis.median() > 0.5
    assert (excess_kurtosis > 0).mean() > 0.9


def test_names_comove_with_the_index(default):
    r = default.returns
    index = r @ default.benchmark_weights
    correlation = r.corrwith(index)
    assert 0.35 <= correlation.median() <= 0.85


def test_style_loadings_are_the_characteristic_scores(default):
    process = synthetic_factor_process()
    styles = ["value", "quality", "size"]
    pd.testing.assert_frame_equal(
        process.exposures[styles], default.characteristics[styles], check_names=False
    )
    assert process.factor_returns.index.equals(default.returns.index)
    assert process.exposures.index.equals(default.asset_ids)


def test_fundamental_regression_recovers_style_factors(default):
    # Cross-sectional OLS of each day's returns on sector dummies + the snapshot's scores.
    dummies = pd.get_dummies(default.sectors).astype(float)
    styles = default.characteristics[["value", "quality", "size"]]
    design = np.column_stack([dummies.to_numpy(), styles.to_numpy()])
    coefficients = np.linalg.lstsq(design, default.returns.to_numpy().T, rcond=None)[0]
    estimated = pd.DataFrame(coefficients[-3:].T, index=default.returns.index, columns=styles.columns)
    truth = synthetic_factor_process().factor_returns
    for style in ("value", "quality"):
        assert estimated[style].corr(truth[style]) > 0.8, style


# --- holdings --------------------------------------------------------------------------------


def test_holdings_are_a_valid_drifted_portfolio(snap):
    h = snap.holdings
    assert abs(h.sum() - 1.0) < 1e-12
    assert (h >= 0).all()
    assert not h.equals(snap.benchmark_weights)
    distance = float((h - snap.benchmark_weights).abs().sum())
    assert 0.01 <= distance <= 0.10


def test_holdings_reflect_the_months_index_events(snap):
    h, b = snap.holdings, snap.benchmark_weights
    added = h.index[h == 0]
    assert len(added) == N_INDEX_ADDITIONS
    assert (b[added] > 0).all() and not set(added) & set(mag7(snap))
    # Names without an event keep their benchmark proportions exactly (drift is cap-neutral).
    ratio = h / b
    untouched = ratio.round(12).mode().iloc[0]
    affected = ratio.index[~np.isclose(ratio, untouched, rtol=1e-10)]
    assert len(affected) == N_INDEX_ADDITIONS + N_SHARE_CHANGES
    share_change = (ratio[affected.difference(added)] / untouched) - 1.0
    assert share_change.abs().between(0.0099, 0.0501).all(), "share counts changed by 1-5 %"


def test_holdings_age():
    assert HOLDINGS_AGE_DAYS == 21


# --- determinism and safety ------------------------------------------------------------------


def _fingerprint(s: MarketSnapshot) -> list[bytes]:
    frames = [s.assets, s.benchmark_weights.to_frame(), s.holdings.to_frame(), s.characteristics, s.returns]
    return [pd.util.hash_pandas_object(f, index=True).to_numpy().tobytes() for f in frames]


def test_same_seed_gives_identical_data_even_when_regenerated(default):
    before = _fingerprint(default)
    _generate.cache_clear()
    again = load_synthetic_sp500(7)
    assert _fingerprint(again) == before
    pd.testing.assert_frame_equal(again.returns, default.returns, check_exact=True)
    pd.testing.assert_frame_equal(again.assets, default.assets, check_exact=True)
    pd.testing.assert_series_equal(again.holdings, default.holdings, check_exact=True)
    assert dict(again.groups) == dict(default.groups)


def test_name_draws_are_numpys_choice_on_the_same_stream():
    """The company names are drawn with ``_draw`` (fast) instead of ``rng.choice``: the same words
    from the same stream, so the embedded dataset did not change when the faster draw came in."""
    fast, reference = np.random.default_rng(2026), np.random.default_rng(2026)
    drawn = [_draw(fast, _NAME_STARTS) for _ in range(2000)]
    chosen = [str(reference.choice(_NAME_STARTS)) for _ in range(2000)]
    assert drawn == chosen
    assert len(set(drawn)) == len(_NAME_STARTS)  # every word reachable
    assert fast.integers(0, 2**62) == reference.integers(0, 2**62)  # the streams are at the same point


def test_different_seeds_differ(default):
    other = load_synthetic_sp500(8)
    assert not other.returns.equals(default.returns)
    assert not other.assets["market_cap"].equals(default.assets["market_cap"])
    assert not other.holdings.equals(default.holdings)


def test_returned_frames_are_independent_copies():
    first = load_synthetic_sp500(7)
    first.returns.iloc[0, 0] = 99.0
    first.assets.loc["SP001", "price"] = -1.0
    second = load_synthetic_sp500(7)
    assert second.returns.iloc[0, 0] != 99.0
    assert second.assets.loc["SP001", "price"] > 0


def test_bad_seeds_are_rejected():
    for seed in (-1, np.int64(-3), -(2**70)):
        with pytest.raises(DataError, match=r"seed must be a non-negative integer .*got -"):
            load_synthetic_sp500(seed)
        with pytest.raises(DataError, match="non-negative"):
            synthetic_factor_process(seed)
    assert isinstance(DataError("x"), ValueError)  # callers catching ValueError still do
    for seed in (1.5, "7", True, None):
        with pytest.raises(TypeError, match="seed must be an integer"):
            load_synthetic_sp500(seed)  # type: ignore[arg-type]


def test_seeds_numpy_accepts_are_accepted():
    big = load_synthetic_sp500(2**70)  # numpy seeds any non-negative integer
    assert big.dataset == SYNTHETIC_DATASET_NAME.format(seed=2**70) and big.n_assets == 500
    assert load_synthetic_sp500(np.uint8(7)).returns.equals(load_synthetic_sp500(7).returns)
