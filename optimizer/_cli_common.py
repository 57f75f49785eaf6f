"""What every ``trimtab`` command shares: the consoles, the exit codes and the one-paragraph error."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

from constraints import SpecError
from models import DataError

from ._errors import ExportError, InfeasibleError, SolverFailedError

out = Console()
err = Console(stderr=True)

EXIT_BAD_INPUT, EXIT_INFEASIBLE, EXIT_SOLVER, EXIT_NOT_ACKNOWLEDGED = 2, 3, 4, 5


def _fail(error: Exception) -> typer.Exit:
    """Print a one-paragraph error (no traceback) and pick the exit code."""
    if isinstance(error, InfeasibleError):
        code, title = EXIT_INFEASIBLE, "infeasible job"
    elif isinstance(error, SolverFailedError):
        code, title = EXIT_SOLVER, "solver failure"
    elif isinstance(error, SpecError):
        code, title = EXIT_BAD_INPUT, "invalid job"
    elif isinstance(error, ExportError):
        code, title = EXIT_BAD_INPUT, "export refused"
    else:
        code, title = EXIT_BAD_INPUT, "bad data"
    err.print(f"[bold red]error ({title}):[/] {escape(str(error))}", highlight=False, soft_wrap=True)  # "[fix]" is text
    err.print("nothing was written.", style="dim")
    return typer.Exit(code)


_ERRORS = (SpecError, DataError, InfeasibleError, SolverFailedError)
