"""``trimtab monitor``: how concentrated the index, a run's target and equal weight are."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.table import Table

import models
from models import DataError, MarketSnapshot

from .._cli_common import _ERRORS, _fail, out
from .._errors import ExportError
from .._output import refuse_to_overwrite, write_new_files
from .._run import as_job, load_market_data
from ..export import read_run
from ._concentration import concentration_over_time, concentration_table, equal_weights, relative_performance

CONCENTRATION_CSV = "concentration.csv"
OVER_TIME_CSV = "concentration_over_time.csv"


def monitor_inputs(source: Path | None) -> tuple[MarketSnapshot, dict[str, pd.Series], Path]:
    """(snapshot, portfolios, default output directory) for a job file, a run directory or nothing.

    Portfolios: ``benchmark``, ``target`` (a run directory's weights) and ``equal_weight``.

    Raises
    ------
    ExportError, SpecError, DataError
        Unreadable run or job; the run's weights do not match its job's data.
    """
    target = None
    if source is None:
        snapshot, out_dir = models.load_synthetic_sp500(), Path("out")
    elif source.is_dir():
        run = read_run(source)
        snapshot, out_dir = load_market_data(run.job()), source
        if pd.Timestamp(snapshot.as_of) != run.as_of:
            raise DataError(f"{source}: the run is as of {run.as_of.date()}, its job's data of {snapshot.as_of.date()}")
        ids = snapshot.asset_ids
        unknown = run.weights.index.difference(ids)
        if len(unknown):
            raise DataError(f"{source}: target weights for asset(s) not in the data: {list(unknown[:10])}")
        target = run.weights.reindex(ids, fill_value=0.0).rename("target")
    else:
        job = as_job(source)
        snapshot = load_market_data(job)
        out_dir = job.resolve(job.output.dir) if job.output.dir else Path("out")
    portfolios = {"benchmark": snapshot.benchmark_weights}
    if target is not None:
        portfolios["target"] = target
    portfolios["equal_weight"] = equal_weights(snapshot.asset_ids)
    return snapshot, portfolios, out_dir


def print_concentration(table: pd.DataFrame, top: int, window: int) -> None:
    """The concentration table on the terminal, one column per portfolio."""
    groups = [c for c in table.columns if c not in _MEASURES]
    view = Table(title=f"Concentration (top {top}; returns over the last {window} trading days)")
    view.add_column("measure")
    for name in table.index:
        view.add_column(str(name), justify="right")
    rows = [
        (f"Top {top} share of weight", "top_n_weight", "{:.1%}"),
        (f"Top {top} share of the window's return", "top_n_return_share", "{:.1%}"),
        ("Window return (buy and hold)", "window_return", "{:+.1%}"),
        ("HHI (Σw²)", "hhi", "{:.4f}"),
        ("Effective number of stocks (1/HHI)", "effective_n", "{:.1f}"),
        ("Sector HHI", "sector_hhi", "{:.4f}"),
        *((f"{g} weight", g, "{:.1%}") for g in groups),
    ]
    for label, column, fmt in rows:
        view.add_row(label, *(fmt.format(v) if np.isfinite(v) else "n/a" for v in table[column]))
    out.print(view)


_MEASURES = ("top_n_weight", "top_n_return_share", "window_return", "hhi", "effective_n", "sector_hhi")


def monitor_command(
    source: Annotated[
        Path | None,
        typer.Argument(help="Job file or run directory (default: the embedded dataset).", show_default=False),
    ] = None,
    window: Annotated[int, typer.Option("--window", min=1, help="Trading days of returns for return shares.")] = 252,
    top: Annotated[int, typer.Option("--top", min=1, help="How many of the largest names count as the top.")] = 10,
    out_dir: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output directory (default: the run dir, else the job's output.dir, else out/).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing CSVs.")] = False,
) -> None:
    """Concentration of the benchmark, a run's target and equal weight: top-N shares, HHI, groups.

    Writes concentration.csv (one row per portfolio) and concentration_over_time.csv (the
    benchmark drifted back over the data's history, month ends).
    """
    try:
        snapshot, portfolios, default_dir = monitor_inputs(source)
        directory = out_dir if out_dir is not None else default_dir
        refuse_to_overwrite(directory, (CONCENTRATION_CSV, OVER_TIME_CSV), force=force)
        args = (snapshot.returns, snapshot.sectors, snapshot.groups)
        table = concentration_table(portfolios, *args, top_n=top, window=window)
        over_time = concentration_over_time(snapshot.benchmark_weights, *args, top_n=top)
        relative = {
            g: relative_performance(snapshot.benchmark_weights, snapshot.returns, members, window=window).iloc[-1]
            for g, members in snapshot.groups.items()
        }
        written = write_new_files(
            directory,
            {
                CONCENTRATION_CSV: table.to_csv(float_format="%.10g").encode(),
                OVER_TIME_CSV: over_time.to_csv(float_format="%.10g").encode(),
            },
            force=force,
        )
    except (*_ERRORS, ExportError) as error:
        raise _fail(error) from None
    out.print(f"{snapshot.dataset} · as of {pd.Timestamp(snapshot.as_of).date()}", highlight=False)
    print_concentration(table, top, window)
    for group, last in relative.items():
        out.print(
            f"{group} vs the rest of the benchmark, last {window} days: {last['group']:+.1%} vs {last['rest']:+.1%} "
            f"(relative {last['relative']:+.1%})",
            highlight=False,
        )
    out.print("wrote " + ", ".join(str(p) for p in written.values()), highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``trimtab monitor`` to ``app``."""
    app.command("monitor")(monitor_command)
