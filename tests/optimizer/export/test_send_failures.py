"""`trimtab send` failures say why, send nothing, and leave the batch sendable (issue 11, items 1 and 4).

Connection refused, unknown host, sequence-number mismatch (either side), logon rejected; bad settings files,
timeouts, styles and batch directories: each one paragraph naming the cause (and file / key), exit code 2,
no traceback, nothing received by the loopback OMS, session files only where the settings say.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

fix = pytest.importorskip("quickfix")

from trimtab.optimizer.cli import app  # noqa: E402
from trimtab.optimizer.export import read_journal, write_batch  # noqa: E402
from trimtab.optimizer.export._schema import ORDER_COLUMNS, OrderBatch  # noqa: E402

_spec = importlib.util.spec_from_file_location("trimtab_tests_fix_acceptor", Path(__file__).with_name("fix_acceptor.py"))
fix_acceptor = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fix_acceptor)

IDS = ["20240105-abc-0001", "20240105-abc-0002"]


@pytest.fixture
def batch_dir(tmp_path) -> Path:
    rows = [dict(order_id=oid, asset_id="AAPL", identifier_type="TICKER", identifier="AAPL", side="BUY", quantity=5,
                 price=1.0, notional=5.0, current_shares=0, target_shares=5, target_weight=0.1, rounded_weight=0.1,
                 reason="new position") for oid in IDS]
    batch = OrderBatch("20240105-abc", "PF-1", pd.Timestamp("2024-01-05"), pd.DataFrame(rows, columns=list(ORDER_COLUMNS)))
    return write_batch(batch, tmp_path / "orders", ("csv", "json"))


def send(batch_dir, cfg, *more):
    return CliRunner().invoke(app, ["send", str(batch_dir), "--fix-config", str(cfg), "--timeout", "10", *more])


def flat(text: str) -> str:
    return " ".join(text.split())


def settings(tmp_path, host="127.0.0.1", port=None, **extra) -> Path:
    cfg = tmp_path / "cfg" / "session.cfg"
    cfg.parent.mkdir(exist_ok=True)
    lines = ["[SESSION]", "SenderCompID=TRIMTAB", "TargetCompID=OMS", f"SocketConnectHost={host}",
             f"SocketConnectPort={port or fix_acceptor.free_port()}", "ReconnectInterval=1",
             *(f"{k}={v}" for k, v in extra.items())]
    cfg.write_text("\n".join(lines) + "\n")
    return cfg


def assert_nothing_sent(result, batch_dir, pattern):
    """The failure's message and exit code; the journal says no order went out (so `send` will not refuse it)."""
    text = flat(result.output)
    assert result.exit_code == 2 and pattern in text and "nothing was sent" in text, result.output
    assert "Traceback" not in result.output and not (batch_dir / "sends").exists()
    journal = read_journal(batch_dir.name)
    assert journal is None or (not journal.ever_sent and set(journal.states.values()) <= {"pending", "not sent"})


def test_connection_refused_then_the_batch_still_sends_without_force(batch_dir, tmp_path, state_dir):
    result = send(batch_dir, settings(tmp_path))
    assert_nothing_sent(result, batch_dir, "connection refused by 127.0.0.1:")
    assert read_journal(batch_dir.name).attempts == 1
    with fix_acceptor.Acceptor(tmp_path / "live", {"AAPL"}) as oms:
        again = send(batch_dir, oms.initiator_config())
        assert again.exit_code == 0, again.output
        assert oms.cl_ord_ids() == IDS


def test_unknown_host(batch_dir, tmp_path):
    result = send(batch_dir, settings(tmp_path, host="oms.example.invalid"))
    assert_nothing_sent(result, batch_dir, "unknown host 'oms.example.invalid'")


def test_logon_rejected(batch_dir, tmp_path):
    with fix_acceptor.Acceptor(tmp_path / "oms", {"AAPL"}, reject_logon="account disabled") as oms:
        result = send(batch_dir, oms.initiator_config())
        assert oms.received == []
    assert_nothing_sent(result, batch_dir, "logon rejected by the counterparty")
    assert "account disabled" in result.output


def test_sequence_number_mismatch_either_way(batch_dir, tmp_path):
    """Our store is fresh but the OMS expects more (theirs too low), and the reverse (ours too low)."""
    with fix_acceptor.Acceptor(tmp_path / "oms", {"AAPL"}) as oms:
        warm_up = tmp_path / "warm"
        warm = write_batch(OrderBatch("WARM", "PF", pd.Timestamp("2024-01-05"), _one_order("WARM-0001")), warm_up, ("json",))
        assert send(warm, oms.initiator_config()).exit_code == 0  # both sides now past MsgSeqNum 1
        fresh = {"FileStorePath": str(tmp_path / "fresh" / "store"), "FileLogPath": str(tmp_path / "fresh" / "log")}
        theirs = send(batch_dir, oms.initiator_config(**fresh))
        assert theirs.exit_code == 2 and "sequence-number mismatch" in flat(theirs.output), theirs.output
        assert "the counterparty expected MsgSeqNum" in flat(theirs.output) and "nothing was sent" in flat(theirs.output)
        assert oms.cl_ord_ids() == ["WARM-0001"]
    with fix_acceptor.Acceptor(tmp_path / "oms2", {"AAPL"}) as fresh_oms:  # a fresh OMS; our store is ahead
        ours = send(batch_dir, fresh_oms.initiator_config(FileStorePath=str(tmp_path / "oms" / "client" / "store")))
        assert ours.exit_code == 2 and "sequence-number mismatch" in flat(ours.output), ours.output
        assert "our side expected MsgSeqNum" in flat(ours.output) and fresh_oms.received == []
    journal = read_journal(batch_dir.name)
    assert journal.attempts == 2 and not journal.ever_sent


