"""``trimtab monitor``: how concentrated the index, a run's target and equal weight are."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from ._common import fail, out, safe, user_errors

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


def print_concentration(table: pd.DataFrame, top: int, window: int) -> None:
    """The concentration table on the terminal, one column per portfolio."""
    import numpy as np

    groups = [c for c in table.columns if c not in _MEASURES]
    view = Table(title=f"Concentration (top {top}; returns over the last {window} trading days)")
    view.add_column("measure")
    for name in table.index:
        view.add_column(safe(name), justify="right")
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
        view.add_row(safe(label), *(fmt.format(v) if np.isfinite(v) else "n/a" for v in table[column]))
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
    import pandas as pd

    from trimtab.optimizer import refuse_to_overwrite, write_new_files

    from ..research import CONCENTRATION_CSV, OVER_TIME_CSV, monitor

    try:
        if out_dir is not None:  # refuse before the work, not after
            refuse_to_overwrite(out_dir, (CONCENTRATION_CSV, OVER_TIME_CSV), force=force)
        result = monitor(source, window=window, top=top)
        written = write_new_files(out_dir if out_dir is not None else result.default_dir, result.files(), force=force)
    except user_errors() as error:
        raise fail(error) from None
    snapshot, table, relative = result.snapshot, result.table, result.relative
    out.print(f"{safe(snapshot.dataset)} · as of {pd.Timestamp(snapshot.as_of).date()}", highlight=False)
    print_concentration(table, top, window)
    for group, last in relative.items():
        out.print(
            f"{safe(group)} vs the rest of the benchmark, last {window} days: {last['group']:+.1%} vs {last['rest']:+.1%} "
            f"(relative {last['relative']:+.1%})",
            highlight=False,
        )
    out.print("wrote " + ", ".join(safe(p) for p in written.values()), highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``trimtab monitor`` to ``app``."""
    app.command("monitor")(monitor_command)
