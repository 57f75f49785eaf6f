"""Frontiers on the embedded 500-name data: monotone TE, caps met, infeasible points marked, compiled once."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from trimtab import optimizer
from trimtab.constraints import SpecError, loads_job
from trimtab.optimizer import _compile_cache, _compiled
from trimtab.optimizer.cli import app
from trimtab.optimizer import estimate_risk, load_market_data
from trimtab.optimizer.research import Frontier, frontier, mag7_cap_frontier, tilt_frontier, turnover_frontier

DEFAULT = Path(__file__).parents[3] / "examples" / "mag7_value_quality.yaml"
runner = CliRunner()

# The default job without its turnover budget (which makes tight MAG7 caps infeasible).
NO_TURNOVER = """
data: {source: embedded, seed: 7}
risk_model: {method: fundamental, window: 756}
constraints:
  - group_weight: {group: MAG7, max: %(cap)s}
  - factor_exposure: {factor: value, min: %(value)s}
  - factor_exposure: {factor: quality, min: 0.25}
  - asset_weight: {max: benchmark + 0.02}
"""


def job_text(cap: float = 0.20, value: float = 0.25) -> str:
    return NO_TURNOVER % {"cap": cap, "value": value}


@pytest.fixture(scope="module")
def data():
    job = optimizer.as_job(DEFAULT)
    snapshot = load_market_data(job)
    return snapshot, estimate_risk(job, snapshot)


def mag7_weight(weights: pd.Series, snapshot) -> float:
    return float(weights[list(snapshot.groups["MAG7"])].sum())


def test_mag7_frontier_monotone_caps_met_and_loose_end_unconstrained(data):
    snapshot, model = data
    caps = [0.50, 0.30, 0.25, 0.20, 0.15, 0.10]
    result = mag7_cap_frontier(loads_job(job_text()), caps, snapshot=snapshot, risk_model=model)
    points = result.points
    assert list(points["bound"]) == caps and points["feasible"].all()
    te = points["tracking_error"].to_numpy()
    assert np.all(np.diff(te) >= -1e-7), te  # tighter cap (later) never lowers TE
    for i, cap in enumerate(caps):
        assert mag7_weight(result.weights[i], snapshot) <= cap + 1e-7
        assert points["MAG7_weight"].iloc[i] == pytest.approx(mag7_weight(result.weights[i], snapshot))
    # Without the MAG7 rule the optimum holds less than 50 % in MAG7: the loosest point is that optimum.
    free_job = loads_job("\n".join(line for line in job_text().splitlines() if "MAG7" not in line))
    free = optimizer.optimize(free_job, snapshot=snapshot, risk_model=model)
    assert mag7_weight(free.weights, snapshot) < 0.50
    assert points["tracking_error"].iloc[0] == pytest.approx(free.diagnostics.tracking_error, rel=1e-6)
    assert not points["binding"].iloc[0] and points["binding"].iloc[-1]


def test_parameter_path_equals_a_fresh_compile(data):
    snapshot, model = data
    result = frontier(loads_job(job_text()), "group_weight:MAG7", [0.30, 0.15], snapshot=snapshot, risk_model=model)
    fresh = optimizer.optimize(loads_job(job_text(cap=0.15)), snapshot=snapshot, risk_model=model)
    assert result.points["tracking_error"].iloc[1] == pytest.approx(fresh.diagnostics.tracking_error, rel=1e-7)
    np.testing.assert_allclose(result.weights[1].to_numpy(), fresh.weights.to_numpy(), atol=1e-6)


def test_compiled_once_and_the_same_problem_solved(data, monkeypatch):
    snapshot, model = data
    _compile_cache._CACHE.clear()
    built, solved = [], []
    original_init, original_run = _compiled.CompiledProblem.__init__, _compiled.CompiledProblem.run_solver

    def counting_init(self, *args, **kwargs):
        built.append(self)
        original_init(self, *args, **kwargs)

    def recording_run(self, problem, name, options, **how):
        solved.append(problem)
        return original_run(self, problem, name, options, **how)

    monkeypatch.setattr(_compiled.CompiledProblem, "__init__", counting_init)
    monkeypatch.setattr(_compiled.CompiledProblem, "run_solver", recording_run)
    result = frontier(loads_job(job_text()), "MAG7 weight <= 0.2", [0.3, 0.25, 0.2, 0.15, 0.1], snapshot=snapshot,
                      risk_model=model)
    assert result.points["feasible"].all()
    assert len(built) == 1
    assert len(solved) >= 5 and all(problem is built[0].problem for problem in solved)


def test_infeasible_point_is_marked_and_the_sweep_goes_on(data):
    snapshot, model = data
    # MAG7 are the largest names: a +0.2 σ size tilt cannot hold with MAG7 at 5 % of NAV.
    job = loads_job(job_text(cap=0.5) + "  - factor_exposure: {factor: size, min: 0.2}\n")
    result = mag7_cap_frontier(job, [0.40, 0.05, 0.30], snapshot=snapshot, risk_model=model)
    points = result.points
    assert list(points["feasible"]) == [True, False, True]
    assert np.isnan(points["tracking_error"].iloc[1]) and points["status"].iloc[1] == "infeasible"
    assert "MAG7 weight <= 0.05" in points["message"].iloc[1]
    assert result.weights[1].isna().all()
    page = result._repr_html_()
    assert "1 infeasible point" in page and page.count("<tr") == 1 + len(points)  # header + one row per point
    assert points["tracking_error"].iloc[2] >= points["tracking_error"].iloc[0] - 1e-7
    # The sweep went on after the infeasible point: the last point is the fresh solve of its job.
    fresh = optimizer.optimize(loads_job(job_text(cap=0.3) + "  - factor_exposure: {factor: size, min: 0.2}\n"),
                               snapshot=snapshot, risk_model=model)
    assert points["tracking_error"].iloc[2] == pytest.approx(fresh.diagnostics.tracking_error, rel=1e-7)


def test_tilt_frontier_te_rises_with_the_floor(data):
    snapshot, model = data
    floors = [0.0, 0.1, 0.2, 0.3, 0.4]
    result = tilt_frontier(loads_job(job_text()), "value", floors, snapshot=snapshot, risk_model=model)
    points = result.points
    assert points["feasible"].all()
    assert np.all(np.diff(points["tracking_error"].to_numpy()) >= -1e-7)
    chars = snapshot.characteristics["value"]
    for i, floor in enumerate(floors):
        active = result.weights[i] - snapshot.benchmark_weights
        assert float(chars @ active) >= floor - 1e-7
    assert points["binding"].iloc[-1]


def test_unreachable_tilt_is_infeasible_with_a_diagnosis(data):
    snapshot, model = data
    # No long-only portfolio with names <= benchmark + 2 % reaches +3 σ value (a per-name rule in the conflict).
    result = tilt_frontier(DEFAULT, "value", [0.25, 3.0], snapshot=snapshot, risk_model=model)
    points = result.points
    assert list(points["feasible"]) == [True, False]
    assert "value active exposure >= 3" in points["message"].iloc[1]
    default = optimizer.optimize(DEFAULT, snapshot=snapshot, risk_model=model)
    assert points["tracking_error"].iloc[0] == pytest.approx(default.diagnostics.tracking_error, rel=1e-7)


def test_turnover_frontier_budgets_met(data):
    snapshot, model = data
    budgets = [0.8, 0.5, 0.35]
    result = turnover_frontier(DEFAULT, budgets, snapshot=snapshot, risk_model=model)
    assert np.all(np.diff(result.points["tracking_error"].to_numpy()) >= -1e-7)
    for i, budget in enumerate(budgets):
        assert float((result.weights[i] - snapshot.holdings).abs().sum()) <= budget + 1e-7


def test_unknown_or_ambiguous_constraint_lists_choices():
    job = loads_job(job_text())
    with pytest.raises(SpecError, match="no constraint 'sector_weight'.*group_weight:MAG7"):
        frontier(job, "sector_weight", [0.1])
    with pytest.raises(SpecError, match="names 2 constraints.*factor_exposure:value.*factor_exposure:quality"):
        frontier(job, "factor_exposure", [0.1], side="min")


def write_job(directory: Path, text: str) -> Path:
    path = directory / "job.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def test_cli_writes_the_csv_and_refuses_to_overwrite(tmp_path, data):
    snapshot, model = data
    job = write_job(tmp_path, job_text())
    target = tmp_path / "frontier.csv"
    args = ["frontier", str(job), "--constraint", "group_weight", "--from", "0.3", "--to", "0.1", "--steps", "3"]
    done = runner.invoke(app, [*args, "--out", str(target)])
    assert done.exit_code == 0, done.output
    csv = pd.read_csv(target)
    np.testing.assert_allclose(csv["bound"], [0.3, 0.2, 0.1])
    expected = frontier(loads_job(job_text()), "group_weight", [0.3, 0.2, 0.1], snapshot=snapshot, risk_model=model)
    np.testing.assert_allclose(csv["tracking_error"], expected.points["tracking_error"], rtol=1e-7)
    before = target.read_bytes()
    again = runner.invoke(app, [*args, "--out", str(target)])
    assert again.exit_code == 2 and "--force" in again.output and target.read_bytes() == before
    forced = runner.invoke(app, [*args, "--out", str(target), "--force"])
    assert forced.exit_code == 0, forced.output


def test_cli_unknown_constraint_exits_2_naming_choices(tmp_path):
    job = write_job(tmp_path, job_text())
    done = runner.invoke(app, ["frontier", str(job), "-c", "beta", "--from", "0", "--to", "1", "--out",
                               str(tmp_path / "f.csv")])
    assert done.exit_code == 2
    text = " ".join(done.output.split())
    assert "no constraint 'beta'" in text and "group_weight:MAG7" in text and "Traceback" not in text
    assert not (tmp_path / "f.csv").exists()


def test_default_caps_run_from_the_benchmark_weight_down_to_5_percent(data):
    snapshot, model = data
    result = mag7_cap_frontier(loads_job(job_text()), snapshot=snapshot, risk_model=model)
    bounds = result.points["bound"].to_numpy()
    assert bounds[0] == pytest.approx(snapshot.benchmark_weights[list(snapshot.groups["MAG7"])].sum())
    assert bounds[-1] == pytest.approx(0.05) and np.all(np.diff(bounds) < 0)
    assert result.points["feasible"].all()
    assert np.all(np.diff(result.points["tracking_error"].to_numpy()) >= -1e-7)


def test_plain_repr_is_one_line():
    points = pd.DataFrame({"bound": [0.2, 0.1], "tracking_error": [0.01, np.nan], "feasible": [True, False]})
    assert repr(Frontier("MAG7 weight", "max", points)) == "Frontier('MAG7 weight', max: 2 points, 1 infeasible)"


# -- failure paths: one diagnosis per distinct conflict, never one per infeasible point ---------


@pytest.fixture
def diagnoses(monkeypatch):
    """The core's diagnose calls (the compiled problem's, which an infeasible solve runs), counted."""
    calls = []
    original = _compiled.diagnose

    def counting(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(_compiled, "diagnose", counting)
    return calls


def test_tighter_infeasible_caps_reuse_one_diagnosis_in_any_sweep_order(data, diagnoses):
    snapshot, model = data
    # The default job's 30 % turnover budget cannot take MAG7 below ~17.5 %: four caps are infeasible.
    caps = [0.05, 0.25, 0.15, 0.10, 0.20, 0.125]
    result = mag7_cap_frontier(DEFAULT, caps, snapshot=snapshot, risk_model=model)
    points = result.points
    assert list(points["bound"]) == caps
    assert list(points["feasible"]) == [False, True, False, False, True, False]
    assert len(diagnoses) == 1  # the loosest infeasible cap (0.15) only
    first = points["message"].iloc[2]
    assert "'MAG7 weight <= 0.15'" in first and "'turnover (two-way) <= 0.3'" in first
    needed = re.search(r"cap of 'MAG7 weight <= 0\.15' from 0\.15 to ([0-9.]+)", first).group(1)
    assert float(needed) > 0.15
    for i in (0, 3, 5):  # each names its own cap, the same conflict, and the cap the other rules allow
        cap, message = points["bound"].iloc[i], points["message"].iloc[i]
        assert f"'MAG7 weight <= {cap:g}' and 'turnover (two-way) <= 0.3' conflict" in message, message
        assert f"raising the cap of 'MAG7 weight <= {cap:g}' from {cap:g} to {needed}" in message, message
        assert "as at max 0.15" in message and points["status"].iloc[i] == "infeasible"
        assert np.isnan(points["tracking_error"].iloc[i]) and result.weights[i].isna().all()
    # The same frontier swept the other way: the same points, and again one diagnosis.
    again = mag7_cap_frontier(DEFAULT, sorted(caps), snapshot=snapshot, risk_model=model)
    assert len(diagnoses) == 2
    reordered = again.points.set_index("bound").loc[caps]
    np.testing.assert_array_equal(reordered["feasible"], points["feasible"])
    np.testing.assert_allclose(reordered["tracking_error"], points["tracking_error"], rtol=1e-9)


def test_a_point_is_fully_diagnosed_on_request(data, diagnoses):
    snapshot, model = data
    result = mag7_cap_frontier(DEFAULT, [0.25, 0.15, 0.05], snapshot=snapshot, risk_model=model)
    assert len(diagnoses) == 1
    full = result.diagnose(2)  # the 5 % cap: its own conflict and the turnover it would need
    assert len(diagnoses) == 2 and not full.feasible
    assert "'MAG7 weight <= 0.05'" in full.message and "MAG7 weight <= 0.05" in [m.name for m in full.conflict]
    turnover = {m.kind: m for m in full.conflict}["turnover"]
    looser = {m.kind: m for m in result.diagnose(1).conflict}["turnover"]
    assert len(diagnoses) == 3 and turnover.needed > looser.needed > 0.3  # a tighter cap needs more turnover
    assert result.diagnose(0).feasible and len(diagnoses) == 3  # a feasible point needs no diagnosis
    fresh = optimizer.diagnose(loads_job(DEFAULT.read_text().replace("max: 0.20", "max: 0.05")),
                               snapshot=snapshot, risk_model=model)  # the job written with the 5 % cap
    assert turnover.needed == pytest.approx({m.kind: m for m in fresh.conflict}["turnover"].needed)
    with pytest.raises(ValueError, match="no problem to diagnose"):
        Frontier("MAG7 weight", "max", result.points).diagnose(0)


def test_a_floor_sweep_reuses_its_diagnosis_upward(data, diagnoses):
    snapshot, model = data
    result = tilt_frontier(DEFAULT, "value", [4.0, 0.25, 3.0], snapshot=snapshot, risk_model=model)
    assert list(result.points["feasible"]) == [False, True, False] and len(diagnoses) == 1
    assert "value active exposure >= 3" in result.points["message"].iloc[2]
    assert "'value active exposure >= 4'" in result.points["message"].iloc[0]
    assert "as at min 3" in result.points["message"].iloc[0]
