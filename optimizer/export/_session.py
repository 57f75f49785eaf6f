"""Send an :class:`OrderBatch` over a live FIX 4.4 session, as a QuickFIX initiator, and report every answer.

The session is read from a QuickFIX-style settings file: ``Key=Value`` lines under ``[DEFAULT]`` and exactly
one ``[SESSION]`` (``#`` starts a comment; the session's keys win over the defaults)::

    [SESSION]
    SenderCompID=TRIMTAB
    TargetCompID=OMS
    SocketConnectHost=127.0.0.1
    SocketConnectPort=9876
    # optional, defaults: BeginString=FIX.4.4 (the only one supported), HeartBtInt=30 (seconds),
    # DataDictionary=<sys.prefix>/share/quickfix/FIX44.xml, FileStorePath / FileLogPath: a new temp dir

The four keys shown are required; relative paths are resolved against the settings file's folder. Any other QuickFIX session setting (ResetOnLogon, ReconnectInterval,
StartTime/EndTime, …) is passed through unchanged. Give FileStorePath to keep sequence numbers across runs;
with the default temporary store each run starts at MsgSeqNum 1 (set ResetOnLogon=Y if the counterparty
expects that). Logs are kept, never deleted: :attr:`SendReport.log_dir` says where.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ._fix import new_order_list, new_order_singles
from ._fix_dictionary import _quickfix, data_dictionary
from ._session_config import FixSessionError, read_session_config
from ._schema import OrderBatch

ACKNOWLEDGED, REJECTED, NO_ANSWER = "acknowledged", "rejected", "no answer"
_REJECT_DETAILS = (("SessionRejectReason", 373), ("RefTagID", 371), ("BusinessRejectReason", 380))


@dataclass(frozen=True)
class OrderAnswer:
    """What the counterparty said about one order.

    Attributes
    ----------
    order_id : str
        The order (its ClOrdID).
    status : str
        ``"acknowledged"`` (an ExecutionReport or ListStatus that is not a reject), ``"rejected"`` (an
        ExecutionReport with OrdStatus/ExecType 8, a session Reject ``35=3`` or a BusinessMessageReject
        ``35=j`` that refers to it) or ``"no answer"``. A reject wins over any acknowledgement.
    text : str
        The reject's reason, else the last acknowledgement's Text (58), else empty.
    messages : tuple of str
        Every message received about the order, raw (SOH separators), in arrival order.
    """

    order_id: str
    status: str
    text: str
    messages: tuple[str, ...]


@dataclass(frozen=True)
class SendReport:
    """The outcome of one :func:`send_batch` / :func:`send_messages` run: one answer per order, none dropped.

    Attributes
    ----------
    batch_id : str
    session_id : str
        QuickFIX session id, e.g. ``FIX.4.4:TRIMTAB->OMS``.
    answers : tuple of OrderAnswer
        One per order, in sending order.
    unmatched : tuple of str
        Raw application messages and rejects received that refer to no order sent.
    log_dir : Path
        QuickFIX FileLog folder (every message in and out).
    """

    batch_id: str
    session_id: str
    answers: tuple[OrderAnswer, ...]
    unmatched: tuple[str, ...]
    log_dir: Path

    def __getitem__(self, order_id: str) -> OrderAnswer:
        """The answer about ``order_id``."""
        for answer in self.answers:
            if answer.order_id == order_id:
                return answer
        raise KeyError(f"order {order_id} was not sent in this run")

    @property
    def order_ids(self) -> tuple[str, ...]:
        """Every order id, in sending order."""
        return tuple(a.order_id for a in self.answers)

    acknowledged = property(lambda self: self._ids(ACKNOWLEDGED), doc="Order ids acknowledged.")
    rejected = property(lambda self: self._ids(REJECTED), doc="Order ids rejected.")
    no_answer = property(lambda self: self._ids(NO_ANSWER), doc="Order ids without an answer by the timeout.")

    def _ids(self, status: str) -> tuple[str, ...]:
        return tuple(a.order_id for a in self.answers if a.status == status)

    def to_frame(self) -> pd.DataFrame:
        """One row per order: order_id, status, text, messages (count)."""
        rows = [(a.order_id, a.status, a.text, len(a.messages)) for a in self.answers]
        return pd.DataFrame(rows, columns=["order_id", "status", "text", "messages"])


def _order_ids(message: Any) -> list[str]:
    """ClOrdIDs carried by an outgoing NewOrderSingle or NewOrderList."""
    fix = _quickfix()
    msg_type = message.getHeader().getField(35)
    if msg_type == "D" and message.isSetField(11):
        return [message.getField(11)]
    if msg_type == "E" and message.isSetField(73):
        group, ids = fix.Group(73, 11), []
        for i in range(1, int(message.getField(73)) + 1):
            message.getGroup(i, group)
            ids.append(group.getField(11))
        return ids
    raise FixSessionError(f"can only send NewOrderSingle (D) or NewOrderList (E) with ClOrdIDs, got 35={msg_type}")


def _field(message: Any, tag: int, default: str = "") -> str:
    return message.getField(tag) if message.isSetField(tag) else default


class _Initiator:
    """Collects the counterparty's answers; its ``app`` is the QuickFIX Application (callbacks on QuickFIX's thread)."""

    def __init__(self, order_ids: list[str], list_ids: dict[str, list[str]]) -> None:
        fix = _quickfix()
        self.lock = threading.Condition()
        self.logged_on = threading.Event()
        self.logged_out = threading.Event()
        self.goodbye = ""
        self.list_ids = list_ids
        self.by_seq: dict[str, list[str]] = {}
        self.status = {oid: NO_ANSWER for oid in order_ids}
        self.text = {oid: "" for oid in order_ids}
        self.raw: dict[str, list[str]] = {oid: [] for oid in order_ids}
        self.unmatched: list[str] = []
        outer = self

        class App(fix.Application):
            def onCreate(self, session_id: Any) -> None: ...

            def onLogon(self, session_id: Any) -> None:
                outer.logged_on.set()

            def onLogout(self, session_id: Any) -> None:
                with outer.lock:
                    outer.logged_out.set()
                    outer.lock.notify_all()

            def toAdmin(self, message: Any, session_id: Any) -> None: ...

            def toApp(self, message: Any, session_id: Any) -> None:
                outer._guard(outer._sent, message)

            def fromAdmin(self, message: Any, session_id: Any) -> None:
                outer._guard(outer._received, message, False)

            def fromApp(self, message: Any, session_id: Any) -> None:
                outer._guard(outer._received, message, True)

        self.app = App()

    def _guard(self, handler: Any, *args: Any) -> None:
        """Run a callback body; an error is recorded, never raised into QuickFIX's thread."""
        try:
            handler(*args)
        except Exception as exc:  # noqa: BLE001 - reported in SendReport.unmatched
            with self.lock:
                self.unmatched.append(f"error handling {args[0].toString()!r}: {exc!r}")

    def _sent(self, message: Any) -> None:
        with self.lock:
            self.by_seq[message.getHeader().getField(34)] = _order_ids(message)

    def _note(self, order_ids: Iterable[str], raw: str, status: str, text: str) -> None:
        for oid in order_ids:
            self.raw[oid].append(raw)
            if self.status[oid] != REJECTED:  # a reject is final; later acks do not hide it
                self.status[oid], self.text[oid] = status, text or self.text[oid]

    def _received(self, message: Any, app: bool) -> None:
        fix = _quickfix()
        raw, msg_type = message.toString(), message.getHeader().getField(35)
        with self.lock:
            if msg_type == "5":
                self.goodbye = _field(message, 58)
            if msg_type not in ("8", "3", "j", "N"):
                if app:
                    self.unmatched.append(raw)
                return
            ids: list[str] = []
            if msg_type == "8":
                ids = [oid for oid in [_field(message, 11)] if oid in self.status]
                rejected = "8" in (_field(message, 39), _field(message, 150))
                status = REJECTED if rejected else ACKNOWLEDGED
                text = _field(message, 58) or (f"OrdRejReason={_field(message, 103)}" if rejected else "")
                self._note(ids, raw, status, text)
            elif msg_type in ("3", "j"):
                ref = _field(message, 379)
                ids = ([ref] if ref in self.status else self.list_ids.get(ref)) or self.by_seq.get(
                    _field(message, 45), [])
                kind = "session Reject" if msg_type == "3" else "BusinessMessageReject"
                reason = ", ".join(f"{name}={message.getField(tag)}" for name, tag in _REJECT_DETAILS
                                   if message.isSetField(tag))
                self._note(ids, raw, REJECTED, f"{kind}: {_field(message, 58)} ({reason})")
            else:  # ListStatus: one entry per order
                group = fix.Group(73, 11)
                for i in range(1, int(_field(message, 73, "0")) + 1):
                    message.getGroup(i, group)
                    oid, rejected = _field(group, 11), _field(group, 39) == "8"
                    if oid in self.status:
                        ids.append(oid)
                        self._note([oid], raw, REJECTED if rejected else ACKNOWLEDGED, _field(group, 58))
            if not ids:
                self.unmatched.append(raw)
            self.lock.notify_all()

    def all_answered(self) -> bool:
        return all(status != NO_ANSWER for status in self.status.values())


