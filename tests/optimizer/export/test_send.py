"""`trimtab send BATCH_DIR --fix-config session.cfg`: an exported batch sent to a loopback OMS, with its record."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

fix = pytest.importorskip("quickfix")

from trimtab.optimizer.cli import app  # noqa: E402
from trimtab.optimizer.export import read_batch, write_batch  # noqa: E402
from trimtab.optimizer.export._schema import ORDER_COLUMNS, OrderBatch  # noqa: E402

_spec = importlib.util.spec_from_file_location("trimtab_tests_fix_acceptor", Path(__file__).with_name("fix_acceptor.py"))
fix_acceptor = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fix_acceptor)

#: (order_id, asset_id, identifier_type, identifier, side, quantity, price); the OMS knows all but the last.
ORDERS = [
    ("20240105-abc-0001", "AAPL", "TICKER", "AAPL", "BUY", 100, 190.5),
    ("20240105-abc-0002", "MSFT", "ISIN", "US5949181045", "SELL", 37, 410.0),
    ("20240105-abc-0003", "XXX", "TICKER", "XXX", "BUY", 3, 10.0),
]
KNOWN = {"AAPL", "US5949181045"}


@pytest.fixture
def batch_dir(tmp_path) -> Path:
    rows = [dict(order_id=o, asset_id=a, identifier_type=t, identifier=i, side=s, quantity=q, price=p,
                 notional=q * p, current_shares=0, target_shares=q, target_weight=0.01, rounded_weight=0.01,
                 reason="rebalance") for o, a, t, i, s, q, p in ORDERS]
    batch = OrderBatch("20240105-abc", "PF-1", pd.Timestamp("2024-01-05"), pd.DataFrame(rows, columns=list(ORDER_COLUMNS)))
    return write_batch(batch, tmp_path / "orders", ("csv", "json"))


@pytest.fixture
def oms(tmp_path):
    with fix_acceptor.Acceptor(tmp_path / "oms", KNOWN) as acceptor:
        yield acceptor


def _send(batch_dir, cfg, *more):
    return CliRunner().invoke(app, ["send", str(batch_dir), "--fix-config", str(cfg), "--timeout", "15", *more])


def test_read_batch_gives_back_the_exported_orders(batch_dir):
    batch = read_batch(batch_dir)
    assert batch.batch_id == "20240105-abc" and batch.portfolio_id == "PF-1" and batch.as_of == pd.Timestamp("2024-01-05")
    assert batch.orders["order_id"].tolist() == [o[0] for o in ORDERS]
    assert batch.orders["quantity"].tolist() == [o[5] for o in ORDERS]


def test_cli_send_reports_every_answer_records_it_and_refuses_a_second_send(batch_dir, oms):
    result = _send(batch_dir, oms.initiator_config())
    assert result.exit_code == 5, result.output  # one order rejected: not a clean send
    assert "2 acknowledged, 1 rejected, 0 without an answer" in result.output
    assert "unknown instrument XXX" in result.output
    assert [fix_acceptor_fields[11] for fix_acceptor_fields in map(_fields, oms.received)] == [o[0] for o in ORDERS]
    records = sorted((batch_dir / "sends").glob("*.json"))
    assert len(records) == 1
    record = json.loads(records[0].read_text())
    assert record["counts"] == {"orders": 3, "acknowledged": 2, "rejected": 1, "no_answer": 0}
    assert [a["status"] for a in record["answers"]] == ["acknowledged", "acknowledged", "rejected"]
    assert all("\x0111=" + o[0] + "\x01" in a["messages"][0] for o, a in zip(ORDERS, record["answers"]))

    again = _send(batch_dir, oms.initiator_config())
    assert again.exit_code == 2 and "already sent" in again.output and "duplicate" in again.output
    assert len(oms.received) == 3 and len(list((batch_dir / "sends").glob("*.json"))) == 1

    forced = _send(batch_dir, oms.initiator_config(), "--force")
    assert forced.exit_code == 5 and len(oms.received) == 6
    assert "including 2 already acknowledged: 20240105-abc-0001, 20240105-abc-0002" in " ".join(forced.output.split())
    assert len(list((batch_dir / "sends").glob("*.json"))) == 2  # the first record is kept


def test_a_clean_send_exits_zero(tmp_path, oms):
    rows = [dict(order_id="B-0001", asset_id="AAPL", identifier_type="TICKER", identifier="AAPL", side="BUY", quantity=5,
                 price=1.0, notional=5.0, current_shares=0, target_shares=5, target_weight=0.1, rounded_weight=0.1,
                 reason="new position")]
    where = write_batch(OrderBatch("B", "PF", pd.Timestamp("2024-01-05"), pd.DataFrame(rows)), tmp_path, ("json",))
    result = _send(where, oms.initiator_config())
    assert result.exit_code == 0, result.output
    assert "1 acknowledged, 0 rejected, 0 without an answer" in result.output


def test_a_changed_or_missing_batch_is_refused_and_nothing_is_sent(batch_dir, oms, tmp_path):
    orders = batch_dir / "orders.json"
    orders.write_text(orders.read_text().replace('"quantity": 100', '"quantity": 1000'))
    result = _send(batch_dir, oms.initiator_config())
    assert result.exit_code == 2 and "does not match the hash" in result.output
    missing = _send(tmp_path / "nowhere", oms.initiator_config())
    assert missing.exit_code == 2 and "manifest.json: not found" in missing.output
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "summary.json").write_text("{}")
    assert "export it first" in _send(run_dir, oms.initiator_config()).output
    assert oms.received == [] and not (batch_dir / "sends").exists()


def _fields(raw: str) -> dict[int, str]:
    return {int(k): v for k, v in (f.split("=", 1) for f in raw.strip("\x01").split("\x01"))}
