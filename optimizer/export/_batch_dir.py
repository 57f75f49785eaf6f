"""A written batch read back from its directory, and sent from it at most once.

``trimtab export`` writes ``OUT/<batch_id>/`` with ``orders.json`` (always: the batch's canonical
record, every order column) and ``manifest.json`` (hash of every file). :func:`read_batch` checks
the hash (and the shape of both files) before trusting the orders, so what is sent is exactly what
was exported and audited.

:func:`send_batch_dir` sends it over FIX under the batch's journal (keyed by batch id, outside the
directory: see :mod:`._journal`), which refuses a second send of the batch, from this directory or a
copy elsewhere, unless ``force``. A record of the answers also goes to ``sends/<UTC time>.json`` in the
batch directory (a directory with one is refused too), but the journal is the truth.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from .. import ExportError, write_files_atomically
from ._journal import ACKNOWLEDGED, BATCH_ID, AlreadySentError, listed, read_journal
from ._lots import LOT_ORDER_COLUMNS
from ._schema import ORDER_COLUMNS, OrderBatch
from ._session import SendInterrupted, SendReport, check_send_settings, send_batch

#: Sub-folder of a batch directory holding one JSON record per send.
SENDS_DIR = "sends"
_JSON_KINDS = {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}


def read_batch(batch_dir: str | Path) -> OrderBatch:
    """The batch in ``batch_dir`` (``orders.json`` checked against ``manifest.json``).

    Raises
    ------
    ExportError
        A missing, unreadable or malformed file (naming the file and key), or ``orders.json`` changed
        since export (hash mismatch).
    """
    batch_dir = Path(batch_dir)
    manifest_path, orders_path = batch_dir / "manifest.json", batch_dir / "orders.json"
    if (batch_dir / "summary.json").is_file() and not manifest_path.exists():
        raise ExportError(f"{batch_dir} is a run directory; export it first (trimtab export) and send the batch directory")
    manifest = _object(manifest_path, _read_json(manifest_path), "the manifest")
    files = _object(manifest_path, manifest.get("files"), "its 'files' key")
    content = _read_bytes(orders_path)
    expected = files.get("orders.json")
    if expected != hashlib.sha256(content).hexdigest():
        raise ExportError(f"{orders_path}: does not match the hash in {manifest_path.name}; it changed since export")
    body = _object(orders_path, _parse(orders_path, content), "the batch")
    for key in ("batch_id", "portfolio_id", "as_of"):
        if not isinstance(body.get(key), str) or not body[key]:
            raise ExportError(f"{orders_path}: key {key!r} must be a non-empty string, got {body.get(key)!r}")
    if not BATCH_ID.fullmatch(body["batch_id"]):
        raise ExportError(f"{orders_path}: batch_id {body['batch_id']!r} is not a trimtab batch id "
                          "(letters, digits, '.', '_', '-')")
    if manifest.get("batch_id", body["batch_id"]) != body["batch_id"]:
        raise ExportError(f"{manifest_path}: batch_id {manifest.get('batch_id')!r} differs from {body['batch_id']!r} "
                          f"in {orders_path.name}")
    try:
        as_of = pd.Timestamp(body["as_of"])
    except (ValueError, TypeError):
        raise ExportError(f"{orders_path}: as_of {body['as_of']!r} is not a date") from None
    rows = body.get("orders")
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise ExportError(f"{orders_path}: key 'orders' must be a list of objects (one per order)")
    orders = pd.DataFrame(rows, columns=None if rows else list(ORDER_COLUMNS))
    missing = [c for c in ORDER_COLUMNS if c not in orders.columns]
    if missing:
        raise ExportError(f"{orders_path}: orders lack column(s) {missing}")
    meta = {k: v for k, v in manifest.items() if k not in ("batch_id", "portfolio_id", "as_of")}
    lots = _lots(orders_path, rows) if rows and all("lots" in row for row in rows) else None
    return OrderBatch(body["batch_id"], body["portfolio_id"], as_of, orders[list(ORDER_COLUMNS)], meta, lots)


def _lots(path: Path, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The tax lots of the orders (``order_id, lot_id, asset_id, shares``), each sell's adding up to its quantity."""
    found = []
    for row in rows:
        lots = row["lots"]
        if not isinstance(lots, list) or not all(
            isinstance(lot, dict) and isinstance(lot.get("lot_id"), str) and lot["lot_id"]
            and isinstance(lot.get("shares"), int) and not isinstance(lot["shares"], bool) and lot["shares"] > 0
            for lot in lots
        ):
            raise ExportError(f"{path}: order {row.get('order_id')!r}: 'lots' must be a list of {{lot_id, shares}} "
                              "(text, positive whole shares)")
        if lots and sum(lot["shares"] for lot in lots) != row.get("quantity"):
            raise ExportError(f"{path}: order {row.get('order_id')!r}: its lots add up to "
                              f"{sum(lot['shares'] for lot in lots)} shares, not its quantity {row.get('quantity')!r}")
        found += [(row["order_id"], lot["lot_id"], row["asset_id"], lot["shares"]) for lot in lots]
    return pd.DataFrame(found, columns=list(LOT_ORDER_COLUMNS)).astype({"shares": "int64"})


