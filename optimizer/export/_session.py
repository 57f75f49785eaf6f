"""Send an :class:`OrderBatch` over a live FIX 4.4 session, as a QuickFIX initiator, at most once, and report every answer.

The session is read from a QuickFIX-style settings file: ``Key=Value`` lines under ``[DEFAULT]`` and exactly
one ``[SESSION]`` (``#`` starts a comment; the session's keys win over the defaults)::

    [SESSION]
    SenderCompID=TRIMTAB
    TargetCompID=OMS
    SocketConnectHost=127.0.0.1
    SocketConnectPort=9876
    # optional, defaults: BeginString=FIX.4.4 (the only one supported), HeartBtInt=30 (seconds),
    # DataDictionary=<sys.prefix>/share/quickfix/FIX44.xml,
    # FileStorePath / FileLogPath (absolute): <state dir>/fix/FIX.4.4-<Sender>-<Target>/store, …/log

The four keys shown are required (see :mod:`._session_config` for every check). Any other QuickFIX session
setting (ResetOnLogon, ReconnectInterval, StartTime/EndTime, …) is passed through unchanged. Logs are kept,
never deleted: :attr:`SendReport.log_dir` says where.

At most once: every send of a batch id goes through its journal (:mod:`._journal`), locked for the whole
send: refused if an earlier send put any order on the wire (unless ``force``); a ``start`` line before
connecting, a ``sent`` line before each message leaves, every answer as it arrives, an ``end`` line.
SIGINT / SIGTERM during a send stop it cleanly: no further order leaves, the session logs out, the journal
records what went out and what came back, and :class:`SendInterrupted` is raised (a second signal acts as
usual). Orders stored by QuickFIX are never re-sent on a ResendRequest (gap-filled instead).
"""

from __future__ import annotations

import math
import os
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from .. import ExportError
from ._diagnose import logon_failure, probe_endpoints
from ._fix import new_order_list, new_order_singles
from ._fix_dictionary import FixValidationError, _quickfix, data_dictionary
from ._initiator import Initiator, order_ids
from ._journal import NOT_SENT, AlreadySentError, Journal, listed
from ._report import OrderAnswer, SendReport
from ._schema import OrderBatch
from ._session_config import FixSessionError, read_session_config

_POLL = 0.05  # seconds between checks for a signal while waiting


class SendInterrupted(ExportError):
    """SIGINT or SIGTERM stopped a send; the journal says which orders went out.

    Attributes
    ----------
    report : SendReport
        The answers received before the session logged out (orders never sent: ``"not sent"``).
    signum : int
        The signal.
    """

    def __init__(self, message: str, report: SendReport, signum: int) -> None:
        self.report, self.signum = report, signum
        super().__init__(message)


def check_send_settings(style: str | None, timeout: float) -> None:
    """Raise :class:`ExportError` unless ``style`` is single/list (or None) and ``timeout`` is finite seconds > 0."""
    if style is not None and style not in ("single", "list"):
        raise FixValidationError(f"--style must be 'single' or 'list', got {style!r}")
    if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
        raise FixSessionError(f"--timeout must be a finite number of seconds > 0, got {timeout!r}; nothing was sent")


def send_messages(messages: Sequence[Any], config_path: str | Path, *, timeout: float = 30.0, batch_id: str = "",
                  force: bool = False, journal_dir: str | Path | None = None,
                  notify: Callable[[str], None] | None = None) -> SendReport:
    """Log on, send NewOrderSingle / NewOrderList messages as given, collect answers, log out.

    No validation happens here (the session's header fields replace the messages' own); build messages
    with :func:`new_order_singles` / :func:`new_order_list`, or use :func:`send_batch`.

    ``messages`` may be quickfix.Message objects or raw FIX strings (e.g. the lines of a file written by
    :func:`write_fix_file`); ``config_path``, ``timeout`` (seconds), ``force``, ``journal_dir``, ``notify``
    and the result are as in :func:`send_batch`. With a ``batch_id`` the send is journaled and guarded
    under that id; without one nothing guards against sending the messages twice.
    """
    check_send_settings(None, timeout)
    config = read_session_config(config_path)
    return _guarded(messages, config, config_path, timeout=timeout, batch_id=batch_id, force=force,
                    journal_dir=journal_dir, notify=notify, source=None)


