"""The worker's side: compile the job once per process, re-solve each account through parameters.

:func:`solve_accounts` runs on a Dask worker (or in the client's process for ``--serial``,
the same code): it takes the shipped :class:`BatchPayload` and a chunk of
:class:`AccountTask`, and returns one :class:`AccountOutcome` per account — never raising
for an account's own failure (infeasible, solver failure, bad data), so one account never
stops the others. The prepared problem is kept per process, keyed by the payload, so every
chunk after a worker's first costs only its accounts' re-solves; chunks of one process run one
at a time (a worker with several threads would otherwise set one problem's parameters from
two accounts at once).
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

from .. import (
    TIME_LIMIT_STATUS,
    InfeasibleError,
    PreparedProblem,
    SolverFailedError,
    TrimtabError,
    prepare,
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
        when the batch writes files.
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
    """The outcomes of one chunk, the wall-clock and CPU seconds it took on its worker (compile included)."""

    outcomes: tuple[AccountOutcome, ...]
    seconds: float
    compiled: bool
    cpu_seconds: float = 0.0


def solve_accounts(payload: BatchPayload, tasks: tuple[AccountTask, ...]) -> ChunkResult:
    """Solve each account of a chunk on the shipped data; see the module docstring."""
    with _ONE_AT_A_TIME:  # a worker with several threads shares one compiled problem (its parameters)
        started, cpu = time.perf_counter(), time.process_time()
        compiled = payload.key not in _PREPARED
        prepared = prepared_for(payload)
        outcomes = tuple(_solve(prepared, payload, task) for task in tasks)
        return ChunkResult(outcomes, time.perf_counter() - started, compiled, time.process_time() - cpu)


def warm_up() -> None:
    """Nothing: a worker runs it to import this module (trimtab, CVXPY, Clarabel) before its first chunk."""


def prepared_for(payload: BatchPayload) -> PreparedProblem:
    """The payload's prepared problem, compiled on this process's first use and kept."""
    if payload.key in _PREPARED:
        _PREPARED.move_to_end(payload.key)
        return _PREPARED[payload.key]
    job = payload.job
    benchmark = job.data.benchmark
    if benchmark is not None and benchmark.form == "returns":
        # The index's risk comes with the payload: never re-read the index file on a worker.
        job = dataclasses.replace(job, data=job.data.model_copy(update={"benchmark": None}))
    prepared = prepare(job, snapshot=payload.data.snapshot, risk_model=payload.data.risk_model)
    prepared = dataclasses.replace(prepared, job=payload.job, data=payload.data)
    _PREPARED[payload.key] = prepared
    while len(_PREPARED) > _CACHE_SIZE:
        _PREPARED.popitem(last=False)
    return prepared


def _solve(prepared: PreparedProblem, payload: BatchPayload, task: AccountTask) -> AccountOutcome:
    started = time.perf_counter()
    data = payload.data
    view = AccountView(data.snapshot, data.risk_model, data.index_risk, book=task.book)
    base = {"account_id": task.account_id, "input_sha256": task.input_sha256}
    try:
        target = dataclasses.replace(prepared, data=view).solve(dict(task.overrides))
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
    """``targets.csv`` and ``summary.json`` as ``trimtab optimize`` writes them, the summary with an ``account`` section."""
    targets = render_targets_csv(target)
    text = render_summary_json(target, targets).decode("utf-8").rstrip()
    section = json.dumps(account, indent=2).replace("\n", "\n  ")
    summary = text[:-1].rstrip() + ',\n  "account": ' + section + "\n}\n"  # the object's last key
    return {"targets.csv": targets, "summary.json": summary.encode("utf-8")}
