"""Issue 15 item 5: many accounts with tax lots — each account's lots drive its tax-aware solve.

Ten fully invested accounts with lots equal one ``trimtab.optimize`` per account with that account's
lots (1e-9), also on a 2-worker Dask cluster (to the bit); per-account results carry the taxes block and
``lots_sold.csv``; ``batch.csv`` has the tax columns; accounts with bad lots fail alone naming file, row and
value; tables wrong as a whole are refused; the export of the batch directory names each sell's lots.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trimtab
from trimtab.models import DataError, TaxLots
from trimtab.optimizer import read_run
from trimtab.optimizer.batch import export_batch, run_batch

HERE = Path(__file__).parent
_specs = {name: importlib.util.spec_from_file_location(f"trimtab_tests_batch_lots_{name}", HERE / f"{name}.py")
          for name in ("references", "accounts_data")}
references, accounts_data = (importlib.util.module_from_spec(s) for s in _specs.values())
for _module, _spec in zip((references, accounts_data), _specs.values()):
    _spec.loader.exec_module(_module)

N_GOOD = 10
TAXED_JOB = accounts_data.HOUSE_JOB + accounts_data.TAXES
BAD = ("SMA_NOLOTS", "SMA_OFF", "SMA_UNHELD", "SMA_NEGATIVE")


@pytest.fixture(scope="module")
def taxed(house, tmp_path_factory):
    """Ten good accounts with lots and four that fail alone, as CSV files; and the lots frame."""
    _, snapshot, _, _ = house
    folder = tmp_path_factory.mktemp("taxed")
    job = accounts_data.write_house_job(folder, taxes=True)
    accounts, holdings = accounts_data.make_accounts(snapshot, N_GOOD, seed=3, fully_invested=True)
    accounts["restricted"] = ""
    lots = accounts_data.make_lots(snapshot, holdings, seed=2, gain_bias=0.72)
    rows, extra_holdings, extra_lots = [], [], []
    for bad, source in zip(BAD, accounts["account_id"][:4]):
        rows.append({"account_id": bad, "cash": 0.0, "restricted": ""})
        mine = holdings[holdings["account_id"] == source].assign(account_id=bad)
        its = lots[lots["account_id"] == source].assign(account_id=bad)
        if bad == "SMA_NOLOTS":
            its = its.iloc[:0]
        elif bad == "SMA_OFF":  # one lot holds 7 shares too many
            its = its.assign(shares=its["shares"].where(its["lot_id"] != its["lot_id"].iloc[0], its["shares"] + 7))
        elif bad == "SMA_UNHELD":  # lots of a name its holdings rows do not list
            mine = mine[mine["asset_id"] != its["asset_id"].iloc[0]]
        else:
            its = its.astype({"shares": object})
            its.iloc[1, its.columns.get_loc("shares")] = -5
        extra_holdings.append(mine)
        extra_lots.append(its)
    accounts = pd.concat([accounts, pd.DataFrame(rows)], ignore_index=True)
    holdings = pd.concat([holdings, *extra_holdings], ignore_index=True)
    lots = pd.concat([lots, *extra_lots], ignore_index=True)
    accounts.to_csv(folder / "accounts.csv", index=False)
    holdings.to_csv(folder / "holdings.csv", index=False)
    lots.to_csv(folder / "lots.csv", index=False)
    return {"folder": folder, "job": job, "accounts": accounts, "holdings": holdings, "lots": lots}


@pytest.fixture(scope="module")
def taxed_run(taxed, tmp_path_factory):
    folder = taxed["folder"]
    return run_batch(taxed["job"], folder / "accounts.csv", folder / "holdings.csv", lots=folder / "lots.csv",
                     out_dir=tmp_path_factory.mktemp("taxed_out") / "batch", serial=True)


def _alone(house, taxed, row) -> trimtab.TargetPortfolio:
    """The account on its own: the job with its overrides, its holdings as the snapshot's, its lots."""
    _, snapshot, model, _ = house
    job = references.account_job(TAXED_JOB, row, exclusions_rule=False, restricted_rule=False)
    w0 = references.current_weights(snapshot, row, taxed["holdings"])
    mine = taxed["lots"][taxed["lots"]["account_id"] == row["account_id"]]
    return trimtab.optimize(job, snapshot=dataclasses.replace(snapshot, holdings=w0), risk_model=model,
                            lots=TaxLots(mine.reset_index(drop=True)))


