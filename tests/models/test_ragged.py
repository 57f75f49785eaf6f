"""Ragged return histories in files: listings and delistings load; short histories are proxied,
reported and floored; gaps inside a name's life and delisted names still held are errors."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trimtab.models import DataError, estimate_risk_model, load_snapshot

_spec = importlib.util.spec_from_file_location("trimtab_tests_ragged_files", Path(__file__).with_name("ragged_files.py"))
ragged = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ragged)
LATE, GONE, DATES = ragged.LATE, ragged.GONE, ragged.DATES


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return ragged.write_ragged(tmp_path, suffix=".csv.gz")


def test_a_ragged_history_loads_drops_the_delisted_name_and_proxies_the_listing(files):
    snap = load_snapshot(files["universe"], files["returns"])  # window: the whole table
    raw = ragged.ragged_returns()
    assert GONE not in snap.asset_ids and LATE in snap.asset_ids and snap.n_assets == 23
    assert snap.as_of == DATES[-1] and snap.short_history == (LATE,)
    assert snap.history_days[LATE] == len(DATES) - ragged.LATE_FIRST
    assert (snap.history_days.drop(LATE) == len(DATES)).all()
    assert np.isfinite(snap.returns.to_numpy()).all()
    # real returns are kept as given; the missing ones are the sector's fully observed mean that day
    np.testing.assert_array_equal(snap.returns[LATE].iloc[ragged.LATE_FIRST :], raw[LATE].iloc[ragged.LATE_FIRST :])
    peers = [a for a in snap.asset_ids if snap.sectors[a] == snap.sectors[LATE] and a not in (LATE,)]
    day = 100
    assert snap.returns[LATE].iloc[day] == pytest.approx(raw.iloc[day][peers].mean(), rel=1e-12)
    assert snap.benchmark_weights.sum() == pytest.approx(1.0) and snap.holdings.equals(snap.benchmark_weights.rename("holding"))


def test_the_short_history_rule_uses_the_risk_window(files):
    life = len(DATES) - ragged.LATE_FIRST  # 250 real days
    assert load_snapshot(files["universe"], files["returns"], window=life).short_history == ()
    inside = load_snapshot(files["universe"], files["returns"], window=life + 1)
    assert inside.short_history == (LATE,) and inside.history_days[LATE] == life
    with pytest.raises(DataError, match="window must be a positive"):
        load_snapshot(files["universe"], files["returns"], window=0)


def test_a_factor_model_floors_the_short_names_specific_risk_at_its_sector_median(files):
    snap = load_snapshot(files["universe"], files["returns"], window=300)
    for method, params in (("fundamental", {}), ("pca", {"n_factors": 3})):
        model = estimate_risk_model(snap, method, window=300, **params)
        vol = pd.Series(model.specific_vol, index=model.asset_ids)
        sector = snap.sectors
        peers = vol[(sector == sector[LATE]) & (vol.index != LATE)]
        assert vol[LATE] >= peers.median() - 1e-15, method
        assert "short-history" in model.name
    full = estimate_risk_model(snap, "ledoit_wolf", window=300)  # full covariance: covers the name, no floor
    assert LATE in full.asset_ids and "short-history" not in full.name


def test_a_delisted_name_the_benchmark_or_the_holdings_still_hold_is_an_error(tmp_path, files):
    universe = ragged.universe().drop(columns="benchmark_weight")  # cap-weighted: GONE has a cap
    universe.to_csv(tmp_path / "capped.csv", index=False)
    with pytest.raises(DataError) as info:
        load_snapshot(tmp_path / "capped.csv", files["returns"])
    message = str(info.value)
    assert GONE in message and str(DATES[-1].date()) in message and "benchmark" in message
    assert str(files["returns"]) in message
    holdings = pd.DataFrame({"asset_id": [GONE, "R01"], "weight": [0.5, 0.5]})
    holdings.to_csv(tmp_path / "holdings.csv", index=False)
    with pytest.raises(DataError) as info:
        load_snapshot(files["universe"], files["returns"], tmp_path / "holdings.csv")
    assert GONE in str(info.value) and "holdings file" in str(info.value) and str(DATES[-1].date()) in str(info.value)


def test_a_gap_inside_a_names_life_names_file_asset_and_date(tmp_path):
    returns = ragged.ragged_returns()
    returns.iloc[600, ragged.IDS.index("R09")] = np.nan
    returns.reset_index().to_csv(tmp_path / "returns.csv", index=False)
    ragged.universe().to_csv(tmp_path / "universe.csv", index=False)
    with pytest.raises(DataError) as info:
        load_snapshot(tmp_path / "universe.csv", tmp_path / "returns.csv")
    message = str(info.value)
    assert str(tmp_path / "returns.csv") in message and f"R09 on {DATES[600].date()}" in message
    assert "inside a name's trading life" in message and "1 missing" in message


def test_infinite_text_and_implausible_returns_stay_errors_in_ragged_files(tmp_path):
    ragged.universe().to_csv(tmp_path / "universe.csv", index=False)
    cases = {"inf": (np.inf, "non-finite"), "text": ("n/a?", "'n/a?'"), "low": (-1.5, "≥ −1"), "high": (12.0, "+10")}
    for name, (value, fragment) in cases.items():
        returns = ragged.ragged_returns().astype(object)
        returns.iloc[650, 2] = value
        path = tmp_path / f"{name}.csv"
        returns.reset_index().to_csv(path, index=False)
        with pytest.raises(DataError) as info:
            load_snapshot(tmp_path / "universe.csv", path)
        assert str(path) in str(info.value) and fragment in str(info.value), (name, str(info.value))
        assert "R03" in str(info.value) and str(DATES[650].date()) in str(info.value)


def test_a_date_on_which_nothing_trades_is_an_error(tmp_path):
    returns = ragged.ragged_returns()
    returns.iloc[0] = np.nan  # before any listing: no name has a return
    returns.reset_index().to_csv(tmp_path / "returns.csv", index=False)
    ragged.universe().to_csv(tmp_path / "universe.csv", index=False)
    with pytest.raises(DataError, match=f"no asset has a return on 1 date.*{DATES[0].date()}"):
        load_snapshot(tmp_path / "universe.csv", tmp_path / "returns.csv")


def test_groups_leave_out_names_that_no_longer_trade(files):
    snap = load_snapshot(files["universe"], files["returns"], groups={"PAIR": [GONE, "R01"]})
    assert snap.groups["PAIR"] == ("R01",)
    with pytest.raises(DataError, match="NOPE"):
        load_snapshot(files["universe"], files["returns"], groups={"PAIR": ["NOPE"]})
