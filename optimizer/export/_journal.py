"""The send journal: what left for the counterparty and what came back, one file per batch id.

Sending is at-most-once. Before the first message of a batch leaves, ``send`` appends to
``<journal dir>/<batch_id>.jsonl`` a ``start`` line naming every ClOrdID; before each message
leaves, a ``sent`` line naming its orders; each answer as it arrives; an ``end`` line with every
order's final status. Each line is one JSON object, written with one ``write`` and ``fsync``-ed
before anything else happens, so a kill at any point leaves a journal that over-states at most the
one message being sent at that instant, and never under-states. The file lives outside the batch
directory (re-exporting cannot delete it) and is named by batch id (a copy of the batch in another
directory shares it).

Journal directory: ``journal_dir`` if given, else ``<state dir>/journal`` where the state directory
is ``$TRIMTAB_STATE_DIR``, else ``$XDG_STATE_HOME/trimtab``, else ``~/.local/state/trimtab``.

Order states: ``pending`` (journaled, not yet handed to QuickFIX) → ``sent`` → ``acknowledged``,
``rejected`` or ``no answer`` (the send ended without one); ``not sent`` when the session was gone
before its turn (a ``not_sent`` line with ``"retract": true`` takes back a ``sent`` line when
QuickFIX reports it did not send the message). A sender holds an exclusive ``fcntl.flock`` on the journal for the whole send; an
export that would replace the batch's directory takes a shared one.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import ExportError

PENDING, SENT, NOT_SENT = "pending", "sent", "not sent"
ACKNOWLEDGED, REJECTED, NO_ANSWER = "acknowledged", "rejected", "no answer"
SUFFIX = ".jsonl"
#: A batch id is a file name in the journal directory: letters, digits, ``.``, ``_``, ``-``.
BATCH_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_LISTED = 50  # order ids named in one message


class JournalError(ExportError):
    """The send journal cannot be written or read; nothing was sent."""


class AlreadySentError(ExportError):
    """The batch was sent before (per its journal or a send record); refused to avoid duplicate orders."""


class JournalBusyError(ExportError):
    """Another process holds the batch's journal: it is being sent right now."""


def state_dir() -> Path:
    """trimtab's per-user state directory (journals, FIX session files); see the module docstring."""
    if os.environ.get("TRIMTAB_STATE_DIR"):
        return Path(os.environ["TRIMTAB_STATE_DIR"]).expanduser().absolute()
    xdg = os.environ.get("XDG_STATE_HOME", "")
    if xdg and Path(xdg).is_absolute():  # the XDG spec says to ignore a relative value
        return Path(xdg) / "trimtab"
    return Path.home() / ".local" / "state" / "trimtab"


def journal_dir(directory: str | Path | None = None) -> Path:
    """The journal directory: ``directory`` if given, else ``<state dir>/journal`` (absolute path)."""
    return Path(directory).expanduser().absolute() if directory is not None else state_dir() / "journal"


def journal_path(batch_id: str, directory: str | Path | None = None) -> Path:
    """The journal file of ``batch_id``: ``<journal dir>/<batch_id>.jsonl``."""
    if not isinstance(batch_id, str) or not BATCH_ID.fullmatch(batch_id):
        raise JournalError(f"batch id {batch_id!r} cannot name a send journal: use letters, digits, '.', '_', '-' "
                           "(up to 128, starting with a letter or digit)")
    return journal_dir(directory) / f"{batch_id}{SUFFIX}"


