"""Tax lots of many accounts: one lots table with ``account_id``, split and checked per account.

With a job that has a ``taxes`` section, each account's lots drive its tax-aware solve. The
lots table (``--lots``, or the job's ``taxes.lots``) is the single-job lots file with an
``account_id`` column: ``account_id, lot_id, asset_id, shares, cost_basis, acquired``. The
core optimizes one account's lots per problem, so the batch splits the table and gives each
account its own :class:`~trimtab.models.TaxLots`.

A problem with the table as a whole — a missing column, a blank account id, lots of an account
the accounts table does not list — raises :class:`DataError` naming the file, the row and the
value (as the holdings table does). A problem with one account's lots — none at all, a blank or
duplicate ``lot_id``, a bad number or date, an asset not in the universe, a date after the
as-of date, lots whose shares do not add up to the account's holdings — makes that account
fail alone, with the file, row and value in its row of ``batch.csv``. Rows are counted as in a
spreadsheet: the header is row 1.

The house problem (what the planner checks overrides against, and what an export re-checks
rules with) is compiled once with :func:`placeholder_lots` — one lot per name the job's own
data hold, at no gain — so rules on lots build; no account is solved with it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from trimtab.constraints import JobSpec
from trimtab.models import DataError, MarketSnapshot, TaxLots, in_index

from .. import PreparedProblem, load_market_data, prepare
from ._tables import AccountsTable, HoldingsTable, _frame, texts

#: Columns of the batch's lots table.
LOTS_COLUMNS = ("account_id", "lot_id", "asset_id", "shares", "cost_basis", "acquired")

#: The lots of a name may differ from its shares held by this much (float round-off).
SHARE_EPSILON = 1e-6

#: The NAV (USD) of the placeholder lots when the job's taxes section gives none.
PLACEHOLDER_NAV = 1e9


@dataclass(frozen=True)
class AccountLots:
    """One account's rows of the lots table, cells as read, with their row numbers."""

    frame: pd.DataFrame
    rows: np.ndarray


@dataclass(frozen=True)
class LotsTable:
    """The batch's lots table, grouped by account.

    Attributes
    ----------
    source : str
        The file (or ``lots (DataFrame)``).
    accounts : mapping of str to AccountLots
    sha256 : str
        SHA-256 of the file's bytes ("" for a DataFrame).
    """

    source: str
    accounts: Mapping[str, AccountLots]
    sha256: str = ""

    def of(self, account_id: str) -> AccountLots | None:
        """The account's lots (None: the table has none)."""
        return self.accounts.get(account_id)

    def hash_rows(self, account_id: str) -> list[list[str]]:
        """The account's lots as text, sorted (for its input hash)."""
        mine = self.of(account_id)
        if mine is None:
            return []
        cells = mine.frame[list(LOTS_COLUMNS[1:])].astype(str).to_numpy().tolist()
        return sorted(cells)


def lots_source(job: JobSpec, lots: str | Path | pd.DataFrame | None) -> str | Path | pd.DataFrame | None:
    """The lots table of a batch: ``lots`` if given, else the job's ``taxes.lots`` (None without either).

    Raises
    ------
    DataError
        Lots given for a job without a ``taxes`` section, or a tax job with recent trades
        (per-account trades are not supported in a batch yet).
    """
    if job.taxes is None:
        if lots is not None:
            raise DataError(f"lots were given but the job {job.source} has no taxes section: add one (taxes: {{}}) for a "
                            "tax-aware batch")
        return None
    if job.taxes.trades:
        raise DataError(f"{job.source}: taxes.trades: recent trades (the wash-sale look-back) are not supported in a "
                        "batch yet: remove them from the job, or run the accounts one by one")
    if lots is None and job.taxes.lots:
        return job.resolve(job.taxes.lots)
    if lots is None:
        raise DataError(f"{job.source} is tax-aware (taxes section) but no lots table was given: pass --lots FILE "
                        f"(columns {', '.join(LOTS_COLUMNS)}) or set taxes.lots in the job")
    return lots


