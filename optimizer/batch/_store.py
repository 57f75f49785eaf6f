"""The batch directory: one run directory per account, ``batch.csv`` and ``batch.json``.

::

    DIR/accounts/<account_id>/targets.csv    the single-job contract (see ``trimtab optimize``)
    DIR/accounts/<account_id>/summary.json   … with an ``account`` section: account_id, input_sha256
    DIR/accounts/<account_id>/lots_sold.csv  the lots sold, for a tax-aware job (hashed in summary.json)
    DIR/accounts/<account_id>/error.json     instead, for an account that failed: status, error
    DIR/batch.csv                            one row per account (see ``_rows``)
    DIR/batch.json                           job and data hashes, per-account input hashes, counts

An account's files are published as one unit (:func:`trimtab.optimizer.write_files_atomically`,
under the folder's lock, ``summary.json`` last), as soon as the account is solved. A result
counts as finished — and a re-run skips it — only when its ``summary.json`` records the
account's current input hash *and* the SHA-256 of the ``targets.csv`` (and ``lots_sold.csv``)
beside it: all are checked, nothing is assumed from a file's presence.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .. import LOTS_SOLD_FILE, DataError, directory_lock, write_files_atomically
from ._worker import AccountOutcome

ACCOUNTS_DIR, BATCH_CSV, BATCH_JSON = "accounts", "batch.csv", "batch.json"
TARGETS, SUMMARY, ERROR = "targets.csv", "summary.json", "error.json"


def account_dir(out_dir: Path, account_id: str) -> Path:
    """``DIR/accounts/<account_id>``."""
    return Path(out_dir) / ACCOUNTS_DIR / account_id


def write_account(out_dir: Path, outcome: AccountOutcome) -> None:
    """Publish one account's result: its run directory, or ``error.json`` (stale results removed).

    Raises
    ------
    DataError
        The folder cannot be written.
    """
    folder = account_dir(out_dir, outcome.account_id)
    if outcome.files:
        lots = {LOTS_SOLD_FILE: outcome.files[LOTS_SOLD_FILE]} if LOTS_SOLD_FILE in outcome.files else {}
        write_files_atomically(folder, {TARGETS: outcome.files[TARGETS], **lots, SUMMARY: outcome.files[SUMMARY]})
        _remove(folder, (ERROR,) if lots else (ERROR, LOTS_SOLD_FILE))  # no stale lots beside a result without
        return
    body = {"account_id": outcome.account_id, "input_sha256": outcome.input_sha256, "status": outcome.status,
            "error": outcome.error, "diagnosis": outcome.diagnosis}
    if folder.is_dir():
        _remove(folder, (SUMMARY, TARGETS, LOTS_SOLD_FILE))  # the commit marker first: never a summary without its files
    write_files_atomically(folder, {ERROR: (json.dumps(body, indent=2, allow_nan=False) + "\n").encode("utf-8")})


def _remove(folder: Path, names: tuple[str, ...]) -> None:
    try:
        with directory_lock(folder):
            for name in names:
                with contextlib.suppress(FileNotFoundError):
                    (folder / name).unlink()
    except OSError as err:
        raise DataError(f"cannot update {folder}: {err.strerror}") from None


def finished_summary(out_dir: Path, account_id: str, input_sha256: str) -> dict[str, Any] | None:
    """The account's recorded summary if it is a finished result for ``input_sha256``, else None.

    Finished means: ``summary.json`` parses, its ``account.input_sha256`` equals ``input_sha256``
    and its ``targets_sha256`` (and ``lots_sold_sha256``) is the SHA-256 of the ``targets.csv``
    (and ``lots_sold.csv``) beside it (read under the folder's shared lock, never between a
    writer's renames).
    """
    folder = account_dir(out_dir, account_id)
    try:
        with directory_lock(folder, shared=True):
            summary = json.loads((folder / SUMMARY).read_bytes())
            targets = (folder / TARGETS).read_bytes()
            lots = (folder / LOTS_SOLD_FILE).read_bytes() if isinstance(summary, dict) and "lots_sold_sha256" in summary else None
    except (OSError, ValueError):
        return None
    if not isinstance(summary, dict) or not isinstance(summary.get("account"), dict):
        return None
    recorded = summary["account"]
    if recorded.get("account_id") != account_id or recorded.get("input_sha256") != input_sha256:
        return None
    if summary.get("targets_sha256") != hashlib.sha256(targets).hexdigest():
        return None
    if lots is not None and summary.get("lots_sold_sha256") != hashlib.sha256(lots).hexdigest():
        return None
    return summary


def read_targets(out_dir: Path, account_id: str) -> pd.Series:
    """An account's target weights (fractions of NAV) by asset_id, from its ``targets.csv``."""
    frame = pd.read_csv(account_dir(out_dir, account_id) / TARGETS, dtype={"asset_id": str})
    return pd.Series(frame["target_weight"].to_numpy(float), index=pd.Index(frame["asset_id"], name="asset_id"),
                     name=account_id)


def write_batch_files(out_dir: Path, frame: pd.DataFrame, record: Mapping[str, Any]) -> dict[str, Path]:
    """Publish ``batch.csv`` (rows in the accounts table's order) and ``batch.json``, ``batch.json`` last."""
    csv = frame.to_csv(index=False, float_format="%.12g", lineterminator="\n").encode("utf-8")
    body = (json.dumps(record, indent=2, allow_nan=False, default=_plain) + "\n").encode("utf-8")
    return write_files_atomically(Path(out_dir), {BATCH_CSV: csv, BATCH_JSON: body})


def read_batch_record(out_dir: Path) -> dict[str, Any]:
    """``DIR/batch.json`` as written by a batch.

    Raises
    ------
    DataError
        Missing or not a batch record (naming the file).
    """
    path = Path(out_dir) / BATCH_JSON
    try:
        record = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise DataError(f"{path}: not found; is {out_dir} a batch directory written by trimtab batch?") from None
    except (OSError, ValueError) as err:
        raise DataError(f"{path}: cannot be read ({err})") from None
    if not isinstance(record, dict) or not isinstance(record.get("accounts"), dict):
        raise DataError(f"{path}: not a batch record (no 'accounts' object)")
    return record


def _plain(value: object) -> object:
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON: {type(value).__name__}")
