"""Many accounts: rebalance thousands of separately managed accounts in one batch, on Dask.

One job file holds the house rules; an accounts table gives each account's cash or NAV,
exclusions and overrides of the job's named rules; a long holdings table gives each
account's shares (or weights). The job's data and risk model are loaded and estimated once
and shipped once to each worker, which compiles the problem once and re-solves every account
through CVXPY parameters — so an account costs about one warm re-solve. Built on the core's
public API only (:func:`trimtab.optimizer.prepare`, :class:`PreparedProblem`, run directories).

From Python (a notebook with a ``distributed.Client`` included)::

    from trimtab.optimizer.batch import batch
    rows = batch("house.yaml", "accounts.csv", "holdings.csv", out_dir="out/")   # LocalCluster
    rows = batch(job, accounts_frame, holdings_frame, client=client)             # your cluster
    rows = batch(job, accounts_frame, holdings_frame, serial=True)               # no Dask
    rows = batch("taxed.yaml", "accounts.csv", "holdings.csv", lots="lots.csv")   # tax lots per account

From the shell: ``trimtab batch house.yaml accounts.csv holdings.csv --out DIR`` (see
``trimtab batch --help``). :func:`export_batch` turns a batch directory into each account's
orders and the desk's block orders (``trimtab export DIR``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from trimtab.constraints import JobSpec

from ._executors import DaskExecutor, SerialExecutor
from ._export import BatchExport, export_batch
from ._lots import (
    LOTS_COLUMNS,
    LotsTable,
    placeholder_lots,
    prepare_house,
    read_account_lots,
)
from ._plan import (
    EXCLUSIONS_RULE,
    AccountFacts,
    AccountPlanner,
    AccountTask,
    AccountView,
    batch_job,
)
from ._progress import NoProgress, Progress, RichProgress
from ._runner import MAX_CHUNK, BatchInterrupted, BatchRun, run_batch
from ._shipping import BatchPayload, data_sha256, payload_for
from ._store import (
    ACCOUNTS_DIR,
    BATCH_CSV,
    BATCH_JSON,
    account_dir,
    finished_summary,
    read_batch_record,
    read_targets,
)
from ._tables import (
    ACCOUNT_COLUMNS,
    OVERRIDE_FIELDS,
    AccountHoldings,
    AccountRow,
    AccountsTable,
    HoldingsTable,
    read_account_holdings,
    read_accounts,
)
from ._worker import FAILED, FINISHED, AccountOutcome, ChunkResult, solve_accounts


def batch(
    job: JobSpec | str | Path,
    accounts: str | Path | pd.DataFrame,
    holdings: str | Path | pd.DataFrame,
    client: Any = None,
    *,
    out_dir: str | Path | None = None,
    serial: bool = False,
    scheduler: str | None = None,
    n_workers: int | None = None,
    chunk_size: int | None = None,
    retries: int = 2,
    progress: bool | Progress = False,
    lots: str | Path | pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Rebalance every account under the house rules; one row per account.

    Parameters
    ----------
    job : JobSpec or path
        The house rules (a job file); rules meant to vary by account carry a ``name``.
    accounts : path or DataFrame
        ``account_id``, ``cash`` (USD) or ``nav`` (USD), optional ``restricted`` (asset ids)
        and override columns ``<rule name>.<field>`` (``mag7_cap.max``; fields ``min``,
        ``max``, ``target``; absolute values in the rule's units).
    holdings : path or DataFrame
        Long table ``account_id, asset_id`` and ``shares`` (valued at the data's prices) or
        ``weight`` (fraction of the account's NAV).
    client : distributed.Client, optional
        Solve on this client's cluster (left open). Default: a new ``LocalCluster`` with one
        single-threaded worker process per core, closed at the end.
    out_dir : path, optional
        Write ``accounts/<account_id>/targets.csv`` and ``summary.json`` as each account
        finishes, then ``batch.csv`` and ``batch.json``; accounts already finished there
        with the same inputs are skipped. Default: nothing is written.
    serial : bool
        Solve in this process, without Dask (results identical to the bit).
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://host:8786``).
    n_workers : int, optional
        Workers of the ``LocalCluster`` (default: one per core).
    chunk_size : int, optional
        Accounts per task (default: about eight tasks per worker, at most 25 accounts).
    retries : int
        Re-runs of a task that failed or lost its worker.
    progress : bool or Progress
        Show a progress bar (done, failed, rate, time left), or report to this object.
    lots : path or DataFrame, optional
        For a job with a ``taxes`` section: the accounts' tax lots, ``account_id, lot_id,
        asset_id, shares, cost_basis, acquired`` (default: the job's ``taxes.lots``). Each
        account's lots drive its tax-aware solve (its problem compiled for its lot set); an
        account without lots, or whose lots do not add up to its holdings, fails alone.

    Returns
    -------
    pd.DataFrame
        One row per account in the accounts table's order: status, TE, active share,
        turnover, names held, NAV and cash, group weights, active exposures, seconds,
        error or infeasibility diagnosis, input hash (``batch.csv``'s columns).

    Raises
    ------
    SpecError, DataError
        The job, its data or a table as a whole is invalid, naming file, row and value; an
        account whose own data are bad fails alone, in its row.
    """
    return run_batch(job, accounts, holdings, client=client, out_dir=out_dir, serial=serial, scheduler=scheduler,
                     n_workers=n_workers, chunk_size=chunk_size, retries=retries, progress=progress, lots=lots).frame


__all__ = [
    "ACCOUNTS_DIR",
    "ACCOUNT_COLUMNS",
    "BATCH_CSV",
    "BATCH_JSON",
    "EXCLUSIONS_RULE",
    "FAILED",
    "FINISHED",
    "LOTS_COLUMNS",
    "MAX_CHUNK",
    "OVERRIDE_FIELDS",
    "AccountFacts",
    "AccountHoldings",
    "AccountOutcome",
    "AccountPlanner",
    "AccountRow",
    "AccountTask",
    "AccountView",
    "AccountsTable",
    "BatchExport",
    "BatchInterrupted",
    "BatchPayload",
    "BatchRun",
    "ChunkResult",
    "DaskExecutor",
    "HoldingsTable",
    "LotsTable",
    "NoProgress",
    "Progress",
    "RichProgress",
    "SerialExecutor",
    "account_dir",
    "batch",
    "batch_job",
    "data_sha256",
    "export_batch",
    "finished_summary",
    "payload_for",
    "placeholder_lots",
    "prepare_house",
    "read_account_holdings",
    "read_account_lots",
    "read_accounts",
    "read_batch_record",
    "read_targets",
    "run_batch",
    "solve_accounts",
]
