"""The ``trimtab`` command line, the top floor: it imports the core at module level and the
export and research packages only inside the commands that use them.

Commands: ``optimize``, ``diagnose``, ``validate`` (one job); ``export``, ``send`` (orders);
``backtest``, ``frontier``, ``monitor``, ``report`` (research).

Exit codes: 0 success; 2 bad job file, data, output or export input; 3 infeasible;
4 solver failure; 5 some orders sent were rejected or not answered.
"""

from __future__ import annotations

import typer

from . import _backtest, _core, _frontier, _monitor, _orders, _report
from ._common import EXIT_BAD_INPUT, EXIT_INFEASIBLE, EXIT_NOT_ACKNOWLEDGED, EXIT_SOLVER

app = typer.Typer(
    name="trimtab",
    help="Minimum-tracking-error portfolios against a cap-weighted benchmark, with rules as data.",
    add_completion=False,
    no_args_is_help=True,
)
for _module in (_core, _orders, _frontier, _monitor, _report, _backtest):
    _module.register(app)

#: The terminal summary of a result (what ``trimtab optimize`` prints).
print_summary = _core.print_summary


def main() -> None:
    """Entry point of the ``trimtab`` console script and ``python -m trimtab``."""
    app()


__all__ = ["EXIT_BAD_INPUT", "EXIT_INFEASIBLE", "EXIT_NOT_ACKNOWLEDGED", "EXIT_SOLVER", "app", "main", "print_summary"]
