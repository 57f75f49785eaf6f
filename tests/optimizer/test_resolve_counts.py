"""A re-solve costs one solver call: no recompile, no new solver, data updated only where it changed.

Counted, never timed: CompiledProblem builds, CVXPY problem-data applications, Clarabel
solvers built and data updates (``ClarabelSession.builds``/``updates``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import trimtab
from trimtab.constraints import loads_job
from trimtab.optimizer import _compile_cache, _compiled

JOB = """
name: toy
constraints:
  - group_weight: {group: TOP5, max: 0.3, name: top5_cap}
  - turnover: {max: 0.6}
"""


def test_a_re_solve_does_not_recompile_and_keeps_the_solver(toy, monkeypatch):
    snapshot, model = toy
    _compile_cache._CACHE.clear()
    builds = []
    original = _compiled.CompiledProblem.__init__

    def counting(self, *args, **kwargs):
        builds.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(_compiled.CompiledProblem, "__init__", counting)
    prepared = trimtab.prepare(loads_job(JOB), snapshot=snapshot, risk_model=model)
    first = prepared.solve()
    session = prepared.problem.session(prepared.problem.problem)
    assert len(builds) == 1 and session.builds == 1
    again = prepared.solve()  # same data: nothing to update
    assert len(builds) == 1 and session.builds == 1 and session.updates == 1
    np.testing.assert_array_equal(again.weights.to_numpy(), first.weights.to_numpy())
    position = prepared.constraint_position(0)
    tighter = prepared.solve({f"constraints[{position}].upper": [0.25]})  # one bound: only b changes
    assert len(builds) == 1 and session.builds == 1 and session.updates == 2
    assert tighter.weights[list(snapshot.groups["TOP5"])].sum() <= 0.25 + 1e-7
    # the same job through optimize() hits the compile cache: still one build
    trimtab.optimize(loads_job(JOB), snapshot=snapshot, risk_model=model)
    assert len(builds) == 1


def test_session_updates_only_what_changed(toy):
    snapshot, model = toy
    prepared = trimtab.prepare(loads_job(JOB), snapshot=snapshot, risk_model=model)
    prepared.solve()
    session = prepared.problem.session(prepared.problem.problem)
    seen = []
    real = session._solver.update  # noqa: SLF001 — spy on what reaches Clarabel

    class Spy:
        def __getattr__(self, name):
            return getattr(real.__self__, name)

        def update(self, **changes):
            seen.append(sorted(k for k in changes if k != "settings"))
            return real(**changes)

    session._solver = Spy()  # noqa: SLF001
    prepared.solve()
    prepared.solve({f"constraints[{prepared.constraint_position(0)}].upper": [0.28]})
    assert seen == [[], ["b"]]


@pytest.fixture
def compiles(monkeypatch) -> list[bool]:
    """Each CVXPY compile of a session (``get_problem_data``), in order: True when with constant data
    (``ignore_dpp``). A re-solve of the kept compiled form applies the parameters without one."""
    seen: list[bool] = []
    original = trimtab.optimizer._clarabel_session.cp.Problem.get_problem_data

    def counting(self, solver, *args, **kwargs):
        seen.append(bool(kwargs.get("ignore_dpp")))
        return original(self, solver, *args, **kwargs)

    monkeypatch.setattr(trimtab.optimizer._clarabel_session.cp.Problem, "get_problem_data", counting)
    return seen


def test_one_solve_compiles_with_constant_data_and_a_re_solve_the_parametric_form(toy, compiles):
    """``optimize()`` solves once: CVXPY compiles with the data as constants (``ignore_dpp``), no parametric
    compile, and the answer is the parametric one's; a prepared problem solved again compiles the parametric
    form once and then only updates."""
    snapshot, model = toy
    _compile_cache._CACHE.clear()
    once = trimtab.optimize(loads_job(JOB), snapshot=snapshot, risk_model=model)
    assert compiles == [True]
    prepared = trimtab.prepare(loads_job(JOB), snapshot=snapshot, risk_model=model)  # the cached problem
    session = prepared.problem.session(prepared.problem.problem)
    assert (session.constant_solves, session.parametric_solves) == (1, 0)
    first, again = prepared.solve(), prepared.solve()
    assert compiles == [True, False] and (session.builds, session.updates) == (1, 1)
    np.testing.assert_allclose(first.weights.to_numpy(), once.weights.to_numpy(), atol=1e-9)
    assert abs(first.diagnostics.tracking_error - once.diagnostics.tracking_error) < 1e-10
    trimtab.optimize(loads_job(JOB), snapshot=snapshot, risk_model=model)  # parametric form compiled: re-used
    assert compiles[-1] is False and session.constant_solves == 1 and session.updates == 2
    np.testing.assert_array_equal(again.weights.to_numpy(), first.weights.to_numpy())


def test_optimize_called_again_on_the_same_problem_re_solves_it(toy, compiles):
    """A loop of ``optimize()`` calls (a backtest's rebalances, accounts one by one) is a re-solve: the
    first call compiles constant data, the second the parametric form, the rest only update it."""
    snapshot, model = toy
    _compile_cache._CACHE.clear()
    results = []
    for shift in (0.0, 0.01, 0.02):  # new holdings each time, as a backtest's drifted ones
        holdings = snapshot.holdings.to_numpy() * (1 - shift) + shift * snapshot.benchmark_weights.to_numpy()
        moved = dataclasses.replace(snapshot, holdings=pd.Series(holdings, index=snapshot.asset_ids))
        results.append(trimtab.optimize(loads_job(JOB), snapshot=moved, risk_model=model))
    assert compiles == [True, False]
    compiled = _compile_cache._CACHE[next(reversed(_compile_cache._CACHE))]
    session = compiled.session(compiled.problem)
    assert (session.constant_solves, session.builds, session.updates) == (1, 1, 1)
    turnovers = [r.diagnostics.turnover for r in results]
    assert len(set(turnovers)) == 3  # each solve saw its own holdings


def test_an_account_shares_the_markets_figures_and_gets_the_same_answer(toy):
    """A batch account (``with_holdings``: the house's market, its own holdings) reuses the market's
    universe, sector index, group masks and report constants instead of recomputing them — and
    its result is the one an unshared view gives, bit for bit."""
    from trimtab.constraints import DataView
    from trimtab.optimizer.batch._plan import AccountView

    snapshot, model = toy
    prepared = trimtab.prepare(loads_job(JOB), snapshot=snapshot, risk_model=model)
    prepared.solve()
    book = snapshot.holdings.to_numpy()[::-1].copy()
    view = AccountView(snapshot, model, None, book=book)
    account = prepared.with_holdings(view)
    assert view.universe is prepared.data.universe and view.sector_index is prepared.data.sector_index
    assert view._masks is prepared.data._masks and view.benchmark_risk is prepared.data.benchmark_risk
    assert account.report_constants is prepared.report_constants
    shared = account.solve()
    unshared = dataclasses.replace(prepared, data=AccountView(snapshot, model, None, book=book)).solve()
    np.testing.assert_array_equal(shared.weights.to_numpy(), unshared.weights.to_numpy())
    np.testing.assert_array_equal(shared.holdings.to_numpy(), book)
    strip = ("solve_seconds", "build_seconds", "risk_model_seconds")
    assert {k: v for k, v in shared.summary().items() if k not in strip} == {
        k: v for k, v in unshared.summary().items() if k not in strip
    }
    other_market = DataView(dataclasses.replace(snapshot), model)
    with pytest.raises(ValueError, match="different markets"):
        prepared.with_holdings(other_market)