def send_batch(batch: OrderBatch, config_path: str | Path, *, style: str = "single", timeout: float = 30.0,
               transact_time: datetime | pd.Timestamp | None = None, force: bool = False,
               journal_dir: str | Path | None = None, notify: Callable[[str], None] | None = None,
               source: str | Path | None = None, **options: Any) -> SendReport:
    """Validate the batch as FIX 4.4 orders and send it over a live session, at most once; report every answer.

    Parameters
    ----------
    batch : OrderBatch
    config_path : path-like
        Session settings file (see the module docstring).
    style : {"single", "list"}
        One NewOrderSingle per order, or one NewOrderList for the batch.
    timeout : float
        Seconds, overall, to log on and receive an answer to every order; orders still unanswered
        then are reported as ``"no answer"``.
    transact_time : datetime, optional
        TransactTime (60); default now (UTC), since a live order is created now (files use ``as_of``).
    force : bool
        Send although the journal says orders of this batch went out before.
    journal_dir : path, optional
        Where the batch's journal lives (default ``<state dir>/journal``; see :mod:`._journal`).
    notify : callable, optional
        Called with a warning naming the orders already acknowledged, before a forced re-send starts.
    source : path, optional
        The batch directory, recorded in the journal.
    **options
        ``account``, ``allocations``, ``limit_prices``, ``handl_inst`` as in :func:`new_order_singles`.

    Returns
    -------
    SendReport
        One :class:`OrderAnswer` per order: acknowledged, rejected (with the reason), no answer or not sent.

    Raises
    ------
    FixValidationError
        If an order fails FIX 4.4 validation (nothing is sent).
    AlreadySentError, JournalBusyError, JournalError
        Sent before (and not ``force``), being sent now, or no journal can be written (nothing is sent).
    FixSessionError
        If the settings are invalid or the logon fails, with the cause (nothing is sent).
    SendInterrupted
        SIGINT / SIGTERM stopped the send (the journal says what went out).
    """
    check_send_settings(style, timeout)
    config = read_session_config(config_path)
    options.update(transact_time=pd.Timestamp.now(tz="UTC") if transact_time is None else transact_time,
                   sender_comp_id=config["SenderCompID"], target_comp_id=config["TargetCompID"],
                   data_dictionary_path=config["DataDictionary"])
    messages = new_order_singles(batch, **options) if style == "single" else [new_order_list(batch, **options)]
    return _guarded(messages, config, config_path, timeout=timeout, batch_id=batch.batch_id, force=force,
                    journal_dir=journal_dir, notify=notify, source=source)


def _guarded(messages: Sequence[Any], config: dict[str, str], config_path: str | Path, *, timeout: float,
             batch_id: str, force: bool, journal_dir: str | Path | None, notify: Callable[[str], None] | None,
             source: str | Path | None) -> SendReport:
    """Send under the batch's journal: refused if sent before (unless ``force``)."""
    if not batch_id:
        return _send(messages, config, config_path, timeout=timeout, batch_id="", journal=None)
    with Journal(batch_id, journal_dir) as journal:
        before = journal.before
        if before.ever_sent and not force:
            raise AlreadySentError(
                f"batch {batch_id} was already sent: {before.summary()}; journal {journal.path}. Sending it again "
                "would duplicate the orders: use --force only if the counterparty asked for it")
        if before.ever_sent and notify is not None:
            acked = before.acknowledged
            notify(f"--force: batch {batch_id} was sent before ({before.summary()}; journal {journal.path}); "
                   f"sending every order again, including {len(acked)} already acknowledged"
                   + (f": {listed(acked)}" if acked else ""))
        report = _send(messages, config, config_path, timeout=timeout, batch_id=batch_id, journal=journal,
                       forced=before.ever_sent, source=source)
        return replace(report, journal=journal.path, previously_acknowledged=before.acknowledged)


