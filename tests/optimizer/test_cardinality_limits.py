"""Holdings count that never hangs or overstates (issue 11, item 6).

Facts checked, by counting solver calls and reading statuses (never by measuring time):

* impossible combinations are infeasible before any convex re-solve, naming the rules and
  the bound needed (the default job with at most 100 names needs ≥ 51.6 % turnover against
  its 30 % budget), and ``diagnose`` says so too; the turnover bounds never exceed the true
  least turnover (brute force over every support of a tiny universe);
* the default job at 400 names (turnover binding) solves in a few re-solves;
* the heuristic keeps to ``time_limit`` on a fake clock where each re-solve takes 10 s:
  it finishes with status ``time_limit`` and its gap, or fails naming the limit;
* the exact method passes the time left to SCIP, and an early stop is ``time_limit``, never
  ``optimal``;
* a full covariance's bound uses its smallest eigenvalue as specific risk, and a bound that
  is no tighter than the job without count rules says so.
"""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import cvxpy as cp
import numpy as np
import pytest
import yaml

from trimtab.constraints import loads_job
from trimtab.models import RiskModel, risk_model_from_covariance
from trimtab.optimizer import CompiledProblem, InfeasibleError, SolverFailedError

from trimtab import optimizer

_spec = importlib.util.spec_from_file_location("trimtab_tests_toy_data", Path(__file__).parents[1] / "toy_data.py")
toy_data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(toy_data)

DEFAULT_JOB = Path(__file__).parents[2] / "examples" / "mag7_value_quality.yaml"

pytestmark = pytest.mark.skipif("SCIP" not in cp.installed_solvers(), reason="pyscipopt not installed")

TILT = [{"factor_exposure": {"factor": "value", "min": 0.2}}]


def _job(rules, cardinality, **sections):
    return loads_job(yaml.safe_dump({"constraints": rules, "cardinality": cardinality, **sections}))


def _solve(rules, cardinality, data):
    return optimizer.optimize(_job(rules, cardinality), snapshot=data[0], risk_model=data[1])


def _default_job(cardinality):
    job = yaml.safe_load(DEFAULT_JOB.read_text())
    return loads_job(yaml.safe_dump({**job, "cardinality": cardinality}))


@pytest.fixture
def convex_solves(monkeypatch):
    """Counts calls of the verified convex solve (every support re-solve goes through it)."""
    calls = []
    real = CompiledProblem.solve_verified

    def counting(self, *args, **kwargs):
        calls.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(CompiledProblem, "solve_verified", counting)
    return calls


