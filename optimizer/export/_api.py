"""One call from a run directory (or a result) and the desk's files to a written batch."""

from __future__ import annotations

import hashlib
from pathlib import Path

from trimtab.constraints import Restricted
from trimtab.models import TaxLots, read_tax_lots

from .. import (
    ROUNDING_TOLERANCE,
    ExportError,
    OutputError,
    RunTarget,
    TargetPortfolio,
)
from ._check import PortfolioCheck
from ._files import Mapping, load_mapping, write_batch
from ._fix import write_fix_bytes
from ._inputs import read_holdings, read_security_master
from ._journal import replace_guard
from ._lots import export_lots, portfolio_lots, read_run_with_lots
from ._schema import OrderBatch
from ._trades import build_orders, check_order_settings

_SETTING_DEFAULTS = {"cash": 0.0, "nav": None, "cash_buffer": 0.0, "min_trade_shares": 0, "min_trade_notional": 0.0,
                     "tolerance": ROUNDING_TOLERANCE, "portfolio_id": "PORTFOLIO"}


def export_run(
    run: str | Path | TargetPortfolio,
    holdings: str | Path,
    prices: str | Path,
    out_dir: str | Path,
    *,
    formats: tuple[str, ...] = ("csv",),
    mapping: str | Path | Mapping | None = None,
    check: bool = True,
    force: bool = False,
    fix_style: str = "single",
    journal_dir: str | Path | None = None,
    lots: str | Path | TaxLots | None = None,
    **order_options,
) -> tuple[OrderBatch, Path]:
    """Orders for a run, written as a batch: ``(batch, batch directory)``.

    Parameters
    ----------
    run : path or TargetPortfolio
        A run directory from ``trimtab optimize``, or a result in memory.
    holdings, prices : path
        Current shares (``asset_id, shares``) and the security master (``asset_id, price``,
        optional ``lot_size`` and identifier columns), CSV or Parquet.
    out_dir : path
        The batch goes to ``out_dir/<batch_id>/``.
    formats : tuple of str
        Any of ``csv``, ``parquet``, ``json``, ``fix``. ``orders.json`` is always written too: it is the
        batch's canonical record, the one ``trimtab send`` reads back.
    mapping : path or Mapping, optional
        The OMS's CSV layout.
    check : bool
        Re-check the job's hard rules on the rounded portfolio (loads the job and its data).
    force : bool
        Overwrite a batch that was already exported — never one that was sent (or started sending):
        its journal (or a ``sends/`` record in the directory) says so, and the export is refused.
    fix_style : {"single", "list"}
        FIX NewOrderSingle per order, or one NewOrderList.
    journal_dir : path, optional
        Where send journals live (default ``<state dir>/journal``; see ``trimtab send``).
    lots : path or TaxLots, optional
        The tax lots of a tax-aware run (a run directory with ``lots_sold.csv``, or a result of a
        job with ``taxes``); default: the lots file the run read (unchanged since), or the
        embedded data's synthetic lots. Sell orders then name their lots (``lots.csv`` and each
        order's ``lots`` in ``orders.json``); the lots must add up to ``holdings``.
    **order_options
        Passed to :func:`build_orders` (cash, nav, lot rules, cash buffer, identifier, portfolio_id, tolerance).

    Raises
    ------
    DataError, ExportError, SpecError
        Bad inputs, naming the file, asset or rule, or a batch that was sent; nothing is written then.
    """
    check_order_settings(**{k: order_options.get(k, v) for k, v in _SETTING_DEFAULTS.items()})
    try:  # a run directory that cannot be read, or whose job changed, stops the export
        if isinstance(run, TargetPortfolio):
            target = RunTarget.from_portfolio(run)
            sold = portfolio_lots(run.diagnostics.taxes) if run.diagnostics.taxes is not None else None
        else:
            target, sold = read_run_with_lots(run)
        shares = read_holdings(holdings)
        master = read_security_master(prices)
        if isinstance(mapping, (str, Path)):
            mapping = load_mapping(mapping)
        job = target.job() if check or target.job_source else None
        given = read_tax_lots(lots) if isinstance(lots, (str, Path)) else lots
        tax_lots = export_lots(target, sold, job, given)
    except OutputError as error:
        raise ExportError(str(error)) from None
    excluded = frozenset(a for c in (job.constraints if job else ()) if isinstance(c, Restricted) for a in c.assets)
    hashes = {"holdings": _sha256(holdings), "prices": _sha256(prices)}
    if isinstance(lots, (str, Path)):
        hashes["lots"] = _sha256(lots)
    batch = build_orders(
        target, shares, master, check=PortfolioCheck(job, lots=given) if check else None, input_hashes=hashes,
        excluded=excluded, lots=tax_lots, **order_options,
    )
    fix_files: dict[str, bytes] = {}
    if "fix" in formats:
        fix_files["orders.fix"] = write_fix_bytes(batch, style=fix_style)
    files = tuple(dict.fromkeys((*(f for f in formats if f != "fix"), "json")))  # orders.json: the canonical record
    target_dir = Path(out_dir) / batch.batch_id
    if force and target_dir.exists():  # replacing: never a batch that was sent
        with replace_guard(batch.batch_id, target_dir, journal_dir):
            written = write_batch(batch, out_dir, files, mapping=mapping, fix_files=fix_files, force=force)
    else:
        written = write_batch(batch, out_dir, files, mapping=mapping, fix_files=fix_files, force=force)
    return batch, written


def _sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
