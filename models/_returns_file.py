"""The returns file (wide: ``date`` + one column per asset) and returns from prices.

Rows may come in any order (sorted here); the table may be *ragged* — a name's returns
may be missing before its first one (listing) and after its last one (delisting), never in
between (rules: :mod:`._ragged`). Every present return must be finite and within
``[MIN_DAILY_RETURN, MAX_DAILY_RETURN] = [−1, +10]``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import DataError
from ._ragged import check_ragged
from ._tables import csv_header, read_table
from ._validation import MAX_LISTED, all_plain_numeric, check_return_bounds, listing, parse_dates, to_float_array

#: Names of the date column (any case).
DATE_COLUMNS = ("date", "Date", "DATE")


def load_returns(path: Path, asset_ids: pd.Index) -> pd.DataFrame:
    """Daily simple returns (fractions), sorted dates × ``asset_ids`` (in that order), NaN where missing.

    Parameters
    ----------
    path : Path
        The file (CSV, compressed CSV or Parquet): a ``date`` column (any case; for Parquet
        also a date index) and a column per asset; columns of other assets are dropped
        unread.
    asset_ids : pd.Index
        The universe's asset_ids; each needs a column.

    Raises
    ------
    DataError
        Naming the file and the offending assets, dates or rows: a missing column, bad or
        repeated dates, text, ±∞, a gap inside a name's life, a date without any return,
        or a return outside ``[−1, +10]``.
    """
    role, where = "returns", f"returns file {path}"
    plain = _read_plain_csv(Path(path), asset_ids)
    if plain is not None:  # the usual file: read straight into one array
        raw_dates, body = plain
        dates = parse_dates(raw_dates, where)
        order = np.argsort(dates.to_numpy(), kind="stable")
        if _is_identity(order):  # the usual file, dates ascending: no copy (64 MB at 10,000 names)
            return _checked(body, dates, asset_ids, where)
        return _checked(body[order], dates[order], asset_ids, where)
    frame = read_table(path, role, text_columns=DATE_COLUMNS)
    date_columns = [c for c in frame.columns if c.lower() == "date"]
    if len(date_columns) != 1:
        raise DataError(
            f"{where}: needs exactly one 'date' column (or a date index in Parquet); "
            f"found columns: {list(frame.columns)[:MAX_LISTED + 1]}"
        )
    positions = frame.columns.get_indexer(asset_ids)
    if (positions < 0).any():
        raise DataError(f"{where}: no return column for universe asset(s) {listing(asset_ids[positions < 0].tolist())}")
    if frame.empty:
        raise DataError(f"{where}: has no rows")

    dates = parse_dates(frame[date_columns[0]], where)
    order = np.argsort(dates.to_numpy(), kind="stable")  # rows in any order: sorted by date
    index = dates[order]
    body = frame.iloc[:, positions]
    if all_plain_numeric(body):  # the usual file: one conversion, rows sorted on the array
        values = body.to_numpy(dtype=float)[order]
    else:  # text cells: parsed column by column, bad ones named by date
        labels = pd.Index([d.date().isoformat() for d in index])
        values = to_float_array(body.iloc[order], labels, where)
    return _checked(values, index, asset_ids, where)


def _checked(values: np.ndarray, dates: pd.DatetimeIndex, asset_ids: pd.Index, where: str) -> pd.DataFrame:
    check_ragged(values, dates, asset_ids, where)
    check_return_bounds(values, dates, asset_ids, where)
    return pd.DataFrame(values, index=dates, columns=asset_ids, copy=False)  # values: a fresh array, the frame's own


def _read_plain_csv(path: Path, asset_ids: pd.Index) -> tuple[pd.Series, np.ndarray] | None:
    """``(raw date column, returns in file order)`` of a plain CSV of plain numbers; None for anything else.

    The fast path of :func:`load_returns`: one pass of pyarrow's multi-threaded CSV reader,
    the asset columns parsed as float64 with no missing-value words, the date column as text
    (a 10,000-name file in ~0.3 of the general path's time, and ~0.7 of pandas' C parser,
    which also read the file a second time for the dates). Any file it cannot read exactly
    so — compressed, with missing-value words (``NA``, ``nan``, empty cells: a ragged file),
    text, rows of the wrong length, a missing or repeated column, no rows — returns None and
    goes through :func:`read_table`, which reads it (or names what is wrong) as before.
    """
    if [suffix.lower() for suffix in path.suffixes[-1:]] != [".csv"] or not path.is_file():
        return None
    try:
        header = [c.strip() for c in csv_header(path, None)]
    except (OSError, UnicodeDecodeError):
        return None
    date_columns = [i for i, c in enumerate(header) if c.lower() == "date"]
    position = {c: i for i, c in enumerate(header)}
    columns = [position.get(a) for a in asset_ids.tolist()]
    if len(date_columns) != 1 or header[date_columns[0]] not in DATE_COLUMNS or len(position) < len(header):
        return None
    if None in columns:
        return None
    import pyarrow as pa  # here: only a returns file needs its CSV reader
    import pyarrow.csv as pa_csv

    # Columns are named by position (the header row is skipped), read in file order and put
    # in the universe's order below; no cell may be missing (an empty cell fails the read).
    in_file_order = np.sort(np.asarray(columns))
    names = [f"c{i}" for i in range(len(header))]
    date = names[date_columns[0]]
    wanted = [names[i] for i in in_file_order]
    try:
        table = pa_csv.read_csv(
            path,
            read_options=pa_csv.ReadOptions(column_names=names, skip_rows=1, block_size=1 << 26),
            convert_options=pa_csv.ConvertOptions(
                column_types={date: pa.string(), **{name: pa.float64() for name in wanted}},
                include_columns=[date, *wanted], null_values=[], strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, OSError, UnicodeDecodeError, ValueError):
        return None
    if table.num_rows == 0:
        return None
    body = np.empty((table.num_rows, len(wanted)), order="F")  # column by column, as pandas' frame gave it
    for j, column in enumerate(table.columns[1:]):
        body[:, j] = column.to_numpy()
    positions = np.searchsorted(in_file_order, columns)
    if not _is_identity(positions):  # the universe's order differs from the file's
        body = body[:, positions]
    raw = pd.Series(table.column(0).to_pylist(), name=header[date_columns[0]], dtype="str")
    return raw.where(raw != ""), body  # an empty date cell is missing, as pandas reads it


def _is_identity(order: np.ndarray) -> bool:
    """True when ``order`` is ``0, 1, …, len − 1`` (indexing with it would only copy)."""
    return bool(np.array_equal(order, np.arange(len(order))))


def prices_to_returns(prices: pd.DataFrame) -> pd.DataFrame:
    """Daily simple returns from prices: ``r_t = p_t / p_{t-1} − 1`` (first row dropped).

    Parameters
    ----------
    prices : pd.DataFrame
        Prices (any currency, e.g. USD per share), dates × assets; sorted by date here.

    Returns
    -------
    pd.DataFrame
        Simple returns (fractions), one row fewer than ``prices``. A missing price gives a
        missing return (allowed before a listing and after a delisting, see :mod:`._ragged`).

    Raises
    ------
    DataError
        If ``prices`` is not a DataFrame of numbers with two dates or more, or a present
        price is zero, negative or infinite (naming the asset and the date).
    """
    if not isinstance(prices, pd.DataFrame):
        raise DataError(f"prices must be a pandas DataFrame (dates × assets), got {type(prices).__name__}")
    if len(prices) < 2:
        raise DataError(f"prices need at least two dates to form a return, got {len(prices)}")
    try:
        values = prices.sort_index().astype(float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"prices must be numbers (USD per share): {exc}") from None
    array = values.to_numpy()
    rows, cols = np.nonzero(~np.isnan(array) & ~(np.isfinite(array) & (array > 0)))
    if len(rows):
        shown = [
            f"{values.columns[c]} on {_day(values.index[r])}: {array[r, c]:g}"
            for r, c in zip(rows[:MAX_LISTED], cols[:MAX_LISTED])
        ]
        raise DataError(
            f"prices must be positive and finite (a missing price gives a missing return); "
            f"offending {listing(shown, len(rows))}"
        )
    return (values / values.shift(1) - 1.0).iloc[1:]


def _day(label: object) -> str:
    """A row label as a day (``2024-01-02``) when it is a timestamp, else as given."""
    return str(label.date()) if isinstance(label, pd.Timestamp) else str(label)
