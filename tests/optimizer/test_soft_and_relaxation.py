"""Soft constraints (penalty, dead-band) and priority relaxation of infeasible jobs."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
import yaml

from trimtab import optimizer
from trimtab.constraints import loads_job
from trimtab.optimizer import InfeasibleError


def _run(toy, rules, **top):
    snapshot, model = toy
    return optimizer.optimize(loads_job(yaml.safe_dump({"constraints": rules, **top})), snapshot=snapshot, risk_model=model)


def _value_exposure(toy, result):
    snapshot, _ = toy
    return float(snapshot.characteristics["value"] @ (result.weights - snapshot.benchmark_weights))


def test_soft_rule_trades_violation_against_te(toy):
    hard = _run(toy, [{"factor_exposure": {"factor": "value", "min": 0.5}}])
    shadow = next(r.dual for r in hard.diagnostics.constraints if r.kind == "factor_exposure") * optimizer.OBJECTIVE_SCALE
    shortfalls, tes = [], []
    for penalty in (0.1 * shadow, 0.3 * shadow, 0.6 * shadow, 1.5 * shadow):
        result = _run(toy, [{"factor_exposure": {"factor": "value", "min": 0.5, "soft": {"penalty": float(penalty)}}}])
        report = next(r for r in result.diagnostics.constraints if r.kind == "factor_exposure")
        shortfall = max(0.0, 0.5 - _value_exposure(toy, result))
        assert report.mode == "soft" and report.violation == pytest.approx(shortfall, abs=1e-9)
        shortfalls.append(shortfall)
        tes.append(result.diagnostics.tracking_error)
    # Below the rule's shadow price the rule bends, less as the penalty grows, at a higher TE…
    assert shortfalls[0] > shortfalls[1] > shortfalls[2] > 0.01
    assert tes[0] < tes[1] < tes[2]
    # …above it the L1 penalty is exact: the soft rule holds and the hard optimum is found.
    assert shortfalls[3] < 1e-7
    assert tes[3] == pytest.approx(hard.diagnostics.tracking_error, rel=1e-6)


def test_deadband_is_free(toy):
    result = _run(toy, [{"factor_exposure": {"factor": "value", "min": 0.3, "soft": {"penalty": 1e5, "deadband": 0.1}}}])
    # Minimum TE wants no tilt; the penalty starts below 0.3 - 0.1, so the tilt stops at 0.2.
    assert _value_exposure(toy, result) == pytest.approx(0.2, abs=1e-4)


CONFLICT = [
    {"group_weight": {"group": "TOP5", "max": 0.05, "priority": 2}},
    {"turnover": {"max": 0.05, "priority": 1}},
]


def _least(toy, objective, constraint):
    """Independent check: the least ``objective`` subject to budget, long-only and ``constraint``."""
    snapshot, _ = toy
    w = cp.Variable(snapshot.n_assets)
    w0 = snapshot.holdings.to_numpy()
    cp.Problem(cp.Minimize(objective(w, w0)), [cp.sum(w) == 1, w >= 0, constraint(w, w0)]).solve(solver=cp.CLARABEL)
    return float(objective(w, w0).value)


def test_infeasible_without_permission_even_with_priorities(toy):
    with pytest.raises(InfeasibleError):
        _run(toy, CONFLICT)


def test_lowest_priority_bends_first_and_by_the_minimum(toy):
    result = _run(toy, CONFLICT, allow_relaxation=True)
    w, w0 = result.weights, toy[0].holdings
    assert w.iloc[:5].sum() <= 0.05 + 1e-6  # priority 2 holds
    needed = _least(toy, lambda w, w0: cp.norm1(w - w0), lambda w, w0: cp.sum(w[:5]) <= 0.05)
    assert (w - w0).abs().sum() == pytest.approx(needed, abs=1e-5)  # priority 1 bends just enough
    relaxed = result.summary()["relaxed"]
    assert [r["kind"] for r in relaxed] == ["turnover"]
    assert relaxed[0]["violation"] == pytest.approx(needed - 0.05, abs=1e-5)


def test_swapping_priorities_swaps_what_bends(toy):
    swapped = [
        {"group_weight": {"group": "TOP5", "max": 0.05, "priority": 1}},
        {"turnover": {"max": 0.05, "priority": 2}},
    ]
    result = _run(toy, swapped, allow_relaxation=True)
    w, w0 = result.weights, toy[0].holdings
    assert (w - w0).abs().sum() <= 0.05 + 1e-6
    needed = _least(toy, lambda w, w0: cp.sum(w[:5]), lambda w, w0: cp.norm1(w - w0) <= 0.05)
    assert w.iloc[:5].sum() == pytest.approx(needed, abs=1e-5)
    assert [r["kind"] for r in result.summary()["relaxed"]] == ["group_weight"]


def test_rules_without_priority_never_bend(toy):
    rules = [{"group_weight": {"group": "TOP5", "max": 0.05}}, {"turnover": {"max": 0.05}}]
    with pytest.raises(InfeasibleError):
        _run(toy, rules, allow_relaxation=True)


def test_a_feasible_job_relaxes_nothing(toy):
    result = _run(toy, [{"turnover": {"max": 0.5, "priority": 1}}], allow_relaxation=True)
    assert result.summary()["relaxed"] == []
    assert all(r.mode == "hard" for r in result.diagnostics.constraints)
    assert np.isfinite(result.diagnostics.tracking_error)


def test_relaxation_keeps_the_trading_costs_in_the_objective(toy):
    costs = {"risk_aversion": 2.0, "linear_bps": 50.0}
    conflict = [
        {"group_weight": {"group": "TOP5", "min": 0.30, "priority": 2}},
        {"group_weight": {"group": "TOP5", "max": 0.25, "priority": 1}},
    ]
    result = _run(toy, conflict, allow_relaxation=True, costs=costs)
    bend = result.summary()["relaxed"][0]["violation"]
    assert bend == pytest.approx(0.05, abs=1e-6)
    # the relaxed job equals the same job with the bent bound set where relaxation put it
    direct = _run(toy, [conflict[0], {"group_weight": {"group": "TOP5", "max": 0.25 + bend}}], costs=costs)
    np.testing.assert_allclose(result.weights.to_numpy(), direct.weights.to_numpy(), atol=1e-5)
    # and the costs shaped it: it trades less than the relaxed answer without costs
    costless = _run(toy, conflict, allow_relaxation=True)
    assert result.diagnostics.turnover < costless.diagnostics.turnover - 0.01


def test_a_relaxed_re_solve_compiles_its_new_problem_with_constant_data(toy):
    # the relaxed problem is built anew at every solve, so a parametric compile would never be reused
    snapshot, model = toy
    job = loads_job(yaml.safe_dump({"constraints": CONFLICT, "allow_relaxation": True}))
    prepared = optimizer.prepare(job, snapshot=snapshot, risk_model=model)
    first, again = prepared.solve(), prepared.solve()
    compiled = prepared.problem
    relaxed = compiled.session(compiled.solved)
    assert compiled.solved is not compiled.problem  # the last solve was the relaxed problem
    assert relaxed.constant_solves >= 1 and relaxed.parametric_solves == 0
    np.testing.assert_allclose(again.weights.to_numpy(), first.weights.to_numpy(), atol=1e-9)
    assert [r["kind"] for r in again.summary()["relaxed"]] == ["turnover"]
