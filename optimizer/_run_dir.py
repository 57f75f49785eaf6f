"""A run directory: ``targets.csv`` and ``summary.json`` (and ``lots_sold.csv`` for a tax-aware
job), written by :func:`write_run`, read back by :func:`read_run`.

The pair is published as one unit. :func:`write_run` renders both files first, records the
SHA-256 of ``targets.csv`` (and of every input data file) in ``summary.json``, and renames
``targets.csv`` then ``summary.json`` into place while holding the directory's write lock —
so concurrent runs into one directory are serialized, and ``summary.json`` is the commit
marker. :func:`read_run` refuses a pair whose ``targets.csv`` is not the one its summary
records (a run killed between the two renames, or files copied from different runs), and
:meth:`RunTarget.job` refuses a run whose job file or input data changed since.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from trimtab.constraints import JobSpec, load_job

from ._cells import neutralize_frame, restore_text
from ._errors import OutputError
from ._output import directory_lock, write_files_atomically
from ._result import TargetPortfolio

#: Fixed decimals for weights in CSV: byte-identical output for identical inputs.
CSV_FLOAT_FORMAT = "%.12f"

TARGET_COLUMNS = ("sector", "benchmark_weight", "target_weight", "active_weight", "current_weight", "trade_weight")

#: The run's files, in the order they are published (the summary, the commit marker, last).
TARGETS_FILE, LOTS_SOLD_FILE, SUMMARY_FILE = "targets.csv", "lots_sold.csv", "summary.json"

#: Fixed decimals of ``lots_sold.csv``: shares, and gains in USD.
SHARES_FORMAT, GAIN_FORMAT = "{:.6f}", "{:.2f}"


def render_targets_csv(target: TargetPortfolio) -> bytes:
    """``targets.csv``: one row per asset sorted by asset_id, weights as fractions of NAV.

    Text cells that a spreadsheet would run as a formula are neutralised (see ``_cells``).
    """
    frame = target.to_frame()
    if tuple(frame.columns) != TARGET_COLUMNS:  # to_frame's own columns are these, in this order
        frame = frame.loc[:, list(TARGET_COLUMNS)]
    return csv_text(neutralize_frame(frame), CSV_FLOAT_FORMAT).encode("utf-8")


def csv_text(frame: pd.DataFrame, float_format: str) -> str:
    """``frame.to_csv(float_format=float_format, lineterminator="\\n")``, the same text, in about half the time.

    pandas formats each float through a Python callback with a missing-value check (8 ms for
    500 names × 5 columns, 0.35 s at 10,000 names — a fifth of a batch account's time); here
    each float column is one list of ``float_format % value`` and the rows go to the ``csv``
    module's writer, which pandas itself writes with (``QUOTE_MINIMAL``): missing cells
    empty, text quoted where the CSV rules need it. ``tests/optimizer/test_run_dir.py`` holds
    it to pandas' bytes on edge cases (−0, NaN, ±inf, commas, quotes, newlines).
    """
    columns = []
    for name in frame.columns:
        values = frame[name]
        if pd.api.types.is_float_dtype(values):
            columns.append(["" if v != v else float_format % v for v in values.to_numpy().tolist()])
        else:
            columns.append(["" if pd.isna(v) else v for v in values.tolist()])
    index = ["" if pd.isna(v) else v for v in frame.index.tolist()]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["" if frame.index.name is None else frame.index.name, *frame.columns])
    writer.writerows(zip(index, *columns))
    return buffer.getvalue()


def render_lots_sold_csv(target: TargetPortfolio) -> bytes | None:
    """``lots_sold.csv`` of a tax-aware result (None without taxes): ``lot_id, asset_id, shares, gain, term``.

    One row per lot sold, sorted by asset_id then lot_id; ``shares`` with 6 decimals, ``gain``
    (realized, USD, negative for a loss) with 2; ``term`` is ``short`` or ``long``.
    """
    taxes = target.diagnostics.taxes
    if taxes is None:
        return None
    frame = neutralize_frame(taxes.lots_sold.set_index("lot_id"))  # text cells; the numbers are formatted below
    frame["shares"] = [SHARES_FORMAT.format(v) for v in frame["shares"]]
    frame["gain"] = [GAIN_FORMAT.format(round(v, 2) + 0.0) for v in frame["gain"]]  # + 0.0: no "-0.00"
    return frame.to_csv(lineterminator="\n").encode("utf-8")


def render_summary_json(
    target: TargetPortfolio, targets_csv: bytes | None = None, lots_sold_csv: bytes | None = None
) -> bytes:
    """``summary.json``: status, dataset, TE, active share, groups, exposures, constraint reports.

    Parameters
    ----------
    target : TargetPortfolio
        The result.
    targets_csv : bytes, optional
        The ``targets.csv`` published with it (rendered when omitted): its SHA-256 is recorded
        as ``targets_sha256``, with the SHA-256 of each input data file as ``inputs``.
    lots_sold_csv : bytes, optional
        The ``lots_sold.csv`` of a tax-aware result (rendered when omitted): its SHA-256 is
        recorded as ``lots_sold_sha256``.
    """
    targets_csv = render_targets_csv(target) if targets_csv is None else targets_csv
    lots_sold_csv = render_lots_sold_csv(target) if lots_sold_csv is None else lots_sold_csv
    lots = {"lots_sold_sha256": hashlib.sha256(lots_sold_csv).hexdigest()} if lots_sold_csv is not None else {}
    summary = {
        **target.summary(),
        "targets_sha256": hashlib.sha256(targets_csv).hexdigest(),
        **lots,
        "inputs": {role: {"path": path, "sha256": _file_sha256(path)} for role, path in target.input_files},
    }
    return (json.dumps(summary, indent=2, allow_nan=False) + "\n").encode("utf-8")


def write_run(target: TargetPortfolio, out_dir: str | Path) -> dict[str, Path]:
    """Write ``targets.csv`` (and ``lots_sold.csv`` for a tax-aware job) and ``summary.json`` into ``out_dir`` as one unit.

    Returns
    -------
    dict
        File role → path written.

    Raises
    ------
    DataError
        When ``out_dir`` exists and is not a directory, or cannot be written.
    """
    targets, lots = render_targets_csv(target), render_lots_sold_csv(target)
    files = {TARGETS_FILE: targets, **({LOTS_SOLD_FILE: lots} if lots is not None else {})}
    files[SUMMARY_FILE] = render_summary_json(target, targets, lots)
    return write_files_atomically(Path(out_dir), files)


def _file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes ("" when it cannot be read)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return ""
    return digest.hexdigest()


@dataclass(frozen=True)
class RunTarget:
    """What an export needs of a run: target weights and where they came from.

    Attributes
    ----------
    weights : pd.Series
        Target weights by asset_id, fractions of NAV.
    as_of : pd.Timestamp
        Date of the market data.
    job_sha256, job_source : str
        The job file's hash and absolute path ("" when unknown).
    solver, status : str
        How the target was solved.
    inputs : mapping of str to (path, sha256)
        The input data files the run read (role → absolute path and SHA-256 at the run);
        empty when the data were given in memory or are the embedded dataset.
    """

    weights: pd.Series
    as_of: pd.Timestamp
    job_sha256: str
    job_source: str
    solver: str
    status: str
    inputs: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def from_portfolio(cls, target: TargetPortfolio) -> RunTarget:
        """From an in-memory result."""
        d = target.diagnostics
        inputs = {role: (path, _file_sha256(path)) for role, path in target.input_files}
        return cls(target.weights, target.as_of, target.job_sha256, target.job_source, d.solver, d.status, inputs)

    def job(self) -> JobSpec:
        """The job file that produced this target, unchanged since the run — and its data too.

        Raises
        ------
        OutputError
            Unknown job file, or it or one of the run's input data files changed since the
            run (its SHA-256 differs).
        """
        if not self.job_source:
            raise OutputError("the run does not record its job file; pass the job to re-check rules (or --no-check)")
        job = load_job(self.job_source)
        if job.sha256 != self.job_sha256:
            raise OutputError(
                f"job file {self.job_source} changed since the run (sha256 {job.sha256[:12]}… ≠ {self.job_sha256[:12]}…); "
                "re-run optimize first"
            )
        self.check_inputs()
        return job

    def check_inputs(self) -> None:
        """Refuse a run whose input data files changed (or vanished) since the run.

        Raises
        ------
        OutputError
            Naming each changed file.
        """
        changed = [f"{role} ({path})" for role, (path, sha) in self.inputs.items() if _file_sha256(path) != sha]
        if changed:
            raise OutputError(
                f"the input data changed since the run: {', '.join(changed)} no longer match(es) the SHA-256 the "
                "run recorded; re-run optimize on the new data first"
            )


def read_run(run_dir: str | Path) -> RunTarget:
    """Read ``targets.csv`` and ``summary.json`` written by ``trimtab optimize``.

    Raises
    ------
    OutputError
        A file is missing, lacks the fields an export needs, or ``targets.csv`` is not the
        file its ``summary.json`` records (a torn or mixed-up run directory).
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise OutputError(f"{run_dir} is not a run directory: {SUMMARY_FILE} is missing")
    try:
        with directory_lock(run_dir, shared=True):  # never between a writer's two renames
            summary = json.loads((run_dir / SUMMARY_FILE).read_text())
            targets_bytes = (run_dir / TARGETS_FILE).read_bytes()
            lots_bytes = (run_dir / LOTS_SOLD_FILE).read_bytes() if isinstance(summary, dict) and "lots_sold_sha256" in summary else None
        targets = pd.read_csv(io.BytesIO(targets_bytes), dtype={"asset_id": str})
    except FileNotFoundError as err:
        raise OutputError(f"{run_dir} is not a run directory: {Path(err.filename).name} is missing") from None
    except (ValueError, OSError) as err:
        raise OutputError(f"{run_dir}: cannot read the run ({err})") from None
    if not isinstance(summary, dict):
        raise OutputError(f"{run_dir / SUMMARY_FILE}: not a run summary (a JSON object is expected)")
    missing = [k for k in ("as_of", "job_sha256", "solver", "status", "targets_sha256") if k not in summary]
    if missing or not {"asset_id", "target_weight"} <= set(targets.columns):
        raise OutputError(
            f"{run_dir}: summary.json or targets.csv lacks {missing or ['asset_id/target_weight']}"
            + ("; a run written by an older trimtab: re-run optimize" if missing == ["targets_sha256"] else "")
        )
    if hashlib.sha256(targets_bytes).hexdigest() != summary["targets_sha256"]:
        raise OutputError(
            f"{run_dir}: targets.csv is not the file its summary.json records (SHA-256 differs): the run was "
            "interrupted or its files come from different runs; re-run optimize"
        )
    if lots_bytes is not None and hashlib.sha256(lots_bytes).hexdigest() != summary["lots_sold_sha256"]:
        raise OutputError(
            f"{run_dir}: lots_sold.csv is not the file its summary.json records (SHA-256 differs): the run was "
            "interrupted or its files come from different runs; re-run optimize"
        )
    ids = targets["asset_id"].map(restore_text)
    weights = pd.Series(targets["target_weight"].to_numpy(float), index=pd.Index(ids, name="asset_id"), name="target_weight")
    inputs = summary.get("inputs") or {}
    return RunTarget(
        weights, pd.Timestamp(summary["as_of"]), summary["job_sha256"], summary.get("job_source", ""),
        summary["solver"], summary["status"],
        {role: (str(v.get("path", "")), str(v.get("sha256", ""))) for role, v in inputs.items() if isinstance(v, dict)},
    )
