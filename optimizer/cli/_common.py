"""What every ``trimtab`` command shares: the consoles, the exit codes and the one-paragraph error."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

from trimtab.constraints import SpecError
from trimtab.models import DataError, TrimtabError

from .. import ExportError, InfeasibleError, OutputError, SolverFailedError

out = Console()
err = Console(stderr=True)

EXIT_BAD_INPUT, EXIT_INFEASIBLE, EXIT_SOLVER, EXIT_NOT_ACKNOWLEDGED = 2, 3, 4, 5

#: Errors a user can cause, each printed as one paragraph with its exit code (never a traceback).
ERRORS = (TrimtabError,)

#: (error class, exit code, title), most specific first; anything else a trimtab error is bad data.
_KINDS: tuple[tuple[type[Exception], int, str], ...] = (
    (InfeasibleError, EXIT_INFEASIBLE, "infeasible job"),
    (SolverFailedError, EXIT_SOLVER, "solver failure"),
    (SpecError, EXIT_BAD_INPUT, "invalid job"),
    (ExportError, EXIT_BAD_INPUT, "export refused"),
    (OutputError, EXIT_BAD_INPUT, "output refused"),
    (DataError, EXIT_BAD_INPUT, "bad data"),
)


def fail(error: Exception) -> typer.Exit:
    """Print a one-paragraph error (no traceback) and pick the exit code."""
    code, title = next(((c, t) for kind, c, t in _KINDS if isinstance(error, kind)), (EXIT_BAD_INPUT, "bad data"))
    err.print(f"[bold red]error ({title}):[/] {escape(str(error))}", highlight=False, soft_wrap=True)  # "[fix]" is text
    err.print("nothing was written.", style="dim")
    return typer.Exit(code)