class FakeClock:
    """Time that moves only when a support is re-solved: 10 s per re-solve."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _slow_prepared(monkeypatch, job, data, seconds_per_solve=10.0):
    """A prepared job whose holdings count runs on a :class:`FakeClock`."""
    prepared = optimizer.prepare(job, snapshot=data[0], risk_model=data[1])
    count, clock = prepared.problem.holdings_count, FakeClock()
    real = type(count).solve_on

    def slow(*args, **kwargs):
        clock.now += seconds_per_solve
        return real(count, *args, **kwargs)

    monkeypatch.setattr(count, "clock", clock)
    monkeypatch.setattr(count, "solve_on", slow)
    return prepared, clock


def _meets_count(weights, max_names=None, min_weight=None):
    w = np.asarray(weights)
    held = w[w > 0]
    return (max_names is None or len(held) <= max_names) and (min_weight is None or held.min() >= min_weight - 1e-9)


# -- impossible combinations, recognised before the rounds ---------------------------------
def test_default_job_with_100_names_is_infeasible_before_any_solve(convex_solves):
    prepared = optimizer.prepare(_default_job({"max_names": 100}))
    w0 = np.sort(prepared.data.holdings[prepared.data.holdings > 0])
    closing = 2 * w0[: len(w0) - 100].sum()  # sell the 395 smallest, buy as much back
    assert closing == pytest.approx(0.5156, abs=1e-4)
    with pytest.raises(InfeasibleError) as raised:
        prepared.solve()
    assert not convex_solves
    message = str(raised.value)
    assert "at most 100 names" in message and "turnover (two-way) <= 0.3" in message and "30.0% budget" in message
    members = {m.kind: m for m in raised.value.diagnosis.conflict}
    assert set(members) == {"cardinality", "turnover"}
    assert members["turnover"].bound == 0.3 and members["turnover"].needed >= closing - 1e-4
    assert members["cardinality"].bound == 100 and members["cardinality"].needed > 100
    diagnosis = prepared.diagnose()
    assert not diagnosis.feasible and {m.kind for m in diagnosis.conflict} == {"cardinality", "turnover"}
    assert diagnosis.message == message.split(": ", 1)[1]


def test_default_job_with_400_names_solves_in_a_few_re_solves(convex_solves):
    result = optimizer.optimize(_default_job({"max_names": 400}))
    report, d = result.diagnostics.cardinality, result.diagnostics
    assert report.status == "heuristic" and d.status == "optimal"
    assert report.names_held <= 400 and (result.weights > 0).sum() <= 400
    assert d.turnover <= 0.30 + 1e-6 and d.groups["MAG7"]["target"] <= 0.20 + 1e-7
    assert report.solves <= 4 and len(convex_solves) == report.solves
    assert report.tracking_error_bound <= d.tracking_error


@pytest.mark.parametrize("max_names", [2, 3, 4])
def test_turnover_bounds_never_exceed_the_true_least_turnover(max_names):
    data = toy_data.make_toy(n=8, k=2, seed=5)
    snapshot, _ = data
    w0, wb = snapshot.holdings.to_numpy(), snapshot.benchmark_weights.to_numpy()
    value = snapshot.characteristics["value"].to_numpy()
    least = np.inf
    for support in itertools.combinations(range(8), max_names):
        w = cp.Variable(8)
        closed = [i for i in range(8) if i not in support]
        rules = [cp.sum(w) == 1, w >= 0, w[closed] == 0, value @ (w - wb) >= 0.2]
        problem = cp.Problem(cp.Minimize(cp.norm1(w - w0)), rules)
        problem.solve(solver=cp.CLARABEL)
        if problem.status == cp.OPTIMAL:
            least = min(least, problem.value)
    assert np.isfinite(least)
    rules = lambda cap: [*TILT, {"turnover": {"max": round(float(cap), 6)}}]
    ok = optimizer.diagnose(_job(rules(least + 1e-4), {"max_names": max_names}), snapshot=data[0], risk_model=data[1])
    assert ok.feasible, ok.message  # no conflict claimed where a portfolio exists
    with pytest.raises((InfeasibleError, SolverFailedError)):
        optimizer.optimize(_job(rules(least - 0.01), {"max_names": max_names}), snapshot=data[0], risk_model=data[1])


@pytest.mark.parametrize(
    ("rules", "cardinality", "words"),
    [
        ("must_hold5", {"max_names": 3}, "5 names are kept above 0"),
        ("must_hold5", {"max_names": 10, "min_weight": 0.25}, "allow min_weight <= 0.2"),
        ([{"asset_weight": {"max": 0.05}}], {"max_names": 10}, "largest per-name caps add up to 0.5"),
    ],
    ids=["forced-names", "forced-times-min-weight", "caps"],
)
def test_count_rules_that_cannot_hold_are_named_before_any_solve(toy, convex_solves, rules, cardinality, words):
    snapshot, model = toy
    if rules == "must_hold5":
        rules = [{"must_hold": {"assets": list(snapshot.asset_ids[:5]), "min": 0.01}}]
    for method in ("heuristic", "exact"):
        job = _job(rules, {**cardinality, "method": method})
        with pytest.raises(InfeasibleError, match=words):
            optimizer.optimize(job, snapshot=snapshot, risk_model=model)
        diagnosis = optimizer.diagnose(job, snapshot=snapshot, risk_model=model)
        assert not diagnosis.feasible and diagnosis.conflict[0].kind == "cardinality" and words in diagnosis.message
    assert not convex_solves


def test_diagnose_says_what_it_checked_of_count_rules(toy):
    diagnosis = optimizer.diagnose(_job(TILT, {"max_names": 10}), snapshot=toy[0], risk_model=toy[1])
    assert diagnosis.feasible and "quick checks" in diagnosis.message


# -- the time limit ------------------------------------------------------------------------
def test_heuristic_out_of_time_finishes_at_once_with_status_time_limit(toy, monkeypatch):
    unlimited = _solve(TILT, {"max_names": 10, "method": "heuristic"}, toy)
    assert unlimited.diagnostics.cardinality.solves > 2
    job = _job(TILT, {"max_names": 10, "method": "heuristic", "time_limit": 25})
    prepared, clock = _slow_prepared(monkeypatch, job, toy)
    result = prepared.solve()
    report = result.diagnostics.cardinality
    assert report.status == "time_limit" and result.diagnostics.status == "time_limit"
    assert report.solves == 2 and clock.now <= 25  # the first solve, then one finishing re-solve
    assert _meets_count(result.weights, 10) and report.names_held <= 10
    assert np.isfinite(report.gap) and report.gap >= 0
    assert report.tracking_error_bound <= result.diagnostics.tracking_error
    assert result.summary()["status"] == "time_limit"


@pytest.mark.parametrize("time_limit", [25, 45, 65, 85, 1e4])
def test_heuristic_never_runs_past_its_time_limit(toy, monkeypatch, time_limit):
    cardinality = {"max_names": 15, "min_weight": 0.03, "method": "heuristic", "time_limit": time_limit}
    prepared, clock = _slow_prepared(monkeypatch, _job(TILT, cardinality), toy)
    result = prepared.solve()
    report = result.diagnostics.cardinality
    assert clock.now <= time_limit and report.solves * 10 == clock.now
    assert _meets_count(result.weights, 15, 0.03)
    if time_limit == 1e4:
        assert report.status == "heuristic" and result.diagnostics.status == "optimal"
    else:
        assert report.status in ("heuristic", "time_limit")
        assert (result.diagnostics.status == "time_limit") == (report.status == "time_limit")


def test_heuristic_without_an_answer_in_time_fails_naming_the_limit(toy, monkeypatch):
    rules = [
        {"asset_weight": {"max": 0.13}},
        {"factor_exposure": {"factor": "value", "min": 0.3}},
        {"factor_exposure": {"factor": "quality", "min": 0.3}},
    ]
    feasible = _solve(rules, {"max_names": 8, "method": "heuristic"}, toy)
    assert _meets_count(feasible.weights, 8)  # the job has an answer, given time
    job = _job(rules, {"max_names": 8, "method": "heuristic", "time_limit": 25})
    prepared, clock = _slow_prepared(monkeypatch, job, toy)
    with pytest.raises(SolverFailedError, match=r"time limit \(25 s\) ran out with \d+ names still held"):
        prepared.solve()
    assert clock.now <= 25


def _spy_on_scip(monkeypatch, change=None):
    """Record the SCIP parameters of every solve; ``change`` may replace them or raise."""
    seen = []
    real = cp.Problem.solve

    def spy(self, *args, **kwargs):
        if "scip_params" in kwargs:
            seen.append(dict(kwargs["scip_params"]))
            if change is not None:
                kwargs["scip_params"] = change(kwargs["scip_params"])
        return real(self, *args, **kwargs)

    monkeypatch.setattr(cp.Problem, "solve", spy)
    return seen


def test_exact_gets_the_time_left_and_reports_optimal_only_when_proven(toy, monkeypatch):
    seen = _spy_on_scip(monkeypatch)
    result = _solve(TILT, {"max_names": 10, "method": "exact", "time_limit": 7.5}, toy)
    assert len(seen) == 1 and 0 < seen[0]["limits/time"] <= 7.5
    assert result.diagnostics.cardinality.status == "optimal" and result.diagnostics.cardinality.gap == 0


def test_exact_stopped_early_is_time_limit_with_its_gap(toy, monkeypatch):
    seen = _spy_on_scip(monkeypatch, lambda params: {**params, "limits/nodes": 1})  # stop at the root
    result = _solve(TILT, {"max_names": 10, "method": "exact", "time_limit": 7.5}, toy)
    report = result.diagnostics.cardinality
    assert seen and report.status == "time_limit" and result.diagnostics.status == "time_limit"
    assert report.gap > 0 and report.relative_gap > 0 and "before proving optimality" in report.bound_note
    assert report.tracking_error_bound <= result.diagnostics.tracking_error and _meets_count(result.weights, 10)


def test_exact_without_a_portfolio_in_time(toy, monkeypatch):
    def no_portfolio(params):
        raise cp.error.SolverError("Solver 'SCIP' failed.")

    _spy_on_scip(monkeypatch, no_portfolio)
    job = _job(TILT, {"max_names": 10, "method": "exact", "time_limit": 7.5})
    with pytest.raises(SolverFailedError, match="SCIP could not solve"):  # time was left: SCIP failed
        optimizer.optimize(job, snapshot=toy[0], risk_model=toy[1])
    prepared, _ = _slow_prepared(monkeypatch, job, toy, seconds_per_solve=100.0)  # SCIP starts after the limit
    result = prepared.solve()
    report = result.diagnostics.cardinality
    assert report.status == "time_limit" and "rounded relaxation" in report.bound_note
    assert _meets_count(result.weights, 10)


# -- bounds that say what they are worth -----------------------------------------------------
def test_full_covariance_bound_uses_its_smallest_eigenvalue(toy):
    snapshot, model = toy
    full = risk_model_from_covariance(model.covariance())
    plain = optimizer.optimize(loads_job(yaml.safe_dump({"constraints": TILT})), snapshot=snapshot, risk_model=full)
    result = _solve(TILT, {"max_names": 10, "method": "heuristic"}, (snapshot, full))
    report = result.diagnostics.cardinality
    assert "full covariance" in report.bound_note and "smallest eigenvalue" in report.bound_note
    assert plain.diagnostics.tracking_error < report.tracking_error_bound <= result.diagnostics.tracking_error


def test_a_bound_no_tighter_than_the_job_without_count_rules_says_so(toy):
    snapshot, model = toy
    no_specific = RiskModel(model.asset_ids, model.factor_names, model.exposures, model.factor_cov_sqrt, np.zeros(40))
    rules = [*TILT, {"factor_exposure": {"factor": "quality", "min": 0.2}}]
    result = _solve(rules, {"max_names": 10, "method": "heuristic"}, (snapshot, no_specific))
    report = result.diagnostics.cardinality
    assert "no tighter than the optimum without the holdings-count rules" in report.bound_note
    assert report.tracking_error_bound <= result.diagnostics.tracking_error
