"""The ``trimtab`` command line, the top floor: it imports the core, the export and research
packages (and numpy, pandas, CVXPY through them) only inside the commands that use them.

Start-up: at module level every command module imports only typer, rich and the standard
library, so ``trimtab --help`` and each command's ``--help`` load neither CVXPY nor pandas
(``tests/test_startup.py`` counts the modules loaded). A new command module follows the same
rule and is added to :data:`COMMAND_MODULES`.

Commands: ``optimize``, ``diagnose``, ``validate`` (one job); ``export``, ``send`` (orders);
``backtest``, ``frontier``, ``monitor``, ``report`` (research); ``batch`` (many accounts).

Exit codes: 0 success; 2 bad job file, data, export input, refused output or usage;
3 infeasible; 4 solver failure; 5 some orders sent were rejected or not answered; 6 stopped
at a time limit (answer written, optimality not proven); 7 a batch finished but some accounts
failed (each named; ``batch.csv`` has every reason); 70 internal error (a bug — the
message says so; please report it); 130 interrupted (Ctrl-C). Every failure a user can
cause prints one paragraph naming the file, field, asset or rule — never a traceback.
"""

from __future__ import annotations

import gc
import sys
import traceback

import typer

from . import _backtest, _batch, _core, _frontier, _monitor, _orders, _report
from ._common import (
    DOCUMENTED_EXIT_CODES,
    EXIT_BAD_INPUT,
    EXIT_FAILED_ACCOUNTS,
    EXIT_INFEASIBLE,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_NOT_ACKNOWLEDGED,
    EXIT_SOLVER,
    EXIT_TIME_LIMIT,
    err,
    safe,
)

app = typer.Typer(
    name="trimtab",
    help="Minimum-tracking-error portfolios against a cap-weighted benchmark, with rules as data.",
    add_completion=False,
    no_args_is_help=True,
)
#: The modules whose ``register(app)`` adds their commands, in the order ``--help`` lists them.
COMMAND_MODULES = (_core, _orders, _frontier, _monitor, _report, _backtest, _batch)

for _module in COMMAND_MODULES:
    _module.register(app)

#: The terminal summary of a result (what ``trimtab optimize`` prints).
print_summary = _core.print_summary


def run(argv: list[str] | None = None) -> int:
    """Run the command line on ``argv`` (default: ``sys.argv[1:]``) and return its exit code.

    Never raises: usage errors print typer's message (exit 2); Ctrl-C exits 130 (typer); an
    unexpected exception — a bug, since every error a user can cause is a typed trimtab error
    that its command prints as one paragraph — prints one paragraph saying so, with the
    exception's last frame (exit 70), never a traceback.
    """
    try:
        app(args=argv, prog_name="trimtab")
    except SystemExit as done:  # typer's standalone mode ends every run with sys.exit(code)
        return done.code if isinstance(done.code, int) else (0 if done.code is None else EXIT_BAD_INPUT)
    except Exception as error:  # noqa: BLE001 — the last line of defence: no traceback for users
        frame = traceback.extract_tb(error.__traceback__)[-1]
        err.print(
            f"[bold red]internal error:[/] {safe(type(error).__name__)}: {safe(error)} (at {safe(frame.filename)}:"
            f"{frame.lineno}). This is a bug in trimtab, not in your input; please report it with the command.",
            highlight=False, soft_wrap=True,
        )
        return EXIT_INTERNAL
    return 0


#: Net new container objects between two young-generation collections in a ``trimtab`` process
#: (CPython's default: 700). See :func:`main`.
COLLECTION_THRESHOLD = 1_000_000


def main() -> None:
    """Entry point of the ``trimtab`` console script and ``python -m trimtab``.

    Start-up: importing numpy, pandas, SciPy, scikit-learn and CVXPY creates ~300,000
    long-lived objects, none of them garbage, which CPython's cycle collector at its default
    thresholds scans ~40 times as they load (3 full collections): ~0.2 s, a tenth of
    ``trimtab optimize`` on the default job. A command-line process therefore collects after
    every million net new objects instead: never during start-up, still regularly during a
    long batch or backtest (memory stays bounded; the default job's peak is unchanged).
    """
    gc.set_threshold(COLLECTION_THRESHOLD, *gc.get_threshold()[1:])
    sys.exit(run())


__all__ = [
    "COMMAND_MODULES",
    "DOCUMENTED_EXIT_CODES",
    "EXIT_BAD_INPUT",
    "EXIT_FAILED_ACCOUNTS",
    "EXIT_INFEASIBLE",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_ACKNOWLEDGED",
    "EXIT_SOLVER",
    "EXIT_TIME_LIMIT",
    "OPTIONAL_COMMAND_MODULES",
    "app",
    "main",
    "print_summary",
    "run",
]
