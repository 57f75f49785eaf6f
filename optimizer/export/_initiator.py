"""The QuickFIX Application of a send: it matches every answer to its order and journals it as it arrives.

Callbacks run on QuickFIX's thread; an error in one is recorded (in ``unmatched``), never raised into
QuickFIX — except :class:`quickfix.DoNotSend` from ``toApp``: a stored order that QuickFIX would
re-send on the counterparty's ResendRequest (PossDupFlag 43=Y) is never sent again (QuickFIX sends a
gap fill instead), since a re-sent order from an earlier session could be a duplicate live order.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from ._fix_dictionary import _quickfix
from ._journal import ACKNOWLEDGED, NO_ANSWER, NOT_SENT, REJECTED, Journal
from ._session_config import FixSessionError

_REJECT_DETAILS = (("SessionRejectReason", 373), ("RefTagID", 371), ("BusinessRejectReason", 380))


def order_ids(message: Any) -> list[str]:
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


class Initiator:
    """Collects the counterparty's answers; its ``app`` is the QuickFIX Application.

    Parameters
    ----------
    ids : list of str
        Every order id to be sent.
    list_ids : dict
        ListID (66) → its order ids, to match a reject of a whole NewOrderList.
    journal : Journal, optional
        Every answer is appended to it as it arrives.
    """

    def __init__(self, ids: list[str], list_ids: dict[str, list[str]], journal: Journal | None = None) -> None:
        fix = _quickfix()
        self.lock = threading.Condition()
        self.logged_on = threading.Event()
        self.logged_out = threading.Event()
        self.goodbye = ""  # Text (58) of the counterparty's Logout
        self.our_goodbye = ""  # Text (58) of our Logout (QuickFIX refusing their logon)
        self.journal = journal
        self.list_ids = list_ids
        self.by_seq: dict[str, list[str]] = {}
        self.status = {oid: NO_ANSWER for oid in ids}
        self.text = {oid: "" for oid in ids}
        self.raw: dict[str, list[str]] = {oid: [] for oid in ids}
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

            def toAdmin(self, message: Any, session_id: Any) -> None:
                if message.getHeader().getField(35) == "5":
                    outer.our_goodbye = _field(message, 58) or outer.our_goodbye

            def toApp(self, message: Any, session_id: Any) -> None:
                header = message.getHeader()
                if header.isSetField(43) and header.getField(43) == "Y":
                    outer._guard(outer._refuse_resend, message)
                    raise fix.DoNotSend()
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
            self.by_seq[message.getHeader().getField(34)] = order_ids(message)

    def _refuse_resend(self, message: Any) -> None:
        ids = order_ids(message)
        with self.lock:
            self.unmatched.append(f"not re-sent on the counterparty's ResendRequest (gap-filled): {', '.join(ids)}")
        if self.journal is not None:
            self.journal.record("resend_refused", orders=ids, seq=message.getHeader().getField(34))

    def not_sent(self, ids: Iterable[str], reason: str, retract: bool = False) -> None:
        """Mark ``ids`` as never sent (journaled); ``retract``: their ``sent`` line was written, but they did not leave."""
        ids = list(ids)
        with self.lock:
            for oid in ids:
                self.status[oid], self.text[oid] = NOT_SENT, reason
        if self.journal is not None and ids:
            self.journal.record("not_sent", orders=ids, reason=reason, **({"retract": True} if retract else {}))

    def _note(self, ids: Iterable[str], raw: str, status: str, text: str) -> None:
        ids = list(ids)
        for oid in ids:
            self.raw[oid].append(raw)
            if self.status[oid] != REJECTED:  # a reject is final; later acks do not hide it
                self.status[oid], self.text[oid] = status, text or self.text[oid]
        if self.journal is not None and ids:
            self.journal.record("answer", orders=ids, status=status, text=text, raw=raw)

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
        """Every order has an answer (or will never get one: not sent)."""
        return all(status != NO_ANSWER for status in self.status.values())

    def statuses(self) -> dict[str, str]:
        """Order id → its status now."""
        with self.lock:
            return dict(self.status)
