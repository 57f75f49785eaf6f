"""``trimtab backtest``: a job re-solved at each month or quarter end, against cap and equal weight;
a job with a ``taxes`` section runs the tax-aware backtest (tax-aware against tax-unaware, lots
carried through time) and prints after-tax statistics."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ._common import fail, out, safe, user_errors

#: Column headers of the printed summary.
SUMMARY_HEADERS = {
    "annual_return": "annual return",
    "volatility": "volatility",
    "sharpe": "Sharpe",
    "max_drawdown": "max drawdown",
    "tracking_error": "tracking error vs cap",
    "information_ratio": "information ratio vs cap",
    "avg_turnover": "turnover per rebalance (two-way)",
    "avg_cost": "cost per rebalance",
}

#: Column headers of the printed tax-aware summary.
TAX_SUMMARY_HEADERS = {
    "pre_tax_return": "pre-tax return (annual)",
    "after_tax_return": "after-tax return (annual)",
    "liquidation_return": "after tax, liquidated at the end",
    "tax_drag": "tax drag (pre − after)",
    "tax_paid": "net tax paid (of start NAV)",
    "gains_realized": "gains realized",
    "losses_harvested": "losses harvested",
    "unrealized_gain": "unrealized gain at the end",
    "tracking_error": "tracking error vs cap",
    "ex_ante_te": "ex-ante TE (mean)",
    "avg_turnover": "turnover per rebalance (two-way)",
    "lots_sold": "lots sold",
}


def backtest_command(
    job_file: Annotated[Path, typer.Argument(help="Job file (YAML).", show_default=False)],
    start: Annotated[str, typer.Option("--start", help="First day of the backtest (YYYY-MM-DD).", show_default=False)],
    end: Annotated[str, typer.Option("--end", help="Last day of the backtest (YYYY-MM-DD).", show_default=False)],
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Directory for the CSV files.", show_default=False)],
    rebalance: Annotated[str, typer.Option("--rebalance", help="monthly or quarterly.")] = "monthly",
    years: Annotated[
        int | None,
        typer.Option("--years", help="Years of synthetic history (default: enough for --start; source: files ignores it)."),
    ] = None,
    risk_free: Annotated[float, typer.Option("--risk-free", help="Annual risk-free rate for Sharpe (fraction).")] = 0.0,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the files of a non-empty --out.")] = False,
    lot_order: Annotated[
        str, typer.Option("--lot-order", help="With a taxes section: the tax-unaware run's lot rule, fifo or min_tax.")
    ] = "fifo",
) -> None:
    """Backtest a job: re-solve at each rebalance from drifted holdings, vs cap and equal weight.

    The history is the embedded synthetic market, or the job's own files (source: files:
    the universe and a returns file spanning the backtest, ragged allowed, with
    data.benchmark.weights for point-in-time constituents). Writes OUT/returns.csv (daily net
    returns of the three policies), OUT/rebalances.csv (turnover, cost, ex-ante and realized
    TE, status per date), OUT/weights.csv and OUT/summary.csv. Exit 2 on bad dates or data, a
    window that does not fit the history, or a benchmark given as an index return series.

    A job with a taxes section runs the tax-aware backtest instead: the job with its lots
    (tax-aware) against the same job without its taxes section (its sells' lots by
    --lot-order), each carrying its own lots; writes OUT/returns.csv (after- and pre-tax),
    OUT/rebalances.csv (tax, gains, losses, lots sold per date and policy), OUT/lots.csv,
    OUT/trades.csv and OUT/summary.csv, and prints the tax alpha.
    """
    from trimtab.models import DataError

    from .. import as_job
    from ..research import (
        LOT_ORDERS,
        REBALANCE_FREQUENCIES,
        as_date,
        backtest,
        check_output_dir,
        tax_backtest,
    )

    try:
        for value, name in ((start, "--start"), (end, "--end")):
            as_date(value, name)
        if rebalance not in REBALANCE_FREQUENCIES:
            raise DataError(f"--rebalance: {rebalance!r} is not one of {list(REBALANCE_FREQUENCIES)}")
        if lot_order not in LOT_ORDERS:
            raise DataError(f"--lot-order: {lot_order!r} is not one of {list(LOT_ORDERS)}")
        check_output_dir(out_dir, force)  # refuse before minutes of solving, not after
        job = as_job(job_file)
        if job.taxes is not None:
            result = tax_backtest(job, start, end, rebalance, lot_order=lot_order, years=years, risk_free=risk_free)
        else:
            result = backtest(job, start, end, rebalance, years=years, risk_free=risk_free)
        written = result.write(out_dir, force=force)
    except user_errors() as error:
        raise fail(error) from None
    if job.taxes is not None:
        print_tax_backtest(result)
    else:
        print_backtest(result)
    out.print("wrote " + ", ".join(safe(p) for p in written.values()), highlight=False)


def print_backtest(result) -> None:
    """A :class:`~trimtab.optimizer.research.BacktestResult`'s summary (one column per policy), the
    dates that kept drifted holdings and the runtime."""
    from ..research import format_summary

    out.print(_policy_table(f"Backtest: {safe(result.job_name)} ({result.rebalance})",
                            format_summary(result.summary()), SUMMARY_HEADERS))
    kept = result.rebalances[result.rebalances["status"].isin(["infeasible", "solver_failed"])]
    for date, row in kept.iterrows():
        out.print(f"[yellow]{row['status']}[/] on {date.date()}: kept the drifted holdings ({safe(row['message'])})", highlight=False)
    out.print(safe(result.describe()), highlight=False)
    out.print(f"runtime: {result.runtime_seconds:.1f} s", highlight=False)


def print_tax_backtest(result) -> None:
    """A :class:`~trimtab.optimizer.research.TaxBacktestResult`: after-tax statistics per policy, the tax alpha."""
    from ..research import format_tax_summary

    out.print(_policy_table(f"Tax-aware backtest: {safe(result.job_name)} ({result.rebalance})",
                            format_tax_summary(result.summary()), TAX_SUMMARY_HEADERS))
    kept = result.rebalances[result.rebalances["status"].isin(["infeasible", "solver_failed"])]
    for (policy, date), row in kept.iterrows():
        out.print(
            f"[yellow]{row['status']}[/] ({policy}) on {date.date()}: kept the drifted holdings ({safe(row['message'])})",
            highlight=False,
        )
    out.print(
        f"tax alpha (after-tax return, tax-aware − tax-unaware with {result.lot_order} lots): "
        f"{result.tax_alpha:+.2%} a year; taxes settled on the trade date, losses refunded at their rates",
        highlight=False,
    )
    out.print(safe(result.describe()), highlight=False)


def _policy_table(title: str, text, headers: dict[str, str]) -> Table:
    """One column per policy (the rows of ``text``, formatted cells), one row per statistic in ``headers``."""
    table = Table(title=title)
    table.add_column("")
    for policy in text.index:
        table.add_column(safe(policy), justify="right")
    for column, header in headers.items():
        table.add_row(header, *text[column])
    return table


def register(app: typer.Typer) -> None:
    """Add ``trimtab backtest`` to ``app``."""
    app.command("backtest")(backtest_command)