def send_messages(messages: Sequence[Any], config_path: str | Path, *, timeout: float = 30.0,
                  batch_id: str = "") -> SendReport:
    """Log on, send NewOrderSingle / NewOrderList messages as given, collect answers, log out.

    No validation happens here (the session's header fields replace the messages' own); build messages
    with :func:`new_order_singles` / :func:`new_order_list`, or use :func:`send_batch`.

    ``messages`` may be quickfix.Message objects or raw FIX strings (e.g. the lines of a file written by
    :func:`write_fix_file`); ``config_path``, ``timeout`` (seconds) and the result are as in
    :func:`send_batch`; ``batch_id`` is recorded in the report.
    """
    return _send(messages, read_session_config(config_path), timeout=timeout, batch_id=batch_id)


def _send(messages: Sequence[Any], config: dict[str, str], *, timeout: float, batch_id: str) -> SendReport:
    fix = _quickfix()
    if not timeout > 0:
        raise ValueError(f"timeout must be positive seconds, got {timeout!r}")
    dd = data_dictionary(config["DataDictionary"])
    if "FileStorePath" not in config or "FileLogPath" not in config:
        work = Path(tempfile.mkdtemp(prefix="trimtab-fix-"))
        config = {"FileStorePath": str(work / "store"), "FileLogPath": str(work / "log"), **config}
    messages = [fix.Message(m.strip("\n"), dd, False) if isinstance(m, str) else m for m in messages]
    plan = [_order_ids(m) for m in messages]
    order_ids = [oid for ids in plan for oid in ids]
    twice = sorted(oid for oid, n in Counter(order_ids).items() if n > 1)
    if twice:
        raise FixSessionError(f"ClOrdID {twice[0]} appears twice in the messages to send; nothing was sent")
    list_ids = {m.getField(66): ids for m, ids in zip(messages, plan) if m.isSetField(66)}
    collector = _Initiator(order_ids, list_ids)
    settings, values = fix.SessionSettings(), fix.Dictionary()
    for key, value in config.items():
        values.setString(key, value)
    session_id = fix.SessionID(config["BeginString"], config["SenderCompID"], config["TargetCompID"])
    settings.set(values)  # FileLogFactory reads FileLogPath from [DEFAULT]
    settings.set(session_id, values)
    deadline = time.monotonic() + timeout
    # QuickFIX keeps references to the app and factories: they must outlive the initiator.
    store, log = fix.FileStoreFactory(settings), fix.FileLogFactory(settings)
    try:
        initiator = fix.SocketInitiator(collector.app, store, settings, log)
        initiator.start()
    except fix.FIXException as exc:
        raise FixSessionError(f"QuickFIX rejects the session settings: {exc}") from exc
    try:
        if not collector.logged_on.wait(timeout):
            raise FixSessionError(
                f"no FIX logon to {config['SocketConnectHost']}:{config['SocketConnectPort']} as "
                f"{session_id.toString()} within {timeout:g} s; nothing was sent. {collector.goodbye} "
                f"Logs: {config['FileLogPath']}")
        for message, ids in zip(messages, plan):
            if not fix.Session.sendToTarget(message, session_id):
                with collector.lock:
                    collector._note(ids, "", NO_ANSWER, "not sent: the session was no longer logged on")
        with collector.lock:
            while not (collector.all_answered() or collector.logged_out.is_set()):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                collector.lock.wait(min(left, 0.5))
    finally:
        session = fix.Session.lookupSession(session_id)
        if session is not None and session.isLoggedOn():
            session.logout()
            collector.logged_out.wait(5.0)
        initiator.stop(True)  # already logged out: do not wait for it again
        del initiator  # destroyed while the app and factories it points to are alive
    with collector.lock:
        answers = tuple(OrderAnswer(oid, collector.status[oid], collector.text[oid],
                                    tuple(r for r in collector.raw[oid] if r)) for oid in order_ids)
        unmatched = tuple(collector.unmatched)
    return SendReport(batch_id, session_id.toString(), answers, unmatched, Path(config["FileLogPath"]))


