"""Figures: what each one plots equals its input, computed independently here."""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

from trimtab.models import RiskModel  # noqa: E402
from trimtab.optimizer.research import (  # noqa: E402
    plot_active_weights,
    plot_backtest,
    plot_concentration,
    plot_frontier,
    plot_risk_decomposition,
    plot_sector_weights,
    risk_decomposition,
)


@dataclass(frozen=True)
class _Portfolio:
    weights: pd.Series
    benchmark: pd.Series
    sectors: pd.Series


def _portfolio(n: int = 30, seed: int = 1) -> _Portfolio:
    rng = np.random.default_rng(seed)
    ids = [f"S{i:02d}" for i in range(n)]
    sectors = pd.Series([("Energy", "Tech", "Health", "Utilities")[i % 4] for i in range(n)], index=ids)
    return _Portfolio(
        pd.Series(rng.dirichlet(np.ones(n)), index=ids), pd.Series(rng.dirichlet(np.ones(n)), index=ids), sectors
    )


def _bars_by_label(ax, container_index: int = 0) -> dict[str, float]:
    labels = [t.get_text() for t in ax.get_yticklabels()]
    return dict(zip(labels, (bar.get_width() for bar in ax.containers[container_index])))


@pytest.fixture(autouse=True)
def _no_pyplot_figures():
    """The plot functions never touch pyplot: no figure is registered, none needs closing."""
    before = plt.get_fignums()
    yield
    assert plt.get_fignums() == before


def test_sector_bars_are_the_benchmark_and_target_weights_by_sector():
    p = _portfolio()
    figure = plot_sector_weights(p)
    ax = figure.axes[0]
    assert len(ax.containers) == 2 and len(ax.containers[0]) == 4
    for sector in ("Energy", "Tech", "Health", "Utilities"):
        members = p.sectors.index[p.sectors == sector]
        assert _bars_by_label(ax, 0)[sector] == pytest.approx(p.benchmark[members].sum(), abs=1e-15)
        assert _bars_by_label(ax, 1)[sector] == pytest.approx(p.weights[members].sum(), abs=1e-15)
    assert [c.get_label() for c in ax.containers] == ["benchmark", "target"]
    assert "Sector weights" in ax.get_title()


def test_sector_bars_from_a_diagnostics_frame_on_given_axes():
    frame = pd.DataFrame({"target": [0.6, 0.4], "benchmark": [0.5, 0.5]}, index=["A", "B"])
    figure = matplotlib.figure.Figure()
    ax = figure.add_subplot()
    assert plot_sector_weights(frame, ax=ax) is figure
    assert _bars_by_label(ax, 1) == {"A": 0.6, "B": 0.4}


def test_active_bars_are_the_largest_absolute_active_weights_with_sign_colors():
    p = _portfolio()
    active = p.weights - p.benchmark
    expected = active.index[np.argsort(-np.abs(active.to_numpy()))[:8]]
    figure = plot_active_weights(p, n=8)
    ax = figure.axes[0]
    bars = _bars_by_label(ax)
    assert set(bars) == set(expected)
    for name, width in bars.items():
        assert width == pytest.approx(active[name], abs=1e-15)
    widths = list(bars.values())
    assert widths == sorted(widths, reverse=True)  # largest overweight on top
    for bar in ax.containers[0]:
        want = "#2ca02c" if bar.get_width() >= 0 else "#d62728"
        assert bar.get_facecolor() == to_rgba(want)
    with pytest.raises(ValueError):
        plot_active_weights(p, n=0)


def test_risk_panels_plot_each_euler_contribution():
    p = _portfolio(n=12)
    rng = np.random.default_rng(2)
    model = RiskModel(
        tuple(p.weights.index), ("f0", "f1"), rng.normal(size=(12, 2)), np.diag([0.2, 0.1]), rng.uniform(0.1, 0.3, 12)
    )
    d = risk_decomposition(p, model, {"top": ["S00", "S01"]})
    figure = plot_risk_decomposition(d)
    assert [ax.get_title() for ax in figure.axes] == ["Factor vs specific", "By factor", "By sector", "By group"]
    frames = [d.components, d.by_factor, d.by_sector, d.by_group]
    for ax, frame in zip(figure.axes, frames):
        bars = _bars_by_label(ax)
        assert bars == pytest.approx(frame["contribution"].to_dict(), abs=1e-15)
    # the bars of the first, third and fourth panel each add up to the tracking error
    for ax in (figure.axes[0], figure.axes[2], figure.axes[3]):
        assert sum(_bars_by_label(ax).values()) == pytest.approx(d.tracking_error, rel=1e-12)
    no_groups = plot_risk_decomposition(risk_decomposition(p, model))
    assert len(no_groups.axes) == 3


