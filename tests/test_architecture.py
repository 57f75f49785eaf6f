"""Imports go one way: models ← constraints ← optimizer core ← export / research ← cli.

Every module of the trimtab package that Python imports (found with ``importlib.util.find_spec``:
the source tree under ``python -m pytest``, else the installed copy; subpackages included) is
parsed with :mod:`ast`; relative imports are resolved to absolute names, and each import is
recorded with its line and whether it is at module level or inside a function (and whether under
``if TYPE_CHECKING:``). The checker is ``tests/architecture_rules.py``, a function over a directory
tree, so the self-tests below run it on fake trees that each plant one violation.

The checker is hand-written because import-linter/grimp (2.17/3.20, tried) records neither the
scope of an import nor the imported names (so no "only inside functions" and no private *names*),
finds cycles only between sibling packages, and in this source tree sees only ``trimtab/__init__``
and ``__main__`` (it does not follow the ``trimtab.__path__`` extension to the top-level folders).

Rules (a test fails naming file:line and the rule):

1. ``trimtab.models`` imports nothing of trimtab outside itself, and no third-party library but
   numpy, pandas, sklearn, scipy (the standard library is fine).
2. ``trimtab.constraints`` imports nothing of trimtab but models and constraints (no optimizer).
3. The optimizer core (the modules directly in ``optimizer/``) imports neither
   ``trimtab.optimizer.export``, ``.research``, ``.cli``, nor the ``trimtab`` facade above it
   (``trimtab/__init__.py`` re-exports the core; the same holds for rules 1 and 2).
4. ``export`` does not import ``research``, nor ``research`` ``export``.
5. Nothing outside ``trimtab.optimizer.cli`` imports it; ``trimtab/__main__.py`` excepted.
6. ``trimtab.optimizer.cli`` imports export, research and batch only inside functions (an import at
   module level counts even under ``if TYPE_CHECKING:``).
7. No module imports a private module or name (a dotted component starting with ``_``, dunders
   excepted) owned by another package than its own. A package is a directory with ``__init__.py``:
   ``trimtab``, ``trimtab.models``, ``trimtab.constraints``, ``trimtab.optimizer`` (the core),
   ``….export``, ``….research``, ``….cli`` are all different; the owner of ``a.b._c.d`` is ``a.b``.
   So ``from .._compiled import X`` inside export is a violation, ``from ._x import y`` is not.
8. No import cycle. The graph: one node per module (a package is its ``__init__``); one edge per
   import statement — module level, inside a function, or under ``TYPE_CHECKING`` alike — to the
   most specific module it names: ``import a.b`` → ``a.b``; ``from a.b import n`` → ``a.b.n`` when
   that is a module (``from . import _x``, ``from trimtab import models``), else ``a.b``'s
   ``__init__`` (``from .. import prepare``). Python's implicit initialization of the enclosing
   packages before a submodule is *not* an edge: the parent is initialized first, so an ancestor
   ``__init__`` that imports (re-exports) a descendant never forms a cycle by containing it, and a
   submodule's edge to an ancestor ``__init__`` exists only when it imports a name from it. A cycle
   is a closed path in this graph (self-imports aside). Hence ``__init__`` → ``_run`` with
   ``_run``: ``from . import _compiled`` is no cycle; ``_run``: ``from . import optimize`` (a name
   of the ``__init__`` that imports ``_run``) is one (a partially initialized module); export's
   ``from .. import X`` is one only if the core imports export back. Reporting: the shortest cycle
   through the smallest-named module of each strongly connected component, as a path with the
   file:line of each step; its edges are set aside and this repeats until no cycle is left (so the
   reported cycles share no edge, and every cycle shares an edge with a reported one).
9. In a fresh interpreter, ``import trimtab.optimizer`` loads no ``matplotlib``, ``quickfix``,
   ``dask``, ``distributed``, ``trimtab.optimizer.export/research/batch/cli``, and no ``pyarrow``
   module beyond those that ``import pandas`` alone loads (never ``pyarrow.parquet`` or
   ``pyarrow.csv``).
10. ``trimtab.optimizer.batch`` (many accounts on Dask) sits between export and the CLI: it
   imports the core at will and ``export`` only inside functions (its Dask workers never load
   export), never ``research`` (nor the CLI, rule 5); neither export nor research imports it
   (the CLI imports it only inside its command, rule 6).

Rule 0 is a sanity check: every relative import resolves inside the tree.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from functools import cache
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "trimtab_tests_architecture_rules", Path(__file__).parent / "architecture_rules.py"
)
rules = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = rules  # dataclasses look their module up
_spec.loader.exec_module(rules)

SUBPACKAGES = ("models", "constraints", "optimizer")


# ---------------------------------------------------------------------------------------------
# the real tree


@cache
def package_dirs() -> dict[str, Path]:
    """``{"trimtab": dir, "trimtab.models": dir, …}`` of the trimtab that ``import trimtab`` finds."""
    dirs = {}
    for name in ("trimtab", *(f"trimtab.{sub}" for sub in SUBPACKAGES)):
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None, f"{name} not importable"
        dirs[name] = Path(spec.origin).parent  # the __init__.py's folder (a source or installed copy)
    return dirs


@cache
def real_violations() -> tuple:
    return tuple(rules.check(package_dirs(), root="trimtab"))


def test_the_walk_finds_every_module_of_every_subpackage():
    modules = rules.discover(package_dirs())
    for package in ("models", "constraints", "optimizer", "optimizer.export", "optimizer.research", "optimizer.batch",
                    "optimizer.cli"):
        assert modules[f"trimtab.{package}"].is_package
    on_disk = {
        path
        for directory in package_dirs().values()
        for path in directory.rglob("*.py")
        if (path.parent / "__init__.py").is_file() and "__pycache__" not in path.parts
    }
    assert {m.path for m in modules.values()} == on_disk
    assert "trimtab.__main__" in modules and "trimtab.optimizer.export._api" in modules


@pytest.mark.parametrize("rule", sorted(rules.RULES))
def test_the_real_tree_keeps_the_rule(rule):
    broken = [str(v) for v in real_violations() if v.rule == rule]
    assert not broken, f"rule {rule} ({rules.RULES[rule]}):\n" + "\n".join(broken)


def _start_interpreter(statement: str) -> subprocess.Popen:
    """A fresh interpreter that runs ``statement`` with this trimtab and prints ``sorted(sys.modules)``."""
    trimtab_dir = package_dirs()["trimtab"]
    import_root = str(trimtab_dir.parent)
    code = textwrap.dedent(f"""
        import json, sys
        {statement}
        import trimtab
        assert trimtab.__file__ == {str(trimtab_dir / "__init__.py")!r}, trimtab.__file__
        print(json.dumps(sorted(sys.modules)))
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (import_root, os.environ.get("PYTHONPATH")) if p)}
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=import_root,
    )


