"""estimate_risk_model: MarketSnapshot → RiskModel for every registered method."""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from trimtab.models._characteristics import standardize
from trimtab.models._covariance import LedoitWolfCovariance, SampleCovariance
from trimtab.models._errors import DataError
from trimtab.models._estimate import estimate_risk_model
from trimtab.models._factor_models import FundamentalFactorModel
from trimtab.models._methods import MIN_WINDOW_DAYS, RISK_MODEL_ESTIMATORS, minimum_window
from trimtab.models._risk_model import RiskModel
from trimtab.models._snapshot import MarketSnapshot

N_ASSETS, N_DAYS = 30, 600
SECTOR_NAMES = ("Energy", "Financials", "Information Technology")


@pytest.fixture(scope="module")
def snapshot() -> MarketSnapshot:
    rng = np.random.default_rng(42)
    ids = pd.Index([f"A{i:03d}" for i in range(N_ASSETS)], name="asset_id")
    sectors = np.array(SECTOR_NAMES)[np.arange(N_ASSETS) % 3]
    caps = pd.Series(np.exp(rng.normal(24.0, 1.0, N_ASSETS)), index=ids)
    assets = pd.DataFrame(
        {"sector": sectors, "market_cap": caps, "price": rng.uniform(20, 400, N_ASSETS), "adv": 1e6},
        index=ids,
    )
    bench = caps / caps.sum()
    chars = pd.DataFrame(
        {
            "value": standardize(pd.Series(rng.standard_normal(N_ASSETS), index=ids, name="value"), bench),
            "quality": standardize(pd.Series(rng.standard_normal(N_ASSETS), index=ids, name="quality"), bench),
        }
    )
    dummies = (sectors[:, None] == np.array(SECTOR_NAMES)).astype(float)
    x = np.hstack([dummies, chars.to_numpy()])
    f = rng.normal(0.0, [0.011, 0.009, 0.013, 0.004, 0.003], size=(N_DAYS, 5))
    returns = pd.DataFrame(
        f @ x.T + rng.normal(0.0, 0.015, size=(N_DAYS, N_ASSETS)),
        index=pd.bdate_range("2022-01-03", periods=N_DAYS, name="date"),
        columns=ids,
    )
    return MarketSnapshot(
        dataset="hand-built test snapshot",
        as_of=returns.index[-1],
        assets=assets,
        benchmark_weights=bench,
        holdings=bench.copy(),
        characteristics=chars,
        returns=returns,
    )


def test_registry_lists_every_method():
    assert sorted(RISK_MODEL_ESTIMATORS) == ["ewma", "fundamental", "ledoit_wolf", "oas", "pca", "sample"]


@pytest.mark.parametrize("method", sorted(RISK_MODEL_ESTIMATORS))
def test_every_method_returns_an_annualized_model_for_the_universe(snapshot, method):
    model = estimate_risk_model(snapshot, method)
    assert isinstance(model, RiskModel)
    assert model.asset_ids == tuple(snapshot.asset_ids)
    # Annualized: asset vols near the simulated ~20-30 %/yr (daily ≈ 1.5-2 %).
    vols = np.sqrt(np.diag(model.covariance().to_numpy()))
    assert np.all((vols > 0.15) & (vols < 0.45))
    # The benchmark's own volatility is a sensible annual number.
    assert 0.08 < model.volatility(snapshot.benchmark_weights.to_numpy()) < 0.30


@pytest.mark.parametrize("method", sorted(RISK_MODEL_ESTIMATORS))
def test_estimators_follow_the_sklearn_contract(snapshot, method):
    cls = RISK_MODEL_ESTIMATORS[method]
    signature = inspect.signature(cls.__init__)
    params = [p for name, p in signature.parameters.items() if name != "self"]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params)
    assert cls().get_params() == {p.name: p.default for p in params}
    assert cls().get_params()["periods_per_year"] == 252
    est = clone(cls())
    assert not any(attr.endswith("_") and not attr.startswith("_") for attr in vars(est))


def test_fundamental_factors_include_size_from_log_cap(snapshot):
    model = estimate_risk_model(snapshot)
    assert model.factor_names == (
        "sector:Energy",
        "sector:Financials",
        "sector:Information Technology",
        "style:value",
        "style:quality",
        "style:size",
    )
    size = standardize(np.log(snapshot.market_caps), snapshot.benchmark_weights)
    np.testing.assert_allclose(model.exposures[:, 5], size.to_numpy(), rtol=1e-12)
    # Benchmark exposure to every style is 0 (σ units, benchmark-relative).
    np.testing.assert_allclose(model.factor_exposures_of(snapshot.benchmark_weights.to_numpy())[3:], 0.0, atol=1e-12)
    only_value = estimate_risk_model(snapshot, styles=("value",))
    assert only_value.factor_names[-2:] == ("style:value", "style:size")


