"""The batch's two input tables, read and checked cell by cell: accounts and their holdings.

Accounts table (CSV or Parquet, one row per account)
    ``account_id`` (required; letters, digits, ``.``, ``_``, ``-``: it names the account's
    folder), ``cash`` (USD) or ``nav`` (USD), ``restricted`` (asset ids the account may not
    hold, separated by ``;``, ``,`` or spaces; a list column in Parquet), and any number of
    override columns ``<rule name>.<field>`` (``mag7_cap.max``): a blank cell keeps the job's
    value. Which override columns are valid depends on the job (see ``_plan``).
Holdings table (long: one row per account and asset)
    ``account_id, asset_id`` and either ``shares`` (valued at the data's prices) or ``weight``
    (fraction of the account's NAV).

A problem with a table as a whole — a missing column, a duplicate or unsafe account id, a
holdings row for an account the accounts table does not list — raises :class:`DataError`
naming the file, the row and the value. A problem with one account's own cells (an unknown
asset, a negative or duplicate holding, a bad number) is kept with that account, which then
fails alone while the others run. Rows are counted as in a spreadsheet: the header is row 1.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from trimtab.models import DataError, only_strings, read_table

#: What an account id may contain: it is the name of the account's folder.
ACCOUNT_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")

#: Columns of the accounts table that are not rule overrides.
ACCOUNT_COLUMNS = ("account_id", "cash", "nav", "restricted")

#: The fields of a named rule an accounts column may override.
OVERRIDE_FIELDS = ("min", "max", "target")

_SEPARATORS = re.compile(r"[;,\s]+")


@dataclass(frozen=True)
class AccountRow:
    """One account as its row of the accounts table says, cells parsed but not yet checked against the job.

    Attributes
    ----------
    account_id : str
    where : str
        ``accounts.csv row 7``: the file and row, for messages.
    cash, nav : float or None
        USD; ``None`` when blank.
    restricted : tuple of str
        Asset ids the account may not hold.
    overrides : tuple of (str, float)
        ``(column, value)`` for each non-blank override cell, in column order.
    problems : tuple of str
        What is wrong with the account's own cells ("" when nothing): the account fails alone.
    """

    account_id: str
    where: str
    cash: float | None
    nav: float | None
    restricted: tuple[str, ...]
    overrides: tuple[tuple[str, float], ...]
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccountHoldings:
    """One account's rows of the holdings table.

    Attributes
    ----------
    assets : np.ndarray of str
        Asset ids, in file order.
    values : np.ndarray of float
        Shares or weights (NaN where the cell is missing or not a number).
    rows : np.ndarray of int
        Each row's number in the file (header = row 1).
    """

    assets: np.ndarray
    values: np.ndarray
    rows: np.ndarray

    def sorted_items(self) -> list[tuple[str, float]]:
        """``(asset_id, value)`` sorted by asset id (for hashing)."""
        order = np.argsort(self.assets, kind="stable")
        return list(zip(self.assets[order].tolist(), self.values[order].tolist()))


#: An account without holdings rows: all cash.
NO_HOLDINGS = AccountHoldings(np.array([], dtype=object), np.array([], dtype=float), np.array([], dtype=int))


@dataclass(frozen=True)
class HoldingsTable:
    """The holdings table, grouped by account.

    Attributes
    ----------
    source : str
        The file (or ``holdings (DataFrame)``).
    form : {"shares", "weight"}
        What the numbers are: shares, or fractions of the account's NAV.
    accounts : mapping of str to AccountHoldings
        Each account's rows.
    sha256 : str
        SHA-256 of the file's bytes ("" for a DataFrame).
    """

    source: str
    form: str
    accounts: Mapping[str, AccountHoldings]
    sha256: str = ""

    def of(self, account_id: str) -> AccountHoldings:
        """The account's rows (none: all cash)."""
        return self.accounts.get(account_id, NO_HOLDINGS)


@dataclass(frozen=True)
class AccountsTable:
    """The accounts table: its rows and its override columns.

    Attributes
    ----------
    source : str
        The file (or ``accounts (DataFrame)``).
    accounts : tuple of AccountRow
        In file order.
    override_columns : tuple of str
        The ``<rule name>.<field>`` columns, in file order.
    sha256 : str
        SHA-256 of the file's bytes ("" for a DataFrame).
    """

    source: str
    accounts: tuple[AccountRow, ...]
    override_columns: tuple[str, ...]
    sha256: str = ""