def _loaded_modules(process: subprocess.Popen) -> list[str]:
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    return json.loads(stdout.strip().splitlines()[-1])


def test_importing_the_core_loads_neither_export_research_cli_nor_their_libraries():
    core, pandas = _start_interpreter("import trimtab.optimizer"), _start_interpreter("import pandas")
    loaded = _loaded_modules(core)
    baseline = set(_loaded_modules(pandas))  # pandas >= 3 imports pyarrow itself when installed
    assert "trimtab.optimizer" in loaded
    forbidden = (
        "matplotlib",
        "quickfix",
        "trimtab.optimizer.export",
        "trimtab.optimizer.research",
        "trimtab.optimizer.batch",
        "trimtab.optimizer.cli",
        "dask",
        "distributed",
    )
    assert not [m for m in loaded if m.startswith(forbidden)]
    extra_pyarrow = [m for m in loaded if m.partition(".")[0] == "pyarrow" and m not in baseline]
    assert not extra_pyarrow, f"beyond what `import pandas` loads: {extra_pyarrow}"
    assert "pyarrow.parquet" not in loaded and "pyarrow.csv" not in loaded


# ---------------------------------------------------------------------------------------------
# self-tests on a fake tree with the same layout

CLEAN_TREE = {
    "__init__.py": """
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:  # the facade re-exports the core, lazily
            from trimtab.optimizer import solve
    """,
    "__main__.py": "from trimtab.optimizer.cli import main\nmain()\n",
    "models/__init__.py": "from ._errors import DataError\nfrom ._tables import read_table\n",
    "models/_errors.py": "class DataError(ValueError):\n    pass\n",
    "models/_tables.py": "import csv\nimport numpy as np\nimport pandas as pd\nimport scipy.linalg\nfrom sklearn.covariance import OAS\nfrom ._errors import DataError\ndef read_table():\n    pass\n",
    "models/_spare.py": "import numpy\n",
    "constraints/__init__.py": "from ._base import Constraint\n",
    "constraints/_base.py": "import cvxpy\nfrom trimtab import models\nfrom trimtab.models import DataError\nclass Constraint:\n    pass\n",
    "constraints/_spare.py": "from ._base import Constraint\n",
    "optimizer/__init__.py": "from ._errors import ExportError\nfrom ._core import solve\n",
    "optimizer/_errors.py": "class ExportError(RuntimeError):\n    pass\n",
    "optimizer/_core.py": """
        from trimtab.constraints import Constraint
        from trimtab.models import read_table
        from . import _errors
        from ._errors import ExportError
        def solve():
            pass
    """,
    "optimizer/_spare.py": "import trimtab.optimizer._errors\ndef helper():\n    pass\n",
    "optimizer/export/__init__.py": "from ._api import export_run\n",
    "optimizer/export/_api.py": """
        from .. import ExportError, solve
        from . import _files
        from ._files import _write
        def export_run():
            pass
    """,
    "optimizer/export/_files.py": "import pyarrow\ndef _write():\n    pass\n",
    "optimizer/research/__init__.py": "from ._frontier import frontier\n",
    "optimizer/research/_frontier.py": """
        from trimtab import models
        from trimtab.optimizer import solve
        def frontier():
            import matplotlib
    """,
    "optimizer/batch/__init__.py": "from ._runner import batch\n",
    "optimizer/batch/_runner.py": """
        from .. import solve
        from trimtab.constraints import Constraint
        def batch():
            import distributed
            from ..export import export_run
    """,
    "optimizer/cli/__init__.py": "from . import _commands\nfrom ._commands import main\n",
    "optimizer/cli/_commands.py": """
        from .. import solve
        def main():
            from ..export import export_run
            from ..research import frontier
            from trimtab.optimizer.export import export_run as again
            from ..batch import batch
    """,
}

