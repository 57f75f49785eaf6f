"""Checks of the cells of user data files: text, numbers, dates, returns and totals.

Every check is vectorized over the table (one numpy/pandas operation per column or per
file, never a Python loop over the cells of the returns table) and raises a
:class:`DataError` naming the file, the column, and the offending assets, dates or rows.

Limits applied to user files (also listed in :func:`trimtab.models.load_snapshot`):

* daily simple returns must be finite and within ``[MIN_DAILY_RETURN, MAX_DAILY_RETURN]``
  = ``[−1, +10]`` (−100 % to +1000 % in a day); anything outside is a data error
  (percent instead of fractions, an unadjusted split, a corrupt cell); in a returns file a
  return may be missing only before a name's first one or after its last (:mod:`._ragged`);
* dates are text (``2024-01-02``), a date/datetime type, or integers ``YYYYMMDD``;
  floating-point dates and other all-digit values (epoch seconds, ``YYMMDD``, a year) are
  refused rather than guessed; two rows on one calendar day are refused; rows in any
  order are sorted;
* a numeric column whose total overflows the float range (e.g. market caps of 1e308)
  is refused instead of turning into weights of 0 or NaN;
* holdings are long positions: weights below ``−NEGATIVE_WEIGHT_ROUNDOFF`` and negative
  share counts are refused.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import DataError, nonfinite_cells

#: How many offending items an error message lists.
MAX_LISTED = 10

#: Smallest daily simple return accepted (−100 %: the asset lost everything).
MIN_DAILY_RETURN = -1.0

#: Largest daily simple return accepted (+1000 % in one day); above it the cell is taken
#: for a data error (an unadjusted split, percent units, a corrupt value).
MAX_DAILY_RETURN = 10.0

#: Negative holdings weights this small (in magnitude) are round-off and kept as given.
NEGATIVE_WEIGHT_ROUNDOFF = 1e-12

_DIGITS = re.compile(r"\d+")


def listing(items: Iterable[object], total: int | None = None) -> str:
    """``[a, b, ...] (N in all)``: at most :data:`MAX_LISTED` items and the count when cut."""
    items = list(items)
    total = len(items) if total is None else total
    shown = ", ".join(str(i) for i in items[:MAX_LISTED])
    return f"[{shown}, ...] ({total} in all)" if total > MAX_LISTED else f"[{shown}]"


def require(frame: pd.DataFrame, path: Path, role: str, missing: list[str], required: str) -> None:
    """Raise DataError naming the file, the ``missing`` columns, the required and the found ones."""
    if missing:
        raise DataError(
            f"{role} file {path}: missing required column(s) {missing}; required: {required}; "
            f"found: {list(frame.columns)}"
        )


def text(values: pd.Series) -> pd.Series:
    """Values as stripped strings (integral floats without ``.0``); missing stays missing.

    A column whose present cells are all strings (a text column as read) is stripped in one
    vectorized pass; any other goes cell by cell.
    """
    if only_strings(values):
        stripped = values.str.strip().to_numpy(dtype=object, na_value=None, copy=True)
        stripped[stripped == ""] = None
        return pd.Series(stripped, index=values.index, name=values.name)
    return _text_by_cell(values)


def _text_by_cell(values: pd.Series) -> pd.Series:
    """:func:`text` one cell at a time (any column: numbers as ids, mixed cells)."""

    def one(value: object) -> str | None:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value).strip() or None

    return pd.Series([one(v) for v in values], index=values.index, name=values.name)


def in_index(values: pd.Series | np.ndarray, index: pd.Index) -> np.ndarray:
    """Whether each of ``values`` is a label of ``index`` (bool array), by one hash lookup.

    The same answer as ``values.isin(index)``, which on pandas' text columns costs ~10 µs a
    cell (8 ms for one account's 800 lots against 500 names); a non-unique ``index`` takes it.
    """
    if not index.is_unique:
        return np.asarray(pd.Series(values).isin(index), dtype=bool)
    return index.get_indexer(values) >= 0


def only_strings(values: pd.Series) -> bool:
    """True when every present (not missing) cell of ``values`` is a ``str``."""
    return pd.api.types.infer_dtype(values, skipna=True) == "string"


def _is_plain_numeric(dtype: object) -> bool:
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def to_float(values: pd.Series, where: str) -> pd.Series:
    """Convert a column to float; cells that are present but not numbers raise DataError.

    The index labels the cells in the message (asset ids, or dates of a returns column).
    A true/false column is refused rather than read as 1/0.
    """
    if _is_plain_numeric(values.dtype):
        return values.astype(float)
    if pd.api.types.is_bool_dtype(values.dtype):
        raise DataError(f"{where}: column {values.name!r} holds true/false values, not numbers")
    coerced = pd.to_numeric(values, errors="coerce")
    bad = values.notna() & coerced.isna()
    if bad.any():
        examples = [f"{label}: {value!r}" for label, value in values[bad].items()]
        raise DataError(
            f"{where}: column {values.name!r} has {int(bad.sum())} non-numeric value(s), e.g. {listing(examples)}"
        )
    return coerced.astype(float)


def all_plain_numeric(frame: pd.DataFrame) -> bool:
    """True if every column is a plain number type (not text, not true/false): one conversion to floats suffices."""
    kinds = {dtype for dtype in frame.dtypes.tolist()}
    return all(_is_plain_numeric(dtype) for dtype in kinds)


def to_float_array(frame: pd.DataFrame, labels: pd.Index, where: str) -> np.ndarray:
    """A table of numbers as one float array (rows × columns); non-numeric cells raise DataError.

    Numeric columns are converted in one operation; only text columns are parsed (and
    their bad cells named by ``labels``, one per row).
    """
    plain = np.array([_is_plain_numeric(d) for d in frame.dtypes], dtype=bool)
    if plain.all():
        return frame.to_numpy(dtype=float)
    array = np.empty(frame.shape, dtype=float)
    array[:, plain] = frame.iloc[:, plain].to_numpy(dtype=float)
    for position in np.flatnonzero(~plain):
        column = frame.iloc[:, position].set_axis(labels, axis=0)
        array[:, position] = to_float(column, where).to_numpy()
    return array


def asset_id_column(frame: pd.DataFrame, where: str) -> pd.Series:
    """The ``asset_id`` column as text; blank or duplicate ids raise DataError."""
    ids = text(frame["asset_id"])
    blank = (ids.index[ids.isna()] + 1).tolist()
    if blank:
        raise DataError(f"{where}: column 'asset_id' is empty in data row(s) {listing(blank)}")
    duplicated = sorted(set(ids[ids.duplicated()]))
    if duplicated:
        raise DataError(f"{where}: column 'asset_id' has duplicate value(s) {listing(duplicated)}")
    return ids


def is_numeric_column(values: pd.Series) -> bool:
    """True for numeric columns and text columns whose every present cell is a number."""
    present = values.notna()
    if not present.any():
        return False  # an empty column (e.g. blank notes) is kept as text, not a characteristic
    if pd.api.types.is_numeric_dtype(values.dtype):
        return True
    parsed = pd.to_numeric(values, errors="coerce").notna() & present
    return bool(parsed.any())  # a mixed text/number column then fails in to_float


def refuse(mask: pd.Series, shown: pd.Series, where: str, column: str, rule: str) -> None:
    """DataError ``column must be <rule>`` listing ``asset: value`` of ``shown`` where ``mask``."""
    if mask.any():
        items = [f"{a}: {v!r}" for a, v in shown[mask].items()]
        raise DataError(f"{where}: column {column!r} must be {rule}; offending asset(s) {listing(items)}")


def finite_total(values: pd.Series, where: str, column: str) -> float:
    """The sum of a finite column; DataError when it overflows the float range.

    Parameters
    ----------
    values : pd.Series
        Finite values by asset_id (checked before).
    where, column : str
        File and column, for the message.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        total = float(values.sum())
    if not np.isfinite(total):
        largest = values.abs().sort_values(ascending=False, kind="stable")
        raise DataError(
            f"{where}: column {column!r} sums beyond the largest floating-point number (~1.8e308), so "
            f"no weight can be computed from it; values this large are a data error; largest "
            f"{listing([f'{a}: {v:g}' for a, v in largest.items()])}"
        )
    return total


def parse_dates(raw: pd.Series, where: str) -> pd.DatetimeIndex:
    """The ``date`` column of a returns file as unique calendar days (in file order).

    Accepted: text such as ``2024-01-02`` (format inferred from the column, as pandas
    does), ``YYYYMMDD`` text or integers, and date/datetime columns (a time zone is
    dropped). Refused, naming the rows: floating-point numbers (never read as
    nanoseconds since 1970), all-digit values other than ``YYYYMMDD`` (epoch seconds,
    ``YYMMDD``, a bare year), unparseable or missing dates, and two rows on one
    calendar day.
    """
    index = parse_date_column(raw, where)
    days = index.normalize()
    duplicated = sorted(set(days[days.duplicated()]))
    if duplicated:
        raise DataError(f"{where}: duplicate date(s) {listing(d.date() for d in duplicated)}")
    return index


def parse_date_column(raw: pd.Series, where: str) -> pd.DatetimeIndex:
    """A column of dates (in file order; repeats allowed), by the rules of :func:`parse_dates`.

    Raises
    ------
    DataError
        For floating-point or non-YYYYMMDD all-digit values and unparseable or missing
        dates, naming the rows.
    """
    column = raw.name
    raw = raw.reset_index(drop=True)  # row i of the file is label i
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        dates = raw
    else:
        dates = _parse_date_cells(raw, where)
    unparsed = raw[dates.isna().to_numpy()]
    if len(unparsed):
        shown = [f"row {i + 1}: {v!r}" for i, v in unparsed.items()]
        numbers = pd.to_numeric(unparsed, errors="coerce").notna().any()
        hint = "; numbers are read only as integers YYYYMMDD (write 2024-01-02)" if numbers else ""
        raise DataError(f"{where}: column {column!r} has unparseable date(s) {listing(shown)}{hint}")
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    return pd.DatetimeIndex(dates, name="date")


def _parse_date_cells(raw: pd.Series, where: str) -> pd.Series:
    """Dates from a column of text, integers or date objects (NaT where unparseable).

    ``raw`` has a default index (label = row position).
    """
    column = raw.name
    cells = raw.to_numpy(dtype=object)
    floats = np.array([isinstance(v, (float, np.floating)) and not np.isnan(v) for v in cells], dtype=bool)
    floats |= np.array([isinstance(v, (bool, np.bool_, complex)) for v in cells], dtype=bool)
    if floats.any():
        shown = [f"row {i + 1}: {cells[i]!r}" for i in np.flatnonzero(floats)]
        raise DataError(
            f"{where}: column {column!r} holds floating-point (or true/false) numbers, not dates, "
            f"e.g. {listing(shown)}; "
            "write dates as text (2024-01-02), as a date/datetime type or as integers YYYYMMDD "
            "(a float is never read as a date: it would become a timestamp in 1970)"
        )
    integers = np.array([isinstance(v, (int, np.integer)) for v in cells], dtype=bool)
    strings = np.array([isinstance(v, str) for v in cells], dtype=bool)
    digits = integers.copy()
    digits[strings] = [bool(_DIGITS.fullmatch(v.strip())) for v in cells[strings]]
    digit_text = pd.Series([str(v).strip() for v in cells[digits]], index=raw.index[digits], dtype=object)
    wrong_length = digit_text[digit_text.str.len() != 8]
    if len(wrong_length):
        shown = [f"row {i + 1}: {cells[i]!r}" for i in wrong_length.index]
        raise DataError(
            f"{where}: column {column!r} has all-digit date(s) that are not YYYYMMDD, e.g. {listing(shown)}; "
            "numbers are read only as YYYYMMDD (epoch seconds, YYMMDD or a bare year are not accepted): "
            "write dates as text such as 2024-01-02"
        )
    parts = []
    if digits.any():
        parts.append(pd.to_datetime(digit_text, format="%Y%m%d", errors="coerce"))
    if not digits.all():
        with warnings.catch_warnings():  # "could not infer format": unparsed dates are reported by the caller
            warnings.simplefilter("ignore", UserWarning)
            others = pd.to_datetime(raw[~digits], errors="coerce")
        if getattr(others.dt, "tz", None) is not None:
            others = others.dt.tz_localize(None)
        parts.append(others)
    return parts[0] if len(parts) == 1 else pd.concat(parts).reindex(raw.index)


def check_returns(values: np.ndarray, dates: pd.DatetimeIndex, assets: pd.Index, where: str) -> None:
    """Refuse missing, non-finite and implausible daily returns, naming asset and date.

    Parameters
    ----------
    values : np.ndarray
        Daily simple returns (fractions), dates × assets.
    dates : pd.DatetimeIndex
        The rows' dates.
    assets : pd.Index
        The columns' asset_ids.
    where : str
        The file, for the message.
    """

    def cell(r: int, c: int) -> str:
        return f"{assets[c]} on {dates[r].date()}"

    count, shown = nonfinite_cells(values, cell, limit=MAX_LISTED)
    if count:
        raise DataError(f"{where}: {count} missing or non-finite return(s), e.g. {listing(shown, count)}")
    check_return_bounds(values, dates, assets, where)


def check_return_bounds(values: np.ndarray, dates: pd.DatetimeIndex, assets: pd.Index, where: str) -> None:
    """Refuse returns below ``MIN_DAILY_RETURN`` or above ``MAX_DAILY_RETURN`` (missing cells pass).

    Parameters are those of :func:`check_returns`.
    """

    def cell(r: int, c: int) -> str:
        return f"{assets[c]} on {dates[r].date()}"

    rows, cols = np.nonzero(values < MIN_DAILY_RETURN)
    if len(rows):
        shown = [f"{cell(r, c)}: {values[r, c]:g}" for r, c in zip(rows[:MAX_LISTED], cols[:MAX_LISTED])]
        raise DataError(
            f"{where}: simple returns must be ≥ −1 (fractions, not percent); offending {listing(shown, len(rows))}"
        )
    rows, cols = np.nonzero(values > MAX_DAILY_RETURN)
    if len(rows):
        shown = [f"{cell(r, c)}: {values[r, c]:g}" for r, c in zip(rows[:MAX_LISTED], cols[:MAX_LISTED])]
        raise DataError(
            f"{where}: daily simple returns above +{MAX_DAILY_RETURN:g} (+{MAX_DAILY_RETURN:.0%} in one day) "
            f"are taken for data errors (an unadjusted split, percent units, a corrupt cell); "
            f"offending {listing(shown, len(rows))}"
        )
