"""``trimtab export`` and ``send``: a run's target as whole-lot orders, and the orders over FIX, at most once.

The export package (pyarrow for Parquet, QuickFIX for sending) is imported inside the
commands, so other commands never load it. ``send`` goes through the batch's journal (default
``$TRIMTAB_STATE_DIR``, ``$XDG_STATE_HOME/trimtab`` or ``~/.local/state/trimtab``, then ``journal/``;
``--journal-dir`` overrides): a batch sent before is refused unless ``--force``; Ctrl-C (or SIGTERM)
stops the send cleanly and exits 130, saying what went out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ._common import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    EXIT_NOT_ACKNOWLEDGED,
    err,
    fail,
    out,
    user_errors,
)

#: The default of ``--tolerance``: the core's ``ROUNDING_TOLERANCE`` (1 bp of weight), written out so
#: that ``trimtab --help`` does not import the core; tests/test_startup.py checks the two agree.
DEFAULT_TOLERANCE = 1e-4

_JOURNAL_HELP = "Send journals' folder (default: $TRIMTAB_STATE_DIR, $XDG_STATE_HOME/trimtab or ~/.local/state/trimtab, + /journal)."


def export_command(
    run_dir: Annotated[Path, typer.Argument(help="Run directory written by optimize.", show_default=False)],
    holdings: Annotated[Path, typer.Option("--holdings", help="Current shares: asset_id, shares.", show_default=False)],
    prices: Annotated[
        Path, typer.Option("--prices", help="Security master: asset_id, price [, lot_size, isin, cusip, …].", show_default=False)
    ],
    formats: Annotated[list[str], typer.Option("--format", "-f", help="csv, parquet, json or fix; repeatable.")] = ["csv"],
    mapping: Annotated[Path | None, typer.Option("--mapping", help="OMS column mapping (YAML).")] = None,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Batches go to OUT/<batch_id>/.")] = Path("orders"),
    cash: Annotated[float, typer.Option("--cash", help="Cash on hand (portfolio currency).")] = 0.0,
    nav: Annotated[float | None, typer.Option("--nav", help="NAV (default: holdings value + cash).")] = None,
    cash_buffer: Annotated[float, typer.Option("--cash-buffer", help="Cash to keep, fraction of NAV.")] = 0.0,
    min_trade_shares: Annotated[int, typer.Option("--min-trade-shares")] = 0,
    min_trade_notional: Annotated[float, typer.Option("--min-trade-notional")] = 0.0,
    portfolio_id: Annotated[str, typer.Option("--portfolio-id")] = "PORTFOLIO",
    tolerance: Annotated[float, typer.Option("--tolerance", help="Slack a rule may lose to rounding.")] = DEFAULT_TOLERANCE,
    force: Annotated[
        bool, typer.Option("--force", help="Write a batch that was already exported again (never one that was sent).")
    ] = False,
    journal_dir: Annotated[Path | None, typer.Option("--journal-dir", help=_JOURNAL_HELP)] = None,
    lots: Annotated[
        Path | None,
        typer.Option("--lots", help="Tax lots of a tax-aware run (default: the lots the run read); sells name their lots."),
    ] = None,
) -> None:
    """Turn a run's target weights into whole-lot orders and write them as a batch.

    A tax-aware run's sell orders name the tax lots they sell (lots.csv, and each order's lots
    in orders.json). RUN_DIR may also be a many-accounts batch directory (written by ``trimtab
    batch``): then each account's orders and one block order per asset and side, with allocations.
    """
    from . import _batch

    if _batch.is_batch_dir(run_dir):
        if lots is not None:
            err.print("[bold red]error (usage):[/] --lots does not apply to a batch directory: each account's lots "
                      "come from the batch. Nothing was written.", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_BAD_INPUT)
        return _batch.export_batch_command(
            run_dir, holdings, prices, formats, mapping, out_dir, cash_buffer, min_trade_shares, min_trade_notional,
            tolerance, force, journal_dir, cash=cash, nav=nav, portfolio_id=portfolio_id,
        )
    from ..export import export_run, read_journal

    try:
        batch, written = export_run(
            run_dir, holdings, prices, out_dir, formats=tuple(formats), mapping=mapping, force=force, cash=cash,
            nav=nav, cash_buffer=cash_buffer, min_trade_shares=min_trade_shares, min_trade_notional=min_trade_notional,
            portfolio_id=portfolio_id, tolerance=tolerance, journal_dir=journal_dir, lots=lots,
        )
        journal = read_journal(batch.batch_id, journal_dir)
    except user_errors() as error:
        raise fail(error) from None
    meta = batch.meta
    out.print(
        f"batch {batch.batch_id}: {meta['orders']} orders, gross {meta['gross_notional']:,.0f}, cash after "
        f"{meta['cash_after']:,.2f}, TE change from rounding {meta['te_change_from_rounding'] or 0:+.2e}",
        highlight=False,
    )
    if batch.lots is not None:
        sold = meta["lots"]
        out.print(f"tax lots: {sold['lots']} lots on {sold['sell_orders']} sell orders (lots.csv / orders.json), realized "
                  f"gain {sold['realized_gain']:,.0f}, losses harvested {sold['losses_harvested']:,.0f}", highlight=False)
    out.print(f"wrote {written}", highlight=False)
    if journal is not None and journal.ever_sent:
        err.print(f"note: batch {batch.batch_id} was already sent ({journal.summary()}; journal {journal.path}); "
                  "`trimtab send` refuses it unless --force", markup=False, highlight=False)


def send_command(
    batch_dir: Annotated[Path, typer.Argument(help="Batch directory written by export (OUT/<batch_id>).", show_default=False)],
    fix_config: Annotated[Path, typer.Option("--fix-config", help="FIX session settings file.", show_default=False)],
    style: Annotated[str, typer.Option("--style", help="single (NewOrderSingle each) or list (one NewOrderList).")] = "single",
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to log on and hear about every order.")] = 30.0,
    account: Annotated[str | None, typer.Option("--account", help="Account (1) on every order.")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Send a batch that was sent before (names the orders already acknowledged).")
    ] = False,
    journal_dir: Annotated[Path | None, typer.Option("--journal-dir", help=_JOURNAL_HELP)] = None,
) -> None:
    """Send an exported batch over a live FIX 4.4 session, at most once; report every order's answer."""
    from ..export import SendInterrupted, send_batch_dir

    def warn(message: str) -> None:
        err.print(f"warning: {message}", markup=False, highlight=False, soft_wrap=True)

    try:
        report, record = send_batch_dir(batch_dir, fix_config, force=force, style=style, timeout=timeout,
                                        account=account, journal_dir=journal_dir, notify=warn)
    except SendInterrupted as stopped:
        _print_report(stopped.report)
        err.print(f"interrupted: {stopped}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except user_errors() as error:
        raise fail(error) from None
    _print_report(report)
    not_sent = f"; {len(report.not_sent)} not sent" if report.not_sent else ""
    out.print(
        f"{len(report.acknowledged)} acknowledged, {len(report.rejected)} rejected, {len(report.no_answer)} without "
        f"an answer{not_sent}; {len(report.unmatched)} unmatched message(s). Record: {record}; journal: "
        f"{report.journal}; FIX log: {report.log_dir}",
        highlight=False, markup=False,
    )
    if report.rejected or report.no_answer or report.not_sent:
        raise typer.Exit(EXIT_NOT_ACKNOWLEDGED)


def _print_report(report) -> None:
    """The answers as a table (order ids and texts printed as text, never as markup)."""
    from rich.text import Text

    table = Table(title=Text(f"batch {report.batch_id} over {report.session_id}"))
    for column in ("order", "status", "text"):
        table.add_column(column)
    for answer in report.answers:
        colour = {"acknowledged": "green", "rejected": "red"}.get(answer.status, "yellow")
        table.add_row(Text(answer.order_id), Text(answer.status, style=colour), Text(answer.text))
    out.print(table)


def register(app: typer.Typer) -> None:
    """Add ``export`` and ``send`` to ``app``."""
    app.command("export")(export_command)
    app.command("send")(send_command)
