"""The factor models' math at scale gives the old answers: PCA by ARPACK vs the full SVD, the
cross-sectional regressions by one QR vs scikit-learn's LinearRegression (references kept here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sklearn.decomposition
from scipy.sparse.linalg import ArpackNoConvergence
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression

from trimtab.models import FundamentalFactorModel, StatisticalFactorModel, _factor_math, cross_sectional_regression
from trimtab.models._errors import DataError
from trimtab.models._factor_math import PCA_FULL_SVD_MAX_DIM, pca_factors, pca_solver


def smooth_spectrum_returns(t: int, n: int, seed: int = 0) -> pd.DataFrame:
    """Returns whose eigenvalues decay smoothly (no clean gap after the 10th): the hard case for truncated SVDs."""
    rng = np.random.default_rng(seed)
    loadings = rng.normal(size=(n, 40)) * 0.9 ** np.arange(40)
    values = rng.normal(0.0, 0.01, (t, 40)) @ loadings.T + rng.standard_t(5, (t, n)) * 0.02
    return pd.DataFrame(values, index=pd.bdate_range("2020-01-01", periods=t), columns=[f"A{i:04d}" for i in range(n)])


# ----------------------------------------------------------------------------- PCA


def test_solver_is_chosen_by_size():
    small = PCA_FULL_SVD_MAX_DIM
    assert pca_solver(756, 500, 10) == "arpack"
    assert pca_solver(756, 10_000, 10) == "arpack"
    assert pca_solver(small, 10_000, 10) == "full"  # short side at the threshold: the full SVD is instant
    assert pca_solver(756, 60, 10) == "full"
    assert pca_solver(756, 500, 300) == "full"  # ARPACK needs room beyond 2k + 1
    assert pca_solver(756, 60, 10, "arpack") == "arpack"
    assert pca_solver(756, 500, 10, "full") == "full"
    with pytest.raises(ValueError, match="svd_solver"):
        pca_solver(756, 500, 10, "randomized")


@pytest.mark.parametrize("shape", [(300, 250), (260, 900)])
def test_arpack_gives_the_full_svds_eigenvalues_axes_and_risk(shape):
    returns = smooth_spectrum_returns(*shape)
    full = StatisticalFactorModel(svd_solver="full").fit(returns)
    auto = StatisticalFactorModel().fit(returns)
    assert auto.pca_.svd_solver == "arpack" and full.pca_.svd_solver == "full"
    # the same eigenvalues (explained variances), axes (signs included) and factor returns
    np.testing.assert_allclose(auto.pca_.explained_variance_, full.pca_.explained_variance_, rtol=1e-10, atol=0)
    np.testing.assert_allclose(auto.explained_variance_ratio_, full.explained_variance_ratio_, rtol=1e-10, atol=0)
    np.testing.assert_allclose(auto.exposures_.to_numpy(), full.exposures_.to_numpy(), rtol=0, atol=1e-9)
    np.testing.assert_allclose(auto.factor_returns_.to_numpy(), full.factor_returns_.to_numpy(), rtol=0, atol=1e-10)
    a, b = auto.risk_model_, full.risk_model_
    np.testing.assert_allclose(a.specific_vol, b.specific_vol, rtol=1e-10)
    active = np.random.default_rng(1).normal(0.0, 1e-3, shape[1])
    assert a.volatility(active) == pytest.approx(b.volatility(active), rel=1e-10, abs=1e-12)


def test_pca_is_deterministic():
    returns = smooth_spectrum_returns(300, 250, seed=3)
    one, two = StatisticalFactorModel().fit(returns), StatisticalFactorModel().fit(returns)
    np.testing.assert_array_equal(one.exposures_.to_numpy(), two.exposures_.to_numpy())
    np.testing.assert_array_equal(one.risk_model_.specific_vol, two.risk_model_.specific_vol)


def test_arpack_that_does_not_converge_falls_back_to_the_full_svd(monkeypatch):
    returns = smooth_spectrum_returns(300, 250).to_numpy()
    solvers = []

    class FailingArpack(PCA):
        def fit(self, x, y=None):
            solvers.append(self.svd_solver)
            if self.svd_solver == "arpack":
                raise ArpackNoConvergence("no convergence", np.zeros(0), np.zeros((0, 0)))
            return super().fit(x, y)

    monkeypatch.setattr(sklearn.decomposition, "PCA", FailingArpack)  # _factor_math imports it when it fits
    pca, loadings, _, _ = pca_factors(returns, 10)
    assert solvers == ["arpack", "full"] and pca.svd_solver == "full"
    reference = PCA(n_components=10, svd_solver="full").fit(returns)
    np.testing.assert_allclose(loadings, reference.components_.T, atol=1e-12)


def test_unknown_svd_solver_is_refused_in_fit():
    model = StatisticalFactorModel(svd_solver="randomized")  # stored verbatim
    assert model.get_params()["svd_solver"] == "randomized"
    with pytest.raises(DataError, match=r"svd_solver='randomized' is not one of \['auto', 'full', 'arpack'\]"):
        model.fit(smooth_spectrum_returns(100, 30))


# ----------------------------------------------------------------------------- regressions


def reference_regression(returns: np.ndarray, exposures: np.ndarray, weights: np.ndarray):
    """The old path: one multi-output LinearRegression (LAPACK gelsd) and the inverse-based leverage."""
    reg = LinearRegression(fit_intercept=False).fit(exposures, returns.T, sample_weight=weights)
    factor_returns = np.atleast_2d(reg.coef_).reshape(returns.shape[0], exposures.shape[1])
    weighted = exposures * np.sqrt(weights)[:, None]
    leverage = np.einsum("ij,jk,ik->i", weighted, np.linalg.inv(weighted.T @ weighted), weighted)
    return factor_returns, returns - factor_returns @ exposures.T, leverage


@pytest.mark.parametrize("seed", range(6))
def test_qr_regression_equals_linear_regression(seed):
    rng = np.random.default_rng(seed)
    t, n, sectors = int(rng.integers(30, 300)), int(rng.integers(40, 400)), int(rng.integers(2, 12))
    dummies = np.eye(sectors)[np.r_[np.arange(sectors), rng.integers(0, sectors, n - sectors)]]
    exposures = np.hstack([dummies, rng.normal(size=(n, 3))])
    weights = rng.lognormal(0.0, 1.5, n)
    weights /= weights.sum()
    returns = rng.normal(0.0, 0.02, (t, n))
    f_ref, e_ref, h_ref = reference_regression(returns, exposures, weights)
    f, e = cross_sectional_regression(returns, exposures, weights)
    np.testing.assert_allclose(f, f_ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(e, e_ref, rtol=0, atol=1e-12)
    q, _ = _factor_math.weighted_design_qr(exposures, weights)
    np.testing.assert_allclose(np.einsum("ij,ij->i", q, q), h_ref, rtol=0, atol=1e-12)


def test_fundamental_fit_equals_the_reference_fit():
    rng = np.random.default_rng(11)
    t, n = 300, 200
    ids = pd.Index([f"A{i:03d}" for i in range(n)])
    sectors = pd.Series(rng.choice(list("ABCDEFG"), n), index=ids)
    styles = pd.DataFrame(rng.normal(size=(n, 2)), index=ids, columns=["value", "size"])
    caps = pd.Series(rng.lognormal(23, 1.5, n), index=ids)
    returns = pd.DataFrame(rng.normal(0, 0.02, (t, n)), index=pd.bdate_range("2021-01-01", periods=t), columns=ids)
    model = FundamentalFactorModel().fit(returns, sectors=sectors, styles=styles, market_caps=caps)
    x = model.exposures_.to_numpy()
    f_ref, e_ref, h_ref = reference_regression(returns.to_numpy(), x, model.regression_weights_.to_numpy())
    np.testing.assert_allclose(model.factor_returns_.to_numpy(), f_ref, atol=1e-12)
    np.testing.assert_allclose(model.leverage_.to_numpy(), h_ref, atol=1e-12)
    specific = (e_ref / np.sqrt(np.maximum(1 - h_ref, 1e-3))).std(axis=0, ddof=1) * np.sqrt(252)
    np.testing.assert_allclose(model.risk_model_.specific_vol, np.maximum(specific, 1e-3), rtol=1e-10)
    factor_cov = np.cov(f_ref, rowvar=False) * 252
    cov_sqrt = model.risk_model_.factor_cov_sqrt
    np.testing.assert_allclose(cov_sqrt @ cov_sqrt.T, factor_cov, rtol=1e-9, atol=1e-14)