#: (rule, {file: code appended to it (or its whole text if new)}) — each plants one violation.
PLANTS = {
    "models imports a third-party library": (1, {"models/_spare.py": "import yaml\n"}),
    "models imports constraints": (1, {"models/_spare.py": "from trimtab.constraints import Constraint\n"}),
    "models imports optimizer in a function": (
        1,
        {"models/_spare.py": "def f():\n    from trimtab.optimizer import solve\n"},
    ),
    "models imports the facade": (1, {"models/_spare.py": "import trimtab\n"}),
    "constraints imports optimizer": (2, {"constraints/_spare.py": "from trimtab.optimizer import solve\n"}),
    "constraints imports optimizer relatively": (2, {"constraints/_spare.py": "from ..optimizer import solve\n"}),
    "core imports export": (3, {"optimizer/_spare.py": "from trimtab.optimizer.export import export_run\n"}),
    "core imports research relatively in a function": (
        3,
        {"optimizer/_spare.py": "def f():\n    from .research import frontier\n"},
    ),
    "core imports the facade": (3, {"optimizer/_spare.py": "from trimtab import solve\n"}),
    "export imports research": (4, {"optimizer/export/_files.py": "from trimtab.optimizer.research import frontier\n"}),
    "research imports export in a function": (
        4,
        {"optimizer/research/_frontier.py": "def g():\n    from ..export import export_run\n"},
    ),
    "the facade imports the cli": (5, {"_tools.py": "from trimtab.optimizer.cli import main\n"}),
    "the facade imports the cli by `from … import cli`": (5, {"_tools.py": "from trimtab.optimizer import cli\n"}),
    "cli imports research at module level": (6, {"optimizer/cli/_commands.py": "from ..research import frontier\n"}),
    "cli imports export under TYPE_CHECKING": (
        6,
        {
            "optimizer/cli/_commands.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import trimtab.optimizer.export\n"
        },
    ),
    "export imports a private core module by absolute name": (
        7,
        {"optimizer/export/_files.py": "from trimtab.optimizer._core import solve\n"},
    ),
    "export imports a private core module relatively": (
        7,
        {"optimizer/export/_files.py": "from .._core import solve\n"},
    ),
    "constraints imports a private models module": (7, {"constraints/_spare.py": "import trimtab.models._tables\n"}),
    "export imports a private module of the core by name": (
        7,
        {"optimizer/export/_files.py": "from trimtab.optimizer import _errors\n"},
    ),
    "export imports a private name of the core": (7, {"optimizer/export/_files.py": "from .. import _helper\n"}),
    "cli imports a private export module in a function": (
        7,
        {"optimizer/cli/_commands.py": "def h():\n    from ..export import _files\n"},
    ),
    "cli imports batch at module level": (6, {"optimizer/cli/_commands.py": "from ..batch import batch\n"}),
    "batch imports export at module level": (10, {"optimizer/batch/_runner.py": "from ..export import export_run\n"}),
    "batch imports research in a function": (
        10,
        {"optimizer/batch/_runner.py": "def g():\n    from trimtab.optimizer.research import frontier\n"},
    ),
    "research imports batch": (10, {"optimizer/research/_frontier.py": "from trimtab.optimizer.batch import batch\n"}),
    "core imports batch": (3, {"optimizer/_spare.py": "def f():\n    from .batch import batch\n"}),
    "batch imports a private export module in a function": (
        7,
        {"optimizer/batch/_runner.py": "def p():\n    from ..export import _files\n"},
    ),
    "a cycle at module level": (
        8,
        {"models/_tables.py": "from ._spare import numpy\n", "models/_spare.py": "from ._tables import read_table\n"},
    ),
    "a cycle through a function": (8, {"optimizer/export/_files.py": "def f():\n    from ._api import export_run\n"}),
    "a cycle under TYPE_CHECKING": (
        8,
        {
            "optimizer/_spare.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ._core import solve\n",
            "optimizer/_core.py": "def again():\n    from ._spare import helper\n",
        },
    ),
    "a submodule imports a name of the __init__ that imports it": (
        8,
        {"optimizer/_core.py": "from . import ExportError as E\n"},
    ),
    "a cycle through a package __init__": (8, {"models/_errors.py": "from trimtab.models import read_table\n"}),
}


