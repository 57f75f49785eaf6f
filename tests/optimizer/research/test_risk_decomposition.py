"""Risk decomposition: every Euler contribution against the full covariance Σ = B L Lᵀ Bᵀ + diag(s²)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from trimtab import optimizer
from trimtab.constraints import loads_job
from trimtab.models import DataError, RiskModel
from trimtab.optimizer.research import risk_decomposition


@dataclass(frozen=True)
class _Portfolio:
    weights: pd.Series
    benchmark: pd.Series
    sectors: pd.Series


def _small_case(seed: int = 3):
    rng = np.random.default_rng(seed)
    n, k = 7, 3
    ids = [f"A{i}" for i in range(n)]
    model = RiskModel(
        tuple(ids), ("f0", "f1", "f2"), rng.normal(size=(n, k)),
        np.linalg.cholesky(np.diag(rng.uniform(0.01, 0.05, k)) + 0.003), rng.uniform(0.1, 0.4, n),
    )
    w, wb = rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n))
    sectors = pd.Series(["Energy", "Tech", "Tech", "Energy", "Health", "Tech", "Health"], index=ids)
    # weights in a different order from the model's rows: matching is by asset_id
    order = ids[::-1]
    portfolio = _Portfolio(pd.Series(w, index=ids)[order], pd.Series(wb, index=ids), sectors)
    return portfolio, model, w - wb


def _full_covariance(model: RiskModel) -> np.ndarray:
    b, chol, s = model.exposures, model.factor_cov_sqrt, model.specific_vol
    return b @ chol @ chol.T @ b.T + np.diag(s**2)


def _euler_by_finite_difference(te_of, x: np.ndarray, step: float = 1e-7) -> np.ndarray:
    """x_j ∂TE/∂x_j by central differences: Euler's theorem for a degree-1 homogeneous TE."""
    grad = np.empty_like(x)
    for j in range(len(x)):
        up, down = x.copy(), x.copy()
        up[j] += step
        down[j] -= step
        grad[j] = (te_of(up) - te_of(down)) / (2 * step)
    return x * grad


def test_contributions_match_the_full_covariance_and_add_up_to_te():
    portfolio, model, active = _small_case()
    sigma = _full_covariance(model)
    te = float(np.sqrt(active @ sigma @ active))
    groups = {"G1": ["A0", "A2"], "G2": ["A5"]}
    d = risk_decomposition(portfolio, model, groups)

    assert d.tracking_error == pytest.approx(te, rel=1e-12)
    per_asset = _euler_by_finite_difference(lambda a: np.sqrt(a @ sigma @ a), active)
    np.testing.assert_allclose(d.by_asset.loc[list(model.asset_ids), "contribution"], per_asset, rtol=1e-6)
    np.testing.assert_allclose(d.by_asset.loc[list(model.asset_ids), "active_weight"], active, atol=1e-15)
    assert d.by_asset["contribution"].sum() == pytest.approx(te, rel=1e-12)
    assert d.by_asset["share"].sum() == pytest.approx(1.0, rel=1e-12)

    # factor vs specific: the variance of each part, from Σ minus its diagonal specific part
    specific_var = float(np.sum((model.specific_vol * active) ** 2))
    factor_var = float(active @ (sigma - np.diag(model.specific_vol**2)) @ active)
    np.testing.assert_allclose(d.components["variance"], [factor_var, specific_var], rtol=1e-10)
    np.testing.assert_allclose(d.components["contribution"], [factor_var / te, specific_var / te], rtol=1e-10)
    assert d.components["contribution"].sum() == pytest.approx(te, rel=1e-12)

    # by factor: Euler in factor-exposure space, TE(x) = √(xᵀ F x + specific variance)
    factor_cov = model.factor_cov_sqrt @ model.factor_cov_sqrt.T
    x = model.exposures.T @ active
    per_factor = _euler_by_finite_difference(lambda e: np.sqrt(e @ factor_cov @ e + specific_var), x)
    np.testing.assert_allclose(d.by_factor["active_exposure"], x, rtol=1e-12)
    np.testing.assert_allclose(d.by_factor["contribution"], per_factor, rtol=1e-6)
    assert d.by_factor["contribution"].sum() == pytest.approx(factor_var / te, rel=1e-10)

    # by sector and by group: the per-asset contributions summed by hand
    marginal = sigma @ active / te
    by_asset = pd.Series(active * marginal, index=model.asset_ids)
    for sector in ("Energy", "Health", "Tech"):
        members = portfolio.sectors.index[portfolio.sectors == sector]
        assert d.by_sector.loc[sector, "contribution"] == pytest.approx(by_asset[members].sum(), rel=1e-10)
    assert d.by_sector["contribution"].sum() == pytest.approx(te, rel=1e-12)
    assert d.by_group.loc["G1", "contribution"] == pytest.approx(by_asset[["A0", "A2"]].sum(), rel=1e-10)
    assert d.by_group.loc["G2", "contribution"] == pytest.approx(by_asset["A5"], rel=1e-10)
    rest = by_asset.drop(["A0", "A2", "A5"]).sum()
    assert d.by_group.loc["rest", "contribution"] == pytest.approx(rest, rel=1e-10)
    assert d.by_group["contribution"].sum() == pytest.approx(te, rel=1e-12)


def test_no_active_weight_means_no_risk_and_no_division_by_zero():
    portfolio, model, _ = _small_case()
    same = _Portfolio(portfolio.benchmark, portfolio.benchmark, portfolio.sectors)
    d = risk_decomposition(same, model)
    assert d.tracking_error == 0.0
    assert np.all(d.by_asset["contribution"] == 0.0)
    assert d.by_group.empty


def test_unknown_group_member_or_uncovered_asset_is_a_data_error():
    portfolio, model, _ = _small_case()
    with pytest.raises(DataError, match="group 'G'.*ZZZ"):
        risk_decomposition(portfolio, model, {"G": ["A1", "ZZZ"]})
    extra = _Portfolio(
        pd.concat([portfolio.weights, pd.Series({"NEW": 0.0})]), portfolio.benchmark, portfolio.sectors
    )
    with pytest.raises(DataError, match="NEW"):
        risk_decomposition(extra, model)


def test_decomposition_of_a_solved_target_reproduces_its_diagnostics(toy):
    snapshot, model = toy
    job = loads_job("name: toy\nconstraints:\n  - group_weight: {group: TOP5, max: benchmark - 0.05}\n")
    target = optimizer.optimize(job, snapshot=snapshot, risk_model=model)
    d = risk_decomposition(target, model, snapshot.groups)
    diag = target.diagnostics
    assert d.tracking_error == pytest.approx(diag.tracking_error, rel=1e-10)
    np.testing.assert_allclose(
        d.components["standalone"], [diag.factor_tracking_error, diag.specific_tracking_error], rtol=1e-10
    )
    # the capped group is underweight by 5 % of NAV, as the rule demands
    assert d.by_group.loc["TOP5", "active_weight"] == pytest.approx(-0.05, abs=1e-6)


def test_jupyter_rendering_shows_the_figure_and_the_tables():
    portfolio, model, active = _small_case()
    d = risk_decomposition(portfolio, model, {"G1": ["A0"]})
    page = d._repr_html_()
    te = float(np.sqrt(active @ _full_covariance(model) @ active))
    assert f"Tracking error {te:.3%}" in page
    assert page.count("src='data:image/png;base64,iVBORw0KGgo") == 1  # base64 of the PNG signature
    assert page.count("<table") == 4  # components, by factor, by sector, by group
