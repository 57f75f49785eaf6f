"""Loaders for the user's own data files: universe, daily returns and holdings → MarketSnapshot.

Files are CSV (``.csv``) or Parquet (``.parquet``, ``.pq``), chosen by suffix. Every problem
is reported as a :class:`DataError` naming the file, the column and the offending assets,
dates or values — never as a raw pandas/pyarrow traceback.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterable, Mapping
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from ._characteristics import COMPOSITES, build_characteristics
from ._errors import DataError, nonfinite_cells
from ._snapshot import WEIGHT_SUM_TOLERANCE, MarketSnapshot
from ._tables import read_table

#: Universe columns kept as text (never standardized as characteristics).
IDENTIFIER_COLUMNS = ("ticker", "cusip", "isin", "sedol", "figi")

#: Total market capitalization (USD) assumed when the universe gives ``benchmark_weight`` but no
#: ``market_cap``: ``market_cap = benchmark_weight × NOMINAL_TOTAL_MARKET_CAP``, roughly the
#: size of the S&P 500. Only relative caps are meaningful then.
NOMINAL_TOTAL_MARKET_CAP = 50e12

_UNIVERSE_COLUMNS = ("asset_id", "sector", "market_cap", "benchmark_weight", "price", "adv")
_MAX_LISTED = 10

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
        ``market_cap`` (USD) and/or ``benchmark_weight`` (at least one; the benchmark is
        ``benchmark_weight`` normalized to sum to 1 if given, else ``market_cap / Σ market_cap``;
        without ``market_cap`` it is set to ``benchmark_weight × NOMINAL_TOTAL_MARKET_CAP``);
        optional ``price`` (USD per share) and ``adv`` (shares per day), NaN when absent;
        identifier columns (``ticker``, ``cusip``, ``isin``, ``sedol``, ``figi``) kept as text.
        Every other numeric column is a raw fundamental: ``value``/``quality`` composites are
        built from their descriptors (or a ready-made ``value``/``quality`` column is
        re-standardized) and every numeric column is standardized to σ units (benchmark
        exposure 0). Other text columns are kept in ``assets`` as given.
    returns : str or Path
        Wide table of daily simple returns (fractions): a ``date`` column (any case; for
        Parquet also a date index) and one column per ``asset_id``. Every universe asset must
        have a column; columns of other assets are dropped (and not validated).
    holdings : str or Path, optional
        ``asset_id`` and either ``weight`` (fraction of NAV) or ``shares`` (converted with the
        universe ``price``; NAV is then the value of the listed positions). Universe assets
        not listed hold 0. Weights must sum to 1 within 1e-6 and are never renormalized.
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
        For any missing, unreadable, malformed or inconsistent input.
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
    """
    if not isinstance(prices, pd.DataFrame):
        raise DataError(f"prices must be a pandas DataFrame (dates × assets), got {type(prices).__name__}")
    if len(prices) < 2:
        raise DataError(f"prices need at least two dates to form a return, got {len(prices)}")
    values = prices.sort_index().astype(float)
    nonpositive = values.columns[(values <= 0).any()].tolist()
    if nonpositive:
        raise DataError(f"prices must be positive; non-positive prices for {nonpositive[:_MAX_LISTED]}")
    return (values / values.shift(1) - 1.0).iloc[1:]


def _require(frame: pd.DataFrame, path: Path, role: str, missing: list[str], required: str) -> None:
    if missing:
        raise DataError(
            f"{role} file {path}: missing required column(s) {missing}; required: {required}; "
            f"found: {list(frame.columns)}"
        )


def _listing(items: Iterable[object]) -> str:
    items = list(items)
    shown = ", ".join(str(i) for i in items[:_MAX_LISTED])
    return f"[{shown}, ...] ({len(items)} in all)" if len(items) > _MAX_LISTED else f"[{shown}]"


def _text(values: pd.Series) -> pd.Series:
    """Values as stripped strings (integral floats without ``.0``); missing stays missing."""

    def one(value: object) -> str | None:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value).strip() or None

    return pd.Series([one(v) for v in values], index=values.index, name=values.name)


