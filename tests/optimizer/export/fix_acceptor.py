"""A loopback FIX 4.4 acceptor (QuickFIX SocketAcceptor) standing in for an OMS in tests.

It validates every incoming message against FIX44.xml (QuickFIX answers a malformed one with a session
Reject ``35=3`` itself), records every application message it accepts, and answers each order with an
ExecutionReport: OrdStatus/ExecType 0 (New), or 8 (Rejected, with Text and OrdRejReason) when the order fails
a business check: OrderQty not positive, or an instrument (Symbol or SecurityID) it does not know.
Optionally it answers slowly (``delay`` seconds before each answer, to interrupt a send half-way) or
refuses every logon (``reject_logon``: the Logout's Text).
"""

from __future__ import annotations

import itertools
import socket
import sys
import threading
import time
from pathlib import Path

import quickfix as fix

DICTIONARY = Path(sys.prefix) / "share" / "quickfix" / "FIX44.xml"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, release it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(fields: fix.FieldMap, tag: int) -> str:
    return fields.getField(tag) if fields.isSetField(tag) else ""


class _App(fix.Application):
    def __init__(self, known: set[str], delay: float = 0.0, reject_logon: str = "") -> None:
        super().__init__()
        self.known, self.delay, self.reject_logon = known, delay, reject_logon
        self.received: list[str] = []
        self.exec_ids = itertools.count(1)
        self.lock = threading.Lock()
        self.logged_on = threading.Event()

    def onCreate(self, session_id):  # noqa: N802 - QuickFIX's names
        pass

    def onLogon(self, session_id):  # noqa: N802
        self.logged_on.set()

    def onLogout(self, session_id):  # noqa: N802
        pass

    def toAdmin(self, message, session_id):  # noqa: N802
        pass

    def fromAdmin(self, message, session_id):  # noqa: N802
        if self.reject_logon and message.getHeader().getField(35) == "A":
            raise fix.RejectLogon(self.reject_logon)

    def toApp(self, message, session_id):  # noqa: N802
        pass

    def fromApp(self, message, session_id):  # noqa: N802
        with self.lock:
            self.received.append(message.toString())
        msg_type = message.getHeader().getField(35)
        if msg_type == "D":
            self._answer(message, session_id)
        elif msg_type == "E":
            group = fix.Group(73, 11)
            for i in range(1, int(message.getField(73)) + 1):
                message.getGroup(i, group)
                self._answer(group, session_id)

    def _answer(self, order: fix.FieldMap, session_id: fix.SessionID) -> None:
        time.sleep(self.delay)
        qty = float(_get(order, 38) or 0)
        instrument = _get(order, 48) or _get(order, 55)
        problem, reason = "", ""
        if qty <= 0:
            problem, reason = f"OrderQty must be positive, got {_get(order, 38)}", "13"
        elif instrument not in self.known:
            problem, reason = f"unknown instrument {instrument}", "1"
        report = fix.Message()
        report.getHeader().setField(35, "8")
        status = "8" if problem else "0"
        for tag, value in ((11, _get(order, 11)), (37, "OMS-" + _get(order, 11)), (17, f"X{next(self.exec_ids)}"),
                           (150, status), (39, status), (55, _get(order, 55)), (54, _get(order, 54)),
                           (38, _get(order, 38)), (151, "0" if problem else _get(order, 38)), (14, "0"), (6, "0")):
            report.setField(tag, value)
        if problem:
            report.setField(58, problem)
            report.setField(103, reason)
        fix.Session.sendToTarget(report, session_id)


class Acceptor:
    """Run with ``with Acceptor(tmp_path, known={...}) as oms:``; ``oms.received`` holds raw messages.

    Parameters
    ----------
    work : Path
        Folder for the acceptor's store and logs (and :meth:`initiator_config`).
    known : set of str
        Symbols / SecurityIDs it accepts.
    delay : float
        Seconds it waits before answering each order.
    reject_logon : str
        If given, every logon is refused with a Logout carrying this Text.
    """

    def __init__(self, work: Path, known: set[str], *, comp_id: str = "OMS", client: str = "TRIMTAB",
                 delay: float = 0.0, reject_logon: str = "") -> None:
        self.work, self.port, self.comp_id, self.client = Path(work), free_port(), comp_id, client
        self.app = _App(set(known), delay, reject_logon)
        values = fix.Dictionary()
        for key, value in {"ConnectionType": "acceptor", "SocketAcceptHost": "127.0.0.1",
                           "SocketAcceptPort": str(self.port), "StartTime": "00:00:00", "EndTime": "00:00:00",
                           "HeartBtInt": "30", "UseDataDictionary": "Y", "DataDictionary": str(DICTIONARY),
                           "ValidateUserDefinedFields": "Y", "ValidateFieldsHaveValues": "Y",
                           "FileStorePath": str(self.work / "oms" / "store"),
                           "FileLogPath": str(self.work / "oms" / "log")}.items():
            values.setString(key, value)
        self.settings = fix.SessionSettings()
        self.settings.set(values)  # the log factory reads FileLogPath from [DEFAULT]
        self.settings.set(fix.SessionID("FIX.4.4", comp_id, client), values)
        self.store, self.log = fix.FileStoreFactory(self.settings), fix.FileLogFactory(self.settings)
        # Threaded: QuickFIX 1.16's single-threaded SocketAcceptor can segfault in stop() (SocketServer::close)
        # when a client in the same process has just disconnected.
        self.acceptor = fix.ThreadedSocketAcceptor(self.app, self.store, self.settings, self.log)

    @property
    def received(self) -> list[str]:
        with self.app.lock:
            return list(self.app.received)

    def cl_ord_ids(self) -> list[str]:
        """The ClOrdID (11) of every order received, in arrival order (NewOrderList entries included)."""
        ids = []
        for raw in self.received:
            fields = raw.split("\x01")
            if "35=E" in fields:
                ids += [f[3:] for f in fields if f.startswith("11=")]
            else:
                ids += [f[3:] for f in fields if f.startswith("11=")][:1]
        return ids

    def initiator_config(self, name: str = "session.cfg", **extra: str) -> Path:
        """Write a client settings file pointing at this acceptor; store and logs under ``work/client``."""
        lines = ["[DEFAULT]", "HeartBtInt=30", "ReconnectInterval=1", "[SESSION]",
                 f"SenderCompID={self.client}", f"TargetCompID={self.comp_id}", "SocketConnectHost=127.0.0.1",
                 f"SocketConnectPort={self.port}", f"FileStorePath={self.work / 'client' / 'store'}",
                 f"FileLogPath={self.work / 'client' / 'log'}", *(f"{k}={v}" for k, v in extra.items())]
        path = self.work / name
        path.write_text("\n".join(lines) + "\n")
        return path

    def __enter__(self) -> Acceptor:
        self.acceptor.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.acceptor.stop()
        # Destroy it now: QuickFIX keeps one process-wide session registry, and an acceptor destroyed later by
        # the garbage collector would unregister the *next* test's session of the same id (its logon then gets
        # "Session not found").
        del self.acceptor