class _Stop:
    """Set by the first SIGINT / SIGTERM during a send."""

    def __init__(self) -> None:
        self.event, self.signum = threading.Event(), 0


@contextmanager
def _deferred_signals(stop: _Stop) -> Iterator[None]:
    """While sending, the first SIGINT / SIGTERM only sets ``stop`` (main thread only; a second acts as usual)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: Any) -> None:
        stop.signum = stop.signum or signum
        stop.event.set()
        signal.signal(signum, previous.get(signum) or signal.SIG_DFL)

    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old if old is not None else signal.SIG_DFL)


def _send(messages: Sequence[Any], config: dict[str, str], config_path: str | Path, *, timeout: float,
          batch_id: str, journal: Journal | None, forced: bool = False,
          source: str | Path | None = None) -> SendReport:
    fix = _quickfix()
    dd = data_dictionary(config["DataDictionary"])
    messages = [fix.Message(m.strip("\n"), dd, False) if isinstance(m, str) else m for m in messages]
    plan = [order_ids(m) for m in messages]
    ids = [oid for group in plan for oid in group]
    twice = sorted(oid for oid, n in Counter(ids).items() if n > 1)
    if twice:
        raise FixSessionError(f"ClOrdID {twice[0]} appears twice in the messages to send; nothing was sent")
    collector = Initiator(ids, {m.getField(66): g for m, g in zip(messages, plan) if m.isSetField(66)}, journal)
    session_id = fix.SessionID(config["BeginString"], config["SenderCompID"], config["TargetCompID"])
    stop, end = _Stop(), {"outcome": "failed", "cause": ""}
    with _deferred_signals(stop):
        if journal is not None:
            journal.record("start", orders=ids, session=session_id.toString(), pid=os.getpid(),
                           host=socket.gethostname(), forced=forced, source=str(source) if source else None,
                           connect=f"{config['SocketConnectHost']}:{config['SocketConnectPort']}",
                           store=config["FileStorePath"])
        try:
            _run(messages, plan, config, config_path, collector, session_id, stop, timeout, end)
        except BaseException as exc:
            end["outcome"] = "interrupted" if isinstance(exc, KeyboardInterrupt) else end["outcome"]
            end["cause"] = end["cause"] or f"{type(exc).__name__}: {exc}"
            raise
        finally:
            if journal is not None:
                journal.record("end", outcome=end["outcome"], cause=end["cause"], statuses=collector.statuses())
    with collector.lock:
        answers = tuple(OrderAnswer(oid, collector.status[oid], collector.text[oid],
                                    tuple(r for r in collector.raw[oid] if r)) for oid in ids)
        unmatched = tuple(collector.unmatched)
    report = SendReport(batch_id, session_id.toString(), answers, unmatched, Path(config["FileLogPath"]),
                        journal.path if journal is not None else None)
    if stop.signum:
        raise SendInterrupted(_interrupted(report, stop.signum, journal), report, stop.signum)
    return report


def _run(messages: list[Any], plan: list[list[str]], config: dict[str, str], config_path: str | Path,
         collector: Initiator, session_id: Any, stop: _Stop, timeout: float, end: dict[str, str]) -> None:
    """Connect, log on, send (journaling each message before it leaves), wait for answers, log out."""
    fix = _quickfix()
    deadline = time.monotonic() + timeout
    probe_endpoints(config, config_path, timeout)
    settings, values = fix.SessionSettings(), fix.Dictionary()
    for key, value in config.items():
        values.setString(key, value)
    settings.set(values)  # FileLogFactory reads FileLogPath from [DEFAULT]
    settings.set(session_id, values)
    # QuickFIX keeps references to the app and factories: they must outlive the initiator.
    store, log = fix.FileStoreFactory(settings), fix.FileLogFactory(settings)
    try:
        initiator = fix.SocketInitiator(collector.app, store, settings, log)
        initiator.start()
    except fix.FIXException as exc:
        raise FixSessionError(f"{config_path}: QuickFIX rejects the session settings: {exc}") from None
    try:
        # A Logout or a disconnect before the logon completes ends the attempt: QuickFIX would retry (and
        # advance its sequence numbers) until the timeout, but the cause is known now.
        while not (collector.logged_on.is_set() or collector.logged_out.is_set() or stop.event.is_set()):
            if time.monotonic() >= deadline:
                break
            collector.logged_on.wait(_POLL)
        if not collector.logged_on.is_set():
            if stop.event.is_set():
                collector.not_sent([oid for group in plan for oid in group], "interrupted before logon")
                end["outcome"] = "interrupted"
                return
            failure = logon_failure(config, config_path, theirs=collector.goodbye, ours=collector.our_goodbye,
                                    disconnected=collector.logged_out.is_set(), timeout=timeout,
                                    session=session_id.toString())
            end["outcome"], end["cause"] = "no logon", str(failure)
            collector.not_sent([oid for group in plan for oid in group], "no logon")
            raise failure  # after the session is stopped (finally below)
        session = fix.Session.lookupSession(session_id)
        for n, (message, group) in enumerate(zip(messages, plan)):
            gone = "interrupted" if stop.event.is_set() else (
                "the session was no longer logged on" if not session.isLoggedOn() else "")
            if gone:
                collector.not_sent([oid for rest in plan[n:] for oid in rest], gone)
                break
            if collector.journal is not None:
                collector.journal.record("sent", orders=group)  # before it leaves; if this fails, it never does
            if not fix.Session.sendToTarget(message, session_id):  # known not to have left: retract the line
                collector.not_sent(group, "QuickFIX did not send it (the session was no longer logged on)", True)
        with collector.lock:
            while not (collector.all_answered() or collector.logged_out.is_set() or stop.event.is_set()):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                collector.lock.wait(min(left, _POLL))
        end["outcome"] = ("interrupted" if stop.event.is_set() else "complete" if collector.all_answered()
                          else "logged out" if collector.logged_out.is_set() else "timeout")
    finally:
        session = fix.Session.lookupSession(session_id)
        if session is not None and session.isLoggedOn():
            session.logout()
            _nudge(session_id)
            collector.logged_out.wait(5.0)
        initiator.stop(True)  # already logged out: do not wait for it again
        del initiator  # destroyed while the app and factories it points to are alive


def _nudge(session_id: Any) -> None:
    """Send a TestRequest: its Heartbeat answer wakes QuickFIX's session loop, which then sends the Logout at
    once instead of at its next one-second tick."""
    fix = _quickfix()
    import quickfix44

    request = quickfix44.TestRequest()
    request.setField(112, "logout")
    try:
        fix.Session.sendToTarget(request, session_id)
    except fix.SessionNotFound:  # gone meanwhile: nothing to wake
        pass


def _interrupted(report: SendReport, signum: int, journal: Journal | None) -> str:
    went = [a.order_id for a in report.answers if a.status != NOT_SENT]
    answered = len(report.acknowledged) + len(report.rejected)
    where = f"journal {journal.path}" if journal is not None else "no journal (no batch id)"
    return (f"send of batch {report.batch_id} interrupted by {signal.Signals(signum).name}: {len(went)} of "
            f"{len(report.answers)} orders went out ({listed(went) or 'none'}); {answered} answered "
            f"({len(report.acknowledged)} acknowledged, {len(report.rejected)} rejected), the rest have no answer; "
            f"{where}. A new send of this batch is refused unless --force")
