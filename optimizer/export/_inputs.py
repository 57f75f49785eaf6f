"""Reading and checking the desk's inputs: current holdings (shares) and the security master.

Holdings file: ``asset_id, shares`` — whole, non-negative shares, one row per asset.
Security master (the ``--prices`` file): ``asset_id, price`` and optionally ``lot_size``
(default 1) and identifier columns ``ticker``, ``cusip``, ``isin``, ``sedol``, ``figi``.
Identifiers are validated with python-stdnum (check digits). Each order carries the first
identifier present for its asset in :data:`IDENTIFIER_PREFERENCE` (ISIN, CUSIP, SEDOL, FIGI,
ticker); a blank cell is absent. ``identifier`` restricts the orders to one column. A security
master with no identifier column at all sends ``asset_id`` as the ticker.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from stdnum import cusip, figi, isin
from stdnum.exceptions import ValidationError
from stdnum.gb import sedol

from trimtab.models import DataError, read_table

from ._schema import MISSING_MARKERS

#: Identifier columns, the order in which one is picked when none is asked for.
IDENTIFIER_PREFERENCE: tuple[str, ...] = ("isin", "cusip", "sedol", "figi", "ticker")

#: Larger share counts are refused (they would overflow whole-share arithmetic).
MAX_SHARES = 1e15

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
    huge = table["asset_id"][shares > MAX_SHARES].tolist()
    if huge:
        raise DataError(f"{path}: share counts above {MAX_SHARES:.0e} for {huge[:10]} (not a real holding)")
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


def _present(value: object) -> str | None:
    """The identifier text, or None for a blank / NaN cell or a printed missing value (``nan``)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text = str(value).strip()
    return None if not text or text in MISSING_MARKERS else text


def order_identifiers(master: pd.DataFrame, asset_ids: list[str], wanted: str | None) -> tuple[list[str], list[str], list[str]]:
    """Per asset: (identifier types, identifier values, assets with none), in ``asset_ids`` order.

    Each asset gets the first identifier present in :data:`IDENTIFIER_PREFERENCE` (only ``wanted``'s
    column when given); an asset with none is listed in the third list (its type and value are ``""``).
    Without any identifier column (and ``wanted`` None) every asset is sent by its ``asset_id`` as a ticker.
    """
    columns = [wanted.lower()] if wanted is not None else [c for c in IDENTIFIER_PREFERENCE if c in master.columns]
    if not columns:
        return ["TICKER"] * len(asset_ids), [str(a) for a in asset_ids], []
    types, values, none = [], [], []
    for asset in asset_ids:
        row = master.loc[asset] if asset in master.index else None
        found = next(((c, v) for c in columns if row is not None and (v := _present(row.get(c))) is not None), None)
        if found is None:
            none.append(asset)
            types.append("")
            values.append("")
        else:
            types.append(found[0].upper())
            values.append(found[1])
    return types, values, none
