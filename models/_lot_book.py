"""Tax lots against one market snapshot: the per-lot arrays a tax-aware solve needs.

:func:`lot_book` checks the lots against the snapshot — every asset known, nothing acquired
after the as-of date, and the holdings the sum of the lots (within one share per name) —
and computes, in the order of the universe (lots of one asset together, by ``lot_id``):

* each lot's weight, a fraction of NAV: the asset's holding split in proportion to its
  lots' shares (so the lots of a name add up to its holding exactly);
* its gain ratio ``g = 1 − basis / price``: selling a fraction ``x`` of NAV from the lot
  realizes a gain of ``g·x`` of NAV (negative: a loss);
* its term: long when held more than ``long_term_days`` calendar days at the as-of date;
* the wash-sale look-back: an asset bought within ``wash_sale_days`` calendar days before
  the as-of date (a lot acquired then, or a ``buy`` trade) cannot have its loss lots sold
  (conservatively, whichever lot was bought); an asset sold at a loss within the window (a
  ``sell`` trade with ``realized_gain < 0``) cannot be bought.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._errors import DataError
from ._lots import TaxLots
from ._snapshot import MarketSnapshot
from ._validation import in_index, listing

__all__ = ["SHARE_TOLERANCE", "LotBook", "lot_book"]

#: The holdings may differ from the sum of the lots by at most this many shares per asset.
SHARE_TOLERANCE = 1.0


@dataclass(frozen=True)
class LotBook:
    """One account's lots on one date, aligned to a universe (lots of an asset together).

    Attributes
    ----------
    as_of : pd.Timestamp
        The market date.
    nav : float
        Net asset value, USD (a weight of 1 is ``nav`` dollars).
    lot_ids, assets : tuple of str
        Each lot's id and asset_id.
    positions : np.ndarray of int
        Each lot's asset position in the universe (L,).
    n_assets : int
        Size of the universe.
    shares, cost_basis, price : np.ndarray
        Shares, USD per share at purchase, USD per share at the as-of date (L,).
    acquired : np.ndarray of datetime64
        Purchase dates (L,).
    weights : np.ndarray
        Each lot's weight, fraction of NAV (L,); the lots of an asset add up to its holding.
    gain_ratio : np.ndarray
        ``1 − basis / price`` (L,): gain per unit of weight sold (negative for a loss).
    long_term : np.ndarray of bool
        Held more than ``long_term_days`` (L,).
    loss_sale_blocked : np.ndarray of bool
        Loss lots of an asset bought within the wash-sale window (L,): not sold.
    buy_blocked : np.ndarray of bool
        Assets sold at a loss within the window (n,): not bought.
    bought_recently, sold_at_loss_recently : tuple of str
        The assets behind the two masks, sorted.
    source : str
        Where the lots come from.
    """

    as_of: pd.Timestamp
    nav: float
    lot_ids: tuple[str, ...]
    assets: tuple[str, ...]
    positions: np.ndarray
    n_assets: int
    shares: np.ndarray
    cost_basis: np.ndarray
    price: np.ndarray
    acquired: np.ndarray
    weights: np.ndarray
    gain_ratio: np.ndarray
    long_term: np.ndarray
    loss_sale_blocked: np.ndarray
    buy_blocked: np.ndarray
    bought_recently: tuple[str, ...]
    sold_at_loss_recently: tuple[str, ...]
    source: str = ""

    @property
    def n_lots(self) -> int:
        """Number of lots."""
        return len(self.lot_ids)

    @property
    def structure(self) -> tuple[int, ...]:
        """Each lot's asset position: what the shape of a tax-aware problem depends on."""
        return tuple(int(p) for p in self.positions)

    @property
    def is_loss(self) -> np.ndarray:
        """Lots whose sale realizes a loss (L,)."""
        return self.gain_ratio < 0

    def incidence(self) -> np.ndarray:
        """Asset × lot 0/1 matrix ``S`` (n × L): ``S @ lot_values`` sums lots per asset."""
        matrix = np.zeros((self.n_assets, self.n_lots))
        matrix[self.positions, np.arange(self.n_lots)] = 1.0
        return matrix

    def per_asset(self, values: np.ndarray) -> np.ndarray:
        """Sum of a per-lot array over each asset's lots (n,)."""
        return np.bincount(self.positions, weights=np.asarray(values, dtype=float), minlength=self.n_assets)


