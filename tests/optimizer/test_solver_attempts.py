"""Which Clarabel settings each problem starts with, and that the faster first attempt gives the same optimum.

A quadratic program starts without iterative refinement (with tax lots, equilibrated too); a
problem with cones does not; a dense covariance is factored with ``faer``. The answers are checked
against raw CVXPY with Clarabel's own defaults (refinement on, QDLDL) on the same data, and the
taxed job's against its refined attempt.
"""

from __future__ import annotations

from pathlib import Path

import cvxpy as cp
import numpy as np
import pytest

import trimtab
from trimtab.constraints import SolverSpec, load_job, loads_job
from trimtab.models import risk_model_from_covariance
from trimtab.optimizer import _clarabel_session, _compile_cache, _solver_attempts
from trimtab.optimizer._solver_attempts import (
    DENSE_LINEAR_ALGEBRA,
    QUADRATIC_FIRST,
    SOLVER_ATTEMPTS,
    TAXED_QUADRATIC_FIRST,
    solver_attempts,
)

from ..toy_data import make_toy

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

JOB = """
name: attempts
constraints:
  - group_weight: {group: TOP5, max: benchmark - 0.05}
  - turnover: {max: 0.5}
  - asset_weight: {max: benchmark + 0.02}
"""


def test_the_order_of_attempts_per_kind_of_problem():
    spec = SolverSpec(name="CLARABEL", fallback=["SCS"])
    clarabel = list(SOLVER_ATTEMPTS["CLARABEL"])
    cone = solver_attempts(spec)
    assert [o for n, o in cone if n == "CLARABEL"] == clarabel and cone[-1] == ("SCS", SOLVER_ATTEMPTS["SCS"][0])
    quadratic = solver_attempts(spec, quadratic=True)
    assert [o for n, o in quadratic if n == "CLARABEL"] == [QUADRATIC_FIRST, *clarabel]
    assert QUADRATIC_FIRST["iterative_refinement_enable"] is False
    assert all("iterative_refinement_enable" not in o for o in clarabel)  # every later attempt refines
    taxed = solver_attempts(spec, quadratic=True, equilibrate_first=True)  # lots: equilibrated first, unrefined
    assert [o for n, o in taxed if n == "CLARABEL"][:2] == [TAXED_QUADRATIC_FIRST, SOLVER_ATTEMPTS["CLARABEL"][1]]
    assert TAXED_QUADRATIC_FIRST == {**QUADRATIC_FIRST, "equilibrate_enable": True}
    taxed_cone = solver_attempts(spec, equilibrate_first=True)  # lots and a cone: equilibrated first, refined
    assert taxed_cone[0][1] == SOLVER_ATTEMPTS["CLARABEL"][1] and "iterative_refinement_enable" not in taxed_cone[0][1]
    dense = solver_attempts(spec, quadratic=True, dense=True)
    assert all(o["direct_solve_method"] == "faer" for n, o in dense if n == "CLARABEL")
    assert "direct_solve_method" not in dense[-1][1]  # SCS untouched


def _first_options(monkeypatch) -> list[dict]:
    seen = []
    original = _clarabel_session.ClarabelSession.solve

    def spy(self, options, **how):
        seen.append(dict(options))
        return original(self, options, **how)

    monkeypatch.setattr(_clarabel_session.ClarabelSession, "solve", spy)
    return seen


