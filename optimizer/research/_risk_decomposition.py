"""Where the tracking error comes from: factor vs specific, by factor, by asset, sector and group,
and the figure that shows it.

Every contribution is an Euler contribution to the tracking error ``TE = √(aᵀ Σ a)`` with
``a = w − w_b`` and ``Σ = B L Lᵀ Bᵀ + diag(s²)``: asset ``i`` contributes ``a_i (Σ a)_i / TE`` and
factor ``j`` contributes ``x_j (F x)_j / TE`` with ``x = Bᵀ a`` and ``F = L Lᵀ``. Contributions are in
TE units (annualized fraction) and add up exactly to TE; dividing by TE gives shares that add up to
1 and equal the shares of the active variance TE². Nothing here forms the n×n matrix Σ.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from trimtab.models import DataError, RiskModel

from ._plots import TARGET_COLOR, UNDERWEIGHT_COLOR, axes_grid_or_new, figure_png, percent_axis

#: Row label for the names that belong to none of the groups.
REST_OF_UNIVERSE = "rest"

_PART_COLUMNS = ["active_weight", "factor", "specific", "contribution", "share"]


class PortfolioLike(Protocol):
    """What a decomposition needs of a portfolio (a ``TargetPortfolio`` has it)."""

    weights: pd.Series
    benchmark: pd.Series
    sectors: pd.Series


@dataclass(frozen=True)
class RiskDecomposition:
    """Euler decomposition of a portfolio's ex-ante tracking error.

    Attributes
    ----------
    tracking_error : float
        Annualized ex-ante tracking error (fraction, 0.01 = 1 %).
    components : pd.DataFrame
        Rows ``factor`` and ``specific``; columns ``variance`` (annualized return²),
        ``standalone`` (its square root, the factor/specific TE), ``contribution`` (variance / TE,
        adds up to TE) and ``share`` (contribution / TE, adds up to 1).
    by_factor : pd.DataFrame
        One row per factor: ``active_exposure`` (``Bᵀ a``, units of the exposures, e.g. σ or
        sector weight), ``contribution`` (TE units) and ``share``. Contributions add up to the
        ``factor`` component's contribution.
    by_asset : pd.DataFrame
        One row per asset: ``active_weight`` (fraction of NAV), its ``factor`` and ``specific``
        parts and their sum ``contribution`` (TE units), and ``share``. Adds up to TE.
    by_sector : pd.DataFrame
        ``by_asset`` summed by sector; adds up to TE.
    by_group : pd.DataFrame
        ``by_asset`` summed over each group's members, plus a ``rest`` row for names in no group;
        adds up to TE when the groups do not overlap. Empty when no groups were given.
    risk_model : str
        Description of the risk model used.
    """

    tracking_error: float
    components: pd.DataFrame
    by_factor: pd.DataFrame
    by_asset: pd.DataFrame
    by_sector: pd.DataFrame
    by_group: pd.DataFrame
    risk_model: str

    def _repr_html_(self) -> str:
        """Jupyter: the figure of :func:`plot_risk_decomposition` (inline PNG) and the tables."""
        png = base64.b64encode(figure_png(plot_risk_decomposition(self))).decode("ascii")
        return (
            f"<h4>Tracking error {self.tracking_error:.3%} — decomposition</h4>"
            f"<p>{html.escape(self.risk_model)}; Euler contributions in TE units (they add up to TE).</p>"
            f"<img alt='risk decomposition' src='data:image/png;base64,{png}'>"
            + "<h5>Factor vs specific</h5>"
            + self.components.to_html(float_format=lambda x: f"{x:.6g}")
            + "<h5>By factor</h5>"
            + self.by_factor.to_html(float_format=lambda x: f"{x:+.5f}")
            + "<h5>By sector</h5>"
            + self.by_sector.to_html(float_format=_percent)
            + ("<h5>By group</h5>" + self.by_group.to_html(float_format=_percent) if len(self.by_group) else "")
        )


def risk_decomposition(
    target: PortfolioLike,
    risk_model: RiskModel,
    groups: Mapping[str, Iterable[str]] | None = None,
) -> RiskDecomposition:
    """Decompose the ex-ante tracking error of ``target`` vs its benchmark.

    Parameters
    ----------
    target : TargetPortfolio or any object with ``weights``, ``benchmark`` and ``sectors`` Series
        Weights and benchmark weights by asset_id (fractions of NAV) and each asset's sector.
    risk_model : RiskModel
        Covers every asset of ``target.weights`` (rows are matched by asset_id).
    groups : mapping of str to iterable of asset_id, optional
        Named groups, e.g. ``snapshot.groups`` (``{"MAG7": (...)}``), for ``by_group``.

    Returns
    -------
    RiskDecomposition
        Euler contributions that add up to the tracking error.

    Raises
    ------
    DataError
        The risk model misses an asset, or a group names an asset not in the portfolio.
    """
    ids = pd.Index(target.weights.index, name="asset_id")
    model = risk_model.reindexed(ids)
    active = target.weights.to_numpy(float) - target.benchmark.reindex(ids, fill_value=0.0).to_numpy(float)
    loadings, specific_vol = model.loadings, model.specific_vol
    factor_part = active * (loadings @ (loadings.T @ active))
    specific_part = specific_vol**2 * active**2
    factor_var, specific_var = float(factor_part.sum()), float(specific_part.sum())
    te = float(np.sqrt(factor_var + specific_var))
    scale = 1.0 / te if te > 0 else 0.0

    exposures = model.exposures.T @ active
    factor_cov = model.factor_cov_sqrt @ model.factor_cov_sqrt.T
    by_factor = pd.DataFrame(
        {"active_exposure": exposures, "contribution": exposures * (factor_cov @ exposures) * scale},
        index=pd.Index(model.factor_names, name="factor"),
    )
    by_factor["share"] = by_factor["contribution"] * scale

    components = pd.DataFrame(
        {"variance": [factor_var, specific_var]}, index=pd.Index(["factor", "specific"], name="component")
    )
    components["standalone"] = np.sqrt(components["variance"])
    components["contribution"] = components["variance"] * scale
    components["share"] = components["contribution"] * scale

    by_asset = pd.DataFrame(
        {"active_weight": active, "factor": factor_part * scale, "specific": specific_part * scale}, index=ids
    )
    by_asset["contribution"] = by_asset["factor"] + by_asset["specific"]
    by_asset["share"] = by_asset["contribution"] * scale

    sectors = target.sectors.reindex(ids)
    by_sector = by_asset.groupby(sectors.rename("sector"), sort=True).sum()
    return RiskDecomposition(
        tracking_error=te,
        components=components,
        by_factor=by_factor,
        by_asset=by_asset,
        by_sector=by_sector[_PART_COLUMNS],
        by_group=_by_group(by_asset, groups or {}),
        risk_model=risk_model.name,
    )


def plot_risk_decomposition(decomposition: RiskDecomposition, axes: Sequence[Axes] | None = None) -> Figure:
    """Tracking error by source: factor vs specific, by factor, by sector and by group.

    Parameters
    ----------
    decomposition : RiskDecomposition
        From :func:`risk_decomposition`.
    axes : sequence of matplotlib Axes, optional
        Three axes (four when the decomposition has groups); a new 2×2 figure when omitted.

    Returns
    -------
    matplotlib.figure.Figure
        Panels of horizontal bars whose widths are Euler contributions to TE (annualized
        fraction); in each panel the bars add up to the tracking error (the factor panel
        adds up to the factor part).
    """
    panels: list[tuple[str, pd.Series]] = [
        ("Factor vs specific", decomposition.components["contribution"]),
        ("By factor", decomposition.by_factor["contribution"]),
        ("By sector", decomposition.by_sector["contribution"]),
    ]
    if len(decomposition.by_group):
        panels.append(("By group", decomposition.by_group["contribution"]))
    tallest = max(len(values) for _, values in panels)
    figure, grid = axes_grid_or_new(axes, len(panels), (12.0, 0.5 * tallest + 4.0), ncols=2)
    for ax, (title, values) in zip(grid, panels):
        y = np.arange(len(values), dtype=float)
        colors = [TARGET_COLOR if value >= 0 else UNDERWEIGHT_COLOR for value in values]
        ax.barh(y, values.to_numpy(float), 0.7, color=colors)
        ax.set_yticks(y, values.index.astype(str))
        ax.invert_yaxis()
        ax.axvline(0.0, color="black", linewidth=0.8)
        percent_axis(ax.xaxis)
        ax.set_xlabel("contribution to tracking error (annualized)")
        ax.set_title(title)
    figure.suptitle(f"Tracking error {decomposition.tracking_error:.2%}: Euler contributions")
    return figure


def _by_group(by_asset: pd.DataFrame, groups: Mapping[str, Iterable[str]]) -> pd.DataFrame:
    """Sum each group's rows of ``by_asset``; a ``rest`` row for names in no group."""
    if not groups:
        return pd.DataFrame(columns=_PART_COLUMNS, index=pd.Index([], name="group"), dtype=float)
    rows, grouped = {}, set()
    for name, members in groups.items():
        members = list(dict.fromkeys(str(m) for m in members))
        unknown = [m for m in members if m not in by_asset.index]
        if unknown:
            raise DataError(f"group {name!r}: {len(unknown)} asset(s) not in the portfolio, e.g. {unknown[:5]}")
        rows[str(name)] = by_asset.loc[members, _PART_COLUMNS].sum()
        grouped.update(members)
    rest = by_asset.index.difference(pd.Index(sorted(grouped)))
    rows[REST_OF_UNIVERSE] = by_asset.loc[rest, _PART_COLUMNS].sum()
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "group"
    return frame


def _percent(value: float) -> str:
    return f"{value:.3%}"
