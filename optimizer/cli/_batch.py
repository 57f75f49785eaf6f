"""``trimtab batch``: rebalance many accounts under one job, on Dask; and the export of a batch directory.

At module level this imports only typer, rich and the standard library (like every command
module); the batch package — and pandas, CVXPY, Dask through it — is imported inside the
command.

Exit codes of ``trimtab batch``: 0 every account solved; 7 the batch completed but some
accounts failed (infeasible, solver failure, or bad data of their own — each row of
``batch.csv`` says why); 6 none failed but some stopped at a time limit (answers written,
optimality not proven); 2 bad job, data, table or output; 130 interrupted (Ctrl-C: finished
accounts are written — run the same command again to finish).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED_ACCOUNTS,
    EXIT_INTERRUPTED,
    EXIT_TIME_LIMIT,
    err,
    fail,
    out,
    safe,
    user_errors,
)

#: A batch that completed with failed accounts (README "Exit codes").


def batch_command(
    job_file: Annotated[Path, typer.Argument(help="Job file (YAML): the house rules.", show_default=False)],
    accounts: Annotated[
        Path, typer.Argument(help="Accounts table (CSV/Parquet): account_id, cash or nav, restricted, <rule>.<field>.",
                             show_default=False)
    ],
    holdings: Annotated[
        Path, typer.Argument(help="Holdings table (CSV/Parquet): account_id, asset_id, shares (or weight).",
                             show_default=False)
    ],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Batch directory (accounts/<id>/, batch.csv, batch.json).")]
    = Path("batch"),
    serial: Annotated[bool, typer.Option("--serial", help="Solve in this process, without Dask (identical results).")]
    = False,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Address of an existing Dask scheduler (tcp://host:8786).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="Workers of the local Dask cluster (default: one per core).")
    ] = None,
    chunk_size: Annotated[int | None, typer.Option("--chunk-size", min=1, help="Accounts per task (default: auto).")]
    = None,
    retries: Annotated[int, typer.Option("--retries", min=0, help="Re-runs of a task that failed or lost its worker.")]
    = 2,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    lots: Annotated[
        Path | None,
        typer.Option("--lots", help="Tax lots of the accounts (account_id, lot_id, asset_id, shares, cost_basis, acquired) "
                                    "for a job with a taxes section; default: the job's taxes.lots."),
    ] = None,
) -> None:
    """Rebalance every account of ACCOUNTS under JOB_FILE; write one run directory per account.

    Accounts already finished in --out with the same inputs are skipped, so re-running the
    same command after Ctrl-C (or a crash) finishes the batch. Exit 7 when some accounts
    failed (batch.csv says why), 0 when all were solved. With a tax-aware job (taxes section)
    each account's lots (--lots) drive its solve, and each account also gets lots_sold.csv.
    """
    if serial and scheduler is not None:
        err.print("[bold red]error (usage):[/] --serial and --scheduler exclude each other: pick one.", highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    from trimtab.optimizer.batch import run_batch

    try:
        run = run_batch(job_file, accounts, holdings, out_dir=out_dir, serial=serial, scheduler=scheduler,
                        n_workers=workers, chunk_size=chunk_size, retries=retries, progress=not quiet, lots=lots)
    except KeyboardInterrupt as stop:
        run = getattr(stop, "run", None)
        if run is None:
            err.print("interrupted before any account was solved; nothing was written.", highlight=False)
        else:
            done = int(run.frame["status"].isin(("ok", "time_limit")).sum())
            left = int((run.frame["status"] == "not_run").sum())
            err.print(f"interrupted: {done} accounts finished and written in {safe(out_dir)}, {left} not run "
                      "(batch.csv lists them); run the same command again to finish — finished accounts are "
                      "skipped.", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except user_errors() as error:
        raise fail(error) from None
    status = run.frame["status"]
    counts = ", ".join(f"{n} {s}" for s, n in status.value_counts().items())
    out.print(f"{len(status)} accounts: {safe(counts)}; {run.resumed} already finished, {run.solved} solved in "
              f"{run.seconds:.1f} s on {safe(run.runner)}", highlight=False)
    out.print(f"wrote {safe(out_dir)}/accounts/, batch.csv, batch.json", highlight=False)
    failed = run.frame[status.isin(("infeasible", "solver_failed", "error"))]
    for account, why in zip(failed["account_id"].head(5), failed["error"].head(5)):
        err.print(f"[yellow]{safe(account)}[/]: {safe(why)}", highlight=False, soft_wrap=True)
    if len(failed):
        more = " (first 5 above; see batch.csv)" if len(failed) > 5 else ""
        err.print(f"{len(failed)} account(s) failed{more}", highlight=False)
        raise typer.Exit(EXIT_FAILED_ACCOUNTS)
    if (status == "time_limit").any():
        raise typer.Exit(EXIT_TIME_LIMIT)


def export_batch_command(
    batch_dir: Path,
    holdings: Path | None,
    prices: Path,
    formats: list[str],
    mapping: Path | None,
    out_dir: Path,
    cash_buffer: float,
    min_trade_shares: int,
    min_trade_notional: float,
    tolerance: float,
    force: bool,
    journal_dir: Path | None,
    *,
    cash: float = 0.0,
    nav: float | None = None,
    portfolio_id: str = "PORTFOLIO",
) -> None:
    """``trimtab export`` for a batch directory (one holding ``batch.json``): account and block orders.

    Exit 7 when some accounts' orders could not be made (each named; the others are written).

    The export command calls this when its RUN_DIR is a batch directory; cash, NAV and the
    portfolio id then come from the batch (per account), and --holdings is the batch's long
    holdings table (default: the one the batch recorded).
    """
    given = [o for o, v, default in (("--cash", cash, 0.0), ("--nav", nav, None), ("--portfolio-id", portfolio_id,
                                                                                 "PORTFOLIO")) if v != default]
    if given:
        err.print(f"[bold red]error (usage):[/] {', '.join(given)} do(es) not apply to a batch directory: each account's "
                  "cash, NAV and id come from the batch. Nothing was written.", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    from trimtab.optimizer.batch import export_batch

    try:
        done = export_batch(batch_dir, prices, out_dir, holdings=holdings, formats=tuple(formats), mapping=mapping,
                            force=force, cash_buffer=cash_buffer, min_trade_shares=min_trade_shares,
                            min_trade_notional=min_trade_notional, tolerance=tolerance, journal_dir=journal_dir)
    except user_errors() as error:
        raise fail(error) from None
    meta = done.blocks.batch.meta
    out.print(f"{len(done.accounts)} accounts: {meta['account_orders']} orders in {meta['orders']} blocks "
              f"(batch {safe(done.blocks.batch.batch_id)}), gross {meta['gross_notional']:,.0f}; "
              f"{len(done.skipped)} account(s) without a result skipped, {len(done.failed)} failed", highlight=False)
    out.print(f"wrote {safe(done.written['BLOCK'])} (blocks, allocations.csv) and {safe(out_dir)}/accounts/",
              highlight=False)
    for account, why in list(done.skipped.items())[:5]:
        err.print(f"[yellow]skipped {safe(account)}[/]: {safe(why)}", highlight=False, soft_wrap=True)
    for account, why in list(done.failed.items())[:5]:
        err.print(f"[yellow]failed {safe(account)}[/]: {safe(why)}", highlight=False, soft_wrap=True)
    if done.failed:
        raise typer.Exit(EXIT_FAILED_ACCOUNTS)


def is_batch_dir(path: Path) -> bool:
    """True when ``path`` is a batch directory (``trimtab export`` then calls :func:`export_batch_command`)."""
    return (Path(path) / "batch.json").is_file() and (Path(path) / "accounts").is_dir()


def register(app: typer.Typer) -> None:
    """Add ``batch`` to ``app``."""
    app.command("batch")(batch_command)
