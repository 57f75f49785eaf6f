"""The compiled problem: re-solves through parameters, distrusts the solver, explains infeasibility."""

from __future__ import annotations

import dataclasses

import cvxpy as cp
import numpy as np
import pandas as pd
import pytest

from trimtab import optimizer
from trimtab.constraints import DataView, UniverseInfo, loads_job
from trimtab.optimizer import InfeasibleError, SolverFailedError, compiled_problem

JOB = """
name: toy
constraints:
  - group_weight: {group: TOP5, max: benchmark - 0.05}
  - factor_exposure: {factor: value, min: 0.2}
  - turnover: {max: 0.5}
  - asset_weight: {max: benchmark + 0.02}
"""


def _problem(job, snapshot, model):
    return compiled_problem(UniverseInfo.from_data(snapshot, model), model.n_factors, job.effective_constraints)


def test_optimum_obeys_every_rule_and_reports_true_te(toy):
    snapshot, model = toy
    result = optimizer.optimize(loads_job(JOB), snapshot=snapshot, risk_model=model)
    w, wb, w0 = result.weights, snapshot.benchmark_weights, snapshot.holdings
    assert result.diagnostics.status == "optimal"
    assert w[list(snapshot.groups["TOP5"])].sum() <= wb.iloc[:5].sum() - 0.05 + 1e-7
    assert snapshot.characteristics["value"] @ (w - wb) >= 0.2 - 1e-7
    assert (w - w0).abs().sum() <= 0.5 + 1e-7
    assert (w <= wb + 0.02 + 1e-7).all() and w.min() >= -1e-8 and abs(w.sum() - 1) < 1e-8
    a = (w - wb).to_numpy()
    te = np.sqrt(a @ model.covariance().to_numpy() @ a)
    assert result.diagnostics.tracking_error == pytest.approx(te, rel=1e-12)
    d = result.diagnostics
    assert d.factor_tracking_error**2 + d.specific_tracking_error**2 == pytest.approx(te**2, rel=1e-10)
    assert d.active_share == pytest.approx(0.5 * np.abs(a).sum())
    assert d.groups["TOP5"]["target"] == pytest.approx(w.iloc[:5].sum())
    assert d.sectors["target"].sum() == pytest.approx(1.0)
    assert d.active_exposures["value"] == pytest.approx(snapshot.characteristics["value"] @ a)


def test_binding_constraints_have_positive_duals_and_zero_slack(toy):
    snapshot, model = toy
    result = optimizer.optimize(loads_job(JOB), snapshot=snapshot, risk_model=model)
    reports = {r.kind: r for r in result.diagnostics.constraints}
    group = reports["group_weight"]
    assert group.binding and abs(group.slack) < 1e-6 and group.dual > 0
    assert group.row == "TOP5" and group.bound == pytest.approx(snapshot.benchmark_weights.iloc[:5].sum() - 0.05)
    loose = [r for r in result.diagnostics.constraints if r.slack > 1e-3]
    assert all(r.dual < 1e-8 and not r.binding for r in loose)


def test_dual_matches_a_finite_difference_of_active_variance(toy):
    snapshot, model = toy
    job = loads_job(JOB)
    base = optimizer.optimize(job, snapshot=snapshot, risk_model=model)
    bumped_job = loads_job(JOB.replace("benchmark - 0.05", "benchmark - 0.049"))
    bumped = optimizer.optimize(bumped_job, snapshot=snapshot, risk_model=model)
    dual = next(r.dual for r in base.diagnostics.constraints if r.kind == "group_weight")
    slope = (base.diagnostics.tracking_error**2 - bumped.diagnostics.tracking_error**2) / 0.001
    assert dual == pytest.approx(slope, rel=0.05)


def test_compiled_once_and_resolved_with_new_data(toy):
    snapshot, model = toy
    job = loads_job(JOB)
    first = _problem(job, snapshot, model)
    assert _problem(job, snapshot, model) is first
    assert _problem(loads_job(JOB.replace("0.5", "0.6")), snapshot, model) is not first
    # New holdings (another date): same compiled problem, same answer as a fresh build.
    rng = np.random.default_rng(3)
    holdings = snapshot.benchmark_weights * np.exp(rng.normal(0, 0.1, snapshot.n_assets))
    moved = dataclasses.replace(snapshot, holdings=holdings / holdings.sum())
    reused = first.solve(DataView(moved, model), job.solver).weights
    fresh = optimizer.CompiledProblem(first.universe, model.n_factors, job.effective_constraints)
    assert np.allclose(reused, fresh.solve(DataView(moved, model), job.solver).weights, atol=1e-7)


