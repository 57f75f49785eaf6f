"""Point-in-time benchmark constituents: a long file ``date, asset_id, weight | market_cap``.

The benchmark on an as-of date is the file's **last date on or before the as-of**, drifted
to the as-of with the assets' daily returns::

    w(as_of) ∝ w(d) ∘ Π_{s in (d, as_of]} (1 + r_s)

which is what a buy-and-hold of the index between two reconstitution dates holds (exact
for a cap-weighted index whose constituents and share counts do not change in between). A
missing return (a constituent that stopped trading) counts as 0; a constituent that does not
trade on the as-of date is then an error of the snapshot naming it and the date.

File rules (each breach is a :class:`DataError` naming the file, and the date and asset):
``date`` (any case), ``asset_id`` and exactly one of ``weight`` (fractions; each date's
weights must sum to 1 within :data:`WEIGHTS_FILE_SUM_TOLERANCE` and are then rescaled to sum
to 1 exactly) or ``market_cap`` (USD; normalized per date); values finite and ≥ 0; every
``asset_id`` in the universe; one row per (date, asset_id).
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import DataError
from ._tables import read_table
from ._validation import MAX_LISTED, listing, parse_date_column, text, to_float

#: How far a date's weights (fractions) may sum from 1 in a point-in-time file (rounded vendor weights).
WEIGHTS_FILE_SUM_TOLERANCE = 1e-3

#: Value columns of a point-in-time benchmark file (exactly one).
WEIGHT_COLUMNS = ("weight", "market_cap")


@dataclass(frozen=True, eq=False)
class PointInTimeWeights:
    """Benchmark weights on the dates of a point-in-time file, stored sparsely (one row per constituent).

    Attributes
    ----------
    source : str
        ``"benchmark weights file <path>"``, for messages.
    asset_ids : pd.Index
        The universe's asset_ids: the positions of :attr:`positions` refer to them.
    dates : pd.DatetimeIndex
        The file's dates, sorted and unique.
    column : {"weight", "market_cap"}
        The file's value column.
    offsets : np.ndarray of int, shape (len(dates) + 1,)
        Constituents of date ``i`` are entries ``offsets[i]:offsets[i + 1]``.
    positions : np.ndarray of int
        Position of each entry's asset in :attr:`asset_ids`.
    values : np.ndarray of float
        Weight of each entry (fractions; each date's weights sum to 1).
    """

    source: str
    asset_ids: pd.Index
    dates: pd.DatetimeIndex
    column: str
    offsets: np.ndarray
    positions: np.ndarray
    values: np.ndarray

    def row_for(self, as_of: pd.Timestamp) -> int:
        """Index of the file's last date on or before ``as_of``.

        Raises
        ------
        DataError
            If every date of the file is after ``as_of``.
        """
        row = int(self.dates.searchsorted(pd.Timestamp(as_of).normalize(), side="right")) - 1
        if row < 0:
            raise DataError(
                f"{self.source}: no benchmark weights on or before {pd.Timestamp(as_of).date()} "
                f"(the file's first date is {self.dates[0].date()}); add the constituents of that date"
            )
        return row

    def weights_on(self, row: int) -> np.ndarray:
        """Dense weights (fractions, sum 1) over :attr:`asset_ids` of the file's ``row``-th date."""
        out = np.zeros(len(self.asset_ids))
        lo, hi = self.offsets[row], self.offsets[row + 1]
        out[self.positions[lo:hi]] = self.values[lo:hi]
        return out

    def at(self, as_of: pd.Timestamp, returns: pd.DataFrame) -> pd.Series:
        """The benchmark at the close of ``as_of``: the last file date's weights drifted with ``returns``.

        Parameters
        ----------
        as_of : pd.Timestamp
            The date (a row of ``returns``).
        returns : pd.DataFrame
            Daily simple returns (fractions), sorted dates × :attr:`asset_ids`; NaN counts as 0.

        Raises
        ------
        DataError
            No file date on or before ``as_of``, or the one used is before the returns'
            first date (the drift would need returns that are not there).
        """
        row = self.row_for(as_of)
        day, dates = self.dates[row], returns.index
        if day < dates[0].normalize():
            raise DataError(
                f"{self.source}: the benchmark weights of {day.date()} (the last date on or before "
                f"{pd.Timestamp(as_of).date()}) are before the returns' first date {dates[0].date()}, so they "
                "cannot be drifted to the as-of date; the file's dates must overlap the returns"
            )
        weights = self.weights_on(row)
        period = returns.to_numpy(dtype=float)[(dates.normalize() > day) & (dates <= as_of)]
        if len(period):
            held = np.flatnonzero(weights)
            growth = np.prod(1.0 + np.nan_to_num(period[:, held], nan=0.0), axis=0)
            weights[held] *= growth
            weights /= weights.sum()
        return pd.Series(weights, index=self.asset_ids, name="benchmark_weight")

    def check_overlap(self, dates: pd.DatetimeIndex, where: str) -> None:
        """DataError if no date of the file falls within ``dates`` (the returns' span) — naming both spans."""
        first, last = dates[0].normalize(), dates[-1].normalize()
        if self.dates[-1] < first or self.dates[0] > last:
            raise DataError(
                f"{self.source}: its dates ({self.dates[0].date()} to {self.dates[-1].date()}) do not overlap the "
                f"returns of {where} ({first.date()} to {last.date()})"
            )


def load_benchmark_weights(path: str | PathLike[str], asset_ids: pd.Index) -> PointInTimeWeights:
    """Read a point-in-time benchmark file (module docstring) against the universe's ``asset_ids``.

    Parameters
    ----------
    path : str or Path
        CSV (plain or compressed) or Parquet, long: ``date``, ``asset_id`` and ``weight``
        (fractions) or ``market_cap`` (USD).
    asset_ids : pd.Index
        The universe's asset_ids.

    Returns
    -------
    PointInTimeWeights

    Raises
    ------
    DataError
        Naming the file, and the dates and assets of every problem.
    """
    path = Path(path)
    role, where = "benchmark weights", f"benchmark weights file {path}"
    frame = read_table(path, role, text_columns=("date", "Date", "DATE", "asset_id"))
    date_columns = [c for c in frame.columns if c.lower() == "date"]
    has = [c for c in WEIGHT_COLUMNS if c in frame.columns]
    missing = ([] if len(date_columns) == 1 else ["date"]) + [c for c in ("asset_id",) if c not in frame.columns]
    if missing or len(has) != 1:
        what = "exactly one of 'weight' (fractions) or 'market_cap' (USD)"
        raise DataError(
            f"{where}: needs columns 'date', 'asset_id' and {what}; found: {list(frame.columns)[:MAX_LISTED + 1]}"
        )
    if frame.empty:
        raise DataError(f"{where}: has no rows")
    column = has[0]
    days = parse_date_column(frame[date_columns[0]], where).normalize()
    ids = text(frame["asset_id"])
    blank = np.flatnonzero(ids.isna().to_numpy()) + 1
    if len(blank):
        raise DataError(f"{where}: column 'asset_id' is empty in data row(s) {listing(blank.tolist())}")
    ids = ids.to_numpy(dtype=object)

    def labels(rows: np.ndarray) -> list[str]:  # "asset on date" of the first offending rows only
        return [f"{ids[i]} on {days[i].date()}" for i in rows[: MAX_LISTED + 1]]

    positions = pd.Index(asset_ids).get_indexer(ids)
    unknown = np.flatnonzero(positions < 0)
    if len(unknown):
        raise DataError(f"{where}: asset_id(s) not in the universe: {listing(labels(unknown), len(unknown))}")
    repeated = np.flatnonzero(pd.DataFrame({"day": days, "at": positions}).duplicated().to_numpy())
    if len(repeated):
        raise DataError(f"{where}: repeated (date, asset_id) row(s) {listing(labels(repeated), len(repeated))}")
    raw = frame[column]
    if not pd.api.types.is_numeric_dtype(raw.dtype) or pd.api.types.is_bool_dtype(raw.dtype):
        raw = to_float(raw.set_axis([f"{a} on {d.date()}" for a, d in zip(ids, days)]), where)
    values = raw.to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values) | (values < 0))
    if len(bad):
        shown = [f"{label}: {values[i]!r}" for label, i in zip(labels(bad), bad)]
        raise DataError(f"{where}: column {column!r} must be finite and ≥ 0; offending {listing(shown, len(bad))}")

    unique_days, codes = np.unique(days.to_numpy(), return_inverse=True)
    with np.errstate(over="ignore"):
        totals = np.bincount(codes, weights=values, minlength=len(unique_days))
    _check_totals(totals, pd.DatetimeIndex(unique_days), column, where)
    order = np.lexsort((positions, codes))
    counts = np.bincount(codes, minlength=len(unique_days))
    return PointInTimeWeights(
        source=where,
        asset_ids=pd.Index(asset_ids),
        dates=pd.DatetimeIndex(unique_days, name="date"),
        column=column,
        offsets=np.concatenate([[0], np.cumsum(counts)]),
        positions=positions[order],
        values=(values / totals[codes])[order],
    )


def _check_totals(totals: np.ndarray, days: pd.DatetimeIndex, column: str, where: str) -> None:
    """Each date's total: weights sum to ~1, caps to a positive finite number."""
    if column == "market_cap":
        bad = ~np.isfinite(totals) | (totals <= 0)
        if bad.any():
            shown = [f"{d.date()}: {t:g}" for d, t in zip(days[bad], totals[bad])]
            raise DataError(
                f"{where}: column 'market_cap' must sum to a positive, finite number (USD) on every date; "
                f"offending {listing(shown, int(bad.sum()))}"
            )
        return
    bad = ~(np.abs(totals - 1.0) <= WEIGHTS_FILE_SUM_TOLERANCE)
    if bad.any():
        shown = [f"{d.date()}: {t:.6f}" for d, t in zip(days[bad], totals[bad])]
        percent = np.all(np.abs(totals[bad] - 100.0) <= 100 * WEIGHTS_FILE_SUM_TOLERANCE)
        hint = "; they look like percent: divide by 100" if percent else ""
        raise DataError(
            f"{where}: column 'weight' must sum to 1 within {WEIGHTS_FILE_SUM_TOLERANCE:g} on every date "
            f"(fractions); offending {listing(shown, int(bad.sum()))}{hint}"
        )
