"""Issue 15 item 3 (export): a tax-aware run's sell orders name the tax lots they sell (specific identification).

The default job with ``taxes: {weight: 1}`` on the embedded data (synthetic lots, $1bn), a desk holding exactly
the lots: every sell order's lots add up to its quantity and match the run's lot choice after rounding (within
half a share plus the order's rounding); CSV, JSON and the manifest round-trip; the same inputs give the same
bytes; lots that do not match the desk's holdings, a tampered ``lots_sold.csv``, fractional lots and lot rules
broken by rounding are refused, nothing written.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from trimtab import models, optimizer
from trimtab.constraints import load_job
from trimtab.optimizer import ExportError
from trimtab.optimizer.cli import app
from trimtab.optimizer.export import PortfolioCheck, export_run, read_batch

EXAMPLE = Path(__file__).parents[3] / "examples" / "mag7_value_quality.yaml"


@pytest.fixture(scope="module")
def taxed_desk(tmp_path_factory):
    """A tax-aware run of the default job, the desk's holdings (the sum of its lots) and a security master."""
    root = tmp_path_factory.mktemp("taxed_desk")
    (root / "job.yaml").write_text(EXAMPLE.read_text() + "\ntaxes: {weight: 1.0}\n")
    job = load_job(root / "job.yaml")
    result = optimizer.optimize(job)
    optimizer.write_run(result, root / "run")
    snapshot = optimizer.load_market_data(job)
    lots = models.synthetic_lots(snapshot, nav=models.SYNTHETIC_LOTS_NAV, seed=job.data.seed).lots
    held = lots.groupby("asset_id")["shares"].sum().astype(np.int64)
    held.rename("shares").to_csv(root / "holdings.csv")
    prices = snapshot.assets["price"]
    pd.DataFrame({"asset_id": prices.index, "price": prices.to_numpy(), "ticker": prices.index}).to_csv(
        root / "prices.csv", index=False)
    return {"root": root, "job": job, "result": result, "lots": lots, "held": held}


@pytest.fixture(scope="module")
def exported(taxed_desk, tmp_path_factory):
    root = taxed_desk["root"]
    out = tmp_path_factory.mktemp("orders")
    batch, written = export_run(root / "run", root / "holdings.csv", root / "prices.csv", out,
                                formats=("csv", "json", "parquet"))
    return batch, written


def test_each_sell_names_lots_adding_up_to_its_quantity_and_the_runs_choice(taxed_desk, exported):
    batch, _ = exported
    orders, lots = batch.orders.set_index("order_id"), batch.lots
    capacity = taxed_desk["lots"].set_index("lot_id")["shares"]
    asset_of = taxed_desk["lots"].set_index("lot_id")["asset_id"]
    run = taxed_desk["result"].diagnostics.taxes.lots_sold.set_index("lot_id")["shares"]
    sells = orders[orders["side"] == "SELL"]
    assert len(sells) > 20 and (orders["side"] != "SELL_SHORT").all()
    assert set(lots["order_id"]) == set(sells.index)  # every sell, and only sells, names lots
    assert lots.groupby("order_id")["shares"].sum().reindex(sells.index).tolist() == sells["quantity"].tolist()
    assert (lots["asset_id"].to_numpy() == asset_of.reindex(lots["lot_id"]).to_numpy()).all()
    assert (lots["shares"] > 0).all() and (lots["shares"].to_numpy() <= capacity.reindex(lots["lot_id"]).to_numpy()).all()
    for order_id, order in sells.iterrows():
        mine = lots[lots["order_id"] == order_id].set_index("lot_id")["shares"]
        theirs = run[asset_of.reindex(run.index).to_numpy() == order["asset_id"]]
        rounding = abs(order["quantity"] - theirs.sum())  # the desk's whole-share order against the run's total
        names = mine.index.union(theirs.index)
        gap = (mine.reindex(names, fill_value=0) - theirs.reindex(names, fill_value=0.0)).abs()
        assert gap.max() <= 0.5 + np.ceil(rounding) + 1e-6, order_id  # within one lot of rounding
        if order["quantity"] <= np.round(theirs).sum():
            assert set(mine.index) <= set(theirs.index), order_id  # no lot the run did not choose
    sold_everything = taxed_desk["result"].diagnostics.taxes.lots_sold
    assert batch.meta["lots"]["run_lots"] == len(sold_everything)
    assert batch.meta["lots"]["shares"] == int(sells["quantity"].sum())


