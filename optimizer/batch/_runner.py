"""Run a batch: read the tables, prepare once, skip finished accounts, solve the rest, record everything.

The client process reads the job, its data and risk model once, plans every account
(``_plan``), ships one payload to the workers and submits the accounts in chunks; it writes
each account's files as its chunk comes back (a small thread pool, so disk flushes overlap
the solving), then ``batch.csv`` and ``batch.json`` — also when stopped by Ctrl-C, with the
accounts not yet run marked ``not_run``. Running the same command again skips every account
whose recorded result matches its input hash (``_store.finished_summary``).
"""

from __future__ import annotations

import math
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trimtab.constraints import JobSpec

from .. import as_job
from ._executors import DaskExecutor, SerialExecutor
from ._lots import LotsTable, lots_record, lots_source, prepare_house, read_account_lots
from ._plan import AccountFacts, AccountPlanner, AccountTask, batch_job
from ._progress import NoProgress, Progress, RichProgress
from ._rows import batch_frame, failed_row, finished_row
from ._shipping import data_sha256, payload_for
from ._store import finished_summary, write_account, write_batch_files
from ._tables import read_account_holdings, read_accounts
from ._worker import ERROR, FAILED, NOT_RUN, OK, TIME_LIMIT, AccountOutcome

#: Most accounts per task: small enough to spread over workers and show progress, large
#: enough that the scheduler's per-task cost (~1 ms) stays far below a chunk's solves.
MAX_CHUNK = 25

#: Threads writing account files (their fsyncs overlap).
WRITERS = 4


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a batch; ``run`` says what finished (its files and ``batch.csv`` are written)."""

    def __init__(self, run: BatchRun) -> None:
        super().__init__(f"{int((run.frame['status'] != 'not_run').sum())} accounts done, the rest not run")
        self.run = run


@dataclass
class BatchRun:
    """What a batch did.

    Attributes
    ----------
    frame : pd.DataFrame
        One row per account (``batch.csv``; see ``_rows``), in the accounts table's order.
    weights : dict of str to pd.Series
        Target weights (fractions of NAV, by asset_id) of the accounts solved in this run.
    out_dir : Path or None
        The batch directory, when files were written.
    runner : str
        Where the accounts were solved.
    solved, resumed : int
        Accounts solved now, and finished ones found and skipped.
    seconds, dispatch_seconds, worker_seconds, worker_cpu_seconds : float
        Wall-clock seconds of the whole call and of solving (from the first chunk submitted
        to the last result written), and the workers' busy wall-clock and CPU seconds summed
        over chunks (busy wall above CPU: the workers waited for a core).
    n_workers : int
    compiles : int
        Problems compiled: the batch job once per worker process (at its first chunk) — plus,
        for a tax-aware job, one per account (its lot set).
    interrupted : bool
        Stopped before every account ran (Ctrl-C).
    """

    frame: pd.DataFrame
    weights: dict[str, pd.Series] = field(default_factory=dict)
    out_dir: Path | None = None
    runner: str = ""
    solved: int = 0
    resumed: int = 0
    seconds: float = 0.0
    dispatch_seconds: float = 0.0
    worker_seconds: float = 0.0
    worker_cpu_seconds: float = 0.0
    n_workers: int = 1
    compiles: int = 0
    interrupted: bool = False

    @property
    def failed(self) -> int:
        """Accounts that failed (infeasible, solver failure, bad data)."""
        return int(self.frame["status"].isin(FAILED).sum())

    @property
    def overhead(self) -> float:
        """Share of the workers' wall time not spent solving: ``1 − busy / (workers × dispatch time)``."""
        capacity = self.n_workers * self.dispatch_seconds
        return max(0.0, 1.0 - self.worker_seconds / capacity) if capacity > 0 else math.nan