@dataclass(frozen=True)
class JournalState:
    """What a journal says about a batch (read, folded over every attempt).

    Attributes
    ----------
    batch_id : str
    path : Path
        The journal file.
    attempts : int
        Sends started.
    states : dict of str to str
        Order id → latest state (see the module docstring), in first-journaled order.
    times_sent : dict of str to int
        Order id → how many times it was handed to the session.
    acknowledged : tuple of str
        Orders acknowledged in any attempt (live at the counterparty, whatever came later).
    unfinished : bool
        The last attempt has no ``end`` line: its process was killed while sending.
    damaged : int
        Lines that are not valid JSON (a kill mid-write); counted as possibly sent.
    """

    batch_id: str
    path: Path
    attempts: int = 0
    states: dict[str, str] = field(default_factory=dict)
    times_sent: dict[str, int] = field(default_factory=dict)
    acknowledged: tuple[str, ...] = ()
    unfinished: bool = False
    damaged: int = 0

    @property
    def went_out(self) -> tuple[str, ...]:
        """Orders handed to the session at least once."""
        return tuple(oid for oid, n in self.times_sent.items() if n)

    @property
    def ever_sent(self) -> bool:
        """True when any order may have left (a damaged line counts: a kill mid-write)."""
        return bool(self.went_out) or self.damaged > 0

    def count(self, state: str) -> int:
        """Orders whose latest state is ``state``."""
        return sum(1 for s in self.states.values() if s == state)

    def summary(self) -> str:
        """One sentence: how many orders went out and what came back, and whether a send was cut short."""
        text = (f"{len(self.went_out)} of {len(self.states)} orders went out in {self.attempts} attempt(s) "
                f"({len(self.acknowledged)} acknowledged, {self.count(REJECTED)} rejected, "
                f"{self.count(NO_ANSWER) + self.count(SENT)} without an answer)")
        if self.unfinished:
            text += "; the last attempt never finished (its process was killed)"
        if self.damaged:
            text += f"; {self.damaged} unreadable line(s), counted as sent"
        return text


def listed(order_ids: tuple[str, ...] | list[str]) -> str:
    """``a, b, c`` — at most 50 ids, then how many more."""
    shown = ", ".join(order_ids[:_LISTED])
    return shown + (f" and {len(order_ids) - _LISTED} more (all in the journal)" if len(order_ids) > _LISTED else "")


def fold(batch_id: str, path: Path, content: bytes) -> JournalState:
    """The :class:`JournalState` of a journal's bytes."""
    states: dict[str, str] = {}
    sent: dict[str, int] = {}
    acknowledged: dict[str, None] = {}
    attempts = damaged = 0
    open_attempt = False
    for line in content.splitlines():
        try:
            entry = json.loads(line)
            event, orders = entry["event"], [str(o) for o in entry.get("orders", [])]
        except (ValueError, KeyError, TypeError):
            damaged += bool(line.strip())
            continue
        if event == "start":
            attempts, open_attempt = attempts + 1, True
            for oid in orders:
                states.setdefault(oid, PENDING)
                sent.setdefault(oid, 0)
        elif event == "sent":
            for oid in orders:
                states[oid], sent[oid] = SENT, sent.get(oid, 0) + 1
        elif event == "not_sent":  # "retract": its "sent" line was written, but QuickFIX did not send it
            for oid in orders:
                if entry.get("retract") and states.get(oid) == SENT and sent.get(oid, 0) > 0:
                    sent[oid] -= 1
                    states[oid] = NOT_SENT if sent[oid] == 0 else states[oid]
                elif states.get(oid, PENDING) in (PENDING, NOT_SENT):
                    states[oid] = NOT_SENT
        elif event == "answer":
            status = entry.get("status")
            for oid in orders:
                if status == REJECTED or states.get(oid) != REJECTED:
                    states[oid] = status
                if status == ACKNOWLEDGED:
                    acknowledged[oid] = None
        elif event == "end":
            open_attempt = False
            for oid, status in (entry.get("statuses") or {}).items():
                if status in (ACKNOWLEDGED, REJECTED) or (status == NO_ANSWER and states.get(oid) == SENT):
                    states[oid] = status
    return JournalState(batch_id, path, attempts, states, sent, tuple(acknowledged), open_attempt, damaged)


