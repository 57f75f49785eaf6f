"""Every solve of a large universe minimizing tracking error alone solves ``min TE`` (a cone).

The cone is compiled with constant data at each solve (CVXPY cannot compile a large cone
parametrically); smaller universes and other objectives keep ``min TE²`` in parametric form.
The two forms must give the same portfolio to the solver's tolerance, the same tracking error and
the same shadow prices (a cone's duals are converted to ``∂TE²/∂bound``).
"""

from __future__ import annotations

import numpy as np
import pytest

from trimtab import optimizer
from trimtab.constraints import loads_job
from trimtab.optimizer import _compile_cache, _objective

from ..toy_data import make_toy

#: The smallest universe compiled with constant data when a rule is a cone; the tests below lower the
#: cone objective's threshold to it (a universe of 4,000 names would make them slow).
N = _objective.CONSTANT_COMPILE_MIN_ASSETS

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


@pytest.fixture(autouse=True)
def cone_from_n(request, monkeypatch):
    if "default_threshold" not in request.node.name:
        monkeypatch.setattr(_objective, "CONE_OBJECTIVE_MIN_ASSETS", N)


def test_at_the_default_threshold_a_universe_below_4000_names_one_shot_solves_the_quadratic(large):
    snapshot, model = large
    assert _objective.CONE_OBJECTIVE_MIN_ASSETS == 4000 > N
    prepared, result = _solve(JOB, snapshot, model)
    assert not prepared.problem.cone_objective and prepared.problem.solved is prepared.problem.problem
    assert prepared.problem.solved.objective.expr.is_quadratic()
    assert result.diagnostics.status == "optimal"
    # its one-shot solve still compiles with constant data (no parametric compile for one solve)
    assert prepared.problem.session(prepared.problem.problem).constant_solves == 1


def _solve(job_text, snapshot, model, *, one_shot=True, overrides=None):
    _compile_cache._CACHE.clear()
    prepared = optimizer.prepare(loads_job(job_text), snapshot=snapshot, risk_model=model)
    result = prepared.solve(overrides, one_shot=one_shot) if overrides else prepared.solve(one_shot=one_shot)
    return prepared, result


def test_every_solve_of_a_large_pure_te_job_takes_the_cone_and_other_jobs_do_not(large, toy):
    snapshot, model = large
    prepared, _ = _solve(JOB, snapshot, model)
    assert prepared.problem.cone_objective and prepared.problem.solved is prepared.problem.cone_problem()
    assert not prepared.problem.solved.objective.expr.is_quadratic()  # a norm, not a sum of squares
    prepared.solve()  # a re-solve: the cone again
    assert prepared.problem.solved is prepared.problem.cone_problem()
    small, _ = _solve(JOB, *toy)
    assert not small.problem.cone_objective and small.problem.solved is small.problem.problem
    soft = JOB.replace("min: 0.15}", "min: 0.15, soft: {penalty: 10}}")
    penalized, _ = _solve(soft, snapshot, model)
    assert not penalized.problem.cone_objective  # a penalty is traded against TE², not TE


def test_cone_and_quadratic_give_the_same_portfolio_te_and_shadow_prices(large, monkeypatch):
    snapshot, model = large
    _, cone = _solve(JOB, snapshot, model)
    monkeypatch.setattr(_objective, "CONE_OBJECTIVE_MIN_ASSETS", 10**9)
    prepared, square = _solve(JOB, snapshot, model)
    assert not prepared.problem.cone_objective
    assert cone.diagnostics.status == square.diagnostics.status == "optimal"
    assert cone.diagnostics.tracking_error == pytest.approx(square.diagnostics.tracking_error, abs=1e-9)
    assert np.max(np.abs(cone.weights.to_numpy() - square.weights.to_numpy())) < 1e-6
    by_cone = {r.name: r for r in cone.diagnostics.constraints}
    binding = [r for r in square.diagnostics.constraints if r.binding and r.dual > 1e-6]
    assert {r.kind for r in binding} >= {"group_weight", "factor_exposure", "turnover"}
    for report in binding:
        assert by_cone[report.name].dual == pytest.approx(report.dual, rel=1e-4), report.name
        assert by_cone[report.name].marginal_te == pytest.approx(report.marginal_te, rel=1e-4), report.name


def test_re_solves_of_the_cone_compile_it_with_constant_data_each_time_never_the_parametric_form(large):
    snapshot, model = large
    _, one_shot = _solve(JOB, snapshot, model)
    prepared, first = _solve(JOB, snapshot, model, one_shot=False)
    again = prepared.solve()
    compiled = prepared.problem
    assert compiled.session(compiled.problem).parametric_solves == 0
    assert compiled.session(compiled.cone_problem()).constant_solves == 2
    np.testing.assert_array_equal(again.weights.to_numpy(), first.weights.to_numpy())
    np.testing.assert_array_equal(first.weights.to_numpy(), one_shot.weights.to_numpy())
    # an override (as a frontier sweeps a bound) reaches the constant compile: TOP5 capped 1 % lower
    row = f"constraints[{prepared.constraint_position(0)}].upper"
    tighter = compiled.context.parameters[row].value - 0.01
    capped = prepared.solve({row: tighter})
    top5, before = (next(r for r in res.diagnostics.constraints if r.kind == "group_weight") for res in (capped, first))
    assert top5.bound == pytest.approx(before.bound - 0.01) and top5.value <= top5.bound + 1e-9 < before.value
    assert capped.diagnostics.tracking_error > first.diagnostics.tracking_error


def test_a_large_problem_with_a_cone_rule_compiles_with_constant_data_at_every_solve(large):
    snapshot, model = large
    capped = JOB + "  - tracking_error: {max: 0.05}\n"
    _, one_shot = _solve(capped, snapshot, model)
    prepared, first = _solve(capped, snapshot, model, one_shot=False)
    again = prepared.solve({f"constraints[{prepared.constraint_position(2)}].upper": [0.25]})
    compiled = prepared.problem
    assert compiled.compile_per_solve and not compiled.problem.is_qp()
    # never the parametric compile (memory ∝ variables × parameter entries for a cone)
    cone = compiled.session(compiled.cone_problem())
    assert compiled.session(compiled.problem).parametric_solves == 0 and cone.constant_solves >= 2
    np.testing.assert_array_equal(first.weights.to_numpy(), one_shot.weights.to_numpy())
    assert first.diagnostics.tracking_error <= 0.05 + 1e-9
    assert again.diagnostics.tracking_error < first.diagnostics.tracking_error  # the looser turnover budget
    small, _ = _solve(capped, *make_toy())
    assert not small.problem.compile_per_solve  # below 1,500 names the parametric compile is kept
