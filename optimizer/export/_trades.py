"""From target weights to whole-lot orders: netted, cash-respecting, re-checked against the job.

1. NAV = Σ shares × price + cash (or given). The trade ``w × NAV / price − current shares``
   is rounded to the nearest lot (a name already at its target does not trade).
2. Trades smaller than ``min_trade_shares`` or ``min_trade_notional`` are skipped (an exit to
   zero is never skipped).
3. Cash: the cash left, ``cash − Σ trade × price``, must be ≥ ``cash_buffer × NAV``. While it
   is not, buys that were rounded up are cut by their lot, the most over target first; a
   shortfall left after that is an error (the target itself needs more cash than there is).
4. Every hard rule of the job is measured on the rounded weights; while one is broken by more
   than ``tolerance``, one lot is sold of the name whose sale helps it most (its gradient ×
   lot weight; names rounded up first), or bought when only buying helps and cash allows.
   A rule still broken after that is an :class:`ExportError` naming it.
5. A tax-aware run's sell orders name the tax lots they sell (``lots``, see ``_lots``): the
   lots must add up to the holdings, each order's lot shares add up to its quantity, and the
   job's lot rules (``realized_gain``, ``harvested_loss``) are measured on the lots sold.
The TE change due to rounding is reported. This greedy repair is hand-written: PyPortfolioOpt's
``DiscreteAllocation`` rounds a long-only budget but knows neither current holdings, lots,
nor the job's rules.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import numpy as np
import pandas as pd

from .. import ROUNDING_TOLERANCE, ExportError, RunTarget, TargetPortfolio
from ._check import PortfolioCheck
from ._inputs import IDENTIFIER_PREFERENCE, order_identifiers, pick_identifier
from ._lots import ExportLots
from ._schema import ORDER_COLUMNS, OrderBatch

#: The repair gives up after this many one-lot moves.
MAX_REPAIR_MOVES = 1000

#: Default slack a rule may lose to rounding (its units: 1 bp of weight, 0.0001 σ, 0.01 % TE).
#: The target sits on its binding rules, so whole lots always move it by a fraction of a lot.


def build_orders(
    target: TargetPortfolio | RunTarget,
    holdings: pd.Series,
    master: pd.DataFrame,
    *,
    check: PortfolioCheck | None = None,
    cash: float = 0.0,
    nav: float | None = None,
    min_trade_shares: int = 0,
    min_trade_notional: float = 0.0,
    cash_buffer: float = 0.0,
    tolerance: float = ROUNDING_TOLERANCE,
    identifier: str | None = None,
    portfolio_id: str = "PORTFOLIO",
    input_hashes: dict[str, str] | None = None,
    excluded: frozenset[str] = frozenset(),
    lots: ExportLots | None = None,
) -> OrderBatch:
    """Orders that move ``holdings`` to the target in whole lots; see the module docstring.

    Parameters
    ----------
    target : TargetPortfolio or RunTarget
        The optimizer's result (weights by asset_id), in memory or read from a run directory.
    holdings : pd.Series
        Current shares by asset_id (whole, ≥ 0); names absent hold 0.
    master : pd.DataFrame
        By asset_id: ``price``, ``lot_size`` and identifier columns (see ``read_security_master``).
    check : PortfolioCheck, optional
        The job's rules, to re-check the rounded portfolio (skipped when None).
    cash, nav : float
        Cash on hand and NAV (default: holdings value + cash), portfolio currency.
    min_trade_shares, min_trade_notional : int, float
        Smaller trades are skipped.
    cash_buffer : float
        Cash to keep, fraction of NAV.
    tolerance : float
        A rule broken by at most this (its units) after rounding passes.
    identifier : str, optional
        Identifier column the orders carry (default: ISIN, CUSIP, SEDOL, FIGI, ticker, asset_id).
    portfolio_id : str
        Account the orders are for.
    input_hashes : dict, optional
        SHA-256 of the input files; part of the batch id.
    excluded : frozenset of str
        Names on the job's restricted list (their exits read ``exclusion``).
    lots : ExportLots, optional
        The tax lots of a tax-aware run: sell orders name the lots they sell (:attr:`OrderBatch.lots`).

    Raises
    ------
    ExportError
        A setting out of range (see :func:`check_order_settings`), missing prices or identifiers,
        not enough cash, a rule the rounding breaks beyond repair, or lots that do not match
        the holdings (naming the assets) or whose sale breaks a lot rule.
    """
    check_order_settings(cash=cash, nav=nav, cash_buffer=cash_buffer, min_trade_shares=min_trade_shares,
                         min_trade_notional=min_trade_notional, tolerance=tolerance, portfolio_id=portfolio_id)
    target = target if isinstance(target, RunTarget) else RunTarget.from_portfolio(target)
    if lots is not None:
        lots.check_holdings(holdings)
    ids = target.weights.index.union(holdings.index[holdings != 0])
    weights = target.weights.reindex(ids, fill_value=0.0).to_numpy(dtype=float)
    current = holdings.reindex(ids, fill_value=0).to_numpy(dtype=np.int64)
    traded = (weights > 0) | (current != 0)
    missing = [a for a, t in zip(ids, traded) if t and a not in master.index]
    if missing:
        raise ExportError(f"no price for {len(missing)} traded asset(s): {missing[:20]}")
    prices = master["price"].reindex(ids).fillna(1.0).to_numpy(dtype=float)
    lot_sizes = master["lot_size"].reindex(ids).fillna(1).to_numpy(dtype=np.int64)
    held_value = float(current @ prices)
    nav = float(nav) if nav is not None else held_value + cash
    if not (math.isfinite(nav) and nav > 0):
        raise ExportError(f"NAV must be positive (holdings {held_value:,.2f} + cash {cash:,.2f})")

    shares = current + np.round((weights * nav / prices - current) / lot_sizes).astype(np.int64) * lot_sizes
    shares = np.where((weights == 0) | (shares < 0), 0, shares)  # exits sell the odd lot too; long only
    small = (np.abs(shares - current) < min_trade_shares) | (np.abs(shares - current) * prices < min_trade_notional)
    shares = np.where(small & (shares != 0), current, shares)
    shares = _respect_cash(shares, current, weights, prices, lot_sizes, nav, cash, cash_buffer)
    te_change = None
    if check is not None:
        positions = [check.asset_ids.index(a) if a in check.asset_ids else -1 for a in ids]
        check.use_book(_in_universe(current * prices / nav, positions, len(check.asset_ids)))
        shares = _repair(shares, current, weights, prices, lot_sizes, nav, cash, cash_buffer, check, positions, tolerance)
        rounded = _in_universe(shares * prices / nav, positions, len(check.asset_ids))
        target_w = _in_universe(weights, positions, len(check.asset_ids))
        te_change = check.tracking_error(rounded) - check.tracking_error(target_w)
    cash_after = _cash_left(shares, current, prices, cash)
    column = pick_identifier(master, identifier)
    orders = _order_frame(ids, shares, current, weights, prices, nav, master, identifier, excluded)
    canonical = {
        "portfolio_id": portfolio_id,
        "as_of": str(target.as_of.date()),
        "job_sha256": target.job_sha256,
        "inputs": dict(sorted((input_hashes or {}).items())),
        "targets": hashlib.sha256(target.weights.sort_index().round(12).to_json().encode()).hexdigest(),
        "settings": [cash, nav, min_trade_shares, min_trade_notional, cash_buffer, tolerance, column],
        **({"lots": lots.digest()} if lots is not None else {}),
    }
    digest = hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()
    batch_id = f"{target.as_of:%Y%m%d}-{digest[:12]}"
    orders.insert(0, "order_id", [f"{batch_id}-{i:04d}" for i in range(1, len(orders) + 1)])
    sold, lot_summary = lots.allocate(orders) if lots is not None else (None, None)
    if sold is not None and check is not None and lots.recheck:
        _check_lot_rules(check, sold, lots, tolerance)
    meta: dict[str, Any] = {
        "nav": nav,
        "cash_before": cash,
        "cash_after": cash_after,
        "cash_buffer": cash_buffer,
        "te_change_from_rounding": te_change,
        "orders": len(orders),
        "gross_notional": float(orders["notional"].sum()),
        "identifier": column,
        "inputs": canonical["inputs"],
        "job_sha256": target.job_sha256,
        "solver": target.solver,
        "status": target.status,
        **({"lots": lot_summary} if lot_summary is not None else {}),
    }
    return OrderBatch(batch_id, portfolio_id, target.as_of, orders[list(ORDER_COLUMNS)], meta, sold)


def _check_lot_rules(check: PortfolioCheck, sold: pd.DataFrame, lots: ExportLots, tolerance: float) -> None:
    """Refuse lot sales that break the job's lot rules (realized gain, harvested loss) beyond ``tolerance``."""
    fraction = sold.groupby("lot_id")["shares"].sum() / lots.table["shares"].reindex(sold["lot_id"].unique())
    broken = check.lot_violations(fraction, tolerance)
    if broken:
        names = "; ".join(f"'{v.name}' by {v.amount:.3g}" for v in broken)
        raise ExportError(
            f"the lots the rounded orders sell break {names} (the optimizer's fractional lot sales met it); "
            "loosen the rule, use a larger NAV or smaller lots, or raise --tolerance; nothing was written"
        )