def read_accounts(accounts: str | Path | pd.DataFrame) -> AccountsTable:
    """Read the accounts table (CSV, Parquet or a DataFrame); see the module docstring.

    Raises
    ------
    DataError
        No ``account_id`` column, a column that is neither an account column nor an override,
        a blank, unsafe or duplicate account id — naming the file, row and value. A bad cell
        of one account (both ``cash`` and ``nav``, a negative cash, a value that is not a
        number) is kept in that account's ``problems``.
    """
    frame, source, digest, first = _frame(accounts, "accounts", ("account_id", "restricted"))
    if "account_id" not in frame.columns:
        raise DataError(f"{source}: no 'account_id' column (columns: {list(frame.columns)[:20]})")
    overrides = tuple(c for c in frame.columns if c not in ACCOUNT_COLUMNS)
    for column in overrides:
        rule, dot, field = column.rpartition(".")
        if not dot or not rule or field not in OVERRIDE_FIELDS:
            raise DataError(
                f"{source}: column {column!r} is neither one of {list(ACCOUNT_COLUMNS)} nor a rule override "
                f"'<rule name>.<field>' with field one of {list(OVERRIDE_FIELDS)} (e.g. 'mag7_cap.max')"
            )
    ids = [_account_id(frame["account_id"].iloc[i], f"{source} row {first + i}") for i in range(len(frame))]
    _no_duplicates(ids, source, first)
    numbers = {c: _numbers(frame[c]) for c in ("cash", "nav", *overrides) if c in frame.columns}
    restricted = frame["restricted"].tolist() if "restricted" in frame.columns else [None] * len(frame)
    rows = [_account_row(account, f"{source} row {first + i}", {c: (v[0][i], v[1][i]) for c, v in numbers.items()},
                         overrides, _asset_list(restricted[i]))
            for i, account in enumerate(ids)]
    return AccountsTable(source, tuple(rows), overrides, digest)


def _account_row(account_id: str, where: str, cells: dict[str, tuple[float | None, str | None]],
                 overrides: tuple[str, ...], restricted: tuple[str, ...]) -> AccountRow:
    """One account's row from its parsed cells (``column → (value, raw text if not a number)``)."""
    problems: list[str] = []

    def cell(column: str) -> float | None:
        value, raw = cells.get(column, (None, None))
        if raw is not None:
            problems.append(f"{where} (account {account_id}): {column} = {raw!r} is not a finite number")
        return None if value is None or math.isnan(value) else value

    cash, nav = cell("cash"), cell("nav")
    if cash is not None and nav is not None:
        problems.append(f"{where} (account {account_id}): give cash ({cash:g}) or nav ({nav:g}), not both")
    if cash is not None and cash < 0:
        problems.append(f"{where} (account {account_id}): cash = {cash:g} is negative (borrowing is not supported)")
    if nav is not None and nav <= 0:
        problems.append(f"{where} (account {account_id}): nav = {nav:g} must be > 0 (USD)")
    values = tuple((c, v) for c in overrides if (v := cell(c)) is not None)
    return AccountRow(account_id, where, cash, nav, restricted, values, tuple(problems))


def read_account_holdings(holdings: str | Path | pd.DataFrame, accounts: AccountsTable) -> HoldingsTable:
    """Read the long holdings table (``account_id, asset_id, shares`` or ``weight``).

    Cells of one account that are bad (missing, negative or non-numeric values, an asset
    listed twice) stay with that account as problems (see :func:`holdings_problems`); the table as a whole must be
    well formed.

    Raises
    ------
    DataError
        Missing columns, both or neither of ``shares``/``weight``, a blank account or asset
        id, or a row for an account the accounts table does not list — naming file, row, value.
    """
    frame, source, digest, first = _frame(holdings, "holdings", ("account_id", "asset_id"))
    missing = [c for c in ("account_id", "asset_id") if c not in frame.columns]
    forms = [c for c in ("shares", "weight") if c in frame.columns]
    if missing or len(forms) != 1:
        both = "both" if forms else "neither"
        wanted = f"lacks column(s) {missing}" if missing else f"has {both} of 'shares' and 'weight'"
        raise DataError(
            f"{source}: {wanted}; the holdings table is long — account_id, asset_id and either shares (valued at "
            f"the data's prices) or weight (fraction of the account's NAV); columns: {list(frame.columns)[:20]}"
        )
    account = texts(frame["account_id"]).to_numpy(dtype=object)
    asset = texts(frame["asset_id"]).to_numpy(dtype=object)
    rows = np.arange(first, first + len(frame))
    for column, ids in (("account_id", account), ("asset_id", asset)):
        blank = np.flatnonzero(ids == "")
        if len(blank):
            raise DataError(f"{source} row {rows[blank[0]]}: blank {column}")
    unknown = np.flatnonzero(~pd.Index(account).isin([a.account_id for a in accounts.accounts]))
    if len(unknown):
        i = unknown[0]
        raise DataError(f"{source} row {rows[i]}: account_id {account[i]!r} is not in the accounts table {accounts.source}"
                        + (f" ({len(unknown)} rows name unknown accounts)" if len(unknown) > 1 else ""))
    values = pd.to_numeric(frame[forms[0]], errors="coerce").to_numpy(dtype=float)
    grouped = pd.Series(np.arange(len(frame))).groupby(account, sort=False).indices
    by_account = {a: AccountHoldings(asset[i], values[i], rows[i]) for a, i in grouped.items()}
    return HoldingsTable(source, forms[0], by_account, digest)


