"""Tax lots and recent trades of one account: read, checked cell by cell, frozen.

A **lots** table has one row per tax lot: ``lot_id`` (unique), ``asset_id``, ``shares``
(> 0), ``cost_basis`` (USD per share, ≥ 0) and ``acquired`` (the purchase date); an
optional ``account_id`` (one account per table: the many-accounts batch splits them). A
**trades** table lists recent trades for the wash-sale look-back: ``asset_id``, ``date``,
``side`` (``buy``/``sell``) and ``realized_gain`` (USD, negative for a loss; may be empty
for buys). Both are CSV (plain or compressed) or Parquet, like every user file.

Every bad cell is a :class:`DataError` naming the file, the data row (1 = the first row
under the header), the column and the value. Checks against the market (unknown assets,
dates after the as-of date, lots that do not add up to the holdings) are in
:mod:`._lot_book`.
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import DataError
from ._tables import read_table
from ._validation import listing, parse_date_column, text

__all__ = ["LOT_COLUMNS", "TRADE_COLUMNS", "TaxLots", "read_tax_lots"]

#: Required columns of a lots table (``account_id`` is optional).
LOT_COLUMNS = ("lot_id", "asset_id", "shares", "cost_basis", "acquired")

#: Columns of a trades table (``realized_gain`` may be empty for buys).
TRADE_COLUMNS = ("asset_id", "date", "side", "realized_gain")

#: Accepted ``side`` values of a trade (case-insensitive).
TRADE_SIDES = ("buy", "sell")


@dataclass(frozen=True)
class TaxLots:
    """The tax lots of one account and its recent trades, checked.

    Parameters
    ----------
    lots : pd.DataFrame
        Columns :data:`LOT_COLUMNS` (and optionally ``account_id``); stored with ``lot_id``,
        ``asset_id`` (and ``account_id``) as text, ``shares`` and ``cost_basis`` as floats,
        ``acquired`` as dates, in the given row order.
    trades : pd.DataFrame, optional
        Columns :data:`TRADE_COLUMNS`; ``side`` lower-cased, ``realized_gain`` 0 where empty.
    source, trades_source : str
        Where the tables come from (a file path, or a description), for messages.

    Raises
    ------
    DataError
        A missing column, an empty or duplicate ``lot_id``, a negative or zero share count,
        a negative or missing cost basis, an unparseable date, several accounts, an unknown
        trade side — naming the file, data row and value.
    """

    lots: pd.DataFrame
    trades: pd.DataFrame | None = None
    source: str = "lots given in memory"
    trades_source: str = "trades given in memory"

    def __post_init__(self) -> None:
        object.__setattr__(self, "lots", _checked_lots(self.lots, self.source))
        trades = self.trades if self.trades is not None else pd.DataFrame(columns=list(TRADE_COLUMNS))
        object.__setattr__(self, "trades", _checked_trades(trades, self.trades_source))

    @property
    def account_id(self) -> str | None:
        """The account the lots belong to (None when the table has no ``account_id``)."""
        if "account_id" not in self.lots.columns or self.lots.empty:
            return None
        return str(self.lots["account_id"].iloc[0])


def read_tax_lots(lots: str | PathLike[str], trades: str | PathLike[str] | None = None) -> TaxLots:
    """Read a lots file and, optionally, a recent-trades file (CSV or Parquet).

    Parameters
    ----------
    lots : str or Path
        The lots file (columns :data:`LOT_COLUMNS`, optional ``account_id``).
    trades : str or Path, optional
        Recent trades (columns :data:`TRADE_COLUMNS`) for the wash-sale look-back.

    Raises
    ------
    DataError
        File missing or unreadable, or a bad cell (see :class:`TaxLots`).
    """
    lots_path = Path(lots)
    frame = read_table(lots_path, "lots", text_columns=("lot_id", "asset_id", "account_id"))
    trade_frame, trades_source = None, "trades given in memory"
    if trades is not None:
        trades_path = Path(trades)
        trade_frame = read_table(trades_path, "trades", text_columns=("asset_id", "side"))
        trades_source = f"trades file {trades_path}"
    return TaxLots(frame, trade_frame, source=f"lots file {lots_path}", trades_source=trades_source)


def _checked_lots(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    _require(frame, where, LOT_COLUMNS)
    frame = frame.reset_index(drop=True)
    lot_id = _text_column(frame, "lot_id", where)
    duplicated = lot_id[lot_id.duplicated(keep=False)]
    if len(duplicated):
        first = duplicated.iloc[0]
        rows = [int(i) + 1 for i in duplicated.index[duplicated == first]]
        raise DataError(
            f"{where}: duplicate lot_id {first!r} in data rows {rows}"
            + (f" (and {duplicated.nunique() - 1} more duplicated id(s))" if duplicated.nunique() > 1 else "")
        )
    asset_id = _text_column(frame, "asset_id", where)
    shares = _numbers(frame, "shares", where, lot_id)
    _refuse(~(shares > 0), shares, lot_id, where, "shares", "a positive number of shares")
    basis = _numbers(frame, "cost_basis", where, lot_id)
    _refuse(~(basis >= 0), basis, lot_id, where, "cost_basis", "a cost basis ≥ 0 (USD per share)")
    acquired = pd.Series(parse_date_column(frame["acquired"], where), index=frame.index).dt.normalize()
    checked = pd.DataFrame(
        {"lot_id": lot_id, "asset_id": asset_id, "shares": shares, "cost_basis": basis, "acquired": acquired}
    )
    if "account_id" in frame.columns:
        accounts = _text_column(frame, "account_id", where)
        if accounts.nunique() > 1:
            raise DataError(
                f"{where}: lots of {accounts.nunique()} accounts {listing(sorted(accounts.unique()))}; a job "
                "optimizes one account: give one account's lots (the batch runs several accounts)"
            )
        checked["account_id"] = accounts
    return checked


def _checked_trades(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    _require(frame, where, TRADE_COLUMNS[:3])
    frame = frame.reset_index(drop=True)
    columns = {"asset_id": [], "date": [], "side": [], "realized_gain": []}
    if frame.empty:
        return pd.DataFrame({k: pd.Series(v, dtype="datetime64[ns]" if k == "date" else object) for k, v in columns.items()})
    labels = pd.Series([f"trade {i + 1}" for i in range(len(frame))], index=frame.index)
    asset_id = _text_column(frame, "asset_id", where)
    side = _text_column(frame, "side", where).str.lower()
    bad = ~side.isin(TRADE_SIDES)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{where}: data row {i + 1}: side {frame['side'].iloc[i]!r} is not one of {list(TRADE_SIDES)}")
    if "realized_gain" in frame.columns:
        gain = _numbers(frame, "realized_gain", where, labels, missing_ok=True).fillna(0.0)
    else:
        gain = pd.Series(0.0, index=frame.index)
    date = pd.Series(parse_date_column(frame["date"], where), index=frame.index).dt.normalize()
    return pd.DataFrame({"asset_id": asset_id, "date": date, "side": side, "realized_gain": gain})


def _require(frame: pd.DataFrame, where: str, columns: tuple[str, ...]) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{where}: expected a table (pandas DataFrame), got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{where}: missing required column(s) {missing}; required: {list(columns)}; found: {list(frame.columns)}")


def _text_column(frame: pd.DataFrame, column: str, where: str) -> pd.Series:
    values = text(frame[column])
    blank = np.flatnonzero(values.isna().to_numpy())
    if len(blank):
        raise DataError(f"{where}: column {column!r} is empty in data row(s) {listing(int(i) + 1 for i in blank)}")
    return values.astype(str)


def _numbers(frame: pd.DataFrame, column: str, where: str, labels: pd.Series, *, missing_ok: bool = False) -> pd.Series:
    raw = frame[column]
    if pd.api.types.is_bool_dtype(raw.dtype):
        raise DataError(f"{where}: column {column!r} holds true/false values, not numbers")
    values = pd.to_numeric(raw, errors="coerce").astype(float)
    bad = (raw.notna() & values.isna()) | (~np.isfinite(values) & values.notna())
    if not missing_ok:
        bad |= values.isna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{where}: data row {i + 1} ({_label(labels, i)}): {column} {raw.iloc[i]!r} is not a finite number"
            + (f" ({int(bad.sum())} such rows)" if bad.sum() > 1 else "")
        )
    return values


def _refuse(mask: pd.Series, values: pd.Series, labels: pd.Series, where: str, column: str, rule: str) -> None:
    if mask.any():
        rows = np.flatnonzero(mask.to_numpy())
        i = int(rows[0])
        raise DataError(
            f"{where}: data row {i + 1} ({_label(labels, i)}): {column} {values.iloc[i]:g} — must be {rule}"
            + (f" ({len(rows)} such rows)" if len(rows) > 1 else "")
        )


def _label(labels: pd.Series, i: int) -> str:
    label = str(labels.iloc[i])
    return label if label.startswith("trade ") else f"lot_id {label!r}"