def _to_float(values: pd.Series, where: str) -> pd.Series:
    """Convert a column to float; cells that are present but not numbers raise DataError."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values.astype(float)
    coerced = pd.to_numeric(values, errors="coerce")
    bad = values.notna() & coerced.isna()
    if bad.any():
        examples = [f"{label}: {value!r}" for label, value in values[bad].items()]
        raise DataError(
            f"{where}: column {values.name!r} has {int(bad.sum())} non-numeric value(s), "
            f"e.g. {_listing(examples)}"
        )
    return coerced.astype(float)


def _asset_ids(frame: pd.DataFrame, where: str) -> pd.Series:
    """The ``asset_id`` column as text; blank or duplicate ids raise DataError."""
    ids = _text(frame["asset_id"])
    blank = (ids.index[ids.isna()] + 1).tolist()
    if blank:
        raise DataError(f"{where}: column 'asset_id' is empty in data row(s) {_listing(blank)}")
    duplicated = sorted(set(ids[ids.duplicated()]))
    if duplicated:
        raise DataError(f"{where}: column 'asset_id' has duplicate value(s) {_listing(duplicated)}")
    return ids


def _is_numeric_column(values: pd.Series) -> bool:
    """True for numeric columns and text columns whose every present cell is a number."""
    present = values.notna()
    if not present.any():
        return False  # an empty column (e.g. blank notes) is kept as text, not a characteristic
    if pd.api.types.is_numeric_dtype(values.dtype):
        return True
    parsed = pd.to_numeric(values, errors="coerce").notna() & present
    return bool(parsed.any())  # a mixed text/number column then fails in _to_float


def _load_universe(path: Path) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """Return (assets, benchmark weights, raw numeric fundamentals), sorted by asset_id."""
    role, where = "universe", f"universe file {path}"
    frame = read_table(path, role, text_columns=("asset_id", "sector", *IDENTIFIER_COLUMNS))
    missing = [c for c in ("asset_id", "sector") if c not in frame.columns]
    if "market_cap" not in frame.columns and "benchmark_weight" not in frame.columns:
        missing.append("market_cap and/or benchmark_weight")
    _require(frame, path, role, missing, "asset_id, sector, and market_cap and/or benchmark_weight")
    if frame.empty:
        raise DataError(f"{where}: has no rows")

    ids = _asset_ids(frame, where)
    frame = frame.set_axis(pd.Index(ids.tolist(), name="asset_id"), axis=0).drop(columns="asset_id").sort_index()

    def bad(mask: pd.Series, column: str, rule: str) -> None:
        if mask.any():
            shown = [f"{a}: {v!r}" for a, v in frame.loc[mask, column].items()]
            raise DataError(f"{where}: column {column!r} must be {rule}; offending asset(s) {_listing(shown)}")

    sector = _text(frame["sector"])
    bad(sector.isna(), "sector", "given for every asset")
    columns: dict[str, pd.Series] = {"sector": sector}
    numeric = {c: _to_float(frame[c], where) for c in ("market_cap", "benchmark_weight", "price", "adv") if c in frame}
    if "market_cap" in numeric:
        cap = numeric["market_cap"]
        bad(~np.isfinite(cap) | (cap <= 0), "market_cap", "a positive number (USD) for every asset")
    if "benchmark_weight" in numeric:
        raw = numeric["benchmark_weight"]
        bad(~np.isfinite(raw) | (raw < 0), "benchmark_weight", "a non-negative number for every asset")
        if raw.sum() <= 0:
            raise DataError(f"{where}: column 'benchmark_weight' sums to 0; at least one asset needs weight")
        benchmark = raw / raw.sum()
    else:
        benchmark = numeric["market_cap"] / numeric["market_cap"].sum()
    columns["market_cap"] = numeric.get("market_cap", benchmark * NOMINAL_TOTAL_MARKET_CAP)
    for column, rule in (("price", "positive (USD per share)"), ("adv", "non-negative (shares per day)")):
        values = numeric.get(column, pd.Series(np.nan, index=frame.index))
        limit_ok = values > 0 if column == "price" else values >= 0
        bad(values.notna() & ~(np.isfinite(values) & limit_ok), column, f"{rule} where given")
        columns[column] = values

    fundamentals: dict[str, pd.Series] = {}
    for column in frame.columns:
        if column in _UNIVERSE_COLUMNS:
            continue
        if column in IDENTIFIER_COLUMNS or not _is_numeric_column(frame[column]):
            columns[column] = _text(frame[column])
        else:
            columns[column] = fundamentals[column] = _to_float(frame[column], where)
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
            f"found columns: {list(frame.columns)[:_MAX_LISTED + 1]}"
        )
    missing = [a for a in asset_ids if a not in frame.columns]
    if missing:
        raise DataError(f"{where}: no return column for universe asset(s) {_listing(missing)}")
    if frame.empty:
        raise DataError(f"{where}: has no rows")

    raw_dates = frame[date_columns[0]]
    if pd.api.types.is_integer_dtype(raw_dates.dtype):  # e.g. 20221228, not ns since 1970
        raw_dates = raw_dates.astype(str)
    with warnings.catch_warnings():  # "could not infer format": unparsed dates are reported below
        warnings.simplefilter("ignore", UserWarning)
        dates = pd.to_datetime(raw_dates, errors="coerce")
    unparsed = raw_dates[dates.isna()]
    if len(unparsed):
        shown = [f"row {i + 1}: {v!r}" for i, v in unparsed.items()]
        raise DataError(f"{where}: column {date_columns[0]!r} has unparseable date(s) {_listing(shown)}")
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    index = pd.DatetimeIndex(dates, name="date")
    duplicated = sorted(set(index[index.duplicated()]))
    if duplicated:
        raise DataError(f"{where}: duplicate date(s) {_listing(d.date() for d in duplicated)}")

    body = frame[list(asset_ids)].set_axis(index, axis=0).sort_index()
    labelled = body.set_axis([d.date().isoformat() for d in body.index], axis=0)
    values = pd.DataFrame({a: _to_float(labelled[a], where).to_numpy() for a in asset_ids}, index=body.index)
    values.columns = asset_ids

    array = values.to_numpy()
    count, shown = nonfinite_cells(array, lambda r, c: f"{asset_ids[c]} on {values.index[r].date()}")
    if count:
        raise DataError(f"{where}: {count} missing or non-finite return(s), e.g. {_listing(shown)}")
    rows, cols = np.nonzero(array < -1.0)
    if len(rows):
        shown = [f"{asset_ids[c]} on {values.index[r].date()}: {array[r, c]:g}" for r, c in zip(rows, cols)]
        raise DataError(
            f"{where}: simple returns must be ≥ −1 (fractions, not percent); offending {_listing(shown)}"
        )
    return values


def _load_holdings(path: Path, assets: pd.DataFrame) -> pd.Series:
    """Current weights (fractions of NAV) by asset_id, 0 for universe assets not held."""
    role, where = "holdings", f"holdings file {path}"
    frame = read_table(path, role, text_columns=("asset_id",))
    has = [c for c in ("weight", "shares") if c in frame.columns]
    missing = [c for c in ("asset_id",) if c not in frame.columns] + ([] if has else ["weight or shares"])
    _require(frame, path, role, missing, "asset_id, and weight (fraction of NAV) or shares")
    if len(has) == 2:
        raise DataError(f"{where}: has both 'weight' and 'shares' columns; keep exactly one")
    column = has[0]

    ids = _asset_ids(frame, where)
    unknown = sorted(set(ids) - set(assets.index))
    if unknown:
        raise DataError(f"{where}: asset_id(s) not in the universe {_listing(unknown)}")

    values = _to_float(frame[column].set_axis(ids.tolist()), where)
    nonfinite = values.index[~np.isfinite(values)].tolist()
    if nonfinite:
        raise DataError(f"{where}: column {column!r} is missing or not finite for {_listing(nonfinite)}")
    if column == "shares":
        price = assets["price"].reindex(values.index)
        unpriced = values.index[(values != 0) & ~np.isfinite(price)].tolist()
        if unpriced:
            raise DataError(
                f"{where}: column 'shares' needs the universe 'price' of held asset(s) {_listing(unpriced)}"
            )
        position = (values * price.where(values != 0, 0.0)).astype(float)
        total = float(position.sum())
        if not total > 0:
            raise DataError(f"{where}: column 'shares' gives a total position value of {total:g} USD; need > 0")
        values = position / total
    weights = values.reindex(assets.index, fill_value=0.0)
    total = float(weights.sum())
    if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
        raise DataError(
            f"{where}: column {column!r} sums to {total:.8f}, expected 1 within {WEIGHT_SUM_TOLERANCE:g} "
            "(fractions of NAV; weights are not renormalized)"
        )
    return weights


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
                f"groups: group {name!r} lists asset_id(s) not in the universe file {universe}: {_listing(unknown)}"
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
