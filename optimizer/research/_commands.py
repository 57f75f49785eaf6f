"""The research commands of the ``trimtab`` CLI (backtest, frontier, monitor, report).

Each command lives in its own ``_cli_<name>.py`` module with a ``register(app)`` function;
:func:`register_commands` adds them all to the main Typer app.
"""

from __future__ import annotations

import typer

from . import _cli_frontier, _cli_monitor
from . import _cli_report
from . import _cli_backtest


def register_commands(app: typer.Typer) -> None:
    """Add every research command to ``app``."""
    _cli_frontier.register(app)
    _cli_monitor.register(app)
    _cli_report.register(app)
    _cli_backtest.register(app)
