"""FIX 4.4 export: messages field by field, the written file, and a live session against a loopback acceptor."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pandas as pd
import pytest

fix = pytest.importorskip("quickfix")

from trimtab.optimizer.export._fix import (  # noqa: E402
    FixValidationError,
    data_dictionary,
    new_order_list,
    new_order_singles,
    split_allocations,
    write_fix_file,
)
from trimtab.optimizer.export._schema import ORDER_COLUMNS, OrderBatch  # noqa: E402
from trimtab.optimizer.export._session import (  # noqa: E402
    FixSessionError,
    read_session_config,
    send_batch,
    send_messages,
)

_spec = importlib.util.spec_from_file_location("trimtab_tests_fix_acceptor", Path(__file__).with_name("fix_acceptor.py"))
fix_acceptor = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fix_acceptor)

EXAMPLE_CFG = Path(__file__).parents[3] / "examples" / "fix_session.cfg"
#: (order_id, asset_id, identifier_type, identifier, side, quantity, price)
ORDERS = [
    ("20240105-abc-0001", "AAPL", "TICKER", "AAPL", "BUY", 100, 190.5),
    ("20240105-abc-0002", "MSFT", "ISIN", "US5949181045", "SELL", 37, 410.0),
    ("20240105-abc-0003", "TSLA", "CUSIP", "88160R101", "SELL_SHORT", 5, 250.0),
    ("20240105-abc-0004", "NVDA", "FIGI", "BBG000BBJQV0", "BUY", 12, 900.0),
]
#: What the loopback OMS knows: everything but the FIGI of NVDA.
KNOWN = {"AAPL", "US5949181045", "88160R101"}


def make_batch(orders=ORDERS, batch_id="20240105-abc") -> OrderBatch:
    rows = [dict(order_id=o, asset_id=a, identifier_type=t, identifier=i, side=s, quantity=q, price=p,
                 notional=q * p, current_shares=0, target_shares=q, target_weight=0.01, rounded_weight=0.01,
                 reason="rebalance") for o, a, t, i, s, q, p in orders]
    return OrderBatch(batch_id, "PF-1", pd.Timestamp("2024-01-05"), pd.DataFrame(rows, columns=list(ORDER_COLUMNS)))


def fields(message) -> dict[int, str]:
    """Body and header fields of a message as {tag: value} (groups not included)."""
    raw = message if isinstance(message, str) else message.toString()
    return {int(k): v for k, v in (f.split("=", 1) for f in raw.strip("\n").split("\x01") if f)}


def entries(message, count_tag: int, delim: int) -> list[dict[int, str]]:
    """The entries of a repeating group, as {tag: value}, via QuickFIX's own parser."""
    group, out = fix.Group(count_tag, delim), []
    for i in range(1, int(message.getField(count_tag)) + 1):
        message.getGroup(i, group)
        out.append({tag: group.getField(tag) for tag in range(1, 1000) if group.isSetField(tag)})
    return out


@pytest.fixture
def batch() -> OrderBatch:
    return make_batch()


# --- messages -------------------------------------------------------------------------------------------------


def test_new_order_singles_carry_each_order_field_by_field(batch):
    messages = new_order_singles(batch)
    assert len(messages) == 4
    got = [fields(m) for m in messages]
    assert [f[35] for f in got] == ["D"] * 4
    assert [f[34] for f in got] == ["1", "2", "3", "4"]
    assert [f[11] for f in got] == [o[0] for o in ORDERS]
    assert [f[55] for f in got] == ["AAPL", "MSFT", "TSLA", "BBG000BBJQV0"]
    assert [f.get(48) for f in got] == [None, "US5949181045", "88160R101", None]
    assert [f.get(22) for f in got] == [None, "4", "1", None]  # ISIN 4, CUSIP 1; TICKER and FIGI: none
    assert [f[54] for f in got] == ["1", "2", "5", "1"]  # SELL_SHORT is 5
    assert [f[38] for f in got] == ["100", "37", "5", "12"]
    assert {f[40] for f in got} == {"1"} and not any(44 in f for f in got)
    assert {f[60] for f in got} == {"20240105-00:00:00"} and {f[52] for f in got} == {"20240105-00:00:00"}
    assert {(f[8], f[49], f[56]) for f in got} == {("FIX.4.4", "TRIMTAB", "OMS")}
    assert not any(1 in f or 21 in f or 78 in f for f in got)


