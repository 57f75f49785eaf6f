"""Loaders for user files: universe, returns, holdings → MarketSnapshot."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trimtab.models import DataError, MarketSnapshot
from trimtab.models._loaders import load_snapshot, prices_to_returns

_spec = importlib.util.spec_from_file_location("trimtab_tests_user_files", Path(__file__).with_name("user_files.py"))
user_files = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(user_files)
IDS, DATES = user_files.IDS, user_files.DATES
universe_frame, returns_frame, holdings_frame = user_files.universe_frame, user_files.returns_frame, user_files.holdings_frame
write, write_all = user_files.write, user_files.write_all


def load_skfolio_helper():
    path = Path(__file__).with_name("skfolio_files.py")
    spec = importlib.util.spec_from_file_location("skfolio_files_for_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- happy paths


def test_csv_and_parquet_give_the_same_snapshot(tmp_path: Path) -> None:
    (tmp_path / "csv").mkdir()
    (tmp_path / "pq").mkdir()
    groups = {"BIG": ["A001", "A002"]}
    from_csv = load_snapshot(**write_all(tmp_path / "csv", ".csv"), groups=groups)
    from_parquet = load_snapshot(**write_all(tmp_path / "pq", ".parquet"), groups=groups)
    assert isinstance(from_csv, MarketSnapshot)
    pd.testing.assert_frame_equal(from_csv.assets, from_parquet.assets)
    pd.testing.assert_frame_equal(from_csv.characteristics, from_parquet.characteristics)
    pd.testing.assert_frame_equal(from_csv.returns, from_parquet.returns)
    pd.testing.assert_series_equal(from_csv.benchmark_weights, from_parquet.benchmark_weights)
    pd.testing.assert_series_equal(from_csv.holdings, from_parquet.holdings)
    assert from_csv.as_of == from_parquet.as_of == DATES[-1]
    assert dict(from_csv.groups) == dict(from_parquet.groups) == {"BIG": ("A001", "A002")}
    assert from_csv.dataset.startswith("files: universe=universe.csv returns=returns.csv")
    assert from_parquet.dataset.startswith("files: universe=universe.parquet returns=returns.parquet")


def test_snapshot_contents(tmp_path: Path) -> None:
    snap = load_snapshot(**write_all(tmp_path))
    assert snap.asset_ids.tolist() == IDS and snap.asset_ids.name == "asset_id"
    assert snap.returns.index.is_monotonic_increasing and snap.returns.index.equals(DATES)
    expected = returns_frame().set_index("date").sort_index()
    np.testing.assert_allclose(snap.returns.to_numpy(), expected[IDS].to_numpy(), rtol=0, atol=1e-15)
    assert snap.assets.loc["A004", "cusip"] == "000000017"  # identifiers stay text, zeros kept
    assert snap.assets.loc["A002", "name"] == "Beta"
    assert snap.assets.loc["A001", "adv"] == 5e7
    chars = snap.characteristics
    assert {"value", "quality", "book_to_price", "leverage", "momentum"} <= set(chars.columns)
    assert "market_cap" not in chars and "price" not in chars and "adv" not in chars
    w_b = snap.benchmark_weights
    for column in chars:
        assert abs(float(chars[column] @ w_b)) < 1e-12, column
        assert float(chars[column].std(ddof=0)) == pytest.approx(1.0)
    assert snap.holdings.to_dict() == {"A001": 0.5, "A002": 0.0, "A003": 0.3, "A004": 0.0, "A005": 0.2, "A006": 0.0}


def test_benchmark_from_market_cap(tmp_path: Path) -> None:
    snap = load_snapshot(**write_all(tmp_path))
    caps = universe_frame().set_index("asset_id")["market_cap"].sort_index()
    np.testing.assert_allclose(snap.benchmark_weights, caps / caps.sum(), rtol=1e-15)
    assert snap.benchmark_weights.sum() == pytest.approx(1.0, abs=1e-12)


def test_benchmark_from_benchmark_weight_overrides_market_cap(tmp_path: Path) -> None:
    universe = universe_frame()
    universe["benchmark_weight"] = [10.0, 30.0, 0.0, 20.0, 25.0, 15.0]  # percent: normalized
    snap = load_snapshot(**write_all(tmp_path, universe=universe))
    raw = universe.set_index("asset_id")["benchmark_weight"].sort_index()
    np.testing.assert_allclose(snap.benchmark_weights, raw / 100.0, rtol=1e-15)
    assert snap.benchmark_weights["A001"] == 0.3 and snap.benchmark_weights["A006"] == 0.0
    pd.testing.assert_series_equal(
        snap.market_caps, universe.set_index("asset_id")["market_cap"].sort_index(), check_names=False
    )


def test_benchmark_weight_without_market_cap_leaves_caps_missing_and_says_so(tmp_path: Path) -> None:
    universe = universe_frame().drop(columns=["market_cap", "price", "adv"])
    universe["benchmark_weight"] = [0.1, 0.3, 0.05, 0.2, 0.25, 0.1]
    snap = load_snapshot(**write_all(tmp_path, universe=universe))
    assert snap.assets["market_cap"].isna().all()  # never invented from the weights
    assert snap.assets["price"].isna().all() and snap.assets["adv"].isna().all()
    np.testing.assert_allclose(snap.benchmark_weights.sum(), 1.0)
    with pytest.raises(DataError, match="no 'market_cap' column") as info:
        snap.market_caps
    assert "top_n_by_cap" in str(info.value) and "fundamental" in str(info.value)


def test_shares_are_converted_to_weights_with_price(tmp_path: Path) -> None:
    holdings = pd.DataFrame({"asset_id": ["A001", "A004"], "shares": [100.0, 600.0]})
    snap = load_snapshot(**write_all(tmp_path, holdings=holdings))
    # values: 100 × 150 = 15 000 USD and 600 × 25 = 15 000 USD
    assert snap.holdings["A001"] == pytest.approx(0.5) and snap.holdings["A004"] == pytest.approx(0.5)
    assert snap.holdings.drop(["A001", "A004"]).eq(0.0).all()


def test_without_holdings_the_portfolio_holds_the_benchmark(tmp_path: Path) -> None:
    paths = write_all(tmp_path)
    snap = load_snapshot(paths["universe"], paths["returns"])
    pd.testing.assert_series_equal(snap.holdings, snap.benchmark_weights, check_names=False)
    assert "holdings=" not in snap.dataset


def test_ready_made_value_column_is_restandardized(tmp_path: Path) -> None:
    universe = universe_frame()[["asset_id", "sector", "market_cap"]].assign(value=[3.0, 1.0, 2.0, 5.0, 4.0, 0.0])
    snap = load_snapshot(**write_all(tmp_path, universe=universe))
    value = snap.characteristics["value"]
    assert list(snap.characteristics.columns) == ["value"]
    assert abs(float(value @ snap.benchmark_weights)) < 1e-12
    raw = universe.set_index("asset_id")["value"].sort_index()
    assert value.rank().equals(raw.rank())  # order of the raw score is preserved


def test_extra_return_columns_are_dropped_and_parquet_date_index_is_read(tmp_path: Path) -> None:
    returns = returns_frame([*IDS, "NOT_IN_UNIVERSE"]).set_index("date")
    returns.to_parquet(tmp_path / "r.parquet")  # date as the (named) index
    paths = write_all(tmp_path)
    snap = load_snapshot(paths["universe"], tmp_path / "r.parquet", paths["holdings"])
    assert snap.returns.columns.tolist() == IDS and snap.as_of == DATES[-1]


def test_text_ids_are_verbatim_and_headers_stripped(tmp_path: Path) -> None:
    universe = universe_frame().replace({"asset_id": {"A006": "NA"}})  # a ticker that looks like "missing"
    universe["notes"] = np.nan  # an empty column is kept as text, not a characteristic
    returns = returns_frame().rename(columns={"A006": "NA", "A001": " A001 "})
    write(universe.rename(columns={"sector": " sector"}), tmp_path / "universe.csv")
    write(returns, tmp_path / "returns.csv")
    snap = load_snapshot(tmp_path / "universe.csv", tmp_path / "returns.csv")
    assert snap.asset_ids.tolist() == ["A001", "A002", "A003", "A004", "A005", "NA"]
    assert snap.sectors["NA"] == "Health Care" and "notes" not in snap.characteristics
    assert snap.returns["NA"].notna().all()


def test_dataset_name_hashes_the_content(tmp_path: Path) -> None:
    paths = write_all(tmp_path)
    first = load_snapshot(**paths).dataset
    assert re.fullmatch(
        r"files: universe=universe\.csv returns=returns\.csv holdings=holdings\.csv \(sha256 [0-9a-f]{12}\)", first
    )
    assert load_snapshot(**paths).dataset == first
    write(returns_frame().assign(A001=0.01), paths["returns"])
    assert load_snapshot(**paths).dataset != first
    assert load_snapshot(**paths, dataset="my data v2").dataset == "my data v2"


def test_prices_to_returns() -> None:
    prices = pd.DataFrame({"X": [100.0, 110.0, 99.0], "Y": [10.0, 10.0, 12.5]}, index=DATES[[2, 0, 1]])
    returns = prices_to_returns(prices)
    assert returns.index.tolist() == [DATES[1], DATES[2]]
    # sorted: X 110 → 99 → 100, Y 10 → 12.5 → 10
    np.testing.assert_allclose(returns.to_numpy(), [[-0.1, 0.25], [1.0 / 99.0, -0.2]], rtol=1e-12)
    with pytest.raises(DataError, match="positive"):
        prices_to_returns(prices.assign(Y=[10.0, 0.0, 1.0]))


# --------------------------------------------------------------------------- bad inputs


def _set_cell(name: str, row: int, column: str, value: object) -> Callable[[dict[str, pd.DataFrame]], None]:
    def mutate(frames: dict[str, pd.DataFrame]) -> None:
        frames[name] = frames[name].astype({column: object})
        frames[name].loc[row, column] = value

    return mutate


def _nan_return(frames: dict[str, pd.DataFrame]) -> None:
    frame = frames["returns"]
    frame.loc[frame["date"] == DATES[1], "A003"] = np.nan


def _dup_date(frames: dict[str, pd.DataFrame]) -> None:
    frame = frames["returns"]
    frame.loc[frame["date"] == DATES[4], "date"] = DATES[5]


def _drop(name: str, column: str) -> Callable[[dict[str, pd.DataFrame]], None]:
    return lambda frames: frames.update({name: frames[name].drop(columns=column)})


def _shares_without_price(frames: dict[str, pd.DataFrame]) -> None:
    frames["holdings"] = pd.DataFrame({"asset_id": ["A001", "A002"], "shares": [1.0, 2.0]})
    universe = frames["universe"]
    universe["price"] = universe["price"].where(universe["asset_id"] != "A002")


_UNKNOWN_HOLDING = pd.DataFrame({"asset_id": ["A001", "ZZZ9"], "weight": [0.5, 0.5]})

#: case → (mutation of the default frames, file the error must name, fragments it must contain)
BAD_INPUTS = {
    "duplicate asset_id": (_set_cell("universe", 0, "asset_id", "A002"), "universe.csv", ["asset_id", "A002"]),
    "missing column": (_drop("universe", "sector"), "universe.csv", ["sector", "found", "market_cap"]),
    "no cap or weight": (_drop("universe", "market_cap"), "universe.csv", ["market_cap and/or benchmark_weight"]),
    "negative market cap": (_set_cell("universe", 1, "market_cap", -5.0), "universe.csv", ["market_cap", "A001"]),
    "constant characteristic": (
        lambda frames: frames.update(universe=frames["universe"].assign(momentum=1.0)),
        "universe.csv",
        ["'momentum'", "dispersion"],
    ),
    "text fundamental": (_set_cell("universe", 2, "leverage", "high"), "universe.csv", ["leverage", "A006", "'high'"]),
    "unknown holding asset": (
        lambda frames: frames.update(holdings=_UNKNOWN_HOLDING), "holdings.csv", ["ZZZ9", "not in the universe"]
    ),
    "holdings sum": (_set_cell("holdings", 0, "weight", 0.45), "holdings.csv", ["0.95000000", "weight"]),
    "weight and shares": (
        lambda frames: frames["holdings"].insert(2, "shares", 1.0), "holdings.csv", ["'weight'", "'shares'"]
    ),
    "shares without price": (_shares_without_price, "holdings.csv", ["price", "A002"]),
    "NaN return": (_nan_return, "returns.csv", ["A003 on 2024-01-03", "1 missing or non-finite"]),
    "inf return": (_set_cell("returns", 7, "A005", np.inf), "returns.csv", ["A005 on", "1 missing or non-finite"]),
    "asset missing from returns": (_drop("returns", "A004"), "returns.csv", ["A004"]),
    "non-numeric return": (_set_cell("returns", 3, "A002", "abc"), "returns.csv", ["A002", "'abc'"]),
    "duplicate date": (_dup_date, "returns.csv", ["duplicate date", "2024-01-09"]),
    "bad date": (_set_cell("returns", 0, "date", "yesterday"), "returns.csv", ["date", "'yesterday'"]),
    "no date column": (
        lambda frames: frames.update(returns=frames["returns"].rename(columns={"date": "day"})),
        "returns.csv",
        ["'date'", "day"],
    ),
    "percent returns": (_set_cell("returns", 2, "A001", -3.5), "returns.csv", ["A001", "percent"]),
}


@pytest.mark.parametrize("case", BAD_INPUTS, ids=list(BAD_INPUTS))
def test_bad_input_raises_data_error_naming_file_and_item(tmp_path: Path, case: str) -> None:
    mutate, file_name, fragments = BAD_INPUTS[case]
    frames = {"universe": universe_frame(), "returns": returns_frame(), "holdings": holdings_frame()}
    mutate(frames)
    paths = write_all(tmp_path, **frames)
    with pytest.raises(DataError) as info:
        load_snapshot(**paths)
    message = str(info.value)
    assert str(tmp_path / file_name) in message, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_missing_file(tmp_path: Path) -> None:
    paths = write_all(tmp_path)
    with pytest.raises(DataError, match=r"file not found: .*nowhere\.csv"):
        load_snapshot(tmp_path / "nowhere.csv", paths["returns"])
    with pytest.raises(DataError, match=r"holdings file not found: .*gone\.parquet"):
        load_snapshot(paths["universe"], paths["returns"], tmp_path / "gone.parquet")


def test_unsupported_suffix(tmp_path: Path) -> None:
    paths = write_all(tmp_path)
    xlsx = tmp_path / "universe.xlsx"
    xlsx.write_bytes(b"whatever")
    with pytest.raises(DataError) as info:
        load_snapshot(xlsx, paths["returns"])
    assert str(xlsx) in str(info.value) and ".csv, .parquet, .pq" in str(info.value)


def test_unreadable_files_raise_data_error_without_a_pandas_traceback(tmp_path: Path) -> None:
    paths = write_all(tmp_path)
    corrupt = tmp_path / "returns.parquet"
    corrupt.write_bytes(b"this is not parquet")
    with pytest.raises(DataError, match=r"returns file .*returns\.parquet: could not be read as parquet") as info:
        load_snapshot(paths["universe"], corrupt)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match=r"universe file .*empty\.csv"):
        load_snapshot(empty, paths["returns"])


def test_unknown_group_member(tmp_path: Path) -> None:
    paths = write_all(tmp_path)
    with pytest.raises(DataError) as info:
        load_snapshot(**paths, groups={"MEGA": ["A001", "NOPE1", "NOPE2"]})
    message = str(info.value)
    assert "'MEGA'" in message and "NOPE1" in message and "NOPE2" in message
    assert str(paths["universe"]) in message
    with pytest.raises(DataError, match="must be a list"):
        load_snapshot(**paths, groups={"MEGA": "A001"})


# --------------------------------------------------------------------------- real data


def test_real_sp500_sample_from_skfolio(skfolio_user_files: dict[str, Path]) -> None:
    from skfolio.datasets import load_sp500_dataset

    snap = load_snapshot(**skfolio_user_files)
    assert snap.returns.shape == (756, 20) and snap.n_assets == 20
    assert snap.as_of == pd.Timestamp("2022-12-28")
    assert snap.benchmark_weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert snap.holdings.sum() == pytest.approx(1.0, abs=1e-12)
    assert snap.holdings.eq(0.05).all()
    assert snap.benchmark_weights.idxmax() == "AAPL" and snap.sectors["XOM"] == "Energy"
    assert snap.sectors.nunique() == 7
    prices = load_sp500_dataset()
    assert snap.returns.loc["2022-12-28", "AAPL"] == pytest.approx(
        prices.loc["2022-12-28", "AAPL"] / prices.loc["2022-12-27", "AAPL"] - 1.0, rel=1e-12
    )
    assert snap.assets.loc["MSFT", "price"] == prices.loc["2022-12-28", "MSFT"]
    chars = snap.characteristics
    assert list(chars.columns) == ["momentum_12_1", "volatility_1y"]
    for column in chars:
        assert abs(float(chars[column] @ snap.benchmark_weights)) < 1e-12
        assert float(chars[column].std(ddof=0)) == pytest.approx(1.0)
    # AMD was the most volatile of the 20 in 2022; standardizing keeps the order.
    assert chars["volatility_1y"].idxmax() == snap.assets["volatility_1y"].idxmax()


def test_real_sp500_sample_parquet_matches_csv(tmp_path: Path, skfolio_user_files: dict[str, Path]) -> None:
    (tmp_path / "pq").mkdir()
    parquet_paths = load_skfolio_helper().write_skfolio_user_files(tmp_path / "pq", fmt="parquet")
    from_csv, from_parquet = load_snapshot(**skfolio_user_files), load_snapshot(**parquet_paths)
    pd.testing.assert_frame_equal(from_csv.returns, from_parquet.returns)
    pd.testing.assert_frame_equal(from_csv.characteristics, from_parquet.characteristics)
    pd.testing.assert_frame_equal(from_csv.assets, from_parquet.assets)
