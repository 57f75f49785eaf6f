"""Acceptance 2 (faults of the inputs): an infeasible account, an unknown asset, bad cells — each account fails
alone with its reason in its row; tables that are wrong as a whole are refused naming file, row and value;
the CLI's exit codes (7 failed accounts, 2 bad input)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from trimtab.models import DataError
from trimtab.optimizer.batch import read_batch_record, run_batch


@pytest.fixture(scope="module")
def faulty(house, books, tmp_path_factory):
    """Eight accounts: two fine, six each with one fault of its own; written as CSV files."""
    job, _, _, _ = house
    accounts, holdings = books
    ids = list(accounts["account_id"][:8])
    table = accounts[accounts["account_id"].isin(ids)].reset_index(drop=True).copy()
    book = holdings[holdings["account_id"].isin(ids)].reset_index(drop=True).copy()
    table = table.astype({"turnover_cap.max": object, "cash": object})
    table.loc[1, ["mag7_cap.max", "turnover_cap.max"]] = [0.05, 0.3]  # MAG7 from ~27 % to 5 % in 30 % turnover
    table.loc[3, "restricted"] = "SP010;NOT_AN_ASSET"
    table.loc[4, "turnover_cap.max"] = -0.1
    table.loc[5, "cash"] = "lots"
    extra = pd.DataFrame([(ids[2], "NOPE", 10), (ids[6], "SP001", -5), (ids[7], "SP002", 1)],
                         columns=["account_id", "asset_id", "shares"])
    book = pd.concat([book[~((book["account_id"] == ids[6]) & (book["asset_id"] == "SP001"))], extra])
    folder = tmp_path_factory.mktemp("faulty")
    table.to_csv(folder / "accounts.csv", index=False)
    book.to_csv(folder / "holdings.csv", index=False)
    return job, folder, ids


@pytest.fixture(scope="module")
def faulty_run(faulty):
    job, folder, _ = faulty
    return run_batch(job.source, folder / "accounts.csv", folder / "holdings.csv", out_dir=folder / "out", serial=True)


def _row(run, account):
    return run.frame.set_index("account_id").loc[account]


def test_each_bad_account_fails_alone_with_its_reason(faulty, faulty_run):
    _, folder, ids = faulty
    rows = faulty_run.frame.set_index("account_id")
    assert list(rows["status"]) == ["ok", "infeasible", "error", "error", "error", "error", "error", "error"]
    infeasible = rows.loc[ids[1], "error"]
    assert "'mag7_cap' and 'turnover_cap' conflict" in infeasible and "raise the cap of 'mag7_cap'" in infeasible
    holdings_file, accounts_file = str(folder / "holdings.csv"), str(folder / "accounts.csv")
    line = {a: i + 2 for i, a in enumerate(ids)}  # the accounts file's rows (header = row 1)
    written = pd.read_csv(folder / "holdings.csv")
    nope = int(np.flatnonzero(written["asset_id"] == "NOPE")[0]) + 2  # the file's row (header = row 1)
    assert f"{holdings_file} row {nope} (account {ids[2]}): unknown asset 'NOPE'" in rows.loc[ids[2], "error"]
    assert f"{accounts_file} row {line[ids[3]]}" in rows.loc[ids[3], "error"]
    assert "['NOT_AN_ASSET']" in rows.loc[ids[3], "error"]
    assert f"row {line[ids[4]]}" in rows.loc[ids[4], "error"] and "turnover_cap.max = -0.1" in rows.loc[ids[4], "error"]
    assert "cash = 'lots' is not a finite number" in rows.loc[ids[5], "error"]
    assert "'SP001' = -5 is negative" in rows.loc[ids[6], "error"]
    assert "'SP002' is listed twice" in rows.loc[ids[7], "error"]
    assert faulty_run.solved == 2  # bad data never reaches a worker
    assert np.isfinite(rows.loc[ids[0], "tracking_error"]) and np.isnan(rows.loc[ids[1], "tracking_error"])


def test_failed_accounts_are_recorded_and_have_no_run_directory(faulty, faulty_run):
    _, folder, ids = faulty
    out = folder / "out"
    assert (out / "accounts" / ids[0] / "summary.json").is_file()
    diagnosis = json.loads((out / "accounts" / ids[1] / "error.json").read_text())
    assert diagnosis["status"] == "infeasible" and not diagnosis["diagnosis"]["feasible"]
    assert {m["name"] for m in diagnosis["diagnosis"]["conflict"]} == {"mag7_cap", "turnover_cap"}
    assert not (out / "accounts" / ids[1] / "summary.json").exists()
    record = read_batch_record(out)
    assert record["counts"]["accounts"] == 8 and record["counts"]["ok"] == 1
    assert record["counts"]["infeasible"] == 1 and record["counts"]["error"] == 6
    assert len({a["input_sha256"] for a in record["accounts"].values()}) == 8
    assert pd.read_csv(out / "batch.csv")["status"].tolist() == list(faulty_run.frame["status"])


def test_the_cli_exits_7_when_accounts_fail_and_names_them(faulty, trimtab_process, tmp_path):
    job, folder, ids = faulty
    done = trimtab_process("batch", job.source, folder / "accounts.csv", folder / "holdings.csv", "--out",
                           tmp_path / "out", "--serial", "-q")
    assert done.returncode == 7, done.stderr
    assert "1 ok" in done.stdout and "6 error" in done.stdout and "1 infeasible" in done.stdout
    assert ids[1] in done.stderr and "7 account(s) failed" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a, h: a.rename(columns={"mag7_cap.max": "mag8_cap.max"}),
         "column 'mag8_cap.max': no rule of the job is named 'mag8_cap'; valid override columns: ['mag7_cap.max'"),
        (lambda a, h: a.rename(columns={"mag7_cap.max": "mag7_cap.min"}),
         "rule 'mag7_cap' (group_weight) sets no 'min'"),
        (lambda a, h: a.rename(columns={"mag7_cap.max": "mag7_cap.cap"}), "is neither one of"),
        (lambda a, h: pd.concat([a, a.iloc[[1]]]), "row 10: account_id 'SMA00001' is listed twice (also row 3)"),
        (lambda a, h: a.assign(account_id=["../x", *a["account_id"][1:]]), "row 2: account_id '../x' is not a valid"),
    ],
)
def test_a_table_wrong_as_a_whole_is_refused_naming_file_row_and_value(faulty, tmp_path, change, message):
    job, folder, _ = faulty
    accounts, holdings = pd.read_csv(folder / "accounts.csv"), pd.read_csv(folder / "holdings.csv")
    changed = change(accounts, holdings)
    changed.to_csv(tmp_path / "accounts.csv", index=False)
    with pytest.raises(DataError, match="accounts.csv") as caught:
        run_batch(job.source, tmp_path / "accounts.csv", folder / "holdings.csv", serial=True, out_dir=tmp_path / "o")
    assert message in str(caught.value)
    assert not (tmp_path / "o").exists()  # refused before anything was written


def test_holdings_of_an_unknown_account_are_refused(faulty, trimtab_process, tmp_path):
    job, folder, _ = faulty
    holdings = pd.read_csv(folder / "holdings.csv")
    holdings.loc[len(holdings)] = ["GHOST", "SP001", 10]
    holdings.to_csv(tmp_path / "holdings.csv", index=False)
    done = trimtab_process("batch", job.source, folder / "accounts.csv", tmp_path / "holdings.csv", "--serial", "-q",
                           "--out", tmp_path / "out")
    assert done.returncode == 2
    assert f"row {len(holdings) + 1}: account_id 'GHOST' is not in the accounts table" in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr and not (tmp_path / "out").exists()


def test_holdings_as_weights_or_with_nav_give_the_same_targets(house, books, serial_run, tmp_path):
    job, snapshot, _, _ = house
    accounts, holdings = books
    ids = list(accounts["account_id"][:6])
    prices = snapshot.assets["price"]
    mine = holdings[holdings["account_id"].isin(ids)].copy()
    value = mine["shares"] * prices.loc[mine["asset_id"]].to_numpy()
    table = accounts[accounts["account_id"].isin(ids)].copy()
    table["nav"] = value.groupby(mine["account_id"]).sum().loc[ids].to_numpy() + table["cash"].to_numpy()
    mine["weight"] = value / table.set_index("account_id")["nav"].loc[mine["account_id"]].to_numpy()
    as_weights = run_batch(job.source, table.drop(columns="cash"), mine.drop(columns="shares"), serial=True)
    with_nav = run_batch(job.source, table.drop(columns="cash"), mine.drop(columns="weight"), serial=True)
    for run in (as_weights, with_nav):
        assert (run.frame["status"] == "ok").all()
        assert np.allclose(run.frame["cash"], table["cash"], rtol=0, atol=1e-6)
        for account in ids:
            assert np.abs(run.weights[account].to_numpy() - serial_run.weights[account].to_numpy()).max() <= 1e-9
