"""Loaders for the user's own data files: universe, daily returns and holdings → MarketSnapshot.

Files are CSV (``.csv``) or Parquet (``.parquet``, ``.pq``), chosen by suffix. Every problem
is reported as a :class:`DataError` naming the file, the column and the offending assets,
dates or values — never as a raw pandas/pyarrow traceback.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from ._characteristics import COMPOSITES, build_characteristics
from ._errors import DataError
from ._snapshot import WEIGHT_SUM_TOLERANCE, MarketSnapshot
from ._tables import read_table
from ._validation import (
    MAX_LISTED,
    NEGATIVE_WEIGHT_ROUNDOFF,
    asset_id_column,
    check_returns,
    finite_total,
    is_numeric_column,
    listing,
    parse_dates,
    refuse,
    require,
    text,
    to_float,
    to_float_array,
)

#: Universe columns kept as text (never standardized as characteristics).
IDENTIFIER_COLUMNS = ("ticker", "cusip", "isin", "sedol", "figi")

#: Total market capitalization (USD) assumed when the universe gives ``benchmark_weight`` but no
#: ``market_cap``: ``market_cap = benchmark_weight × NOMINAL_TOTAL_MARKET_CAP``, roughly the
#: size of the S&P 500. Only relative caps are meaningful then.
NOMINAL_TOTAL_MARKET_CAP = 50e12

_UNIVERSE_COLUMNS = ("asset_id", "sector", "market_cap", "benchmark_weight", "price", "adv")

StrPath = str | PathLike[str]


def load_snapshot(
    universe: StrPath,
    returns: StrPath,
    holdings: StrPath | None = None,
    *,
    groups: Mapping[str, Iterable[str]] | None = None,
    dataset: str | None = None,
) -> MarketSnapshot:
    """Build a :class:`MarketSnapshot` from the user's universe, returns and holdings files.

    Parameters
    ----------
    universe : str or Path
        One row per asset. Columns: ``asset_id`` (unique) and ``sector`` (required);
        ``market_cap`` (USD, finite and > 0) and/or ``benchmark_weight`` (finite, ≥ 0, not
        all 0) (at least one; the benchmark is ``benchmark_weight`` normalized to sum to 1 if
        given, else ``market_cap / Σ market_cap``; a column whose sum overflows is refused;
        without ``market_cap`` it is set to ``benchmark_weight × NOMINAL_TOTAL_MARKET_CAP``);
        optional ``price`` (USD per share) and ``adv`` (shares per day), finite and > 0 where
        given, NaN when blank or absent;
        identifier columns (``ticker``, ``cusip``, ``isin``, ``sedol``, ``figi``) kept as text.
        Every other numeric column is a raw fundamental: ``value``/``quality`` composites are
        built from their descriptors (or a ready-made ``value``/``quality`` column is
        re-standardized) and every numeric column is standardized to σ units (benchmark
        exposure 0). Other text columns are kept in ``assets`` as given.
    returns : str or Path
        Wide table of daily simple returns (fractions): a ``date`` column (any case; for
        Parquet also a date index) and one column per ``asset_id``. Every universe asset must
        have a column; columns of other assets are dropped (and not validated). Dates are
        text (``2024-01-02``), a date/datetime type or integers ``YYYYMMDD`` (floats and other
        all-digit values are refused, never guessed), one row per calendar day, rows in any
        order (sorted here). Every return must be finite and within
        ``[MIN_DAILY_RETURN, MAX_DAILY_RETURN] = [−1, 10]`` (−100 % to +1000 % in a day).
    holdings : str or Path, optional
        ``asset_id`` and either ``weight`` (fraction of NAV) or ``shares`` (converted with the
        universe ``price``; NAV is then the value of the listed positions). Universe assets
        not listed hold 0. Positions are long: negative shares or weights (below −1e-12) are
        refused. Weights must sum to 1 within 1e-6 and are never renormalized.
        Without a holdings file the portfolio is taken to hold the benchmark, so turnover is
        measured from the benchmark.
    groups : mapping of str to list of str, optional
        Named asset groups, e.g. ``{"MAG7": ["AAPL", ...]}``.
    dataset : str, optional
        Name copied into every output; default
        ``"files: universe=<name> returns=<name> (sha256 <12 hex>)"`` over the files' content.

    Returns
    -------
    MarketSnapshot
        Assets sorted by ``asset_id``; ``as_of`` is the last return date.

    Raises
    ------
    DataError
        For any missing, unreadable, malformed, implausible or inconsistent input, naming
        the file and the offending assets, dates or rows (limits: :mod:`._validation`).
    """
    upath, rpath = Path(universe), Path(returns)
    hpath = None if holdings is None else Path(holdings)
    assets, benchmark, fundamentals = _load_universe(upath)
    try:
        characteristics = build_characteristics(
            fundamentals,
            benchmark,
            extra_columns=tuple(c for c in fundamentals.columns if c not in COMPOSITES),
        )
    except DataError as exc:
        raise DataError(f"universe file {upath}: {exc}") from None
    returns_frame = _load_returns(rpath, assets.index)
    weights = benchmark.copy() if hpath is None else _load_holdings(hpath, assets)
    group_map = _check_groups(groups, assets.index, upath)
    if dataset is None:
        dataset = _default_dataset_name(upath, rpath, hpath)
    return MarketSnapshot(
        dataset=dataset,
        as_of=pd.Timestamp(returns_frame.index[-1]),
        assets=assets,
        benchmark_weights=benchmark.rename("benchmark_weight"),
        holdings=weights.rename("holding"),
        characteristics=characteristics,
        returns=returns_frame,
        groups=group_map,
    )


def prices_to_returns(prices: pd.DataFrame) -> pd.DataFrame:
    """Daily simple returns from prices: ``r_t = p_t / p_{t-1} − 1`` (first row dropped).

    Parameters
    ----------
    prices : pd.DataFrame
        Prices (any currency, e.g. USD per share), dates × assets; sorted by date here.

    Returns
    -------
    pd.DataFrame
        Simple returns (fractions), one row fewer than ``prices``. A missing price gives a
        missing return, which :func:`load_snapshot` rejects.

    Raises
    ------
    DataError
        If ``prices`` is not a DataFrame of numbers with two dates or more, or a present
        price is zero, negative or infinite (naming the asset and the date).
    """
    if not isinstance(prices, pd.DataFrame):
        raise DataError(f"prices must be a pandas DataFrame (dates × assets), got {type(prices).__name__}")
    if len(prices) < 2:
        raise DataError(f"prices need at least two dates to form a return, got {len(prices)}")
    try:
        values = prices.sort_index().astype(float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"prices must be numbers (USD per share): {exc}") from None
    array = values.to_numpy()
    rows, cols = np.nonzero(~np.isnan(array) & ~(np.isfinite(array) & (array > 0)))
    if len(rows):
        shown = [
            f"{values.columns[c]} on {_day(values.index[r])}: {array[r, c]:g}"
            for r, c in zip(rows[:MAX_LISTED], cols[:MAX_LISTED])
        ]
        raise DataError(
            f"prices must be positive and finite (a missing price gives a missing return); "
            f"offending {listing(shown, len(rows))}"
        )
    return (values / values.shift(1) - 1.0).iloc[1:]


def _day(label: object) -> str:
    """A row label as a day (``2024-01-02``) when it is a timestamp, else as given."""
    return str(label.date()) if isinstance(label, pd.Timestamp) else str(label)


def _load_universe(path: Path) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """Return (assets, benchmark weights, raw numeric fundamentals), sorted by asset_id."""
    role, where = "universe", f"universe file {path}"
    frame = read_table(path, role, text_columns=("asset_id", "sector", *IDENTIFIER_COLUMNS))
    missing = [c for c in ("asset_id", "sector") if c not in frame.columns]
    if "market_cap" not in frame.columns and "benchmark_weight" not in frame.columns:
        missing.append("market_cap and/or benchmark_weight")
    require(frame, path, role, missing, "asset_id, sector, and market_cap and/or benchmark_weight")
    if frame.empty:
        raise DataError(f"{where}: has no rows")

    ids = asset_id_column(frame, where)
    frame = frame.set_axis(pd.Index(ids.tolist(), name="asset_id"), axis=0).drop(columns="asset_id").sort_index()

    def bad(mask: pd.Series, column: str, rule: str) -> None:
        if mask.any():
            refuse(mask, frame[column], where, column, rule)

    sector = text(frame["sector"])
    bad(sector.isna(), "sector", "given for every asset")
    columns: dict[str, pd.Series] = {"sector": sector}
    numeric = {c: to_float(frame[c], where) for c in ("market_cap", "benchmark_weight", "price", "adv") if c in frame}
    if "market_cap" in numeric:
        cap = numeric["market_cap"]
        bad(~np.isfinite(cap) | (cap <= 0), "market_cap", "a positive, finite number (USD) for every asset")
        cap_total = finite_total(cap, where, "market_cap")
    if "benchmark_weight" in numeric:
        raw = numeric["benchmark_weight"]
        bad(~np.isfinite(raw) | (raw < 0), "benchmark_weight", "a non-negative, finite number for every asset")
        if finite_total(raw, where, "benchmark_weight") <= 0:
            raise DataError(f"{where}: column 'benchmark_weight' sums to 0; at least one asset needs weight")
        benchmark = raw / raw.sum()
    else:
        benchmark = numeric["market_cap"] / cap_total
    columns["market_cap"] = numeric.get("market_cap", benchmark * NOMINAL_TOTAL_MARKET_CAP)
    for column, unit in (("price", "USD per share"), ("adv", "shares per day")):
        values = numeric.get(column, pd.Series(np.nan, index=frame.index))
        rule = f"positive and finite ({unit}) where given (blank if unknown)"
        bad(values.notna() & ~(np.isfinite(values) & (values > 0)), column, rule)
        columns[column] = values

    fundamentals: dict[str, pd.Series] = {}
    for column in frame.columns:
        if column in _UNIVERSE_COLUMNS:
            continue
        if column in IDENTIFIER_COLUMNS or not is_numeric_column(frame[column]):
            columns[column] = text(frame[column])
        else:
            columns[column] = fundamentals[column] = to_float(frame[column], where)
    assets = pd.DataFrame(columns, index=frame.index)
    return assets, benchmark.astype(float), pd.DataFrame(fundamentals, index=frame.index)


def _load_returns(path: Path, asset_ids: pd.Index) -> pd.DataFrame:
    """Daily simple returns, sorted dates × asset_ids (in ``asset_ids`` order)."""
    role, where = "returns", f"returns file {path}"
    frame = read_table(path, role, text_columns=("date", "Date", "DATE"))
    date_columns = [c for c in frame.columns if c.lower() == "date"]
    if len(date_columns) != 1:
        raise DataError(
            f"{where}: needs exactly one 'date' column (or a date index in Parquet); "
            f"found columns: {list(frame.columns)[:MAX_LISTED + 1]}"
        )
    missing = [a for a in asset_ids if a not in frame.columns]
    if missing:
        raise DataError(f"{where}: no return column for universe asset(s) {listing(missing)}")
    if frame.empty:
        raise DataError(f"{where}: has no rows")

    dates = parse_dates(frame[date_columns[0]], where)
    order = np.argsort(dates.to_numpy(), kind="stable")  # rows in any order: sorted by date
    index = dates[order]
    body = frame[list(asset_ids)].iloc[order]
    labels = pd.Index([d.date().isoformat() for d in index])
    values = to_float_array(body, labels, where)
    check_returns(values, index, asset_ids, where)
    return pd.DataFrame(values, index=index, columns=asset_ids)


def _load_holdings(path: Path, assets: pd.DataFrame) -> pd.Series:
    """Current weights (fractions of NAV) by asset_id, 0 for universe assets not held."""
    role, where = "holdings", f"holdings file {path}"
    frame = read_table(path, role, text_columns=("asset_id",))
    has = [c for c in ("weight", "shares") if c in frame.columns]
    missing = [c for c in ("asset_id",) if c not in frame.columns] + ([] if has else ["weight or shares"])
    require(frame, path, role, missing, "asset_id, and weight (fraction of NAV) or shares")
    if len(has) == 2:
        raise DataError(f"{where}: has both 'weight' and 'shares' columns; keep exactly one")
    column = has[0]

    ids = asset_id_column(frame, where)
    unknown = sorted(set(ids) - set(assets.index))
    if unknown:
        raise DataError(f"{where}: asset_id(s) not in the universe {listing(unknown)}")

    values = to_float(frame[column].set_axis(ids.tolist()), where)
    nonfinite = values.index[~np.isfinite(values)].tolist()
    if nonfinite:
        raise DataError(f"{where}: column {column!r} is missing or not finite for {listing(nonfinite)}")
    floor = 0.0 if column == "shares" else -NEGATIVE_WEIGHT_ROUNDOFF
    refuse(
        values < floor, values, where, column,
        "≥ 0: holdings are long positions (short positions are not supported)",
    )
    if column == "shares":
        values = _share_weights(values, assets["price"], where)
    weights = values.reindex(assets.index, fill_value=0.0)
    total = float(weights.sum())
    if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
        hint = "; they look like percent: divide by 100" if abs(total - 100.0) <= 100 * WEIGHT_SUM_TOLERANCE else ""
        raise DataError(
            f"{where}: column {column!r} sums to {total:.8f}, expected 1 within {WEIGHT_SUM_TOLERANCE:g} "
            f"(fractions of NAV; weights are not renormalized){hint}"
        )
    return weights


def _share_weights(shares: pd.Series, prices: pd.Series, where: str) -> pd.Series:
    """Weights (fractions of NAV) of share counts valued at the universe prices (USD)."""
    price = prices.reindex(shares.index)
    unpriced = shares.index[(shares != 0) & ~np.isfinite(price)].tolist()
    if unpriced:
        raise DataError(f"{where}: column 'shares' needs the universe 'price' of held asset(s) {listing(unpriced)}")
    with np.errstate(over="ignore"):
        position = (shares * price.where(shares != 0, 0.0)).astype(float)
    overflow = position.index[~np.isfinite(position)].tolist()
    if overflow:
        raise DataError(
            f"{where}: column 'shares' × the universe 'price' overflows the floating-point range for "
            f"{listing(overflow)}; share counts or prices this large are a data error"
        )
    total = finite_total(position.rename("shares × price"), where, "shares × price")
    if not total > 0:
        raise DataError(f"{where}: column 'shares' gives a total position value of {total:g} USD; need > 0")
    return position / total


def _check_groups(
    groups: Mapping[str, Iterable[str]] | None, asset_ids: pd.Index, universe: Path
) -> dict[str, tuple[str, ...]]:
    if groups is None:
        return {}
    if not isinstance(groups, Mapping):
        raise DataError(f"groups must be a mapping of group name to asset_ids, got {type(groups).__name__}")
    known = set(asset_ids)
    out: dict[str, tuple[str, ...]] = {}
    for name, members in groups.items():
        if isinstance(members, str) or not isinstance(members, Iterable):
            raise DataError(f"groups: group {name!r} must be a list of asset_ids, got {members!r}")
        members = tuple(str(m) for m in members)
        unknown = sorted(set(members) - known)
        if unknown:
            raise DataError(
                f"groups: group {name!r} lists asset_id(s) not in the universe file {universe}: {listing(unknown)}"
            )
        out[str(name)] = members
    return out


def _default_dataset_name(universe: Path, returns: Path, holdings: Path | None) -> str:
    """``files: universe=<name> returns=<name> [holdings=<name>] (sha256 <12 hex>)``."""
    combined = hashlib.sha256()
    for path in (universe, returns, holdings):
        if path is not None:
            with path.open("rb") as handle:
                combined.update(hashlib.file_digest(handle, "sha256").digest())
    parts = f"universe={universe.name} returns={returns.name}"
    if holdings is not None:
        parts += f" holdings={holdings.name}"
    return f"files: {parts} (sha256 {combined.hexdigest()[:12]})"