def lot_book(
    lots: TaxLots,
    snapshot: MarketSnapshot,
    *,
    nav: float | None = None,
    long_term_days: int = 365,
    wash_sale_days: int = 30,
) -> LotBook:
    """Check ``lots`` against ``snapshot`` and align them to its universe.

    Parameters
    ----------
    lots : TaxLots
        The account's lots and recent trades.
    snapshot : MarketSnapshot
        Prices (``assets.price``, USD per share), holdings (fractions of NAV) and the as-of date.
    nav : float, optional
        Net asset value, USD; default: the NAV the lots imply (:func:`implied_nav`; their
        market value when they add up to the holdings).
    long_term_days : int
        A lot held more than this many calendar days is long-term.
    wash_sale_days : int
        The wash-sale look-back, calendar days before the as-of date.

    Raises
    ------
    DataError
        A lot or trade on an asset not in the universe, a date after the as-of date, a
        missing price, or lots that do not add up to the holdings (naming the source, row,
        asset and numbers).
    """
    table, where = lots.lots, lots.source
    as_of = pd.Timestamp(snapshot.as_of).normalize()
    ids = snapshot.asset_ids
    index = pd.Series(np.arange(len(ids)), index=ids)
    _check_known(table["asset_id"], index, where, "lot")
    _check_dates(table["acquired"], as_of, where, "acquired", table["lot_id"])
    trades = lots.trades
    _check_known(trades["asset_id"], index, lots.trades_source, "trade")
    _check_dates(trades["date"], as_of, lots.trades_source, "date", None)

    table = table.assign(position=index.reindex(table["asset_id"]).to_numpy()).sort_values(
        ["position", "lot_id"], kind="stable"
    )
    positions = table["position"].to_numpy(dtype=int)
    price_all = snapshot.assets["price"].to_numpy(dtype=float)
    holdings = snapshot.holdings.to_numpy(dtype=float)
    shares = table["shares"].to_numpy(dtype=float)
    price = price_all[positions]
    bad_price = ~(np.isfinite(price) & (price > 0))
    if bad_price.any():
        bad = sorted(set(np.asarray(table["asset_id"])[bad_price]))
        raise DataError(f"{where}: lots of asset(s) {listing(bad)} need a positive price in the universe")
    n = len(ids)
    lot_shares = np.bincount(positions, weights=shares, minlength=n)
    nav = implied_nav(lot_shares, holdings, price_all) if nav is None else float(nav)
    _check_adds_up(lot_shares, holdings, price_all, nav, ids, where)
    weights = holdings[positions] * shares / lot_shares[positions]
    gain_ratio = 1.0 - table["cost_basis"].to_numpy(dtype=float) / price
    acquired = table["acquired"].to_numpy(dtype="datetime64[ns]")
    held_days = (np.datetime64(as_of, "ns") - acquired).astype("timedelta64[D]").astype(int)
    window = as_of - pd.Timedelta(days=wash_sale_days)
    bought = set(np.asarray(table["asset_id"])[held_days <= wash_sale_days])
    recent = trades[trades["date"] >= window]
    bought |= set(recent.loc[recent["side"] == "buy", "asset_id"])
    sold_at_loss = set(recent.loc[(recent["side"] == "sell") & (recent["realized_gain"] < 0), "asset_id"])
    buy_blocked = np.zeros(n, dtype=bool)
    buy_blocked[index.reindex(sorted(sold_at_loss)).to_numpy(dtype=int)] = True
    bought_mask = np.zeros(n, dtype=bool)
    bought_mask[index.reindex(sorted(bought)).to_numpy(dtype=int)] = True
    return LotBook(
        as_of=as_of,
        nav=nav,
        lot_ids=tuple(table["lot_id"]),
        assets=tuple(table["asset_id"]),
        positions=positions,
        n_assets=n,
        shares=shares,
        cost_basis=table["cost_basis"].to_numpy(dtype=float),
        price=price,
        acquired=acquired,
        weights=weights,
        gain_ratio=gain_ratio,
        long_term=held_days > long_term_days,
        loss_sale_blocked=(gain_ratio < 0) & bought_mask[positions],
        buy_blocked=buy_blocked,
        bought_recently=tuple(sorted(bought)),
        sold_at_loss_recently=tuple(sorted(sold_at_loss)),
        source=where,
    )


def implied_nav(lot_shares: np.ndarray, holdings: np.ndarray, price: np.ndarray) -> float:
    """The NAV the lots imply, USD: the median over held names of ``lot value / holding weight``.

    When the lots add up to the holdings every ratio is the NAV; when a few names do not, the
    median still is, so the check names those names rather than every one.
    """
    held = (holdings > 0) & (lot_shares > 0) & np.isfinite(price)
    if not held.any():
        raise DataError("the lots and the holdings have no name in common: holdings must be the sum of the lots")
    return float(np.median(lot_shares[held] * price[held] / holdings[held]))


def _check_known(assets: pd.Series, index: pd.Series, where: str, what: str) -> None:
    unknown = ~in_index(assets, index.index)
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        raise DataError(
            f"{where}: data row {i + 1}: asset_id {assets.iloc[i]!r} is not in the universe"
            + (f" ({int(unknown.sum())} {what}s on unknown assets: {listing(sorted(set(assets[unknown])))})"
               if unknown.sum() > 1 else "")
        )


def _check_dates(dates: pd.Series, as_of: pd.Timestamp, where: str, column: str, lot_ids: pd.Series | None) -> None:
    late = (dates > as_of).to_numpy()
    if late.any():
        i = int(np.flatnonzero(late)[0])
        what = f" (lot_id {lot_ids.iloc[i]!r})" if lot_ids is not None else ""
        raise DataError(
            f"{where}: data row {i + 1}{what}: {column} {dates.iloc[i].date()} is after the as-of date {as_of.date()}"
            + (f" ({int(late.sum())} such rows)" if late.sum() > 1 else "")
        )


def _check_adds_up(
    lot_shares: np.ndarray,
    holdings: np.ndarray,
    price: np.ndarray,
    nav: float,
    ids: pd.Index,
    where: str,
) -> None:
    with np.errstate(divide="ignore", invalid="ignore"):
        held_shares = np.where(holdings > 0, holdings * nav / price, 0.0)
    off = np.flatnonzero(~(np.abs(held_shares - lot_shares) <= SHARE_TOLERANCE))
    if len(off):
        shown = [
            f"{ids[i]}: lots {lot_shares[i]:,.4g} shares, holdings {held_shares[i]:,.4g} shares "
            f"(weight {holdings[i]:.6g} × NAV ${nav:,.0f} / price ${price[i]:,.2f})"
            for i in off
        ]
        raise DataError(
            f"{where}: the lots do not add up to the holdings (within {SHARE_TOLERANCE:g} share) for "
            f"{len(off)} asset(s): {listing(shown)}; holdings must be the sum of the lots"
        )
