"""A backtest through time on the 500-name synthetic history: the same outputs (within 1e-8) as
with the old risk-model path (per-date pandas characteristics, scikit-learn's LinearRegression;
references kept here), every rebalance's characteristics scored in one pass, and the loop's
algebra on one BLAS thread — counted, not timed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from threadpoolctl import threadpool_info, threadpool_limits

from trimtab.constraints import loads_job
from trimtab.models import COMPOSITES, DataError, MarketHistory, load_synthetic_history
from trimtab.models import _factor_models, _history
from trimtab.optimizer.research import _backtest, backtest

JOB = """
name: through_time
risk_model: {method: fundamental, window: 504}
constraints:
  - group_weight: {group: MAG7, max: 0.20}
  - factor_exposure: {factor: value, min: 0.25}
  - turnover: {max: 0.30}
  - asset_weight: {max: benchmark + 0.02}
"""
START, END = "2025-03-31", "2025-09-30"  # six monthly rebalances
OLD_PATH_CALLS: list[str] = []


# ----------------------------------------------------------------------------- the old path


def old_standardize(values: pd.Series, weights: pd.Series) -> pd.Series:
    x = values.astype(float)
    present = x.notna()
    w = weights.reindex(x.index).fillna(0.0)[present]
    mean = float(np.average(x[present], weights=w)) if w.sum() > 0 else float(x[present].mean())
    z = ((x - mean) / float(x[present].std(ddof=0))).fillna(0.0)
    z -= float(np.average(z, weights=weights.reindex(z.index).fillna(0.0)))
    return z / float(z.std(ddof=0))


def old_winsorize(values: pd.Series) -> pd.Series:
    lo, hi = values.quantile([0.01, 0.99])
    return values.clip(lower=lo, upper=hi)


def old_characteristic_tables(self: MarketHistory, ends: np.ndarray) -> list[pd.DataFrame]:
    """Each date alone, with pandas, as ``characteristics_at`` computed it before."""
    OLD_PATH_CALLS.append("characteristics")
    tables = []
    for end in ends:
        date = self.dates[end]
        trading = self.trading_at(date).to_numpy()
        raw, weights = self.assets[trading], self.benchmark_weights_at(date)[trading]
        out = {}
        for name, parts in COMPOSITES.items():
            scores = pd.DataFrame({d: s * old_standardize(old_winsorize(raw[d]), weights) for d, s in parts.items()})
            out[name] = old_standardize(scores.mean(axis=1), weights)
        for d in [d for parts in COMPOSITES.values() for d in parts]:
            out[d] = old_standardize(old_winsorize(raw[d]), weights)
        out["size"] = old_standardize(old_winsorize(np.log(self.market_caps_at(date)[trading])), weights)
        table = pd.DataFrame(out)
        table.index.name = "asset_id"
        tables.append(table)
    return tables


def old_regression(returns, exposures, weights, *, huber=False, design_qr=None):
    OLD_PATH_CALLS.append("regression")
    reg = LinearRegression(fit_intercept=False).fit(exposures, returns.T, sample_weight=weights)
    factor_returns = np.atleast_2d(reg.coef_).reshape(returns.shape[0], exposures.shape[1])
    return factor_returns, returns - factor_returns @ exposures.T


# ----------------------------------------------------------------------------- runs


def blas_threads_now() -> int:
    """The most threads any loaded BLAS may use (cvxpy's SCS bundles a single-threaded one)."""
    return max(pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas")


@pytest.fixture(scope="module")
def runs():
    job = loads_job(JOB)
    patch = pytest.MonkeyPatch()
    try:
        patch.setattr(MarketHistory, "_characteristic_tables", old_characteristic_tables)
        patch.setattr(_factor_models, "cross_sectional_regression", old_regression)
        before = backtest(job, START, END, "monthly", history=load_synthetic_history(7, 7))
        assert OLD_PATH_CALLS.count("regression") == 6 and "characteristics" in OLD_PATH_CALLS
        patch.undo()
        calls, threads = [], []
        scored, optimize = _history.characteristics_over, _backtest.optimize

        def counting(raw, weights, members=None, **kwargs):
            calls.append(len(weights))
            return scored(raw, weights, members, **kwargs)

        def recording(*args, **kwargs):
            threads.append(blas_threads_now())
            return optimize(*args, **kwargs)

        patch.setattr(_history, "characteristics_over", counting)
        patch.setattr(_backtest, "optimize", recording)
        with threadpool_limits(2, user_api="blas"):
            default = blas_threads_now()
            after = backtest(job, START, END, "monthly", history=load_synthetic_history(7, 7))
    finally:
        patch.undo()
    return before, after, calls, threads, default


def test_outputs_are_those_of_the_old_risk_model_path(runs):
    before, after, *_ = runs
    assert len(after.rebalances) == 6 and (after.rebalances["status"] == "optimal").all()
    np.testing.assert_allclose(after.returns.to_numpy(), before.returns.to_numpy(), rtol=0, atol=1e-8)
    np.testing.assert_allclose(after.weights.to_numpy(), before.weights.to_numpy(), rtol=0, atol=1e-8)
    numbers = ["turnover", "cost", "ex_ante_te", "realized_te", "eq_turnover", "eq_cost"]
    np.testing.assert_allclose(after.rebalances[numbers], before.rebalances[numbers], rtol=0, atol=1e-8)
    np.testing.assert_allclose(after.summary().to_numpy(float), before.summary().to_numpy(float), rtol=0, atol=1e-8)


def test_characteristics_of_every_rebalance_are_scored_in_one_pass(runs):
    _, after, calls, *_ = runs
    assert calls == [len(after.rebalances)]  # none per snapshot


def test_the_loop_runs_on_one_blas_thread(runs):
    *_, threads, default = runs
    if default == 1:
        pytest.skip("BLAS runs on one thread here")
    assert threads == [1] * 6


def test_a_window_that_does_not_fit_is_still_refused():
    history = load_synthetic_history(7, 7)
    with pytest.raises(DataError, match="window"):
        backtest(loads_job(JOB.replace("504", "5000")), START, END, "monthly", history=history)
