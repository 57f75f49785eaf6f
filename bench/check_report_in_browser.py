"""Open a ``trimtab report`` page in headless Chromium and check that every image loaded.

Usage::

    python bench/check_report_in_browser.py [REPORT.html]

Without an argument it solves ``examples/mag7_value_quality.yaml``, writes the run and its
report into a temporary directory and checks that. A copy of the page gets a tiny script
that, on ``load``, writes into the DOM how many ``img`` elements are ``complete`` with a
``naturalWidth`` > 0; Chromium (``--dump-dom``, network blocked by host rules) prints the DOM
and this script reads the count back. Exit status 0 when every image loaded, 1 otherwise,
2 when Chromium is not installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

#: Chromium binary looked up on PATH (Debian's package installs /usr/bin/chromium).
CHROMIUM = "chromium"

_MARKER_ID = "trimtab-image-check"
_CHECK_SCRIPT = (
    "<script>window.addEventListener('load', function () {"
    " var images = Array.from(document.images);"
    " var loaded = images.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;"
    f" var marker = document.createElement('div'); marker.id = '{_MARKER_ID}';"
    " marker.setAttribute('data-total', images.length); marker.setAttribute('data-loaded', loaded);"
    " document.body.appendChild(marker); });</script>"
)
_MARKER = re.compile(rf'<div id="{_MARKER_ID}" data-total="(\d+)" data-loaded="(\d+)">')


@dataclass(frozen=True)
class ImageCheck:
    """How many ``img`` elements the page has and how many the browser decoded."""

    total: int
    loaded: int

    @property
    def all_loaded(self) -> bool:
        """At least one image, and every image loaded."""
        return self.total > 0 and self.loaded == self.total


def check_images_in_browser(html_path: str | Path, *, chromium: str | None = None, timeout: float = 120.0) -> ImageCheck:
    """Load ``html_path`` (a copy with the check script) in headless Chromium; count loaded images.

    Raises
    ------
    FileNotFoundError
        Chromium is not installed.
    RuntimeError
        Chromium failed or its DOM has no result marker.
    """
    binary = chromium or shutil.which(CHROMIUM)
    if binary is None:
        raise FileNotFoundError(f"{CHROMIUM} is not installed")
    page = Path(html_path).read_text(encoding="utf-8")
    if "</body>" not in page:
        raise RuntimeError(f"{html_path}: no </body> to put the check script before")
    with tempfile.TemporaryDirectory(prefix="trimtab-browser-") as work:
        copy = Path(work) / "page.html"
        copy.write_text(page.replace("</body>", _CHECK_SCRIPT + "</body>", 1), encoding="utf-8")
        command = [
            binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            f"--user-data-dir={Path(work) / 'profile'}",
            "--host-resolver-rules=MAP * ~NOTFOUND",  # no network: an external resource would fail to load
            "--virtual-time-budget=10000", "--dump-dom", copy.as_uri(),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    found = _MARKER.search(done.stdout)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"chromium exited {done.returncode} without the image count; stderr: {done.stderr[-2000:]}")
    return ImageCheck(total=int(found.group(1)), loaded=int(found.group(2)))


def _write_default_report(work: Path) -> Path:
    from trimtab import optimizer
    from trimtab.optimizer.research import write_report

    repo = Path(__file__).resolve().parents[1]
    target = optimizer.optimize(repo / "examples" / "mag7_value_quality.yaml")
    optimizer.write_run(target, work / "run")
    return write_report(work / "run", work / "report.html")


def main(argv: list[str]) -> int:
    if shutil.which(CHROMIUM) is None:
        print(f"{CHROMIUM} is not installed (apt-get install chromium)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="trimtab-report-") as work:
        report = Path(argv[0]) if argv else _write_default_report(Path(work))
        result = check_images_in_browser(report)
        size = report.stat().st_size
    verdict = "OK" if result.all_loaded else "FAILED"
    print(f"{verdict}: {result.loaded}/{result.total} images loaded in headless chromium ({report.name}, {size:,} bytes)")
    return 0 if result.all_loaded else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
