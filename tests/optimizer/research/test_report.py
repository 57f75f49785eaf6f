"""``trimtab report``: a self-contained, deterministic HTML page whose numbers are the run's."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from trimtab import optimizer
from trimtab.models import DataError
from trimtab.optimizer import OutputError
from trimtab.optimizer.research import render_report, write_report
from trimtab.optimizer.cli import _report as report_cli

REPO = Path(__file__).parents[3]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

_bench_spec = importlib.util.spec_from_file_location(
    "trimtab_bench_check_report_in_browser", REPO / "bench" / "check_report_in_browser.py"
)
browser_check = importlib.util.module_from_spec(_bench_spec)
sys.modules[_bench_spec.name] = browser_check  # dataclasses look their module up here
_bench_spec.loader.exec_module(browser_check)


class _Page(HTMLParser):
    """Tags with their attributes, and every table as rows of cell texts."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A solved default job written as a run directory, and its report written once."""
    run_dir = tmp_path_factory.mktemp("report") / "run"
    target = optimizer.optimize(REPO / "examples" / "mag7_value_quality.yaml")
    optimizer.write_run(target, run_dir)
    report = write_report(run_dir)
    return run_dir, report


def _app() -> typer.Typer:
    app = typer.Typer()
    app.callback()(lambda: None)  # a group, so the command is invoked by name as in trimtab
    report_cli.register(app)
    return app


def _invoke(*args):
    return CliRunner().invoke(_app(), ["report", *map(str, args)])


def test_every_image_is_an_inline_png_and_nothing_is_external(run):
    _, report = run
    page = _Page(report.read_text())
    images = [attrs for tag, attrs in page.tags if tag == "img"]
    assert len(images) == 3
    for attrs in images:
        prefix = "data:image/png;base64,"
        assert attrs["src"].startswith(prefix) and attrs["alt"]
        png = base64.b64decode(attrs["src"][len(prefix):], validate=True)
        assert png.startswith(PNG_SIGNATURE)
        pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
        assert pixels.shape[0] > 300 and pixels.shape[1] > 500
        assert pixels[..., :3].std() > 0.05  # drawn on, not a blank canvas
    assert not [tag for tag, _ in page.tags if tag in ("script", "link", "iframe", "object", "embed")]
    for _, attrs in page.tags:
        for name in ("src", "href"):
            assert not attrs.get(name, "data:").startswith(("http:", "https:", "//", "file:")), attrs


def test_page_states_the_recorded_summary_and_every_constraint(run):
    run_dir, report = run
    text = report.read_text()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert f"{summary['tracking_error']:.3%}" in text
    assert f"{summary['active_share']:.2%}" in text
    assert f"{summary['turnover']:.2%}" in text
    for group, weights in summary["groups"].items():
        assert f"{weights['target']:.2%}" in text and f"{weights['benchmark']:.2%}" in text, group
    constraint_names = [row[0] for row in _table_after(text, "<h2>Constraints</h2>")[1:]]
    assert constraint_names == [c["name"] for c in summary["constraints"]]


def _table_after(text: str, heading: str) -> list[list[str]]:
    return _Page(text[text.index(heading):]).tables[0]


def _table_rows(table: list[list[str]]) -> tuple[list[str], dict[str, list[str]]]:
    """Column names and the body rows by their first cell (pandas adds a row for the index name)."""
    header = table[0][1:]
    body = {row[0]: row[1:] for row in table[1:] if any(row[1:])}
    return header, body


def test_risk_table_reproduces_the_recorded_factor_and_specific_te(run):
    run_dir, report = run
    summary = json.loads((run_dir / "summary.json").read_text())
    header, rows = _table_rows(_table_after(report.read_text(), "<h2>Risk decomposition</h2>"))
    standalone = header.index("standalone")
    assert float(rows["factor"][standalone]) == pytest.approx(summary["factor_tracking_error"], rel=1e-5)
    assert float(rows["specific"][standalone]) == pytest.approx(summary["specific_tracking_error"], rel=1e-5)
    contribution = header.index("contribution")
    total = float(rows["factor"][contribution]) + float(rows["specific"][contribution])
    assert total == pytest.approx(summary["tracking_error"], rel=1e-5)