def run_batch(
    job: JobSpec | str | Path,
    accounts: str | Path | pd.DataFrame,
    holdings: str | Path | pd.DataFrame,
    *,
    client: Any = None,
    out_dir: str | Path | None = None,
    serial: bool = False,
    scheduler: str | None = None,
    n_workers: int | None = None,
    chunk_size: int | None = None,
    retries: int = 2,
    progress: bool | Progress = False,
    lots: str | Path | pd.DataFrame | None = None,
) -> BatchRun:
    """Rebalance every account of ``accounts`` under the house rules ``job``; see :func:`trimtab.optimizer.batch.batch`.

    Raises
    ------
    SpecError, DataError
        The job, its data or a table as a whole is invalid (an account's own bad data fails
        that account alone, in its row).
    BatchInterrupted
        Ctrl-C (a ``KeyboardInterrupt``) once solving started: finished accounts are written,
        and so are ``batch.csv``/``batch.json``; its ``run`` holds the frame.
    """
    started = time.perf_counter()
    job = as_job(job)
    table = read_accounts(accounts)
    book = read_account_holdings(holdings, table)
    source = lots_source(job, lots)
    lot_table = read_account_lots(source, table) if source is not None else None
    # Workers start (and import trimtab) while this process loads the data and plans the accounts.
    executor = SerialExecutor() if serial else DaskExecutor(client, scheduler=scheduler, n_workers=n_workers, retries=retries)
    try:
        plan = _Plan.make(job, table, book, lot_table, Path(out_dir) if out_dir is not None else None)
    except BaseException:
        executor.close()
        raise
    reporter = RichProgress() if progress is True else (progress or NoProgress())
    run = BatchRun(pd.DataFrame(), out_dir=plan.out, resumed=len(plan.found))
    outcomes: dict[str, AccountOutcome] = {}
    stopped = False
    try:
        run.runner, run.n_workers = executor.describe(), executor.n_workers
        chunks = _chunks(plan.todo, chunk_size or _chunk_size(len(plan.todo), run.n_workers))
        reporter.start(len(table.accounts), len(table.accounts) - len(plan.todo))
        payload = payload_for(plan.prepared, plan.digest, write_files=plan.out is not None)
        _dispatch(executor, payload, chunks, plan.out, outcomes, reporter, run)
    except KeyboardInterrupt:
        run.interrupted = stopped = True
    except BaseException:
        run.interrupted = True
        raise
    finally:
        reporter.stop()
        executor.close()
        ids = plan.prepared.data.snapshot.asset_ids
        run.weights = {a: pd.Series(o.weights, index=ids, name=a) for a, o in outcomes.items() if o.weights is not None}
        run.solved = len(outcomes)
        run.frame = batch_frame((_row(plan.facts[r.account_id], outcomes, plan.found) for r in table.accounts),
                                taxed=job.taxes is not None)
        run.seconds = time.perf_counter() - started
        if plan.out is not None:
            write_batch_files(plan.out, run.frame, _record(job, plan, table, book, run))
    if stopped:
        raise BatchInterrupted(run)
    return run


@dataclass(frozen=True)
class _Plan:
    """The prepared batch job, every account's task or problems, and the accounts found finished."""

    prepared: Any
    digest: str
    facts: dict[str, AccountFacts]
    found: dict[str, dict]
    todo: list[AccountTask]
    out: Path | None
    lots: LotsTable | None = None

    @classmethod
    def make(cls, job: JobSpec, table, book, lots: LotsTable | None, out: Path | None) -> _Plan:
        prepared = prepare_house(batch_job(job, table))
        digest = data_sha256(prepared.data)
        planner = AccountPlanner(prepared, table, book, digest, lots)
        planned = [planner.plan(row) for row in table.accounts]
        found = {}
        for task, fact in planned if out is not None else ():
            summary = finished_summary(out, fact.account_id, fact.input_sha256) if task is not None else None
            if summary is not None:
                found[fact.account_id] = summary
        todo = [task for task, _ in planned if task is not None and task.account_id not in found]
        return cls(prepared, digest, {f.account_id: f for _, f in planned}, found, todo, out, lots)


