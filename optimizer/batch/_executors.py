"""Where chunks of accounts are solved: in this process (``--serial``) or on a Dask cluster.

Both run the same function (:func:`solve_accounts`) on the same payload, so their results
are identical to the bit. On Dask the payload goes to every worker once
(``client.scatter(payload, broadcast=True)``); each chunk is one task (``retries`` for an
exception inside it). A worker that dies mid-chunk is replaced by its nanny and the scheduler
re-runs the chunk elsewhere; a chunk whose future is lost anyway (every worker holding the
payload died) is resubmitted — the payload scattered again — up to ``retries`` times.
Chunks are yielded as they finish, in any order.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from .. import DataError
from ._plan import AccountTask
from ._shipping import BatchPayload
from ._worker import ChunkResult, solve_accounts, warm_up

#: What a chunk came to: its result, or the exception that finally stopped it.
ChunkOutcome = ChunkResult | BaseException


@contextlib.contextmanager
def _workers_ignore_ctrl_c() -> Iterator[None]:
    """Start worker processes with SIGINT ignored (inherited through exec), then restore this process's handler.

    Ctrl-C in a terminal reaches the whole process group: the client stops the batch and closes
    the cluster; the workers, ignoring it, neither die mid-write nor print tracebacks.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class SerialExecutor:
    """Solves every chunk in this process, in order; no Dask."""

    n_workers = 1
    retries = 0

    def describe(self) -> str:
        """``serial (in-process)``."""
        return "serial (in-process)"

    def run(self, payload: BatchPayload, chunks: Sequence[tuple[AccountTask, ...]]) -> Iterator[tuple[int, ChunkOutcome]]:
        """``(chunk index, result)`` for each chunk."""
        for i, chunk in enumerate(chunks):
            yield i, solve_accounts(payload, chunk)

    def close(self) -> None:
        """Nothing to release."""


class DaskExecutor:
    """Solves chunks on a Dask cluster: the given client, a scheduler address, or a new ``LocalCluster``.

    Parameters
    ----------
    client : distributed.Client, optional
        Use this client (and its cluster); it is left open.
    scheduler : str, optional
        Connect to the scheduler at this address (``tcp://host:8786``).
    n_workers : int, optional
        Workers of a new ``LocalCluster`` (one process each, one thread; default: one per core).
    retries : int
        Re-runs of a chunk that raised or whose worker was lost.

    Raises
    ------
    DataError
        The scheduler cannot be reached (naming the address).
    """

    def __init__(self, client: Any = None, *, scheduler: str | None = None, n_workers: int | None = None,
                 retries: int = 2) -> None:
        from distributed import Client, LocalCluster

        self._owned: list[Any] = []
        self.retries = retries
        if client is None and scheduler is not None:
            try:
                client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError, ValueError) as err:
                raise DataError(f"cannot reach the Dask scheduler at {scheduler!r} ({type(err).__name__}: {err}); "
                                "check the address (tcp://host:8786), or run with --serial") from None
            self._owned = [client]
        elif client is None:
            workers = n_workers or os.cpu_count() or 1
            with _workers_ignore_ctrl_c():
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                                       silence_logs=logging.ERROR)  # a lost worker is retried: no warnings
            client = Client(cluster)
            self._owned = [client, cluster]
        self.client = client
        # Each worker imports trimtab now, while the client loads the data and plans the accounts.
        workers = list(client.scheduler_info(n_workers=-1).get("workers", {}))
        self._warming = [client.submit(warm_up, pure=False, workers=[w], key=f"trimtab-warm-up-{uuid.uuid4().hex[:8]}")
                         for w in workers]

    @property
    def n_workers(self) -> int:
        """Workers connected now (at least 1)."""
        return max(1, len(self.client.scheduler_info(n_workers=-1).get("workers", {})))

    def describe(self) -> str:
        """``dask (2 workers at tcp://127.0.0.1:41234)``."""
        return f"dask ({self.n_workers} workers at {self.client.scheduler.address})"

    def run(self, payload: BatchPayload, chunks: Sequence[tuple[AccountTask, ...]]) -> Iterator[tuple[int, ChunkOutcome]]:
        """``(chunk index, result or the exception that finally stopped it)`` as chunks finish."""
        from distributed import as_completed

        token = uuid.uuid4().hex[:8]
        shipped = self.client.scatter(payload, broadcast=True, hash=False)
        futures: dict[Any, int] = {}
        attempts = [0] * len(chunks)

        def submit(i: int) -> Any:
            future = self.client.submit(solve_accounts, shipped, chunks[i], retries=self.retries, pure=False,
                                        key=f"trimtab-batch-{token}-{i}-{attempts[i]}")
            futures[future] = i
            return future

        pending = as_completed([submit(i) for i in range(len(chunks))])
        try:
            for future in pending:
                i = futures.pop(future)
                try:
                    result = future.result()
                except Exception as err:  # noqa: BLE001 — a lost worker or a failed task: retry, then report
                    attempts[i] += 1
                    if attempts[i] > self.retries:
                        yield i, err
                        continue
                    if shipped.status != "finished":
                        shipped = self.client.scatter(payload, broadcast=True, hash=False)
                    pending.add(submit(i))
                    continue
                future.release()
                yield i, result
        finally:
            if futures:
                self.client.cancel(list(futures))

    def close(self) -> None:
        """Close the client and cluster this executor started (never a given client)."""
        if self._warming:
            self.client.cancel(self._warming)
            self._warming = []
        for owned in self._owned:
            owned.close()
        self._owned = []
