"""The worker's side: compile the job once per process, re-solve each account through parameters.

:func:`solve_accounts` runs on a Dask worker (or in the client's process for ``--serial``,
the same code): it takes the shipped :class:`BatchPayload` and a chunk of
:class:`AccountTask`, and returns one :class:`AccountOutcome` per account — never raising
for an account's own failure (infeasible, solver failure, bad data), so one account never
stops the others. The prepared problem is kept per process, keyed by the payload, so every
chunk after a worker's first costs only its accounts' re-solves; chunks of one process run one
at a time (a worker with several threads would otherwise set one problem's parameters from
two accounts at once).

An account with tax lots (a job with a ``taxes`` section) is prepared on its own: the problem
is compiled for its lot set (:func:`account_problem`), on the shipped data, then solved — one
compile per account instead of one per worker.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import (
    LOTS_SOLD_FILE,
    TIME_LIMIT_STATUS,
    DataError,
    InfeasibleError,
    PreparedProblem,
    SolverFailedError,
    TrimtabError,
    prepare,
    render_lots_sold_csv,
    render_summary_json,
    render_targets_csv,
)
from ._plan import AccountTask, AccountView
from ._shipping import BatchPayload

#: Account statuses: solved (files written), or why not.
OK, TIME_LIMIT, INFEASIBLE, SOLVER_FAILED = "ok", "time_limit", "infeasible", "solver_failed"
ERROR, NOT_RUN = "error", "not_run"
#: Statuses of an account with a written result (``time_limit``: verified, optimality not proven).
FINISHED = (OK, TIME_LIMIT)
#: Statuses of an account that failed (the batch exits 7).
FAILED = (INFEASIBLE, SOLVER_FAILED, ERROR)

#: Prepared problems a worker process keeps (one per payload; a batch ships one).
_CACHE_SIZE = 2
_PREPARED: OrderedDict[str, PreparedProblem] = OrderedDict()
#: Chunks in one process run one at a time: they share the compiled problem's CVXPY parameters.
#: (Give Dask workers one thread each and scale with processes: ``--nthreads 1``.)
_ONE_AT_A_TIME = threading.Lock()


@dataclass(frozen=True)
class AccountOutcome:
    """One account's result as a worker returns it.

    Attributes
    ----------
    account_id, input_sha256 : str
    status : str
        ``ok``, ``time_limit``, ``infeasible``, ``solver_failed`` or ``error``.
    error : str
        Why it failed (for ``infeasible``: the conflicting rules and the bound each would need).
    seconds : float
        Wall-clock seconds on the worker (solve, checks, rendering the files).
    weights : np.ndarray or None
        Target weights (n,), fractions of NAV, in the data's asset order.
    files : dict of str to bytes
        ``targets.csv`` and ``summary.json`` (with an ``account`` section) of a solved account,
        and ``lots_sold.csv`` for a tax-aware job, when the batch writes files.
    summary : dict or None
        The result's summary (``TargetPortfolio.summary()``: what ``batch.csv`` reports).
    diagnosis : dict or None
        The infeasibility diagnosis (``diagnosis.json``'s content).
    """

    account_id: str
    input_sha256: str
    status: str
    error: str = ""
    seconds: float = 0.0
    weights: np.ndarray | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    diagnosis: dict | None = None
    summary: dict | None = None


@dataclass(frozen=True)
class ChunkResult:
    """The outcomes of one chunk, the wall-clock and CPU seconds it took on its worker (compiles included).

    ``compiled`` counts the problems the chunk compiled: 1 for a worker's first chunk (the batch
    job), plus one per account with tax lots.
    """

    outcomes: tuple[AccountOutcome, ...]
    seconds: float
    compiled: int
    cpu_seconds: float = 0.0


def solve_accounts(payload: BatchPayload, tasks: tuple[AccountTask, ...]) -> ChunkResult:
    """Solve each account of a chunk on the shipped data; see the module docstring."""
    with _ONE_AT_A_TIME:  # a worker with several threads shares one compiled problem (its parameters)
        started, cpu = time.perf_counter(), time.process_time()
        shared = [t for t in tasks if t.lots is None]
        compiled = int(bool(shared) and payload.key not in _PREPARED) + len(tasks) - len(shared)
        prepared = prepared_for(payload) if shared else None
        outcomes = tuple(_solve(prepared, payload, task) for task in tasks)
        return ChunkResult(outcomes, time.perf_counter() - started, compiled, time.process_time() - cpu)


def warm_up() -> None:
    """Nothing: a worker runs it to import this module (trimtab, CVXPY, Clarabel) before its first chunk."""


def prepared_for(payload: BatchPayload) -> PreparedProblem:
    """The payload's prepared problem, compiled on this process's first use and kept."""
    if payload.key in _PREPARED:
        _PREPARED.move_to_end(payload.key)
        return _PREPARED[payload.key]
    job = _shipped_job(payload)  # the index's risk comes with the payload
    prepared = prepare(job, snapshot=payload.data.snapshot, risk_model=payload.data.risk_model)
    prepared = dataclasses.replace(prepared, job=payload.job, data=payload.data)
    _PREPARED[payload.key] = prepared
    while len(_PREPARED) > _CACHE_SIZE:
        _PREPARED.popitem(last=False)
    return prepared


def _shipped_job(payload: BatchPayload):
    """The payload's job as a worker prepares it: an index benchmark's risk comes with the payload."""
    job = payload.job
    benchmark = job.data.benchmark
    if benchmark is not None and benchmark.form == "returns":  # never re-read the index file on a worker
        job = dataclasses.replace(job, data=job.data.model_copy(update={"benchmark": None}))
    return job


def account_problem(payload: BatchPayload, task: AccountTask) -> PreparedProblem:
    """The batch job prepared for one account's tax lots, on the shipped data, with its holdings.

    The core checks lots against a snapshot whose holdings sum to 1, so the account's invested
    weights ``w₀`` (``Σ w₀ = 1 − cash``) are scaled to 1 for the check, at the NAV ``Σ w₀ × NAV``
    (the same shares), and the lot book scaled back: lot weights are fractions of the account's
    NAV, adding up to ``w₀`` name by name.

    Raises
    ------
    DataError
        Lots that do not add up to the holdings, or on names the account does not hold.
    """
    data, lots = payload.data, task.lots
    assert lots is not None and payload.job.taxes is not None
    invested = float(task.book.sum())
    if not invested > 0:
        raise DataError(f"{lots.source}: the account holds nothing (all cash) but has lots: the lots must add up to "
                        "the holdings")
    ids = data.snapshot.asset_ids
    snapshot = dataclasses.replace(data.snapshot, holdings=pd.Series(task.book / invested, index=ids))
    nav = task.nav * invested if task.nav is not None else None
    job = _shipped_job(payload)
    job = dataclasses.replace(job, taxes=job.taxes.model_copy(update={"nav": nav}))
    prepared = prepare(job, snapshot=snapshot, risk_model=data.risk_model, lots=lots)
    book = prepared.data.lots
    book = dataclasses.replace(book, weights=book.weights * invested, nav=book.nav / invested)
    view = AccountView(data.snapshot, data.risk_model, data.index_risk, lots=book, book=task.book)
    return dataclasses.replace(prepared, job=payload.job, data=view, input_files=())


def _solve(prepared: PreparedProblem | None, payload: BatchPayload, task: AccountTask) -> AccountOutcome:
    started = time.perf_counter()
    base = {"account_id": task.account_id, "input_sha256": task.input_sha256}
    try:
        if task.lots is not None:
            account = account_problem(payload, task)
        else:
            assert prepared is not None
            # the house's market with this account's holdings: market figures and report constants shared
            # (the market objects of the kept problem: equal to this payload's by its key, maybe not the same objects)
            market = prepared.data
            view = AccountView(market.snapshot, market.risk_model, market.index_risk, book=task.book)
            account = prepared.with_holdings(view)
        target = account.solve(dict(task.overrides))
        summary = target.summary()
        files = _files(target, base) if payload.write_files else {}
    except InfeasibleError as err:
        diagnosis = err.diagnosis.to_dict() if hasattr(err.diagnosis, "to_dict") else None
        return AccountOutcome(**base, status=INFEASIBLE, error=str(err), seconds=time.perf_counter() - started,
                              diagnosis=diagnosis)
    except SolverFailedError as err:
        return AccountOutcome(**base, status=SOLVER_FAILED, error=str(err), seconds=time.perf_counter() - started)
    except TrimtabError as err:
        return AccountOutcome(**base, status=ERROR, error=str(err), seconds=time.perf_counter() - started)
    except Exception as err:  # noqa: BLE001 — a bug must not stop the other accounts; the row names it
        frame = traceback.extract_tb(err.__traceback__)[-1]
        message = (f"internal error: {type(err).__name__}: {err} (at {frame.filename}:{frame.lineno}); this is a bug "
                   "in trimtab, please report it")
        return AccountOutcome(**base, status=ERROR, error=message, seconds=time.perf_counter() - started)
    status = TIME_LIMIT if target.diagnostics.status == TIME_LIMIT_STATUS else OK
    return AccountOutcome(**base, status=status, seconds=time.perf_counter() - started,
                          weights=target.weights.to_numpy(dtype=float), files=files, summary=summary)


def _files(target, account: dict[str, str]) -> dict[str, bytes]:
    """``targets.csv``, ``lots_sold.csv`` (tax-aware) and ``summary.json`` as ``trimtab optimize`` writes them,
    the summary with an ``account`` section."""
    targets, lots = render_targets_csv(target), render_lots_sold_csv(target)
    text = render_summary_json(target, targets, lots).decode("utf-8").rstrip()
    section = json.dumps(account, indent=2).replace("\n", "\n  ")
    summary = text[:-1].rstrip() + ',\n  "account": ' + section + "\n}\n"  # the object's last key
    return {"targets.csv": targets, **({LOTS_SOLD_FILE: lots} if lots is not None else {}),
            "summary.json": summary.encode("utf-8")}