def write_tree(root: Path, plant: dict[str, str] | None = None) -> Path:
    for relative, text in CLEAN_TREE.items():
        path = root / "trimtab" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    for relative, text in (plant or {}).items():
        path = root / "trimtab" / relative
        with path.open("a") as file:
            file.write(text)
    return root


def test_the_clean_fake_tree_passes(tmp_path):
    assert [str(v) for v in rules.check_tree(write_tree(tmp_path), "trimtab")] == []


@pytest.mark.parametrize("case", PLANTS)
def test_the_checker_reports_exactly_the_planted_violation(tmp_path, case):
    rule, plant = PLANTS[case]
    violations = rules.check_tree(write_tree(tmp_path, plant), "trimtab")
    assert {v.rule for v in violations} == {rule}, [str(v) for v in violations]
    planted_files = {f"trimtab/{relative}" for relative in plant}
    for violation in violations:
        text = str(violation)
        assert violation.file in planted_files or (rule == 8 and any(f in text for f in planted_files)), text
        assert f"rule {rule} (" in text and f"{violation.file}:{violation.line}:" in text


def test_a_cycle_is_reported_with_its_path(tmp_path):
    plant = {
        "models/_tables.py": "from ._spare import numpy\n",
        "models/_spare.py": "def f():\n    from . import _tables\n",
    }
    [violation] = rules.check_tree(write_tree(tmp_path, plant), "trimtab")
    assert violation.rule == 8
    assert (
        "trimtab.models._spare (trimtab/models/_spare.py:3, in a function) → trimtab.models._tables"
        in violation.message
    )
    assert "trimtab.models._tables (trimtab/models/_tables.py:9) → trimtab.models._spare" in violation.message


def test_relative_imports_resolve_and_keep_line_and_scope(tmp_path):
    tree = rules.discover({"trimtab": write_tree(tmp_path) / "trimtab"})
    api = {(i.target, i.module, i.line) for i in rules.imports_of(tree["trimtab.optimizer.export._api"], tree)}
    assert ("trimtab.optimizer.solve", "trimtab.optimizer", 1) in api  # from .. import name → the __init__
    assert ("trimtab.optimizer.export._files", "trimtab.optimizer.export._files", 2) in api  # from . import module
    assert ("trimtab.optimizer.export._files._write", "trimtab.optimizer.export._files", 3) in api
    commands = list(rules.imports_of(tree["trimtab.optimizer.cli._commands"], tree))
    assert [(i.module, i.in_function) for i in commands if i.line in (1, 3)] == [
        ("trimtab.optimizer", False),
        ("trimtab.optimizer.export", True),
    ]
    facade = list(rules.imports_of(tree["trimtab"], tree))
    assert [(i.target, i.type_checking, i.in_function) for i in facade if i.module] == [
        ("trimtab.optimizer.solve", True, False)
    ]
