"""A re-solve puts Clarabel's answer on the problem by a recorded gather: exactly what CVXPY's unpacking puts.

Each test compares, bit for bit, the state the gather leaves (variables, duals, value, status,
solution, solver statistics) with the state ``Problem.unpack_results`` leaves for the same
Clarabel answer, or checks that the gather steps aside where CVXPY must unpack.
"""

from __future__ import annotations

from pathlib import Path

import cvxpy as cp
import numpy as np
import pytest

import trimtab
from trimtab.constraints import load_job, loads_job
from trimtab.optimizer._clarabel_session import ClarabelSession
from trimtab.optimizer._solution_gather import _source

JOB = """
name: toy
constraints:
  - group_weight: {group: TOP5, max: 0.3, name: top5_cap}
  - turnover: {max: 0.6}
  - sector_weight: {min: benchmark - 0.05, max: benchmark + 0.05}
"""
OPTIONS = {"tol_gap_abs": 1e-9, "tol_gap_rel": 1e-9, "tol_feas": 1e-9}
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _state(problem: cp.Problem) -> dict:
    """Everything unpacking sets on ``problem``, copied."""
    return {
        "status": problem.status,
        "value": problem.value,
        "variables": [np.array(v.value, copy=True) for v in problem.variables()],
        "duals": [None if c.dual_value is None else np.array(c.dual_value, copy=True) for c in problem.constraints],
        "opt_val": problem.solution.opt_val,
        "stats": (problem.solver_stats.solve_time, problem.solver_stats.num_iters, problem.solver_stats.solver_name),
    }


def _cvxpy_unpacked(session: ClarabelSession, options: dict) -> dict:
    """The state CVXPY's own unpacking leaves for the session's last answer."""
    _, chain, inverse = session.problem.get_problem_data(cp.CLARABEL, solver_opts=dict(options))
    session.problem.unpack_results(session.last_answer, chain, inverse)
    return _state(session.problem)


def _assert_same(gathered: dict, unpacked: dict) -> None:
    assert gathered["status"] == unpacked["status"] and gathered["stats"] == unpacked["stats"]
    assert gathered["value"] == unpacked["value"] and gathered["opt_val"] == unpacked["opt_val"]
    assert len(gathered["variables"]) == len(unpacked["variables"])
    for mine, theirs in zip(gathered["variables"], unpacked["variables"]):
        np.testing.assert_array_equal(mine, theirs)
        assert mine.shape == theirs.shape
    for mine, theirs in zip(gathered["duals"], unpacked["duals"], strict=True):
        assert (mine is None) == (theirs is None)
        if mine is not None:
            np.testing.assert_array_equal(mine, theirs)
            assert mine.shape == theirs.shape


def test_a_trimtab_re_solve_is_gathered_exactly_as_cvxpy_unpacks_it(toy):
    snapshot, model = toy
    prepared = trimtab.prepare(loads_job(JOB), snapshot=snapshot, risk_model=model)
    prepared.solve()
    problem = prepared.problem.problem
    session = prepared.problem.session(problem)
    assert session.gather is not None and session.gathered == 0  # learnt on the first solve, not used yet
    position = prepared.constraint_position(0)
    options = session._options  # noqa: SLF001 — the options of the kept solver
    for overrides in ({}, {f"constraints[{position}].upper": [0.27]}):
        result = prepared.solve(overrides)  # gathered (the verification then cleans dust off the weights)
        session.solve(options)  # the same parameters once more, to read the gathered state as it was put
        gathered = _state(problem)
        assert gathered["status"] == cp.OPTIMAL
        np.testing.assert_allclose(result.weights.to_numpy(), prepared.problem.context.weights.value, atol=1e-9)
        _assert_same(gathered, _cvxpy_unpacked(session, options))
    assert session.gathered == 4


def _toy_problem(n: int = 30) -> tuple[cp.Problem, cp.Parameter]:
    """A small QP with a parameter bound, an equality, a vector and a matrix variable."""
    rng = np.random.default_rng(3)
    F = rng.standard_normal((n, 4))
    cap = cp.Parameter(nonneg=True, value=0.2)
    x, M = cp.Variable(n), cp.Variable((2, 3))
    problem = cp.Problem(
        cp.Minimize(cp.sum_squares(F.T @ x) + cp.sum_squares(x) + cp.sum_squares(M - 1.0)),
        [cp.sum(x) == 1, x >= 0, x[:5] <= cap, cp.sum(cp.abs(x - 1.0 / n)) <= 0.8, M[0, :] <= 0.5],
    )
    return problem, cap


def test_a_plain_qp_with_matrix_variables_and_several_duals_is_gathered_exactly():
    problem, cap = _toy_problem()
    session = ClarabelSession(problem)
    session.solve(OPTIONS)
    assert session.gather is not None
    for value in (0.2, 0.1, 0.05):
        cap.value = value
        session.solve(OPTIONS)
        gathered = _state(problem)
        _assert_same(gathered, _cvxpy_unpacked(session, OPTIONS))
    assert session.gathered == 3 and session.builds == 1


class _Answer:
    """A Clarabel answer with given vectors (what CVXPY's ``CLARABEL.invert`` and the gather read)."""

    def __init__(self, like, x: np.ndarray, z: np.ndarray) -> None:
        self.x, self.z, self.status, self.obj_val = x, z, like.status, like.obj_val
        self.solve_time, self.iterations = like.solve_time, like.iterations


