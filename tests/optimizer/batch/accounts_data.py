"""Synthetic separately managed accounts on the embedded dataset, for the batch tests and ``bench/bench_batch.py``.

``HOUSE_JOB`` is the default job (``examples/mag7_value_quality.yaml``) with every rule named,
so accounts can override them. :func:`make_accounts` draws ``n`` accounts around the
dataset's model holdings: each holds the MAG7 and a random 80 % of the other names, weights
perturbed (lognormal, σ 0.25) but the MAG7's total kept, NAV between $10m and $100m, shares
rounded down (the rest is cash, so ``cash`` is what the shares leave); about a third override ``turnover_cap.max`` or
``mag7_cap.max``, a fifth restrict one to three names. ``fully_invested=True`` gives accounts
without cash (NAV = the shares' value), so ``trimtab.optimize`` can solve each on its own.

:func:`make_lots` splits each account's holdings into one to three tax lots (whole shares, cost
bases around today's prices, bought 40 days to 5 years ago), and :data:`TAXES` is the line that
makes the house job tax-aware.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HOUSE_JOB = """\
name: house_rules
description: The default job with every rule named, so that accounts can override them.
data: {source: embedded, seed: 7}
risk_model: {method: fundamental, window: 756}
constraints:
  - group_weight: {group: MAG7, max: 0.20, name: mag7_cap}
  - factor_exposure: {factor: value, min: 0.25, name: value_tilt}
  - factor_exposure: {factor: quality, min: 0.25, name: quality_tilt}
  - turnover: {max: 0.30, kind: two_way, name: turnover_cap}
  - asset_weight: {max: benchmark + 0.02, name: active_cap}
solver: {name: CLARABEL, fallback: [SCS]}
"""


#: The ``taxes`` section of the tax-aware house job (lots per account given to the batch).
TAXES = "taxes: {weight: 1.0}\n"


def write_house_job(folder: Path, *, taxes: bool = False) -> Path:
    """``folder/house.yaml`` holding :data:`HOUSE_JOB` (with :data:`TAXES`: ``folder/house_taxed.yaml``)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ("house_taxed.yaml" if taxes else "house.yaml")
    path.write_text(HOUSE_JOB + (TAXES if taxes else ""))
    return path


def make_lots(snapshot, holdings: pd.DataFrame, *, seed: int = 0, gain_bias: float = 0.8) -> pd.DataFrame:
    """Tax lots of every account of a holdings table in shares: ``account_id, lot_id, asset_id, shares, cost_basis, acquired``.

    Each holding is split into one to three lots of whole shares (lot ids ``<asset_id>-<k>``); a lot's
    cost basis is today's price × U(gain_bias − 0.3, gain_bias + 0.3) (cents), bought 40 to 1,800 days
    before the as-of date (none inside a 30-day wash-sale window).
    """
    rng = np.random.default_rng(seed)
    price = snapshot.assets["price"]
    as_of = pd.Timestamp(snapshot.as_of).normalize()
    rows = []
    for account, asset, shares in holdings[["account_id", "asset_id", "shares"]].itertuples(index=False):
        shares = int(shares)
        k = min(int(rng.integers(1, 4)), shares)
        cuts = np.sort(rng.choice(np.arange(1, shares), size=k - 1, replace=False)) if k > 1 else np.array([], int)
        for j, part in enumerate(np.diff(np.concatenate([[0], cuts, [shares]]))):
            basis = round(float(price[asset] * rng.uniform(gain_bias - 0.3, gain_bias + 0.3)), 2)
            acquired = as_of - pd.Timedelta(days=int(rng.integers(40, 1800)))
            rows.append((account, f"{asset}-{j + 1}", asset, int(part), max(basis, 0.01), acquired.date().isoformat()))
    return pd.DataFrame(rows, columns=["account_id", "lot_id", "asset_id", "shares", "cost_basis", "acquired"])


def make_accounts(snapshot, n: int, *, seed: int = 0, fully_invested: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(accounts table, long holdings table in shares) for ``n`` accounts; see the module docstring."""
    rng = np.random.default_rng(seed)
    ids = snapshot.asset_ids.to_numpy()
    model = snapshot.holdings.to_numpy(dtype=float)
    prices = snapshot.assets["price"].to_numpy(dtype=float)
    mag7 = set(snapshot.groups["MAG7"])
    is_mag7 = np.isin(ids, list(mag7))
    others = [a for a in ids if a not in mag7]
    accounts, holdings = [], []
    for i in range(n):
        account = f"SMA{i:05d}"
        nav = float(rng.uniform(1e7, 1e8))
        keep = (rng.random(len(ids)) < 0.8) | is_mag7
        weights = np.where(keep, model * rng.lognormal(0.0, 0.25, len(ids)), 0.0)
        weights[is_mag7] *= model[is_mag7].sum() / weights[is_mag7].sum()  # the model's MAG7 weight
        weights[~is_mag7] *= (1 - model[is_mag7].sum()) / weights[~is_mag7].sum()
        shares = np.floor(weights * nav / prices)
        held = shares > 0
        value = float(shares @ prices)
        row: dict[str, object] = {"account_id": account, "cash": 0.0 if fully_invested else round(nav - value, 2)}
        draw = rng.random()
        if draw < 0.15:
            row["turnover_cap.max"] = round(float(rng.uniform(0.35, 0.6)), 4)
        elif draw < 0.3:
            row["mag7_cap.max"] = round(float(rng.uniform(0.19, 0.22)), 4)
        if rng.random() < 0.2:
            row["restricted"] = ";".join(rng.choice(others, size=int(rng.integers(1, 4)), replace=False))
        accounts.append(row)
        holdings += [(account, a, int(s)) for a, s in zip(ids[held], shares[held])]
    table = pd.DataFrame(accounts, columns=["account_id", "cash", "restricted", "turnover_cap.max", "mag7_cap.max"])
    table["restricted"] = table["restricted"].fillna("")
    return table, pd.DataFrame(holdings, columns=["account_id", "asset_id", "shares"])
