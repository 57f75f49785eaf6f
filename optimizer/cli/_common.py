"""What every ``trimtab`` command shares: the consoles, the exit codes, the one-paragraph error,
and :func:`safe` for any data shown on the terminal.

Start-up: this module (like every command module) imports only typer, rich and the standard
library at module level; the error classes come from the core when an error is mapped.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

out = Console()
err = Console(stderr=True)

#: Exit codes (README "Exit codes"): 0 success; 2 bad input (job, data, export input, refused
#: output, usage); 3 infeasible; 4 solver failure; 5 orders sent but not all acknowledged;
#: 6 stopped at a time limit (the answer is written, its optimality not proven); 70 internal
#: error (a bug: please report it); 130 interrupted (Ctrl-C).
EXIT_BAD_INPUT, EXIT_INFEASIBLE, EXIT_SOLVER, EXIT_NOT_ACKNOWLEDGED, EXIT_TIME_LIMIT = 2, 3, 4, 5, 6
EXIT_FAILED_ACCOUNTS, EXIT_INTERNAL, EXIT_INTERRUPTED = 7, 70, 130
DOCUMENTED_EXIT_CODES = frozenset({0, EXIT_BAD_INPUT, EXIT_INFEASIBLE, EXIT_SOLVER, EXIT_NOT_ACKNOWLEDGED,
                                   EXIT_TIME_LIMIT, EXIT_FAILED_ACCOUNTS, EXIT_INTERNAL, EXIT_INTERRUPTED})

#: C0/C1 control characters (ESC sequences among them) that would reach the terminal raw.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def safe(value: object) -> str:
    """``value`` as text that prints as itself: rich markup escaped, control characters shown as ``\\xNN``.

    Every piece of data on the terminal (job and rule names, asset ids, file names, OMS
    answers, error messages) goes through it: ``[/]`` in a job name is text, not markup, and
    ``[sp001]`` is not swallowed as a style tag.
    """
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))
    return escape(text)


@cache
def user_errors() -> tuple[type[Exception], ...]:
    """Errors a user can cause, each printed as one paragraph with its exit code (never a traceback).

    A function, so that the error classes are imported only when needed: write
    ``except user_errors() as error:`` — Python evaluates an ``except`` clause's classes only
    when an exception reaches it.
    """
    from trimtab.models import TrimtabError

    return (TrimtabError,)


@cache
def _kinds() -> tuple[tuple[type[Exception], int, str], ...]:
    """(error class, exit code, title), most specific first; any other trimtab error is bad data."""
    from trimtab.optimizer import DataError, ExportError, InfeasibleError, OutputError, SolverFailedError, SpecError

    return (
        (InfeasibleError, EXIT_INFEASIBLE, "infeasible job"),
        (SolverFailedError, EXIT_SOLVER, "solver failure"),
        (SpecError, EXIT_BAD_INPUT, "invalid job"),
        (ExportError, EXIT_BAD_INPUT, "export refused"),
        (OutputError, EXIT_BAD_INPUT, "output refused"),
        (DataError, EXIT_BAD_INPUT, "bad data"),
    )


def fail(error: Exception) -> typer.Exit:
    """Print a one-paragraph error (no traceback) and pick the exit code."""
    code, title = next(((c, t) for kind, c, t in _kinds() if isinstance(error, kind)), (EXIT_BAD_INPUT, "bad data"))
    err.print(f"[bold red]error ({title}):[/] {safe(error)}", highlight=False, soft_wrap=True)  # "[fix]" is text
    err.print("nothing was written.", style="dim")
    return typer.Exit(code)


def __getattr__(name: str) -> Any:
    """``ERRORS`` (the tuple of :func:`user_errors`), resolved on first use for older callers."""
    if name == "ERRORS":
        return user_errors()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
