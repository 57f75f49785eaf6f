"""A written batch read back from its directory, and sent from it with a record of what happened.

``trimtab export`` writes ``OUT/<batch_id>/`` with ``orders.json`` (always: the batch's canonical
record, every order column) and ``manifest.json`` (hash of every file). :func:`read_batch` checks
the hash before trusting the orders, so what is sent is exactly what was exported and audited.

:func:`send_batch_dir` sends it over FIX and writes the answers to ``sends/<UTC time>.json`` in the
batch directory. Sending a batch twice would duplicate live orders, so a batch with a send record
is refused unless ``force`` (each send keeps its own record; none is overwritten).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd

from .. import ExportError, write_files_atomically
from ._schema import ORDER_COLUMNS, OrderBatch
from ._session import SendReport, send_batch

#: Sub-folder of a batch directory holding one JSON record per send.
SENDS_DIR = "sends"


def read_batch(batch_dir: str | Path) -> OrderBatch:
    """The batch in ``batch_dir`` (``orders.json`` checked against ``manifest.json``).

    Raises
    ------
    ExportError
        A missing or unreadable file, or ``orders.json`` changed since export (hash mismatch).
    """
    batch_dir = Path(batch_dir)
    manifest_path, orders_path = batch_dir / "manifest.json", batch_dir / "orders.json"
    if (batch_dir / "summary.json").is_file() and not manifest_path.exists():
        raise ExportError(f"{batch_dir} is a run directory; export it first (trimtab export) and send the batch directory")
    manifest = _read_json(manifest_path)
    content = _read_bytes(orders_path)
    expected = manifest.get("files", {}).get("orders.json")
    if expected != hashlib.sha256(content).hexdigest():
        raise ExportError(f"{orders_path}: does not match the hash in {manifest_path.name}; it changed since export")
    body = json.loads(content)
    orders = pd.DataFrame(body["orders"])
    missing = [c for c in ORDER_COLUMNS if c not in orders.columns]
    if missing:
        raise ExportError(f"{orders_path}: orders lack column(s) {missing}")
    meta = {k: v for k, v in manifest.items() if k not in ("batch_id", "portfolio_id", "as_of")}
    return OrderBatch(body["batch_id"], body["portfolio_id"], pd.Timestamp(body["as_of"]), orders[list(ORDER_COLUMNS)], meta)


def previous_sends(batch_dir: str | Path) -> list[Path]:
    """Send records already in ``batch_dir``, oldest first."""
    return sorted((Path(batch_dir) / SENDS_DIR).glob("*.json"))


def send_batch_dir(
    batch_dir: str | Path, config_path: str | Path, *, force: bool = False, **options: Any
) -> tuple[SendReport, Path]:
    """Send the batch in ``batch_dir`` over FIX and record the answers in the directory.

    Parameters
    ----------
    batch_dir : path
        A batch directory written by :func:`export_run`.
    config_path : path
        FIX session settings (see :mod:`optimizer.export._session`).
    force : bool
        Send although the batch was sent before.
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
    FixValidationError, FixSessionError
        As :func:`send_batch`; nothing is sent and nothing is recorded.
    """
    batch = read_batch(batch_dir)
    sent = previous_sends(batch_dir)
    if sent and not force:
        raise ExportError(
            f"batch {batch.batch_id} was already sent ({sent[-1].relative_to(batch_dir)}); sending it again would "
            "duplicate the orders: use --force if the counterparty asked for it"
        )
    report = send_batch(batch, config_path, **options)
    stamp = pd.Timestamp.now(tz="UTC").strftime("%Y%m%dT%H%M%S%fZ")
    record = {
        "batch_id": report.batch_id,
        "session_id": report.session_id,
        "sent_at_utc": stamp,
        "log_dir": str(report.log_dir),
        "counts": {"orders": len(report.answers), "acknowledged": len(report.acknowledged),
                   "rejected": len(report.rejected), "no_answer": len(report.no_answer)},
        "answers": [{"order_id": a.order_id, "status": a.status, "text": a.text, "messages": list(a.messages)}
                    for a in report.answers],
        "unmatched": list(report.unmatched),
    }
    written = write_files_atomically(Path(batch_dir) / SENDS_DIR, {f"{stamp}.json": (json.dumps(record, indent=2) + "\n").encode()})
    return report, written[f"{stamp}.json"]


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ExportError(f"{path}: not found; is {path.parent} a batch directory written by trimtab export?") from None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(_read_bytes(path))
    except json.JSONDecodeError as err:
        raise ExportError(f"{path}: not valid JSON ({err})") from None