def test_csv_json_and_the_manifest_round_trip(exported):
    batch, written = exported
    assert sorted(p.name for p in written.iterdir()) == ["lots.csv", "manifest.json", "orders.csv", "orders.json",
                                                         "orders.parquet"]
    on_disk = pd.read_csv(written / "lots.csv", dtype={"order_id": str, "lot_id": str, "asset_id": str})
    pd.testing.assert_frame_equal(on_disk, batch.lots)
    body = json.loads((written / "orders.json").read_text())
    for order in body["orders"]:
        assert sum(lot["shares"] for lot in order["lots"]) == (order["quantity"] if order["side"] == "SELL" else 0)
        assert [lot["lot_id"] for lot in order["lots"]] == sorted(lot["lot_id"] for lot in order["lots"])
    again = read_batch(written)
    pd.testing.assert_frame_equal(again.lots, batch.lots)
    pd.testing.assert_frame_equal(again.orders, batch.orders, check_dtype=False)
    manifest = json.loads((written / "manifest.json").read_text())
    assert manifest["files"]["lots.csv"] == hashlib.sha256((written / "lots.csv").read_bytes()).hexdigest()
    assert manifest["lots"]["lots"] == len(batch.lots)


def test_the_same_inputs_give_the_same_bytes(taxed_desk, exported, tmp_path):
    batch, written = exported
    root = taxed_desk["root"]
    again, second = export_run(root / "run", root / "holdings.csv", root / "prices.csv", tmp_path,
                               formats=("csv", "json", "parquet"))
    assert again.batch_id == batch.batch_id
    for name in ("lots.csv", "orders.csv", "orders.json", "manifest.json"):
        assert (second / name).read_bytes() == (written / name).read_bytes(), name
    memory, _ = export_run(taxed_desk["result"], root / "holdings.csv", root / "prices.csv", tmp_path / "memory")
    pd.testing.assert_frame_equal(memory.lots.drop(columns="order_id"), batch.lots.drop(columns="order_id"))


