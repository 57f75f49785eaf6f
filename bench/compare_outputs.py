"""Capture what users see from trimtab, to prove a refactor changed nothing.

Runs only through the installed ``trimtab`` command and the notebooks (never through Python
imports), so the same script works on both sides of a change to the package layout::

    python bench/compare_outputs.py capture /tmp/before     # on the old tree's install
    python bench/compare_outputs.py capture /tmp/after      # on the new tree's install
    python bench/compare_outputs.py compare /tmp/before /tmp/after

What it captures, per item a text file under DIR:

* every ``examples/*.yaml`` job: ``targets.csv`` and ``summary.json`` of ``trimtab optimize``
  (timing fields and the job's absolute path dropped), its exit code, and ``diagnosis.json``
  of ``trimtab diagnose``;
* the README's export example: every file of the order batch (CSV, Parquet as CSV text,
  JSON, FIX, manifest) written by ``trimtab export`` from the default job's run;
* the notebooks: every text output (printed values, tables) of each executed notebook.

``compare`` prints the items that differ (a unified diff of the first lines) and exits 1 if any;
with ``--tolerance 1e-8`` an item whose text differs only in numbers that close (relative above
1) is listed as equal within it, not as differing.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: summary.json fields that are wall-clock times or machine paths, not results.
VOLATILE = {"solve_seconds", "build_seconds", "risk_model_seconds", "job_source", "seconds"}


def _scrub(value):
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def _json_text(path: Path) -> str:
    return json.dumps(_scrub(json.loads(path.read_text())), indent=1, sort_keys=True) + "\n"


def _trimtab(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["trimtab", *args], cwd=cwd, capture_output=True, text=True, check=False)


def capture_jobs(out: Path, work: Path) -> None:
    for job in sorted((ROOT / "examples").glob("*.yaml")):
        run = work / job.stem
        done = _trimtab("optimize", str(job), "--out", str(run), "--quiet", cwd=work)
        (out / f"job-{job.stem}-exit.txt").write_text(f"{done.returncode}\n")
        for name in ("targets.csv", "summary.json"):
            if (run / name).exists():
                text = _json_text(run / name) if name.endswith(".json") else (run / name).read_text()
                (out / f"job-{job.stem}-{name}.txt").write_text(text)
        _trimtab("diagnose", str(job), "--out", str(work / f"{job.stem}-diagnosis"), cwd=work)
        diagnosis = work / f"{job.stem}-diagnosis" / "diagnosis.json"
        if diagnosis.exists():
            (out / f"job-{job.stem}-diagnosis.json.txt").write_text(_json_text(diagnosis))


def capture_export(out: Path, work: Path) -> None:
    import pandas as pd

    run = work / "export-run"
    _trimtab("optimize", str(ROOT / "examples/mag7_value_quality.yaml"), "--out", str(run), "-q", cwd=work)
    desk = ROOT / "examples/desk"
    done = _trimtab(
        "export", str(run), "--holdings", str(desk / "holdings.csv"), "--prices", str(desk / "prices.csv"),
        "--cash", "46453.82", "-f", "csv", "-f", "parquet", "-f", "json", "-f", "fix", "--out", str(work / "orders"),
        cwd=work,
    )
    (out / "export-exit.txt").write_text(f"{done.returncode}\n{done.stdout.replace(str(work), '<work>')}")
    for batch in sorted((work / "orders").glob("*")):
        for file in sorted(p for p in batch.rglob("*") if p.is_file()):
            name = f"export-{batch.name}-{file.relative_to(batch).as_posix().replace('/', '_')}.txt"
            if file.suffix == ".parquet":
                text = pd.read_parquet(file).to_csv(index=False)
            elif file.suffix == ".json":
                text = _json_text(file).replace(str(work), "<work>")
            else:
                text = file.read_text(errors="replace").replace(str(work), "<work>")
            (out / name).write_text(text)


def capture_notebooks(out: Path, work: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    env = {"TRIMTAB_FIGURES": str(work / "figures"), "TMPDIR": str(work)}
    os.environ.update(env)
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
        lines = []
        for i, cell in enumerate(c for c in notebook.cells if c.cell_type == "code"):
            for output in cell.get("outputs", []):
                text = output.get("text") or output.get("data", {}).get("text/plain", "")
                if text:
                    lines.append(f"--- cell {i} ({output['output_type']})\n{text.rstrip()}\n")
        (out / f"notebook-{path.stem}.txt").write_text("".join(lines).replace(str(work), "<work>"))


def capture(out: Path, skip_notebooks: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        capture_jobs(out, work)
        capture_export(out, work)
        if not skip_notebooks:
            capture_notebooks(out, work)
    print(f"captured {len(list(out.iterdir()))} items in {out}")


#: What differs between two runs of the same code, in notebook text: wall-clock times ("…, 7.5 s"),
#: temporary folder names, and the size of a summary.json (its timing fields have varying digits).
_VOLATILE_TEXT = (
    (re.compile(r"\b\d+\.\d+ s\b"), "<seconds> s"),
    (re.compile(r"trimtab-notebook-\w+"), "trimtab-notebook-<tmp>"),
    (re.compile(r"summary\.json(\s+)[\d,]+ bytes"), r"summary.json\1<n> bytes"),
)


def _comparable(path: Path) -> str:
    text = path.read_text()
    for pattern, replacement in _VOLATILE_TEXT:
        text = pattern.sub(replacement, text)
    return text


#: A number in captured text (dates and ids split into numbers too, and compare exactly as text).
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def _numbers_within(a: str, b: str, tolerance: float) -> bool:
    """Same text but for numbers, each pair within ``tolerance`` (absolute, relative above 1)."""
    if _NUMBER.sub("#", a) != _NUMBER.sub("#", b):
        return False
    pairs = zip(_NUMBER.findall(a), _NUMBER.findall(b), strict=True)
    return all(abs(float(x) - float(y)) <= tolerance * max(1.0, abs(float(x))) for x, y in pairs)


#: Content addresses: the export batch id (as-of date and a hash of the targets), SHA-256 digests,
#: and the FIX checksum over a message holding the batch id. They change with any digit of the
#: targets, so a comparison within a tolerance sets them aside (the content they hash is compared).
_CONTENT_HASHES = (
    (re.compile(r"\b\d{8}-[0-9a-f]{12}\b"), "<batch>"),
    (re.compile(r"\b[0-9a-f]{64}\b"), "<sha256>"),
    (re.compile(r"\x0110=\d{3}\x01"), "\x0110=<checksum>\x01"),
)


def _unhashed(text: str) -> str:
    for pattern, replacement in _CONTENT_HASHES:
        text = pattern.sub(replacement, text)
    return text


def compare(before: Path, after: Path, tolerance: float = 0.0) -> int:
    """Print the items that differ; with ``tolerance``, numbers within it count as equal (issue 13: 1e-8).

    With a tolerance, items are paired and read with their content hashes set aside (``_CONTENT_HASHES``).
    """
    key = _unhashed if tolerance > 0 else (lambda name: name)
    files_a, files_b = ({key(p.name): p for p in folder.iterdir()} for folder in (before, after))
    names = sorted(set(files_a) | set(files_b))
    differ = close = 0
    for name in names:
        a, b = files_a.get(name), files_b.get(name)
        if a is None or b is None:
            print(f"only in {'after' if b is not None else 'before'}: {name}")
            differ += 1
            continue
        text_a, text_b = (key(_comparable(path)) for path in (a, b))
        if text_a == text_b:
            continue
        if tolerance > 0 and _numbers_within(text_a, text_b, tolerance):
            close += 1
            print(f"equal within {tolerance:g} (not to the digit): {name}")
            continue
        differ += 1
        diff = difflib.unified_diff(text_a.splitlines(), text_b.splitlines(), "before", "after", lineterm="")
        print(f"differs: {name}\n" + "\n".join(list(diff)[:20]))
    identical = len(names) - differ - close
    print(f"{identical} of {len(names)} items identical" + (f", {close} equal within {tolerance:g}" if tolerance > 0 else ""))
    return 1 if differ else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    cap = sub.add_parser("capture")
    cap.add_argument("dir", type=Path)
    cap.add_argument("--skip-notebooks", action="store_true")
    cmp_ = sub.add_parser("compare")
    cmp_.add_argument("before", type=Path)
    cmp_.add_argument("after", type=Path)
    cmp_.add_argument("--tolerance", type=float, default=0.0, help="numbers this close count as equal (e.g. 1e-8)")
    args = parser.parse_args()
    if args.command == "capture":
        capture(args.dir, args.skip_notebooks)
        return 0
    return compare(args.before, args.after, args.tolerance)


if __name__ == "__main__":
    sys.exit(main())