def read_account_lots(lots: str | Path | pd.DataFrame, accounts: AccountsTable) -> LotsTable:
    """Read the lots table and group it by account; see the module docstring.

    Raises
    ------
    DataError
        Missing columns, a blank account id, or lots of an account the accounts table does
        not list — naming the file, the row and the value.
    """
    frame, source, digest, first = _frame(lots, "lots", ("account_id", "lot_id", "asset_id"))
    missing = [c for c in LOTS_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {missing}; a batch's lots table has {list(LOTS_COLUMNS)} "
                        f"(found {list(frame.columns)[:20]})")
    account = texts(frame["account_id"])
    listed = {a.account_id for a in accounts.accounts}
    for i, value in enumerate(account):
        if not value:
            raise DataError(f"{source} row {first + i}: account_id is blank; every lot names its account")
        if value not in listed:
            raise DataError(f"{source} row {first + i}: account_id {value!r} is not in the accounts table "
                            f"({accounts.source}); give the lots of the batch's accounts only")
    rows = np.arange(len(frame)) + first
    grouped = pd.Series(np.arange(len(frame))).groupby(account.to_numpy(), sort=False).indices
    by_account = {a: AccountLots(frame.iloc[i].reset_index(drop=True), rows[i]) for a, i in grouped.items()}
    return LotsTable(source, by_account, digest)


def account_lots(
    table: LotsTable,
    account_id: str,
    snapshot: MarketSnapshot,
    holdings: HoldingsTable,
    problems: list[str],
) -> TaxLots | None:
    """The account's checked :class:`TaxLots`, or None with what is wrong added to ``problems``.

    Cells are checked with their file rows (blank or duplicate ``lot_id``, shares > 0, cost
    basis ≥ 0, dates, assets in the universe, nothing acquired after the as-of date), then —
    with holdings in shares — that each name's lots add up to its shares held, exactly.
    """
    mine = table.of(account_id)
    where = f"{table.source} row {{}} (account {account_id})"
    if mine is None:
        problems.append(f"{table.source}: no lots for account {account_id}; a tax-aware job needs each account's lots "
                        f"(the table has lots of {len(table.accounts)} account(s))")
        return None
    frame, rows, found = mine.frame, mine.rows, []
    lot_id, asset = texts(frame["lot_id"]), texts(frame["asset_id"])
    for column, values in (("lot_id", lot_id), ("asset_id", asset)):
        found += [f"{where.format(rows[i])}: {column} is blank" for i in np.flatnonzero(values == "")[:5]]
    twice = lot_id.duplicated() & (lot_id != "")
    for i in np.flatnonzero(twice)[:5]:
        first = rows[np.flatnonzero(lot_id == lot_id[i])[0]]
        found.append(f"{where.format(rows[i])}: lot_id {lot_id[i]!r} is listed twice (also row {first})")
    shares, basis = _numbers(frame["shares"]), _numbers(frame["cost_basis"])
    for column, values, ok, rule in (("shares", shares, shares > 0, "a positive number of shares"),
                                     ("cost_basis", basis, basis >= 0, "a cost basis ≥ 0 (USD per share)")):
        for i in np.flatnonzero(~ok)[:5]:
            found.append(f"{where.format(rows[i])} (lot_id {lot_id[i]!r}): {column} {frame[column].iloc[i]!r} — must be {rule}")
    acquired = pd.to_datetime(frame["acquired"], errors="coerce")
    as_of = pd.Timestamp(snapshot.as_of).normalize()
    for i in np.flatnonzero(acquired.isna().to_numpy())[:5]:
        found.append(f"{where.format(rows[i])} (lot_id {lot_id[i]!r}): acquired {frame['acquired'].iloc[i]!r} is not a date")
    for i in np.flatnonzero((acquired.dt.normalize() > as_of).to_numpy())[:5]:
        found.append(f"{where.format(rows[i])} (lot_id {lot_id[i]!r}): acquired {acquired.iloc[i].date()} is after the "
                     f"as-of date {as_of.date()}")
    known = in_index(asset, snapshot.asset_ids)
    for i in np.flatnonzero(~known & (asset != "").to_numpy())[:5]:
        found.append(f"{where.format(rows[i])} (lot_id {lot_id[i]!r}): asset_id {asset[i]!r} is not in the job's universe")
    if not found and holdings.form == "shares":
        found += _adds_up(table.source, rows, asset, shares, holdings, account_id)
    if found:
        problems.extend(found)
        return None
    clean = pd.DataFrame({"lot_id": lot_id, "asset_id": asset, "shares": shares, "cost_basis": basis,
                          "acquired": acquired.dt.normalize(), "account_id": account_id})
    try:
        return TaxLots(clean, source=f"lots file {table.source} (account {account_id})")
    except DataError as err:  # a rule of the core's this check does not know
        problems.append(f"{table.source} (account {account_id}): {err}")
        return None


