"""Deterministic synthetic tax lots for a snapshot with a price history (the embedded dataset).

Each held name's position (holding × NAV / price, in whole shares) is split into one to four
lots bought on past trading days of the snapshot's own return history, at the price implied
by that history (``price_t = price_as_of / Π(1 + r)`` over the days after ``t``). So, as in a
real account, some lots carry gains, some losses, and a few were bought within the last
month (short-term, inside the wash-sale window). The same snapshot, NAV and seed give the
same lots, byte for byte.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._errors import DataError
from ._lots import TaxLots
from ._snapshot import MarketSnapshot

__all__ = ["MAX_SYNTHETIC_LOTS", "SYNTHETIC_LOTS_NAV", "synthetic_lots"]

#: NAV of the synthetic account, USD.
SYNTHETIC_LOTS_NAV = 1e9

#: Each held name gets 1 to this many lots.
MAX_SYNTHETIC_LOTS = 4

#: Entropy tag of the lots' random stream (apart from the snapshot's own streams).
_LOTS_STREAM = 0x4C4F_5453


def synthetic_lots(snapshot: MarketSnapshot, *, nav: float = SYNTHETIC_LOTS_NAV, seed: int = 7) -> TaxLots:
    """Synthetic lots whose shares add up to the snapshot's holdings at ``nav``.

    Parameters
    ----------
    snapshot : MarketSnapshot
        Prices (USD per share), holdings (fractions of NAV) and daily returns (the history
        the purchase prices are read from).
    nav : float
        Net asset value of the account, USD.
    seed : int
        Seed of the lots' draw (the dataset's seed by convention).

    Returns
    -------
    TaxLots
        Lot ids ``<asset_id>-<k>``, whole shares, cost basis in USD per share (cents), no
        recent trades; ``source`` says the lots are synthetic.

    Raises
    ------
    DataError
        When ``nav`` is not positive or a held name has no positive price.
    """
    if not nav > 0:
        raise DataError(f"the synthetic lots need a positive NAV, got {nav!r}")
    rng = np.random.default_rng([seed, _LOTS_STREAM])
    returns = snapshot.returns.to_numpy(dtype=float)
    dates = snapshot.returns.index
    # growth[t, i]: Π (1 + r) over the days after t, so price_t = price_as_of / growth[t].
    growth = np.flipud(np.cumprod(np.flipud(1.0 + returns), axis=0))
    growth = np.vstack([growth[1:], np.ones((1, growth.shape[1]))])
    prices = snapshot.assets["price"].to_numpy(dtype=float)
    holdings = snapshot.holdings.to_numpy(dtype=float)
    rows: list[tuple[str, str, float, float, pd.Timestamp]] = []
    for i in np.flatnonzero(holdings > 0):
        asset = str(snapshot.asset_ids[i])
        if not (np.isfinite(prices[i]) and prices[i] > 0):
            raise DataError(f"{snapshot.dataset}: held asset {asset} has no positive price for its synthetic lots")
        # whole shares rounded down, as the example desk book (examples/desk) holds them, so its
        # holdings file is the sum of these lots and a tax-aware run of the embedded data exports
        total = max(int(np.floor(holdings[i] * nav / prices[i])), 1)
        count = int(min(rng.integers(1, MAX_SYNTHETIC_LOTS + 1), total))
        days = np.sort(rng.choice(len(dates), size=count, replace=False))
        split = np.floor(rng.dirichlet(np.ones(count)) * total)
        split[-1] += total - split.sum()
        for k, (day, shares) in enumerate(zip(days, split)):
            if shares <= 0:
                continue
            basis = round(float(prices[i] / growth[day, i]), 2)
            rows.append((f"{asset}-{k + 1}", asset, float(shares), max(basis, 0.01), dates[day].normalize()))
    lots = pd.DataFrame(rows, columns=["lot_id", "asset_id", "shares", "cost_basis", "acquired"])
    return TaxLots(lots, source=f"synthetic lots of {snapshot.dataset} (NAV ${nav:,.0f}, seed {seed})")