def previous_sends(batch_dir: str | Path) -> list[Path]:
    """Send records already in ``batch_dir``, oldest first."""
    return sorted((Path(batch_dir) / SENDS_DIR).glob("*.json"))


def send_batch_dir(
    batch_dir: str | Path, config_path: str | Path, *, force: bool = False, journal_dir: str | Path | None = None,
    notify: Callable[[str], None] | None = None, **options: Any
) -> tuple[SendReport, Path]:
    """Send the batch in ``batch_dir`` over FIX, at most once, and record the answers in the directory.

    Parameters
    ----------
    batch_dir : path
        A batch directory written by :func:`export_run`.
    config_path : path
        FIX session settings (see :mod:`optimizer.export._session`).
    force : bool
        Send although the batch was sent before (per its journal or a send record here).
    journal_dir : path, optional
        Journal directory (default ``<state dir>/journal``).
    notify : callable, optional
        Called with a warning naming the orders already acknowledged before a forced re-send.
    **options
        Passed to :func:`send_batch` (``style``, ``timeout``, ``account``, ``allocations``, …).

    Returns
    -------
    (SendReport, Path)
        The answers, and the record written (``sends/<YYYYmmddTHHMMSSffffffZ>.json``).

    Raises
    ------
    ExportError
        Bad batch directory, or already sent (and not ``force``); nothing is sent.
    FixValidationError, FixSessionError, JournalError
        As :func:`send_batch`; nothing is sent.
    SendInterrupted
        A signal stopped the send; the journal and a record here say what went out.
    """
    check_send_settings(options.get("style", "single"), options.get("timeout", 30.0))
    batch = read_batch(batch_dir)
    sent = previous_sends(batch_dir)
    if sent and not force:
        raise AlreadySentError(
            f"batch {batch.batch_id} was already sent ({sent[-1].relative_to(batch_dir)}); sending it again would "
            "duplicate the orders: use --force only if the counterparty asked for it"
        )
    journal = read_journal(batch.batch_id, journal_dir)
    if sent and notify is not None and not (journal is not None and journal.ever_sent):  # else the journal warns
        acked = _acknowledged(sent)
        notify(f"--force: batch {batch.batch_id} was sent before from {batch_dir} ({len(sent)} send record(s) in "
               f"{SENDS_DIR}/); sending every order again, including {len(acked)} already acknowledged"
               + (f": {listed(acked)}" if acked else ""))
    try:
        report = send_batch(batch, config_path, force=force, journal_dir=journal_dir, notify=notify,
                            source=Path(batch_dir).absolute(), **options)
    except SendInterrupted as stopped:
        _record(batch_dir, stopped.report, f"interrupted by signal {stopped.signum}")
        raise
    return report, _record(batch_dir, report, "")


def _record(batch_dir: str | Path, report: SendReport, interrupted: str) -> Path:
    stamp = pd.Timestamp.now(tz="UTC").strftime("%Y%m%dT%H%M%S%fZ")
    record = {
        "batch_id": report.batch_id,
        "session_id": report.session_id,
        "sent_at_utc": stamp,
        "log_dir": str(report.log_dir),
        "journal": str(report.journal) if report.journal else None,
        "counts": {"orders": len(report.answers), "acknowledged": len(report.acknowledged),
                   "rejected": len(report.rejected), "no_answer": len(report.no_answer)},
        "answers": [{"order_id": a.order_id, "status": a.status, "text": a.text, "messages": list(a.messages)}
                    for a in report.answers],
        "unmatched": list(report.unmatched),
    }
    if report.not_sent:
        record["counts"]["not_sent"] = len(report.not_sent)
    if interrupted:
        record["interrupted"] = interrupted
    written = write_files_atomically(Path(batch_dir) / SENDS_DIR, {f"{stamp}.json": (json.dumps(record, indent=2) + "\n").encode()})
    return written[f"{stamp}.json"]


def _acknowledged(records: list[Path]) -> tuple[str, ...]:
    """Order ids acknowledged in any of the send records (unreadable records are skipped)."""
    found: dict[str, None] = {}
    for path in records:
        try:
            answers = json.loads(path.read_text()).get("answers", [])
            found.update({a["order_id"]: None for a in answers if a.get("status") == ACKNOWLEDGED})
        except (OSError, ValueError, AttributeError, KeyError, TypeError):
            continue
    return tuple(found)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ExportError(f"{path}: not found; is {path.parent} a batch directory written by trimtab export?") from None
    except OSError as err:
        raise ExportError(f"{path}: cannot be read ({err.strerror})") from None


def _parse(path: Path, content: bytes) -> Any:
    try:
        return json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ExportError(f"{path}: not valid JSON ({err})") from None


def _read_json(path: Path) -> Any:
    return _parse(path, _read_bytes(path))


def _object(path: Path, value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        kind = "nothing" if value is None else f"a JSON {_JSON_KINDS.get(type(value), type(value).__name__)}"
        raise ExportError(f"{path}: {what} must be a JSON object, got {kind}; was it written by trimtab export?")
    return value
