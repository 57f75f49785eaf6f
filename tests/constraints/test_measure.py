"""``BuiltConstraint.measure``: the tightest row and side, its value, bound and slack, read from the weights."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

from trimtab.constraints import BuiltConstraint


def _built(lhs, lower=None, upper=None, *, equality=False, labels=None) -> BuiltConstraint:
    hard = {"eq": lhs == upper} if equality else {}
    if not equality and upper is not None:
        hard["upper"] = lhs <= upper
    if not equality and lower is not None:
        hard["lower"] = lhs >= lower
    return BuiltConstraint(0, None, lhs, lower, upper, hard, labels)


def test_per_row_bounds_name_the_tightest_row_and_its_own_bound():
    w = cp.Variable(3)
    w.value = np.array([0.1, 0.5, 0.4])
    upper = cp.Parameter(3, value=np.array([0.2, 0.45, 0.5]))
    measured = _built(w, cp.Constant(0.0), upper, labels=("A", "B", "C")).measure()
    assert (measured.side, measured.row, measured.position) == ("upper", "B", 1)
    assert measured.value == 0.5 and measured.bound == 0.45 and measured.slack == pytest.approx(-0.05, abs=1e-15)


def test_a_scalar_bound_applies_to_every_row_and_the_lower_side_can_be_tightest():
    w = cp.Variable(3)
    w.value = np.array([0.3, -0.02, 0.72])
    measured = _built(w, cp.Constant(0.0), cp.Constant(0.8), labels=("A", "B", "C")).measure()
    assert (measured.side, measured.row, measured.value, measured.bound) == ("lower", "B", -0.02, 0.0)
    assert measured.slack == -0.02
    w.value = np.array([0.3, 0.02, 0.79])  # now the upper side of C is the tighter
    measured = _built(w, cp.Constant(0.0), cp.Constant(0.8), labels=("A", "B", "C")).measure()
    assert (measured.side, measured.row, measured.bound) == ("upper", "C", 0.8)
    assert measured.slack == pytest.approx(0.01, abs=1e-15)


def test_an_equality_reports_the_distance_and_a_scalar_lhs_has_no_row():
    w = cp.Variable(3)
    w.value = np.array([0.3, 0.3, 0.39])
    measured = _built(cp.sum(w), upper=cp.Constant(1.0), equality=True).measure()
    assert (measured.side, measured.row, measured.bound) == ("eq", None, 1.0)
    assert measured.value == pytest.approx(0.99) and measured.slack == pytest.approx(-0.01)


def test_without_weights_the_value_and_slack_are_nan():
    w = cp.Variable(3)
    measured = _built(w, cp.Constant(0.0), cp.Constant(0.8)).measure()
    assert np.isnan(measured.value) and np.isnan(measured.slack)