def test_lots_that_do_not_match_the_desks_holdings_are_refused(taxed_desk, tmp_path):
    root = taxed_desk["root"]
    held = taxed_desk["held"].copy()
    held.loc["SP004"] += 10
    held.rename("shares").to_csv(tmp_path / "holdings.csv")
    with pytest.raises(ExportError, match=r"do not match the desk's holdings for 1 asset\(s\): SP004: lots [\d,]+ shares, "
                                          r"holdings [\d,]+"):
        export_run(root / "run", tmp_path / "holdings.csv", root / "prices.csv", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_tampered_lots_sold_file_is_refused(taxed_desk, tmp_path):
    import shutil

    root = taxed_desk["root"]
    shutil.copytree(root / "run", tmp_path / "run")
    path = tmp_path / "run" / "lots_sold.csv"
    path.write_text(path.read_text().replace(",long", ",short", 1))
    with pytest.raises(ExportError, match="lots_sold.csv is not the file its summary.json records"):
        export_run(tmp_path / "run", root / "holdings.csv", root / "prices.csv", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_fractional_or_foreign_lots_are_refused(taxed_desk, tmp_path):
    root = taxed_desk["root"]
    lots = taxed_desk["lots"].copy()
    lots.loc[0, "shares"] -= 0.5
    lots.loc[1, "shares"] += 0.5
    with pytest.raises(ExportError, match=rf"lot '{lots.loc[0, 'lot_id']}' \({lots.loc[0, 'asset_id']}\) holds [\d.]+ "
                                          "shares; orders trade whole shares"):
        export_run(root / "run", root / "holdings.csv", root / "prices.csv", tmp_path, lots=models.TaxLots(lots))
    renamed = taxed_desk["lots"].assign(lot_id=lambda f: "X-" + f["lot_id"])
    with pytest.raises(ExportError, match="the lots are not the ones the run optimized"):
        export_run(root / "run", root / "holdings.csv", root / "prices.csv", tmp_path, lots=models.TaxLots(renamed))
    assert not any(tmp_path.iterdir())


def test_lot_rules_are_measured_on_the_lots_sold(taxed_desk):
    """``realized_gain`` and ``harvested_loss`` are re-measured on the lots an export sells (not on weights)."""
    job = load_job(taxed_desk["root"] / "job.yaml")
    text = (taxed_desk["root"] / "job.yaml").read_text().replace(
        "  - asset_weight: {max: benchmark + 0.02}",
        "  - asset_weight: {max: benchmark + 0.02}\n  - realized_gain: {max: 0.0}\n  - harvested_loss: {min: 0.01}")
    (taxed_desk["root"] / "rules.yaml").write_text(text)
    check = PortfolioCheck(taxed_desk["root"] / "rules.yaml")
    lots = taxed_desk["lots"].set_index("lot_id")
    book = check.data.lots
    gain = pd.Series(book.gain_ratio * book.weights, index=list(book.lot_ids))
    winners = gain[gain > 0].index
    broken = check.lot_violations(pd.Series(1.0, index=winners), 1e-6)  # sell every gain lot in full
    assert [v.name for v in broken] == ["realized net gain <= 0", "harvested losses >= 0.01"]
    assert broken[0].amount == pytest.approx(gain[winners].sum(), rel=1e-9)
    losers = gain[gain < 0].index
    assert check.lot_violations(pd.Series(1.0, index=losers), 1e-6) == []  # every loss lot: both rules hold
    assert job.taxes is not None and len(lots) == book.n_lots


def test_the_cli_prints_the_lots_and_fix_leaves_them_out(taxed_desk, tmp_path):
    root = taxed_desk["root"]
    result = CliRunner().invoke(app, ["export", str(root / "run"), "--holdings", str(root / "holdings.csv"), "--prices",
                                      str(root / "prices.csv"), "--out", str(tmp_path), "-f", "csv", "-f", "fix"])
    assert result.exit_code == 0, result.output
    assert "tax lots:" in result.output and "sell orders (lots.csv / orders.json)" in result.output
    [folder] = [p for p in tmp_path.iterdir() if p.is_dir()]
    fix = (folder / "orders.fix").read_bytes()
    assert fix.count(b"35=D") == len(pd.read_csv(folder / "orders.csv")) and b"\x01467=" not in fix
    lots = pd.read_csv(io.BytesIO((folder / "lots.csv").read_bytes()))
    assert list(lots.columns) == ["order_id", "lot_id", "asset_id", "shares"]


def test_a_runs_lots_file_is_read_again_and_a_changed_one_refused(taxed_desk, exported, tmp_path):
    """A job whose ``taxes.lots`` is a file: the export reads that file (no ``--lots``), checks its hash, and sells
    the same lots as from the embedded ones; once the file changes, the export stops before writing."""
    root = taxed_desk["root"]
    taxed_desk["lots"].to_csv(tmp_path / "lots.csv", index=False)
    (tmp_path / "job.yaml").write_text(
        (root / "job.yaml").read_text().replace("taxes: {weight: 1.0}", "taxes: {weight: 1.0, lots: lots.csv, nav: 1.0e+9}"))
    optimizer.write_run(optimizer.optimize(load_job(tmp_path / "job.yaml")), tmp_path / "run")
    batch, _ = export_run(tmp_path / "run", root / "holdings.csv", root / "prices.csv", tmp_path / "out")
    pd.testing.assert_frame_equal(batch.lots.drop(columns="order_id"), exported[0].lots.drop(columns="order_id"))
    (tmp_path / "lots.csv").write_text((tmp_path / "lots.csv").read_text() + "\n")
    with pytest.raises(ExportError, match=r"changed since the run: tax lots \(.*lots.csv\)"):
        export_run(tmp_path / "run", root / "holdings.csv", root / "prices.csv", tmp_path / "again")
    assert not (tmp_path / "again").exists()


def test_the_readme_desk_book_is_the_sum_of_the_synthetic_lots(taxed_desk, tmp_path):
    """``examples/desk/holdings.csv`` holds exactly the embedded lots, so the README's desk exports a tax-aware run."""
    desk = EXAMPLE.parent / "desk"
    book = pd.read_csv(desk / "holdings.csv").set_index("asset_id")["shares"]
    pd.testing.assert_series_equal(book[book > 0].sort_index(), taxed_desk["held"].sort_index(), check_names=False)
    batch, _ = export_run(taxed_desk["root"] / "run", desk / "holdings.csv", desk / "prices.csv", tmp_path / "out",
                          cash=46453.82)
    sells = batch.orders[batch.orders["side"] == "SELL"].set_index("order_id")["quantity"]
    assert len(sells) > 20 and set(batch.lots["order_id"]) == set(sells.index)
    pd.testing.assert_series_equal(batch.lots.groupby("order_id")["shares"].sum().reindex(sells.index), sells,
                                   check_names=False)
