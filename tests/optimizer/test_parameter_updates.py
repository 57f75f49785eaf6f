"""Re-solves recompute only the solver data whose parameters changed, and hand Clarabel CVXPY's exact data.

Counted, never timed (``IncrementalParameters.computed``/``reused``); the data are compared
bit for bit with what CVXPY's own ``apply_parameters`` gives for the same parameter values.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp

import trimtab
from trimtab.constraints import DataView, loads_job
from trimtab.optimizer._parameter_updates import IncrementalParameters

JOB = """
name: toy
constraints:
  - group_weight: {group: TOP5, max: 0.3, name: top5_cap}
  - factor_exposure: {factor: value, min: 0.1}
  - turnover: {max: 0.6}
"""


def _incremental(prepared) -> IncrementalParameters:
    session = prepared.problem.session(prepared.problem.problem)
    assert isinstance(session.parameters, IncrementalParameters)
    return session.parameters


def _assert_same_data(incremental: IncrementalParameters) -> None:
    """The parts handed back equal CVXPY's own computation from the current parameter values, exactly."""
    mine, theirs = incremental(quad_obj=True), incremental.original(quad_obj=True)
    for a, b in zip(mine, theirs, strict=True):
        if sp.issparse(a):
            assert (a != b).nnz == 0 and a.shape == b.shape
        else:
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_a_moved_bound_recomputes_only_the_constraint_vector(toy):
    snapshot, model = toy
    prepared = trimtab.prepare(loads_job(JOB), snapshot=snapshot, risk_model=model)
    first = prepared.solve()
    incremental = _incremental(prepared)  # installed after the compile: its first call computes every part
    prepared.solve()
    assert incremental.computed == {"P": 1, "q": 1, "A": 1, "b": 1}
    assert incremental.reused == {"P": 0, "q": 0, "A": 0, "b": 0}
    prepared.solve()  # nothing changed: every part handed back
    assert incremental.computed == {"P": 1, "q": 1, "A": 1, "b": 1}
    assert incremental.reused == {"P": 1, "q": 1, "A": 1, "b": 1}
    bound = f"constraints[{prepared.constraint_position(0)}].upper"
    tighter = prepared.solve({bound: [0.25]})  # one entry of b: b recomputed from its own rows; P, q and A not
    assert incremental.computed == {"P": 1, "q": 1, "A": 1, "b": 2}
    assert incremental.reused == {"P": 2, "q": 2, "A": 2, "b": 1}
    _assert_same_data(incremental)
    assert tighter.weights[list(snapshot.groups["TOP5"])].sum() <= 0.25 + 1e-7
    back = prepared.solve()
    np.testing.assert_array_equal(back.weights.to_numpy(), first.weights.to_numpy())


def test_moved_bounds_give_cvxpys_exact_constraint_vector(toy):
    """b computed from its own rows of the [A b] tensor is, bit for bit, CVXPY's b — for upper,
    lower and turnover bounds moved one at a time and together; A is never recomputed."""
    snapshot, model = toy
    prepared = trimtab.prepare(loads_job(JOB), snapshot=snapshot, risk_model=model)
    prepared.solve()
    prepared.solve()
    incremental = _incremental(prepared)
    cap, tilt, turnover = (prepared.constraint_position(i) for i in range(3))
    moves = [
        {f"constraints[{cap}].upper": [0.27]},
        {f"constraints[{tilt}].lower": [0.05]},
        {f"constraints[{turnover}].upper": [0.8]},
        {f"constraints[{cap}].upper": [0.33], f"constraints[{tilt}].lower": [0.12]},
    ]
    computed_A = incremental.computed["A"]
    for move in moves:
        before = incremental.computed["b"]
        prepared.solve(move)
        assert incremental.computed["b"] == before + 1
        _assert_same_data(incremental)
    assert incremental.computed["A"] == computed_A