def test_account_limit_price_handl_inst_and_transact_time_are_optional_fields(batch):
    messages = new_order_singles(batch, account="ACC-9", limit_prices={"AAPL": 190.25}, handl_inst="1",
                                 transact_time=pd.Timestamp("2024-01-05 14:30:07", tz="Europe/Paris"))
    got = [fields(m) for m in messages]
    assert {f[1] for f in got} == {"ACC-9"} and {f[21] for f in got} == {"1"}
    assert (got[0][40], got[0][44]) == ("2", "190.25")
    assert [f[40] for f in got[1:]] == ["1"] * 3 and not any(44 in f for f in got[1:])
    assert {f[60] for f in got} == {"20240105-13:30:07"}  # converted to UTC


def test_allocations_split_each_order_exactly_by_largest_remainder(batch):
    messages = new_order_singles(batch, allocations={"A": 0.5, "B": 0.3, "C": 0.2})
    splits = [[(e[79], int(e[80])) for e in entries(m, 78, 79)] for m in messages]
    assert splits[0] == [("A", 50), ("B", 30), ("C", 20)]
    assert splits[1] == [("A", 19), ("B", 11), ("C", 7)]  # 18.5 / 11.1 / 7.4: the spare share goes to A
    assert splits[2] == [("A", 3), ("B", 1), ("C", 1)]  # 2.5 / 1.5 / 1.0
    for message, split in zip(messages, splits):
        assert sum(q for _, q in split) == int(message.getField(38))


def test_split_allocations_drops_zero_shares_and_rejects_bad_fractions():
    assert split_allocations(1, {"A": 0.6, "B": 0.4}) == {"A": 1}
    assert split_allocations(3, {"A": 0.5, "B": 0.5}) == {"A": 2, "B": 1}  # tie goes to the first listed
    with pytest.raises(FixValidationError, match="sum to 1"):
        split_allocations(10, {"A": 0.5, "B": 0.4})
    with pytest.raises(FixValidationError, match=">= 0"):
        split_allocations(10, {"A": 1.5, "B": -0.5})


def test_new_order_list_holds_every_order_in_its_group(batch):
    message = new_order_list(batch, allocations={"A": 0.5, "B": 0.5})
    top = fields(message)
    assert (top[35], top[66], top[394], top[68], top[73]) == ("E", "20240105-abc", "3", "4", "4")
    orders = entries(message, 73, 11)
    assert [e[11] for e in orders] == [o[0] for o in ORDERS]
    assert [e[67] for e in orders] == ["1", "2", "3", "4"]
    assert [e[54] for e in orders] == ["1", "2", "5", "1"]
    assert [e[38] for e in orders] == ["100", "37", "5", "12"]
    assert [e.get(22) for e in orders] == [None, "4", "1", None]
    assert [e.get(48) for e in orders] == [None, "US5949181045", "88160R101", None]
    assert {e[40] for e in orders} == {"1"}
    parsed = fix.Message(message.toString(), data_dictionary(), True)  # nested NoAllocs parse and validate
    group = fix.Group(73, 11)
    parsed.getGroup(2, group)
    assert [(a[79], a[80]) for a in entries(group, 78, 79)] == [("A", "19"), ("B", "18")]


def test_an_order_fix_cannot_carry_is_refused_naming_order_and_field(batch):
    bad = make_batch([ORDERS[0], ("20240105-abc-0002", "MSFT", "ISIN", "US5949181045", "SELL", 0, 410.0)])
    with pytest.raises(FixValidationError, match=r"20240105-abc-0002.*OrderQty \(38\)") as err:
        new_order_singles(bad)
    assert (err.value.order_id, err.value.tag) == ("20240105-abc-0002", 38)
    # a value outside the FIX 4.4 dictionary's enum is caught by QuickFIX's validation
    with pytest.raises(FixValidationError, match=r"20240105-abc-0001.*HandlInst \(21\)") as err:
        new_order_list(batch, handl_inst="9")
    assert (err.value.order_id, err.value.tag) == ("20240105-abc-0001", 21)
    soh = make_batch([("20240105-abc-0001", "NESN", "ISIN", "CH0038863350\x01", "BUY", 3, 1.0)])
    with pytest.raises(FixValidationError, match=r"SecurityID \(48\)"):
        new_order_singles(soh)
    with pytest.raises(FixValidationError, match=r"no order.*\['IBM'\]"):
        new_order_singles(batch, limit_prices={"IBM": 150.0})
    duplicate = make_batch([ORDERS[0], ORDERS[0]])
    with pytest.raises(FixValidationError, match="appears twice"):
        new_order_singles(duplicate)


