"""The universe file: one row per asset → the asset table, the benchmark weights and raw fundamentals.

Columns (CSV, compressed CSV or Parquet): ``asset_id`` (unique) and ``sector`` (required);
``market_cap`` (USD, finite and > 0) and/or ``benchmark_weight`` (finite, ≥ 0, not all 0) —
at least one unless the benchmark comes from a point-in-time file; optional ``price`` (USD
per share) and ADV as ``adv`` (shares per day) **or** ``adv_usd`` (USD per day, converted to
shares with ``price``: ``adv = adv_usd / price``); identifier columns kept as text; every other
numeric column is a raw fundamental (a characteristic).

Without ``market_cap`` the asset table's ``market_cap`` is missing (NaN) — never invented
from the weights: whatever needs caps (``group_weight`` by cap, the fundamental model's
size style and √cap regression weights, a cap-weighted benchmark) raises a
:class:`DataError` naming the column (:attr:`MarketSnapshot.market_caps`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import DataError
from ._tables import read_table
from ._validation import asset_id_column, finite_total, is_numeric_column, refuse, require, text, to_float

#: Universe columns kept as text (never standardized as characteristics).
IDENTIFIER_COLUMNS = ("ticker", "cusip", "isin", "sedol", "figi")

#: Universe columns with a fixed meaning (not characteristics).
UNIVERSE_COLUMNS = ("asset_id", "sector", "market_cap", "benchmark_weight", "price", "adv", "adv_usd")


def load_universe(path: Path, *, benchmark_required: bool = True) -> tuple[pd.DataFrame, pd.Series | None, pd.DataFrame]:
    """Read a universe file (module docstring).

    Parameters
    ----------
    path : Path
        The file.
    benchmark_required : bool, default True
        Whether the universe must give the benchmark (``market_cap`` and/or
        ``benchmark_weight``); False when a point-in-time benchmark file gives it.

    Returns
    -------
    assets : pd.DataFrame
        Indexed by ``asset_id`` (sorted): ``sector``, ``market_cap`` (USD, NaN without the
        column), ``price`` (USD per share), ``adv`` (shares per day) — NaN where unknown —
        and the other columns.
    benchmark : pd.Series or None
        ``benchmark_weight`` normalized to sum to 1 if given, else ``market_cap / Σ
        market_cap``; None when the universe gives neither.
    fundamentals : pd.DataFrame
        The raw numeric characteristic columns.

    Raises
    ------
    DataError
        Naming the file, the column and the offending assets.
    """
    role, where = "universe", f"universe file {path}"
    frame = read_table(path, role, text_columns=("asset_id", "sector", *IDENTIFIER_COLUMNS))
    missing = [c for c in ("asset_id", "sector") if c not in frame.columns]
    if benchmark_required and "market_cap" not in frame.columns and "benchmark_weight" not in frame.columns:
        missing.append("market_cap and/or benchmark_weight")
    require(frame, path, role, missing, "asset_id, sector, and market_cap and/or benchmark_weight")
    if frame.empty:
        raise DataError(f"{where}: has no rows")
    if "adv" in frame.columns and "adv_usd" in frame.columns:
        raise DataError(f"{where}: has both 'adv' (shares per day) and 'adv_usd' (USD per day) columns; keep exactly one")

    ids = asset_id_column(frame, where)
    frame = frame.set_axis(pd.Index(ids.tolist(), name="asset_id"), axis=0).drop(columns="asset_id").sort_index()

    def bad(mask: pd.Series, column: str, rule: str) -> None:
        if mask.any():
            refuse(mask, frame[column], where, column, rule)

    sector = text(frame["sector"])
    bad(sector.isna(), "sector", "given for every asset")
    columns: dict[str, pd.Series] = {"sector": sector}
    numeric = {c: to_float(frame[c], where) for c in ("market_cap", "benchmark_weight", "price", "adv", "adv_usd") if c in frame}
    benchmark = None
    if "market_cap" in numeric:
        cap = numeric["market_cap"]
        bad(~np.isfinite(cap) | (cap <= 0), "market_cap", "a positive, finite number (USD) for every asset")
        benchmark = cap / finite_total(cap, where, "market_cap")
    if "benchmark_weight" in numeric:
        raw = numeric["benchmark_weight"]
        bad(~np.isfinite(raw) | (raw < 0), "benchmark_weight", "a non-negative, finite number for every asset")
        if finite_total(raw, where, "benchmark_weight") <= 0:
            raise DataError(f"{where}: column 'benchmark_weight' sums to 0; at least one asset needs weight")
        benchmark = raw / raw.sum()
    columns["market_cap"] = numeric.get("market_cap", pd.Series(np.nan, index=frame.index))
    for column, unit in (("price", "USD per share"), ("adv", "shares per day"), ("adv_usd", "USD per day")):
        values = numeric.get(column, pd.Series(np.nan, index=frame.index))
        rule = f"positive and finite ({unit}) where given (blank if unknown)"
        bad(values.notna() & ~(np.isfinite(values) & (values > 0)), column, rule)
        columns[column] = values
    adv_usd = columns.pop("adv_usd")
    if "adv_usd" in numeric:
        columns["adv"] = _adv_in_shares(adv_usd, columns["price"], "price" in numeric, where)

    fundamentals: dict[str, pd.Series] = {}
    for column in frame.columns:
        if column in UNIVERSE_COLUMNS:
            continue
        if column in IDENTIFIER_COLUMNS or not is_numeric_column(frame[column]):
            columns[column] = text(frame[column])
        else:
            columns[column] = fundamentals[column] = to_float(frame[column], where)
    assets = pd.DataFrame(columns, index=frame.index)
    benchmark = None if benchmark is None else benchmark.astype(float)
    return assets, benchmark, pd.DataFrame(fundamentals, index=frame.index)


def _adv_in_shares(adv_usd: pd.Series, price: pd.Series, has_price: bool, where: str) -> pd.Series:
    """ADV in shares per day from ADV in USD per day: ``adv_usd / price``; refused without a price."""
    if not has_price:
        raise DataError(
            f"{where}: column 'adv_usd' (USD per day) needs a 'price' column (USD per share) to convert ADV to "
            "shares; add 'price', or give 'adv' in shares per day instead"
        )
    unpriced = adv_usd.index[adv_usd.notna() & price.isna()].tolist()
    if unpriced:
        shown = ", ".join(unpriced[:10]) + (f", ... ({len(unpriced)} in all)" if len(unpriced) > 10 else "")
        raise DataError(
            f"{where}: column 'adv_usd' is given without a 'price' for [{shown}]; both columns are needed to "
            "convert ADV to shares (adv = adv_usd / price)"
        )
    return (adv_usd / price).rename("adv")
