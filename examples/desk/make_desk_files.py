"""Write the example desk files for the embedded dataset: ``holdings.csv`` and ``prices.csv``.

A $1bn book holding the synthetic snapshot's current weights in whole shares, and a security
master with the snapshot's prices, round lots of 100 for every 50th name, the tickers, and
synthetic CUSIPs/ISINs with valid check digits (``99`` + 6 digits: not real securities).
Deterministic; run from the repository root: ``python examples/desk/make_desk_files.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from stdnum import cusip, isin

from trimtab import models

NAV = 1_000_000_000.0
HERE = Path(__file__).parent


def main() -> None:
    snapshot = models.load_synthetic_sp500()
    ids, prices = snapshot.asset_ids, snapshot.assets["price"]
    shares = np.floor(snapshot.holdings * NAV / prices).astype(np.int64)
    cusips = [(base := f"99{n:06d}") + cusip.calc_check_digit(base) for n in range(1, len(ids) + 1)]
    master = pd.DataFrame({
        "asset_id": ids,
        "price": prices.to_numpy(),
        "lot_size": np.where(np.arange(len(ids)) % 50 == 49, 100, 1),
        "ticker": snapshot.assets["ticker"].to_numpy(),
        "cusip": cusips,
        "isin": [f"US{c}" + isin.calc_check_digit(f"US{c}") for c in cusips],
    })
    pd.DataFrame({"asset_id": ids, "shares": shares.to_numpy()}).to_csv(HERE / "holdings.csv", index=False, lineterminator="\n")
    master.to_csv(HERE / "prices.csv", index=False, lineterminator="\n")
    print(f"cash to pass with --cash: {NAV - float(shares @ prices):.2f}")


if __name__ == "__main__":
    main()
