"""Implausible user data is a DataError naming the file, the asset and the date — never a traceback
or silently wrong numbers: negative holdings, float dates, overflowing caps, absurd returns, bad prices."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trimtab.models import DataError, load_snapshot, prices_to_returns
from trimtab.models._validation import MAX_DAILY_RETURN, MIN_DAILY_RETURN

_spec = importlib.util.spec_from_file_location("trimtab_tests_user_files", Path(__file__).with_name("user_files.py"))
user_files = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(user_files)
IDS, DATES = user_files.IDS, user_files.DATES

Frames = dict[str, pd.DataFrame]


def frames() -> Frames:
    return {"universe": user_files.universe_frame(), "returns": user_files.returns_frame(), "holdings": user_files.holdings_frame()}


def load(tmp_path: Path, data: Frames, suffix: str = ".csv"):
    return load_snapshot(**user_files.write_all(tmp_path, suffix, **data))


# --------------------------------------------------------------------------- mutations


def _holdings(**columns: list) -> Callable[[Frames], None]:
    return lambda f: f.update(holdings=pd.DataFrame(columns))


def _universe(column: str, values: object) -> Callable[[Frames], None]:
    def mutate(f: Frames) -> None:
        f["universe"] = f["universe"].assign(**{column: values})

    return mutate


def _universe_cell(asset: str, column: str, value: float) -> Callable[[Frames], None]:
    def mutate(f: Frames) -> None:
        f["universe"].loc[f["universe"]["asset_id"] == asset, column] = value

    return mutate


def _return(asset: str, day: int, value: float) -> Callable[[Frames], None]:
    def mutate(f: Frames) -> None:
        f["returns"].loc[f["returns"]["date"] == DATES[day], asset] = value

    return mutate


def _dates(convert: Callable[[pd.Series], pd.Series]) -> Callable[[Frames], None]:
    def mutate(f: Frames) -> None:
        f["returns"]["date"] = convert(f["returns"]["date"])

    return mutate


def _first_row_date(convert: Callable[[pd.Series], pd.Series]) -> str:
    """``row 1: <repr>`` of the first data row's date after ``convert`` (the rows are shuffled)."""
    return f"row 1: {convert(user_files.returns_frame()['date']).tolist()[0]!r}"


def _same_day_twice(f: Frames) -> None:
    dates = f["returns"]["date"] + pd.Timedelta(hours=16)
    dates[dates.dt.normalize() == DATES[4]] = DATES[5] + pd.Timedelta(hours=9)  # two rows on DATES[5]
    f["returns"]["date"] = dates


def _yyyymmdd_float(s: pd.Series) -> pd.Series:
    return s.dt.strftime("%Y%m%d").astype(float)


def _epoch_seconds(s: pd.Series) -> pd.Series:
    return (s - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1)


def _epoch_float_as_datetime(s: pd.Series) -> pd.Series:
    return pd.to_datetime(_yyyymmdd_float(s))  # what a careless float → datetime cast gives: 1970-01-01


