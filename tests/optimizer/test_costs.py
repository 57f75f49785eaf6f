"""Trading costs in the objective: linear bps and square-root market impact."""

from __future__ import annotations

import dataclasses

import cvxpy as cp
import numpy as np
import pytest
import yaml

from trimtab import optimizer
from trimtab.constraints import SpecError, loads_job
from trimtab.models import DataError

RULES = [{"factor_exposure": {"factor": "value", "min": 0.3}}, {"group_weight": {"group": "TOP5", "max": "benchmark - 0.05"}}]
COSTS = {"risk_aversion": 50.0, "linear_bps": 20.0, "impact": {"coefficient": 0.8, "nav": 2.0e9}}


def _run(toy, costs, snapshot=None):
    snap, model = toy
    job = loads_job(yaml.safe_dump({"constraints": RULES, **({"costs": costs} if costs else {})}))
    return optimizer.optimize(job, snapshot=snapshot or snap, risk_model=model)


def _rates(snapshot, model):
    daily_vol = np.sqrt(np.diag(model.covariance().to_numpy()) / 252)
    dollar_volume = (snapshot.assets["price"] * snapshot.assets["adv"]).to_numpy()
    return np.full(snapshot.n_assets, 20e-4), 0.8 * daily_vol * np.sqrt(2.0e9 / dollar_volume)


def test_costs_cut_trading_and_are_reported(toy):
    snapshot, model = toy
    free = _run(toy, None)
    costly = _run(toy, COSTS)
    w0 = snapshot.holdings
    assert (costly.weights - w0).abs().sum() < (free.weights - w0).abs().sum() - 0.01
    linear, impact = _rates(snapshot, model)
    t = np.abs(costly.weights.to_numpy() - w0.to_numpy())
    costs = costly.diagnostics.costs
    assert costs["linear"] == pytest.approx(linear @ t, rel=1e-9)
    assert costs["impact"] == pytest.approx(impact @ t**1.5, rel=1e-9)
    assert costs["total"] == pytest.approx(costs["linear"] + costs["impact"])
    assert costly.summary()["costs"] == costs and free.summary()["costs"] is None


def test_same_optimum_as_a_dense_formulation(toy):
    snapshot, model = toy
    result = _run(toy, COSTS)
    cov = model.covariance().to_numpy()
    wb, w0 = snapshot.benchmark_weights.to_numpy(), snapshot.holdings.to_numpy()
    x = snapshot.characteristics["value"].to_numpy()
    linear, impact = _rates(snapshot, model)
    w = cp.Variable(snapshot.n_assets)
    objective = 25.0 * cp.quad_form(w - wb, cov) + linear @ cp.abs(w - w0) + impact @ cp.power(cp.abs(w - w0), 1.5)
    rules = [cp.sum(w) == 1, w >= 0, x @ (w - wb) >= 0.3, cp.sum(w[:5]) <= wb[:5].sum() - 0.05]
    cp.Problem(cp.Minimize(objective), rules).solve(solver=cp.CLARABEL)
    assert np.abs(result.weights.to_numpy() - w.value).max() < 1e-5


def test_missing_volume_for_impact_is_named(toy):
    snapshot, _ = toy
    assets = snapshot.assets.copy()
    assets.loc["T007", "adv"] = np.nan
    broken = dataclasses.replace(snapshot, assets=assets)
    with pytest.raises(DataError, match=r"costs.impact needs price and adv .*\['T007'\]"):
        _run(toy, COSTS, snapshot=broken)


def test_per_name_cost_column(toy):
    snapshot, model = toy
    assets = snapshot.assets.assign(cost_bps=np.where(np.arange(snapshot.n_assets) < 5, 500.0, 1.0))
    with_column = dataclasses.replace(snapshot, assets=assets)
    result = _run(toy, {"linear_bps_column": "cost_bps"}, snapshot=with_column)
    base = _run(toy, {"linear_bps": 1.0}, snapshot=with_column)
    top5_trade = lambda r: np.abs(r.weights.to_numpy()[:5] - snapshot.holdings.to_numpy()[:5]).sum()  # noqa: E731
    assert top5_trade(result) < top5_trade(base)  # expensive names are traded less
    with pytest.raises(SpecError, match=r"costs.linear_bps_column: unknown universe column 'nope'"):
        _run(toy, {"linear_bps_column": "nope"}, snapshot=with_column)


def test_market_impact_is_solved_to_the_tight_tolerances_in_one_solve(toy):
    # |t|^1.5 as exact power cones: CVXPY's second-order-cone representation ended every tight
    # attempt `optimal_inaccurate` (three solves, and rules met only to ~1e-7)
    result = _run(toy, COSTS)
    assert result.diagnostics.attempts == ("CLARABEL: optimal",)
    assert min(r.slack for r in result.diagnostics.constraints if r.mode == "hard") > -1e-9