def _one_order(order_id: str) -> pd.DataFrame:
    return pd.DataFrame([dict(order_id=order_id, asset_id="AAPL", identifier_type="TICKER", identifier="AAPL", side="BUY",
                              quantity=1, price=1.0, notional=1.0, current_shares=0, target_shares=1, target_weight=0.1,
                              rounded_weight=0.1, reason="new position")], columns=list(ORDER_COLUMNS))


def test_session_files_go_only_where_the_settings_say(batch_dir, tmp_path, state_dir, monkeypatch):
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    relative = settings(tmp_path, FileStorePath="fix/store")
    refused = send(batch_dir, relative)
    assert refused.exit_code == 2 and "session.cfg:7: FileStorePath=fix/store is a relative path" in flat(refused.output)
    with fix_acceptor.Acceptor(tmp_path / "oms", {"AAPL"}) as oms:
        cfg = settings(tmp_path, port=oms.port)  # no FileStorePath / FileLogPath
        assert send(batch_dir, cfg).exit_code == 0
    assert sorted(p.name for p in cfg.parent.iterdir()) == ["session.cfg"] and not any(workdir.iterdir())
    session_files = state_dir / "fix" / "FIX.4.4-TRIMTAB-OMS"
    assert {p.name for p in session_files.iterdir()} == {"store", "log"} and any((session_files / "log").iterdir())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--timeout", "0"], "--timeout must be a finite number of seconds > 0, got 0.0"),
        (["--timeout", "-3"], "--timeout must be a finite number of seconds > 0, got -3.0"),
        (["--timeout", "nan"], "--timeout must be a finite number of seconds > 0, got nan"),
        (["--style", "basket"], "--style must be 'single' or 'list', got 'basket'"),
        (["--account", "=HYPERLINK(1)"], "Account (1) '=HYPERLINK(1)' starts with a spreadsheet formula character"),
    ],
    ids=["timeout-0", "timeout-negative", "timeout-nan", "style", "account-formula"],
)
def test_bad_send_options_are_refused_and_nothing_is_sent(batch_dir, tmp_path, options, message):
    with fix_acceptor.Acceptor(tmp_path / "oms", {"AAPL"}) as oms:
        result = CliRunner().invoke(app, ["send", str(batch_dir), "--fix-config", str(oms.initiator_config()), *options])
        assert result.exit_code == 2 and message in flat(result.output), result.output
        assert "Traceback" not in result.output and oms.received == []
    assert read_journal(batch_dir.name) is None or not read_journal(batch_dir.name).ever_sent


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[SESSION]\nSenderCompID=TRIMTAB\nTargetCompID=OMS\nSocketConnectHost=h\nSocketConnectPort=abc\n",
         "session.cfg:5: SocketConnectPort='abc' must be a port number"),
        ("[SESSION]\nTargetCompID=OMS\nSocketConnectHost=h\nSocketConnectPort=1\n",
         "session.cfg: [SESSION] lacks ['SenderCompID']"),
        ("SenderCompID=TRIMTAB\n", "session.cfg:1: expected [DEFAULT], [SESSION] or Key=Value"),
    ],
    ids=["port", "missing-sender", "no-section"],
)
def test_a_bad_settings_file_names_the_file_and_key(batch_dir, tmp_path, text, message):
    cfg = tmp_path / "session.cfg"
    cfg.write_text(text)
    result = send(batch_dir, cfg)
    assert result.exit_code == 2 and message in flat(result.output) and "Traceback" not in result.output, result.output


def _rewrite(batch_dir: Path, name: str, content: str) -> None:
    """Replace a file of the batch and, for orders.json, its hash in the manifest (a consistent but bad batch)."""
    (batch_dir / name).write_text(content)
    if name == "orders.json":
        manifest = json.loads((batch_dir / "manifest.json").read_text())
        manifest["files"]["orders.json"] = hashlib.sha256(content.encode()).hexdigest()
        (batch_dir / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("manifest.json", "[1, 2]", "manifest.json: the manifest must be a JSON object, got a JSON list"),
        ("manifest.json", '{"files": []}', "manifest.json: its 'files' key must be a JSON object, got a JSON list"),
        ("manifest.json", "{not json", "manifest.json: not valid JSON"),
        ("orders.json", "[]", "orders.json: the batch must be a JSON object, got a JSON list"),
        ("orders.json", '{"batch_id": "20240105-abc", "portfolio_id": "P", "as_of": "2024-01-05", "orders": {}}',
         "orders.json: key 'orders' must be a list of objects"),
        ("orders.json", '{"batch_id": "../../etc", "portfolio_id": "P", "as_of": "2024-01-05", "orders": []}',
         "orders.json: batch_id '../../etc' is not a trimtab batch id"),
        ("orders.json", '{"batch_id": "20240105-abc", "portfolio_id": "P", "as_of": "someday", "orders": []}',
         "orders.json: as_of 'someday' is not a date"),
    ],
    ids=["manifest-list", "files-list", "manifest-garbled", "orders-list", "orders-object", "batch-id-path", "as-of"],
)
def test_a_malformed_batch_directory_names_the_file_and_key(batch_dir, tmp_path, name, content, message):
    _rewrite(batch_dir, name, content)
    with fix_acceptor.Acceptor(tmp_path / "oms", {"AAPL"}) as oms:
        result = send(batch_dir, oms.initiator_config())
        assert result.exit_code == 2 and message in flat(result.output), result.output
        assert "Traceback" not in result.output and oms.received == []