def test_new_data_recomputes_what_it_touches_and_matches_a_fresh_compile(toy):
    snapshot, model = toy
    prepared = trimtab.prepare(loads_job(JOB), snapshot=snapshot, risk_model=model)
    prepared.solve()
    prepared.solve()
    incremental = _incremental(prepared)
    # other holdings (the turnover rule's anchor) and a rescaled risk model: loadings enter A, not P
    holdings = snapshot.holdings.iloc[::-1].set_axis(snapshot.holdings.index)
    other = DataView(dataclasses.replace(snapshot, holdings=holdings), dataclasses.replace(model, exposures=model.exposures * 1.1))
    before = dict(incremental.computed)
    moved = prepared.problem.solve(other, prepared.job.solver)
    assert incremental.computed["A"] == before["A"] + 1
    _assert_same_data(incremental)
    trimtab.optimizer._compile_cache._CACHE.clear()
    fresh = trimtab.prepare(loads_job(JOB), snapshot=other.snapshot, risk_model=other.risk_model).solve()
    np.testing.assert_allclose(moved.weights, fresh.weights.to_numpy(), atol=1e-9)


def test_unknown_programs_and_other_calls_use_cvxpys_own_method(toy):
    assert IncrementalParameters.install(None) is None
    assert IncrementalParameters.install(object()) is None
    snapshot, model = toy
    prepared = trimtab.prepare(loads_job(JOB), snapshot=snapshot, risk_model=model)
    prepared.solve()
    incremental = _incremental(prepared)
    assert IncrementalParameters.install(incremental.program) is incremental  # installed once
    counts = dict(incremental.computed), dict(incremental.reused)
    q, offset, A, b = incremental(keep_zeros=True)  # not the re-solve's call: CVXPY's own, nothing counted
    assert (dict(incremental.computed), dict(incremental.reused)) == counts
    assert q.shape[0] == A.shape[1] and b.shape[0] == A.shape[0] and np.isfinite(offset)


@pytest.mark.parametrize("bound", [0.28, 0.35])
def test_frontier_of_bounds_equals_one_compile_per_point(toy, bound):
    """Each point of a sweep is the answer a problem compiled for that bound alone gives."""
    snapshot, model = toy
    prepared = trimtab.prepare(loads_job(JOB), snapshot=snapshot, risk_model=model)
    prepared.solve()
    swept = prepared.solve({f"constraints[{prepared.constraint_position(0)}].upper": [bound]})
    trimtab.optimizer._compile_cache._CACHE.clear()
    alone = trimtab.optimize(loads_job(JOB.replace("max: 0.3", f"max: {bound}")), snapshot=snapshot, risk_model=model)
    np.testing.assert_allclose(swept.weights.to_numpy(), alone.weights.to_numpy(), atol=1e-8)
    assert swept.diagnostics.tracking_error == pytest.approx(alone.diagnostics.tracking_error, abs=1e-10)


def test_a_part_reads_runs_of_the_parameter_vector_and_sees_a_change_only_there():
    from trimtab.optimizer._parameter_updates import MAX_RUNS, _Reads

    reads = _Reads(np.array([0, 1, 2, 5, 6, 9]))
    assert reads.runs == [(0, 3), (5, 7), (9, 10)]
    before = np.arange(12.0)
    assert reads.same(before.copy(), before)
    unread, read = before.copy(), before.copy()
    unread[4], read[6] = -1.0, -1.0
    assert reads.same(unread, before) and not reads.same(read, before)
    with_nan = before.copy()
    with_nan[0] = np.nan
    assert not reads.same(with_nan, with_nan)  # NaN is never "the same": the part is recomputed
    scattered = _Reads(np.arange(0, 4 * (MAX_RUNS + 1), 4))  # too many runs: compared by index
    assert scattered.runs is None
    wide = np.arange(4.0 * (MAX_RUNS + 1))
    moved = wide.copy()
    moved[1] = -1.0  # not read
    assert scattered.same(moved, wide)
    moved[8] = -1.0  # read
    assert not scattered.same(moved, wide)


def test_the_parameter_vector_is_cvxpys(toy):
    """``_parameter_vector`` equals ``canonInterface.get_parameter_vector`` (2-D parameters in Fortran order)."""
    from cvxpy.cvxcore.python import canonInterface

    from trimtab.optimizer._parameter_updates import _parameter_vector

    snapshot, model = toy
    prepared = trimtab.prepare(loads_job(JOB), snapshot=snapshot, risk_model=model)
    prepared.solve()
    program = _incremental(prepared).program
    assert any(len(p.shape) == 2 for p in program.id_to_param.values())
    expected = canonInterface.get_parameter_vector(
        program.total_param_size, program.param_id_to_col, program.param_id_to_size,
        lambda param_id: np.array(program.id_to_param[param_id].value),
    )
    np.testing.assert_array_equal(_parameter_vector(program), expected)
