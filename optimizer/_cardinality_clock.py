"""The wall-clock budget of one holdings-count solve (``cardinality.time_limit``).

The heuristic checks it between re-solves and keeps one re-solve in reserve to finish with
an answer; the exact method hands what is left to SCIP. ``clock`` is injectable so tests
count re-solves against a fake clock instead of measuring time.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Deadline:
    """A time budget that started when the object was made.

    Parameters
    ----------
    seconds : float
        The budget, wall-clock seconds.
    clock : callable, optional
        Returns the current time in seconds (default :func:`time.monotonic`).
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds, self._clock = float(seconds), clock
        self._start = clock()
        self._longest_step = 0.0

    @property
    def elapsed(self) -> float:
        """Seconds since the start."""
        return self._clock() - self._start

    def remaining(self) -> float:
        """Seconds left (≥ 0)."""
        return max(self.seconds - self.elapsed, 0.0)

    def expired(self) -> bool:
        """True when nothing is left."""
        return self.remaining() <= 0.0

    def step(self) -> Callable[[], None]:
        """Start timing one step; call the result when it ends (the longest step is remembered)."""
        started = self._clock()

        def done() -> None:
            self._longest_step = max(self._longest_step, self._clock() - started)

        return done

    def room_for(self, steps: float) -> bool:
        """True when ``steps`` more steps as long as the longest so far fit in what is left."""
        return self.remaining() > steps * self._longest_step
