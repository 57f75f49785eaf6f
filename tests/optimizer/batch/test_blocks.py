"""Acceptance 3: the desk's view — block orders are the sums of the account orders per asset and side, and the
allocations add up to each block (also as FIX NoAllocs, when QuickFIX is installed)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from trimtab.optimizer.export import read_batch, split_allocations
from trimtab.optimizer.batch import export_batch


@pytest.fixture(scope="module")
def exported(house, serial_run, tmp_path_factory):
    _, snapshot, _, _ = house
    folder = tmp_path_factory.mktemp("desk")
    master = snapshot.assets[["price"]].assign(ticker=snapshot.asset_ids, lot_size=1)
    master.to_csv(folder / "prices.csv", index_label="asset_id")
    return export_batch(serial_run.out_dir, folder / "prices.csv", folder / "orders"), folder


def test_every_finished_account_gets_its_own_orders(exported, serial_run, books):
    done, folder = exported
    accounts, holdings = books
    assert set(done.accounts) == set(accounts["account_id"]) and not done.skipped and not done.failed
    for account, batch in done.accounts.items():
        assert batch.portfolio_id == account and len(batch.orders) > 0
        assert read_batch(done.written[account]).orders["order_id"].tolist() == batch.orders["order_id"].tolist()
        mine = holdings[holdings["account_id"] == account].set_index("asset_id")["shares"]
        current = mine.reindex(batch.orders["asset_id"], fill_value=0).to_numpy()
        assert (batch.orders["current_shares"].to_numpy() == current).all()
    restricted = accounts.loc[accounts["restricted"] != "", ["account_id", "restricted"]]
    for account, names in restricted.itertuples(index=False):
        orders = done.accounts[account].orders.set_index("asset_id")
        held = [a for a in names.split(";") if a in orders.index]
        assert (orders.loc[held, "target_shares"] == 0).all()  # the account's exclusions are sold out
        assert (orders.loc[held, "reason"] == "exclusion").all()


def test_blocks_are_the_sums_of_the_account_orders_per_asset_and_side(exported):
    done, _ = exported
    every = pd.concat([b.orders.assign(account_id=a) for a, b in done.accounts.items()], ignore_index=True)
    sums = every.groupby(["asset_id", "side"])[["quantity", "notional", "current_shares", "target_shares"]].sum()
    blocks = done.blocks.batch.orders.set_index(["asset_id", "side"]).sort_index()
    assert blocks.index.is_unique and list(blocks.index) == list(sums.index)
    assert (blocks["quantity"] == sums["quantity"]).all()
    assert (blocks["current_shares"] == sums["current_shares"]).all()
    assert (blocks["target_shares"] == sums["target_shares"]).all()
    assert np.allclose(blocks["notional"], sums["notional"], rtol=0, atol=1e-6)
    assert set(blocks["reason"]) == {"block"} and done.blocks.batch.portfolio_id == "BLOCK"
    both = blocks.reset_index().groupby("asset_id")["side"].nunique()
    assert (both == 2).any()  # buys and sells of one asset stay two blocks: accounts never cross


def test_allocations_add_up_to_each_block(exported):
    done, folder = exported
    allocations = done.blocks.allocations
    blocks = done.blocks.batch.orders.set_index("order_id")
    per_block = allocations.groupby("block_order_id")["quantity"].sum()
    assert (per_block.reindex(blocks.index) == blocks["quantity"]).all()
    every = pd.concat([b.orders.assign(account_id=a) for a, b in done.accounts.items()])
    assert len(allocations) == len(every) and allocations["account_order_id"].is_unique
    joined = allocations.merge(every, left_on="account_order_id", right_on="order_id", suffixes=("", "_order"))
    assert (joined["quantity"] == joined["quantity_order"]).all()
    assert (joined["account_id"] == joined["account_id_order"]).all() and (joined["side"] == joined["side_order"]).all()
    for block_id, block in blocks.iterrows():  # what FIX NoAllocs carries: the fractions split back exactly
        mine = allocations[allocations["block_order_id"] == block_id]
        split = split_allocations(int(block["quantity"]), done.blocks.fractions(block_id))
        assert split == dict(zip(mine["account_id"], mine["quantity"].astype(int)))
    files = done.written["BLOCK"]
    assert pd.read_csv(files / "allocations.csv")["quantity"].sum() == blocks["quantity"].sum()
    manifest = json.loads((files / "manifest.json").read_text())
    assert "allocations.csv" in manifest["files"] and read_batch(files).batch_id == done.blocks.batch.batch_id


def test_the_fix_file_carries_each_block_with_its_allocations(exported, serial_run):
    pytest.importorskip("quickfix")
    from trimtab.optimizer.export import block_fix_bytes

    done, _ = exported
    lines = block_fix_bytes(done.blocks).decode("ascii").splitlines()
    assert len(lines) == len(done.blocks.batch.orders)
    first = dict(f.split("=", 1) for f in lines[0].split("\x01") if f)
    block = done.blocks.batch.orders.iloc[0]
    mine = done.blocks.allocations[done.blocks.allocations["block_order_id"] == block["order_id"]]
    assert first["11"] == block["order_id"] and int(first["78"]) == len(mine)


def test_the_export_command_of_a_batch_directory(house, serial_run, exported, tmp_path, capsys):
    import typer

    from trimtab.optimizer.cli._batch import export_batch_command, is_batch_dir

    _, folder = exported
    assert is_batch_dir(serial_run.out_dir) and not is_batch_dir(serial_run.out_dir / "accounts" / "SMA00000")
    args = (serial_run.out_dir, None, folder / "prices.csv", ["csv"], None, tmp_path / "orders", 0.0, 0, 0.0, 1e-4,
            False, None)
    export_batch_command(*args)
    assert "50 accounts:" in capsys.readouterr().out and len(list((tmp_path / "orders").glob("*/allocations.csv"))) == 1
    with pytest.raises(typer.Exit) as refused:
        export_batch_command(*args, cash=1000.0)
    assert refused.value.exit_code == 2 and "--cash do(es) not apply" in " ".join(capsys.readouterr().err.split())
