"""``ExpressionValue`` reads the value CVXPY's ``.value`` gives, with one tree walk instead of two."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

from trimtab.constraints import ExpressionValue


@pytest.fixture
def terms():
    rng = np.random.default_rng(7)
    w = cp.Variable(6)
    loadings = cp.Parameter((2, 6), value=rng.standard_normal((2, 6)))
    benchmark = cp.Parameter(6, value=np.full(6, 1 / 6))
    w.value = rng.dirichlet(np.ones(6))
    expressions = {
        "variable": w,
        "tracking error": cp.norm(cp.hstack([loadings @ (w - benchmark), 0.1 * (w - benchmark)]), 2),
        "turnover": cp.norm1(w - benchmark),
        "group": cp.reshape(cp.sum(w[:3]), (1,), order="C"),
        "exposure": np.arange(6.0) @ (w - benchmark) + 0.25,
        "objective": 1e4 * (cp.quad_over_lin(loadings @ w - loadings @ benchmark, 1.0) + cp.sum_squares(w)),
    }
    return w, loadings, expressions


def test_the_same_value_as_cvxpy_bit_for_bit(terms):
    w, loadings, expressions = terms
    readers = {name: ExpressionValue(e) for name, e in expressions.items()}
    for _ in range(3):  # values change between reads: each read sees the current ones
        for name, expression in expressions.items():
            np.testing.assert_array_equal(readers[name](), expression.value)
            assert np.shape(readers[name]()) == np.shape(expression.value)
        w.value = np.roll(w.value, 1)
        loadings.value = loadings.value * 1.5


def test_none_when_a_variable_or_a_parameter_has_no_value(terms):
    w, loadings, expressions = terms
    readers = {name: ExpressionValue(e) for name, e in expressions.items()}
    w.value = None
    assert all(reader() is None for reader in readers.values())
    w.value = np.full(6, 1 / 6)
    loadings.value = None
    assert readers["tracking error"]() is None and expressions["tracking error"].value is None
    assert readers["turnover"]() is not None  # no loadings in it


def test_an_atom_with_its_own_value_is_read_through_it():
    """``lambda_max`` defines ``value`` itself: the reader defers to it."""
    X = cp.Variable((2, 2), symmetric=True)
    X.value = np.array([[2.0, 1.0], [1.0, 3.0]])
    expression = cp.lambda_max(X)
    assert type(expression).value is not cp.atoms.atom.Atom.value
    assert ExpressionValue(expression)() == expression.value == pytest.approx(np.linalg.eigvalsh(X.value)[-1])
