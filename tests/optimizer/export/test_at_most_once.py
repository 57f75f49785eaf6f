"""Orders go out at most once (issue 11, acceptance 1): a loopback OMS counts every ClOrdID it receives.

Each test exports the small desk (5 BUY orders) with the real CLI and sends it to the acceptor; the journal
lives in the per-test state directory (``TRIMTAB_STATE_DIR``, set by ``conftest.py``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import pytest
from typer.testing import CliRunner

fix = pytest.importorskip("quickfix")

from trimtab.optimizer.cli import app  # noqa: E402
from trimtab.optimizer.export import read_journal  # noqa: E402
from trimtab.optimizer.export._journal import Journal  # noqa: E402 - holds the lock as another sender would

_spec = importlib.util.spec_from_file_location("trimtab_tests_fix_acceptor", Path(__file__).with_name("fix_acceptor.py"))
fix_acceptor = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fix_acceptor)


def export(desk, out: Path, *more: str):
    args = ["export", str(desk["run"]), "--holdings", str(desk["holdings"]), "--prices", str(desk["prices"]),
            "--out", str(out), *desk["args"], *more]
    return CliRunner().invoke(app, args)


def send(batch_dir: Path, cfg: Path, *more: str):
    return CliRunner().invoke(app, ["send", str(batch_dir), "--fix-config", str(cfg), "--timeout", "15", *more])


def exported(desk, out: Path) -> Path:
    result = export(desk, out)
    assert result.exit_code == 0, result.output
    (batch_dir,) = out.iterdir()
    return batch_dir


def order_ids(batch_dir: Path) -> list[str]:
    return [o["order_id"] for o in json.loads((batch_dir / "orders.json").read_text())["orders"]]


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def oms(tmp_path, small_desk):
    with fix_acceptor.Acceptor(tmp_path / "oms", small_desk["tickers"]) as acceptor:
        yield acceptor


def test_send_then_export_force_then_send_sends_each_order_once(small_desk, oms, tmp_path):
    batch_dir = exported(small_desk, tmp_path / "orders")
    ids = order_ids(batch_dir)
    cfg = oms.initiator_config()
    first = send(batch_dir, cfg)
    assert first.exit_code == 0, first.output
    assert oms.cl_ord_ids() == ids

    before = {p.name: p.read_bytes() for p in batch_dir.rglob("*") if p.is_file()}
    forced_export = export(small_desk, tmp_path / "orders", "--force")
    message = flat(forced_export.output)
    journal_file = str(read_journal(batch_dir.name).path)
    assert forced_export.exit_code == 2 and f"batch {batch_dir.name} was already sent" in message, message
    assert journal_file in message and "refused" in message
    assert {p.name: p.read_bytes() for p in batch_dir.rglob("*") if p.is_file()} == before  # nothing replaced

    again = send(batch_dir, cfg)
    assert again.exit_code == 2 and "already sent" in flat(again.output) and "duplicate" in flat(again.output)
    # Even with the batch directory gone (deleted, then exported afresh), the journal still refuses it.
    import shutil

    shutil.rmtree(batch_dir)
    fresh = export(small_desk, tmp_path / "orders")
    assert fresh.exit_code == 0 and f"note: batch {batch_dir.name} was already sent" in flat(fresh.output)
    assert batch_dir.is_dir() and not (batch_dir / "sends").exists()
    journal = read_journal(batch_dir.name)
    assert journal is not None and journal.went_out == tuple(ids) and journal.acknowledged == tuple(ids)
    third = send(batch_dir, cfg)
    assert third.exit_code == 2 and str(journal.path) in flat(third.output), third.output
    assert Counter(oms.cl_ord_ids()) == {oid: 1 for oid in ids}


def test_the_same_batch_exported_into_a_second_directory_is_not_sent_again(small_desk, oms, tmp_path):
    one, two = exported(small_desk, tmp_path / "one"), exported(small_desk, tmp_path / "two")
    assert one.name == two.name and one != two
    ids, cfg = order_ids(one), oms.initiator_config()
    assert send(one, cfg).exit_code == 0
    refused = send(two, cfg)
    assert refused.exit_code == 2 and "already sent" in flat(refused.output) and "--force" in flat(refused.output)
    assert Counter(oms.cl_ord_ids()) == {oid: 1 for oid in ids}

    forced = send(two, cfg, "--force")
    assert forced.exit_code == 0, forced.output
    text = flat(forced.output)
    assert f"including {len(ids)} already acknowledged: {', '.join(ids)}" in text, text
    assert Counter(oms.cl_ord_ids()) == {oid: 2 for oid in ids}
    journal = read_journal(one.name)
    assert journal.attempts == 2 and journal.times_sent == {oid: 2 for oid in ids}


def _popen_send(batch_dir: Path, cfg: Path, journals: Path) -> subprocess.Popen:
    """``python -m trimtab send`` in a fresh process on the tree under test (as the ``trimtab_process`` fixture)."""
    import trimtab

    root = str(Path(trimtab.__file__).resolve().parents[1])
    env = {**os.environ, "TRIMTAB_STATE_DIR": str(journals.parent), "COLUMNS": "200",
           "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    return subprocess.Popen([sys.executable, "-m", "trimtab", "send", str(batch_dir), "--fix-config", str(cfg),
                             "--timeout", "60"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def interrupted(small_desk, tmp_path_factory):
    """Two sends to a slow OMS, each in a child process, cut short once the OMS has the first order: one by
    SIGINT, one by SIGKILL (run side by side: the children's start-up dominates). Then a plain ``send`` of each
    batch from this process. Returns, per signal, a dict of facts: batch_dir, journals, code, output, received
    (ClOrdIDs at the OMS after the interrupted send), again (the second send's result), after (ClOrdIDs then).
    """
    runs, facts = {}, {}
    with ExitStack() as stack:
        for signum in (signal.SIGINT, signal.SIGKILL):
            root = tmp_path_factory.mktemp(signum.name)
            journals = root / "state" / "journal"
            result = export(small_desk, root / "orders", "--journal-dir", str(journals))
            assert result.exit_code == 0, result.output
            (batch_dir,) = (root / "orders").iterdir()
            # one session id each: QuickFIX keeps one registry of sessions per process
            oms = stack.enter_context(fix_acceptor.Acceptor(root / "oms", small_desk["tickers"], delay=0.3,
                                                            comp_id=f"OMS{int(signum)}"))
            runs[signum] = (batch_dir, journals, oms, _popen_send(batch_dir, oms.initiator_config(), journals))
        try:
            for signum, (_, _, oms, child) in runs.items():
                for _ in range(2400):  # the first order reaches the OMS (or the child ends early: a failure below)
                    if oms.cl_ord_ids() or child.poll() is not None:
                        break
                    time.sleep(0.05)
                child.send_signal(signum)
            for signum, (batch_dir, journals, oms, child) in runs.items():
                out, err = child.communicate(timeout=120)
                received = oms.cl_ord_ids()
                again = send(batch_dir, oms.initiator_config(), "--journal-dir", str(journals))
                facts[signum] = dict(batch_dir=batch_dir, journals=journals, code=child.returncode, output=out + err,
                                     received=received, again=again, after=oms.cl_ord_ids())
        finally:
            for *_, child in runs.values():
                if child.poll() is None:
                    child.kill()
                    child.wait()
    return facts


def test_sigint_mid_send_stops_cleanly_journals_what_went_out_and_the_next_send_is_refused(interrupted):
    run = interrupted[signal.SIGINT]
    assert run["code"] == 130 and "interrupted by SIGINT" in flat(run["output"]), run["output"]
    assert "Traceback" not in run["output"]
    journal = read_journal(run["batch_dir"].name, run["journals"])
    received = run["received"]
    assert received and set(journal.went_out) == set(received)  # exactly the orders the OMS got
    assert Counter(received) == {oid: 1 for oid in received}
    assert not journal.unfinished and journal.attempts == 1
    lines = [json.loads(line) for line in journal.path.read_text().splitlines()]
    assert lines[0]["event"] == "start" and lines[-1]["event"] == "end" and lines[-1]["outcome"] == "interrupted"
    answered = {oid for line in lines if line["event"] == "answer" for oid in line["orders"]}
    assert answered <= set(received) and set(journal.acknowledged) == answered
    record = json.loads(next((run["batch_dir"] / "sends").glob("*.json")).read_text())
    assert record["interrupted"] and record["journal"] == str(journal.path)
    # the next send is refused and nothing more reaches the OMS
    assert run["again"].exit_code == 2 and "already sent" in flat(run["again"].output), run["again"].output
    assert run["after"] == received


def test_a_kill_mid_send_leaves_the_pre_send_entries_and_the_next_send_is_refused(interrupted):
    run = interrupted[signal.SIGKILL]
    assert run["code"] == -signal.SIGKILL, run["output"]
    journal = read_journal(run["batch_dir"].name, run["journals"])
    assert journal.unfinished and run["received"] and set(run["received"]) <= set(journal.went_out)  # never fewer
    assert set(journal.states) == set(order_ids(run["batch_dir"]))  # the start line named every order
    assert run["again"].exit_code == 2 and "last attempt never finished" in flat(run["again"].output)
    assert run["after"] == run["received"] and Counter(run["received"]) == {o: 1 for o in run["received"]}


def test_a_batch_being_sent_is_neither_sent_nor_replaced_meanwhile(small_desk, oms, tmp_path):
    batch_dir = exported(small_desk, tmp_path / "orders")
    with Journal(batch_dir.name):  # another process sending it right now holds the journal's lock
        busy = send(batch_dir, oms.initiator_config(), "--force")
        assert busy.exit_code == 2 and "being sent by another process" in flat(busy.output)
        replace = export(small_desk, tmp_path / "orders", "--force")
        assert replace.exit_code == 2 and "being sent right now" in flat(replace.output)
    assert oms.received == []


def test_orders_stored_by_quickfix_are_never_resent_when_the_counterparty_asks_for_a_resend(small_desk, tmp_path):
    """A counterparty that lost track of our sequence numbers asks for a resend at logon: QuickFIX would re-send
    the orders stored from the earlier session (PossDupFlag=Y), live duplicates. They are gap-filled instead."""
    first = exported(small_desk, tmp_path / "a")
    with fix_acceptor.Acceptor(tmp_path / "oms", small_desk["tickers"]) as oms:
        assert send(first, oms.initiator_config()).exit_code == 0
    seqnums = next((tmp_path / "oms" / "oms" / "store").glob("*.seqnums"))  # "<its next out> : <our next in>"
    theirs, _ = seqnums.read_text().split(" : ")
    seqnums.write_text(f"{theirs} : {1:020d}")  # it now expects our MsgSeqNum 1 again
    second = exported(small_desk, tmp_path / "b")
    assert second.name == first.name
    with fix_acceptor.Acceptor(tmp_path / "oms", small_desk["tickers"]) as same_oms:  # same store, same client store
        forced = send(second, same_oms.initiator_config(), "--force")
        assert forced.exit_code == 0, forced.output
        got = same_oms.cl_ord_ids()
    assert Counter(got) == {oid: 1 for oid in order_ids(first)}  # each once: the stored copies were not re-sent
    lines = [json.loads(line) for line in read_journal(first.name).path.read_text().splitlines()]
    assert {oid for line in lines if line["event"] == "resend_refused" for oid in line["orders"]} == set(got)


def test_a_batch_directory_with_a_send_record_is_not_replaced_even_without_a_journal(small_desk, tmp_path):
    batch_dir = exported(small_desk, tmp_path / "orders")
    (batch_dir / "sends").mkdir()
    (batch_dir / "sends" / "20240105T000000000000Z.json").write_text("{}")  # sent before journals existed
    before = (batch_dir / "orders.json").read_bytes()
    refused = export(small_desk, tmp_path / "orders", "--force")
    assert refused.exit_code == 2 and "was sent (record sends/20240105T000000000000Z.json" in flat(refused.output)
    assert (batch_dir / "orders.json").read_bytes() == before and (batch_dir / "sends").is_dir()