def send_batch(batch: OrderBatch, config_path: str | Path, *, style: str = "single", timeout: float = 30.0,
               transact_time: datetime | pd.Timestamp | None = None, **options: Any) -> SendReport:
    """Validate the batch as FIX 4.4 orders and send it over a live session; report every order's answer.

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
    **options
        ``account``, ``allocations``, ``limit_prices``, ``handl_inst`` as in :func:`new_order_singles`.

    Returns
    -------
    SendReport
        One :class:`OrderAnswer` per order: acknowledged, rejected (with the reason) or no answer.

    Raises
    ------
    FixValidationError
        If an order fails FIX 4.4 validation (nothing is sent).
    FixSessionError
        If the settings are invalid or the logon fails within ``timeout`` (nothing is sent).
    """
    if style not in ("single", "list"):
        raise ValueError(f"style must be 'single' or 'list', got {style!r}")
    config = read_session_config(config_path)
    options.update(transact_time=pd.Timestamp.now(tz="UTC") if transact_time is None else transact_time,
                   sender_comp_id=config["SenderCompID"], target_comp_id=config["TargetCompID"],
                   data_dictionary_path=config["DataDictionary"])
    if style == "single":
        messages = new_order_singles(batch, **options)
    else:
        messages = [new_order_list(batch, **options)]
    return _send(messages, config, timeout=timeout, batch_id=batch.batch_id)
