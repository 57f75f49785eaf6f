"""A job's tax lots: its lots (and recent trades) files, or the embedded data's synthetic lots,
checked against the market snapshot."""

from __future__ import annotations

from trimtab import models
from trimtab.constraints import JobSpec
from trimtab.models import DataError, LotBook, MarketSnapshot, TaxLots


def load_tax_lots(job: JobSpec, snapshot: MarketSnapshot) -> TaxLots:
    """The job's lots: ``taxes.lots`` (and ``taxes.trades``), else synthetic lots of the snapshot.

    Synthetic lots (embedded data) are drawn with the dataset's seed at ``taxes.nav``
    (default :data:`trimtab.models.SYNTHETIC_LOTS_NAV`, $1bn).

    Raises
    ------
    DataError
        A file missing or a bad cell, naming the job, the file, the row and the value.
    """
    spec = job.taxes
    if spec is None:
        raise ValueError("the job has no taxes section")
    try:
        trades = job.resolve(spec.trades) if spec.trades else None
        if spec.lots is not None:
            return models.read_tax_lots(job.resolve(spec.lots), trades)
        lots = models.synthetic_lots(snapshot, nav=spec.nav or models.SYNTHETIC_LOTS_NAV, seed=job.data.seed)
        if trades is None:
            return lots
        read = models.read_table(trades, "trades", text_columns=("asset_id", "side"))
        return TaxLots(lots.lots, read, source=lots.source, trades_source=f"trades file {trades}")
    except DataError as err:
        raise DataError(f"{job.source}: taxes: {err}") from None


def job_lot_book(job: JobSpec, snapshot: MarketSnapshot, lots: TaxLots | None = None) -> LotBook:
    """The job's lots (or ``lots``) checked against ``snapshot`` and aligned to its universe.

    Raises
    ------
    DataError
        Lots on unknown assets, dated after the as-of date, or not adding up to the holdings
        (naming the job, the file, the row, the asset and the numbers).
    """
    spec = job.taxes
    if spec is None:
        raise ValueError("the job has no taxes section")
    synthetic = lots is None and spec.lots is None
    lots = load_tax_lots(job, snapshot) if lots is None else lots
    nav = spec.nav if spec.nav is not None else (models.SYNTHETIC_LOTS_NAV if synthetic else None)
    try:
        return models.lot_book(
            lots, snapshot, nav=nav, long_term_days=spec.long_term_days, wash_sale_days=spec.wash_sale_days
        )
    except DataError as err:
        raise DataError(f"{job.source}: taxes: {err}") from None
