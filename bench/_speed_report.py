"""Tables, timing and verdict helpers of ``bench/bench_speed.py`` (kept apart to keep each file small)."""

from __future__ import annotations

import contextlib
import gc
import statistics
import time
import warnings
from collections import defaultdict
from collections.abc import Callable

import numpy as np

#: Rows of Clarabel's own calls in a trimtab re-solve (the data update, solve(), reading x and z), wall clock.
CLARABEL_RESOLVE_ROW = "↳ Clarabel's own calls, wall (that re-solve)"
CLARABEL_CAP_ROW = "↳ Clarabel's own calls, wall (cap 0.19)"


class Table:
    """Timings (and TE / violation / iteration notes) of one section's rows."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.times: dict[str, list[float]] = defaultdict(list)
        self.notes: dict[str, str] = {}

    def add(self, row: str, seconds: float) -> None:
        self.times[row].append(seconds)

    def min(self, row: str) -> float:
        return min(self.times[row]) if self.times.get(row) else float("nan")

    def med(self, row: str) -> float:
        return statistics.median(self.times[row]) if self.times.get(row) else float("nan")

    def ratio(self, a: str, b: str) -> tuple[float, float]:
        """(min a / min b, median over rounds of a / b): rows of one round ran back to back."""
        xa, xb = self.times.get(a, []), self.times.get(b, [])
        if not xa or not xb:
            return float("nan"), float("nan")
        return min(xa) / min(xb), statistics.median(x / y for x, y in zip(xa, xb))

    def print(self, reference: str | None = None) -> None:
        print(f"\n### {self.title}")
        ref = f" | ×{reference} (of mins / median per round)" if reference else ""
        print(f"| row | runs | min | median{ref} | notes |")
        print("|---|---|---|---" + ("|---" if reference else "") + "|---|")
        for row, values in self.times.items():
            cells = f"| {row} | {len(values)} | {fmt_s(self.min(row))} | {fmt_s(self.med(row))}"
            if reference:
                a, b = self.ratio(row, reference)
                cells += f" | {a:.2f} / {b:.2f}"
            print(f"{cells} | {self.notes.get(row, '')} |")


def fmt_s(seconds: float) -> str:
    if not np.isfinite(seconds):
        return "—"
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    gc.collect()
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


def interleave(table: Table, engines: dict[str, Callable[[Table | None], None]], repeat: int, warm_up: bool = True) -> None:
    """One untimed warm-up round, then ``repeat`` rounds; each runs every engine once, starting one later."""
    names = list(engines)
    for name in names if warm_up else ():
        engines[name](None)
    for r in range(repeat):
        for name in names[r % len(names):] + names[: r % len(names)]:
            engines[name](table)


@contextlib.contextmanager
def quiet():
    """Peers warn ("Solution may be inaccurate", deprecations); the notes record each status instead."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# -- section 1: one problem, every engine ---------------------------------------------------------


def verdict(values: tuple[float, float], limit: float) -> str:
    """'yes' when the median meets ``limit``, 'min only' when only the min does, else 'no'."""
    lo, med = values
    if not np.isfinite(med):
        return "n/a"
    return "yes" if med <= limit else ("min only" if lo <= limit else "no")


def combined(*verdicts: str) -> str:
    return "no" if "no" in verdicts else ("min only" if "min only" in verdicts else verdicts[0])
