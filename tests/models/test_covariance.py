"""Full-covariance estimators: sklearn parity, EWMA math, square-root form, validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.covariance import OAS, EmpiricalCovariance, LedoitWolf

from trimtab.models._covariance import (
    EWMACovariance,
    LedoitWolfCovariance,
    OASCovariance,
    SampleCovariance,
    ewma_covariance,
    ewma_weights,
    risk_model_from_covariance,
)
from trimtab.models._errors import DataError
from trimtab.models._risk_model import RiskModel


def make_returns(n_assets: int = 20, n_days: int = 300, seed: int = 0) -> pd.DataFrame:
    """Correlated daily returns (~1-2 % daily vol) with a one-factor structure."""
    rng = np.random.default_rng(seed)
    market = rng.normal(0.0003, 0.01, size=(n_days, 1))
    beta = rng.uniform(0.5, 1.5, size=(1, n_assets))
    idio = rng.normal(0.0, rng.uniform(0.005, 0.02, n_assets), size=(n_days, n_assets))
    index = pd.bdate_range("2021-01-04", periods=n_days, name="date")
    columns = pd.Index([f"A{i:03d}" for i in range(n_assets)], name="asset_id")
    return pd.DataFrame(market @ beta + idio, index=index, columns=columns)


def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(b)))


SKLEARN_PAIRS = [
    (SampleCovariance, EmpiricalCovariance),
    (LedoitWolfCovariance, LedoitWolf),
    (OASCovariance, OAS),
]


@pytest.mark.parametrize(("ours", "theirs"), SKLEARN_PAIRS)
@pytest.mark.parametrize("n_days", [300, 12])  # 12 < 20 assets: singular sample covariance
def test_dense_covariance_equals_sklearn_times_periods_per_year(ours, theirs, n_days):
    returns = make_returns(n_days=n_days)
    model = ours().fit(returns).risk_model_
    expected = theirs().fit(returns.to_numpy()).covariance_ * 252
    assert isinstance(model, RiskModel)
    assert rel_err(model.covariance().to_numpy(), expected) < 1e-10
    assert model.asset_ids == tuple(returns.columns)


def test_periods_per_year_scales_linearly():
    returns = make_returns()
    weekly = SampleCovariance(periods_per_year=52).fit(returns).covariance_.to_numpy()
    daily = EmpiricalCovariance().fit(returns.to_numpy()).covariance_
    assert rel_err(weekly, daily * 52) < 1e-12


def test_square_root_form_has_identity_factor_cov_and_no_specific_risk():
    returns = make_returns(n_assets=20, n_days=300)
    model = SampleCovariance().fit(returns).risk_model_
    assert model.exposures.shape == (20, 20)
    np.testing.assert_array_equal(model.factor_cov_sqrt, np.eye(20))
    np.testing.assert_array_equal(model.specific_vol, np.zeros(20))
    assert model.factor_names[:3] == ("pc001", "pc002", "pc003")
    # Columns are ordered by decreasing variance explained.
    col_var = np.sum(model.exposures**2, axis=0)
    assert np.all(np.diff(col_var) <= 1e-15)


def test_rank_deficient_sample_covariance_drops_null_directions():
    returns = make_returns(n_assets=20, n_days=12)
    model = SampleCovariance().fit(returns).risk_model_
    # Demeaned 12 × 20 data has rank 11.
    assert model.exposures.shape == (20, 11)
    assert model.factor_names[-1] == "pc011"


def test_te_from_square_root_matches_dense_quadratic_form():
    returns = make_returns()
    model = LedoitWolfCovariance().fit(returns).risk_model_
    rng = np.random.default_rng(3)
    active = rng.normal(0, 0.01, 20)
    active -= active.mean()
    dense = model.covariance().to_numpy()
    assert model.volatility(active) == pytest.approx(np.sqrt(active @ dense @ active), rel=1e-12)


@pytest.mark.parametrize("cls", [LedoitWolfCovariance, OASCovariance])
def test_shrinkage_is_reported_as_in_sklearn(cls):
    returns = make_returns(n_days=40)
    ours = cls().fit(returns)
    theirs = {LedoitWolfCovariance: LedoitWolf, OASCovariance: OAS}[cls]().fit(returns.to_numpy())
    assert 0.0 < ours.shrinkage_ < 1.0
    assert ours.shrinkage_ == pytest.approx(theirs.shrinkage_, rel=1e-12)
    assert f"{ours.shrinkage_:.3f}" in ours.risk_model_.name


def test_fitted_attributes_follow_sklearn_conventions():
    returns = make_returns()
    est = SampleCovariance()
    assert not hasattr(est, "risk_model_")
    assert est.fit(returns) is est
    assert est.n_features_in_ == 20 and est.n_samples_ == 300
    assert list(est.feature_names_in_) == list(returns.columns)
    assert est.covariance_.index.equals(returns.columns)
    np.testing.assert_allclose(est.location_.to_numpy(), returns.mean().to_numpy(), rtol=1e-12)


def test_init_stores_arguments_verbatim_and_validation_happens_in_fit():
    est = EWMACovariance(halflife=-5, periods_per_year="daily")
    assert est.get_params() == {"halflife": -5, "periods_per_year": "daily"}
    cloned = clone(EWMACovariance(halflife=21))
    assert cloned.get_params() == {"halflife": 21, "periods_per_year": 252}
    with pytest.raises(DataError, match="periods_per_year must be a finite positive number"):
        est.fit(make_returns())
    with pytest.raises(DataError, match="halflife must be a finite positive number, got -5"):
        EWMACovariance(halflife=-5).fit(make_returns())


def test_init_is_keyword_only():
    with pytest.raises(TypeError):
        SampleCovariance(252)  # type: ignore[misc]


# ----------------------------------------------------------------------------- EWMA


def test_ewma_weights_most_recent_heaviest_and_halve_every_halflife():
    w = ewma_weights(200, 10)
    assert w.sum() == pytest.approx(1.0, abs=1e-15)
    assert np.all(np.diff(w) > 0)  # oldest first, increasing toward today
    assert w[-11] / w[-1] == pytest.approx(0.5, rel=1e-12)
    assert w[-21] / w[-1] == pytest.approx(0.25, rel=1e-12)


def test_ewma_covariance_matches_pandas_ewm_on_last_date():
    returns = make_returns(n_assets=5, n_days=250)
    ours = ewma_covariance(returns, halflife=30)
    theirs = returns.ewm(halflife=30).cov(bias=True).loc[returns.index[-1]]
    assert isinstance(ours, pd.DataFrame)
    assert rel_err(ours.to_numpy(), theirs.to_numpy()) < 1e-10


def test_ewma_covariance_uses_weighted_mean():
    # A series that is constant per regime: recent-weighted mean ≠ plain mean.
    x = np.r_[np.zeros(50), np.ones(50)][:, None] * np.array([[1.0, 2.0]])
    halflife = 5.0
    w = ewma_weights(100, halflife)
    mu = w @ x
    expected = ((x - mu) * w[:, None]).T @ (x - mu)
    np.testing.assert_allclose(ewma_covariance(x, halflife), expected, rtol=1e-12)
    # Weighted mean is close to the recent regime's value (1, 2), far from the plain mean.
    assert mu[0] > 0.99


def test_ewma_with_infinite_halflife_is_the_sample_covariance():
    returns = make_returns()
    est = EWMACovariance(halflife=1e15).fit(returns)
    expected = EmpiricalCovariance().fit(returns.to_numpy()).covariance_ * 252
    assert rel_err(est.covariance_.to_numpy(), expected) < 1e-9
    assert est.effective_n_samples_ == pytest.approx(300, rel=1e-9)


def test_ewma_estimator_annualizes_and_stores_square_root():
    returns = make_returns()
    est = EWMACovariance(halflife=21).fit(returns)
    daily = ewma_covariance(returns, 21).to_numpy()
    assert rel_err(est.risk_model_.covariance().to_numpy(), daily * 252) < 1e-10
    assert rel_err(est.covariance_.to_numpy(), daily * 252) < 1e-15
    # Kish effective sample size ≈ 2·halflife/ln 2 for a long window.
    assert est.effective_n_samples_ == pytest.approx(2 * 21 / np.log(2), rel=0.01)


# ----------------------------------------------------------------------------- validation


def test_non_finite_returns_name_asset_and_date():
    returns = make_returns()
    returns.iloc[7, 3] = np.nan
    returns.iloc[9, 0] = np.inf
    with pytest.raises(DataError, match=r"2 missing or non-finite value\(s\), e\.g\. A003 on 2021-01-13, A000 on 2021-01-15"):
        SampleCovariance().fit(returns)


def test_too_few_rows_is_a_data_error():
    with pytest.raises(DataError, match="needs at least 2 dates of returns, got 1"):
        LedoitWolfCovariance().fit(make_returns().iloc[:1])


def test_non_dataframe_and_duplicate_columns_are_rejected():
    returns = make_returns()
    with pytest.raises(DataError, match="must be a pandas DataFrame"):
        OASCovariance().fit(returns.to_numpy())
    dup = returns.rename(columns={"A001": "A000"})
    with pytest.raises(DataError, match=r"duplicate asset columns \['A000'\]"):
        OASCovariance().fit(dup)
    text = returns.astype(object)
    text.iloc[0, 0] = "n/a"
    with pytest.raises(DataError, match="must be numeric"):
        OASCovariance().fit(text)


def test_risk_model_from_covariance_rejects_non_psd():
    bad = pd.DataFrame([[1.0, 2.0], [2.0, 1.0]], index=["A", "B"], columns=["A", "B"])
    with pytest.raises(DataError, match="not positive semidefinite"):
        risk_model_from_covariance(bad)
    good = pd.DataFrame([[4.0, 0.0], [0.0, 1.0]], index=["A", "B"], columns=["A", "B"])
    model = risk_model_from_covariance(good, name="toy")
    np.testing.assert_allclose(model.covariance().to_numpy(), good.to_numpy(), atol=1e-15)
    assert model.volatility(np.array([1.0, 0.0])) == pytest.approx(2.0)
