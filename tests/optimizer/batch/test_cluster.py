"""Acceptance 1 and 2 (faults of the runner): a real 2-worker LocalCluster equals --serial and one solve per account;
a worker killed mid-batch; an interrupted batch resumed without recomputing finished accounts."""

from __future__ import annotations

import importlib.util
import os
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trimtab.optimizer.batch import NoProgress, read_targets, run_batch

HERE = Path(__file__).parent
_specs = {name: importlib.util.spec_from_file_location(f"trimtab_tests_batch_{name}", HERE / f"{name}.py")
          for name in ("references", "accounts_data")}
references, accounts_data = (importlib.util.module_from_spec(s) for s in _specs.values())
for _module, _spec in zip((references, accounts_data), _specs.values()):
    _spec.loader.exec_module(_module)
N_ACCOUNTS, same_weights = references.N_ACCOUNTS, references.same_weights


@pytest.fixture(scope="module")
def cluster_run(house, books, cluster, tmp_path_factory):
    job, _, _, folder = house
    out = tmp_path_factory.mktemp("cluster") / "batch"
    return run_batch(job.source, folder / "accounts.csv", folder / "holdings.csv", client=cluster, out_dir=out)


def test_the_cluster_gives_the_serial_results_to_the_bit(cluster_run, serial_run):
    assert cluster_run.runner.startswith("dask (2 workers at tcp://127.0.0.1")
    assert (cluster_run.frame["status"] == "ok").all() and cluster_run.solved == N_ACCOUNTS
    assert len(cluster_run.weights) == N_ACCOUNTS and same_weights(cluster_run.weights, serial_run.weights)
    assert cluster_run.compiles == 2  # once per worker process, then every account is a re-solve
    for account in cluster_run.weights:
        ours = cluster_run.out_dir / "accounts" / account / "targets.csv"
        assert ours.read_bytes() == (serial_run.out_dir / "accounts" / account / "targets.csv").read_bytes()
    figures = [c for c in serial_run.frame.columns if c not in ("seconds",)]
    pd.testing.assert_frame_equal(cluster_run.frame[figures], serial_run.frame[figures])


def test_every_account_equals_solving_it_alone(house, books, cluster_run):
    job, snapshot, model, _ = house
    accounts, holdings = books
    checked_alone = checked_masked = 0
    for _, row in accounts.iterrows():
        ours = cluster_run.weights[row["account_id"]]
        alone = references.solve_alone(accounts_data.HOUSE_JOB, snapshot, model, row, holdings,
                                       exclusions_rule=True).weights
        if not row["restricted"]:
            # the same problem as optimize() (or prepare().solve() with the holdings, for an account holding cash)
            assert np.abs(ours.to_numpy() - alone.to_numpy()).max() <= 1e-9, row["account_id"]
            checked_alone += 1
            continue
        # exclusions: the batch's own formulation to 1e-9; optimize() with a `restricted` rule (an equivalent
        # problem, solved to the solver's 1e-10 gaps) to 1e-7
        masked = references.solve_with_mask(accounts_data.HOUSE_JOB, snapshot, model, row, holdings)
        assert np.abs(ours.to_numpy() - masked.to_numpy()).max() <= 1e-9, row["account_id"]
        assert np.abs(ours.to_numpy() - alone.to_numpy()).max() <= 1e-7, row["account_id"]
        assert ours[str(row["restricted"]).split(";")].abs().max() <= 1e-9
        checked_masked += 1
    assert checked_alone + checked_masked == N_ACCOUNTS and checked_masked >= 5
    cash = accounts["cash"] > 0
    assert cash.sum() == 10 and not cluster_run.frame.loc[cash.to_numpy(), "turnover"].isna().any()


class _KillABusyWorker(NoProgress):
    """After the first account is written, SIGKILL a worker process that has chunks assigned."""

    def __init__(self, client):
        self.client, self.killed = client, []
        self.pids = client.run(os.getpid)  # worker address → pid of the worker process (not its nanny)

    def advance(self, outcome):
        if self.killed:
            return
        busy = [w for w, keys in self.client.processing().items() if keys and w in self.pids]
        victim = busy[0] if busy else next(iter(self.pids))
        os.kill(self.pids[victim], signal.SIGKILL)
        self.killed.append((victim, len(self.client.processing().get(victim, ())), self.pids[victim]))