def _respect_cash(shares, current, weights, prices, lots, nav, cash, cash_buffer):
    """Undo the rounding-up of buys (one lot each, the most over target first) until cash suffices.

    Orders stay within one lot of the target; a shortfall that rounding does not explain is an
    error, not a silent shrinking of the portfolio the optimizer chose.
    """
    shares = shares.copy()
    need = cash_buffer * nav
    short = need - _cash_left(shares, current, prices, cash)
    if short <= 1e-9:
        return shares
    exact = weights * nav / prices
    rounded_up = np.flatnonzero((shares > current) & (shares > exact))
    over = (shares[rounded_up] - exact[rounded_up]) * prices[rounded_up] / nav
    order = rounded_up[np.argsort(-over, kind="stable")]
    freed = np.cumsum(lots[order] * prices[order])
    cut = order[: int(np.searchsorted(freed, short - 1e-9)) + 1]
    shares[cut] -= lots[cut]
    short = need - _cash_left(shares, current, prices, cash)
    if short > 1e-9:
        raise ExportError(
            f"not enough cash: the orders need {short:,.2f} more (cash {cash:,.2f}, buffer {need:,.2f} = "
            f"{cash_buffer:.2%} of NAV {nav:,.2f}); add cash, lower --cash-buffer, or keep the buffer in the "
            "target with a `cash: {min: ...}` rule in the job"
        )
    return shares