def _adds_up(source: str, rows: np.ndarray, asset: pd.Series, shares: np.ndarray, holdings: HoldingsTable,
             account_id: str) -> list[str]:
    """Each name's lots against its shares held (the account's holdings rows), exactly."""
    mine = holdings.of(account_id)
    held = pd.Series(mine.values, index=pd.Index(mine.assets, dtype=object)).groupby(level=0).sum()
    in_lots = pd.Series(shares, index=pd.Index(asset.to_numpy(), dtype=object)).groupby(level=0).sum()
    names = in_lots.index.union(held.index[held != 0])
    lot_shares, held_shares = in_lots.reindex(names, fill_value=0.0), held.reindex(names, fill_value=0.0)
    off = names[np.abs(lot_shares.to_numpy() - held_shares.to_numpy()) > SHARE_EPSILON]
    found = []
    for name in off[:5]:
        lot_rows = rows[(asset == name).to_numpy()]
        held_rows = mine.rows[mine.assets == name]
        found.append(
            f"{source} rows {_rows(lot_rows)} (account {account_id}): the lots of {name} hold {_shares(lot_shares[name])} "
            f"shares, the holdings ({holdings.source} rows {_rows(held_rows)}) {_shares(held_shares[name])}; the lots "
            "must add up to the shares held"
        )
    if len(off) > 5:
        found.append(f"{source} (account {account_id}): … and {len(off) - 5} more name(s) whose lots do not add up")
    return found


def _shares(value: float) -> str:
    """``1,234`` for whole shares, ``1,234.5`` otherwise."""
    return f"{value:,.0f}" if value == round(value) else f"{value:,.6f}".rstrip("0")


def _rows(rows: np.ndarray) -> str:
    if len(rows) == 0:
        return "none"
    shown = ", ".join(str(int(r)) for r in rows[:5])
    return shown + (" …" if len(rows) > 5 else "")


def _numbers(column: pd.Series) -> np.ndarray:
    """Finite numbers (NaN for a blank, non-numeric or infinite cell; true/false is not a number)."""
    if pd.api.types.is_bool_dtype(column.dtype):
        return np.full(len(column), np.nan)
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    return np.where(np.isfinite(values), values, np.nan)


def placeholder_lots(job: JobSpec, snapshot: MarketSnapshot) -> TaxLots:
    """One lot per name the snapshot holds, bought at today's price two years ago: no gain, long-term.

    Its shares are the holdings at the job's ``taxes.nav`` (default :data:`PLACEHOLDER_NAV`), so
    they add up to the holdings exactly.
    """
    nav = job.taxes.nav if job.taxes is not None and job.taxes.nav is not None else PLACEHOLDER_NAV
    price = snapshot.assets["price"].to_numpy(dtype=float)
    weights = snapshot.holdings.to_numpy(dtype=float)
    held = (weights > 0) & np.isfinite(price) & (price > 0)
    ids = snapshot.asset_ids[held]
    frame = pd.DataFrame({
        "lot_id": ids, "asset_id": ids, "shares": weights[held] * nav / price[held], "cost_basis": price[held],
        "acquired": pd.Timestamp(snapshot.as_of).normalize() - pd.DateOffset(years=2),
    })
    return TaxLots(frame, source="placeholder lots of the house problem (one per held name, no gain)")


def prepare_house(job: JobSpec) -> PreparedProblem:
    """The batch job prepared once: data, risk model, compiled problem (with placeholder lots for a tax job)."""
    if job.taxes is None:
        return prepare(job)
    snapshot = load_market_data(job)
    return prepare(job, snapshot=snapshot, lots=placeholder_lots(job, snapshot))


def account_hash(table: LotsTable | None, account_id: str) -> dict[str, object]:
    """What an account's input hash adds for its lots (nothing without a lots table)."""
    if table is None:
        return {}
    rows = table.hash_rows(account_id)
    return {"lots": hashlib.sha256(json.dumps(rows).encode()).hexdigest()}


def lots_record(table: LotsTable | None) -> dict[str, object]:
    """``batch.json``'s ``lots_file`` entry (nothing without a lots table)."""
    if table is None:
        return {}
    path = Path(table.source)
    return {"lots_file": {"path": str(path.resolve()) if path.is_file() else None, "sha256": table.sha256}}