def test_every_account_equals_optimize_with_its_own_lots(house, taxed, taxed_run):
    frame = taxed_run.frame.set_index("account_id")
    good = taxed["accounts"][~taxed["accounts"]["account_id"].isin(BAD)]
    assert (frame.loc[good["account_id"], "status"] == "ok").all() and taxed_run.solved == N_GOOD
    assert taxed_run.compiles == N_GOOD  # one compiled problem per lot set (and none for the house's)
    harvested = 0
    for _, row in good.iterrows():
        alone = _alone(house, taxed, row)
        ours = taxed_run.weights[row["account_id"]]
        assert np.abs(ours.to_numpy() - alone.weights.to_numpy()).max() <= 1e-9, row["account_id"]
        sold = pd.read_csv(taxed_run.out_dir / "accounts" / row["account_id"] / "lots_sold.csv", dtype={"lot_id": str})
        theirs = alone.diagnostics.taxes.lots_sold
        assert sold["lot_id"].tolist() == theirs["lot_id"].tolist()
        assert np.abs(sold["shares"].to_numpy() - theirs["shares"].to_numpy()).max() <= 1e-3  # 6 decimals, 1e-9 of NAV
        taxes = frame.loc[row["account_id"]]
        assert taxes["tax_usd"] == pytest.approx(alone.diagnostics.taxes.tax, abs=0.01 + 1e-6 * abs(alone.diagnostics.taxes.tax))
        assert taxes["lots_sold"] == len(theirs)
        harvested += taxes["losses_harvested_usd"] > 0
    assert harvested >= 1  # some accounts harvest losses (the lots include loss lots)


def test_each_account_has_the_single_run_contract_with_its_taxes(taxed, taxed_run):
    frame = taxed_run.frame.set_index("account_id")
    columns = list(taxed_run.frame.columns)
    assert columns[columns.index("tax_usd"):columns.index("tax_usd") + 5] == [
        "tax_usd", "tax_percent_of_nav", "net_realized_gain_usd", "losses_harvested_usd", "lots_sold"]
    for account in frame.index[frame["status"] == "ok"]:
        folder = taxed_run.out_dir / "accounts" / account
        summary = json.loads((folder / "summary.json").read_text())
        lots = (folder / "lots_sold.csv").read_bytes()
        assert summary["lots_sold_sha256"] == hashlib.sha256(lots).hexdigest()
        assert summary["account"]["account_id"] == account
        taxes = summary["taxes"]
        assert taxes["nav"] == pytest.approx(frame.loc[account, "nav"], rel=1e-12)  # valued at the account's NAV
        assert frame.loc[account, "tax_usd"] == taxes["tax"]["usd"]
        assert frame.loc[account, "tax_percent_of_nav"] == pytest.approx(100 * taxes["tax"]["usd"] / taxes["nav"], rel=1e-6)
        assert frame.loc[account, "net_realized_gain_usd"] == taxes["net_realized_gain"]["usd"]
        assert frame.loc[account, "lots_sold"] == taxes["lots_sold"] == lots.count(b"\n") - 1
        assert read_run(folder).status == summary["status"]  # the run directory reads back, lots hash checked
    on_disk = pd.read_csv(taxed_run.out_dir / "batch.csv")
    assert on_disk["lots_sold"].notna().sum() == N_GOOD


def test_accounts_with_bad_lots_fail_alone_naming_file_row_and_value(taxed, taxed_run):
    frame = taxed_run.frame.set_index("account_id")
    source = str(taxed["folder"] / "lots.csv")
    lots, holdings = taxed["lots"], taxed["holdings"]
    assert (frame.loc[list(BAD), "status"] == "error").all()
    errors = frame["error"]
    assert f"{source}: no lots for account SMA_NOLOTS" in errors["SMA_NOLOTS"]

    off = lots[lots["account_id"] == "SMA_OFF"]
    row = int(off.index[0]) + 2  # the header is row 1
    asset = off["asset_id"].iloc[0]
    held = int(holdings.loc[(holdings["account_id"] == "SMA_OFF") & (holdings["asset_id"] == asset), "shares"].iloc[0])
    assert f"{source} rows {row}" in errors["SMA_OFF"] and f"the lots of {asset} hold {held + 7:,}" in errors["SMA_OFF"]
    assert f"{held:,}" in errors["SMA_OFF"]

    unheld = lots[lots["account_id"] == "SMA_UNHELD"]
    asset = unheld["asset_id"].iloc[0]
    assert f"the lots of {asset} hold" in errors["SMA_UNHELD"] and "rows none) 0" in errors["SMA_UNHELD"]

    negative = lots[lots["account_id"] == "SMA_NEGATIVE"]
    row = int(negative.index[1]) + 2
    assert f"{source} row {row} (account SMA_NEGATIVE) (lot_id {negative['lot_id'].iloc[1]!r}): shares" in errors["SMA_NEGATIVE"]
    assert "-5" in errors["SMA_NEGATIVE"] and "positive number of shares" in errors["SMA_NEGATIVE"]
    assert not (taxed_run.out_dir / "accounts" / "SMA_OFF" / "summary.json").exists()