def holdings_problems(table: HoldingsTable, account_id: str) -> list[str]:
    """What is wrong with one account's holdings rows: duplicates, missing or negative values."""
    mine = table.of(account_id)
    problems = []
    where = f"{table.source} row {{}} (account {account_id})"
    twice = pd.Index(mine.assets).duplicated()
    for i in np.flatnonzero(twice)[:10]:
        first = mine.rows[np.flatnonzero(mine.assets == mine.assets[i])[0]]
        problems.append(f"{where.format(mine.rows[i])}: asset {mine.assets[i]!r} is listed twice (also row {first})")
    for i in np.flatnonzero(~np.isfinite(mine.values))[:10]:
        problems.append(f"{where.format(mine.rows[i])}: {table.form} of {mine.assets[i]!r} is missing or not a "
                        "finite number")
    for i in np.flatnonzero(mine.values < 0)[:10]:
        problems.append(f"{where.format(mine.rows[i])}: {table.form} of {mine.assets[i]!r} = {mine.values[i]:g} is "
                        "negative (short holdings are not supported)")
    return problems


# -- cells ---------------------------------------------------------------------------------
def _frame(table: str | Path | pd.DataFrame, role: str, text: tuple[str, ...]) -> tuple[pd.DataFrame, str, str, int]:
    """(frame, source for messages, SHA-256 of the file, row number of the first data row)."""
    if isinstance(table, pd.DataFrame):
        frame = table.reset_index(drop=True).copy()
        frame.columns = [str(c).strip() for c in frame.columns]
        return frame, f"{role} (DataFrame)", "", 1
    path = Path(table)
    frame = read_table(path, role, text_columns=text)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return frame.reset_index(drop=True), str(path), digest, 2


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def texts(values: pd.Series) -> pd.Series:
    """:func:`_text` of every cell; one vectorized strip when every cell is a string (a text column as read)."""
    if only_strings(values) and not values.isna().any():
        stripped = values.str.strip().to_numpy(dtype=object)
        return pd.Series(stripped, index=values.index, name=values.name)  # the dtype ``map`` infers
    return values.map(_text)


def _account_id(value: object, where: str) -> str:
    text = _text(value)
    if not ACCOUNT_ID.fullmatch(text):
        raise DataError(
            f"{where}: account_id {text!r} is not a valid account id (1–128 letters, digits, '.', '_', '-', "
            "not starting with '.' or '-'): it names the account's folder"
        )
    return text


def _no_duplicates(ids: list[str], source: str, first: int) -> None:
    seen: dict[str, int] = {}
    for i, account in enumerate(ids):
        if account in seen:
            raise DataError(f"{source} row {first + i}: account_id {account!r} is listed twice (also row {seen[account]})")
        seen[account] = first + i


def _numbers(column: pd.Series) -> tuple[list[float | None], list[str | None]]:
    """(values, raw text of each bad cell or None): blank → None; not a finite number → raw text."""
    values: list[float | None] = []
    bad: list[str | None] = []
    for cell in column.tolist():
        if cell is None or (isinstance(cell, float) and math.isnan(cell)) or (isinstance(cell, str) and not cell.strip()):
            values.append(None)
            bad.append(None)
            continue
        try:
            value = float(cell)
        except (TypeError, ValueError):
            values.append(None)
            bad.append(str(cell))
            continue
        values.append(value)
        bad.append(None if math.isfinite(value) else str(cell))
    return values, bad


def _asset_list(cell: object) -> tuple[str, ...]:
    """The asset ids of a ``restricted`` cell: a list (Parquet) or text split on ``;``, ``,`` or spaces."""
    if isinstance(cell, (list, tuple, np.ndarray)):
        return tuple(t for t in (_text(v) for v in cell) if t)
    text = _text(cell)
    return tuple(t for t in _SEPARATORS.split(text) if t) if text else ()
