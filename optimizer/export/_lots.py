"""Tax lots on export orders: which lots each sell order sells (specific identification).

A tax-aware run (a run directory with ``lots_sold.csv``, or the result of a job with a
``taxes`` section) chose how many shares to sell from each lot — fractional shares, since
the optimizer sells fractions of NAV. The desk's sell order is a whole number of shares
(rounded to lots, minimum trades, cash and rule repairs), so the export allocates each sell
order's quantity across the asset's lots, **keeping the run's whole lots and adjusting at
the margin**. One preference order ranks an asset's lots: first those the run sold in full
(to the nearest share), then those it sold in part (its marginal lots), then the others;
within each group the largest realized loss per share first (``price − cost basis`` lowest
first, at the order's price; ``lot_id`` breaks ties).

1. Each lot gets the run's shares rounded to the nearest whole share (a lot sold in full stays whole).
2. While the lots add up to less than the order, a share is added along the preference order
   (to a lot with shares left: the partly sold lots, then the others).
3. While they add up to more (the desk sells less than the run), shares are taken back
   against it: the partly sold lots first, then the fully sold ones, largest gain per share first.

So an order's lot shares add up to its quantity exactly, each lot differs from the run's
choice by at most half a share plus the order's difference from the run's total for the
asset (rounded up), and lots the run did not touch are sold only when the order needs more shares than
the run sold. Lots the run sold of an asset the desk buys, or does not trade, are not sold
(counted in the manifest). Lots must hold whole shares (orders trade whole shares) and add
up to the desk's holdings, name by name.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from trimtab.models import TaxLots, in_index, read_tax_lots

from .. import (
    LOTS_SOLD_FILE,
    ExportError,
    OutputError,
    RunTarget,
    directory_lock,
    read_run,
    restore_text,
)

#: Columns of ``lots.csv`` (and of :attr:`OrderBatch.lots`).
LOT_ORDER_COLUMNS = ("order_id", "lot_id", "asset_id", "shares")

#: Share counts closer than this are equal (float round-off of a lot file).
SHARE_EPSILON = 1e-6

#: Decimals of the run's lot sales, as ``lots_sold.csv`` records them.
SOLD_DECIMALS = 6


@dataclass(frozen=True)
class ExportLots:
    """The lots an export sells from: the account's lot table and the run's lot sales.

    Attributes
    ----------
    table : pd.DataFrame
        ``lot_id`` (index), ``asset_id``, ``shares`` (whole), ``cost_basis`` (USD per share).
    sold : pd.Series
        Shares the run sold from each lot, by ``lot_id`` (fractional, 6 decimals; empty when none).
    source : str
        Where the lot table comes from (a file, the embedded data's synthetic lots, memory).
    recheck : bool
        Re-measure the job's lot rules (``realized_gain``, ``harvested_loss``) on the lots the
        export sells (needs the job's own lot set in the portfolio check).
    """

    table: pd.DataFrame
    sold: pd.Series
    source: str
    recheck: bool = True
    _by_asset: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def make(cls, lots: TaxLots, sold: pd.DataFrame, *, recheck: bool = True) -> ExportLots:
        """Check ``lots`` (whole shares) and the run's ``sold`` rows (``lot_id, asset_id, shares``) against them.

        Raises
        ------
        ExportError
            A lot with a fractional share count, or a lot sold by the run that the table
            does not have (or has on another asset) — naming the lot.
        """
        table = lots.lots.set_index("lot_id")[["asset_id", "shares", "cost_basis"]]
        fractional = table.index[np.abs(table["shares"] - np.round(table["shares"])) > SHARE_EPSILON]
        if len(fractional):
            lot = fractional[0]
            raise ExportError(
                f"{lots.source}: lot {lot!r} ({table.at[lot, 'asset_id']}) holds {table.at[lot, 'shares']:g} shares; "
                f"orders trade whole shares, so an export needs whole-share lots ({len(fractional)} such lot(s)); "
                "nothing was written"
            )
        table = table.assign(shares=np.round(table["shares"]).astype(np.int64))
        rows = sold.reset_index(drop=True)
        known = pd.Series(in_index(rows["lot_id"], table.index), index=rows.index)  # isin: 13 ms for 83 lots of 1,234
        same = known & (table["asset_id"].reindex(rows["lot_id"]).to_numpy() == rows["asset_id"].to_numpy())
        if not same.all():
            bad = rows[~same].iloc[0]
            why = "is not among them" if not known[~same].iloc[0] else f"is a lot of {table.at[bad['lot_id'], 'asset_id']}"
            raise ExportError(
                f"the run sold lot {bad['lot_id']!r} ({bad['asset_id']}), which {why} in {lots.source}: the lots are "
                "not the ones the run optimized; export with the run's lots (or re-run optimize); nothing was written"
            )
        shares = pd.Series(rows["shares"].to_numpy(float).round(SOLD_DECIMALS), index=pd.Index(rows["lot_id"], name="lot_id"))
        return cls(table, shares.groupby(level=0).sum(), lots.source, recheck)

    def check_holdings(self, holdings: pd.Series) -> None:
        """Refuse lots whose shares do not add up to the desk's holdings, name by name.

        Raises
        ------
        ExportError
            Naming each asset (up to 10) with the lots' and the holdings' shares.
        """
        in_lots = self.table.groupby("asset_id")["shares"].sum()
        names = in_lots.index.union(holdings.index[holdings != 0])
        lot_shares = in_lots.reindex(names, fill_value=0).to_numpy(float)
        held = holdings.reindex(names, fill_value=0).to_numpy(float)
        off = np.flatnonzero(np.abs(lot_shares - held) > SHARE_EPSILON)
        if len(off):
            shown = "; ".join(f"{names[i]}: lots {lot_shares[i]:,.0f} shares, holdings {held[i]:,.0f}" for i in off[:10])
            raise ExportError(
                f"the tax lots ({self.source}) do not match the desk's holdings for {len(off)} asset(s): {shown}"
                f"{' …' if len(off) > 10 else ''}; the lots of a name must add up to its shares held (sell orders name "
                "the lots they sell); nothing was written"
            )

    def digest(self) -> str:
        """SHA-256 of the lots and the run's sales (part of the batch id)."""
        table = self.table.sort_index()
        body = {
            "lots": [[str(i), str(a), int(s), repr(float(b))] for i, a, s, b in
                     zip(table.index, table["asset_id"], table["shares"], table["cost_basis"])],
            "sold": [[str(i), repr(float(s))] for i, s in self.sold.sort_index().items()],
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()

    def allocate(self, orders: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
        """Lots of every sell order: ``(frame with LOT_ORDER_COLUMNS, summary for the manifest)``.

        ``orders`` has ``order_id, asset_id, side, quantity, price``; see the module docstring
        for the rule.

        Raises
        ------
        ExportError
            A sell order larger than the asset's lots (cannot happen with lots that match the holdings).
        """
        rows, run_assets, traded = [], set(self.table["asset_id"][self.table.index.isin(self.sold.index)]), set()
        for order in orders.itertuples(index=False):
            if order.side == "BUY":
                continue
            traded.add(order.asset_id)
            for lot, shares in self._allocate_one(order.asset_id, int(order.quantity), float(order.price), order.order_id):
                rows.append((order.order_id, lot, order.asset_id, shares))
        frame = pd.DataFrame(rows, columns=list(LOT_ORDER_COLUMNS)).astype({"shares": np.int64})
        frame = frame.sort_values(["order_id", "lot_id"], kind="stable").reset_index(drop=True)
        return frame, self._summary(frame, orders, run_assets - traded)

    def _allocate_one(self, asset: str, quantity: int, price: float, order_id: str) -> list[tuple[str, int]]:
        lots = self.table[self.table["asset_id"] == asset]
        capacity = lots["shares"].to_numpy(np.int64)
        run = self.sold.reindex(lots.index, fill_value=0.0).to_numpy(float)
        shares = np.minimum(np.round(run).astype(np.int64), capacity)  # half a share rounds to even
        group = np.where(shares == capacity, 0, np.where(run > 0, 1, 2))
        per_share = price - lots["cost_basis"].to_numpy(float)
        order = sorted(range(len(lots)), key=lambda i: (group[i], per_share[i], lots.index[i]))
        need = quantity - int(shares.sum())
        for i in order if need > 0 else ():
            take = min(need, int(capacity[i] - shares[i]))
            shares[i] += take
            need -= take
        for i in reversed(order) if need < 0 else ():
            give = min(-need, int(shares[i]))
            shares[i] -= give
            need += give
        if need != 0:
            raise ExportError(f"order {order_id}: sells {quantity:,} shares of {asset} but its lots hold only "
                              f"{int(capacity.sum()):,} ({self.source}); nothing was written")
        return [(str(lots.index[i]), int(shares[i])) for i in range(len(lots)) if shares[i] > 0]

    def _summary(self, frame: pd.DataFrame, orders: pd.DataFrame, untraded: set[str]) -> dict:
        """What the manifest records of the lots sold (USD at the orders' prices)."""
        run = self.sold.groupby(self.table["asset_id"].reindex(self.sold.index)).sum() if len(self.sold) else pd.Series(dtype=float)
        per_lot = frame.groupby("lot_id")["shares"].sum()
        lots = per_lot.index.union(self.sold.index)
        ours, theirs = per_lot.reindex(lots, fill_value=0).astype(float), self.sold.reindex(lots, fill_value=0.0)
        price = orders.set_index("asset_id")["price"]
        gain = frame["shares"].to_numpy(float) * (
            price.reindex(frame["asset_id"]).to_numpy(float) - self.table["cost_basis"].reindex(frame["lot_id"]).to_numpy(float)
        )
        return {
            "source": self.source,
            "sell_orders": int(frame["order_id"].nunique()),
            "lots": len(frame),
            "shares": int(frame["shares"].sum()),
            "realized_gain": round(float(gain.sum()), 2),
            "losses_harvested": round(float(-gain[gain < 0].sum()), 2),
            "run_lots": len(self.sold),
            "run_shares": round(float(self.sold.sum()), SOLD_DECIMALS),
            "shares_beyond_run": round(float(np.maximum(ours - theirs, 0).sum()), SOLD_DECIMALS),
            "run_shares_not_sold": round(float(np.maximum(theirs - ours, 0).sum()), SOLD_DECIMALS),
            "run_assets_not_sold": sorted(a for a in untraded if run.get(a, 0) > 0),
        }


@dataclass(frozen=True)
class RunLots:
    """The lots a run sold (``lots_sold.csv`` or the result's tax report) and where its lots came from."""

    sold: pd.DataFrame
    lots_source: str


def read_run_with_lots(run_dir: str | Path) -> tuple[RunTarget, RunLots | None]:
    """:func:`read_run` and, for a tax-aware run, its ``lots_sold.csv`` — read together, under the run's lock.

    Raises
    ------
    OutputError
        As :func:`read_run` (a ``lots_sold.csv`` that is not the one the summary records included).
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return read_run(run_dir), None
    with directory_lock(run_dir, shared=True):  # the same run's files, never between a writer's renames
        target = read_run(run_dir)
        try:
            summary = json.loads((run_dir / "summary.json").read_bytes())
            content = (run_dir / LOTS_SOLD_FILE).read_bytes() if "lots_sold_sha256" in summary else None
        except (OSError, ValueError) as err:
            raise OutputError(f"{run_dir}: cannot read the run ({err})") from None
    if content is None:
        return target, None
    if hashlib.sha256(content).hexdigest() != summary["lots_sold_sha256"]:
        raise OutputError(f"{run_dir}: lots_sold.csv is not the file its summary.json records (SHA-256 differs); "
                          "re-run optimize")
    frame = pd.read_csv(io.BytesIO(content), dtype={"lot_id": str, "asset_id": str}, keep_default_na=False,
                        na_values={"shares": [""]})
    for column in ("lot_id", "asset_id"):
        frame[column] = frame[column].map(restore_text)
    source = str(((summary.get("taxes") or {}).get("lots_source")) or "")
    return target, RunLots(frame[["lot_id", "asset_id", "shares"]], source)


def portfolio_lots(taxes) -> RunLots:
    """The lots a result (its :class:`TaxReport`) sold, shares to the decimals ``lots_sold.csv`` keeps."""
    sold = taxes.lots_sold[["lot_id", "asset_id", "shares"]].copy()
    sold["shares"] = sold["shares"].astype(float).round(SOLD_DECIMALS)
    return RunLots(sold.reset_index(drop=True), taxes.source)


def lots_csv(frame: pd.DataFrame, neutralise) -> bytes:
    """``lots.csv`` bytes: ``order_id, lot_id, asset_id, shares``, text cells neutralised, whole shares."""
    out = frame.loc[:, list(LOT_ORDER_COLUMNS)].copy()
    for column in ("order_id", "lot_id", "asset_id"):
        out[column] = out[column].astype(str).map(neutralise)
    return out.to_csv(index=False, lineterminator="\n").encode("utf-8")


def export_lots(
    target: RunTarget, run: RunLots | None, job, lots: TaxLots | None, *, recheck: bool = True
) -> ExportLots | None:
    """The lots an export of ``target`` sells from, or None for a run that sold no lots (not tax-aware).

    The lot table is ``lots`` when given, else the lots file the
    run read (its SHA-256 checked), else — for the embedded data — the job's synthetic lots,
    when they are the ones the run used.

    Raises
    ------
    ExportError
        ``lots`` given for a run that is not tax-aware, lots the export cannot find, a lots
        file changed since the run, or lots that do not fit the run (see :meth:`ExportLots.make`).
    DataError
        A bad lots file (naming the file, row and value).
    """
    if run is None:
        if lots is not None:
            raise ExportError("lots were given but the run sold no tax lots (its job has no taxes section); "
                              "nothing was written")
        return None
    if lots is not None:
        table = lots
    elif "tax lots" in target.inputs:
        path, sha = target.inputs["tax lots"]
        if _sha256(path) != sha:
            raise ExportError(f"the lots file {path} changed since the run (its SHA-256 differs from the one the run "
                              "recorded); re-run optimize, or pass the run's lots; nothing was written")
        table = read_tax_lots(path)
    else:
        table = _synthetic(job, run)
    return ExportLots.make(table, run.sold, recheck=recheck)


def _synthetic(job, run: RunLots) -> TaxLots:
    """The job's synthetic lots (embedded data), if they are the lots the run sold from."""
    from .. import load_market_data, load_tax_lots

    if job is None or job.taxes is None or job.taxes.lots is not None:
        raise ExportError(f"the run sold tax lots ({run.lots_source or 'lots given in memory'}) that the export cannot "
                          "find: pass them (lots=..., --lots FILE); nothing was written")
    lots = load_tax_lots(job, load_market_data(job))
    if run.lots_source and lots.source != run.lots_source:
        raise ExportError(f"the run sold from {run.lots_source}, not from the job's {lots.source}: pass the run's lots "
                          "(lots=..., --lots FILE); nothing was written")
    return lots


def _sha256(path: str | Path) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return ""
