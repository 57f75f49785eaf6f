"""``trimtab report RUN_DIR``: a self-contained HTML page of a finished run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import fail, out, safe, user_errors


def report_command(
    run_dir: Annotated[Path, typer.Argument(help="Run directory written by optimize.", show_default=False)],
    out_path: Annotated[
        Path | None, typer.Option("--out", "-o", help="HTML file to write (default: report.html in RUN_DIR).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing report.")] = False,
) -> None:
    """Write a self-contained HTML report of a run: summary, rules, figures, risk and concentration."""
    from ..research import write_report

    try:
        written = write_report(run_dir, out_path, force=force)
    except user_errors() as error:
        raise fail(error) from None
    out.print(f"wrote {safe(written)}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``report`` to the ``trimtab`` app."""
    app.command("report")(report_command)
