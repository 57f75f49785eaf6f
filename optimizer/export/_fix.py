"""FIX 4.4 order messages built from an :class:`OrderBatch` with QuickFIX, validated, written to a file.

Each order row becomes one NewOrderSingle (``35=D``) or one entry of a NewOrderList (``35=E``):

=========================  ==========================================================================
tag                        value
=========================  ==========================================================================
ClOrdID (11)               ``order_id`` (deterministic, unique within the batch)
Symbol (55)                the ticker for ``TICKER``, the FIGI for ``FIGI``, else ``asset_id``
SecurityID (48) / (22)     the identifier with SecurityIDSource ``1`` CUSIP, ``2`` SEDOL, ``4`` ISIN
Side (54)                  ``1`` BUY, ``2`` SELL, ``5`` SELL_SHORT
OrderQty (38)              ``quantity`` (shares, positive integer)
OrdType (40) / Price (44)  ``1`` market; ``2`` limit with Price when ``limit_prices`` names the asset
TransactTime (60)          ``as_of`` at 00:00:00 UTC unless ``transact_time`` is given
Account (1)                ``account`` if given
NoAllocs (78)              one AllocAccount (79) / AllocQty (80) per account with a non-zero share
=========================  ==========================================================================

FIX 4.4 has no SecurityIDSource code for FIGI (``S`` arrived with FIX 5.0 SP2 EP), so a FIGI goes in
Symbol alone and tags 48/22 are left out; a TICKER is sent the same way. HandlInst (21) is optional in
FIX 4.4 and sent only when ``handl_inst`` is given. Every message is checked against the FIX 4.4
DataDictionary before it is returned; QuickFIX itself is imported only when a function is called.

Tax lots (a tax-aware run's sell orders name the lots they sell) are not sent over FIX: FIX 4.4's
NewOrderSingle has no field for the lots of a sale (specific identification is settled with the
custodian after the trade), and the one repeating group that could carry an id and a quantity,
NoAllocs (78) with IndividualAllocID (467) / AllocQty (80), allocates fills to accounts — the block
orders of many accounts use it for that. The lots travel in ``lots.csv`` and ``orders.json``.
"""

from __future__ import annotations

import math
import os
import uuid
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ._fix_dictionary import (
    _REQUIRED_COLUMNS,
    BEGIN_STRING,
    SECURITY_ID_SOURCES,
    SIDE_CODES,
    FixValidationError,
    _positive,
    _quickfix,
    _stamp,
    _text,
    _validate,
    data_dictionary,
)
from ._schema import IDENTIFIER_TYPES, OrderBatch


def split_allocations(quantity: int, allocations: Mapping[str, float]) -> dict[str, int]:
    """Split ``quantity`` shares across accounts by fraction, exactly, by the largest-remainder rule.

    ``allocations`` maps account → fraction of the order (non-negative, summing to 1 within 1e-6).
    Returns account → shares (int), in the given account order, summing exactly to ``quantity``
    (shares); an account whose share rounds to 0 is left out. Remainder ties go to the account listed
    first.
    """
    if not allocations:
        raise FixValidationError("allocations must name at least one account")
    for account, fraction in allocations.items():
        _text(account, None, 79)
        if not (math.isfinite(float(fraction)) and float(fraction) >= 0):
            raise FixValidationError(f"allocation fraction of {account!r} must be finite and >= 0, "
                                     f"got {fraction!r}")
    total = sum(float(f) for f in allocations.values())
    if abs(total - 1.0) > 1e-6:
        raise FixValidationError(f"allocation fractions must sum to 1, got {total!r}")
    raw = {acc: quantity * float(f) / total for acc, f in allocations.items()}
    shares = {acc: math.floor(r) for acc, r in raw.items()}
    left = quantity - sum(shares.values())
    by_remainder = sorted(raw, key=lambda acc: raw[acc] - shares[acc], reverse=True)  # stable: ties keep order
    for acc in by_remainder[:left]:
        shares[acc] += 1
    return {acc: n for acc, n in shares.items() if n > 0}


