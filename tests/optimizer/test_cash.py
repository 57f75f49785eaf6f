"""Cash: weights sum to 1 − cash, cash in [min, max], and cash costs tracking error."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
import yaml

from trimtab import optimizer
from trimtab.constraints import SpecError, loads_job


def _run(toy, rules):
    snapshot, model = toy
    return optimizer.optimize(loads_job(yaml.safe_dump({"constraints": rules})), snapshot=snapshot, risk_model=model)


def _least_te(toy, cash_min, cash_max, value_min=None):
    """Independent cvxpy check with a dense covariance: min TE s.t. cash in range (and a value tilt)."""
    snapshot, model = toy
    cov = model.covariance().to_numpy()
    wb = snapshot.benchmark_weights.to_numpy()
    w = cp.Variable(snapshot.n_assets)
    cash = 1 - cp.sum(w)
    rules = [w >= 0, cash >= cash_min, cash <= cash_max]
    if value_min is not None:
        rules.append(snapshot.characteristics["value"].to_numpy() @ (w - wb) >= value_min)
    problem = cp.Problem(cp.Minimize(cp.quad_form(w - wb, cp.psd_wrap(cov))), rules)
    problem.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    return np.sqrt(problem.value), w.value


def test_minimum_cash_is_held_and_costs_te(toy):
    result = _run(toy, [{"cash": {"min": 0.03, "max": 0.10}}])
    w = result.weights
    # Min TE wants no cash: the floor binds.
    assert 1 - w.sum() == pytest.approx(0.03, abs=1e-8)
    assert result.diagnostics.cash == pytest.approx(0.03, abs=1e-8)
    assert w.min() >= 0
    te, w_ref = _least_te(toy, 0.03, 0.10)
    assert result.diagnostics.tracking_error == pytest.approx(te, abs=1e-8)
    assert np.abs(w.to_numpy() - w_ref).max() < 1e-5
    report = next(r for r in result.diagnostics.constraints if r.kind == "cash")
    assert report.binding and report.value == pytest.approx(0.03, abs=1e-8)
    assert result.summary()["cash"] == pytest.approx(0.03, abs=1e-8)


def test_cash_range_with_a_tilt_matches_dense_check(toy):
    result = _run(toy, [{"cash": {"min": 0.0, "max": 0.05}}, {"factor_exposure": {"factor": "value", "min": 0.3}}])
    te, w_ref = _least_te(toy, 0.0, 0.05, value_min=0.3)
    assert result.diagnostics.tracking_error == pytest.approx(te, abs=1e-8)
    assert 0 - 1e-8 <= result.diagnostics.cash <= 0.05 + 1e-8
    assert np.abs(result.weights.to_numpy() - w_ref).max() < 1e-5


def test_without_cash_rule_the_portfolio_is_fully_invested(toy):
    result = _run(toy, [{"factor_exposure": {"factor": "value", "min": 0.3}}])
    assert result.weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert result.diagnostics.cash == 0.0
    assert [c.key for c in loads_job("constraints: [{cash: {max: 0.05}}]").effective_constraints] == ["long_only", "cash"]


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ("[{budget: {}}, {cash: {max: 0.05}}]", "'cash' replaces 'budget'"),
        ("[{cash: {max: 0.05}}, {cash: {max: 0.02}}]", "'cash' is given twice"),
        ("[{cash: {min: 0.06, max: 0.05}}]", "min (0.06) is above max (0.05)"),
        ("[{cash: {max: 0.05, priority: 1}}]", "structural"),
        ("[{cash: {min: 0.01}}]", "missing required key 'max'"),
    ],
)
def test_bad_cash_rules_are_located(rules, message):
    with pytest.raises(SpecError) as caught:
        loads_job(f"name: cashy\nconstraints: {rules}\n", source="job.yaml")
    assert message in str(caught.value)
    assert caught.value.file == "job.yaml" and caught.value.line == 2


def test_diagnosis_names_cash_as_the_basis(toy):
    snapshot, model = toy
    job = loads_job(yaml.safe_dump({"constraints": [{"cash": {"min": 0.5, "max": 0.6}}, {"tracking_error": {"max": 0.01}}]}))
    diagnosis = optimizer.diagnose(job, snapshot=snapshot, risk_model=model)
    assert not diagnosis.feasible
    assert "(with long-only and cash)" in diagnosis.message
    assert [m.kind for m in diagnosis.conflict] == ["tracking_error"]
