"""What a send returns: one :class:`OrderAnswer` per order, gathered in a :class:`SendReport`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ._journal import ACKNOWLEDGED, NO_ANSWER, NOT_SENT, REJECTED

__all__ = ["ACKNOWLEDGED", "NOT_SENT", "NO_ANSWER", "REJECTED", "OrderAnswer", "SendReport"]


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
        ``35=j`` that refers to it), ``"no answer"``, or ``"not sent"`` (the session was gone, or the
        send was interrupted, before its turn). A reject wins over any acknowledgement.
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
    journal : Path or None
        The send journal of the batch (None for messages sent without a batch id).
    previously_acknowledged : tuple of str
        Orders an earlier send of this batch had acknowledged (non-empty only for a forced re-send).
    """

    batch_id: str
    session_id: str
    answers: tuple[OrderAnswer, ...]
    unmatched: tuple[str, ...]
    log_dir: Path
    journal: Path | None = None
    previously_acknowledged: tuple[str, ...] = ()

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
    not_sent = property(lambda self: self._ids(NOT_SENT), doc="Order ids never handed to the session.")

    def _ids(self, status: str) -> tuple[str, ...]:
        return tuple(a.order_id for a in self.answers if a.status == status)

    def to_frame(self) -> pd.DataFrame:
        """One row per order: order_id, status, text, messages (count)."""
        rows = [(a.order_id, a.status, a.text, len(a.messages)) for a in self.answers]
        return pd.DataFrame(rows, columns=["order_id", "status", "text", "messages"])
