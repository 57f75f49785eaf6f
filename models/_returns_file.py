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
from ._tables import read_table
from ._validation import MAX_LISTED, check_return_bounds, listing, parse_dates, to_float_array


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
    frame = read_table(path, role, text_columns=("date", "Date", "DATE"))
    date_columns = [c for c in frame.columns if c.lower() == "date"]
    if len(date_columns) != 1:
        raise DataError(
            f"{where}: needs exactly one 'date' column (or a date index in Parquet); "
            f"found columns: {list(frame.columns)[:MAX_LISTED + 1]}"
        )
    missing = [a for a in asset_ids if a not in frame.columns]
    if missing:
        raise DataError(f"{where}: no return column for universe asset(s) {listing(missing)}")
    if frame.empty:
        raise DataError(f"{where}: has no rows")

    dates = parse_dates(frame[date_columns[0]], where)
    order = np.argsort(dates.to_numpy(), kind="stable")  # rows in any order: sorted by date
    index = dates[order]
    body = frame[list(asset_ids)].iloc[order]
    labels = pd.Index([d.date().isoformat() for d in index])
    values = to_float_array(body, labels, where)
    check_ragged(values, index, asset_ids, where)
    check_return_bounds(values, index, asset_ids, where)
    return pd.DataFrame(values, index=index, columns=asset_ids)


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
