"""Many accounts: 1,000 accounts × 500 names — a loop over optimize(), --serial and a 2-worker Dask LocalCluster.

Run from the repository root (it uses this checkout's trimtab)::

    python bench/bench_batch.py [--accounts 1000] [--repeat 3] [--loop-sample 40]
    python bench/bench_batch.py --write-example demo/ [--accounts 200]   # input files for the README's commands
    python bench/bench_batch.py --taxes [--accounts 200]   # taxable accounts, each with its own tax lots

The accounts (``tests/optimizer/batch/accounts_data.py``) hold the default job's names around
its model holdings, $10m–$100m each with cash; a third override ``turnover_cap.max`` or
``mag7_cap.max``, a fifth restrict one to three names. Every figure is accounts per second
over the whole call (tables read, accounts planned, solved, files written), min and median of
``--repeat`` runs:

- ``optimize() loop``: what a user writes today — per account, the job with its overrides and
  exclusions, ``trimtab.optimize`` (``prepare(...).solve`` with its holdings for an account
  holding cash) and ``trimtab.write_run``, data and risk model loaded once (the compile cache
  serves accounts whose rules are the house's); timed on ``--loop-sample`` accounts;
- ``--serial``: ``run_batch(serial=True)``, compiled once, in this process;
- ``dask 2 workers``: ``run_batch(client=...)`` on a running 2-worker ``LocalCluster`` (the
  payload scattered in every run; a worker compiles on its first run and keeps the problem);
- ``end to end``: once, as ``trimtab batch`` runs — the cluster started and stopped inside.

``--taxes`` runs the tax-aware house job instead (``taxes: {weight: 1}``), fully invested accounts
with one to three lots per holding (``make_lots``): ``--serial`` and the 2-worker cluster, each
account compiled for its own lot set.

Overhead is ``1 − Σ worker busy seconds / (workers × wall seconds of solving)``: scheduling,
shipping and the final chunk's imbalance. Memory is each worker process's peak RSS.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's trimtab (Dask's spawned workers inherit the path)


def _load(name: str):
    path = ROOT / "tests" / "optimizer" / "batch" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"trimtab_bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_inputs(folder: Path, n: int, snapshot) -> dict[str, Path]:
    """The house job, accounts, holdings and a security master (prices, tickers) in ``folder``."""
    data = _load("accounts_data")
    folder.mkdir(parents=True, exist_ok=True)
    job = data.write_house_job(folder)
    accounts, holdings = data.make_accounts(snapshot, n)
    accounts.to_csv(folder / "accounts.csv", index=False)
    holdings.to_csv(folder / "holdings.csv", index=False)
    master = snapshot.assets[["price"]].assign(ticker=snapshot.asset_ids, lot_size=1)
    master.to_csv(folder / "prices.csv", index_label="asset_id")
    return {"job": job, "accounts": folder / "accounts.csv", "holdings": folder / "holdings.csv",
            "prices": folder / "prices.csv"}


def taxed_section(n: int, repeat: int, snapshot) -> None:
    """Taxable accounts: the tax-aware house job, each account with its own lots; serial and 2 Dask workers."""
    import pandas as pd
    from distributed import Client, LocalCluster

    from trimtab.optimizer.batch import run_batch

    data = _load("accounts_data")
    work = Path(tempfile.mkdtemp(prefix="trimtab-bench-batch-taxes-"))
    job = data.write_house_job(work, taxes=True)
    accounts, holdings = data.make_accounts(snapshot, n, seed=3, fully_invested=True)
    accounts["restricted"] = ""
    lots = data.make_lots(snapshot, holdings, seed=2, gain_bias=0.72)
    for name, frame in (("accounts", accounts), ("holdings", holdings), ("lots", lots)):
        frame.to_csv(work / f"{name}.csv", index=False)
    inputs = (job, work / "accounts.csv", work / "holdings.csv")
    serial, dask = [], []
    for i in range(repeat):
        started = time.perf_counter()
        reference = run_batch(*inputs, lots=work / "lots.csv", serial=True, out_dir=work / f"serial{i}")
        serial.append(time.perf_counter() - started)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.run(lambda: None)
        for i in range(repeat):
            started = time.perf_counter()
            run = run_batch(*inputs, lots=work / "lots.csv", client=client, out_dir=work / f"dask{i}")
            dask.append(time.perf_counter() - started)
            assert run.frame[["account_id", "status"]].equals(reference.frame[["account_id", "status"]])
    frame = reference.frame
    solved = frame[frame["status"] == "ok"]
    print(f"{n} taxable accounts × {snapshot.n_assets} names, {len(lots) / n:.0f} lots each on average · tax-aware "
          f"house job · min and median of {repeat} runs")
    print(f"{'accounts per second':36s} {'min':>8s} {'median':>8s}")
    print(f"{'--serial':36s} {_rates(serial, n)}")
    print(f"{'dask LocalCluster, 2 workers':36s} {_rates(dask, n)}")
    print(f"solved {len(solved)} of {n}; per account (serial) {1000 * statistics.median(serial) / n:.0f} ms; median tax "
          f"{pd.to_numeric(solved['tax_percent_of_nav']).median():+.3f} % of NAV, lots sold "
          f"{pd.to_numeric(solved['lots_sold']).median():.0f}")


def _rates(seconds: list[float], n: int) -> str:
    rates = [n / s for s in seconds]
    return f"{min(rates):8.1f} {statistics.median(rates):8.1f}"


def _worker_memory(client) -> dict[str, float]:
    def peak() -> float:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB → MiB (Linux)

    return client.run(peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--loop-sample", type=int, default=40, help="accounts timed for the optimize() loop")
    parser.add_argument("--write-example", type=Path, help="write the input files to this folder and stop")
    parser.add_argument("--taxes", action="store_true", help="taxable accounts with tax lots instead")
    args = parser.parse_args()

    import cloudpickle  # what Dask ships with
    import pandas as pd
    from distributed import Client, LocalCluster

    import trimtab
    from trimtab.optimizer.batch import AccountPlanner, batch_job, payload_for, read_account_holdings, read_accounts
    from trimtab.optimizer.batch import data_sha256, run_batch

    job0 = trimtab.load_job(_load("accounts_data").write_house_job(Path(tempfile.mkdtemp())))
    snapshot = trimtab.optimizer.load_market_data(job0)
    if args.write_example is not None:
        files = write_inputs(args.write_example, args.accounts, snapshot)
        print("wrote " + ", ".join(str(p) for p in files.values()))
        return
    if args.taxes:
        taxed_section(args.accounts, args.repeat, snapshot)
        return
    load_before = os.getloadavg()[0]
    model = trimtab.optimizer.estimate_risk(job0, snapshot)
    work = Path(tempfile.mkdtemp(prefix="trimtab-bench-batch-"))
    files = write_inputs(work / "inputs", args.accounts, snapshot)
    n = args.accounts
    inputs = (files["job"], files["accounts"], files["holdings"])

    references, house = _load("references"), _load("accounts_data").HOUSE_JOB
    accounts, holdings = pd.read_csv(files["accounts"], keep_default_na=False), pd.read_csv(files["holdings"])
    accounts = accounts.replace("", float("nan")).assign(restricted=lambda a: a["restricted"].fillna(""))
    sample = accounts.head(args.loop_sample)
    loop = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        for _, row in sample.iterrows():
            try:
                result = references.solve_alone(house, snapshot, model, row, holdings, exclusions_rule=False)
            except trimtab.InfeasibleError:
                continue
            trimtab.write_run(result, work / "loop" / row["account_id"])
        loop.append((time.perf_counter() - started) * n / len(sample))

    serial = []
    for i in range(args.repeat):
        started = time.perf_counter()
        run = serial_run = run_batch(*inputs, serial=True, out_dir=work / f"serial{i}")
        serial.append(time.perf_counter() - started)
        failed = run.frame.loc[run.frame["status"] != "ok", ["account_id", "status"]]

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    client.run(lambda: None)  # the workers are up (their first batch still imports trimtab: counted)
    dask, overheads, compiles, share = [], [], [], []
    for i in range(args.repeat):
        started = time.perf_counter()
        run = run_batch(*inputs, client=client, out_dir=work / f"dask{i}")
        dask.append(time.perf_counter() - started)
        overheads.append(run.overhead)
        compiles.append(run.compiles)
        share.append(run.worker_cpu_seconds / run.worker_seconds)
        assert run.frame[["account_id", "status"]].equals(serial_run.frame[["account_id", "status"]])
    memory = _worker_memory(client)
    client.close()
    cluster.close()

    started = time.perf_counter()
    end = run_batch(*inputs, n_workers=2, out_dir=work / "end_to_end")
    end_to_end = time.perf_counter() - started

    table = read_accounts(files["accounts"])
    prepared = trimtab.prepare(batch_job(trimtab.load_job(files["job"]), table))
    digest = data_sha256(prepared.data)
    planner = AccountPlanner(prepared, table, read_account_holdings(files["holdings"], table), digest)
    tasks = [planner.plan(row)[0] for row in table.accounts]
    payload_mb = len(cloudpickle.dumps(payload_for(prepared, digest), protocol=5)) / 2**20
    tasks_mb = len(cloudpickle.dumps(tasks, protocol=5)) / 2**20
    per_account = statistics.median(serial) / n

    print(f"{n} accounts × {snapshot.n_assets} names · default job, named rules · {snapshot.dataset}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}; "
          f"min and median of {args.repeat} runs; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(f"{'accounts per second':36s} {'min':>8s} {'median':>8s}")
    print(f"{'optimize() loop (' + str(len(sample)) + '-account sample)':36s} {_rates(loop, n)}")
    print(f"{'--serial (compiled once)':36s} {_rates(serial, n)}")
    print(f"{'dask LocalCluster, 2 workers':36s} {_rates(dask, n)}")
    print(f"end to end, cluster started inside:  {end_to_end:6.1f} s for {n} accounts "
          f"({'under' if end_to_end < 30 else 'OVER'} 30 s): start-up {end.seconds - end.dispatch_seconds:.1f} s "
          f"(tables, data, risk model, cluster, planning), solving and writing {end.dispatch_seconds:.1f} s")
    print(f"{len(failed)} account(s) infeasible or failed, alike in every runner: {', '.join(failed['account_id'][:5])}")
    assert end.frame[["account_id", "status"]].equals(serial_run.frame[["account_id", "status"]])
    print(f"scheduler overhead: median {100 * statistics.median(overheads):.1f} % (max {100 * max(overheads):.1f} %) "
          f"of the workers' time; a busy worker had {100 * statistics.median(share):.0f} % of a core (CPU / wall)")
    print(f"per account (serial): {1000 * per_account:.1f} ms; compiles per run on the cluster: {compiles} "
          "(once per worker process, then kept while the payload is the same)")
    print(f"each worker receives: payload {payload_mb:.2f} MB once, account tasks {tasks_mb / 2:.2f} MB "
          f"(half of {tasks_mb:.2f} MB)")
    print("peak memory per worker: " + ", ".join(f"{m:.0f} MiB" for m in memory.values()))


if __name__ == "__main__":
    main()
