"""The desk's view of many accounts: one block order per asset and side, allocated back to the accounts.

Each account's orders are an :class:`OrderBatch` of their own (``portfolio_id`` = the account).
:func:`block_orders` nets them into one order per ``(asset_id, side)`` — buys and sells are
never netted against each other: accounts do not cross — whose quantity and notional are the
sums over the accounts, and an allocation table with one row per account order, so the
allocations add up to each block exactly. The block batch is an ordinary :class:`OrderBatch`
(``reason`` ``block``), written and sent like any other; its FIX messages carry the
allocations as NoAllocs (78) groups, one AllocAccount (79) / AllocQty (80) per account.

Block columns beyond the sums: ``price`` is the (common) security-master price;
``target_weight`` and ``rounded_weight`` are the asset's target and post-trade weight in the
combined book of the exported accounts (Σ weight × NAV / Σ NAV over every exported account).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .. import ExportError
from ._files import Mapping as CsvMapping
from ._files import write_batch
from ._fix import new_order_singles
from ._journal import replace_guard
from ._schema import ORDER_COLUMNS, OrderBatch

#: Columns of the allocation table (``allocations.csv``).
ALLOCATION_COLUMNS = ("block_order_id", "asset_id", "side", "account_id", "account_order_id", "quantity", "notional")

#: The ``portfolio_id`` of a block batch.
BLOCK_PORTFOLIO = "BLOCK"


@dataclass(frozen=True)
class BlockOrders:
    """Block orders and their allocations.

    Attributes
    ----------
    batch : OrderBatch
        One order per asset and side (``portfolio_id`` ``BLOCK``, ``reason`` ``block``); ``meta``
        records each account's batch id.
    allocations : pd.DataFrame
        :data:`ALLOCATION_COLUMNS`, one row per account order, sorted by block order and account.
    """

    batch: OrderBatch
    allocations: pd.DataFrame

    def fractions(self, block_order_id: str) -> dict[str, float]:
        """Account → fraction of one block (for FIX NoAllocs); the quantities split back exactly."""
        rows = self.allocations[self.allocations["block_order_id"] == block_order_id]
        total = float(rows["quantity"].sum())
        return {str(a): float(q) / total for a, q in zip(rows["account_id"], rows["quantity"])}


def block_orders(accounts: Sequence[OrderBatch]) -> BlockOrders:
    """Net the accounts' orders into one block per asset and side; see the module docstring.

    Raises
    ------
    ExportError
        No accounts, accounts of different dates, an account twice, or one asset priced
        differently by two accounts (they must share one security master).
    """
    if not accounts:
        raise ExportError("no account orders to block")
    dates = {b.as_of for b in accounts}
    if len(dates) > 1:
        raise ExportError(f"account batches of different dates cannot be blocked: {sorted(str(d.date()) for d in dates)}")
    names = [b.portfolio_id for b in accounts]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ExportError(f"account(s) {twice[:10]} appear twice among the batches to block")
    as_of = accounts[0].as_of
    frames = [b.orders.assign(account_id=b.portfolio_id, nav=float(b.meta.get("nav", 0.0))) for b in accounts]
    orders = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[*ORDER_COLUMNS, "account_id"])
    book_nav = sum(float(b.meta.get("nav", 0.0)) for b in accounts)
    prices = orders.groupby("asset_id")["price"].nunique()
    if (prices > 1).any():
        raise ExportError(f"asset(s) {prices.index[prices > 1].tolist()[:10]} have different prices in different account "
                          "batches; export every account against one security master")
    digest = hashlib.sha256(json.dumps(sorted(b.batch_id for b in accounts)).encode()).hexdigest()
    batch_id = f"{as_of:%Y%m%d}-B{digest[:11]}"
    orders["weighted_target"] = orders["target_weight"] * orders["nav"]
    grouped = orders.groupby(["asset_id", "side"], sort=True)
    blocks = grouped.agg(
        identifier_type=("identifier_type", "first"), identifier=("identifier", "first"), quantity=("quantity", "sum"),
        price=("price", "first"), notional=("notional", "sum"), current_shares=("current_shares", "sum"),
        target_shares=("target_shares", "sum"), weighted_target=("weighted_target", "sum"),
    ).reset_index()
    blocks["target_weight"] = blocks["weighted_target"] / book_nav if book_nav > 0 else 0.0
    blocks["rounded_weight"] = blocks["target_shares"] * blocks["price"] / book_nav if book_nav > 0 else 0.0
    blocks["reason"] = "block"
    blocks.insert(0, "order_id", [f"{batch_id}-{i:04d}" for i in range(1, len(blocks) + 1)])
    ids = {(a, s): o for a, s, o in zip(blocks["asset_id"], blocks["side"], blocks["order_id"])}
    allocations = pd.DataFrame({
        "block_order_id": [ids[(a, s)] for a, s in zip(orders["asset_id"], orders["side"])],
        "asset_id": orders["asset_id"], "side": orders["side"], "account_id": orders["account_id"],
        "account_order_id": orders["order_id"], "quantity": orders["quantity"].astype("int64"),
        "notional": orders["notional"],
    }).sort_values(["block_order_id", "account_id"], kind="stable").reset_index(drop=True)
    meta = {
        "kind": "block", "accounts": {b.portfolio_id: b.batch_id for b in accounts}, "nav": book_nav,
        "orders": len(blocks), "account_orders": len(allocations), "gross_notional": float(blocks["notional"].sum()),
        "inputs": {"accounts": digest},
    }
    batch = OrderBatch(batch_id, BLOCK_PORTFOLIO, as_of, blocks[list(ORDER_COLUMNS)], meta)
    return BlockOrders(batch, allocations[list(ALLOCATION_COLUMNS)])


def render_allocations_csv(blocks: BlockOrders) -> bytes:
    """``allocations.csv``: :data:`ALLOCATION_COLUMNS`, one row per account order."""
    return blocks.allocations.to_csv(index=False, lineterminator="\n", float_format="%.10g").encode()


def block_fix_bytes(blocks: BlockOrders, **options) -> bytes:
    """One FIX 4.4 NewOrderSingle per block, each with its accounts as NoAllocs (78), one message a line.

    ``options`` are those of :func:`new_order_singles` but ``allocations`` (each block has its
    own). MsgSeqNum runs 1..n over the blocks. Raises ``FixUnavailableError`` without QuickFIX.
    """
    lines = []
    orders = blocks.batch.orders
    for seq, (_, row) in enumerate(orders.iterrows(), start=1):
        one = OrderBatch(blocks.batch.batch_id, blocks.batch.portfolio_id, blocks.batch.as_of, orders.loc[[row.name]])
        (message,) = new_order_singles(one, allocations=blocks.fractions(row["order_id"]), **options)
        message.getHeader().setField(34, str(seq))
        lines.append(message.toString() + "\n")
    return "".join(lines).encode("ascii")


def write_blocks(
    blocks: BlockOrders,
    accounts: Sequence[OrderBatch],
    out_dir: str | Path,
    formats: tuple[str, ...] = ("csv",),
    *,
    mapping: CsvMapping | None = None,
    force: bool = False,
    journal_dir: str | Path | None = None,
    fix_options: Mapping[str, object] | None = None,
) -> dict[str, Path]:
    """Write every account's batch to ``out_dir/accounts/<account_id>/<batch_id>/``, then the block batch.

    The block batch goes to ``out_dir/<block batch id>/`` (last: its manifest names the
    account batches) with ``allocations.csv`` and, when ``fix`` is among the formats,
    ``orders.fix`` with NoAllocs. ``orders.json`` is always written, so ``trimtab send`` can
    send the blocks. ``force`` rewrites batches exported before — never one that was sent.

    Returns
    -------
    dict of str to Path
        Account id → its batch folder, and ``"BLOCK"`` → the block batch folder.

    Raises
    ------
    ExportError
        A batch exists (without ``force``), or was sent; nothing more is written then.
    """
    files = tuple(dict.fromkeys((*(f for f in formats if f != "fix"), "json")))
    written: dict[str, Path] = {}
    for batch in accounts:
        written[batch.portfolio_id] = _write(batch, Path(out_dir) / "accounts" / batch.portfolio_id, files, mapping,
                                             {}, force, journal_dir)
    extra = {"allocations.csv": render_allocations_csv(blocks)}
    if "fix" in formats:
        extra["orders.fix"] = block_fix_bytes(blocks, **dict(fix_options or {}))
    written[BLOCK_PORTFOLIO] = _write(blocks.batch, Path(out_dir), files, mapping, extra, force, journal_dir)
    return written


def _write(batch, out_dir, files, mapping, extra, force, journal_dir) -> Path:
    target = Path(out_dir) / batch.batch_id
    if force and target.exists():
        with replace_guard(batch.batch_id, target, journal_dir):
            return write_batch(batch, out_dir, files, mapping=mapping, fix_files=extra, force=True)
    return write_batch(batch, out_dir, files, mapping=mapping, fix_files=extra, force=force)
