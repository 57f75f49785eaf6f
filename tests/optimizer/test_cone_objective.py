"""Large universes minimizing tracking error alone solve ``min TE`` (a cone) instead of ``min TE²``.

The two forms must give the same portfolio, the same tracking error and the same shadow prices
(a cone's duals are converted to ``∂TE²/∂bound``), and a re-solve through parameters (a batch
account, a frontier point) must equal the one-shot solve of ``optimize()``.
"""

from __future__ import annotations

import numpy as np
import pytest

from trimtab import optimizer
from trimtab.constraints import loads_job
from trimtab.optimizer import _compiled, _objective

from ..toy_data import make_toy

N = _objective.CONE_OBJECTIVE_MIN_ASSETS  # the smallest universe that takes the cone

JOB = """
name: large
constraints:
  - group_weight: {group: TOP5, max: benchmark - 0.03}
  - factor_exposure: {factor: value, min: 0.15}
  - turnover: {max: 0.2}
  - asset_weight: {max: benchmark + 0.01}
"""


@pytest.fixture(scope="module")
def large():
    return make_toy(n=N, k=6, seed=3)


def _solve(job_text, snapshot, model, *, one_shot=True, overrides=None):
    _compiled._CACHE.clear()
    prepared = optimizer.prepare(loads_job(job_text), snapshot=snapshot, risk_model=model)
    result = prepared.solve(overrides, one_shot=one_shot) if overrides else prepared.solve(one_shot=one_shot)
    return prepared, result


def test_large_pure_te_job_takes_the_cone_and_small_or_penalized_jobs_do_not(large, toy):
    snapshot, model = large
    prepared, _ = _solve(JOB, snapshot, model)
    assert prepared.problem.minimizes_tracking_error
    objective = prepared.problem.problem.objective.expr
    assert not objective.is_quadratic()  # a norm, not a sum of squares
    small, _ = _solve(JOB, *toy)
    assert not small.problem.minimizes_tracking_error and small.problem.problem.objective.expr.is_quadratic()
    soft = JOB.replace("min: 0.15}", "min: 0.15, soft: {penalty: 10}}")
    penalized, _ = _solve(soft, snapshot, model)
    assert not penalized.problem.minimizes_tracking_error  # a penalty is traded against TE², not TE


def test_cone_and_quadratic_give_the_same_portfolio_te_and_shadow_prices(large, monkeypatch):
    snapshot, model = large
    _, cone = _solve(JOB, snapshot, model)
    monkeypatch.setattr(_objective, "CONE_OBJECTIVE_MIN_ASSETS", 10**9)
    prepared, square = _solve(JOB, snapshot, model)
    assert not prepared.problem.minimizes_tracking_error
    assert cone.diagnostics.status == square.diagnostics.status == "optimal"
    assert cone.diagnostics.tracking_error == pytest.approx(square.diagnostics.tracking_error, abs=1e-9)
    assert np.max(np.abs(cone.weights.to_numpy() - square.weights.to_numpy())) < 1e-6
    by_cone = {r.name: r for r in cone.diagnostics.constraints}
    binding = [r for r in square.diagnostics.constraints if r.binding and r.dual > 1e-6]
    assert {r.kind for r in binding} >= {"group_weight", "factor_exposure", "turnover"}
    for report in binding:
        assert by_cone[report.name].dual == pytest.approx(report.dual, rel=1e-4), report.name
        assert by_cone[report.name].marginal_te == pytest.approx(report.marginal_te, rel=1e-4), report.name


def test_parametric_re_solve_equals_the_one_shot_solve_on_the_cone(large):
    snapshot, model = large
    _, one_shot = _solve(JOB, snapshot, model)
    prepared, _ = _solve(JOB, snapshot, model, one_shot=False)
    again = prepared.solve()
    assert prepared.problem.minimizes_tracking_error
    assert prepared.problem.session(prepared.problem.problem).parametric_solves == 2
    assert np.max(np.abs(again.weights.to_numpy() - one_shot.weights.to_numpy())) < 1e-9
    assert again.diagnostics.tracking_error == pytest.approx(one_shot.diagnostics.tracking_error, abs=1e-12)
