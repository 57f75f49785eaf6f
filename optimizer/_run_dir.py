"""A run directory: ``targets.csv`` and ``summary.json``, written by :func:`write_run`, read back by :func:`read_run`.

The writer renders both files first and renames them into place together; the reader gives
what an export, a report or a monitor needs of a finished run (:class:`RunTarget`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from trimtab.constraints import JobSpec, load_job

from ._errors import OutputError
from ._output import write_files_atomically
from ._result import TargetPortfolio

#: Fixed decimals for weights in CSV: byte-identical output for identical inputs.
CSV_FLOAT_FORMAT = "%.12f"

TARGET_COLUMNS = ("sector", "benchmark_weight", "target_weight", "active_weight", "current_weight", "trade_weight")


def render_targets_csv(target: TargetPortfolio) -> bytes:
    """``targets.csv``: one row per asset sorted by asset_id, weights as fractions of NAV."""
    frame = target.to_frame().loc[:, list(TARGET_COLUMNS)]
    return frame.to_csv(float_format=CSV_FLOAT_FORMAT, lineterminator="\n").encode("utf-8")


def render_summary_json(target: TargetPortfolio) -> bytes:
    """``summary.json``: status, dataset, TE, active share, groups, exposures, constraint reports."""
    return (json.dumps(target.summary(), indent=2, allow_nan=False) + "\n").encode("utf-8")


def write_run(target: TargetPortfolio, out_dir: str | Path) -> dict[str, Path]:
    """Write ``targets.csv`` and ``summary.json`` into ``out_dir`` atomically.

    Returns
    -------
    dict
        File role → path written.

    Raises
    ------
    DataError
        When ``out_dir`` exists and is not a directory, or cannot be written.
    """
    files = {"targets.csv": render_targets_csv(target), "summary.json": render_summary_json(target)}
    return write_files_atomically(Path(out_dir), files)


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
    """

    weights: pd.Series
    as_of: pd.Timestamp
    job_sha256: str
    job_source: str
    solver: str
    status: str

    @classmethod
    def from_portfolio(cls, target: TargetPortfolio) -> RunTarget:
        """From an in-memory result."""
        d = target.diagnostics
        return cls(target.weights, target.as_of, target.job_sha256, target.job_source, d.solver, d.status)

    def job(self) -> JobSpec:
        """The job file that produced this target, unchanged since the run.

        Raises
        ------
        OutputError
            Unknown job file, or it changed since the run (its SHA-256 differs).
        """
        if not self.job_source:
            raise OutputError("the run does not record its job file; pass the job to re-check rules (or --no-check)")
        job = load_job(self.job_source)
        if job.sha256 != self.job_sha256:
            raise OutputError(
                f"job file {self.job_source} changed since the run (sha256 {job.sha256[:12]}… ≠ {self.job_sha256[:12]}…); "
                "re-run optimize first"
            )
        return job


def read_run(run_dir: str | Path) -> RunTarget:
    """Read ``targets.csv`` and ``summary.json`` written by ``trimtab optimize``.

    Raises
    ------
    OutputError
        A file is missing or lacks the fields an export needs.
    """
    run_dir = Path(run_dir)
    try:
        summary = json.loads((run_dir / "summary.json").read_text())
        targets = pd.read_csv(run_dir / "targets.csv", dtype={"asset_id": str})
    except FileNotFoundError as err:
        raise OutputError(f"{run_dir} is not a run directory: {Path(err.filename).name} is missing") from None
    except (ValueError, OSError) as err:
        raise OutputError(f"{run_dir}: cannot read the run ({err})") from None
    missing = [k for k in ("as_of", "job_sha256", "solver", "status") if k not in summary]
    if missing or not {"asset_id", "target_weight"} <= set(targets.columns):
        raise OutputError(f"{run_dir}: summary.json or targets.csv lacks {missing or ['asset_id/target_weight']}")
    weights = pd.Series(targets["target_weight"].to_numpy(float), index=targets["asset_id"], name="target_weight")
    return RunTarget(
        weights, pd.Timestamp(summary["as_of"]), summary["job_sha256"], summary.get("job_source", ""),
        summary["solver"], summary["status"],
    )
