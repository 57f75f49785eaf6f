"""Acceptance 1: on the hand-built case (3 assets, 6 lots) the lots sold, gains and tax equal an
independent solution — a brute force over the wash-sale sides with scipy's SLSQP for the whole
problem, and scipy's ``linprog`` for the lots with the target weights fixed."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog, minimize

from trimtab import optimizer

WEIGHTS = (0.2, 1.0)


def _solve(hand, weight, **taxes):
    return optimizer.optimize(
        hand.job(weight=weight, **taxes), snapshot=hand.snapshot(), risk_model=hand.risk_model(), lots=hand.lots()
    )


def _lot_weights(hand):
    price = hand.PRICES[[hand.IDS.index(a) for a in hand.LOTS["asset_id"]]]
    return hand.LOTS["shares"].to_numpy() * price / hand.NAV


def _patterns(hand):
    """Each asset either may be sold at a loss (and is not bought) or may not (and may be bought)."""
    yield from itertools.product((True, False), repeat=len(hand.IDS))


def _brute_force(hand, weight):
    """min 1e4·(aᵀΣa + weight·tax) over lot sales x and buys b, best of the 8 wash-sale patterns (SLSQP)."""
    sigma, c = hand.covariance(), hand.tax_per_sale()
    caps = _lot_weights(hand)
    S = np.array([[a == asset for a in hand.LOTS["asset_id"]] for asset in hand.IDS], dtype=float)
    loss = c < 0
    best = (np.inf, None)
    for harvest in _patterns(hand):
        def weights(v):
            return hand.HOLDINGS - S @ v[:6] + v[6:]

        def objective(v):
            a = weights(v) - hand.BENCHMARK
            return a @ sigma @ a + weight * c @ v[:6]

        def gradient(v):
            g = 2 * sigma @ (weights(v) - hand.BENCHMARK)
            return np.concatenate([-S.T @ g + weight * c, g])

        bounds = [(0.0, 0.0 if (loss[l] and not harvest[hand.IDS.index(asset)]) else caps[l])
                  for l, asset in enumerate(hand.LOTS["asset_id"])]
        bounds += [(0.0, 0.0 if harvest[i] else 1.0) for i in range(3)]
        budget = {"type": "eq", "fun": lambda v: weights(v).sum() - 1.0, "jac": lambda v: np.concatenate([-S.sum(0), np.ones(3)])}
        result = minimize(objective, np.zeros(9), jac=gradient, method="SLSQP", bounds=bounds, constraints=[budget],
                          options={"ftol": 1e-15, "maxiter": 2000})
        assert result.success or result.status == 8, result.message  # 8: no further descent at machine precision
        if 1e4 * result.fun < best[0]:
            best = (1e4 * result.fun, weights(result.x))
    return best


def _cheapest_lots(hand, target):
    """With the weights fixed: the least-tax lot sales (linprog), best of the wash-sale patterns."""
    c, caps = hand.tax_per_sale(), _lot_weights(hand)
    S = np.array([[a == asset for a in hand.LOTS["asset_id"]] for asset in hand.IDS], dtype=float)
    best = (np.inf, None)
    for harvest in _patterns(hand):
        bounds = [(0.0, 0.0 if (c[l] < 0 and not harvest[hand.IDS.index(a)]) else caps[l])
                  for l, a in enumerate(hand.LOTS["asset_id"])]
        bounds += [(0.0, 0.0 if harvest[i] else None) for i in range(3)]
        # S x − b = holdings − target
        result = linprog(
            np.concatenate([c, np.zeros(3)]), A_eq=np.hstack([S, -np.eye(3)]), b_eq=hand.HOLDINGS - target,
            bounds=bounds, method="highs",
        )
        if result.status == 0 and result.fun < best[0]:
            best = (result.fun, result.x[:6])
    return best


@pytest.mark.parametrize("weight", WEIGHTS)
def test_the_optimum_equals_a_brute_force_over_the_wash_sale_sides(hand, weight):
    result = _solve(hand, weight)
    taxes = result.diagnostics.taxes
    objective, weights = _brute_force(hand, weight)
    assert taxes.wash_sale.objective == pytest.approx(objective, rel=1e-6, abs=1e-6)
    np.testing.assert_allclose(result.weights.to_numpy(), weights, atol=1e-5)


@pytest.mark.parametrize("weight", WEIGHTS)
def test_lots_gains_and_tax_equal_an_independent_lp(hand, weight):
    result = _solve(hand, weight)
    taxes = result.diagnostics.taxes
    tax, sales = _cheapest_lots(hand, result.weights.to_numpy())
    price = hand.PRICES[[hand.IDS.index(a) for a in hand.LOTS["asset_id"]]]
    expected_shares = dict(zip(hand.LOTS["lot_id"], sales * hand.NAV / price))
    sold = taxes.lots_sold.set_index("lot_id")
    for lot_id, shares in expected_shares.items():
        assert sold["shares"].get(lot_id, 0.0) == pytest.approx(shares, abs=1e-3), lot_id
    # gains and tax recomputed from the lots table: (price − basis) × shares, rate by term
    basis = hand.LOTS.set_index("lot_id")["cost_basis"]
    asset_price = dict(zip(hand.IDS, hand.PRICES))
    gains = {l: (asset_price[row.asset_id] - basis[l]) * row.shares for l, row in sold.iterrows()}
    for lot_id, gain in gains.items():
        assert sold.loc[lot_id, "gain"] == pytest.approx(gain, abs=1e-6)
    assert taxes.tax == pytest.approx(tax * hand.NAV, abs=0.01)
    long_term = {"A1", "B2", "C1"}
    assert taxes.long_term_losses == pytest.approx(-sum(min(g, 0) for l, g in gains.items() if l in long_term), abs=1e-6)
    assert taxes.short_term_losses == pytest.approx(-sum(min(g, 0) for l, g in gains.items() if l not in long_term), abs=1e-6)
    assert set(sold["term"]) <= {"short", "long"}
    assert all((sold.loc[l, "term"] == "long") == (l in long_term) for l in sold.index)


def test_the_summary_block_states_usd_and_percent_of_nav(hand):
    result = _solve(hand, 1.0)
    block = result.summary()["taxes"]
    taxes = result.diagnostics.taxes
    assert block["nav"] == hand.NAV
    assert block["tax"]["usd"] == pytest.approx(taxes.tax, abs=0.005)
    assert block["tax"]["percent_of_nav"] == pytest.approx(100 * taxes.tax / hand.NAV)
    assert block["losses_harvested"]["usd"] == pytest.approx(taxes.short_term_losses + taxes.long_term_losses, abs=0.01)
    assert block["lots_sold"] == len(taxes.lots_sold)
    assert block["wash_sales"]["either_or"]["method"] in {"exact", "heuristic", "relaxation"}


def test_a_realized_gain_budget_holds_and_reports_in_fractions(hand):
    rules = [{"realized_gain": {"max": 2000.0, "units": "usd"}}, {"asset_weight": {"max": 0.45, "assets": ["A"]}}]
    result = optimizer.optimize(
        hand.job(weight=0.0, constraints=rules), snapshot=hand.snapshot(), risk_model=hand.risk_model(), lots=hand.lots()
    )
    sold = result.diagnostics.taxes.lots_sold
    assert sold["gain"].sum() <= 2000.0 + 1e-3
    report = next(r for r in result.diagnostics.constraints if r.kind == "realized_gain")
    assert report.bound == pytest.approx(2000.0 / hand.NAV)
    assert report.value == pytest.approx(sold["gain"].sum() / hand.NAV, abs=1e-9)
    assert result.weights["A"] <= 0.45 + 1e-7
