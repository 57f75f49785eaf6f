"""Tax lots carried through time: one account's lots (in shares) and its trades log.

A :class:`LotLedger` is the book a tax-aware backtest carries from one rebalance to the next:
the lots it holds (``lot_id, asset_id, shares, cost_basis, acquired``; shares and USD per
share) and every trade it made (one row per lot sold, one per lot bought). Between rebalances
nothing changes but prices: a lot's weight on a date is ``shares × price / Σ shares × price``.
At a rebalance :meth:`LotLedger.after` applies the trade — each lot sold from by the shares
sold (a lot sold whole leaves the book), each asset bought as one new lot at the day's price,
acquired that day — and logs it. :meth:`LotLedger.tax_lots` turns the ledger into the
:class:`~trimtab.models.TaxLots` a solve on that date takes, with the trades of the wash-sale
look-back (a buy, or a sell at a loss, within the window) as its recent trades.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from trimtab.models import LOT_COLUMNS, DataError, TaxLots

#: Columns of :attr:`LotLedger.trades`: one row per lot sold (``side = sell``) or bought (``buy``).
TRADE_LOG_COLUMNS = (
    "date", "asset_id", "lot_id", "side", "shares", "price", "cost_basis", "realized_gain", "term", "rate", "tax",
)

#: A lot left with fewer shares than this after a sale is sold whole (float dust).
SHARE_DUST = 1e-6


@dataclass(frozen=True)
class LotLedger:
    """One account's tax lots and trades log.

    Attributes
    ----------
    lots : pd.DataFrame
        One row per lot held: ``lot_id`` (unique), ``asset_id``, ``shares`` (> 0, fractional
        allowed), ``cost_basis`` (USD per share), ``acquired`` (date).
    trades : pd.DataFrame
        Columns :data:`TRADE_LOG_COLUMNS`: the date, asset, lot, ``side`` (``buy``/``sell``),
        shares, price (USD per share), the lot's cost basis, the realized gain (USD; a
        wash-sale-disallowed loss counts 0; 0 for buys), ``term`` (``short``/``long``, empty
        for buys), its ``rate`` and ``tax`` (USD, ``rate × realized_gain``). Trades given with
        the starting lots (the look-back) keep their date, asset, side and realized gain.
    """

    lots: pd.DataFrame
    trades: pd.DataFrame

    @classmethod
    def from_tax_lots(cls, lots: TaxLots) -> LotLedger:
        """The ledger of ``lots``: its lots, and its recent trades as the start of the log."""
        table = lots.lots.loc[:, list(LOT_COLUMNS)].reset_index(drop=True)
        given = lots.trades
        trades = pd.DataFrame(
            {
                "date": pd.to_datetime(given["date"]).astype("datetime64[ns]"),
                "asset_id": given["asset_id"].astype(str),
                "lot_id": "",
                "side": given["side"].astype(str),
                "shares": np.nan,
                "price": np.nan,
                "cost_basis": np.nan,
                "realized_gain": given["realized_gain"].astype(float),
                "term": "",
                "rate": np.nan,
                "tax": 0.0,
            },
            columns=list(TRADE_LOG_COLUMNS),
        )
        return cls(table, trades.reset_index(drop=True))

    def shares_by_asset(self, asset_ids: pd.Index) -> np.ndarray:
        """Shares held of each of ``asset_ids`` (0 for names without a lot)."""
        totals = self.lots.groupby("asset_id", sort=False)["shares"].sum()
        return totals.reindex(asset_ids).fillna(0.0).to_numpy(dtype=float)

    def value(self, price: pd.Series) -> float:
        """Market value of the lots, USD, at ``price`` (USD per share by asset_id)."""
        return float(self.shares_by_asset(price.index) @ price.to_numpy(dtype=float))

    def weights(self, price: pd.Series) -> pd.Series:
        """Each asset's weight at ``price`` (fractions of the lots' value; 0 for names without a lot).

        Raises
        ------
        DataError
            A lot of an asset without a positive price in ``price``.
        """
        unknown = sorted(set(self.lots["asset_id"]) - set(price.index))
        if unknown:
            raise DataError(f"lots of asset(s) {unknown[:10]} have no price on this date")
        values = self.shares_by_asset(price.index) * price.to_numpy(dtype=float)
        held = values > 0
        if not np.all(np.isfinite(values[held])) or not values.sum() > 0:
            raise DataError("the lots have no positive market value on this date")
        return pd.Series(values / values.sum(), index=price.index, name="holdings")

    def tax_lots(self, as_of: pd.Timestamp, look_back_days: int) -> TaxLots:
        """The lots, with the trades of the last ``look_back_days`` calendar days as recent trades."""
        window = pd.Timestamp(as_of).normalize() - pd.Timedelta(days=look_back_days)
        log = self.trades
        recent = log[(log["date"] >= window) & (log["date"] <= as_of)]
        trades = recent.loc[:, ["asset_id", "date", "side", "realized_gain"]].reset_index(drop=True)
        return TaxLots(self.lots, trades, source=f"lots carried to {pd.Timestamp(as_of).date()}",
                       trades_source=f"trades of the {look_back_days} days to {pd.Timestamp(as_of).date()}")

    def after(
        self,
        date: pd.Timestamp,
        sold: pd.Series,
        bought: pd.Series,
        price: pd.Series,
        *,
        realized_gain: pd.Series,
        rate: pd.Series,
        term: pd.Series,
    ) -> LotLedger:
        """The ledger after one rebalance: lots minus ``sold`` plus ``bought``, the trades logged.

        Parameters
        ----------
        date : pd.Timestamp
            The trade date (new lots are acquired then).
        sold : pd.Series
            Shares sold, by ``lot_id`` (each at most the lot's shares; > 0).
        bought : pd.Series
            Shares bought, by ``asset_id`` (> 0): one new lot each, id ``<asset_id>@<date>``.
        price : pd.Series
            USD per share on ``date``, by asset_id.
        realized_gain, rate, term : pd.Series
            By ``lot_id`` of ``sold``: the realized gain (USD, as taxed), its rate and term.

        Raises
        ------
        DataError
            A sale from an unknown lot or of more shares than the lot holds.
        """
        day = pd.Timestamp(date).normalize()
        lots = self.lots.set_index("lot_id", drop=False)
        unknown = sold.index.difference(lots.index)
        if len(unknown):
            raise DataError(f"sale from unknown lot(s) {list(unknown[:5])} on {day.date()}")
        held = lots.loc[sold.index, "shares"].to_numpy(dtype=float)
        over = sold.to_numpy(dtype=float) - held
        if np.any(over > SHARE_DUST):
            worst = int(np.argmax(over))
            raise DataError(f"sale of {sold.iloc[worst]:g} shares from lot {sold.index[worst]!r} holding {held[worst]:g}")
        left = lots["shares"].copy()
        left.loc[sold.index] = held - sold.to_numpy(dtype=float)
        kept = lots.assign(shares=left)[left > SHARE_DUST].reset_index(drop=True)
        new_ids = [f"{a}@{day.date().isoformat()}" for a in bought.index]
        clash = set(new_ids) & set(kept["lot_id"])
        if clash:
            raise DataError(f"lot id(s) {sorted(clash)[:5]} already held: one buy per asset and date")
        buy_price = price.reindex(bought.index).to_numpy(dtype=float)
        new = pd.DataFrame(
            {"lot_id": new_ids, "asset_id": list(bought.index), "shares": bought.to_numpy(dtype=float),
             "cost_basis": buy_price, "acquired": day},
            columns=list(LOT_COLUMNS),
        )
        sold_assets = lots.loc[sold.index, "asset_id"]
        sells = pd.DataFrame(
            {
                "date": day, "asset_id": sold_assets.to_numpy(), "lot_id": list(sold.index), "side": "sell",
                "shares": sold.to_numpy(dtype=float), "price": price.reindex(sold_assets).to_numpy(dtype=float),
                "cost_basis": lots.loc[sold.index, "cost_basis"].to_numpy(dtype=float),
                "realized_gain": realized_gain.reindex(sold.index).to_numpy(dtype=float),
                "term": term.reindex(sold.index).to_numpy(), "rate": rate.reindex(sold.index).to_numpy(dtype=float),
            },
            columns=list(TRADE_LOG_COLUMNS),
        )
        sells["tax"] = sells["rate"] * sells["realized_gain"]
        buys = pd.DataFrame(
            {"date": day, "asset_id": list(bought.index), "lot_id": new_ids, "side": "buy",
             "shares": bought.to_numpy(dtype=float), "price": buy_price, "cost_basis": buy_price,
             "realized_gain": 0.0, "term": "", "rate": 0.0, "tax": 0.0},
            columns=list(TRADE_LOG_COLUMNS),
        )
        frames = [f for f in (self.trades, sells, buys) if len(f)]
        trades = pd.concat(frames, ignore_index=True) if frames else self.trades
        lots_after = pd.concat([kept.loc[:, list(LOT_COLUMNS)], new], ignore_index=True) if len(new) else kept.loc[:, list(LOT_COLUMNS)]
        return LotLedger(lots_after, trades)
