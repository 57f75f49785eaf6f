"""Files as vendors deliver them: compressed CSV, a universe without caps, ADV in dollars."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trimtab.models import DataError, estimate_risk_model, load_snapshot, read_table

_spec = importlib.util.spec_from_file_location("trimtab_tests_user_files", Path(__file__).with_name("user_files.py"))
user_files = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(user_files)


def _write(directory: Path, suffix: str, **frames: pd.DataFrame) -> dict[str, Path]:
    defaults = {
        "universe": user_files.universe_frame(),
        "returns": user_files.returns_frame(),
        "holdings": user_files.holdings_frame(),
    }
    defaults.update(frames)
    paths = {}
    for role, frame in defaults.items():
        paths[role] = directory / f"{role}{suffix}"
        frame.to_csv(paths[role], index=False)  # pandas compresses by the suffix
    return paths


@pytest.mark.parametrize("suffix", [".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip"])
def test_compressed_csv_gives_the_same_snapshot_as_plain_csv(tmp_path, suffix):
    (tmp_path / "plain").mkdir()
    (tmp_path / "packed").mkdir()
    plain = load_snapshot(**_write(tmp_path / "plain", ".csv"))
    packed_paths = _write(tmp_path / "packed", suffix)
    assert packed_paths["returns"].read_bytes()[:2] != b"da"  # really compressed, not text
    packed = load_snapshot(**packed_paths)
    pd.testing.assert_frame_equal(plain.returns, packed.returns)
    pd.testing.assert_frame_equal(plain.assets, packed.assets)
    pd.testing.assert_frame_equal(plain.characteristics, packed.characteristics)
    pd.testing.assert_series_equal(plain.holdings, packed.holdings)
    assert packed.assets.loc["A004", "cusip"] == "000000017"  # identifiers stay text in compressed files too
    assert f"returns=returns{suffix}" in packed.dataset


def test_unsupported_or_unreadable_compressed_files_are_data_errors(tmp_path):
    with pytest.raises(DataError, match=r"unsupported file type '\.json\.gz'.*\.csv\.gz"):
        read_table(tmp_path / "x.json.gz", "universe")
    broken = tmp_path / "universe.csv.gz"
    broken.write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match=r"universe file .*universe\.csv\.gz: could not be read as csv \(gzip-compressed\)"):
        read_table(broken, "universe")
    if importlib.util.find_spec("zstandard") is None:
        with pytest.raises(DataError, match="zstandard"):
            read_table(tmp_path / "returns.csv.zst", "returns")


def test_a_universe_with_benchmark_weights_and_no_caps_works_until_caps_are_needed(tmp_path):
    universe = user_files.universe_frame().drop(columns="market_cap")
    universe["benchmark_weight"] = [0.1, 0.3, 0.05, 0.2, 0.25, 0.1]
    returns = user_files.returns_frame(dates=pd.bdate_range("2024-01-02", periods=80))
    snap = load_snapshot(**_write(tmp_path, ".csv.gz", universe=universe, returns=returns))
    expected = universe.set_index("asset_id")["benchmark_weight"].sort_index()
    np.testing.assert_allclose(snap.benchmark_weights, expected / expected.sum())
    assert snap.assets["market_cap"].isna().all() and {"value", "quality"} <= set(snap.characteristics.columns)
    days = len(snap.returns)
    model = estimate_risk_model(snap, "ledoit_wolf", window=days)  # needs no caps
    assert model.asset_ids == tuple(snap.asset_ids)
    with pytest.raises(DataError) as info:
        estimate_risk_model(snap, "fundamental", window=days)
    assert "'market_cap'" in str(info.value) and "risk model 'fundamental'" in str(info.value)


def test_adv_in_dollars_is_converted_with_the_price(tmp_path):
    universe = user_files.universe_frame()
    universe["adv_usd"] = universe.pop("adv") * universe["price"]
    snap = load_snapshot(**_write(tmp_path, ".csv", universe=universe))
    shares = user_files.universe_frame().set_index("asset_id")["adv"].sort_index()
    np.testing.assert_allclose(snap.assets["adv"], shares, rtol=1e-12)
    assert "adv_usd" not in snap.assets and "adv_usd" not in snap.characteristics


@pytest.mark.parametrize(
    ("mutate", "fragments"),
    [
        (lambda u: u.assign(adv_usd=u.pop("adv") * 10.0).drop(columns="price"), ["'adv_usd'", "'price'"]),
        (lambda u: u.assign(adv_usd=u.pop("adv") * 10.0, price=u["price"].where(u["asset_id"] != "A003")),
         ["'adv_usd'", "'price'", "A003"]),
        (lambda u: u.assign(adv_usd=u["adv"] * 10.0), ["'adv'", "'adv_usd'", "keep exactly one"]),
        (lambda u: u.assign(adv_usd=-1.0).drop(columns="adv"), ["'adv_usd'", "positive"]),
    ],
    ids=["no price column", "a missing price", "both adv columns", "negative"],
)
def test_bad_adv_in_dollars_names_both_columns(tmp_path, mutate, fragments):
    paths = _write(tmp_path, ".csv", universe=mutate(user_files.universe_frame()))
    with pytest.raises(DataError) as info:
        load_snapshot(**paths)
    message = str(info.value)
    assert str(paths["universe"]) in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