def test_tables_wrong_as_a_whole_are_refused(taxed, tmp_path):
    folder = taxed["folder"]
    args = (taxed["job"], folder / "accounts.csv", folder / "holdings.csv")
    stray = pd.concat([taxed["lots"], taxed["lots"].iloc[[0]].assign(account_id="SMA_UNLISTED")], ignore_index=True)
    stray.to_csv(tmp_path / "lots.csv", index=False)
    with pytest.raises(DataError, match=rf"lots.csv row {len(stray) + 1}: account_id 'SMA_UNLISTED' is not in the accounts"):
        run_batch(*args, lots=tmp_path / "lots.csv", serial=True)
    with pytest.raises(DataError, match="no lots table was given"):
        run_batch(*args, serial=True)
    plain = accounts_data.write_house_job(tmp_path)
    with pytest.raises(DataError, match="has no taxes section"):
        run_batch(plain, folder / "accounts.csv", folder / "holdings.csv", lots=folder / "lots.csv", serial=True)
    taxed["lots"].drop(columns=["cost_basis"]).to_csv(tmp_path / "short.csv", index=False)
    with pytest.raises(DataError, match=r"missing column\(s\) \['cost_basis'\]"):
        run_batch(*args, lots=tmp_path / "short.csv", serial=True)


def test_a_resumed_batch_recomputes_only_the_account_whose_lots_changed(taxed, taxed_run, tmp_path):
    folder = taxed["folder"]
    out = tmp_path / "batch"
    shutil.copytree(taxed_run.out_dir, out)
    args = (taxed["job"], folder / "accounts.csv", folder / "holdings.csv")
    again = run_batch(*args, lots=folder / "lots.csv", out_dir=out, serial=True)
    assert again.resumed == N_GOOD and again.solved == 0
    changed = taxed["lots"].copy()
    first = changed.index[changed["account_id"] == "SMA00003"][0]
    changed.loc[first, "cost_basis"] = changed.loc[first, "cost_basis"] * 2
    changed.to_csv(tmp_path / "lots.csv", index=False)
    third = run_batch(*args, lots=tmp_path / "lots.csv", out_dir=out, serial=True)
    assert third.resumed == N_GOOD - 1 and set(third.weights) == {"SMA00003"}


def test_two_dask_workers_give_the_serial_results_to_the_bit(taxed, taxed_run, cluster, tmp_path):
    folder = taxed["folder"]
    run = run_batch(taxed["job"], folder / "accounts.csv", folder / "holdings.csv", lots=folder / "lots.csv",
                    client=cluster, out_dir=tmp_path / "batch")
    assert references.same_weights(run.weights, taxed_run.weights)
    assert run.compiles == N_GOOD
    for account in run.weights:
        mine, theirs = (d / "accounts" / account / "lots_sold.csv" for d in (tmp_path / "batch", taxed_run.out_dir))
        assert mine.read_bytes() == theirs.read_bytes()
    figures = [c for c in taxed_run.frame.columns if c != "seconds"]
    pd.testing.assert_frame_equal(run.frame[figures], taxed_run.frame[figures])


def test_the_export_of_a_taxed_batch_names_each_sells_lots(house, taxed, taxed_run, tmp_path):
    _, snapshot, _, _ = house
    master = snapshot.assets[["price"]].assign(ticker=snapshot.asset_ids, lot_size=1)
    master.to_csv(tmp_path / "prices.csv", index_label="asset_id")
    done = export_batch(taxed_run.out_dir, tmp_path / "prices.csv", tmp_path / "orders")
    assert set(done.skipped) == set(BAD) and not done.failed and len(done.accounts) == N_GOOD
    lots = taxed["lots"].set_index(["account_id", "lot_id"])["shares"]
    for account, batch in done.accounts.items():
        assert (done.written[account] / "lots.csv").is_file()
        sells = batch.orders[batch.orders["side"] == "SELL"].set_index("order_id")
        per_order = batch.lots.groupby("order_id")["shares"].sum()
        assert per_order.reindex(sells.index).tolist() == sells["quantity"].tolist()
        assert (batch.lots["shares"].to_numpy() <= lots.loc[account].reindex(batch.lots["lot_id"]).to_numpy()).all()
        sold = pd.read_csv(taxed_run.out_dir / "accounts" / account / "lots_sold.csv", dtype={"lot_id": str})
        whole = sold["shares"].to_numpy() >= lots.loc[account].reindex(sold["lot_id"]).to_numpy() - 0.5
        assert set(batch.lots["lot_id"]) >= set(sold.loc[whole, "lot_id"])  # the run's whole lots are sold
