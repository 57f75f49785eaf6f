"""``trimtab frontier``: tracking error along a sweep of one rule's bound, as a table and a CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ._common import fail, out, safe, user_errors


def print_frontier(result) -> None:
    """A :class:`~trimtab.optimizer.research.Frontier` as a terminal table; infeasible points say so (and why, below)."""
    points = result.points
    table = Table(title=f"Frontier: {safe(result.constraint)} ({result.side} swept)")
    groups = [c for c in points.columns if c.endswith("_weight")]
    factors = [c for c in points.columns if c.endswith("_exposure")]
    headers = ["bound", "TE", "active share", "turnover"]
    headers += [c.removesuffix("_weight") for c in groups] + [c.removesuffix("_exposure") + " σ" for c in factors]
    for column in headers:
        table.add_column(safe(column), justify="right")
    table.add_column("rule", justify="right", min_width=10)
    for _, row in points.iterrows():
        if not row["feasible"]:
            dashes = ("—",) * (len(headers) - 1)
            table.add_row(f"{row['bound']:.4g}", *dashes, f"[red]{row['status']}[/]")
            continue
        status = "binding" if row["binding"] else "slack"
        if row["status"] != "optimal":
            status += f" ({row['status']})"
        table.add_row(
            f"{row['bound']:.4g}",
            f"{row['tracking_error']:.3%}",
            f"{row['active_share']:.1%}",
            f"{row['turnover']:.1%}",
            *(f"{row[c]:.1%}" for c in groups),
            *(f"{row[c]:+.3f}" for c in factors),
            status,
        )
    out.print(table)
    for _, row in points[~points["feasible"]].iterrows():
        out.print(f"[red]{row['bound']:.4g}[/]: {safe(row['message'])}", highlight=False)


def frontier_command(
    job_file: Annotated[Path, typer.Argument(help="Job file (YAML).", show_default=False)],
    constraint: Annotated[
        str,
        typer.Option(
            "--constraint", "-c", help="The rule: its name, key (turnover) or key:subject (group_weight:MAG7).",
            show_default=False,
        ),
    ],
    start: Annotated[float, typer.Option("--from", help="First bound (the rule's units).", show_default=False)],
    stop: Annotated[float, typer.Option("--to", help="Last bound.", show_default=False)],
    steps: Annotated[int, typer.Option("--steps", min=1, help="Number of bounds, evenly spaced.")] = 6,
    side: Annotated[str, typer.Option("--side", help="Sweep the rule's max or its min.")] = "max",
    out_file: Annotated[Path | None, typer.Option("--out", "-o", help="Write the points to this CSV.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing CSV.")] = False,
) -> None:
    """Sweep one rule's bound from --from to --to and print the tracking error at each (compiled once).

    Infeasible bounds are reported as such; the sweep goes on.
    """
    import numpy as np

    from trimtab.optimizer import refuse_to_overwrite, write_new_files

    from ..research import FRONTIER_SIDES, frontier

    if side not in FRONTIER_SIDES:
        raise typer.BadParameter(f"--side must be one of {', '.join(FRONTIER_SIDES)}", param_hint="--side")

    try:
        if out_file is not None:
            refuse_to_overwrite(out_file.parent, [out_file.name], force=force)
        result = frontier(job_file, constraint, np.linspace(start, stop, steps), side=side)
        written = None
        if out_file is not None:
            written = write_new_files(out_file.parent, {out_file.name: result.csv()}, force=force)
    except user_errors() as error:
        raise fail(error) from None
    print_frontier(result)
    if written:
        out.print("wrote " + ", ".join(safe(p) for p in written.values()), highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``trimtab frontier`` to ``app``."""
    app.command("frontier")(frontier_command)
