"""What every notebook shares: the setup cell, the job template, and the cell constructors."""

from __future__ import annotations

from nbformat.v4 import new_code_cell, new_markdown_cell

# The first code cell of every notebook: imports, where the repo is, where figures go.
SETUP = '''\
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import Image, display

import trimtab
from trimtab import models
from trimtab.optimizer import research

# The repository root, whether the notebook runs from the repo root or from notebooks/.
ROOT = next(
    (p for p in (Path.cwd(), *Path.cwd().parents) if (p / "examples" / "mag7_value_quality.yaml").is_file()), None
)
assert ROOT is not None, "run the notebook from the trimtab repository (or its notebooks/ folder)"

# Every figure is also written as a PNG into TRIMTAB_FIGURES (default: a temporary folder);
# every other file this notebook writes goes to the temporary folder WORK, never into the repo.
FIGURES = Path(os.environ.get("TRIMTAB_FIGURES") or tempfile.mkdtemp(prefix="trimtab-figures-"))
FIGURES.mkdir(parents=True, exist_ok=True)
WORK = Path(tempfile.mkdtemp(prefix="trimtab-notebook-"))
pd.set_option("display.width", 160)
pd.set_option("display.max_columns", 20)


def show(figure, name):
    """Write ``figure`` to FIGURES/<name>.png and display that file."""
    path = FIGURES / f"{name}.png"
    figure.savefig(path, dpi=90, bbox_inches="tight")
    display(Image(filename=str(path)))


def pct(x, decimals=2):
    return f"{x:.{decimals}%}"


def formatted(frame, formats):
    """The frame as text for display: ``formats`` is one format for every column or {column: format}."""
    formats = formats if isinstance(formats, dict) else {column: formats for column in frame.columns}
    out = frame.copy()
    for column, spec in formats.items():
        out[column] = [("—" if pd.isna(x) else spec.format(x)) for x in frame[column]]
    return out


print(f"repo: {ROOT}\\nfigures: {FIGURES}\\nwork dir: {WORK}")'''

# The embedded job's rules, written out so a notebook can change one of them as text.
JOB_TEMPLATE = '''\
JOB_TEMPLATE = """
name: {name}
data: {{source: embedded, seed: 7}}                  # the synthetic S&P 500-like dataset
risk_model: {{method: fundamental, window: 756}}     # sector + style factor model, 3 years
constraints:
{rules}
"""


def job_from_rules(name, rules, extra=""):
    """A JobSpec from YAML text: the rules are data."""
    return trimtab.loads_job(JOB_TEMPLATE.format(name=name, rules=rules) + extra)'''


def md(text: str):
    return new_markdown_cell(text.strip("\n"))


def code(text: str):
    return new_code_cell(text.strip("\n"))
