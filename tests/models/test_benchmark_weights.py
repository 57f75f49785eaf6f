"""Point-in-time benchmark weights: the last date on or before the as-of, drifted with returns;
bad files are errors naming the file, the date and the asset."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trimtab.models import DataError, load_benchmark_weights, load_snapshot

_spec = importlib.util.spec_from_file_location("trimtab_tests_ragged_files", Path(__file__).with_name("ragged_files.py"))
ragged = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ragged)
IDS, DATES, LATE, GONE = ragged.IDS, ragged.DATES, ragged.LATE, ragged.GONE


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return ragged.write_ragged(tmp_path)


def test_the_benchmark_is_the_last_file_date_drifted_to_the_as_of(tmp_path, files):
    returns = ragged.ragged_returns()
    file = pd.read_csv(files["benchmark"], parse_dates=["date"])
    cut = file[file["date"] <= DATES[-40]]  # last file date 40-odd days before the as-of
    cut.to_csv(tmp_path / "cut.csv", index=False, date_format="%Y-%m-%d")
    last = cut["date"].max()
    snap = load_snapshot(files["universe"], files["returns"], benchmark_weights=tmp_path / "cut.csv")
    rows = cut[cut["date"] == last].set_index("asset_id")["weight"]
    grown = rows * (1.0 + returns.loc[returns.index > last, rows.index]).prod()
    expected = (grown / grown.sum()).reindex(snap.asset_ids, fill_value=0.0)
    np.testing.assert_allclose(snap.benchmark_weights, expected, rtol=1e-12, atol=1e-15)
    # on a file date the weights are the file's (rescaled to sum to 1 exactly)
    pit = load_benchmark_weights(files["benchmark"], pd.Index(IDS))
    day = pit.dates[3]
    raw = file[file["date"] == day].set_index("asset_id")["weight"]
    np.testing.assert_allclose(pit.at(day, returns)[raw.index], raw / raw.sum(), rtol=1e-15)
    assert pit.at(day, returns).drop(raw.index).eq(0).all()
    # between two file dates: the earlier one drifted (a buy-and-hold between reconstitutions)
    between = returns.index[(returns.index > pit.dates[3]) & (returns.index < pit.dates[4])][10]
    held = raw.index
    grown = raw * (1.0 + returns.loc[(returns.index > day) & (returns.index <= between), held]).prod()
    np.testing.assert_allclose(pit.at(between, returns)[held], grown / grown.sum(), rtol=1e-12)


def test_market_cap_rows_are_normalized_per_date_and_need_no_universe_weights(tmp_path, files):
    file = pd.read_csv(files["benchmark"])
    caps = file.rename(columns={"weight": "market_cap"}).assign(market_cap=lambda f: f["market_cap"] * 3e12)
    caps.to_csv(tmp_path / "caps.csv", index=False)
    bare = ragged.universe(caps=False).drop(columns="benchmark_weight")  # no caps, no weights
    bare.to_csv(tmp_path / "bare.csv", index=False)
    by_caps = load_snapshot(tmp_path / "bare.csv", files["returns"], benchmark_weights=tmp_path / "caps.csv")
    by_weights = load_snapshot(files["universe"], files["returns"], benchmark_weights=files["benchmark"])
    np.testing.assert_allclose(by_caps.benchmark_weights, by_weights.benchmark_weights, rtol=1e-12)
    assert by_caps.assets["market_cap"].isna().all()


def _bad(tmp_path: Path, frame: pd.DataFrame) -> Path:
    path = tmp_path / "bad_weights.csv"
    frame.to_csv(path, index=False)
    return path


def _file(files) -> pd.DataFrame:
    return pd.read_csv(files["benchmark"])


BAD = {
    "unknown name": (lambda f: f.assign(asset_id=f["asset_id"].where(f.index != 5, "ZZZ")), ["ZZZ", "not in the universe"]),
    "negative weight": (lambda f: f.assign(weight=f["weight"].where(f.index != 7, -0.01)), ["must be finite and ≥ 0", "-0.01"]),
    "sum not one": (lambda f: f.assign(weight=f["weight"] * np.where(f["date"] == f["date"].iloc[0], 1.1, 1.0)), ["sum to 1", "1.1"]),
    "percent": (lambda f: f.assign(weight=f["weight"] * 100), ["look like percent"]),
    "repeated row": (lambda f: pd.concat([f, f.iloc[[0]]]), ["repeated (date, asset_id)"]),
    "no weight column": (lambda f: f.rename(columns={"weight": "w"}), ["'weight'", "'market_cap'"]),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_benchmark_weight_files_name_file_date_and_asset(tmp_path, files, case):
    mutate, fragments = BAD[case]
    frame = _file(files)
    path = _bad(tmp_path, mutate(frame))
    with pytest.raises(DataError) as info:
        load_snapshot(files["universe"], files["returns"], benchmark_weights=path)
    message = str(info.value)
    assert str(path) in message, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    if case in ("unknown name", "negative weight"):
        row = frame.iloc[5 if case == "unknown name" else 7]
        assert str(row["date"]) in message, message
    if case == "sum not one":
        assert str(frame["date"].iloc[0]) in message


def test_dates_after_the_as_of_or_not_overlapping_the_returns_are_errors(tmp_path, files):
    frame = _file(files)
    one_date = frame[frame["date"] == frame["date"].iloc[0]]
    late = _bad(tmp_path, one_date.assign(date="2031-03-31"))
    with pytest.raises(DataError) as info:
        load_snapshot(files["universe"], files["returns"], benchmark_weights=late)
    assert str(late) in str(info.value) and "2031-03-31" in str(info.value) and "do not overlap" in str(info.value)
    early = _bad(tmp_path, one_date.assign(date="2010-03-31"))
    with pytest.raises(DataError) as info:
        load_snapshot(files["universe"], files["returns"], benchmark_weights=early)
    assert "2010-03-31" in str(info.value) and str(DATES[0].date()) in str(info.value)
    pit = load_benchmark_weights(files["benchmark"], pd.Index(IDS))
    with pytest.raises(DataError, match=f"no benchmark weights on or before {DATES[5].date()}.*{pit.dates[0].date()}"):
        pit.at(DATES[5], ragged.ragged_returns())


def test_a_constituent_that_stopped_trading_at_the_as_of_is_an_error(tmp_path, files):
    frame = _file(files)
    first = frame["date"].iloc[0]
    stale = _bad(tmp_path, frame[frame["date"] == first])  # one date, long before GONE delists
    with pytest.raises(DataError) as info:
        load_snapshot(files["universe"], files["returns"], benchmark_weights=stale)
    message = str(info.value)
    assert GONE in message and str(DATES[-1].date()) in message and str(stale) in message
