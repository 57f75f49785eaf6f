"""Order files: neutral CSV (with a per-OMS column mapping), Parquet, JSON, and a manifest.

A batch is written to ``OUT/<batch_id>/`` all at once: every file is rendered in memory,
written into a temporary directory beside it, and the directory renamed into place, so a
failed export leaves nothing. A batch id that already exists is refused unless ``force``.

Neutral CSV columns (:data:`NEUTRAL_COLUMNS`): ``batch_id, portfolio_id, as_of, order_id,
asset_id, identifier_type, identifier, instruction, value, side, price, notional, reason``.
``instruction`` says what ``value`` is: ``order_quantity`` (shares to trade, default),
``target_quantity`` (shares to hold after) or ``target_weight`` (fraction of NAV after rounding).

Tax lots: a batch from a tax-aware run (:attr:`OrderBatch.lots`) also writes ``lots.csv``
(``order_id, lot_id, asset_id, shares``: the lots each sell order sells, whole shares adding up
to its quantity; with the CSV format, neutral layout, text cells neutralised like the orders')
and gives every order of ``orders.json`` a ``lots`` list (``[{"lot_id", "shares"}]``, empty for
a buy). The manifest hashes ``lots.csv`` like every file.

Spreadsheet safety (OWASP "CSV injection"): every text cell, header included, that starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading single quote ``'``, so a
spreadsheet shows it as text instead of running it. Numeric columns (``value``, ``price``,
``notional``) are written as numbers, untouched.

Mapping file (YAML) for an OMS's template::

    columns:                 # neutral column → OMS header, in the OMS's order (others dropped)
      portfolio_id: Account
      identifier: SecurityID
      side: Side
      value: Quantity
    date_format: "%d/%m/%Y"  # strftime for as_of (default ISO)
    delimiter: ";"           # default ","
    instruction: order_quantity
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from .. import ExportError, neutralize_text
from ._lots import lots_csv
from ._schema import OrderBatch

NEUTRAL_COLUMNS: tuple[str, ...] = (
    "batch_id",
    "portfolio_id",
    "as_of",
    "order_id",
    "asset_id",
    "identifier_type",
    "identifier",
    "instruction",
    "value",
    "side",
    "price",
    "notional",
    "reason",
)

Instruction = Literal["order_quantity", "target_quantity", "target_weight"]
FORMATS = ("csv", "parquet", "json", "fix")


def neutralise(value: object) -> object:
    """Text as a spreadsheet shows it as text (the core's :func:`neutralize_text`); anything else as is."""
    return neutralize_text(value) if isinstance(value, str) else value


class Mapping(BaseModel):
    """A per-OMS CSV layout (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: dict[str, str] | None = None
    date_format: str = "%Y-%m-%d"
    delimiter: str = ","
    instruction: Instruction = "order_quantity"

    @field_validator("columns")
    @classmethod
    def _known(cls, columns: dict[str, str] | None) -> dict[str, str] | None:
        unknown = [c for c in columns or {} if c not in NEUTRAL_COLUMNS]
        if unknown:
            raise ValueError(f"unknown neutral column(s) {unknown}; valid: {', '.join(NEUTRAL_COLUMNS)}")
        return columns

    @field_validator("delimiter")
    @classmethod
    def _one_char(cls, delimiter: str) -> str:
        if len(delimiter) != 1:
            raise ValueError(f"delimiter must be one character, got {delimiter!r}")
        return delimiter


def load_mapping(path: str | Path) -> Mapping:
    """Read a mapping file; errors name the file and the key."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise ExportError(f"mapping file not found: {path}") from None
    except yaml.YAMLError as err:
        raise ExportError(f"{path}: not valid YAML ({err})") from None
    try:
        return Mapping.model_validate(raw or {})
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ExportError(f"{path}: {where}: {first['msg']}") from None


def neutral_frame(batch: OrderBatch, instruction: Instruction = "order_quantity") -> pd.DataFrame:
    """The orders in the neutral schema, one row per order."""
    o = batch.orders
    value = {"order_quantity": o["quantity"], "target_quantity": o["target_shares"], "target_weight": o["rounded_weight"]}
    frame = pd.DataFrame(
        {
            "batch_id": batch.batch_id,
            "portfolio_id": batch.portfolio_id,
            "as_of": batch.as_of.date().isoformat(),
            "order_id": o["order_id"],
            "asset_id": o["asset_id"],
            "identifier_type": o["identifier_type"],
            "identifier": o["identifier"],
            "instruction": instruction,
            "value": value[instruction],
            "side": o["side"],
            "price": o["price"],
            "notional": o["notional"],
            "reason": o["reason"],
        }
    )
    return frame[list(NEUTRAL_COLUMNS)]


def render_csv(batch: OrderBatch, mapping: Mapping | None = None) -> bytes:
    """The CSV bytes: neutral layout, or the OMS's when a mapping is given."""
    mapping = mapping or Mapping()
    frame = neutral_frame(batch, mapping.instruction)
    frame["as_of"] = batch.as_of.strftime(mapping.date_format)
    if mapping.columns:
        frame = frame[list(mapping.columns)].rename(columns=mapping.columns)
    text = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]  # numbers stay numbers
    for column in text:
        frame[column] = frame[column].map(neutralise)
    # Python's csv quotes a cell holding "\n" but not one holding a bare "\r", which would split the row:
    # then every text cell is quoted, numbers not (a batch without one keeps its exact bytes).
    carriage = any("\r" in str(c) for c in frame.columns) or any(
        frame[c].astype(str).str.contains("\r", regex=False).any() for c in text)
    frame.columns = [neutralise(str(c)) for c in frame.columns]
    buffer = io.StringIO()
    if carriage:  # (a float_format would turn numbers into quoted text)
        frame.to_csv(buffer, index=False, sep=mapping.delimiter, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    else:
        frame.to_csv(buffer, index=False, sep=mapping.delimiter, lineterminator="\n", float_format="%.10g")
    return buffer.getvalue().encode()


def render_parquet(batch: OrderBatch) -> bytes:
    """Parquet bytes of the neutral frame plus the quantities; schema metadata holds batch id, as-of, input hashes."""
    frame = neutral_frame(batch).merge(batch.orders[["order_id", "quantity", "target_shares", "current_shares"]], on="order_id")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    metadata = {
        b"trimtab.batch_id": batch.batch_id.encode(),
        b"trimtab.as_of": batch.as_of.date().isoformat().encode(),
        b"trimtab.inputs": json.dumps(batch.meta.get("inputs", {}), sort_keys=True).encode(),
    }
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def render_json(batch: OrderBatch) -> bytes:
    """JSON: batch header and one object per order (every order column)."""
    orders = json.loads(batch.orders.to_json(orient="records", double_precision=15))
    if batch.lots is not None:  # each order's lots, sorted by lot_id (none for a buy)
        by_order: dict[str, list[dict[str, object]]] = {}
        for order_id, lot_id, shares in zip(batch.lots["order_id"], batch.lots["lot_id"], batch.lots["shares"]):
            by_order.setdefault(str(order_id), []).append({"lot_id": str(lot_id), "shares": int(shares)})
        for order in orders:
            order["lots"] = by_order.get(str(order["order_id"]), [])
    body = {
        "batch_id": batch.batch_id,
        "portfolio_id": batch.portfolio_id,
        "as_of": batch.as_of.date().isoformat(),
        "orders": orders,
    }
    return (json.dumps(body, indent=2, sort_keys=True) + "\n").encode()


def render_lots_csv(batch: OrderBatch) -> bytes:
    """``lots.csv`` of a batch with tax lots: ``order_id, lot_id, asset_id, shares`` (text cells neutralised)."""
    if batch.lots is None:
        raise ExportError(f"batch {batch.batch_id} carries no tax lots")
    return lots_csv(batch.lots, neutralise)


def write_batch(
    batch: OrderBatch,
    out_dir: str | Path,
    formats: tuple[str, ...] = ("csv",),
    *,
    mapping: Mapping | None = None,
    fix_files: dict[str, bytes] | None = None,
    force: bool = False,
) -> Path:
    """Write the batch's files and ``manifest.json`` into ``out_dir/<batch_id>/``, atomically.

    Raises
    ------
    ExportError
        The batch already exists (and not ``force``), or the directory cannot be written.
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ExportError(f"unknown format(s) {unknown}; valid: {', '.join(FORMATS)}")
    target = Path(out_dir) / batch.batch_id
    if target.exists() and not force:
        raise ExportError(f"batch {batch.batch_id} was already exported to {target}; use --force to write it again")
    files: dict[str, bytes] = {}
    if "csv" in formats:
        files["orders.csv"] = render_csv(batch, mapping)
        if batch.lots is not None:
            files["lots.csv"] = render_lots_csv(batch)
    if "parquet" in formats:
        files["orders.parquet"] = render_parquet(batch)
    if "json" in formats:
        files["orders.json"] = render_json(batch)
    files.update(fix_files or {})
    files["manifest.json"] = _manifest(batch, files)
    try:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{batch.batch_id}.", dir=out_dir))
        for name, content in files.items():
            (staging / name).write_bytes(content)
        if target.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{batch.batch_id}.old.", dir=out_dir))
            os.replace(target, retired / "batch")
            os.replace(staging, target)
            shutil.rmtree(retired)
        else:
            os.replace(staging, target)
    except OSError as err:
        raise ExportError(f"cannot write the batch to {out_dir}: {err.strerror}") from None
    return target


def _manifest(batch: OrderBatch, files: dict[str, bytes]) -> bytes:
    try:
        version = metadata.version("trimtab")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        version = "unknown"
    body = {
        "batch_id": batch.batch_id,
        "portfolio_id": batch.portfolio_id,
        "as_of": batch.as_of.date().isoformat(),
        "code_version": f"trimtab {version}",
        **{k: v for k, v in batch.meta.items() if k != "inputs"},
        "inputs": batch.meta.get("inputs", {}),
        "files": {name: hashlib.sha256(content).hexdigest() for name, content in sorted(files.items())},
    }
    return (json.dumps(body, indent=2, sort_keys=True, allow_nan=False, default=str) + "\n").encode()
