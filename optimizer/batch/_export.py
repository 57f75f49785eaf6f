"""``trimtab export`` on a batch directory: each account's orders, and the desk's block orders.

For every account whose result is finished (its recorded input hash is the one the batch's
job, data and tables give today), the account's target becomes whole-lot orders exactly as
``trimtab export`` makes them for one run — its shares from the holdings table, its cash and
NAV from the batch, its rules re-checked on the rounded portfolio *with the account's own
overrides and exclusions* — and the accounts' orders are netted into one block per asset and
side with per-account allocations (:func:`trimtab.optimizer.export.block_orders`). Accounts
that failed in the batch are not traded (``skipped``); an account whose orders cannot be
made (not enough cash, a rule that rounding to lots breaks) fails alone (``failed``) and is
left out of the blocks. Everything is computed before anything is written.

A tax-aware batch (a ``taxes`` section, the accounts' lots table) exports like a tax-aware
run: each account's sell orders name the lots they sell (its ``lots.csv`` and ``orders.json``),
allocated from the account's lots and its ``lots_sold.csv`` (``trimtab.optimizer.export``'s
rule); the account's lots must add up to its holdings. The rules on lots (``realized_gain``,
``harvested_loss``) are not re-measured on the rounded lots here (the weights' rules are).

The export package is imported inside the functions: solving a batch never loads it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trimtab.constraints import Restricted, load_job

from .. import ROUNDING_TOLERANCE, ExportError, TrimtabError
from ._lots import lots_source, placeholder_lots, prepare_house, read_account_lots
from ._plan import AccountPlanner, batch_job
from ._shipping import data_sha256
from ._store import account_dir, finished_summary, read_batch_record
from ._tables import read_account_holdings, read_accounts


@dataclass(frozen=True)
class BatchExport:
    """What :func:`export_batch` wrote.

    Attributes
    ----------
    accounts : dict of str to OrderBatch
        Each exported account's orders.
    blocks : BlockOrders
        The block orders and their allocations.
    written : dict of str to Path
        Account id → its batch folder; ``"BLOCK"`` → the block batch folder.
    skipped : dict of str to str
        Accounts not traded because the batch has no finished result for them, and why.
    failed : dict of str to str
        Accounts whose orders could not be made (not enough cash, a rule rounding breaks), and why.
    """

    accounts: dict[str, Any]
    blocks: Any
    written: dict[str, Path]
    skipped: dict[str, str]
    failed: dict[str, str]


def export_batch(
    batch_dir: str | Path,
    prices: str | Path,
    out_dir: str | Path,
    *,
    holdings: str | Path | None = None,
    accounts: str | Path | None = None,
    formats: tuple[str, ...] = ("csv",),
    mapping: str | Path | None = None,
    check: bool = True,
    force: bool = False,
    cash_buffer: float = 0.0,
    min_trade_shares: int = 0,
    min_trade_notional: float = 0.0,
    tolerance: float = ROUNDING_TOLERANCE,
    identifier: str | None = None,
    journal_dir: str | Path | None = None,
    lots: str | Path | None = None,
) -> BatchExport:
    """Write every finished account's orders and the block orders of a batch directory.

    Parameters
    ----------
    batch_dir : path
        A directory written by ``trimtab batch``.
    prices : path
        The security master (``asset_id, price`` [, ``lot_size``, identifiers]).
    out_dir : path
        Accounts go to ``out_dir/accounts/<account_id>/<batch_id>/``, the blocks to
        ``out_dir/<block batch id>/`` (with ``allocations.csv``).
    holdings, accounts, lots : path, optional
        The batch's holdings (in shares), accounts and (tax-aware) lots tables; default: the
        files the batch recorded. Each must be unchanged since the batch (SHA-256 checked).
    formats, mapping, force, journal_dir
        As for ``trimtab export`` (``fix`` writes the blocks with NoAllocs).
    check : bool
        Re-check each account's hard rules (its overrides and exclusions included) on its
        rounded portfolio.
    cash_buffer, min_trade_shares, min_trade_notional, tolerance, identifier
        Order settings, as for ``trimtab export``, the same for every account.

    Raises
    ------
    ExportError
        A changed job or table, holdings in weights, an account that cannot be exported —
        naming the file or account; nothing is written then.
    """
    from ..export import (
        ExportLots,
        block_orders,
        build_orders,
        load_mapping,
        read_run_with_lots,
        read_security_master,
        write_blocks,
    )

    record = read_batch_record(batch_dir)
    job = _recorded_job(record)
    table = read_accounts(_recorded(accounts, record, "accounts_file", "accounts"))
    book = read_account_holdings(_recorded(holdings, record, "holdings_file", "holdings"), table)
    if book.form != "shares":
        raise ExportError(f"{book.source}: holdings are weights; orders need shares (account_id, asset_id, shares)")
    lot_table = None
    if job.taxes is not None:
        lot_table = read_account_lots(lots_source(job, _recorded(lots, record, "lots_file", "lots")), table)
    prepared = prepare_house(batch_job(job, table))
    digest = data_sha256(prepared.data)
    if digest != record.get("data_sha256"):
        raise ExportError(f"{batch_dir}: the job's market data or risk model changed since the batch (data hash "
                          f"{digest[:12]}… ≠ {str(record.get('data_sha256'))[:12]}…); run the batch again first")
    planner = AccountPlanner(prepared, table, book, digest, lot_table)
    master = read_security_master(prices)
    check_for = _AccountChecks(prepared, planner) if check else None
    hashes = {"accounts": table.sha256, "holdings": book.sha256, "prices": _sha256(prices)}
    if lot_table is not None:
        hashes["lots"] = lot_table.sha256
    excluded_by_job = frozenset(a for c in job.constraints if isinstance(c, Restricted) for a in c.assets)
    orders, skipped, failed = {}, {}, {}
    for row in table.accounts:
        task, facts = planner.plan(row)
        if task is None or finished_summary(Path(batch_dir), row.account_id, facts.input_sha256) is None:
            status = record["accounts"].get(row.account_id, {}).get("status", "not in the batch")
            skipped[row.account_id] = f"no finished result for its current inputs (batch status: {status})"
            continue
        mine = book.of(row.account_id)
        shares = pd.Series(mine.values, index=pd.Index(mine.assets, name="asset_id"), dtype=float)
        if not np.all(shares == np.round(shares)):
            raise ExportError(f"{book.source}: account {row.account_id} holds fractional shares; orders need whole shares")
        try:
            target, sold = read_run_with_lots(account_dir(Path(batch_dir), row.account_id))
            if (sold is None) != (task.lots is None):
                raise ExportError(f"account {row.account_id}: its result and the batch disagree on tax lots; run the "
                                  "batch again")
            account_lots = ExportLots.make(task.lots, sold.sold, recheck=False) if task.lots is not None else None
            orders[row.account_id] = build_orders(
                target, shares.astype(np.int64), master,
                check=check_for.account(task) if check_for else None, cash=facts.cash or 0.0, nav=facts.nav,
                min_trade_shares=min_trade_shares, min_trade_notional=min_trade_notional, cash_buffer=cash_buffer,
                tolerance=tolerance, identifier=identifier, portfolio_id=row.account_id, input_hashes=hashes,
                excluded=excluded_by_job | frozenset(facts.restricted), lots=account_lots,
            )
        except TrimtabError as err:
            failed[row.account_id] = str(err)
    if not orders:
        raise ExportError(f"{batch_dir}: no account could be exported ({len(skipped)} without a finished result, "
                          f"{len(failed)} failed" + (f"; e.g. {next(iter(failed))}: {next(iter(failed.values()))}"
                                                     if failed else "") + ")")
    blocks = block_orders(list(orders.values()))
    layout = load_mapping(mapping) if mapping is not None else None
    written = write_blocks(blocks, list(orders.values()), out_dir, formats, mapping=layout, force=force,
                           journal_dir=journal_dir)
    return BatchExport(orders, blocks, written, skipped, failed)


class _AccountChecks:
    """One :class:`PortfolioCheck` of the batch job, switched to each account's overrides."""

    def __init__(self, prepared, planner: AccountPlanner) -> None:
        from ..export import PortfolioCheck

        class AccountCheck(PortfolioCheck):
            overrides: dict = {}

            def use_book(self, current_weights: np.ndarray) -> None:
                super().use_book(current_weights)
                parameters = self.problem.context.parameters
                for name, value in self.overrides.items():
                    parameters[name].value = np.asarray(value, dtype=float).reshape(parameters[name].shape)

        data = prepared.data
        lots = placeholder_lots(prepared.job, data.snapshot) if prepared.job.taxes is not None else None
        self._check = AccountCheck(prepared.job, snapshot=data.snapshot, risk_model=data.risk_model, lots=lots)

    def account(self, task) -> Any:
        """The check with ``task``'s parameter overrides (exclusions included)."""
        self._check.overrides = dict(task.overrides)
        return self._check


def _recorded_job(record: dict):
    source = (record.get("job") or {}).get("source")
    if not source or not Path(source).is_file():
        raise ExportError(f"the batch's job file {source!r} is not found; a batch run from a job in memory cannot be "
                          "exported from its directory")
    job = load_job(source)
    if job.sha256 != record["job"].get("sha256"):
        raise ExportError(f"job file {source} changed since the batch (sha256 {job.sha256[:12]}… ≠ "
                          f"{str(record['job'].get('sha256'))[:12]}…); run the batch again first")
    return job


def _recorded(given: str | Path | None, record: dict, key: str, role: str) -> Path:
    entry = record.get(key) or {}
    path = Path(given) if given is not None else (Path(entry["path"]) if entry.get("path") else None)
    if path is None:
        raise ExportError(f"the batch does not record its {role} file (it was given in memory); pass it")
    if entry.get("sha256") and _sha256(path) != entry["sha256"]:
        raise ExportError(f"{role} file {path} is not the one the batch read (SHA-256 differs); run the batch again "
                          "with it first")
    return path


def _sha256(path: str | Path) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as err:
        raise ExportError(f"cannot read {path}: {err.strerror}") from None
