"""Acceptance facts of the default job (examples/mag7_value_quality.yaml) on the embedded data."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from trimtab import optimizer
from trimtab.constraints import load_job, loads_job

EXAMPLES = Path(__file__).parents[2] / "examples"
TOL = 1e-6

_spec = importlib.util.spec_from_file_location("trimtab_tests_peers", Path(__file__).parents[1] / "peers.py")
peers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(peers)


@pytest.fixture(scope="module")
def default_run():
    job = load_job(EXAMPLES / "mag7_value_quality.yaml")
    snapshot = optimizer.load_market_data(job)
    model = optimizer.estimate_risk(job, snapshot)
    return job, snapshot, model, optimizer.optimize(job, snapshot=snapshot, risk_model=model)


def test_default_job_obeys_every_rule(default_run):
    job, snapshot, model, result = default_run
    w, wb = result.weights, snapshot.benchmark_weights
    assert result.diagnostics.status == "optimal"
    assert snapshot.dataset.startswith("synthetic-sp500")
    assert w[list(snapshot.groups["MAG7"])].sum() <= 0.20 + TOL
    assert snapshot.characteristics["value"] @ (w - wb) >= 0.25 - TOL
    assert snapshot.characteristics["quality"] @ (w - wb) >= 0.25 - TOL
    assert (w - snapshot.holdings).abs().sum() <= 0.30 + TOL
    assert (w <= wb + 0.02 + TOL).all()
    assert w.min() >= -1e-8
    assert abs(w.sum() - 1.0) <= 1e-8


def test_reported_te_is_the_dense_quadratic_form(default_run):
    job, snapshot, model, result = default_run
    b = model.exposures
    f = model.factor_covariance().to_numpy()
    d = np.diag(model.specific_vol**2)
    a = (result.weights - snapshot.benchmark_weights).to_numpy()
    te = np.sqrt(a @ (b @ f @ b.T + d) @ a)
    assert result.diagnostics.tracking_error == pytest.approx(te, rel=1e-10)
    assert 0.005 < te < 0.05  # a plausible TE for a 20 % MAG7 cap with tilts


def test_every_constraint_report_matches_the_weights(default_run):
    job, snapshot, model, result = default_run
    reports = {r.name: r for r in result.diagnostics.constraints}
    assert reports["MAG7 weight <= 0.2"].value == pytest.approx(result.weights[list(snapshot.groups["MAG7"])].sum())
    assert reports["turnover (two-way) <= 0.3"].value == pytest.approx(result.diagnostics.turnover)
    assert all(r.slack >= -TOL for r in result.diagnostics.constraints)
    groups = result.diagnostics.groups["MAG7"]
    assert groups["benchmark"] == pytest.approx(snapshot.benchmark_weights[list(snapshot.groups["MAG7"])].sum())


def test_same_optimum_as_pypfopt_on_the_default_job(default_run):
    job, snapshot, model, result = default_run
    theirs = peers.solve_with_pypfopt(job, snapshot, model)
    a = theirs - snapshot.benchmark_weights.to_numpy()
    their_te = float(np.sqrt(a @ peers.dense_covariance(model) @ a))
    assert result.diagnostics.tracking_error == pytest.approx(their_te, abs=1e-6)
    assert np.abs(result.weights.to_numpy() - theirs).max() < 1e-4


@pytest.mark.parametrize(
    ("name", "old", "new", "step"),
    [
        ("MAG7 weight <= 0.2", "{group: MAG7, max: 0.20}", "{group: MAG7, max: 0.202}", 0.002),
        ("turnover (two-way) <= 0.3", "{max: 0.30, kind: two_way}", "{max: 0.302, kind: two_way}", 0.002),
        ("value active exposure >= 0.25", "{factor: value, min: 0.25}", "{factor: value, min: 0.248}", 0.002),
    ],
)
def test_marginal_te_matches_a_finite_difference(default_run, name, old, new, step):
    job, snapshot, model, result = default_run
    text = (EXAMPLES / "mag7_value_quality.yaml").read_text()
    assert old in text
    relaxed = optimizer.optimize(loads_job(text.replace(old, new)), snapshot=snapshot, risk_model=model)
    slope = (relaxed.diagnostics.tracking_error - result.diagnostics.tracking_error) / step
    report = next(r for r in result.diagnostics.constraints if r.name == name)
    assert report.binding and report.marginal_te < 0
    assert report.marginal_te == pytest.approx(slope, rel=0.05)