def test_solver_word_is_not_trusted(toy, monkeypatch):
    snapshot, model = toy
    job = loads_job(JOB)
    problem = _problem(job, snapshot, model)

    def lying_solve(target, name, options, **how):
        problem.context.weights.value = snapshot.benchmark_weights.to_numpy()  # violates TOP5 and value
        target._status = cp.OPTIMAL  # noqa: SLF001 - simulate a solver claiming success

    monkeypatch.setattr(problem, "run_solver", lying_solve)
    with pytest.raises(SolverFailedError) as info:
        problem.solve(DataView(snapshot, model), job.solver)
    message = str(info.value)
    assert "TOP5 weight <= benchmark - 0.05" in message and "value active exposure >= 0.2" in message
    assert "CLARABEL: optimal but violates" in message and "SCS: optimal but violates" in message


def test_falls_back_to_the_next_solver(toy, monkeypatch):
    snapshot, model = toy
    job = loads_job(JOB)
    problem = _problem(job, snapshot, model)
    real_solve = problem.run_solver

    def flaky(target, name, options, **how):
        if name == "CLARABEL":
            raise cp.error.SolverError("simulated crash")
        return real_solve(target, name, options, **how)

    monkeypatch.setattr(problem, "run_solver", flaky)
    solution = problem.solve(DataView(snapshot, model), job.solver)
    assert solution.solver == "SCS"
    # Clarabel is tried four ways on a quadratic program (see optimizer/_solver_attempts.py), then the fallback.
    assert [a.split(":")[0] for a in solution.attempts] == ["CLARABEL"] * 4 + ["SCS"]
    assert solution.attempts[0].startswith("CLARABEL: failed (simulated crash")
    assert solution.attempts[4].startswith("SCS: optimal")


def test_infeasible_job_names_the_conflict(toy):
    snapshot, model = toy
    job = loads_job("""
constraints:
  - group_weight: {group: TOP5, max: 0.05}
  - turnover: {max: 0.05}
  - factor_exposure: {factor: quality, max: 5}
""")
    with pytest.raises(InfeasibleError) as info:
        optimizer.optimize(job, snapshot=snapshot, risk_model=model)
    err = info.value
    text = str(err)
    assert "TOP5 weight <= 0.05" in text and "turnover (two-way) <= 0.05" in text
    assert "quality" not in text  # a loose rule is not blamed
    assert {m.kind for m in err.diagnosis.conflict} == {"group_weight", "turnover"}


def test_min_te_only_returns_the_benchmark(toy):
    snapshot, model = toy
    result = optimizer.optimize(loads_job("constraints: []"), snapshot=snapshot, risk_model=model)
    assert np.abs(result.weights - snapshot.benchmark_weights).max() < 1e-6
    assert result.diagnostics.tracking_error < 1e-6
    # TE is zero to rounding: ∂TE/∂bound is not defined (no ratio of two rounding noises is reported)
    assert result.diagnostics.tracking_error < optimizer._reports.ZERO_TRACKING_ERROR
    for report in result.diagnostics.constraints:
        assert report.marginal_te == 0.0 if report.dual == 0.0 else np.isnan(report.marginal_te), report


def test_result_tables(toy):
    snapshot, model = toy
    result = optimizer.optimize(loads_job(JOB), snapshot=snapshot, risk_model=model)
    frame = result.to_frame()
    assert list(frame.index) == sorted(snapshot.asset_ids)
    assert np.allclose(frame["active_weight"], frame["target_weight"] - frame["benchmark_weight"])
    html = result._repr_html_()
    assert "Tracking error" in html and "TOP5" in html and "<table" in html
    constraints = result.diagnostics.constraints_frame()
    assert list(constraints["kind"]) == ["budget", "long_only", "group_weight", "factor_exposure", "turnover", "asset_weight"]
    assert isinstance(result.summary()["constraints"][0]["dual"], float)
    assert isinstance(result.weights, pd.Series) and result.weights.index.equals(snapshot.asset_ids)


def test_job_groups_apply_to_a_snapshot_passed_in(toy):
    snapshot, model = toy
    job = loads_job("""
data:
  groups:
    PAIR: [T003, T004]
constraints:
  - group_weight: {group: PAIR, max: 0.02}
""")
    result = optimizer.optimize(job, snapshot=snapshot, risk_model=model)
    assert result.weights[["T003", "T004"]].sum() <= 0.02 + 1e-7
    assert result.diagnostics.groups["PAIR"]["target"] == pytest.approx(result.weights[["T003", "T004"]].sum())


def test_a_problem_that_is_not_dpp_is_refused_at_its_first_parametric_solve(toy, monkeypatch):
    # a rule built wrongly (a product of parameters times a variable) is a bug, named before CVXPY would
    # silently fall back to recompiling at every solve
    snapshot, model = toy
    job = loads_job("constraints:\n  - turnover: {max: 0.3}\n")
    prepared = optimizer.prepare(job, snapshot=snapshot, risk_model=model)
    scale, x = cp.Parameter(nonneg=True, value=1.0), cp.Variable()
    monkeypatch.setattr(prepared.problem, "problem", cp.Problem(cp.Minimize(scale * scale * x), [x >= 0]))
    with pytest.raises(SolverFailedError, match="internal error: problem is not DPP"):
        prepared.solve()
