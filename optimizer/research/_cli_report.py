"""``trimtab report RUN_DIR``: a self-contained HTML page of a finished run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .._cli_common import _ERRORS, _fail, out
from .._errors import ExportError
from ._report import REPORT_FILE, write_report


def report_command(
    run_dir: Annotated[Path, typer.Argument(help="Run directory written by optimize.", show_default=False)],
    out_path: Annotated[
        Path | None, typer.Option("--out", "-o", help=f"HTML file to write (default: RUN_DIR/{REPORT_FILE}).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing report.")] = False,
) -> None:
    """Write a self-contained HTML report of a run: summary, rules, figures, risk and concentration."""
    try:
        written = write_report(run_dir, out_path, force=force)
    except (*_ERRORS, ExportError) as error:
        raise _fail(error) from None
    out.print(f"wrote {written}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``report`` to the ``trimtab`` app."""
    app.command("report")(report_command)