def test_a_worker_killed_mid_batch_loses_nothing(house, cluster, cluster_run, serial_run, tmp_path):
    job, _, _, folder = house
    killer = _KillABusyWorker(cluster)
    run = run_batch(job.source, folder / "accounts.csv", folder / "holdings.csv", client=cluster, chunk_size=2,
                    out_dir=tmp_path / "batch", progress=killer)
    [(_, assigned, pid)] = killer.killed
    assert assigned >= 1  # the killed worker held chunks in flight: the scheduler re-ran them elsewhere
    assert (run.frame["status"] == "ok").all() and run.solved == N_ACCOUNTS
    assert same_weights(run.weights, serial_run.weights)
    assert len(list((tmp_path / "batch" / "accounts").glob("*/summary.json"))) == N_ACCOUNTS
    cluster.wait_for_workers(2, timeout=60)  # its nanny started a new worker process
    assert pid not in cluster.run(os.getpid).values()


class _StopAfter(NoProgress):
    """Ctrl-C, as the user presses it: a KeyboardInterrupt once ``n`` accounts are written."""

    def __init__(self, n):
        self.n, self.seen = n, 0

    def advance(self, outcome):
        self.seen += 1
        if self.seen == self.n:
            raise KeyboardInterrupt


def test_an_interrupted_batch_resumes_without_recomputing_finished_accounts(house, cluster, serial_run, tmp_path):
    job, _, _, folder = house
    out = tmp_path / "batch"
    args = (job.source, folder / "accounts.csv", folder / "holdings.csv")
    with pytest.raises(KeyboardInterrupt):
        run_batch(*args, serial=True, out_dir=out, chunk_size=5, progress=_StopAfter(20))
    stopped = pd.read_csv(out / "batch.csv")
    finished = set(stopped.loc[stopped["status"] == "ok", "account_id"])
    assert len(finished) >= 20 and set(stopped["status"]) == {"ok", "not_run"}
    summaries = {p.parent.name: p for p in (out / "accounts").glob("*/summary.json")}
    assert set(summaries) == finished
    stamps = {a: p.stat().st_mtime_ns for a, p in summaries.items()}
    tampered = sorted(finished)[0]  # its targets.csv no longer matches the hash its summary records
    targets = out / "accounts" / tampered / "targets.csv"
    targets.write_bytes(targets.read_bytes().replace(b"0.0", b"0.1", 1))

    again = run_batch(*args, client=cluster, out_dir=out)  # resumed on the cluster: the same input hashes
    resumed = finished - {tampered}
    assert again.resumed == len(resumed) and again.solved == N_ACCOUNTS - len(resumed)
    assert set(again.weights) == set(serial_run.weights) - resumed  # only these were solved again
    assert set(again.frame.loc[again.frame["resumed"], "account_id"]) == resumed
    assert all(summaries[a].stat().st_mtime_ns == stamps[a] for a in resumed)  # not rewritten
    assert (again.frame["status"] == "ok").all()
    assert same_weights(again.weights, {a: serial_run.weights[a] for a in again.weights})
    for account in resumed:  # what was kept is the same target (targets.csv holds 12 decimals)
        assert np.abs(read_targets(out, account).to_numpy() - serial_run.weights[account].to_numpy()).max() < 1e-12


@pytest.mark.filterwarnings("ignore:Port .* is already in use")  # a threaded worker's own status page
def test_a_worker_with_two_threads_solves_one_chunk_at_a_time(house, serial_run):
    """Threads of one worker share its compiled problem: results stay those of --serial (checked to the bit)."""
    from distributed import Client, LocalCluster

    job, _, _, folder = house
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as local, \
            Client(local) as client:
        run = run_batch(job.source, folder / "accounts.csv", folder / "holdings.csv", client=client, chunk_size=2)
    assert (run.frame["status"] == "ok").all() and same_weights(run.weights, serial_run.weights)
