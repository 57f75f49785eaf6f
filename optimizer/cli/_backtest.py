"""``trimtab backtest``: a job re-solved at each month or quarter end, against cap and equal weight."""

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
) -> None:
    """Backtest a job: re-solve at each rebalance from drifted holdings, vs cap and equal weight.

    The history is the embedded synthetic market, or the job's own files (source: files:
    the universe and a returns file spanning the backtest, ragged allowed, with
    data.benchmark.weights for point-in-time constituents). Writes OUT/returns.csv (daily net
    returns of the three policies), OUT/rebalances.csv (turnover, cost, ex-ante and realized
    TE, status per date), OUT/weights.csv and OUT/summary.csv. Exit 2 on bad dates or data, a
    window that does not fit the history, or a benchmark given as an index return series.
    """
    from trimtab.models import DataError

    from ..research import REBALANCE_FREQUENCIES, as_date, backtest, check_output_dir

    try:
        for value, name in ((start, "--start"), (end, "--end")):
            as_date(value, name)
        if rebalance not in REBALANCE_FREQUENCIES:
            raise DataError(f"--rebalance: {rebalance!r} is not one of {list(REBALANCE_FREQUENCIES)}")
        check_output_dir(out_dir, force)  # refuse before minutes of solving, not after
        result = backtest(job_file, start, end, rebalance, years=years, risk_free=risk_free)
        written = result.write(out_dir, force=force)
    except user_errors() as error:
        raise fail(error) from None
    print_backtest(result)
    out.print("wrote " + ", ".join(safe(p) for p in written.values()), highlight=False)


def print_backtest(result) -> None:
    """A :class:`~trimtab.optimizer.research.BacktestResult`'s summary (one column per policy), the
    dates that kept drifted holdings and the runtime."""
    from ..research import format_summary

    table = Table(title=f"Backtest: {safe(result.job_name)} ({result.rebalance})")
    text = format_summary(result.summary())
    table.add_column("")
    for policy in text.index:
        table.add_column(safe(policy), justify="right")
    for column, header in SUMMARY_HEADERS.items():
        table.add_row(header, *text[column])
    out.print(table)
    kept = result.rebalances[result.rebalances["status"].isin(["infeasible", "solver_failed"])]
    for date, row in kept.iterrows():
        out.print(f"[yellow]{row['status']}[/] on {date.date()}: kept the drifted holdings ({safe(row['message'])})", highlight=False)
    out.print(safe(result.describe()), highlight=False)
    out.print(f"runtime: {result.runtime_seconds:.1f} s", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``trimtab backtest`` to ``app``."""
    app.command("backtest")(backtest_command)