def _order_fields(row: Mapping[str, Any], opts: dict[str, Any]) -> list[tuple[int, str]]:
    """(tag, value) pairs of one order, without allocations; raises on a value FIX cannot carry."""
    order_id = _text(row["order_id"], None, 11)
    id_type, side = str(row["identifier_type"]), str(row["side"])
    if id_type not in IDENTIFIER_TYPES:
        raise FixValidationError(f"order {order_id}: identifier_type {id_type!r} is not one of "
                                 f"{IDENTIFIER_TYPES}", order_id=order_id, tag=22)
    if side not in SIDE_CODES:
        raise FixValidationError(f"order {order_id}: side {side!r} is not one of {tuple(SIDE_CODES)}",
                                 order_id=order_id, tag=54)
    identifier = _text(row["identifier"], order_id, 48 if id_type in SECURITY_ID_SOURCES else 55)
    fields = [(11, order_id)]
    if id_type in SECURITY_ID_SOURCES:
        fields += [(55, _text(row["asset_id"], order_id, 55)), (48, identifier), (22, SECURITY_ID_SOURCES[id_type])]
    else:
        fields.append((55, identifier))
    fields += [(54, SIDE_CODES[side]), (38, _positive(row["quantity"], order_id, 38, whole=True)), (60, opts["when"])]
    limit = (opts["limit_prices"] or {}).get(row["asset_id"])
    fields += [(40, "1")] if limit is None else [(40, "2"), (44, _positive(limit, order_id, 44, whole=False))]
    if opts["account"] is not None:
        fields.append((1, _text(opts["account"], order_id, 1)))
    if opts["handl_inst"] is not None:
        fields.append((21, _text(opts["handl_inst"], order_id, 21)))
    return fields