def test_window_uses_the_trailing_days(snapshot):
    model = estimate_risk_model(snapshot, "ledoit_wolf", window=250)
    direct = LedoitWolfCovariance().fit(snapshot.returns.iloc[-250:]).risk_model_
    np.testing.assert_allclose(model.covariance().to_numpy(), direct.covariance().to_numpy(), rtol=1e-12)
    whole = SampleCovariance().fit(snapshot.returns).risk_model_
    np.testing.assert_allclose(
        estimate_risk_model(snapshot, "sample").covariance().to_numpy(), whole.covariance().to_numpy(), rtol=1e-12
    )


def test_params_reach_the_estimator(snapshot):
    assert estimate_risk_model(snapshot, "pca", n_factors=4).n_factors == 4
    model = estimate_risk_model(snapshot, "fundamental", halflife=126, regression_weights="equal")
    assert "halflife 126" in model.name and "equal regression" in model.name
    direct = FundamentalFactorModel(halflife=126, regression_weights="equal").fit(
        snapshot.returns,
        sectors=snapshot.sectors,
        styles=estimate_styles(snapshot),
        market_caps=snapshot.market_caps,
    )
    np.testing.assert_allclose(model.specific_vol, direct.risk_model_.specific_vol, rtol=1e-12)


def estimate_styles(snapshot: MarketSnapshot) -> pd.DataFrame:
    table = snapshot.characteristics[["value", "quality"]].copy()
    table["size"] = standardize(np.log(snapshot.market_caps), snapshot.benchmark_weights)
    return table


def test_unknown_method_names_valid_choices(snapshot):
    with pytest.raises(DataError, match=r"unknown risk model method 'barra'; valid choices: \['ewma', 'fundamental'"):
        estimate_risk_model(snapshot, "barra")


def test_unknown_param_names_it_and_valid_ones(snapshot):
    with pytest.raises(
        DataError,
        match=r"risk model 'ewma': unknown parameter\(s\) \['half_life'\]; valid parameters: "
        r"\['halflife', 'periods_per_year'\]",
    ):
        estimate_risk_model(snapshot, "ewma", half_life=21)


def test_minimum_window_rules():
    assert MIN_WINDOW_DAYS == 60
    assert minimum_window(0) == 60 and minimum_window(30) == 60 and minimum_window(500) == 1000


@pytest.mark.parametrize(
    ("method", "window", "message"),
    [
        ("sample", 59, r"'sample' needs at least 60 days of returns \(the 60-day floor\), got 59"),
        ("ledoit_wolf", 59, r"'ledoit_wolf' needs at least 60 days"),
        ("fundamental", 40, r"'fundamental' needs at least 60 days"),
    ],
)
def test_short_window_is_a_data_error(snapshot, method, window, message):
    with pytest.raises(DataError, match=message):
        estimate_risk_model(snapshot, method, window=window)


def test_window_minimum_scales_with_dimension(snapshot):
    with pytest.raises(DataError, match=r"'pca' needs at least 80 days of returns \(2 × 40 factors\), got 70"):
        estimate_risk_model(snapshot, "pca", window=70, n_factors=40)
    # 30 assets → sample needs 60 days: 60 is accepted.
    assert estimate_risk_model(snapshot, "sample", window=60).n_factors == 30


@pytest.mark.parametrize("window", [0, -5, 2.5, "250", True])
def test_invalid_window_values(snapshot, window):
    with pytest.raises(DataError, match="window must be a positive number of days"):
        estimate_risk_model(snapshot, "sample", window=window)


def test_window_longer_than_history(snapshot):
    with pytest.raises(DataError, match="window of 601 days exceeds the 600 days of returns available"):
        estimate_risk_model(snapshot, "sample", window=601)


def test_style_errors(snapshot):
    with pytest.raises(DataError, match=r"unknown style\(s\) \['momentum'\]; characteristics available: \['value', 'quality'\]"):
        estimate_risk_model(snapshot, styles=("value", "momentum"))
    with pytest.raises(DataError, match="'size' is added automatically"):
        estimate_risk_model(snapshot, styles=("value", "size"))


def test_estimator_errors_surface_as_data_errors(snapshot):
    with pytest.raises(DataError, match="n_factors=30 must be below the number of assets"):
        estimate_risk_model(snapshot, "pca", n_factors=30)
    with pytest.raises(DataError, match="halflife must be a finite positive number"):
        estimate_risk_model(snapshot, "ewma", halflife=0)


def test_default_styles_are_those_the_data_has(snapshot):
    both = estimate_risk_model(snapshot)
    assert [f for f in both.factor_names if f.startswith("style:")] == ["style:value", "style:quality", "style:size"]
    bare = dataclasses.replace(snapshot, characteristics=snapshot.characteristics.drop(columns=["value", "quality"]))
    model = estimate_risk_model(bare)
    assert [f for f in model.factor_names if f.startswith("style:")] == ["style:size"]
    assert model.n_factors == snapshot.sectors.nunique() + 1
    with pytest.raises(DataError, match="quality"):
        estimate_risk_model(bare, styles=("quality",))
