"""Orders from a run: round trips through every file format, bad inputs, re-export refusal (issue 4, §1–2)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from trimtab import optimizer
from trimtab.constraints import load_job
from trimtab.optimizer import DataError, ExportError
from trimtab.optimizer import write_run
from trimtab.optimizer import read_run
from trimtab.optimizer.export import export_run, load_mapping
from trimtab.optimizer.export._trades import ROUNDING_TOLERANCE

EXAMPLE = Path(__file__).parents[3] / "examples" / "mag7_value_quality.yaml"
NAV = 1e9


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    """A run directory of the default job and a desk book consistent with its holdings."""
    root = tmp_path_factory.mktemp("desk")
    job = load_job(EXAMPLE)
    write_run(optimizer.optimize(job), root / "run")
    snapshot = optimizer.load_market_data(job)
    prices = snapshot.assets["price"]
    lots = pd.Series(np.where(np.arange(snapshot.n_assets) % 50 == 0, 100, 1), index=snapshot.asset_ids)
    shares = np.floor(snapshot.holdings * NAV / prices).astype(np.int64)
    pd.DataFrame({"asset_id": snapshot.asset_ids, "shares": shares.to_numpy()}).to_csv(root / "holdings.csv", index=False)
    master = pd.DataFrame({"asset_id": snapshot.asset_ids, "price": prices.to_numpy(), "lot_size": lots.to_numpy()})
    master["ticker"] = [f"T{a[2:]}" for a in snapshot.asset_ids]
    master.to_csv(root / "prices.csv", index=False)
    cash = NAV - float(shares @ prices)
    return {"root": root, "cash": cash, "prices": prices, "lots": lots, "shares": shares, "job": job}


def _export(desk, out, **options):
    root = desk["root"]
    return export_run(
        root / "run", root / "holdings.csv", root / "prices.csv", out, formats=("csv", "parquet", "json"),
        cash=desk["cash"], **options,
    )


def test_round_trip_through_every_format(desk, tmp_path):
    batch, where = _export(desk, tmp_path)
    orders = batch.orders
    csv = pd.read_csv(where / "orders.csv", dtype={"identifier": str})
    parquet = pq.read_table(where / "orders.parquet")
    as_json = json.loads((where / "orders.json").read_text())
    assert list(csv["order_id"]) == list(orders["order_id"]) == [o["order_id"] for o in as_json["orders"]]
    assert list(csv["value"]) == list(orders["quantity"]) == list(parquet.column("quantity").to_pylist())
    assert list(csv["side"]) == list(orders["side"]) == [o["side"] for o in as_json["orders"]]
    meta = parquet.schema.metadata
    assert meta[b"trimtab.batch_id"].decode() == batch.batch_id and meta[b"trimtab.as_of"] == b"2026-10-30"
    # Applying the trades to the book gives the rounded portfolio, within one lot of the target.
    prices, lots, shares = desk["prices"], desk["lots"], desk["shares"].copy()
    sign = orders["side"].map({"BUY": 1, "SELL": -1, "SELL_SHORT": -1}).to_numpy()
    shares.loc[orders["asset_id"]] += sign * orders["quantity"].to_numpy()
    assert (shares.loc[orders["asset_id"]].to_numpy() == orders["target_shares"].to_numpy()).all()
    target = read_run(desk["root"] / "run").weights.reindex(prices.index)
    rounded = shares * prices / NAV
    assert (np.abs(rounded - target) <= lots * prices / NAV + 1e-12).all()
    whole_lots = orders["quantity"] % lots.loc[orders["asset_id"]].to_numpy() == 0
    assert (whole_lots | (orders["target_shares"] == 0)).all()  # an exit also sells the odd lot
    cash_after = desk["cash"] - float((shares - desk["shares"]) @ prices)
    assert cash_after >= 0 and batch.meta["cash_after"] == pytest.approx(cash_after)
    # The job's rules hold on the rounded book (re-checked; MAG7 cap binds at the target).
    mag7 = optimizer.load_market_data(desk["job"]).groups["MAG7"]
    assert rounded.loc[list(mag7)].sum() <= 0.20 + ROUNDING_TOLERANCE
    manifest = json.loads((where / "manifest.json").read_text())
    assert manifest["batch_id"] == batch.batch_id and set(manifest["files"]) == {"orders.csv", "orders.parquet", "orders.json"}
    assert abs(manifest["te_change_from_rounding"]) < 1e-5


def test_same_inputs_same_ids_and_refused_without_force(desk, tmp_path):
    first, where = _export(desk, tmp_path)
    before = (where / "orders.csv").read_bytes()
    with pytest.raises(ExportError, match="already exported.*--force"):
        _export(desk, tmp_path)
    again, where_again = _export(desk, tmp_path, force=True)
    assert again.batch_id == first.batch_id and list(again.orders["order_id"]) == list(first.orders["order_id"])
    assert (where_again / "orders.csv").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [first.batch_id]  # no temporary leftovers


def test_oms_mapping(desk, tmp_path):
    (tmp_path / "oms.yaml").write_text(
        "columns: {portfolio_id: Account, identifier: Ticker, side: Side, value: Qty, as_of: TradeDate}\n"
        "date_format: '%d/%m/%Y'\ndelimiter: ';'\n"
    )
    batch, where = _export(desk, tmp_path / "out", mapping=tmp_path / "oms.yaml", portfolio_id="ACC-1")
    text = (where / "orders.csv").read_text()
    frame = pd.read_csv(io.StringIO(text), sep=";")
    assert list(frame.columns) == ["Account", "Ticker", "Side", "Qty", "TradeDate"]
    assert set(frame["Account"]) == {"ACC-1"} and set(frame["TradeDate"]) == {"30/10/2026"}
    (tmp_path / "bad.yaml").write_text("columns: {quantity_x: Q}\n")
    with pytest.raises(ExportError, match=r"bad.yaml: columns: .*unknown neutral column\(s\) \['quantity_x'\]"):
        load_mapping(tmp_path / "bad.yaml")


def _bad_files(desk, tmp_path, holdings=None, prices=None):
    root = desk["root"]
    h = pd.read_csv(root / "holdings.csv")
    p = pd.read_csv(root / "prices.csv")
    if holdings:
        h = holdings(h)
    if prices:
        p = prices(p)
    h.to_csv(tmp_path / "h.csv", index=False)
    p.to_csv(tmp_path / "p.csv", index=False)
    return tmp_path / "h.csv", tmp_path / "p.csv"


@pytest.mark.parametrize(
    ("holdings", "prices", "error", "message"),
    [
        (None, lambda p: p[~p["asset_id"].isin(["SP001", "SP002"])], ExportError, r"no price for 2 traded asset\(s\): \['SP001', 'SP002'\]"),
        (lambda h: h.assign(shares=h["shares"].where(h["asset_id"] != "SP010", -5)), None, DataError, r"negative shares for \['SP010'\]"),
        (lambda h: h.assign(shares=h["shares"].astype(float).where(h["asset_id"] != "SP011", 1.5)), None, DataError, r"whole numbers; not for \['SP011'\]"),
        (lambda h: pd.concat([h, h.iloc[[3]]]), None, DataError, r"duplicate asset_id\(s\) \['SP004'\]"),
        (None, lambda p: p.assign(isin=["US0378331005"] * (len(p) - 1) + ["US0378331006"]), DataError, r"ISIN 'US0378331006' of SP500 is invalid"),
        (None, lambda p: p.assign(cusip=["037833100"] * (len(p) - 1) + ["037833101"]), DataError, r"CUSIP '037833101' of SP500 is invalid"),
    ],
    ids=["missing-price", "negative", "fractional", "duplicate", "bad-isin", "bad-cusip"],
)
def test_bad_inputs_write_nothing(desk, tmp_path, holdings, prices, error, message):
    h, p = _bad_files(desk, tmp_path, holdings, prices)
    with pytest.raises(error, match=message):
        export_run(desk["root"] / "run", h, p, tmp_path / "out", cash=desk["cash"])
    assert not (tmp_path / "out").exists()
    result = _cli_export(desk["root"] / "run", h, p, tmp_path / "out", "--cash", str(desk["cash"]))
    assert result.exit_code == 2 and re.search(message, " ".join(result.output.split())), result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_not_enough_cash(desk, tmp_path):
    root = desk["root"]
    with pytest.raises(ExportError, match="not enough cash: the orders need"):
        export_run(root / "run", root / "holdings.csv", root / "prices.csv", tmp_path / "out", cash=0.0, cash_buffer=0.5)
    assert not (tmp_path / "out").exists()
    result = _cli_export(root / "run", root / "holdings.csv", root / "prices.csv", tmp_path / "out", "--cash-buffer", "0.5")
    assert result.exit_code == 2 and "not enough cash" in result.output and not (tmp_path / "out").exists()


def _cli_export(run, holdings, prices, out, *options):
    from typer.testing import CliRunner

    from trimtab.optimizer.cli import app

    args = ["export", str(run), "--holdings", str(holdings), "--prices", str(prices), "--out", str(out), *options]
    return CliRunner().invoke(app, args)


def test_cash_undoes_only_the_rounding_up_most_over_target_first():
    from trimtab.optimizer.export._trades import _respect_cash

    prices, lots, nav = np.array([10.0, 10.0, 10.0]), np.array([100, 100, 100]), 10_000.0
    weights = np.array([0.36, 0.32, 0.32])  # exact shares 360, 320, 320 → rounded 400, 300, 300
    current = np.zeros(3, dtype=np.int64)
    rounded = np.array([400, 300, 300])
    # 10 000 in cash buys the rounded book exactly; 9 900 is short by 100: cut the 40-share overshoot of name 0
    assert list(_respect_cash(rounded, current, weights, prices, lots, nav, 10_000.0, 0.0)) == [400, 300, 300]
    kept = _respect_cash(rounded, current, weights, prices, lots, nav, 9_900.0, 0.0)
    assert list(kept) == [300, 300, 300] and np.all(np.abs(kept - weights * nav / prices) <= lots)
    # 8 900 would need a cut beyond the rounding: an error with the amount, never a silently shrunk book
    with pytest.raises(ExportError, match=r"not enough cash: the orders need 100\.00 more"):
        _respect_cash(rounded, current, weights, prices, lots, nav, 8_900.0, 0.0)


def test_cli_export_and_refusal(desk, tmp_path):
    from typer.testing import CliRunner

    from trimtab.optimizer.cli import app

    root = desk["root"]
    args = ["export", str(root / "run"), "--holdings", str(root / "holdings.csv"), "--prices", str(root / "prices.csv"),
            "--out", str(tmp_path), "--cash", str(desk["cash"]), "-f", "csv", "-f", "json"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    batch_dirs = list(tmp_path.iterdir())
    assert len(batch_dirs) == 1 and {p.name for p in batch_dirs[0].iterdir()} == {"orders.csv", "orders.json", "manifest.json"}
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 2 and "already exported" in " ".join(again.output.split()) and "Traceback" not in again.output
    forced = CliRunner().invoke(app, [*args, "--force"])
    assert forced.exit_code == 0, forced.output


def test_the_readme_example_desk_files_are_current_and_export(desk, tmp_path):
    """examples/desk/ is what make_desk_files.py writes, and the README's export of it holds cash and the rules."""
    import runpy
    import shutil

    examples = Path(__file__).parents[3] / "examples" / "desk"
    shutil.copy(examples / "make_desk_files.py", tmp_path / "make_desk_files.py")
    runpy.run_path(str(tmp_path / "make_desk_files.py"), run_name="__main__")
    for name in ("holdings.csv", "prices.csv"):
        assert (tmp_path / name).read_bytes() == (examples / name).read_bytes(), name
    batch, where = export_run(desk["root"] / "run", examples / "holdings.csv", examples / "prices.csv", tmp_path / "out",
                              cash=46453.82, formats=("csv", "fix"))
    assert batch.meta["cash_after"] >= 0 and sorted(p.name for p in where.iterdir()) == [
        "manifest.json", "orders.csv", "orders.fix", "orders.json"]
    assert set(batch.orders["identifier_type"]) == {"ISIN"}


def test_fix_without_quickfix_says_how_to_install_it_and_writes_nothing(desk, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "quickfix", None)  # `import quickfix` now raises ImportError
    root = desk["root"]
    result = _cli_export(root / "run", root / "holdings.csv", root / "prices.csv", tmp_path / "out", "--cash",
                         str(desk["cash"]), "-f", "csv", "-f", "fix")
    assert result.exit_code == 2 and "pip install 'trimtab[fix]'" in result.output, result.output
    assert not (tmp_path / "out").exists()
