"""Export tests never touch the real home: the state directory (send journals, FIX session files) is per test."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    """``TRIMTAB_STATE_DIR`` set to a fresh ``tmp_path/state`` (journals in ``…/journal``)."""
    where = tmp_path / "state"
    monkeypatch.setenv("TRIMTAB_STATE_DIR", str(where))
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    return where


@pytest.fixture(scope="session")
def small_desk(tmp_path_factory):
    """A run of the default job and a desk book at its target but for five names: exporting it gives 5 BUY orders.

    Returns a dict: ``run``, ``holdings``, ``prices`` (paths; prices carry a ``ticker`` = asset id), ``args``
    (the ``--nav`` / ``--cash`` options that make the export exact) and ``tickers`` (every ticker, for the OMS).
    """
    import numpy as np
    import pandas as pd

    from trimtab import optimizer
    from trimtab.constraints import load_job

    root = tmp_path_factory.mktemp("small_desk")
    job = load_job(Path(__file__).parents[3] / "examples" / "mag7_value_quality.yaml")
    result = optimizer.optimize(job)
    optimizer.write_run(result, root / "run")
    snapshot = optimizer.load_market_data(job)
    prices = snapshot.assets["price"]
    nav = 1e8
    weights = result.weights.reindex(prices.index, fill_value=0.0)
    shares = np.round(weights * nav / prices).astype(np.int64)
    new = weights.sort_values(ascending=False).index[10:15]  # five mid-sized names bought from scratch
    shares.loc[new] = 0
    pd.DataFrame({"asset_id": prices.index, "shares": shares.to_numpy()}).to_csv(root / "holdings.csv", index=False)
    master = pd.DataFrame({"asset_id": prices.index, "price": prices.to_numpy(), "ticker": prices.index})
    master.to_csv(root / "prices.csv", index=False)
    cash = nav - float(shares @ prices)
    return {"run": root / "run", "holdings": root / "holdings.csv", "prices": root / "prices.csv",
            "args": ["--nav", repr(nav), "--cash", repr(cash)], "tickers": set(prices.index), "new": list(new)}