# --- the file -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["single", "list"])
def test_file_is_deterministic_and_every_line_parses_with_valid_checksum(batch, tmp_path, style):
    first = write_fix_file(batch, tmp_path / "a.fix", style=style, allocations={"A": 0.7, "B": 0.3})
    second = write_fix_file(make_batch(), tmp_path / "b.fix", style=style, allocations={"A": 0.7, "B": 0.3})
    assert first.read_bytes() == second.read_bytes()
    lines = first.read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) - 1 == (4 if style == "single" else 1)
    dd = data_dictionary()
    for line in lines[:-1]:
        body_start = line.index(b"\x01", line.index(b"\x019=") + 1) + 1
        trailer = line.rindex(b"10=")
        assert int(re.search(rb"\x019=(\d+)\x01", line).group(1)) == trailer - body_start  # BodyLength
        assert int(line[trailer + 3:-1]) == sum(line[:trailer]) % 256  # CheckSum
        fix.Message(line.decode(), dd, True)  # QuickFIX re-parses and validates it
    ids = re.findall(rb"\x0111=([^\x01]+)", first.read_bytes())
    assert [i.decode() for i in ids] == [o[0] for o in ORDERS]


def test_existing_file_is_kept_unless_forced_and_no_temporary_is_left(batch, tmp_path):
    path = write_fix_file(batch, tmp_path / "orders.fix")
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="orders.fix"):
        write_fix_file(batch, path, account="OTHER")
    assert path.read_bytes() == before
    write_fix_file(batch, path, account="OTHER", force=True)
    assert b"\x011=OTHER\x01" in path.read_bytes()
    with pytest.raises(FixValidationError):
        write_fix_file(batch, tmp_path / "bad.fix", handl_inst="9")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orders.fix"]


def test_an_empty_batch_writes_nothing(tmp_path):
    with pytest.raises(FixValidationError, match="no orders"):
        write_fix_file(make_batch([]), tmp_path / "empty.fix")
    assert not any(tmp_path.iterdir())


# --- the session ----------------------------------------------------------------------------------------------


@pytest.fixture
def oms(tmp_path):
    with fix_acceptor.Acceptor(tmp_path, KNOWN) as acceptor:
        yield acceptor


def received_orders(oms) -> list[dict[int, str]]:
    """Every order the acceptor's application accepted, as {tag: value}, singles and list entries alike."""
    out = []
    for raw in oms.received:
        message = fix.Message(raw, data_dictionary(), True)
        out += entries(message, 73, 11) if message.getHeader().getField(35) == "E" else [fields(raw)]
    return out


@pytest.mark.parametrize("style", ["single", "list"])
def test_send_batch_delivers_every_order_and_reports_acks_and_rejects(batch, oms, style):
    report = send_batch(batch, oms.initiator_config(), style=style, timeout=15.0)
    got = received_orders(oms)
    assert [o[11] for o in got] == [o[0] for o in ORDERS]
    assert [o[54] for o in got] == ["1", "2", "5", "1"]
    assert [o[38] for o in got] == ["100", "37", "5", "12"]
    assert [o.get(48) for o in got] == [None, "US5949181045", "88160R101", None]
    assert [o.get(22) for o in got] == [None, "4", "1", None]
    assert report.acknowledged == tuple(o[0] for o in ORDERS[:3])
    assert report.rejected == ("20240105-abc-0004",) and report.no_answer == ()
    rejected = report["20240105-abc-0004"]
    assert rejected.text == "unknown instrument BBG000BBJQV0"
    assert len(rejected.messages) == 1 and "\x0139=8\x01" in rejected.messages[0]
    assert report.session_id == "FIX.4.4:TRIMTAB->OMS" and report.unmatched == ()
    assert report.to_frame()["status"].tolist() == ["acknowledged"] * 3 + ["rejected"]
    logged = "".join(p.read_text() for p in report.log_dir.iterdir())  # QuickFIX's FileLog keeps the traffic
    assert all(o[0] in logged for o in ORDERS)


def test_a_written_file_can_be_sent_as_is(batch, oms, tmp_path):
    path = write_fix_file(batch, tmp_path / "orders.fix")
    report = send_messages(path.read_text().splitlines(), oms.initiator_config(), timeout=15.0)
    assert [o[11] for o in received_orders(oms)] == [o[0] for o in ORDERS]
    assert report.acknowledged == tuple(o[0] for o in ORDERS[:3]) and report.rejected == ("20240105-abc-0004",)