def test_nonneg_variables_are_projected_as_cvxpy_recovers_them():
    """CVXPY recovers a variable with an attribute through ``Variable.project`` (``nonneg``: negatives → 0)."""
    rng = np.random.default_rng(5)
    F = rng.standard_normal((20, 3))
    cap = cp.Parameter(nonneg=True, value=0.3)
    w, sales, slack = cp.Variable(20), cp.Variable(20, nonneg=True), cp.Variable(nonneg=True)
    problem = cp.Problem(
        cp.Minimize(cp.sum_squares(F.T @ (w - 0.05)) + 0.1 * cp.sum(sales) + slack),
        [cp.sum(w) == 1, w >= 0, w >= 0.05 - sales, w[:4].sum() <= cap + slack],
    )
    session = ClarabelSession(problem)
    session.solve(OPTIONS)
    assert session.gather is not None  # recorded, the nonneg variables with it
    assert sum(project for _, _, project in session.gather.primal) == 2
    cap.value = 0.25
    session.solve(OPTIONS)
    _assert_same(_state(problem), _cvxpy_unpacked(session, OPTIONS))
    answer = session.last_answer  # an answer with negative entries everywhere: where projection shows
    odd = _Answer(answer, rng.standard_normal(answer.x.size), rng.standard_normal(answer.z.size))
    assert session.gather.unpack(problem, odd, OPTIONS, 0.0)
    gathered = _state(problem)
    assert (sales.value >= 0).all() and slack.value >= 0 and (w.value < 0).any()  # w has no attribute
    _, chain, inverse = problem.get_problem_data(cp.CLARABEL, solver_opts=dict(OPTIONS))
    problem.unpack_results(odd, chain, inverse)
    _assert_same(gathered, _state(problem))


def test_a_taxed_re_solve_is_gathered():
    prepared = trimtab.prepare(load_job(EXAMPLES / "mag7_taxes.yaml"))  # the embedded data's tax lots
    first = prepared.solve()
    session = prepared.problem.session(prepared.problem.solved)
    assert session.gather is not None  # the lots' sales and buys are nonneg variables
    again = prepared.solve()
    assert session.gathered >= 1
    np.testing.assert_array_equal(again.weights.to_numpy(), first.weights.to_numpy())
    assert again.diagnostics.taxes.tax == first.diagnostics.taxes.tax


def test_an_answer_without_a_solution_is_left_to_cvxpy():
    """Infeasible after gathered re-solves: CVXPY unpacks it (no values, the status CVXPY gives)."""
    problem, cap = _toy_problem()
    floor = cp.Parameter(value=0.0)
    problem = cp.Problem(problem.objective, problem.constraints + [cp.sum(problem.variables()[0][:5]) >= floor])
    session = ClarabelSession(problem)
    session.solve(OPTIONS)
    session.solve(OPTIONS)
    assert session.gathered == 1
    floor.value = 2.0  # five names capped at cap.value cannot hold 200 %
    session.solve(OPTIONS)
    assert problem.status == cp.INFEASIBLE and session.gathered == 1
    assert all(v.value is None for v in problem.variables())
    floor.value = 0.0
    session.solve(OPTIONS)
    assert problem.status == cp.OPTIMAL and session.gathered == 2


def test_a_recompile_for_another_solver_is_noticed():
    """CVXPY's compiled form replaced (another solver solved the problem): the session compiles again."""
    problem, cap = _toy_problem()
    session = ClarabelSession(problem)
    session.solve(OPTIONS)
    expected = np.array(problem.variables()[0].value, copy=True)
    problem.solve(solver=cp.SCS)
    session.solve(OPTIONS)
    assert session.gathered == 0  # the recorded map was learnt on the form CVXPY dropped
    np.testing.assert_allclose(problem.variables()[0].value, expected, atol=1e-8)
    session.solve(OPTIONS)
    assert session.gathered == 1


def test_a_second_order_cone_is_gathered_exactly():
    x = cp.Variable(5)
    radius = cp.Parameter(nonneg=True, value=1.0)
    problem = cp.Problem(cp.Minimize(cp.sum(x) + cp.sum_squares(x - 0.1)), [cp.norm(x, 2) <= radius])
    session = ClarabelSession(problem)
    session.solve(OPTIONS)
    radius.value = 0.5
    session.solve(OPTIONS)
    assert session.gathered == 1
    _assert_same(_state(problem), _cvxpy_unpacked(session, OPTIONS))


def test_a_chain_that_is_not_a_copy_is_not_recorded():
    """A semidefinite cone's values are rebuilt from a scaled triangle: no gather, CVXPY keeps unpacking."""
    C = np.array([[2.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 4.0]])
    X = cp.Variable((3, 3), symmetric=True)
    trace = cp.Parameter(nonneg=True, value=1.0)
    problem = cp.Problem(cp.Minimize(cp.trace(C @ X)), [X >> 0, cp.trace(X) == trace])
    session = ClarabelSession(problem)
    session.solve(OPTIONS)
    trace.value = 2.0
    session.solve(OPTIONS)
    assert session.gather is None and session.gathered == 0 and session.updates == 1
    assert problem.status == cp.OPTIMAL
    assert problem.value == pytest.approx(2.0 * np.linalg.eigvalsh(C)[0], abs=1e-7)


@pytest.mark.parametrize("labelled", [np.array([1.0, 2.5]), np.array([0.0, 1.0]), np.array([1.0, 99.0])])
def test_a_probe_value_that_is_not_an_entry_is_refused(labelled):
    """Only ±(1-based position within [x, z]) entries name a source."""
    assert _source(labelled, 10) is None


def test_a_probe_value_names_its_sources_and_signs():
    source = _source(np.array([[3.0, -1.0], [10.0, 2.0]]), 10)
    xz = np.arange(100.0, 110.0)
    np.testing.assert_array_equal(source.take(xz), [[102.0, -100.0], [109.0, 101.0]])
    scalar = _source(-4.0, 10)
    assert scalar.scalar and scalar.take(xz) == -103.0 and not isinstance(scalar.take(xz), np.ndarray)
