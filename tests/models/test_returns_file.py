"""The returns file's fast path (pyarrow's CSV reader, float columns, into one array) reads exactly what the
pandas path reads, and anything unusual goes through the pandas path; text columns keep "NA"."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trimtab.models import DataError, read_table
from trimtab.models import _returns_file
from trimtab.models._returns_file import load_returns

IDS = pd.Index(["A", "B", "C", "D"], name="asset_id")


def write(tmp_path: Path, text: str, name: str = "returns.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def plain_frame(rows: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(0, 0.02, (rows, 5)).round(9), columns=["D", "B", "X", "A", "C"])
    frame.insert(2, "date", pd.bdate_range("2024-01-01", periods=rows).strftime("%Y-%m-%d"))
    return frame.sample(frac=1.0, random_state=1)  # rows in any order, an extra column, assets out of order


def through_pandas(path: Path, monkeypatch) -> pd.DataFrame:
    with monkeypatch.context() as patch:
        patch.setattr(_returns_file, "_read_plain_csv", lambda *args: None)
        return load_returns(path, IDS)


@pytest.mark.parametrize("in_order", [False, True])  # True: dates ascending, the universe's columns in its order
def test_a_plain_file_takes_the_fast_path_and_reads_what_pandas_reads(tmp_path, monkeypatch, in_order):
    path = tmp_path / "returns.csv"
    frame = plain_frame()
    if in_order:
        frame = frame.sort_values("date")[["date", *IDS]]
    frame.to_csv(path, index=False)
    assert _returns_file._read_plain_csv(path, IDS) is not None
    fast = load_returns(path, IDS)
    pd.testing.assert_frame_equal(fast, through_pandas(path, monkeypatch), check_exact=True)
    assert fast.index.is_monotonic_increasing and list(fast.columns) == list(IDS)


def test_full_precision_returns_are_read_to_the_bit(tmp_path, monkeypatch):
    rng = np.random.default_rng(11)
    frame = pd.DataFrame(rng.normal(0, 0.03, (300, 4)), columns=list(IDS))  # 17 significant digits as written
    frame.insert(0, "date", pd.bdate_range("2023-01-02", periods=300).strftime("%Y-%m-%d"))
    path = tmp_path / "returns.csv"
    frame.to_csv(path, index=False)
    assert _returns_file._read_plain_csv(path, IDS) is not None
    fast = load_returns(path, IDS)
    assert np.array_equal(fast.to_numpy().view(np.int64), frame[list(IDS)].to_numpy().view(np.int64))
    pd.testing.assert_frame_equal(fast, through_pandas(path, monkeypatch), check_exact=True)


@pytest.mark.parametrize("cell", ["+0.01", " 0.01", "0.01 ", "1E-3", ".5", "nan", "0.012345678901234567890123"])
def test_number_spellings_read_as_the_pandas_path_reads_them(tmp_path, monkeypatch, cell):
    path = write(tmp_path, f"date,A,B,C,D\n2024-01-02,{cell},0.01,0.02,0.03\n2024-01-03,0.01,0.02,0.02,0.03\n")
    fast = load_returns(path, IDS)
    expected = through_pandas(path, monkeypatch)
    assert np.array_equal(fast.to_numpy(), expected.to_numpy(), equal_nan=True)
    assert fast.index.equals(expected.index) and list(fast.columns) == list(IDS)


def test_a_byte_order_mark_quoted_padded_header_and_crlf_take_the_fast_path(tmp_path, monkeypatch):
    text = '\ufeff"C", B ,date,"A",D\r\n0.03,0.02,2024-01-03,0.01,-0.04\r\n0.3,0.2,2024-01-02,0.1,-0.4\r\n'
    path = tmp_path / "returns.csv"
    path.write_text(text, encoding="utf-8")
    assert _returns_file._read_plain_csv(path, IDS) is not None
    fast = load_returns(path, IDS)
    pd.testing.assert_frame_equal(fast, through_pandas(path, monkeypatch), check_exact=True)
    assert fast.loc["2024-01-02"].tolist() == [0.1, 0.2, 0.3, -0.4]


@pytest.mark.parametrize(
    "body",
    [
        "date,A,B,C,D\n2024-01-02,0.01,0.01,0.02,0.03,0.5\n",  # a row longer than the header
        "date,A,B,C,D\n2024-01-02,0.01,,0.02,0.03\n2024-01-03,0.01,0.02,0.02,0.03\n",  # an empty cell
        "date,A,B,C,D\n2024-01-02,0.01,NA,0.02,0.03\n2024-01-03,0.01,0.02,0.02,0.03\n",  # a missing-value word
        'date,A,B,C,D\n2024-01-02,"0.01",0.01,0.02,0.03\n2024-01-03,0.01,0.02,0.02,0.03\n',  # quoted (a number to both)
        "Date,A,B,C,D\n20240102,0.01,0.01,0.02,0.03\n20240103,0.01,0.02,0.02,0.03\n",  # YYYYMMDD
        "dAtE,A,B,C,D\n2024-01-02,0.01,0.01,0.02,0.03\n2024-01-03,0.01,0.02,0.02,0.03\n",  # another case
        "date,A,B,C,D,A\n2024-01-02,0.01,0.01,0.02,0.03,0\n",  # a repeated column
        "date,A,B,C\n2024-01-02,0.01,0.01,0.02\n",  # a missing column
        "date,A,B,C,D\n",  # no rows
    ],
)
def test_unusual_files_go_through_pandas(tmp_path, monkeypatch, body):
    path = write(tmp_path, body)
    assert _returns_file._read_plain_csv(path, IDS) is None or "Date," in body or '"' in body
    try:
        expected = through_pandas(path, monkeypatch)
    except DataError as error:
        with pytest.raises(DataError) as raised:
            load_returns(path, IDS)
        assert str(raised.value) == str(error)
    else:
        pd.testing.assert_frame_equal(load_returns(path, IDS), expected, check_exact=True)


def test_an_empty_date_is_refused_as_the_pandas_path_refuses_it(tmp_path, monkeypatch):
    path = write(tmp_path, "date,A,B,C,D\n2024-01-02,0.01,0.01,0.02,0.03\n,0.01,0.01,0.02,0.03\n")
    raw, _ = _returns_file._read_plain_csv(path, IDS)
    assert raw.isna().tolist() == [False, True]
    with pytest.raises(DataError) as expected:
        through_pandas(path, monkeypatch)
    with pytest.raises(DataError) as raised:
        load_returns(path, IDS)
    assert str(raised.value) == str(expected.value) and "date" in str(raised.value)


def test_compressed_and_nan_words(tmp_path, monkeypatch):
    frame = plain_frame(seed=3)
    gz = tmp_path / "returns.csv.gz"
    frame.to_csv(gz, index=False)
    assert _returns_file._read_plain_csv(gz, IDS) is None
    pd.testing.assert_frame_equal(load_returns(gz, IDS), through_pandas(gz, monkeypatch), check_exact=True)
    path = write(tmp_path, "date,A,B,C,D\n2024-01-02,0.01,0.01,0.02,inf\n2024-01-03,0.01,0.02,0.02,0.03\n")
    with pytest.raises(DataError, match="non-finite return"):
        load_returns(path, IDS)


def test_text_columns_keep_missing_value_words(tmp_path):
    path = write(tmp_path, "asset_id,ticker,x\nA,NA,1\nB,,NA\nC,null,3\n", "universe.csv")
    frame = read_table(path, "universe", text_columns=("asset_id", "ticker"))
    assert frame["ticker"].tolist()[0] == "NA" and pd.isna(frame["ticker"].tolist()[1])
    assert frame["ticker"].tolist()[2] == "null" and np.isnan(frame["x"].iloc[1])
