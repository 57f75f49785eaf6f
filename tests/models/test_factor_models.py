"""Statistical (PCA) and fundamental (sector + style) factor models on simulated data."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from trimtab.models._covariance import ewma_covariance
from trimtab.models._errors import DataError
from trimtab.models._factor_models import (
    MIN_SPECIFIC_VOL,
    FundamentalFactorModel,
    StatisticalFactorModel,
    cross_sectional_regression,
)

PPY = 252


def frob_rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


# ----------------------------------------------------------------------------- PCA


def simulate_statistical(n: int = 60, t: int = 2000, k: int = 3, seed: int = 1):
    """Returns from a known k-factor model; also the true daily covariance."""
    rng = np.random.default_rng(seed)
    loadings = rng.normal(0.0, 1.0, size=(n, k)) + np.array([1.0] + [0.0] * (k - 1))
    factor_vol = np.array([0.010, 0.006, 0.004])[:k]
    idio_vol = rng.uniform(0.008, 0.015, n)
    f = rng.normal(0.0, factor_vol, size=(t, k))
    eps = rng.normal(0.0, idio_vol, size=(t, n))
    returns = pd.DataFrame(
        f @ loadings.T + eps,
        index=pd.bdate_range("2015-01-01", periods=t),
        columns=[f"A{i:03d}" for i in range(n)],
    )
    true_cov = loadings @ np.diag(factor_vol**2) @ loadings.T + np.diag(idio_vol**2)
    return returns, true_cov, idio_vol


def test_pca_model_recovers_total_covariance_of_a_k_factor_model():
    returns, true_cov, _ = simulate_statistical()
    model = StatisticalFactorModel(n_factors=3).fit(returns).risk_model_
    estimated = model.covariance().to_numpy()
    sample = returns.cov().to_numpy() * PPY
    # Within 8 % (Frobenius) of the truth (6.3 % for this seed), comparable to the
    # unrestricted sample covariance of the same 2000 days (5.3 %).
    error = frob_rel(estimated, true_cov * PPY)
    assert error < 0.08
    assert error < 1.25 * frob_rel(sample, true_cov * PPY)
    # Total variance per asset within 12 % (max 8.6 % for this seed).
    ratio = np.diag(estimated) / np.diag(true_cov * PPY)
    assert np.all(np.abs(ratio - 1) < 0.12)


def test_pca_te_from_square_roots_equals_dense_quadratic_form():
    returns, _, _ = simulate_statistical()
    model = StatisticalFactorModel(n_factors=3).fit(returns).risk_model_
    dense = model.covariance().to_numpy()
    rng = np.random.default_rng(5)
    for _ in range(5):
        active = rng.normal(0.0, 0.02, 60)
        active -= active.mean()
        assert model.volatility(active) == pytest.approx(np.sqrt(active @ dense @ active), rel=1e-12)


def test_pca_model_structure():
    returns, _, _ = simulate_statistical()
    est = StatisticalFactorModel(n_factors=3).fit(returns)
    model = est.risk_model_
    assert model.factor_names == ("pc001", "pc002", "pc003")
    assert model.exposures.shape == (60, 3) and model.factor_cov_sqrt.shape == (3, 3)
    # Orthonormal loadings; uncorrelated factor returns with decreasing variance.
    np.testing.assert_allclose(model.exposures.T @ model.exposures, np.eye(3), atol=1e-12)
    fcov = model.factor_covariance().to_numpy()
    np.testing.assert_allclose(fcov, np.diag(np.diag(fcov)), atol=1e-10 * fcov.max())
    np.testing.assert_allclose(np.diag(fcov), est.pca_.explained_variance_ * PPY, rtol=1e-10)
    assert np.all(np.diff(np.diag(fcov)) < 0)
    assert est.explained_variance_ratio_.sum() > 0.5
    assert est.factor_returns_.shape == (2000, 3)


def test_pca_specific_vol_is_floored():
    returns, _, _ = simulate_statistical(n=5, t=200, k=1)
    model = StatisticalFactorModel(n_factors=4).fit(returns).risk_model_
    assert np.all(model.specific_vol >= MIN_SPECIFIC_VOL)


def test_pca_validation_in_fit():
    returns, _, _ = simulate_statistical(n=10, t=100, k=2)
    assert StatisticalFactorModel(n_factors=0).get_params()["n_factors"] == 0
    with pytest.raises(DataError, match="n_factors must be a positive integer, got 0"):
        StatisticalFactorModel(n_factors=0).fit(returns)
    with pytest.raises(DataError, match=r"n_factors=10 must be below the number of assets \(10\)"):
        StatisticalFactorModel(n_factors=10).fit(returns)
    with pytest.raises(DataError, match="needs at least 6 dates of returns, got 5"):
        StatisticalFactorModel(n_factors=5).fit(returns.iloc[:5])


# ----------------------------------------------------------------------------- fundamental

SECTORS = [f"S{j:02d}" for j in range(10)]
STYLES = ["value", "quality", "momentum"]


def simulate_fundamental(n: int = 500, t: int = 1500, seed: int = 7):
    """Sector + style model; returns inputs and the truth (daily units)."""
    rng = np.random.default_rng(seed)
    ids = pd.Index([f"A{i:04d}" for i in range(n)], name="asset_id")
    sectors = pd.Series(np.array(SECTORS)[np.arange(n) % len(SECTORS)], index=ids, name="sector")
    styles = pd.DataFrame(rng.standard_normal((n, len(STYLES))), index=ids, columns=STYLES)
    caps = pd.Series(np.exp(rng.normal(23.0, 1.2, n)), index=ids, name="market_cap")
    # Sector factor returns share a market component; styles are independent.
    k_s, k = len(SECTORS), len(SECTORS) + len(STYLES)
    true_f = np.zeros((k, k))
    true_f[:k_s, :k_s] = 0.009**2 + np.diag(rng.uniform(0.004, 0.008, k_s) ** 2)
    true_f[k_s:, k_s:] = np.diag(np.array([0.004, 0.003, 0.005]) ** 2)
    f = rng.multivariate_normal(np.zeros(k), true_f, size=t)
    idio_vol = rng.uniform(0.010, 0.025, n)
    x = np.hstack([(sectors.to_numpy()[:, None] == np.array(SECTORS)).astype(float), styles.to_numpy()])
    returns = pd.DataFrame(
        f @ x.T + rng.normal(0.0, idio_vol, size=(t, n)),
        index=pd.bdate_range("2018-01-01", periods=t, name="date"),
        columns=ids,
    )
    return returns, sectors, styles, caps, f, true_f, idio_vol


@pytest.fixture(scope="module")
def fundamental_data():
    return simulate_fundamental()


@pytest.fixture(scope="module")
def fundamental_fit(fundamental_data):
    returns, sectors, styles, caps, *_ = fundamental_data
    return FundamentalFactorModel().fit(returns, sectors=sectors, styles=styles, market_caps=caps)


def test_fundamental_recovers_factor_returns_and_their_covariance(fundamental_data, fundamental_fit):
    _, _, _, _, true_f_returns, true_f, _ = fundamental_data
    est = fundamental_fit
    f_hat = est.factor_returns_.to_numpy()
    # Per-date factor returns track the truth: correlation > 0.92 for every factor (min 0.947
    # here, for the least volatile style; sector factors > 0.95).
    corr = [np.corrcoef(f_hat[:, j], true_f_returns[:, j])[0, 1] for j in range(f_hat.shape[1])]
    assert min(corr) > 0.92
    fcov = est.risk_model_.factor_covariance().to_numpy()
    # Close to the covariance of the realized factor returns (only regression noise) ...
    assert frob_rel(fcov, np.cov(true_f_returns, rowvar=False) * PPY) < 0.06  # 3.8 % here
    # ... and to the true covariance (plus sampling error of 1500 days).
    assert frob_rel(fcov, true_f * PPY) < 0.08  # 4.0 % here
    # Factor vols within 10 % (max 6.3 % here; regression noise inflates them slightly).
    vols = np.sqrt(np.diag(fcov) / (np.diag(true_f) * PPY))
    assert np.all(np.abs(vols - 1) < 0.10)


def test_fundamental_recovers_specific_vols(fundamental_data, fundamental_fit):
    *_, idio_vol = fundamental_data
    ratio = fundamental_fit.risk_model_.specific_vol / (idio_vol * np.sqrt(PPY))
    # Sampling error of a 1500-day vol is ~1.8 %; the worst of 500 assets is 9.1 % here.
    assert np.median(np.abs(ratio - 1)) < 0.03
    assert np.max(np.abs(ratio - 1)) < 0.12


def test_specific_vols_of_high_leverage_assets_are_not_understated(fundamental_data, fundamental_fit):
    *_, idio_vol = fundamental_data
    est = fundamental_fit
    assert est.leverage_.sum() == pytest.approx(13.0, rel=1e-9)  # trace of the hat matrix = k
    top = np.argsort(-est.leverage_.to_numpy())[:25]
    corrected = est.risk_model_.specific_vol[top] / (idio_vol[top] * np.sqrt(PPY))
    raw = est.specific_returns_.std().to_numpy()[top] / idio_vol[top]
    assert raw.mean() < 0.96  # raw residuals understate the heavy-weight names (0.948 here)
    assert abs(corrected.mean() - 1) < 0.03  # 0.986 here


def test_fundamental_model_structure(fundamental_data, fundamental_fit):
    returns, sectors, _, caps, *_ = fundamental_data
    est = fundamental_fit
    model = est.risk_model_
    assert model.factor_names == tuple(f"sector:{s}" for s in SECTORS) + tuple(f"style:{s}" for s in STYLES)
    assert model.asset_ids == tuple(returns.columns)
    assert model.exposures.shape == (500, 13) and model.factor_cov_sqrt.shape == (13, 13)
    # Every asset has exactly one sector dummy; style exposures are passed through.
    np.testing.assert_array_equal(model.exposures[:, :10].sum(axis=1), np.ones(500))
    assert model.exposures[3, SECTORS.index(sectors.iloc[3])] == 1.0
    # L is a square root of F (symmetric PSD).
    np.testing.assert_allclose(model.factor_cov_sqrt, model.factor_cov_sqrt.T, atol=1e-15)
    weights = np.sqrt(caps) / np.sqrt(caps).sum()
    np.testing.assert_allclose(est.regression_weights_.to_numpy(), weights.to_numpy(), rtol=1e-12)
    assert est.specific_returns_.shape == (1500, 500)
    assert 0.3 < est.r_squared_.mean() < 0.9
    assert "13 factors" in model.name and "sqrt_cap" in model.name


def test_fundamental_regression_is_weighted_least_squares_per_date(fundamental_data):
    returns, sectors, styles, caps, *_ = fundamental_data
    sub = returns.iloc[:20, :120]
    est = FundamentalFactorModel().fit(sub, sectors=sectors, styles=styles, market_caps=caps)
    x = est.exposures_.to_numpy()
    w = np.sqrt(caps.loc[sub.columns].to_numpy())
    w /= w.sum()
    for t in range(5):
        beta, *_ = np.linalg.lstsq(x * np.sqrt(w)[:, None], sub.iloc[t].to_numpy() * np.sqrt(w), rcond=None)
        np.testing.assert_allclose(est.factor_returns_.iloc[t].to_numpy(), beta, rtol=1e-9, atol=1e-14)
        # Weighted residuals are orthogonal to every exposure column (normal equations).
        resid = est.specific_returns_.iloc[t].to_numpy()
        np.testing.assert_allclose(x.T @ (w * resid), 0.0, atol=1e-12)


def test_sector_dummies_span_the_market(fundamental_data):
    returns, sectors, styles, caps, *_ = fundamental_data
    sub = returns.iloc[:50, :200]
    base = FundamentalFactorModel().fit(sub, sectors=sectors, styles=styles, market_caps=caps)
    shifted = FundamentalFactorModel().fit(sub + 0.01, sectors=sectors, styles=styles, market_caps=caps)
    diff = shifted.factor_returns_ - base.factor_returns_
    np.testing.assert_allclose(diff.filter(like="sector:").to_numpy(), 0.01, atol=1e-12)
    np.testing.assert_allclose(diff.filter(like="style:").to_numpy(), 0.0, atol=1e-12)
    np.testing.assert_allclose(shifted.specific_returns_, base.specific_returns_, atol=1e-12)


def test_fundamental_ewma_halflife(fundamental_data):
    returns, sectors, styles, caps, *_ = fundamental_data
    sub = returns.iloc[:300, :200]
    est = FundamentalFactorModel(halflife=42).fit(sub, sectors=sectors, styles=styles, market_caps=caps)
    expected = ewma_covariance(est.factor_returns_, 42).to_numpy() * PPY
    np.testing.assert_allclose(est.risk_model_.factor_covariance().to_numpy(), expected, rtol=1e-9, atol=1e-14)
    assert "halflife 42" in est.risk_model_.name


def test_huber_regression_resists_outliers():
    returns, sectors, styles, caps, true_f_returns, *_ = simulate_fundamental(n=200, t=20, seed=11)
    values = returns.to_numpy().copy()
    rng = np.random.default_rng(0)
    values[rng.integers(0, 20, 60), rng.integers(0, 200, 60)] += 0.5  # 50 % jumps on 60 asset-dates
    dirty = pd.DataFrame(values, index=returns.index, columns=returns.columns)
    ols = FundamentalFactorModel().fit(dirty, sectors=sectors, styles=styles, market_caps=caps)
    rob = FundamentalFactorModel(huber=True).fit(dirty, sectors=sectors, styles=styles, market_caps=caps)
    err_ols = np.abs(ols.factor_returns_.to_numpy() - true_f_returns).mean()
    err_rob = np.abs(rob.factor_returns_.to_numpy() - true_f_returns).mean()
    assert err_rob < 0.5 * err_ols


def test_cross_sectional_regression_plain_function():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((40, 3))
    f = rng.standard_normal((6, 3))
    r = f @ x.T
    f_hat, resid = cross_sectional_regression(r, x, np.ones(40))
    np.testing.assert_allclose(f_hat, f, atol=1e-12)
    np.testing.assert_allclose(resid, 0.0, atol=1e-12)


# ----------------------------------------------------------------------------- validation


@pytest.fixture()
def small(fundamental_data):
    returns, sectors, styles, caps, *_ = fundamental_data
    return returns.iloc[:40, :60], sectors, styles, caps


def test_missing_assets_are_listed(small):
    returns, sectors, styles, caps = small
    with pytest.raises(DataError, match=r"sectors lack 2 asset\(s\) of returns, e\.g\. \['A0000', 'A0001'\]"):
        FundamentalFactorModel().fit(returns, sectors=sectors.iloc[2:], styles=styles, market_caps=caps)
    with pytest.raises(DataError, match=r"styles lack 1 asset\(s\) of returns, e\.g\. \['A0005'\]"):
        FundamentalFactorModel().fit(returns, sectors=sectors, styles=styles.drop("A0005"), market_caps=caps)
    with pytest.raises(DataError, match=r"market_caps lack 1 asset\(s\) of returns, e\.g\. \['A0007'\]"):
        FundamentalFactorModel().fit(returns, sectors=sectors, styles=styles, market_caps=caps.drop("A0007"))


def test_duplicated_assets_are_rejected(small):
    returns, sectors, styles, caps = small
    doubled = pd.concat([sectors, sectors.iloc[:1]])
    with pytest.raises(DataError, match=r"sectors have duplicate asset_ids \['A0000'\]"):
        FundamentalFactorModel().fit(returns, sectors=doubled, styles=styles, market_caps=caps)


def test_nan_style_and_bad_caps_are_rejected(small):
    returns, sectors, styles, caps = small
    bad_styles = styles.copy()
    bad_styles.loc["A0004", "quality"] = np.nan
    with pytest.raises(DataError, match=r"styles have 1 missing or non-finite value\(s\), e\.g\. quality of A0004"):
        FundamentalFactorModel().fit(returns, sectors=sectors, styles=bad_styles, market_caps=caps)
    bad_caps = caps.copy()
    bad_caps["A0009"] = -1.0
    with pytest.raises(DataError, match=r"market_caps must be finite and positive .* \['A0009'\]"):
        FundamentalFactorModel().fit(returns, sectors=sectors, styles=styles, market_caps=bad_caps)


def test_collinear_styles_are_rejected(small):
    returns, sectors, styles, caps = small
    twin = styles.assign(value_copy=styles["value"] * 2.0)
    with pytest.raises(DataError, match=r"exposures are collinear \(rank 13 < 14 factors"):
        FundamentalFactorModel().fit(returns, sectors=sectors, styles=twin, market_caps=caps)


def test_parameters_validated_in_fit_not_init(small):
    returns, sectors, styles, caps = small
    est = FundamentalFactorModel(regression_weights="volume", halflife=0)
    assert clone(est).get_params()["regression_weights"] == "volume"
    with pytest.raises(DataError, match=r"regression_weights='volume' is not one of \['sqrt_cap', 'cap', 'equal'\]"):
        est.fit(returns, sectors=sectors, styles=styles, market_caps=caps)
    with pytest.raises(DataError, match="halflife must be a finite positive number, got 0"):
        FundamentalFactorModel(halflife=0).fit(returns, sectors=sectors, styles=styles, market_caps=caps)


def test_too_few_dates_or_assets(small):
    returns, sectors, styles, caps = small
    with pytest.raises(DataError, match="needs at least 14 dates of returns, got 13"):
        FundamentalFactorModel().fit(returns.iloc[:13], sectors=sectors, styles=styles, market_caps=caps)
    with pytest.raises(DataError, match="12 assets cannot identify 13 factors"):
        FundamentalFactorModel().fit(returns.iloc[:, :12], sectors=sectors, styles=styles, market_caps=caps)