def _raw_te(snapshot, covariance: np.ndarray, cap_top5: float) -> tuple[np.ndarray, float]:
    """The same job written by hand in CVXPY on the dense Σ, solved at Clarabel's defaults (refinement on)."""
    wb, w0 = snapshot.benchmark_weights.to_numpy(), snapshot.holdings.to_numpy()
    top5 = np.isin(snapshot.asset_ids, snapshot.groups["TOP5"]).astype(float)
    w = cp.Variable(len(wb))
    problem = cp.Problem(
        cp.Minimize(cp.quad_form(w - wb, cp.psd_wrap(covariance))),
        [cp.sum(w) == 1, w >= 0, top5 @ w <= cap_top5, cp.norm1(w - w0) <= 0.5, w <= wb + 0.02],
    )
    problem.solve(solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    assert problem.status == cp.OPTIMAL
    active = w.value - wb
    return w.value, float(np.sqrt(active @ covariance @ active))


def test_factor_model_qp_starts_without_refinement_and_matches_refined_cvxpy(toy, monkeypatch):
    snapshot, model = toy
    seen = _first_options(monkeypatch)
    _compile_cache._CACHE.clear()
    result = trimtab.optimize(loads_job(JOB), snapshot=snapshot, risk_model=model)
    assert result.diagnostics.attempts == ("CLARABEL: optimal",)
    assert seen[0] == QUADRATIC_FIRST
    cap = snapshot.benchmark_weights[list(snapshot.groups["TOP5"])].sum() - 0.05
    weights, te = _raw_te(snapshot, model.covariance().to_numpy(), cap)
    assert result.diagnostics.tracking_error == pytest.approx(te, abs=1e-9)
    np.testing.assert_allclose(result.weights.to_numpy(), weights, atol=1e-6)


def test_dense_covariance_is_factored_with_faer_and_matches_refined_cvxpy(monkeypatch):
    snapshot, factor_model = make_toy(240, 4, 3)  # ≥ 200 names: the objective is the quadratic on Σ
    model = risk_model_from_covariance(factor_model.covariance(), name="dense")
    assert not np.any(model.specific_vol > 0)
    seen = _first_options(monkeypatch)
    _compile_cache._CACHE.clear()
    prepared = trimtab.prepare(loads_job(JOB), snapshot=snapshot, risk_model=model)
    assert prepared.problem.full_covariance
    result = prepared.solve(one_shot=True)
    assert result.diagnostics.attempts == ("CLARABEL: optimal",)
    assert seen[0] == {**QUADRATIC_FIRST, **DENSE_LINEAR_ALGEBRA}
    cap = snapshot.benchmark_weights[list(snapshot.groups["TOP5"])].sum() - 0.05
    weights, te = _raw_te(snapshot, factor_model.covariance().to_numpy(), cap)
    assert result.diagnostics.tracking_error == pytest.approx(te, abs=1e-9)
    np.testing.assert_allclose(result.weights.to_numpy(), weights, atol=1e-6)


def test_a_taxed_job_starts_equilibrated_without_refinement_and_gives_the_refined_answer(monkeypatch):
    job = load_job(EXAMPLES / "mag7_taxes.yaml")  # the default job with the embedded data's tax lots
    seen = _first_options(monkeypatch)
    _compile_cache._CACHE.clear()
    fast = trimtab.optimize(job)
    assert fast.diagnostics.attempts == ("CLARABEL: optimal",) and seen == [TAXED_QUADRATIC_FIRST]
    monkeypatch.setattr(_solver_attempts, "TAXED_QUADRATIC_FIRST", SOLVER_ATTEMPTS["CLARABEL"][1])  # refined
    _compile_cache._CACHE.clear()
    refined = trimtab.optimize(job)
    assert refined.diagnostics.attempts == ("CLARABEL: optimal",) and "iterative_refinement_enable" not in seen[-1]
    assert fast.diagnostics.tracking_error == pytest.approx(refined.diagnostics.tracking_error, abs=1e-10)
    np.testing.assert_allclose(fast.weights.to_numpy(), refined.weights.to_numpy(), atol=1e-8)
    assert fast.diagnostics.taxes.tax == pytest.approx(refined.diagnostics.taxes.tax, rel=1e-8)
    np.testing.assert_allclose(fast.diagnostics.taxes.lots_sold["shares"], refined.diagnostics.taxes.lots_sold["shares"], rtol=1e-6)


def test_scip_installed_gives_cvxpys_answer_without_probing_every_solver(monkeypatch):
    from trimtab.optimizer._solver_attempts import scip_installed

    expected = "SCIP" in cp.installed_solvers()
    calls = []
    monkeypatch.setattr(cp, "installed_solvers", lambda: calls.append(1) or [])
    assert scip_installed() is expected
    assert calls == []  # SCIP's own check, not the probe of every solver