def _points(bounds, te, feasible):
    return pd.DataFrame({"bound": bounds, "tracking_error": te, "feasible": feasible})


def test_frontier_line_holds_the_feasible_points_and_marks_infeasible_bounds():
    points = _points([0.20, 0.05, 0.10, 0.15], [0.010, np.nan, 0.030, 0.020], [True, False, True, True])
    ax = plot_frontier(points, xlabel="MAG7 cap").axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"tracking error", "infeasible"}
    np.testing.assert_array_equal(lines["tracking error"].get_xdata(), [0.10, 0.15, 0.20])
    np.testing.assert_array_equal(lines["tracking error"].get_ydata(), [0.030, 0.020, 0.010])
    marker = lines["infeasible"]
    np.testing.assert_array_equal(marker.get_xdata(), [0.05])
    np.testing.assert_array_equal(marker.get_ydata(), [0.0])  # in axes coordinates: the bottom edge
    assert marker.get_marker() == "x" and to_rgba(marker.get_color()) == to_rgba("red")
    # the marker's y is in axes coordinates: x in data, y = bottom of the axes
    x_pixel, y_pixel = marker.get_transform().transform((0.05, 0.0))
    assert y_pixel == pytest.approx(ax.transAxes.transform((0.0, 0.0))[1])
    assert x_pixel == pytest.approx(ax.transData.transform((0.05, 0.0))[0])
    assert ax.get_xlabel() == "MAG7 cap"
    assert "infeasible" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_several_frontiers_share_the_axes_and_all_feasible_has_no_marker():
    loose = _points([0.1, 0.2], [0.02, 0.01], [True, True])
    tight = _points([0.1, 0.2], [np.nan, 0.015], [False, True])
    ax = plot_frontier({"loose": loose, "tight": tight}).axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["loose", "tight", "tight: infeasible"]
    with pytest.raises(ValueError, match="feasible"):
        plot_frontier(loose.drop(columns="feasible"))


def _returns(days: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    index = pd.bdate_range("2023-01-02", periods=days)
    return pd.DataFrame(
        rng.normal(0.0003, 0.01, (days, 3)), index=index, columns=["optimized", "cap_weighted", "equal_weighted"]
    )


def test_backtest_panels_are_growth_of_one_and_relative_wealth():
    r = _returns()
    top, bottom = plot_backtest(r).axes
    growth = {line.get_label(): line for line in top.get_lines()}
    assert list(growth) == ["optimized", "cap_weighted", "equal_weighted"]
    for column, line in growth.items():
        np.testing.assert_allclose(line.get_ydata(), np.cumprod(1.0 + r[column].to_numpy()), rtol=1e-14)
    active = {line.get_label(): line for line in bottom.get_lines() if not line.get_label().startswith("_")}
    assert list(active) == ["optimized", "equal_weighted"]
    cap = np.cumprod(1.0 + r["cap_weighted"].to_numpy())
    for column, line in active.items():
        np.testing.assert_allclose(line.get_ydata(), np.cumprod(1.0 + r[column].to_numpy()) / cap - 1.0, rtol=1e-12)
    assert growth["optimized"].get_color() == active["optimized"].get_color()
    with pytest.raises(ValueError, match="cap_weighted"):
        plot_backtest(r.drop(columns="cap_weighted"))


def test_concentration_has_one_panel_per_measure_with_its_series():
    dates = pd.date_range("2015-03-31", periods=12, freq="QE")
    frame = pd.DataFrame(
        {"top_10_weight": np.linspace(0.25, 0.38, 12), "hhi": np.linspace(0.01, 0.03, 12),
         "effective_n": np.linspace(100, 33, 12), "MAG7": np.linspace(0.15, 0.32, 12)},
        index=dates,
    )
    figure = plot_concentration(frame)
    assert [ax.get_title() for ax in figure.axes] == list(frame.columns)
    for ax, column in zip(figure.axes, frame.columns):
        (line,) = ax.get_lines()
        np.testing.assert_array_equal(line.get_ydata(), frame[column].to_numpy())
        assert len(line.get_xdata()) == 12


def test_a_figure_draws_itself_as_png_in_jupyter():
    """IPython displays an object with ``_repr_png_``; a pyplot-free Figure has none of its own."""
    import matplotlib.image as mpimg
    import io

    portfolio = _portfolio()
    figure = plot_active_weights(portfolio, n=5)
    png = figure._repr_png_()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    pixels = mpimg.imread(io.BytesIO(png), format="png")
    width, height = figure.get_size_inches() * 100
    assert pixels.shape[:2] == (round(height), round(width)) and pixels.std() > 0