def _prepare(batch: OrderBatch, options: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The batch's rows (columns and unique ClOrdIDs checked) and the resolved options."""
    missing = [c for c in _REQUIRED_COLUMNS if c not in batch.orders.columns]
    if missing:
        raise FixValidationError(f"batch {batch.batch_id}: orders lack columns {missing}")
    rows = batch.orders.to_dict("records")
    twice = sorted(i for i, n in Counter(str(row["order_id"]) for row in rows).items() if n > 1)
    if twice:
        raise FixValidationError(f"order_id {twice[0]} appears twice; ClOrdID (11) must be unique",
                                 order_id=twice[0], tag=11)
    stray = sorted(set(options["limit_prices"] or {}) - {row["asset_id"] for row in rows})
    if stray:
        raise FixValidationError(f"limit_prices name assets with no order in batch {batch.batch_id}: {stray}")
    opts = dict(options)
    opts["sending"] = pd.Timestamp(batch.as_of).strftime("%Y%m%d") + "-00:00:00"  # as_of, 00:00:00 UTC
    opts["when"] = opts["sending"] if opts["transact_time"] is None else _stamp(opts["transact_time"])
    opts["dd"] = data_dictionary(opts["data_dictionary_path"])
    return rows, opts


def _fill(target: Any, fields: list[tuple[int, str]], alloc_group: Any, allocations: Any) -> None:
    """Set ``fields`` on a message or group, then its NoAllocs (78) entries."""
    for tag, value in fields:
        target.setField(tag, value)
    if allocations is not None:
        for account, shares in split_allocations(int(dict(fields)[38]), allocations).items():
            group = alloc_group()
            group.setField(79, account)
            group.setField(80, str(shares))
            target.addGroup(group)


def _header(message: Any, opts: dict[str, Any], seq_num: int) -> Any:
    header = message.getHeader()
    header.setField(8, BEGIN_STRING)
    header.setField(49, _text(opts["sender_comp_id"], None, 49))
    header.setField(56, _text(opts["target_comp_id"], None, 56))
    header.setField(34, str(seq_num))
    header.setField(52, opts["sending"])
    return message


def new_order_singles(batch: OrderBatch, *, account: str | None = None,
                      allocations: Mapping[str, float] | None = None,
                      limit_prices: Mapping[str, float] | None = None, handl_inst: str | None = None,
                      transact_time: datetime | pd.Timestamp | None = None, sender_comp_id: str = "TRIMTAB",
                      target_comp_id: str = "OMS", data_dictionary_path: str | os.PathLike | None = None) -> list:
    """One FIX 4.4 NewOrderSingle (``35=D``) per order, validated against the data dictionary.

    Parameters
    ----------
    batch : OrderBatch
        The orders; one message per row, in row order.
    account : str, optional
        Account (1) on every order; omitted when None.
    allocations : Mapping[str, float], optional
        Pre-trade allocation, account → fraction of each order (sums to 1); each order carries a
        NoAllocs (78) group whose AllocQty (80) values, in shares, sum exactly to its OrderQty.
    limit_prices : Mapping[str, float], optional
        asset_id → limit price per share (portfolio currency); those orders are OrdType 2 with Price
        (44), the others market (OrdType 1).
    handl_inst : str, optional
        HandlInst (21), e.g. ``"1"``; optional in FIX 4.4, so omitted by default.
    transact_time : datetime, optional
        TransactTime (60), naive taken as UTC; default ``batch.as_of`` at 00:00:00 UTC, so the same
        batch always gives byte-identical messages.
    sender_comp_id, target_comp_id : str
        Header SenderCompID (49) / TargetCompID (56). A live session overwrites them, MsgSeqNum (34,
        here 1..n) and SendingTime (52, here ``as_of`` at 00:00:00 UTC).
    data_dictionary_path : path, optional
        FIX 4.4 data dictionary used to validate; default :func:`fix44_dictionary_path`.

    Returns
    -------
    list of quickfix.Message

    Raises
    ------
    FixValidationError
        Naming the order_id and the field of the first order FIX cannot carry.
    FixUnavailableError
        If QuickFIX is not installed.
    """
    _quickfix()
    import quickfix44

    rows, opts = _prepare(batch, locals())
    messages = []
    for seq, row in enumerate(rows, start=1):
        fields = _order_fields(row, opts)
        message = _header(quickfix44.NewOrderSingle(), opts, seq)
        _fill(message, fields, quickfix44.NewOrderSingle.NoAllocs, allocations)
        _validate(message, opts["dd"], f"order {fields[0][1]}", fields[0][1])
        messages.append(message)
    return messages


def new_order_list(batch: OrderBatch, *, account: str | None = None,
                   allocations: Mapping[str, float] | None = None,
                   limit_prices: Mapping[str, float] | None = None, handl_inst: str | None = None,
                   transact_time: datetime | pd.Timestamp | None = None, sender_comp_id: str = "TRIMTAB",
                   target_comp_id: str = "OMS", seq_num: int = 1,
                   data_dictionary_path: str | os.PathLike | None = None) -> Any:
    """One FIX 4.4 NewOrderList (``35=E``) holding every order of the batch, validated.

    ListID (66) is ``batch_id``, BidType (394) is 3 (no bidding process), TotNoOrders (68) the number of
    orders, and each NoOrders (73) entry carries ClOrdID, ListSeqNo (67, from 1), the instrument, Side,
    OrderQty, OrdType, TransactTime, and the optional Account / HandlInst / Price / NoAllocs exactly as
    in :func:`new_order_singles` (see there for the parameters and errors; an empty batch is an error
    too). The whole batch goes in one message (no fragmentation, LastFragment (893) not sent);
    ``seq_num`` is its MsgSeqNum (34). Returns a quickfix.Message.
    """
    _quickfix()
    import quickfix44

    rows, opts = _prepare(batch, locals())
    if not rows:
        raise FixValidationError(f"batch {batch.batch_id} has no orders; a NewOrderList needs at least one")
    list_id = _text(batch.batch_id, None, 66)

    full = _header(quickfix44.NewOrderList(), opts, seq_num)
    _fill(full, [(66, list_id), (394, "3"), (68, str(len(rows)))], None, None)
    for list_seq, row in enumerate(rows, start=1):
        fields = _order_fields(row, opts)
        entry = quickfix44.NewOrderList.NoOrders()
        _fill(entry, [*fields, (67, str(list_seq))], quickfix44.NewOrderList.NoOrders.NoAllocs, allocations)
        # QuickFIX does not check values inside repeating groups: validate the entry as the equivalent
        # NewOrderSingle, which also names the order at fault.
        probe = _header(quickfix44.NewOrderSingle(), opts, seq_num)
        _fill(probe, fields, quickfix44.NewOrderSingle.NoAllocs, allocations)
        _validate(probe, opts["dd"], f"order {fields[0][1]}", fields[0][1])
        full.addGroup(entry)
    _validate(full, opts["dd"], f"NewOrderList {list_id}", None)
    return full


def write_fix_file(batch: OrderBatch, path: str | os.PathLike, *, style: str = "single",
                   sender_comp_id: str = "TRIMTAB", target_comp_id: str = "OMS", force: bool = False,
                   **options: Any) -> Path:
    """Write the batch as FIX 4.4 messages, one per line, atomically.

    Each line is a message exactly as QuickFIX renders it (``toString()``: SOH ``\\x01`` between fields,
    BodyLength and CheckSum computed by QuickFIX) followed by ``\\n``. MsgSeqNum runs 1..n, SendingTime
    and TransactTime are ``as_of`` at 00:00:00 UTC, so the same batch and options give a byte-identical
    file. The file is written to a temporary sibling, then moved into place; returns its path.

    Parameters
    ----------
    batch : OrderBatch
    path : path-like
    style : {"single", "list"}
        One NewOrderSingle per order, or one NewOrderList for the batch.
    sender_comp_id, target_comp_id : str
        Header SenderCompID (49) and TargetCompID (56).
    force : bool
        Replace an existing file; without it an existing file is an error.
    **options
        ``account``, ``allocations``, ``limit_prices``, ``handl_inst``, ``transact_time``,
        ``data_dictionary_path``, as in :func:`new_order_singles`.

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``force`` is False (nothing is written).
    FixValidationError
        If the batch is empty or an order fails validation (nothing is written).
    """
    target = Path(path)
    if target.exists() and not force:
        raise FileExistsError(f"{target} already exists; pass force=True to replace it")
    payload = write_fix_bytes(batch, style=style, sender_comp_id=sender_comp_id, target_comp_id=target_comp_id, **options)
    _atomic_write(target, payload, force=force)
    return target


def write_fix_bytes(batch: OrderBatch, *, style: str = "single", sender_comp_id: str = "TRIMTAB",
                    target_comp_id: str = "OMS", **options: Any) -> bytes:
    """The bytes :func:`write_fix_file` writes (one message per line), for a batch directory."""
    if style not in ("single", "list"):
        raise FixValidationError(f"style must be 'single' or 'list', got {style!r}")
    if batch.orders.empty:
        raise FixValidationError(f"batch {batch.batch_id} has no orders; no FIX file written")
    ids = dict(sender_comp_id=sender_comp_id, target_comp_id=target_comp_id)
    if style == "single":
        messages = new_order_singles(batch, **ids, **options)
    else:
        messages = [new_order_list(batch, **ids, **options)]
    return "".join(m.toString() + "\n" for m in messages).encode("ascii")


def _atomic_write(target: Path, payload: bytes, *, force: bool) -> None:
    """Write ``payload`` to a temporary sibling, fsync, then move it onto ``target`` in one step."""
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        if force:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)  # fails if target appeared meanwhile: never clobbers
            except FileExistsError:
                raise FileExistsError(f"{target} already exists; pass force=True to replace it") from None
            except OSError:  # no hard links on this file system: check, then move
                if target.exists():
                    raise FileExistsError(f"{target} already exists; pass force=True to replace it") from None
                os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
