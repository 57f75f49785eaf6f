"""A :class:`MarketHistory` from the user's files, for backtests: universe, returns over years, benchmark.

The files are those of :func:`~trimtab.models.load_snapshot` — the same universe and the same
wide returns file, only longer (years of dates) and usually ragged (names listing and
delisting: :mod:`._ragged`) — plus, optionally, point-in-time benchmark constituents
(:mod:`._benchmark_weights`). Nothing is demanded that no rule or model uses: caps and
prices are optional; what needs them says so naming the column.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from os import PathLike
from pathlib import Path

from ._benchmark_weights import load_benchmark_weights
from ._characteristics import COMPOSITES
from ._history import MarketHistory
from ._loaders import check_groups, default_dataset_name
from ._returns_file import load_returns
from ._universe import load_universe

StrPath = str | PathLike[str]


def load_history(
    universe: StrPath,
    returns: StrPath,
    *,
    benchmark_weights: StrPath | None = None,
    groups: Mapping[str, Iterable[str]] | None = None,
    dataset: str | None = None,
    characteristics: bool = True,
) -> MarketHistory:
    """Build a :class:`MarketHistory` from a universe file, a (ragged) returns file and a benchmark.

    Parameters
    ----------
    universe : str or Path
        One row per asset that appears at any date (rules: :func:`load_snapshot`):
        ``asset_id``, ``sector``; ``market_cap`` (USD) and/or ``benchmark_weight`` unless
        ``benchmark_weights`` is given; optional ``price``, ``adv``/``adv_usd``, identifiers
        and raw fundamentals (held fixed through time). Caps, prices and ``benchmark_weight``
        are those of the returns' last date — or of a name's last trading day if it
        delisted before — and drift back in time with the returns.
    returns : str or Path
        Wide daily simple returns (``date`` + one column per ``asset_id``) spanning the
        backtest and its risk window; ragged: missing before a listing and after a
        delisting, never in between.
    benchmark_weights : str or Path, optional
        Point-in-time constituents, long ``date, asset_id, weight | market_cap``: the
        benchmark on each date is the file's last date on or before it, drifted to it with
        the returns. Without it, the benchmark is the universe's ``benchmark_weight`` (else
        ``market_cap``) drifted back from the last date over the names that trade each day
        (a buy-and-hold index: exact for a cap-weighted index without reconstitutions).
    groups : mapping of str to list of str, optional
        Named asset groups, fixed through time (members that do not trade on a date are
        left out of that date's snapshot).
    dataset : str, optional
        Name copied into every snapshot; default ``"files: universe=<name> returns=<name>
        [benchmark=<name>] (sha256 <12 hex>)"``.
    characteristics : bool, default True
        Derive characteristics at each date (see :class:`MarketHistory`).

    Returns
    -------
    MarketHistory

    Raises
    ------
    DataError
        Naming the file and the offending assets, dates or rows; the benchmark file's dates
        not overlapping the returns.
    """
    upath, rpath = Path(universe), Path(returns)
    bpath = None if benchmark_weights is None else Path(benchmark_weights)
    assets, benchmark, fundamentals = load_universe(upath, benchmark_required=bpath is None)
    frame = load_returns(rpath, assets.index)
    point_in_time = None
    if bpath is not None:
        point_in_time = load_benchmark_weights(bpath, assets.index)
        point_in_time.check_overlap(frame.index, f"returns file {rpath}")
    if dataset is None:
        dataset = default_dataset_name({"universe": upath, "returns": rpath, "benchmark": bpath})
    return MarketHistory(
        dataset=dataset,
        assets=assets,
        returns=frame,
        groups=check_groups(groups, assets.index, upath),
        benchmark_values=None if point_in_time is not None else benchmark,
        characteristics=characteristics,
        point_in_time_benchmark=point_in_time,
        characteristic_columns=tuple(c for c in fundamentals.columns if c not in COMPOSITES),
    )