#: case → (mutation, suffix, file the error names, fragments: the asset, the date, the rule)
CASES: dict[str, tuple[Callable[[Frames], None], str, str, list[str]]] = {
    # holdings
    "negative weight": (
        _holdings(asset_id=["A001", "A003", "A005"], weight=[1.2, -0.4, 0.2]), ".csv", "holdings.csv",
        ["'weight'", "A003: -0.4", "long positions"],
    ),
    "negative shares": (
        _holdings(asset_id=["A001", "A003"], shares=[100.0, -10.0]), ".parquet", "holdings.parquet",
        ["'shares'", "A003: -10.0", "long positions"],
    ),
    "shares × price overflow": (
        _holdings(asset_id=["A001", "A003"], shares=[1e308, 10.0]), ".csv", "holdings.csv", ["A001", "overflows"],
    ),
    "weights in percent": (
        _holdings(asset_id=["A001", "A003", "A005"], weight=[50.0, 30.0, 20.0]), ".csv", "holdings.csv",
        ["sums to 100.00000000", "percent"],
    ),
    # dates
    "float dates (Parquet)": (
        _dates(_yyyymmdd_float), ".parquet", "returns.parquet",
        ["'date'", "floating-point", _first_row_date(_yyyymmdd_float), "1970"],
    ),
    "epoch-second float dates (Parquet)": (
        _dates(lambda s: _epoch_seconds(s).astype(float)), ".parquet", "returns.parquet",
        ["floating-point", _first_row_date(lambda s: _epoch_seconds(s).astype(float))],
    ),
    "epoch-second integer dates (Parquet)": (
        _dates(_epoch_seconds), ".parquet", "returns.parquet",
        ["not YYYYMMDD", _first_row_date(_epoch_seconds), "epoch seconds"],
    ),
    "YYMMDD text dates": (
        _dates(lambda s: s.dt.strftime("%y%m%d")), ".csv", "returns.csv",
        ["not YYYYMMDD", _first_row_date(lambda s: s.dt.strftime("%y%m%d"))],
    ),
    "float-looking text dates": (
        _dates(lambda s: _yyyymmdd_float(s).astype(str)), ".csv", "returns.csv",
        ["unparseable", _first_row_date(lambda s: _yyyymmdd_float(s).astype(str)), "YYYYMMDD"],
    ),
    "datetimes cast from floats": (
        _dates(_epoch_float_as_datetime), ".parquet", "returns.parquet", ["duplicate date(s) [1970-01-01]"],
    ),
    "two rows on one day": (_same_day_twice, ".csv", "returns.csv", ["duplicate date(s) [2024-01-09]"]),
    # market caps and benchmark weights
    "caps that overflow": (
        _universe("market_cap", 1e308), ".csv", "universe.csv", ["'market_cap'", "A001: 1e+308", "sums beyond"],
    ),
    "benchmark weights that overflow": (
        _universe("benchmark_weight", [1e308, 1e308, 1.0, 1.0, 1.0, 1.0]), ".parquet", "universe.parquet",
        ["'benchmark_weight'", "sums beyond", "1e+308"],
    ),
    "all caps zero": (_universe("market_cap", 0.0), ".csv", "universe.csv", ["'market_cap'", "A001: 0.0", "A006: 0.0"]),
    "NaN cap": (_universe_cell("A004", "market_cap", np.nan), ".parquet", "universe.parquet", ["'market_cap'", "A004: nan"]),
    "infinite cap": (_universe_cell("A002", "market_cap", np.inf), ".parquet", "universe.parquet", ["'market_cap'", "A002: inf"]),
    # returns
    "return of 1e300": (_return("A002", 3, 1e300), ".csv", "returns.csv", ["A002 on 2024-01-05: 1e+300", "+1000%"]),
    "return just above +1000 %": (_return("A006", 0, 10.5), ".parquet", "returns.parquet", ["A006 on 2024-01-02: 10.5"]),
    "return below −100 %": (_return("A004", 29, -1.01), ".csv", "returns.csv", ["A004 on 2024-02-12: -1.01", "≥ −1"]),
    "-inf return": (_return("A001", 2, -np.inf), ".parquet", "returns.parquet", ["A001 on 2024-01-04", "non-finite"]),
    "true/false returns column": (
        lambda f: f["returns"].__setitem__("A005", True), ".parquet", "returns.parquet", ["'A005'", "true/false"],
    ),
    # prices and ADV
    "zero price": (_universe_cell("A003", "price", 0.0), ".csv", "universe.csv", ["'price'", "A003: 0.0"]),
    "infinite price": (_universe_cell("A005", "price", np.inf), ".parquet", "universe.parquet", ["'price'", "A005: inf"]),
    "zero ADV": (_universe_cell("A006", "adv", 0.0), ".csv", "universe.csv", ["'adv'", "A006: 0.0", "blank if unknown"]),
    "negative ADV": (_universe_cell("A001", "adv", -5.0), ".csv", "universe.csv", ["'adv'", "A001: -5.0"]),
    "infinite ADV": (_universe_cell("A002", "adv", np.inf), ".parquet", "universe.parquet", ["'adv'", "A002: inf"]),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_implausible_data_is_a_data_error_naming_file_asset_and_date(tmp_path: Path, case: str) -> None:
    mutate, suffix, file_name, fragments = CASES[case]
    data = frames()
    mutate(data)
    with pytest.raises(DataError) as info:
        load(tmp_path, data, suffix)
    message = str(info.value)
    assert str(tmp_path / file_name) in message, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert "\n" not in message  # one paragraph


# --------------------------------------------------------------------------- limits that hold


def test_returns_at_the_limits_are_accepted(tmp_path: Path) -> None:
    data = frames()
    _return("A001", 3, MAX_DAILY_RETURN)(data)
    _return("A002", 4, MIN_DAILY_RETURN)(data)
    snap = load(tmp_path, data)
    assert snap.returns.loc[DATES[3], "A001"] == 10.0 and snap.returns.loc[DATES[4], "A002"] == -1.0


@pytest.mark.parametrize(
    "convert, suffix",
    [
        (lambda s: s.dt.strftime("%Y%m%d").astype("int64"), ".parquet"),
        (lambda s: s.dt.strftime("%Y%m%d").astype("int64"), ".csv"),
        (lambda s: s.dt.strftime("%Y%m%d"), ".csv"),
        (lambda s: s.dt.date, ".parquet"),
        (lambda s: s.dt.tz_localize("America/New_York"), ".parquet"),
    ],
    ids=["YYYYMMDD int parquet", "YYYYMMDD int csv", "YYYYMMDD text", "date objects", "tz-aware"],
)
def test_accepted_date_forms_give_the_iso_snapshot(tmp_path: Path, convert, suffix: str) -> None:
    reference = load(tmp_path, frames())
    data = frames()
    _dates(convert)(data)
    (tmp_path / "other").mkdir()
    snap = load(tmp_path / "other", data, suffix)
    assert snap.returns.index.equals(DATES) and snap.as_of == DATES[-1]
    np.testing.assert_array_equal(snap.returns.to_numpy(), reference.returns.to_numpy())


def test_unsorted_rows_are_sorted_and_times_of_day_kept(tmp_path: Path) -> None:
    data = frames()
    data["returns"]["date"] = data["returns"]["date"] + pd.Timedelta(hours=16)  # one close a day
    snap = load(tmp_path, data)
    assert snap.returns.index.is_monotonic_increasing and snap.as_of == DATES[-1] + pd.Timedelta(hours=16)


def test_round_off_negative_weight_and_blank_adv_are_kept(tmp_path: Path) -> None:
    data = frames()
    data["holdings"] = pd.DataFrame({"asset_id": ["A001", "A003", "A005", "A006"], "weight": [0.5, 0.3, 0.2, -1e-13]})
    data["universe"]["adv"] = data["universe"]["adv"].where(data["universe"]["asset_id"] != "A002")
    snap = load(tmp_path, data)
    assert snap.holdings["A006"] == -1e-13 and np.isnan(snap.assets.loc["A002", "adv"])


def test_huge_but_finite_caps_give_exact_weights(tmp_path: Path) -> None:
    data = frames()
    data["universe"]["market_cap"] = [1e300, 1e300, 2e300, 1e300, 3e300, 2e300]
    snap = load(tmp_path, data)
    assert snap.benchmark_weights.sum() == pytest.approx(1.0, abs=1e-12) and snap.benchmark_weights.min() == 0.1


# --------------------------------------------------------------------------- prices → returns


def test_prices_to_returns_names_asset_and_date_of_a_bad_price() -> None:
    prices = pd.DataFrame({"X": [100.0, 101.0, 99.0], "Y": [10.0, np.inf, 11.0]}, index=DATES[:3])
    with pytest.raises(DataError, match=r"positive and finite.*Y on 2024-01-03: inf"):
        prices_to_returns(prices)
    with pytest.raises(DataError, match=r"X on 2024-01-04: -99"):
        prices_to_returns(prices.assign(Y=10.0, X=[100.0, 101.0, -99.0]))
    with pytest.raises(DataError, match="prices must be numbers"):
        prices_to_returns(prices.assign(Y=["a", "b", "c"]))
    with_gap = prices_to_returns(prices.assign(Y=[10.0, np.nan, 11.0]))  # a missing price: a missing return
    assert with_gap["Y"].isna().all() and with_gap["X"].notna().all()
