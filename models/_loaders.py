"""Loaders for the user's own data files: universe, daily returns and holdings → MarketSnapshot.

Files are CSV (``.csv``, or compressed: ``.csv.gz``, ``.csv.bz2``, ``.csv.zip``, ``.csv.xz``,
``.csv.zst``) or Parquet (``.parquet``, ``.pq``), chosen by suffix. Every problem is reported
as a :class:`DataError` naming the file, the column and the offending assets, dates or values
— never as a raw pandas/pyarrow traceback.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from ._benchmark_weights import load_benchmark_weights
from ._characteristics import COMPOSITES, build_characteristics
from ._errors import DataError
from ._ragged import cut_as_of
from ._returns_file import load_returns, prices_to_returns
from ._snapshot import WEIGHT_SUM_TOLERANCE, MarketSnapshot
from ._tables import read_table
from ._universe import load_universe
from ._validation import (
    NEGATIVE_WEIGHT_ROUNDOFF,
    asset_id_column,
    finite_total,
    listing,
    refuse,
    require,
    to_float,
)

__all__ = ["load_snapshot", "prices_to_returns"]

StrPath = str | PathLike[str]


def load_snapshot(
    universe: StrPath,
    returns: StrPath,
    holdings: StrPath | None = None,
    *,
    groups: Mapping[str, Iterable[str]] | None = None,
    dataset: str | None = None,
    benchmark_weights: StrPath | None = None,
    window: int | None = None,
) -> MarketSnapshot:
    """Build a :class:`MarketSnapshot` from the user's universe, returns and holdings files.

    Parameters
    ----------
    universe : str or Path
        One row per asset (rules: :mod:`._universe`). Columns: ``asset_id`` (unique) and
        ``sector`` (required); ``market_cap`` (USD, finite and > 0) and/or
        ``benchmark_weight`` (finite, ≥ 0, not all 0) — at least one unless
        ``benchmark_weights`` is given; the benchmark is ``benchmark_weight`` normalized to
        sum to 1 if given, else ``market_cap / Σ market_cap``; a column whose sum overflows is
        refused. Without ``market_cap`` the caps are missing (NaN), and whatever needs them
        says so naming the column. Optional ``price`` (USD per share) and ADV as ``adv``
        (shares per day) or ``adv_usd`` (USD per day, converted with ``price``; refused
        without it), finite and > 0 where given, NaN when blank or absent; identifier
        columns (``ticker``, ``cusip``, ``isin``, ``sedol``, ``figi``) kept as text. Every
        other numeric column is a raw fundamental: ``value``/``quality`` composites are
        built from their descriptors (or a ready-made ``value``/``quality`` column is
        re-standardized) and every numeric column is standardized to σ units (benchmark
        exposure 0). Other text columns are kept in ``assets`` as given.
    returns : str or Path
        Wide table of daily simple returns (fractions): a ``date`` column (any case; for
        Parquet also a date index) and one column per ``asset_id``. Every universe asset must
        have a column; columns of other assets are dropped (and not validated). Dates are
        text (``2024-01-02``), a date/datetime type or integers ``YYYYMMDD`` (floats and other
        all-digit values are refused, never guessed), one row per calendar day, rows in any
        order (sorted here). Present returns must be finite and within
        ``[MIN_DAILY_RETURN, MAX_DAILY_RETURN] = [−1, 10]`` (−100 % to +1000 % in a day).
        The table may be ragged (rules: :mod:`._ragged`): returns may be missing before a
        name's first one and after its last, not in between. Names without a return on the
        as-of date are dropped — an error if the benchmark or the holdings hold them.
    holdings : str or Path, optional
        ``asset_id`` and either ``weight`` (fraction of NAV) or ``shares`` (converted with the
        universe ``price``; NAV is then the value of the listed positions). Universe assets
        not listed hold 0. Positions are long: negative shares or weights (below −1e-12) are
        refused. Weights must sum to 1 within 1e-6 and are never renormalized.
        Without a holdings file the portfolio is taken to hold the benchmark, so turnover is
        measured from the benchmark.
    groups : mapping of str to list of str, optional
        Named asset groups, e.g. ``{"MAG7": ["AAPL", ...]}``; members that do not trade on
        the as-of date are left out.
    dataset : str, optional
        Name copied into every output; default
        ``"files: universe=<name> returns=<name> (sha256 <12 hex>)"`` over the files' content.
    benchmark_weights : str or Path, optional
        Point-in-time benchmark constituents, a long file ``date, asset_id, weight |
        market_cap`` (rules: :mod:`._benchmark_weights`); the benchmark is its last date on
        or before the as-of, drifted to the as-of with the returns. Overrides the universe's
        ``benchmark_weight``/``market_cap``.
    window : int, optional
        The risk model's window (trailing dates), which decides the short-history names
        (:attr:`MarketSnapshot.short_history`); the whole returns table when None.

    Returns
    -------
    MarketSnapshot
        Assets (those trading on the as-of date) sorted by ``asset_id``; ``as_of`` is the
        last return date.

    Raises
    ------
    DataError
        For any missing, unreadable, malformed, implausible or inconsistent input, naming
        the file and the offending assets, dates or rows (limits: :mod:`._validation`).
    """
    upath, rpath = Path(universe), Path(returns)
    hpath = None if holdings is None else Path(holdings)
    bpath = None if benchmark_weights is None else Path(benchmark_weights)
    if window is not None and (isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window <= 0):
        raise DataError(f"window must be a positive number of trading days, got {window!r}")
    assets, benchmark, fundamentals = load_universe(upath, benchmark_required=bpath is None)
    returns_frame = load_returns(rpath, assets.index)
    as_of = pd.Timestamp(returns_frame.index[-1])
    what = "the benchmark (the universe's benchmark_weight or market_cap)"
    if bpath is not None:
        pit = load_benchmark_weights(bpath, assets.index)
        pit.check_overlap(returns_frame.index, f"returns file {rpath}")
        benchmark, what = pit.at(as_of, returns_frame), f"the benchmark ({pit.source}, as of {pit.dates[pit.row_for(as_of)].date()})"
    weights = benchmark.copy() if hpath is None else _load_holdings(hpath, assets)
    held = [(benchmark, what)] + ([] if hpath is None else [(weights, f"holdings file {hpath}")])
    cut = cut_as_of(
        returns_frame.to_numpy(), assets.index, assets["sector"].to_numpy(), as_of, held, f"returns file {rpath}",
        window,
    )
    keep = cut.keep
    if not keep.all():
        assets, benchmark, weights, fundamentals = assets[keep], benchmark[keep], weights[keep], fundamentals[keep]
    try:
        characteristics = build_characteristics(
            fundamentals,
            benchmark,
            extra_columns=tuple(c for c in fundamentals.columns if c not in COMPOSITES),
        )
    except DataError as exc:
        raise DataError(f"universe file {upath}: {exc}") from None
    group_map = check_groups(groups, assets.index, upath, dropped=set(returns_frame.columns[~keep]))
    if dataset is None:
        dataset = default_dataset_name({"universe": upath, "returns": rpath, "holdings": hpath, "benchmark": bpath})
    return MarketSnapshot(
        dataset=dataset,
        as_of=as_of,
        assets=assets,
        benchmark_weights=benchmark.rename("benchmark_weight"),
        holdings=weights.rename("holding"),
        characteristics=characteristics,
        returns=pd.DataFrame(cut.returns, index=returns_frame.index, columns=assets.index),
        groups=group_map,
        short_history=cut.short_history,
        history_days=cut.history_days,
    )


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


def check_groups(
    groups: Mapping[str, Iterable[str]] | None,
    asset_ids: pd.Index,
    universe: Path | str,
    dropped: set[str] = frozenset(),
) -> dict[str, tuple[str, ...]]:
    """Named groups as tuples; members in ``dropped`` (not trading on the as-of date) are left out.

    Raises
    ------
    DataError
        A group that is not a list, or lists an asset_id neither in ``asset_ids`` nor in
        ``dropped`` (naming the group, the ids and ``universe``).
    """
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
        unknown = sorted(set(members) - known - set(dropped))
        if unknown:
            raise DataError(
                f"groups: group {name!r} lists asset_id(s) not in the universe file {universe}: {listing(unknown)}"
            )
        out[str(name)] = tuple(m for m in members if m in known)
    return out


def default_dataset_name(paths: Mapping[str, Path | None]) -> str:
    """``files: universe=<name> returns=<name> [holdings=<name>] … (sha256 <12 hex>)`` over the files given."""
    combined = hashlib.sha256()
    parts = []
    for role, path in paths.items():
        if path is not None:
            with path.open("rb") as handle:
                combined.update(hashlib.file_digest(handle, "sha256").digest())
            parts.append(f"{role}={path.name}")
    return f"files: {' '.join(parts)} (sha256 {combined.hexdigest()[:12]})"