def _cash_left(shares, current, prices, cash) -> float:
    """Cash after trading from ``current`` to ``shares`` (portfolio currency)."""
    return cash - float((shares - current) @ prices)


def _in_universe(values, positions, n):
    out = np.zeros(n)
    for value, p in zip(values, positions):
        if p >= 0:
            out[p] = value
    return out


def _repair(shares, current, weights, prices, lots, nav, cash, cash_buffer, check, positions, tolerance):
    shares = shares.copy()
    lot_weight = lots * prices / nav
    inside = np.array([p >= 0 for p in positions])
    for _ in range(MAX_REPAIR_MOVES):
        broken = check.violations(_in_universe(shares * prices / nav, positions, len(check.asset_ids)), tolerance)
        if not broken:
            return shares
        total = np.sum([v.direction for v in broken], axis=0)  # a move that reduces every violation at once
        direction = np.array([total[p] if p >= 0 else 0.0 for p in positions])
        help_sell = np.where(inside & (shares - lots >= 0), direction * lot_weight, 0.0)
        spare = _cash_left(shares, current, prices, cash) - cash_buffer * nav
        help_buy = np.where(inside & (lots * prices <= spare), -direction * lot_weight, 0.0)
        over = shares * prices / nav - weights  # rounded up: sell those first among equals
        sell, buy = int(np.argmax(help_sell + 1e-12 * over)), int(np.argmax(help_buy - 1e-12 * over))
        if max(help_sell[sell], help_buy[buy]) <= 0:
            break
        if help_sell[sell] >= help_buy[buy]:
            shares[sell] -= lots[sell]
        else:
            shares[buy] += lots[buy]
    names = "; ".join(f"'{v.name}' by {v.amount:.3g}" for v in broken)
    raise ExportError(
        f"rounding to lots breaks {names} and no one-lot trade repairs it; "
        "loosen the rule, use a larger NAV or smaller lots, or raise --tolerance"
    )