def test_malformed_message_gets_a_session_reject_and_is_reported_rejected(batch, oms):
    messages = new_order_singles(batch)
    messages[1].removeField(54)  # Side is required: the acceptor's data dictionary refuses the message
    messages[2].setField(38, "0")  # valid FIX, but fails the OMS's business check
    report = send_messages(messages, oms.initiator_config(), timeout=15.0)
    assert [o[11] for o in received_orders(oms)] == ["20240105-abc-0001", "20240105-abc-0003", "20240105-abc-0004"]
    no_side = report["20240105-abc-0002"]
    assert no_side.status == "rejected"
    assert "session Reject: Required tag missing" in no_side.text and "RefTagID=54" in no_side.text
    assert "\x0135=3\x01" in no_side.messages[0]
    assert report["20240105-abc-0003"].status == "rejected"
    assert report["20240105-abc-0003"].text == "OrderQty must be positive, got 0"
    assert report.acknowledged == ("20240105-abc-0001",)


def test_a_closed_port_is_reported_as_connection_refused_and_sends_nothing(batch, tmp_path):
    cfg = tmp_path / "closed.cfg"
    cfg.write_text(f"[SESSION]\nSenderCompID=TRIMTAB\nTargetCompID=OMS\nSocketConnectHost=127.0.0.1\n"
                   f"SocketConnectPort={fix_acceptor.free_port()}\nReconnectInterval=1\nFileStorePath={tmp_path / 's'}\n"
                   f"FileLogPath={tmp_path / 'l'}\n")
    with pytest.raises(FixSessionError, match="connection refused by 127.0.0.1:.*closed.cfg; nothing was sent"):
        send_batch(batch, cfg, timeout=1.5)
    assert not (tmp_path / "s").exists()  # QuickFIX never started: its sequence numbers did not move


def test_session_settings_defaults_paths_and_errors(tmp_path, state_dir):
    config = read_session_config(EXAMPLE_CFG)
    assert (config["SenderCompID"], config["TargetCompID"], config["SocketConnectPort"]) == ("TRIMTAB", "OMS", "9876")
    assert config["BeginString"] == "FIX.4.4" and config["ConnectionType"] == "initiator"
    # the example names no session files: they go to the state directory, never beside the file (the repository)
    assert config["FileStorePath"] == str(state_dir / "fix" / "FIX.4.4-TRIMTAB-OMS" / "store")
    assert config["FileLogPath"] == str(state_dir / "fix" / "FIX.4.4-TRIMTAB-OMS" / "log")
    assert Path(config["DataDictionary"]).name == "FIX44.xml"
    missing = tmp_path / "missing.cfg"
    missing.write_text("[SESSION]\nSenderCompID=TRIMTAB\nSocketConnectHost=h\nSocketConnectPort=1\n")
    with pytest.raises(FixSessionError, match=r"missing.cfg.*lacks \['TargetCompID'\]"):
        read_session_config(missing)
    old = tmp_path / "old.cfg"
    old.write_text(missing.read_text() + "TargetCompID=OMS\nBeginString=FIX.4.2\n")
    with pytest.raises(FixSessionError, match="old.cfg:6: BeginString=FIX.4.2 is not supported"):
        read_session_config(old)
    garbled = tmp_path / "garbled.cfg"
    garbled.write_text("SenderCompID=TRIMTAB\n")
    with pytest.raises(FixSessionError, match="garbled.cfg:1"):
        read_session_config(garbled)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("SocketConnectPort=abc", r"bad.cfg:5: SocketConnectPort='abc' must be a port number"),
        ("SocketConnectPort=70000", r"bad.cfg:5: SocketConnectPort='70000' must be a port number"),
        ("HeartBtInt=0", r"bad.cfg:5: HeartBtInt='0' must be a whole number of seconds > 0"),
        ("ResetOnLogon=yes", r"bad.cfg:5: ResetOnLogon='yes' must be Y or N"),
        ("StartTime=25:00:00", r"bad.cfg:5: StartTime='25:00:00' must be a time HH:MM:SS"),
        ("FileStorePath=fix/store", r"bad.cfg:5: FileStorePath=fix/store is a relative path"),
        ("DataDictionary=nowhere.xml", r"bad.cfg:5: DataDictionary: no such file"),
        ("SenderCompID==CMD()", r"bad.cfg:5: SenderCompID='=CMD\(\)' must not .* start with ="),
    ],
    ids=["port-text", "port-range", "heartbeat", "switch", "time", "relative-store", "dictionary", "comp-id"],
)
def test_a_bad_setting_names_the_file_line_and_key(tmp_path, line, message):
    bad = tmp_path / "bad.cfg"
    bad.write_text(f"[SESSION]\nSenderCompID=TRIMTAB\nTargetCompID=OMS\nSocketConnectHost=h\n{line}\n"
                   + ("SocketConnectPort=1\n" if "Port" not in line else ""))
    with pytest.raises(FixSessionError, match=message):
        read_session_config(bad)
