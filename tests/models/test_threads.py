"""BLAS threads: capped for the small and the thin algebra, restored afterwards (counted through
threadpoolctl, not timed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sklearn.decomposition
from threadpoolctl import threadpool_info, threadpool_limits

from trimtab.models import (
    FundamentalFactorModel,
    StatisticalFactorModel,
    _factor_math,
    blas_threads,
    cross_sectional_regression,
    small_problem_threads,
)
from trimtab.models._threads import SMALL_PROBLEM_ELEMENTS


def blas_threads_now() -> int:
    """The most threads any loaded BLAS may use (some, e.g. a solver's bundled one, are single-threaded)."""
    return max(pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas")


@pytest.fixture
def two_threads():
    with threadpool_limits(2, user_api="blas"):
        if blas_threads_now() != 2:
            pytest.skip("BLAS runs on one thread here; nothing to cap")
        yield


def test_blas_threads_caps_and_restores(two_threads):
    with blas_threads(1):
        assert blas_threads_now() == 1
        with blas_threads(None):  # no cap: the enclosing one stays
            assert blas_threads_now() == 1
    assert blas_threads_now() == 2


def test_small_problems_run_on_one_thread():
    assert small_problem_threads(756, 500) == 1
    assert small_problem_threads(756, 2_000) == 1 and 756 * 2_000 == SMALL_PROBLEM_ELEMENTS
    assert small_problem_threads(756, 10_000) is None


def test_the_factor_models_algebra_runs_on_one_thread(two_threads, monkeypatch):
    seen = []
    solve, pca = _factor_math.solve_triangular, sklearn.decomposition.PCA

    def spying_solve(*args, **kwargs):
        seen.append(("regression", blas_threads_now()))
        return solve(*args, **kwargs)

    class SpyingPCA(pca):
        def fit(self, x, y=None):
            seen.append((self.svd_solver, blas_threads_now()))
            return super().fit(x, y)

    monkeypatch.setattr(_factor_math, "solve_triangular", spying_solve)
    monkeypatch.setattr(sklearn.decomposition, "PCA", SpyingPCA)  # _factor_math imports it when it fits
    rng = np.random.default_rng(0)
    ids = [f"A{i:04d}" for i in range(3_000)]  # a window above the "small" size: thin algebra is capped anyway
    returns = pd.DataFrame(rng.normal(0, 0.02, (260, 3_000)), index=pd.bdate_range("2024-01-01", periods=260), columns=ids)
    cross_sectional_regression(returns.to_numpy(), rng.normal(size=(3_000, 4)), np.full(3_000, 1 / 3_000))
    StatisticalFactorModel(n_factors=5).fit(returns)
    FundamentalFactorModel().fit(
        returns, sectors=pd.Series(rng.choice(list("ABC"), 3_000), index=ids),
        styles=pd.DataFrame(index=ids), market_caps=pd.Series(rng.lognormal(23, 1, 3_000), index=ids),
    )
    assert seen == [("regression", 1), ("arpack", 1), ("regression", 1)]
    assert blas_threads_now() == 2


def test_a_small_full_covariance_fit_runs_on_one_thread(two_threads, monkeypatch):
    from trimtab.models import LedoitWolfCovariance, _covariance

    seen, assemble = [], _covariance.risk_model_from_covariance

    def spying(*args, **kwargs):
        seen.append(blas_threads_now())
        return assemble(*args, **kwargs)

    monkeypatch.setattr(_covariance, "risk_model_from_covariance", spying)
    rng = np.random.default_rng(1)
    LedoitWolfCovariance().fit(pd.DataFrame(rng.normal(0, 0.02, (100, 30))))
    assert seen == [1] and blas_threads_now() == 2
