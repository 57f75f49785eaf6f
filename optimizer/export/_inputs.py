"""Reading and checking the desk's inputs: current holdings (shares) and the security master.

Holdings file: ``asset_id, shares`` — whole, non-negative shares, one row per asset.
Security master (the ``--prices`` file): ``asset_id, price`` and optionally ``lot_size``
(default 1) and identifier columns ``ticker``, ``cusip``, ``isin``, ``sedol``, ``figi``.
Identifiers are validated with python-stdnum (check digits). ``identifier`` picks which one
the orders carry (default: the first column present in :data:`IDENTIFIER_PREFERENCE`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from stdnum import cusip, figi, isin
from stdnum.exceptions import ValidationError
from stdnum.gb import sedol

from trimtab.models import DataError, read_table

#: Identifier columns, the order in which one is picked when none is asked for.
IDENTIFIER_PREFERENCE: tuple[str, ...] = ("isin", "cusip", "sedol", "figi", "ticker")

_CHECKERS = {"cusip": cusip, "isin": isin, "sedol": sedol, "figi": figi}


def read_holdings(path: str | Path) -> pd.Series:
    """Current shares by asset_id (int64); errors name the file, the rows and the assets.

    Raises
    ------
    DataError
        Missing columns, duplicate ids, missing, negative or non-integer share counts.
    """
    table = _read(path, ("asset_id", "shares"), "holdings")
    shares = pd.to_numeric(table["shares"], errors="coerce")
    bad = table["asset_id"][~np.isfinite(shares)].tolist()
    if bad:
        raise DataError(f"{path}: shares missing or not a number for {bad[:10]}")
    negative = table["asset_id"][shares < 0].tolist()
    if negative:
        raise DataError(f"{path}: negative shares for {negative[:10]} (short holdings are not supported)")
    fractional = table["asset_id"][shares != np.round(shares)].tolist()
    if fractional:
        raise DataError(f"{path}: shares must be whole numbers; not for {fractional[:10]}")
    return pd.Series(shares.to_numpy(dtype=np.int64), index=pd.Index(table["asset_id"], name="asset_id"), name="shares")


def read_security_master(path: str | Path) -> pd.DataFrame:
    """Prices, lot sizes and identifiers by asset_id; identifiers' check digits verified.

    Raises
    ------
    DataError
        Missing columns, duplicate ids, non-positive prices or lot sizes, bad check digits.
    """
    table = _read(path, ("asset_id", "price"), "prices").set_index("asset_id")
    table.columns = [str(c).lower() for c in table.columns]
    price = pd.to_numeric(table["price"], errors="coerce")
    bad = table.index[~(np.isfinite(price) & (price > 0))].tolist()
    table["price"] = price
    if bad:
        raise DataError(f"{path}: price missing, zero or negative for {bad[:10]}")
    if "lot_size" in table:
        lots = pd.to_numeric(table["lot_size"], errors="coerce")
        bad = table.index[~(np.isfinite(lots) & (lots >= 1) & (lots == np.round(lots)))].tolist()
        if bad:
            raise DataError(f"{path}: lot_size must be a whole number ≥ 1; not for {bad[:10]}")
        table["lot_size"] = lots.astype(np.int64)
    else:
        table["lot_size"] = np.int64(1)
    for column, checker in _CHECKERS.items():
        if column in table:
            table[column] = [_checked(path, column, checker, asset, value) for asset, value in table[column].items()]
    return table


def _checked(path, column, checker, asset, value):
    if value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == "":
        return None
    text = str(value).strip()
    try:
        return checker.validate(text)
    except ValidationError as err:
        raise DataError(f"{path}: {column.upper()} {text!r} of {asset} is invalid ({err})") from None


def _read(path: str | Path, required: tuple[str, ...], role: str) -> pd.DataFrame:
    table = read_table(Path(path), role, text_columns=("asset_id", *IDENTIFIER_PREFERENCE))
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}; found {list(table.columns)}")
    table["asset_id"] = table["asset_id"].astype(str)
    duplicated = table["asset_id"][table["asset_id"].duplicated()].unique().tolist()
    if duplicated:
        raise DataError(f"{path}: duplicate asset_id(s) {duplicated[:10]}")
    return table


def pick_identifier(master: pd.DataFrame, wanted: str | None) -> str:
    """The identifier column orders carry: ``wanted`` if given (must exist), else the preferred one present."""
    present = [c for c in IDENTIFIER_PREFERENCE if c in master.columns]
    if wanted is not None:
        if wanted.lower() not in master.columns:
            raise DataError(f"identifier {wanted!r} is not a column of the security master; present: {present}")
        return wanted.lower()
    return present[0] if present else "asset_id"
