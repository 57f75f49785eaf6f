"""One generic test for every registered constraint type.

For each example: it builds and is DPP; it round-trips through YAML; it holds at the
optimum, checked against an independent numpy computation of the constrained quantity;
and its soft form is positive exactly where the independent check says it is violated.
Adding a constraint type = its class, its registry entry, its example here and its README
row; without an example here ``test_every_type_has_an_example`` fails.

Rules on tax lots (``TAX_EXAMPLES``) are measured on the lots sold, not on the weights alone:
their jobs get a ``taxes`` section (synthetic lots of the toy snapshot), and their reference
is computed from the lots table, the prices and the shares the run sold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from trimtab import optimizer
from trimtab.constraints import (
    CONSTRAINT_TYPES,
    BuildContext,
    DataView,
    LotTerms,
    TaxSpec,
    UniverseInfo,
    constraint_from_params,
    constraint_to_yaml,
    loads_job,
)
from trimtab.models import lot_book, synthetic_lots

TOLERANCE = 1e-6


def _group(ids):
    return lambda w, s, m: np.array([w[s.asset_ids.isin(list(ids(s)))].sum()])


def _sectors(w, s, m):
    return w.groupby(s.sectors).sum().sort_index().to_numpy()


def _active_exposure(factor):
    return lambda w, s, m: np.array([s.characteristics[factor] @ (w - s.benchmark_weights)])


def _te(w, s, m):
    a = (w - s.benchmark_weights).to_numpy()
    return np.array([np.sqrt(a @ m.covariance().to_numpy() @ a)])


def _total_risk(w, s, m):
    x = w.to_numpy()
    return np.array([np.sqrt(x @ m.covariance().to_numpy() @ x)])


def _beta(w, s, m):
    cov, wb = m.covariance().to_numpy(), s.benchmark_weights.to_numpy()
    return np.array([(cov @ wb) @ w.to_numpy() / (wb @ cov @ wb)])


def _ids(ids):
    return lambda w, s, m: w[ids].to_numpy()


# key, params, reference lhs(w, snapshot, model), lower(s), upper(s), violating point(s)
EXAMPLES = [
    ("budget", {}, lambda w, s, m: np.array([w.sum()]), lambda s: 1.0, lambda s: 1.0, lambda s: s.benchmark_weights * 1.1),
    ("long_only", {}, lambda w, s, m: w.to_numpy(), lambda s: 0.0, None, lambda s: s.benchmark_weights - 0.01),
    ("cash", {"min": 0.02, "max": 0.05}, lambda w, s, m: np.array([1 - w.sum()]), lambda s: 0.02, lambda s: 0.05, None),
    ("cash", {"max": 0.01}, lambda w, s, m: np.array([1 - w.sum()]), lambda s: 0.0, lambda s: 0.01, lambda s: s.benchmark_weights * 0.95),
    ("asset_weight", {"max": 0.05}, lambda w, s, m: w.to_numpy(), None, lambda s: 0.05, None),
    (
        "asset_weight",
        {"max": "benchmark * 0.8", "assets": ["T000", "T001"]},
        lambda w, s, m: w[["T000", "T001"]].to_numpy(),
        None,
        lambda s: 0.8 * s.benchmark_weights[["T000", "T001"]].to_numpy(),
        None,
    ),
    (
        "group_weight",
        {"group": "TOP5", "max": "benchmark - 0.05"},
        _group(lambda s: s.groups["TOP5"]),
        None,
        lambda s: s.benchmark_weights.iloc[:5].sum() - 0.05,
        None,
    ),
    (
        "group_weight",
        {"top_n_by_cap": 3, "max": 0.15},
        _group(lambda s: s.market_caps.nlargest(3).index),
        None,
        lambda s: 0.15,
        None,
    ),
    (
        "group_weight",
        {"assets": ["T010", "T011"], "min": 0.06},
        _group(lambda s: ["T010", "T011"]),
        lambda s: 0.06,
        None,
        None,
    ),
    (
        "group_weight",
        {"min_market_cap": 3e10, "max": "benchmark - 0.1"},
        _group(lambda s: s.market_caps.index[s.market_caps >= 3e10]),
        None,
        lambda s: s.benchmark_weights[s.market_caps >= 3e10].sum() - 0.1,
        None,
    ),
    (
        "group_weight",
        {"column": "sector", "equals": "Energy", "max": "benchmark - 0.1"},
        _group(lambda s: s.asset_ids[s.sectors == "Energy"]),
        None,
        lambda s: s.benchmark_weights[s.sectors == "Energy"].sum() - 0.1,
        None,
    ),
    ("sector_weight", {"max": 0.27}, _sectors, None, lambda s: 0.27, None),
    (
        "sector_weight",
        {"sectors": ["Energy"], "min": "benchmark + 0.03", "max": "benchmark + 0.05"},
        lambda w, s, m: np.array([w[s.sectors == "Energy"].sum()]),
        lambda s: s.benchmark_weights[s.sectors == "Energy"].sum() + 0.03,
        lambda s: s.benchmark_weights[s.sectors == "Energy"].sum() + 0.05,
        None,
    ),
    ("factor_exposure", {"factor": "value", "min": 0.25}, _active_exposure("value"), lambda s: 0.25, None, None),
    ("factor_exposure", {"factor": "quality", "target": -0.1}, _active_exposure("quality"), lambda s: -0.1, lambda s: -0.1, None),
    (
        "factor_exposure",
        {"factor": "f1", "min": 0.05, "max": 0.08},  # a risk-model factor of the toy model
        lambda w, s, m: np.array([m.exposures[:, 1] @ (w - s.benchmark_weights).to_numpy()]),
        lambda s: 0.05,
        lambda s: 0.08,
        None,
    ),
    (
        "turnover",
        {"max": 0.10},
        lambda w, s, m: np.array([(w - s.holdings).abs().sum()]),
        None,
        lambda s: 0.10,
        None,
    ),
    (
        "turnover",
        {"max": 0.04, "kind": "one_way"},
        lambda w, s, m: np.array([0.5 * (w - s.holdings).abs().sum()]),
        None,
        lambda s: 0.04,
        None,
    ),
    ("tracking_error", {"max": 0.01}, _te, None, lambda s: 0.01, lambda s: s.benchmark_weights * 0 + 1 / s.n_assets),
    ("total_risk", {"max": 0.06}, _total_risk, None, lambda s: 0.06, None),
    ("beta", {"min": 0.9, "max": 0.95}, _beta, lambda s: 0.9, lambda s: 0.95, None),
    ("restricted", {"assets": ["T000", "T002"]}, _ids(["T000", "T002"]), lambda s: 0.0, lambda s: 0.0, None),
    ("must_hold", {"assets": ["T030", "T031"], "min": 0.05}, _ids(["T030", "T031"]), lambda s: 0.05, None, None),
    (
        "no_trade",
        {"assets": ["T001", "T005"]},
        _ids(["T001", "T005"]),
        lambda s: s.holdings[["T001", "T005"]].to_numpy(),
        lambda s: s.holdings[["T001", "T005"]].to_numpy(),
        None,
    ),
    (
        "no_buy",
        {"assets": ["T000", "T002"]},
        _ids(["T000", "T002"]),
        None,
        lambda s: s.holdings[["T000", "T002"]].to_numpy(),
        None,
    ),
    (
        "max_trade_adv",
        {"max": 0.02, "nav": 1e8},
        lambda w, s, m: (w - s.holdings).abs().to_numpy(),
        None,
        lambda s: 0.02 * (s.assets["price"] * s.assets["adv"]).to_numpy() / 1e8,
        None,
    ),
    (
        "max_position_adv",
        {"max": 1.0, "nav": 1e9},
        lambda w, s, m: w.to_numpy(),
        None,
        lambda s: 1.0 * (s.assets["price"] * s.assets["adv"]).to_numpy() / 1e9,
        None,
    ),
]
IDS = [f"{key}-{i}" for i, (key, *_) in enumerate(EXAMPLES)]

TOY_NAV = 1e9


def _lot_gains(lots, snapshot):
    """Realized gain per share of each lot, USD, and its term, from the lots table (independent of the optimizer)."""
    table = lots.lots.set_index("lot_id")
    price = snapshot.assets["price"].reindex(table["asset_id"]).to_numpy()
    gain = pd.Series(price - table["cost_basis"].to_numpy(), index=table.index)
    long_term = (snapshot.as_of - table["acquired"]).dt.days > 365
    return gain, long_term


def _realized(kind):
    def reference(sold, lots, snapshot):  # sold: lot_id -> shares
        gain, long_term = _lot_gains(lots, snapshot)
        mask = {"net": long_term | ~long_term, "short": ~long_term, "long": long_term}[kind]
        return np.array([(gain * sold.reindex(gain.index).fillna(0.0) * mask).sum() / TOY_NAV])
    return reference


def _harvested(sold, lots, snapshot):
    gain, _ = _lot_gains(lots, snapshot)
    return np.array([(np.maximum(-gain, 0) * sold.reindex(gain.index).fillna(0.0)).sum() / TOY_NAV])


def _all_gain_lots(lots, snapshot):
    gain, _ = _lot_gains(lots, snapshot)
    return lots.lots.set_index("lot_id")["shares"].where(gain > 0, 0.0)


# key, params, reference(sold shares by lot_id, lots, snapshot), lower, upper, violating sale (shares by lot_id)
TAX_EXAMPLES = [
    ("realized_gain", {"max": -0.002}, _realized("net"), None, -0.002, _all_gain_lots),
    ("realized_gain", {"max": 1e6, "kind": "short", "units": "usd"}, _realized("short"), None, 1e6 / TOY_NAV, _all_gain_lots),
    ("harvested_loss", {"min": 0.03}, _harvested, 0.03, None, lambda lots, s: lots.lots.set_index("lot_id")["shares"] * 0),
]
TAX_IDS = [f"{key}-{i}" for i, (key, *_) in enumerate(TAX_EXAMPLES)]


def _toy_lots(toy):
    snapshot, _ = toy
    lots = synthetic_lots(snapshot, nav=TOY_NAV)
    return lots, lot_book(lots, snapshot, nav=TOY_NAV)


def _build(toy, key, params):
    """(context, built constraint) of one example on the toy universe."""
    snapshot, model = toy
    ctx = BuildContext(UniverseInfo.from_data(snapshot, model), model.n_factors)
    return ctx, constraint_from_params(key, params).build(ctx, 0)


def test_every_type_has_an_example():
    assert {key for key, *_ in EXAMPLES} | {key for key, *_ in TAX_EXAMPLES} == set(CONSTRAINT_TYPES)


@pytest.mark.parametrize(("key", "params", "reference", "lower", "upper", "point"), EXAMPLES, ids=IDS)
def test_builds_and_is_dpp(toy, key, params, reference, lower, upper, point):
    ctx, built = _build(toy, key, params)
    assert built.constraints, "a hard constraint is produced"
    assert built.dpp_ok()
    assert all(p.name().startswith(("constraints[0].", "benchmark", "holdings", "risk.")) for p in built.lhs.parameters())


@pytest.mark.parametrize(("key", "params", "reference", "lower", "upper", "point"), EXAMPLES, ids=IDS)
def test_yaml_round_trip(key, params, reference, lower, upper, point):
    constraint = constraint_from_params(key, params)
    text = yaml.safe_dump({"constraints": [constraint_to_yaml(constraint)]})
    again = loads_job(text).constraints[0]
    assert again == constraint
    assert constraint_to_yaml(again) == constraint_to_yaml(constraint)


@pytest.mark.parametrize(("key", "params", "reference", "lower", "upper", "point"), EXAMPLES, ids=IDS)
def test_holds_at_the_optimum(toy, key, params, reference, lower, upper, point):
    snapshot, model = toy
    job = loads_job(yaml.safe_dump({"name": key, "constraints": [{key: params}]}))
    result = optimizer.optimize(job, snapshot=snapshot, risk_model=model)
    w = result.weights
    lhs = reference(w, snapshot, model)
    if lower is not None:
        assert np.all(lhs >= np.asarray(lower(snapshot)) - TOLERANCE), (lhs, lower(snapshot))
    if upper is not None:
        assert np.all(lhs <= np.asarray(upper(snapshot)) + TOLERANCE), (lhs, upper(snapshot))
    report = next(r for r in result.diagnostics.constraints if r.kind == key and r.name == job.constraints[0].label)
    assert report.slack >= -TOLERANCE
    # The report's value is the reference quantity at the tightest row.
    assert np.isclose(report.value, lhs, atol=1e-9).any()
    invested = 1 - result.diagnostics.cash
    assert abs(w.sum() - invested) <= 1e-12 and w.min() >= -1e-8
    assert key == "cash" or abs(w.sum() - 1) <= 1e-8


@pytest.mark.parametrize(("key", "params", "reference", "lower", "upper", "point"), EXAMPLES, ids=IDS)
def test_soft_form_penalizes_exactly_the_violation(toy, key, params, reference, lower, upper, point):
    snapshot, model = toy
    ctx, built = _build(toy, key, params)
    ctx.assign(DataView(snapshot, model))
    w = (point or (lambda s: s.benchmark_weights))(snapshot)
    lhs = reference(w, snapshot, model)
    expected = 0.0
    if upper is not None:
        expected += np.maximum(lhs - np.asarray(upper(snapshot)), 0).sum()
    if lower is not None:
        expected += np.maximum(np.asarray(lower(snapshot)) - lhs, 0).sum()
    assert expected > 1e-4, "the example's point must violate the constraint"
    ctx.weights.value = w.to_numpy()
    assert float(built.violation().value) == pytest.approx(expected, rel=1e-9)
    measured = built.measure()
    assert measured.slack < 0


# -- rules on tax lots ---------------------------------------------------------------------
def _build_with_lots(toy, key, params):
    """(context, built constraint, lots, book) of one tax example on the toy universe with synthetic lots."""
    snapshot, model = toy
    lots, book = _toy_lots(toy)
    ctx = BuildContext(UniverseInfo.from_data(snapshot, model), model.n_factors)
    LotTerms(ctx, book.structure, TaxSpec())
    return ctx, constraint_from_params(key, params).build(ctx, 0), lots, book


@pytest.mark.parametrize(("key", "params", "reference", "lower", "upper", "point"), TAX_EXAMPLES, ids=TAX_IDS)
def test_tax_rule_builds_and_is_dpp(toy, key, params, reference, lower, upper, point):
    ctx, built, _, _ = _build_with_lots(toy, key, params)
    assert built.constraints and built.dpp_ok()
    assert all(p.name().startswith(("constraints[0].", "taxes.")) for p in built.lhs.parameters())


@pytest.mark.parametrize(("key", "params", "reference", "lower", "upper", "point"), TAX_EXAMPLES, ids=TAX_IDS)
def test_tax_rule_yaml_round_trip(key, params, reference, lower, upper, point):
    constraint = constraint_from_params(key, params)
    text = yaml.safe_dump({"constraints": [constraint_to_yaml(constraint)], "taxes": {}})
    again = loads_job(text).constraints[0]
    assert again == constraint and constraint_to_yaml(again) == constraint_to_yaml(constraint)


@pytest.mark.parametrize(("key", "params", "reference", "lower", "upper", "point"), TAX_EXAMPLES, ids=TAX_IDS)
def test_tax_rule_holds_at_the_optimum(toy, key, params, reference, lower, upper, point):
    snapshot, model = toy
    lots, _ = _toy_lots(toy)
    job = loads_job(yaml.safe_dump({"name": key, "constraints": [{key: params}], "taxes": {"nav": TOY_NAV}}))
    result = optimizer.optimize(job, snapshot=snapshot, risk_model=model)
    sold = result.diagnostics.taxes.lots_sold.set_index("lot_id")["shares"]
    lhs = reference(sold, lots, snapshot)
    if lower is not None:
        assert lhs[0] >= lower - TOLERANCE, (lhs, lower)
    if upper is not None:
        assert lhs[0] <= upper + TOLERANCE, (lhs, upper)
    report = next(r for r in result.diagnostics.constraints if r.kind == key)
    assert report.slack >= -TOLERANCE
    assert report.value == pytest.approx(lhs[0], abs=1e-9)
    assert abs(result.weights.sum() - 1) <= 1e-8 and result.weights.min() >= -1e-8


@pytest.mark.parametrize(("key", "params", "reference", "lower", "upper", "point"), TAX_EXAMPLES, ids=TAX_IDS)
def test_tax_rule_soft_form_penalizes_exactly_the_violation(toy, key, params, reference, lower, upper, point):
    snapshot, model = toy
    ctx, built, lots, book = _build_with_lots(toy, key, params)
    ctx.assign(DataView(snapshot, model, lots=book))
    sold = point(lots, snapshot)
    lhs = reference(sold, lots, snapshot)
    expected = max(lhs[0] - upper, 0.0) if upper is not None else max(lower - lhs[0], 0.0)
    assert expected > 1e-4, "the example's point must violate the constraint"
    shares = sold.reindex(list(book.lot_ids)).to_numpy()
    ctx.lots.sales.value = shares * book.price / book.nav
    assert float(built.violation().value) == pytest.approx(expected, rel=1e-9)
    assert built.measure().slack < 0