def _order_frame(ids, shares, current, weights, prices, nav, master, wanted, excluded) -> pd.DataFrame:
    delta = shares - current
    rows = np.flatnonzero(delta != 0)
    kinds, values, none = order_identifiers(master, [ids[i] for i in rows], wanted)
    if none:
        columns = wanted or ", ".join(c for c in IDENTIFIER_PREFERENCE if c in master.columns)
        raise ExportError(
            f"{len(none)} order(s) have no identifier: {', '.join(none[:50])}{' …' if len(none) > 50 else ''} "
            f"(blank in every identifier column of the security master: {columns}); fill one in, nothing was written"
        )
    frame = pd.DataFrame(
        {
            "asset_id": [ids[i] for i in rows],
            "identifier_type": kinds,
            "identifier": values,
            "side": ["BUY" if delta[i] > 0 else ("SELL_SHORT" if shares[i] < 0 else "SELL") for i in rows],
            "quantity": np.abs(delta[rows]).astype(np.int64),
            "price": prices[rows],
            "notional": np.abs(delta[rows]) * prices[rows],
            "current_shares": current[rows],
            "target_shares": shares[rows],
            "target_weight": weights[rows],
            "rounded_weight": shares[rows] * prices[rows] / nav,
            "reason": [_reason(ids[i] in excluded, current[i], shares[i]) for i in rows],
        }
    )
    return frame.sort_values("asset_id", kind="stable").reset_index(drop=True)


def _reason(excluded: bool, current: int, target: int) -> str:
    if target == 0 and current != 0:
        return "exclusion" if excluded else "exit"
    if current == 0:
        return "new position"
    return "rebalance"


def check_order_settings(*, cash: float, nav: float | None, cash_buffer: float, min_trade_shares: int,
                         min_trade_notional: float, tolerance: float, portfolio_id: str) -> None:
    """Refuse settings no export can mean, in one message naming the option.

    ``cash`` ≥ 0 and finite; ``nav`` (if given) finite and > 0; ``cash_buffer`` a fraction in [0, 1);
    ``min_trade_shares``, ``min_trade_notional``, ``tolerance`` finite and ≥ 0; ``portfolio_id``
    non-empty printable text without control characters.

    Raises
    ------
    ExportError
    """
    def number(value: object) -> float:
        try:
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return math.nan

    checks = [
        ("--cash", cash, lambda x: math.isfinite(x) and x >= 0, "a finite amount ≥ 0 (borrowing is not supported)"),
        ("--cash-buffer", cash_buffer, lambda x: math.isfinite(x) and 0 <= x < 1, "a fraction of NAV in [0, 1)"),
        ("--min-trade-shares", min_trade_shares, lambda x: math.isfinite(x) and x >= 0, "a number of shares ≥ 0"),
        ("--min-trade-notional", min_trade_notional, lambda x: math.isfinite(x) and x >= 0, "a finite amount ≥ 0"),
        ("--tolerance", tolerance, lambda x: math.isfinite(x) and x >= 0, "finite and ≥ 0"),
    ]
    if nav is not None:
        checks.insert(1, ("--nav", nav, lambda x: math.isfinite(x) and x > 0, "a finite amount > 0"))
    for option, value, valid, wanted in checks:
        if not valid(number(value)):
            raise ExportError(f"{option} must be {wanted}, got {value!r}; nothing was written")
    if not isinstance(portfolio_id, str) or not portfolio_id.strip() or not portfolio_id.isprintable():
        raise ExportError(f"--portfolio-id must be non-empty text without control characters, got {portfolio_id!r}; "
                          "nothing was written")
