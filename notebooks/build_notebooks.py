"""Write the research notebooks (``notebooks/*.ipynb``) from the cells in ``notebooks/notebook_cells/`` (one module per notebook).

The notebooks are committed without outputs; edit a notebook's cells module, then run::

    python notebooks/build_notebooks.py

and commit both. ``tests/test_notebooks.py`` executes every notebook and checks that it is
committed clean (no outputs, no execution counts) and uses only the public API.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_notebook

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # the cells live beside this script
    sys.path.insert(0, str(HERE))

from notebook_cells.nb01_quickstart import QUICKSTART  # noqa: E402
from notebook_cells.nb02_mag7_cap_frontier import MAG7_FRONTIER  # noqa: E402
from notebook_cells.nb03_value_quality_tilts import TILTS  # noqa: E402
from notebook_cells.nb04_backtest import BACKTEST  # noqa: E402
from notebook_cells.nb05_export_to_oms import EXPORT  # noqa: E402
from notebook_cells.nb06_tax_aware import TAXES  # noqa: E402

NOTEBOOKS = {
    "01_quickstart.ipynb": QUICKSTART,
    "02_mag7_cap_frontier.ipynb": MAG7_FRONTIER,
    "03_value_quality_tilts.ipynb": TILTS,
    "04_backtest_cap_vs_equal_vs_optimized.ipynb": BACKTEST,
    "05_export_to_oms.ipynb": EXPORT,
    "06_tax_aware_rebalancing.ipynb": TAXES,
}

METADATA = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def build(directory: Path = HERE) -> list[Path]:
    """Write every notebook (without outputs) into ``directory``; return the paths."""
    written = []
    for name, cells in NOTEBOOKS.items():
        notebook = new_notebook(cells=cells, metadata=METADATA)
        for i, cell in enumerate(notebook.cells):  # stable ids: same source, same bytes
            cell["id"] = f"{Path(name).stem[:2]}-{i:02d}"
        nbformat.validate(notebook)
        path = directory / name
        path.write_text(nbformat.writes(notebook) + "\n", encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in build():
        print(path)
