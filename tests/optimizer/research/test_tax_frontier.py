"""The TE-vs-gain-budget frontier (:func:`gain_budget_frontier`) on the default job and its synthetic lots:
monotone, each point's realized gain within its budget, equal to a one-off solve at that budget, and
the refusals named."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from trimtab import optimizer
from trimtab.constraints import RealizedGain, SpecError, TaxSpec, load_job
from trimtab.optimizer.research import gain_budget_frontier

ROOT = Path(__file__).parents[3]
BUDGETS = [0.01, 0.0, -0.02, -0.05]


@pytest.fixture(scope="module")
def default_job():
    return load_job(ROOT / "examples" / "mag7_value_quality.yaml")


@pytest.fixture(scope="module")
def swept(default_job):
    return gain_budget_frontier(default_job, BUDGETS)


def test_the_frontier_is_monotone_and_each_point_within_its_budget(swept):
    points = swept.points
    assert list(points["bound"]) == BUDGETS and swept.side == "max"
    assert points["feasible"].all(), points[["bound", "status", "message"]]
    te = points["tracking_error"].to_numpy()
    assert np.all(np.diff(te) >= -1e-7), te  # a tighter budget never lowers TE
    assert te[-1] > te[0] + 1e-4  # and asking for 5 % of NAV in net losses costs TE
    assert (points["value"] <= points["bound"] + 1e-6).all()
    assert points["binding"].iloc[-1]


def test_a_point_is_the_one_off_solve_at_its_budget(default_job, swept):
    """The point at −2 % is the job with ``realized_gain: {max: -0.02}`` and tax weight 0, solved alone."""
    job = dataclasses.replace(
        default_job, taxes=TaxSpec(weight=0.0), constraints=(*default_job.constraints, RealizedGain(max=-0.02)),
    )
    alone = optimizer.optimize(job)
    point = swept.points.iloc[2]
    assert point["tracking_error"] == pytest.approx(alone.diagnostics.tracking_error, abs=1e-7)
    assert point["value"] == pytest.approx(alone.diagnostics.taxes.net_gain / alone.diagnostics.taxes.nav,
                                           abs=1e-7)


def test_bad_sweeps_are_refused_by_name(default_job):
    with pytest.raises(SpecError, match="kind"):
        gain_budget_frontier(default_job, BUDGETS, kind="medium")
    in_usd = dataclasses.replace(
        default_job, taxes=TaxSpec(), constraints=(*default_job.constraints, RealizedGain(max=1e6, units="usd")),
    )
    with pytest.raises(SpecError, match="USD"):
        gain_budget_frontier(in_usd, BUDGETS)