def test_concentration_table_matches_a_hand_computation(run):
    run_dir, report = run
    targets = pd.read_csv(run_dir / "targets.csv", index_col="asset_id")
    summary = json.loads((run_dir / "summary.json").read_text())
    table = _table_after(report.read_text(), "<h2>Concentration</h2>")
    header, body = _table_rows(table)
    rows = {name: {column: float(cell) if cell != "—" else np.nan for column, cell in zip(header, cells)}
            for name, cells in body.items()}
    for name, column in (("benchmark", "benchmark_weight"), ("target", "target_weight")):
        w = targets[column].to_numpy() / targets[column].sum()
        hhi = float(np.sum(w**2))
        assert rows[name]["top_n_weight"] == pytest.approx(np.sort(w)[-10:].sum(), rel=1e-3)
        assert rows[name]["hhi"] == pytest.approx(hhi, rel=1e-3)
        assert rows[name]["effective_n"] == pytest.approx(1.0 / hhi, rel=1e-3)
        assert rows[name]["MAG7"] == pytest.approx(summary["groups"]["MAG7"][name] / targets[column].sum(), rel=1e-3)
    assert rows["equal weight"]["effective_n"] == pytest.approx(len(targets), rel=1e-3)
    assert 0.35 <= rows["benchmark"]["top_n_weight"] <= 0.40  # the acceptance on the embedded data


def test_two_renders_are_byte_identical(run):
    run_dir, report = run
    assert render_report(run_dir).encode("utf-8") == report.read_bytes()


def test_existing_report_is_kept_unless_forced(run, tmp_path):
    run_dir, report = run
    out = tmp_path / "mine.html"
    out.write_text("keep me")
    with pytest.raises(OutputError, match="mine.html exists"):
        write_report(run_dir, out)
    result = _invoke(run_dir, "--out", out)
    assert result.exit_code == 2 and "mine.html" in result.output and "--force" in result.output
    assert out.read_text() == "keep me"
    result = _invoke(run_dir, "--out", out, "--force")
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == report.read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


def _broken_copy(run_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    (copy / "report.html").unlink()
    return copy


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda d: (d / "summary.json").unlink(), "summary.json is missing"),
        (lambda d: (d / "targets.csv").unlink(), "targets.csv is missing"),
        (lambda d: (d / "summary.json").write_text("{not json"), "cannot read the run"),
        (lambda d: _edit_summary(d, job_sha256="0" * 64), "changed since the run"),
        (lambda d: _edit_summary(d, tracking_error=0.5), "not reproduced"),
    ],
    ids=["no-summary", "no-targets", "bad-json", "job-changed", "te-differs"],
)
def test_broken_run_dir_exits_2_naming_the_cause_and_writes_nothing(run, tmp_path, breakage, message):
    copy = _broken_copy(run[0], tmp_path)
    breakage(copy)
    result = _invoke(copy)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split()) and "Traceback" not in result.output
    assert not (copy / "report.html").exists()
    with pytest.raises(DataError, match=message):
        render_report(copy)


def _edit_summary(run_dir: Path, **changes) -> None:
    path = run_dir / "summary.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def test_missing_run_dir_names_it(tmp_path):
    result = _invoke(tmp_path / "nowhere")
    assert result.exit_code == 2 and "nowhere" in result.output


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_headless_chromium_loads_every_image(run, tmp_path):
    _, report = run
    result = browser_check.check_images_in_browser(report)
    assert result.total == 3 and result.loaded == 3
    # the check can fail: a page with one undecodable image is reported as such
    broken = tmp_path / "broken.html"
    broken.write_text(
        report.read_text().replace("data:image/png;base64,", "data:image/png;base64,AAAA", 1)
    )
    assert browser_check.check_images_in_browser(broken) == browser_check.ImageCheck(total=3, loaded=2)
