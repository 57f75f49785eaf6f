"""Progress of a batch: a callback protocol, and a rich progress bar (terminal or notebook).

The runner calls ``start(total, finished)`` once (``finished``: accounts found done and
skipped), ``advance(outcome)`` after each account's result is written (or its failure
recorded), and ``stop()`` at the end, Ctrl-C included. A callback may raise (a test stops a
batch this way, as Ctrl-C does): the batch then records what finished and re-raises.
"""

from __future__ import annotations

from typing import Any, Protocol

from ._worker import FAILED


class Progress(Protocol):
    """What the runner reports to."""

    def start(self, total: int, finished: int) -> None: ...

    def advance(self, outcome: Any) -> None: ...

    def stop(self) -> None: ...


class NoProgress:
    """Reports nothing."""

    def start(self, total: int, finished: int) -> None:
        """Nothing."""

    def advance(self, outcome: Any) -> None:
        """Nothing."""

    def stop(self) -> None:
        """Nothing."""


class RichProgress:
    """A rich bar: accounts done of total, failed so far, accounts per second, time left.

    Parameters
    ----------
    console : rich.console.Console, optional
        Where to draw (default: standard error, so standard output keeps the results; a
        notebook shows it under the cell).
    """

    def __init__(self, console: Any = None) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        console = console if console is not None else Console(stderr=True)
        self._bar = Progress(
            TextColumn("[bold]accounts"), BarColumn(), MofNCompleteColumn(),
            TextColumn("failed {task.fields[failed]}"), TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
            console=console, transient=False,
        )
        self._task: Any = None
        self._failed = 0
        self._started = 0.0
        self._fresh = 0

    def start(self, total: int, finished: int) -> None:
        """Show the bar, with the accounts already finished counted as done."""
        import time

        self._started = time.perf_counter()
        self._bar.start()
        self._task = self._bar.add_task("batch", total=total, completed=finished, failed=0, rate="")

    def advance(self, outcome: Any) -> None:
        """One more account done (or failed)."""
        import time

        self._fresh += 1
        self._failed += outcome.status in FAILED
        elapsed = max(time.perf_counter() - self._started, 1e-9)
        self._bar.update(self._task, advance=1, failed=self._failed, rate=f"{self._fresh / elapsed:.1f}/s")

    def stop(self) -> None:
        """Leave the final bar on screen."""
        self._bar.stop()
