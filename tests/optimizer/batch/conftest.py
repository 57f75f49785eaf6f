"""Shared batch fixtures: the house job, 50 accounts, their serial batch, and a real 2-worker Dask cluster."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("trimtab_tests_accounts_data", Path(__file__).parent / "accounts_data.py")
accounts_data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(accounts_data)

_spec = importlib.util.spec_from_file_location("trimtab_tests_batch_references", Path(__file__).parent / "references.py")
references = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(references)
N_ACCOUNTS = references.N_ACCOUNTS


@pytest.fixture(scope="session")
def house(tmp_path_factory):
    """(job, snapshot, risk model, folder) of the house job (the default job with named rules)."""
    from trimtab import optimizer
    from trimtab.constraints import load_job

    folder = tmp_path_factory.mktemp("house")
    job = load_job(accounts_data.write_house_job(folder))
    snapshot = optimizer.load_market_data(job)
    return job, snapshot, optimizer.estimate_risk(job, snapshot), folder


@pytest.fixture(scope="session")
def books(house):
    """(accounts, holdings) frames of 50 accounts: fully invested but every fifth, which holds 2 % cash."""
    job, snapshot, _, folder = house
    accounts, holdings = accounts_data.make_accounts(snapshot, N_ACCOUNTS, seed=3, fully_invested=True)
    prices = snapshot.assets["price"]
    for i in range(0, N_ACCOUNTS, 5):
        account = accounts.loc[i, "account_id"]
        mine = holdings[holdings["account_id"] == account]
        value = float((mine["shares"].to_numpy() * prices.loc[mine["asset_id"]].to_numpy()).sum())
        accounts.loc[i, "cash"] = round(0.02 * value / 0.98, 2)
    accounts.to_csv(folder / "accounts.csv", index=False)
    holdings.to_csv(folder / "holdings.csv", index=False)
    return accounts, holdings


@pytest.fixture(scope="session")
def serial_run(house, books, tmp_path_factory):
    """The 50 accounts solved ``--serial`` into a batch directory."""
    from trimtab.optimizer.batch import run_batch

    job, _, _, folder = house
    out = tmp_path_factory.mktemp("serial") / "batch"
    return run_batch(job.source, folder / "accounts.csv", folder / "holdings.csv", out_dir=out, serial=True)


@pytest.fixture(scope="module")
def cluster():
    """A real ``distributed.LocalCluster``: 2 single-threaded worker processes on loopback, and its client."""
    from distributed import Client, LocalCluster

    local = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None)
    client = Client(local)
    yield client
    client.close()
    local.close()
