"""A self-contained HTML report of a finished run: summary, rules, figures, risk and concentration.

The page has no external resources: figures are inline ``data:image/png;base64`` images and
the style sheet is inline; there is no JavaScript. Rendering is deterministic: the same run
directory and data give byte-identical HTML (PNG files carry no date or version).
"""

from __future__ import annotations

import base64
import html
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from trimtab.models import DataError, MarketSnapshot

from .. import OutputError, estimate_risk, load_market_data, read_run, refuse_to_overwrite, write_files_atomically
from ._concentration import concentration_table, equal_weights
from ._plots import figure_png
from ._plots_portfolio import plot_active_weights, plot_sector_weights
from ._risk_decomposition import RiskDecomposition, plot_risk_decomposition, risk_decomposition

#: File name of the report inside the run directory when no output path is given.
REPORT_FILE = "report.html"

#: Relative difference allowed between the recorded TE and the TE re-estimated for the report.
TE_REPRODUCTION_TOLERANCE = 1e-6

_STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px;
       color: #222; line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; height: auto; display: block; margin: 0.5em 0; }
.meta { color: #666; } .binding { font-weight: bold; }
"""


@dataclass(frozen=True)
class _RunPortfolio:
    """Weights of a run read from ``targets.csv`` (fractions of NAV, by asset_id)."""

    weights: pd.Series
    benchmark: pd.Series
    sectors: pd.Series


@dataclass(frozen=True)
class _ReportInputs:
    summary: dict[str, Any]
    portfolio: _RunPortfolio
    decomposition: RiskDecomposition
    concentration: pd.DataFrame
    run_name: str


def render_report(run_dir: str | Path) -> str:
    """The HTML report of a run directory written by ``trimtab optimize``.

    Re-reads the run's job file, reloads its market data and re-estimates its risk model to
    decompose the tracking error, and checks that this reproduces the recorded TE.

    Parameters
    ----------
    run_dir : path
        Directory holding ``targets.csv`` and ``summary.json``.

    Returns
    -------
    str
        A self-contained HTML page.

    Raises
    ------
    DataError
        A run file is missing or malformed, the job file is gone or changed since the run,
        or the re-estimated risk model does not reproduce the run's tracking error.
    SpecError
        The job file no longer parses.
    """
    inputs = _load_inputs(Path(run_dir))
    return _html_page(inputs)


def write_report(run_dir: str | Path, out_path: str | Path | None = None, force: bool = False) -> Path:
    """Render the report of ``run_dir`` and write it atomically to ``out_path``.

    Parameters
    ----------
    run_dir : path
        Run directory written by ``trimtab optimize``.
    out_path : path, optional
        Where to write the page; ``RUN_DIR/report.html`` when omitted.
    force : bool
        Overwrite an existing file at ``out_path``.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    OutputError
        ``out_path`` exists and ``force`` is False (nothing is rendered or written).
    DataError, SpecError
        As :func:`render_report`; nothing is written.
    """
    out = Path(out_path) if out_path is not None else Path(run_dir) / REPORT_FILE
    refuse_to_overwrite(out.parent, [out.name], force=force)
    if out.exists() and out.is_dir():
        raise DataError(f"{out} is a directory, not a file to write the report to")
    page = render_report(run_dir).encode("utf-8")
    return write_files_atomically(out.parent, {out.name: page})[out.name]


# -- inputs ---------------------------------------------------------------------------------
def _load_inputs(run_dir: Path) -> _ReportInputs:
    try:
        run = read_run(run_dir)
        job = run.job()
    except OutputError as error:
        raise DataError(str(error)) from None
    summary = json.loads((run_dir / "summary.json").read_text())
    portfolio = _read_portfolio(run_dir / "targets.csv")
    snapshot = load_market_data(job)
    _check_same_data(run_dir, run.as_of, portfolio, snapshot)
    risk_model = estimate_risk(job, snapshot)
    decomposition = risk_decomposition(portfolio, risk_model, snapshot.groups)
    recorded = summary.get("tracking_error")
    if not isinstance(recorded, (int, float)) or not math.isclose(
        decomposition.tracking_error, recorded, rel_tol=TE_REPRODUCTION_TOLERANCE, abs_tol=1e-12
    ):
        raise DataError(
            f"{run_dir / 'summary.json'}: recorded tracking_error {recorded!r} is not reproduced by the job's risk "
            f"model ({decomposition.tracking_error:.6%}); the data changed since the run — re-run optimize"
        )
    concentration = concentration_table(
        {
            "benchmark": portfolio.benchmark,
            "target": portfolio.weights,
            "equal weight": equal_weights(portfolio.weights.index),
        },
        snapshot.returns,
        snapshot.sectors,
        snapshot.groups,
    )
    return _ReportInputs(summary, portfolio, decomposition, concentration, run_dir.resolve().name)


def _read_portfolio(path: Path) -> _RunPortfolio:
    frame = pd.read_csv(path, dtype={"asset_id": str, "sector": str})
    missing = [c for c in ("asset_id", "sector", "benchmark_weight", "target_weight") if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}")
    frame = frame.set_index("asset_id")
    weights = frame[["benchmark_weight", "target_weight"]].apply(pd.to_numeric, errors="coerce")
    if weights.isna().any().any():
        raise DataError(f"{path}: non-numeric or missing weights for {list(weights.index[weights.isna().any(axis=1)][:5])}")
    return _RunPortfolio(weights["target_weight"], weights["benchmark_weight"], frame["sector"])


def _check_same_data(run_dir: Path, as_of: pd.Timestamp, portfolio: _RunPortfolio, snapshot: MarketSnapshot) -> None:
    if pd.Timestamp(snapshot.as_of) != as_of:
        raise DataError(
            f"{run_dir / 'summary.json'}: the run is as of {as_of.date()} but the job's data is now as of "
            f"{pd.Timestamp(snapshot.as_of).date()}; re-run optimize"
        )
    if set(portfolio.weights.index) != set(snapshot.asset_ids):
        raise DataError(f"{run_dir / 'targets.csv'}: its assets differ from the job's data universe; re-run optimize")


# -- page -----------------------------------------------------------------------------------
def _html_page(inputs: _ReportInputs) -> str:
    s = inputs.summary
    title = f"trimtab report — {s.get('job_name') or 'job'}"
    sections = [
        f"<h1>{_e(title)}</h1>",
        f"<p class='meta'>Run <code>{_e(inputs.run_name)}</code> · {_e(s.get('dataset', ''))} · as of "
        f"{_e(s.get('as_of', ''))} · status {_e(s.get('status', ''))} · solver {_e(s.get('solver', ''))}<br>"
        f"Risk model: {_e(s.get('risk_model', ''))}<br>Job: <code>{_e(s.get('job_source', ''))}</code> "
        f"(sha256 {_e(str(s.get('job_sha256', ''))[:12])}…)</p>",
        "<h2>Summary</h2>",
        _summary_table(s),
        "<h2>Groups</h2>",
        _groups_table(s),
        "<h2>Active exposures</h2>",
        _frame_html(pd.Series(s.get("active_exposures", {}), name="active exposure (σ)").to_frame(), "{:+.4f}"),
        "<h2>Constraints</h2>",
        _constraints_table(s),
        "<h2>Sector weights</h2>",
        _image(plot_sector_weights(inputs.portfolio), "Sector weights: target vs benchmark"),
        "<h2>Largest active weights</h2>",
        _image(plot_active_weights(inputs.portfolio), "Largest active weights"),
        "<h2>Risk decomposition</h2>",
        "<p>Euler contributions to the ex-ante tracking error (annualized); each panel adds up to the "
        "tracking error (the factor panel to its factor part). Risk model re-estimated from the job.</p>",
        _image(plot_risk_decomposition(inputs.decomposition), "Risk decomposition"),
        _frame_html(inputs.decomposition.components, "{:.6g}"),
        "<h2>Concentration</h2>",
        "<p>Shares of the invested weight; return share over the last 252 trading days (buy and hold).</p>",
        _frame_html(inputs.concentration, "{:.4g}"),
    ]
    body = "\n".join(sections)
    return (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        f"<title>{_e(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _summary_table(s: dict[str, Any]) -> str:
    rows = [
        ("Tracking error (annualized)", _pct(s.get("tracking_error"), 3)),
        ("  factor part", _pct(s.get("factor_tracking_error"), 3)),
        ("  specific part", _pct(s.get("specific_tracking_error"), 3)),
        ("Active share", _pct(s.get("active_share"), 2)),
        ("Turnover (two-way)", _pct(s.get("turnover"), 2)),
        ("Names held", str(s.get("names_held", ""))),
        ("Cash", _pct(s.get("cash"), 2)),
    ]
    costs = s.get("costs")
    if costs:
        rows.append(("Expected trading cost", _pct(costs.get("total"), 4)))
    cells = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f"<table class='summary'>{cells}</table>"


def _groups_table(s: dict[str, Any]) -> str:
    groups = pd.DataFrame(s.get("groups", {})).T
    if groups.empty:
        return "<p>No groups.</p>"
    groups["active"] = groups["target"] - groups["benchmark"]
    return _frame_html(groups, "{:.2%}")


def _constraints_table(s: dict[str, Any]) -> str:
    frame = pd.DataFrame(s.get("constraints", []))
    if frame.empty:
        return "<p>No constraints.</p>"
    columns = [c for c in ("name", "kind", "mode", "sense", "value", "bound", "slack", "binding", "row", "marginal_te")]
    return _frame_html(frame.loc[:, [c for c in columns if c in frame.columns]], "{:.6g}", index=False)


def _frame_html(frame: pd.DataFrame, number_format: str, *, index: bool = True) -> str:
    return frame.to_html(index=index, float_format=number_format.format, na_rep="—", border=0, escape=True)


def _image(figure: Figure, alt: str) -> str:
    data = base64.b64encode(figure_png(figure)).decode("ascii")
    return f"<img alt='{_e(alt)}' src='data:image/png;base64,{data}'>"


def _pct(value: Any, decimals: int) -> str:
    return f"{value:.{decimals}%}" if isinstance(value, (int, float)) else "—"


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)
