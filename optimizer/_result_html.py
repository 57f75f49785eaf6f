"""A target portfolio as HTML for Jupyter: headline figures, rules, groups, exposures, largest bets."""

from __future__ import annotations

import html

import pandas as pd


def portfolio_html(target) -> str:
    """The HTML Jupyter shows for a :class:`~trimtab.optimizer.TargetPortfolio`."""
    d = target.diagnostics
    head = (
        f"<h4>{html.escape(target.job_name or 'trimtab job')} — {html.escape(d.status)}</h4>"
        f"<p>{html.escape(target.dataset)}, as of {target.as_of.date()} · risk model {html.escape(target.risk_model)}"
        f" · solver {html.escape(d.solver)} in {d.solve_seconds:.3f} s</p>"
        f"<p>Tracking error <b>{d.tracking_error:.3%}</b> · active share {d.active_share:.1%}"
        f" · turnover (two-way) {d.turnover:.1%} · {d.names_held} names</p>"
    )
    groups = pd.DataFrame(d.groups).T
    exposures = pd.Series(d.active_exposures, name="active exposure (σ)").to_frame()
    return (
        head
        + "<h5>Constraints</h5>"
        + d.constraints_frame().to_html(index=False, float_format=lambda x: f"{x:.6g}")
        + "<h5>Groups</h5>"
        + groups.to_html(float_format=lambda x: f"{x:.4f}")
        + "<h5>Active exposures</h5>"
        + exposures.to_html(float_format=lambda x: f"{x:+.4f}")
        + "<h5>Largest active weights</h5>"
        + target.top_active().to_html(float_format=lambda x: f"{x:.4f}")
    )