def _dispatch(executor, payload, chunks, out, outcomes, reporter, run) -> None:
    """Solve the chunks, writing each account as its chunk returns."""
    writes: deque[tuple[Future | None, AccountOutcome]] = deque()

    def drain(block: bool) -> None:
        while writes and (block or writes[0][0] is None or writes[0][0].done()):
            future, outcome = writes.popleft()
            if future is not None:
                future.result()  # a write that failed (disk full, permissions) stops the batch: DataError
            outcomes[outcome.account_id] = outcome
            reporter.advance(outcome)

    pool = ThreadPoolExecutor(WRITERS, thread_name_prefix="trimtab-batch-writer") if out is not None else None
    dispatch_started = time.perf_counter()
    results_stream = executor.run(payload, chunks)
    try:
        for i, result in results_stream:
            if isinstance(result, BaseException):
                message = f"the worker solving it failed {executor.retries + 1} times ({type(result).__name__}: {result})"
                results = [AccountOutcome(t.account_id, t.input_sha256, ERROR, message) for t in chunks[i]]
            else:
                run.worker_seconds += result.seconds
                run.worker_cpu_seconds += result.cpu_seconds
                run.compiles += result.compiled
                results = list(result.outcomes)
            for outcome in results:
                writes.append((pool.submit(write_account, out, outcome) if pool is not None else None, outcome))
            drain(block=False)
        drain(block=True)
    finally:
        results_stream.close()  # cancels what is still queued on the cluster
        if pool is not None:
            pool.shutdown(wait=True)  # what was handed to a writer is written, even on Ctrl-C
            while writes and writes[0][0] is not None and writes[0][0].done() and writes[0][0].exception() is None:
                _, outcome = writes.popleft()
                outcomes[outcome.account_id] = outcome
        run.dispatch_seconds = time.perf_counter() - dispatch_started


def _row(facts: AccountFacts, outcomes: dict[str, AccountOutcome], found: dict[str, dict]) -> dict[str, Any]:
    account = facts.account_id
    if facts.problems:
        return failed_row(facts, ERROR, "; ".join(facts.problems))
    if account in found:
        summary = found[account]
        return finished_row(facts, summary, TIME_LIMIT if summary.get("status") == TIME_LIMIT else OK, resumed=True)
    outcome = outcomes.get(account)
    if outcome is None:
        return failed_row(facts, NOT_RUN, "not run: the batch was stopped before this account; run the same command "
                                          "again to finish (finished accounts are skipped)")
    if outcome.summary is not None:
        return finished_row(facts, outcome.summary, outcome.status, resumed=False)
    return failed_row(facts, outcome.status, outcome.error, outcome.seconds)


def _chunk_size(n: int, workers: int) -> int:
    """About eight chunks per worker (load balance, progress), at most :data:`MAX_CHUNK` accounts each."""
    return max(1, min(MAX_CHUNK, math.ceil(n / (8 * max(1, workers)))))


def _chunks(tasks: list[AccountTask], size: int) -> list[tuple[AccountTask, ...]]:
    return [tuple(tasks[i : i + size]) for i in range(0, len(tasks), size)]


def _record(job, plan: _Plan, table, book, run: BatchRun) -> dict[str, Any]:
    """``batch.json``: what the batch ran on and what became of each account."""
    prepared, digest, facts = plan.prepared, plan.digest, plan.facts
    status = run.frame.set_index("account_id")["status"]
    counts = {s: int((status == s).sum()) for s in (OK, TIME_LIMIT, *FAILED, NOT_RUN)}
    snapshot = prepared.data.snapshot
    return {
        "format": "trimtab batch 1",
        "job": {"source": str(Path(job.source).resolve()) if Path(job.source).is_file() else job.source,
                "name": job.name, "sha256": job.sha256, "spec_sha256": prepared.job.spec_hash},
        "exclusions_rule": len(prepared.job.constraints) > len(job.constraints),
        "data_sha256": digest,
        "dataset": snapshot.dataset,
        "as_of": pd.Timestamp(snapshot.as_of).date().isoformat(),
        "accounts_file": {"path": _path(table.source), "sha256": table.sha256},
        "holdings_file": {"path": _path(book.source), "sha256": book.sha256, "form": book.form},
        **lots_record(plan.lots),
        "runner": run.runner,
        "interrupted": run.interrupted,
        "seconds": round(run.seconds, 3),
        "counts": {"accounts": len(facts), **counts, "solved": run.solved, "resumed": run.resumed},
        "accounts": {
            a: {"input_sha256": f.input_sha256, "status": str(status[a]), "cash": _finite(f.cash), "nav": _finite(f.nav),
                "restricted": list(f.restricted)}
            for a, f in facts.items()
        },
    }


def _path(source: str) -> str | None:
    path = Path(source)
    return str(path.resolve()) if path.is_file() else None


def _finite(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)