def read_journal(batch_id: str, directory: str | Path | None = None) -> JournalState | None:
    """The journal of ``batch_id`` as a :class:`JournalState`, or None if the batch was never journaled."""
    path = journal_path(batch_id, directory)
    try:
        return fold(batch_id, path, path.read_bytes())
    except FileNotFoundError:
        return None
    except OSError as err:
        raise JournalError(f"cannot read the send journal {path}: {err.strerror}") from None


class Journal:
    """The journal of one batch, open and locked for one send (a context manager).

    Parameters
    ----------
    batch_id : str
    directory : path, optional
        Journal directory (default: see :func:`journal_dir`).

    Attributes
    ----------
    before : JournalState
        What the journal said when it was opened (earlier attempts).
    attempt : int
        The number of this attempt (``before.attempts + 1``), written on every line.
    """

    def __init__(self, batch_id: str, directory: str | Path | None = None) -> None:
        self.batch_id, self.path = batch_id, journal_path(batch_id, directory)
        self._fd: int | None = None
        self._lock = threading.Lock()
        self.before = JournalState(batch_id, self.path)
        self.attempt = 1

    def __enter__(self) -> Journal:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            new = not self.path.exists()
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        except OSError as err:
            raise JournalError(f"cannot open the send journal {self.path}: {err.strerror}; nothing was sent") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise JournalBusyError(f"batch {self.batch_id} is being sent by another process right now (its journal "
                                   f"{self.path} is locked); nothing was sent") from None
        self._fd = fd
        if new:
            _fsync_dir(self.path.parent)
        content = self.path.read_bytes()
        self.before = fold(self.batch_id, self.path, content)
        self.attempt = self.before.attempts + 1
        if content and not content.endswith(b"\n"):  # a line torn by a kill: end it, keep ours whole
            self._write(b"\n")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # releases the lock
            self._fd = None

    def record(self, event: str, **fields: Any) -> None:
        """Append one line ``{"event": …, "attempt": …, "at": <UTC>, **fields}`` and fsync it.

        Raises
        ------
        JournalError
            The line could not be written durably (the caller must then not send).
        """
        entry = {"event": event, "batch_id": self.batch_id, "attempt": self.attempt,
                 "at": datetime.now(UTC).isoformat(timespec="microseconds"), **fields}
        line = (json.dumps(entry, separators=(",", ":"), allow_nan=False, default=str) + "\n").encode()
        with self._lock:
            try:
                self._write(line)
            except OSError as err:
                raise JournalError(f"cannot write the send journal {self.path}: {err.strerror}") from None

    def _write(self, data: bytes) -> None:
        if self._fd is None:
            raise JournalError(f"the send journal {self.path} is not open")
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]
        os.fsync(self._fd)


@contextmanager
def replace_guard(batch_id: str, target: Path, directory: str | Path | None = None) -> Iterator[None]:
    """Hold while replacing the batch directory ``target``: refuses if the batch was ever sent.

    Raises
    ------
    AlreadySentError
        The journal says an order went out, or ``target`` has a ``sends/`` record.
    JournalBusyError
        The batch is being sent right now.
    """
    path = journal_path(batch_id, directory)
    refusal = ("export --force would replace the batch that was sent, so it is refused. Export into another --out "
               "to write the files again; `send` refuses a second send of this batch unless --force")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        fd = None
    except OSError as err:
        raise JournalError(f"cannot read the send journal {path}: {err.strerror}") from None
    try:
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                raise JournalBusyError(f"batch {batch_id} is being sent right now (journal {path} is locked); "
                                       "nothing was written") from None
            state = fold(batch_id, path, path.read_bytes())
            if state.ever_sent:
                raise AlreadySentError(f"batch {batch_id} was already sent: {state.summary()}; journal {path}. {refusal}")
        records = sorted((target / "sends").glob("*.json"))
        if records:
            raise AlreadySentError(f"batch {batch_id} in {target} was sent (record {records[-1].relative_to(target)}; "
                                   f"no journal at {path}). {refusal}")
        yield
    finally:
        if fd is not None:
            os.close(fd)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
