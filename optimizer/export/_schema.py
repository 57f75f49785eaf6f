"""The neutral order schema every export format is written from.

One row per order in :attr:`OrderBatch.orders` (a DataFrame), columns in this order:

========================  =====================================================================
column                    meaning
========================  =====================================================================
``order_id``              deterministic, unique: ``{batch_id}-{n:04d}`` (n from 1, by asset_id)
``asset_id``              the universe's id
``identifier_type``       ``TICKER``, ``CUSIP``, ``ISIN``, ``SEDOL`` or ``FIGI`` (first supplied)
``identifier``            its value
``side``                  ``BUY``, ``SELL`` or ``SELL_SHORT`` (a sale that crosses zero)
``quantity``              shares to trade, positive integer, a multiple of the lot size
``price``                 price used, per share (portfolio currency)
``notional``              ``quantity × price`` (positive)
``current_shares``        shares held before (integer, may be negative)
``target_shares``         shares held after (integer)
``target_weight``         the optimizer's weight, fraction of NAV
``rounded_weight``        weight after rounding to lots, fraction of NAV
``reason``                ``rebalance``, ``new position``, ``exit`` or ``exclusion``
========================  =====================================================================

A batch exported from a tax-aware run also has :attr:`OrderBatch.lots`: one row per lot a sell
order sells (``order_id, lot_id, asset_id, shares``, whole shares adding up to the order's
``quantity``; see ``_lots``), written as ``lots.csv`` and as each order's ``lots`` in ``orders.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .. import FORMULA_TRIGGERS

ORDER_COLUMNS: tuple[str, ...] = (
    "order_id",
    "asset_id",
    "identifier_type",
    "identifier",
    "side",
    "quantity",
    "price",
    "notional",
    "current_shares",
    "target_shares",
    "target_weight",
    "rounded_weight",
    "reason",
)

SIDES: tuple[str, ...] = ("BUY", "SELL", "SELL_SHORT")
#: First characters a spreadsheet takes for a formula (OWASP CSV injection; the core's rule):
#: neutralised in CSV cells, refused in FIX text fields (ids, tickers, accounts).
FORMULA_STARTS: tuple[str, ...] = FORMULA_TRIGGERS
#: What pandas / Python print for a missing value: never an identifier, never sent.
MISSING_MARKERS: frozenset[str] = frozenset({"nan", "NaN", "None", "<NA>", "NaT", "null", "NULL"})
IDENTIFIER_TYPES: tuple[str, ...] = ("TICKER", "CUSIP", "ISIN", "SEDOL", "FIGI")


@dataclass(frozen=True)
class OrderBatch:
    """A batch of orders ready to export or send.

    Attributes
    ----------
    batch_id : str
        ``{as_of:%Y%m%d}-{first 12 hex of the SHA-256 of the canonical inputs}``.
    portfolio_id : str
        The account / portfolio the orders are for.
    as_of : pd.Timestamp
        Date of the market data behind the target.
    orders : pd.DataFrame
        One row per order, columns :data:`ORDER_COLUMNS`, sorted by ``order_id``.
    meta : dict
        Everything else the manifest records (NAV, cash before/after, TE change from
        rounding, input hashes, solver, status, code version).
    lots : pd.DataFrame or None
        Tax lots sold (specific identification): ``order_id, lot_id, asset_id, shares``, one
        row per lot of each sell order, sorted by order and lot; None for a run without lots.
    """

    batch_id: str
    portfolio_id: str
    as_of: pd.Timestamp
    orders: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    lots: pd.DataFrame | None = None
