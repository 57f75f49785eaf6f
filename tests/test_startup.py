"""Start-up, by counting modules (never by timing): each command imports only what it uses.

A fresh interpreter (``sys.executable -c …`` on the trimtab under test, as the
``trimtab_process`` fixture runs it) imports the CLI, runs commands through
``trimtab.optimizer.cli.run`` and reports ``sys.modules``:

- ``trimtab --help`` and every command's ``--help`` load none of the numeric stack (CVXPY,
  SciPy, scikit-learn, pandas, numpy), no plotting, Parquet or FIX, and no trimtab module
  beyond the facade, the core's ``__init__`` and the CLI itself;
- ``optimize`` and ``diagnose`` of a job load no matplotlib, QuickFIX, Parquet, ``scipy.stats``,
  nor the research or export packages, nor scikit-learn estimators the job's risk model does not
  fit; ``validate`` none of those either;
- the console entry point does not run the cycle collector while the numeric stack loads;
- cvxpy and scikit-learn load without ``scipy.stats`` after ``import trimtab``, and what they
  take from it is scipy's own (``trimtab/_deferred_scipy_stats.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import trimtab

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_JOB = ROOT / "examples" / "mag7_value_quality.yaml"

#: Never loaded by ``--help``: the numeric stack, plotting, Parquet/CSV readers, FIX, Dask, research, export, batch.
HEAVY = ("cvxpy", "scipy", "sklearn", "pandas", "numpy", "matplotlib", "pyarrow", "quickfix", "yaml", "dask",
         "distributed", "trimtab.optimizer.export", "trimtab.optimizer.research", "trimtab.optimizer.batch",
         "trimtab.models", "trimtab.constraints")

#: Never loaded by ``optimize`` or ``diagnose`` (nor ``validate``) of the default job (a fundamental model:
#: scikit-learn's covariance, PCA and robust-regression estimators load only when a job fits them; scipy.stats,
#: which cvxpy and scikit-learn import, only when something uses it: trimtab/_deferred_scipy_stats.py).
NOT_FOR_ONE_JOB = ("matplotlib", "quickfix", "pyarrow.parquet", "scipy.stats", "trimtab.optimizer.research",
                   "trimtab.optimizer.export", "sklearn.covariance", "sklearn.decomposition", "sklearn.linear_model")

#: Runs each argv of ARGVS through the CLI; prints, per argv, its exit code and the modules it added.
_PROBE = textwrap.dedent(
    """
    import json, sys
    from trimtab.optimizer.cli import run
    before = sorted(sys.modules)
    steps, seen = [], set(before)
    for argv in json.loads(sys.argv[1]):
        code = run(argv)
        steps.append({"argv": argv, "code": code, "loaded": sorted(set(sys.modules) - seen)})
        seen = set(sys.modules)
    print("\\n" + json.dumps({"before": before, "steps": steps}))
    """
)


def _tree_root() -> str:
    """The folder whose ``trimtab`` the tests import (site-packages, or the repository root)."""
    return str(Path(trimtab.__file__).resolve().parents[1])


def _child_env() -> dict[str, str]:
    """The environment of a child interpreter: the trimtab under test first on its path, a wide terminal."""
    env = {**os.environ, "COLUMNS": "200"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_tree_root(), env.get("PYTHONPATH")) if p)
    return env


def probe(*argvs: list[str], cwd: Path | None = None) -> dict:
    """Run ``argvs`` through ``cli.run`` in one fresh interpreter: ``{"before": [...], "steps": [...]}``.

    ``before`` lists the modules loaded by importing the CLI; each step has its ``argv``,
    exit ``code`` and the modules it ``loaded`` beyond the previous steps.
    """
    env = _child_env()
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps([list(map(str, a)) for a in argvs])],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def heavy(modules: list[str], prefixes: tuple[str, ...]) -> list[str]:
    """The ``prefixes`` that ``modules`` load (a prefix matches itself and its submodules)."""
    return sorted(p for p in prefixes if any(m == p or m.startswith(p + ".") for m in modules))


def command_names() -> list[str]:
    from trimtab.optimizer.cli import app

    return [c.name for c in app.registered_commands]


def test_help_and_every_commands_help_load_no_numeric_stack():
    names = command_names()
    assert {"optimize", "diagnose", "validate", "export", "send", "frontier", "monitor", "report", "backtest"} <= set(names)
    result = probe(["--help"], *([name, "--help"] for name in names))
    loaded = result["before"] + [m for step in result["steps"] for m in step["loaded"]]
    for step in result["steps"]:
        assert step["code"] == 0, step["argv"]
        assert not heavy(step["loaded"], HEAVY), f"{' '.join(step['argv'])} loaded {heavy(step['loaded'], HEAVY)}"
    assert not heavy(result["before"], HEAVY), f"importing the CLI loaded {heavy(result['before'], HEAVY)}"
    ours = {m for m in loaded if m == "trimtab" or m.startswith("trimtab.")}
    facade = {"trimtab", "trimtab._deferred_scipy_stats", "trimtab.optimizer"}
    assert {m for m in ours if not m.startswith("trimtab.optimizer.cli")} == facade, ours


def test_optimize_and_diagnose_load_no_plotting_parquet_fix_research_or_export(tmp_path):
    result = probe(
        ["optimize", DEFAULT_JOB, "--out", tmp_path / "run", "-q"],
        ["diagnose", DEFAULT_JOB, "--out", tmp_path / "diagnosis"],
        ["validate", DEFAULT_JOB],
    )
    assert [s["code"] for s in result["steps"]] == [0, 0, 0]
    assert (tmp_path / "run" / "targets.csv").is_file() and (tmp_path / "diagnosis" / "diagnosis.json").is_file()
    loaded = result["before"] + [m for step in result["steps"] for m in step["loaded"]]
    assert "cvxpy" in loaded and "trimtab.optimizer._compiled" in loaded  # the probe did solve
    for step in result["steps"]:
        assert not heavy(step["loaded"], NOT_FOR_ONE_JOB), f"{step['argv'][0]} loaded {heavy(step['loaded'], NOT_FOR_ONE_JOB)}"
    assert not heavy(result["before"], NOT_FOR_ONE_JOB)


@pytest.mark.parametrize("statement", ["import trimtab", "import trimtab.optimizer", "import trimtab.optimizer.cli"])
def test_importing_the_packages_loads_no_numeric_stack(statement):
    code = f"{statement}\nimport sys, trimtab\ndir(trimtab); dir(trimtab.optimizer)\nprint(' '.join(sorted(sys.modules)))"
    env = _child_env()
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not heavy(done.stdout.split(), HEAVY), f"{statement} loaded {heavy(done.stdout.split(), HEAVY)}"


def test_lazy_names_are_the_real_ones():
    from trimtab import optimizer
    from trimtab.constraints import SpecError
    from trimtab.optimizer import _errors, _run
    from trimtab.optimizer.cli import _orders

    assert optimizer.optimize is _run.optimize and optimizer.InfeasibleError is _errors.InfeasibleError
    assert optimizer.SpecError is SpecError and trimtab.optimize is _run.optimize
    assert set(optimizer.__all__) <= set(dir(optimizer))
    assert all(getattr(optimizer, name) is not None for name in optimizer.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        optimizer.nonexistent  # noqa: B018
    # --tolerance's default is written out in the CLI (so --help does not import the core): the same number.
    assert _orders.DEFAULT_TOLERANCE == optimizer.ROUNDING_TOLERANCE


def test_the_research_functions_without_figures_load_no_plotting():
    """``research``'s names load lazily: a frontier, a backtest or a monitor imports no matplotlib."""
    code = (
        "import sys\nfrom trimtab.optimizer.research import backtest, frontier, monitor, Frontier\n"
        "print(' '.join(sorted(sys.modules)))"
    )
    env = _child_env()
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = done.stdout.split()
    assert "trimtab.optimizer.research._frontier" in loaded and "trimtab.optimizer.research._backtest" in loaded
    assert not heavy(loaded, ("matplotlib",)), heavy(loaded, ("matplotlib",))


#: Runs ``trimtab optimize`` in a fresh interpreter through the console entry point (``cli.main``)
#: or, with ``--default-collector`` first, through ``cli.run`` at CPython's default thresholds;
#: counts the cycle collector's runs per generation from the first import on.
_COLLECTIONS = textwrap.dedent(
    """
    import gc, json, sys
    runs = [0, 0, 0]
    gc.callbacks.append(lambda phase, info: runs.__setitem__(info["generation"], runs[info["generation"]] + 1)
                        if phase == "start" else None)
    from trimtab.optimizer.cli import main, run
    default = sys.argv[1] == "--default-collector"
    argv = sys.argv[2:] if default else sys.argv[1:]
    sys.argv = ["trimtab", *argv]
    try:
        code = run(argv) if default else main()
    except SystemExit as done:
        code = done.code
    print("\\n" + json.dumps({"code": code, "runs": runs, "threshold": gc.get_threshold()}))
    """
)


def _collections(tmp_path: Path, *flags: str) -> dict:
    env = _child_env()
    out = tmp_path / ("default" if flags else "main")
    argv = [*flags, "optimize", str(DEFAULT_JOB), "--out", str(out), "-q"]
    done = subprocess.run([sys.executable, "-c", _COLLECTIONS, *argv], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["code"] == 0 and (out / "targets.csv").is_file(), done.stderr[-2000:]
    return report


def test_a_trimtab_process_does_not_collect_while_the_numeric_stack_loads(tmp_path):
    from trimtab.optimizer.cli import COLLECTION_THRESHOLD

    ours, default = _collections(tmp_path), _collections(tmp_path, "--default-collector")
    assert ours["threshold"][0] == COLLECTION_THRESHOLD and default["threshold"][0] < COLLECTION_THRESHOLD
    # at the default thresholds the same job is collected hundreds of times, fully more than once
    assert default["runs"][2] >= 1 and sum(default["runs"]) > 100, default
    # the console entry: only the few young collections while typer and rich load, before main() runs
    assert ours["runs"][2] == 0 and ours["runs"][1] <= default["runs"][1] // 5 and sum(ours["runs"]) < 60, ours


# -- scipy.stats: cvxpy and scikit-learn load without it (trimtab/_deferred_scipy_stats.py) ---------------


def run_child(code: str, tmp_path=None) -> dict:
    """Run ``code`` in a fresh interpreter; the JSON object of its last printed line."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path, env=_child_env(),
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_cvxpy_and_sklearn_load_without_scipy_stats_and_its_functions_are_scipys():
    report = run_child(
        """
        import json, sys
        import trimtab.constraints, trimtab.models  # cvxpy, sklearn.base
        loaded_before = "scipy.stats" in sys.modules
        import cvxpy, numpy as np
        p = [0.25, 0.75]
        ours = sys.modules["cvxpy.atoms.quantum_rel_entr"].entropy(p)
        stats = sys.modules["scipy.stats"]  # the first call loaded the real one
        from sklearn.utils import fixes
        mode = fixes._mode(np.array([3, 1, 3, 2]))
        print(json.dumps({"loaded_before": loaded_before, "cvxpy": "cvxpy" in sys.modules,
                          "ours": ours, "scipy": float(stats.entropy(p)), "by_hand": float(-(np.log(p) @ p)),
                          "real": stats.__file__.endswith("__init__.py") and hasattr(stats, "norm"),
                          "mode": int(mode.mode[0]), "count": int(mode.count[0])}))
        """
    )
    assert report["cvxpy"] and not report["loaded_before"]
    assert report["ours"] == report["scipy"] and abs(report["ours"] - report["by_hand"]) < 1e-15
    assert report["real"] and (report["mode"], report["count"]) == (3, 2)


def test_a_process_that_loaded_scipy_stats_first_keeps_cvxpys_own_import():
    report = run_child(
        """
        import json, sys
        import scipy.stats
        import trimtab.constraints
        print(json.dumps({"same": sys.modules["cvxpy.atoms.quantum_rel_entr"].entropy is scipy.stats.entropy}))
        """
    )
    assert report["same"]


def _fake_module(tmp_path, name: str, body: str) -> None:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))


def test_a_module_that_uses_more_of_scipy_stats_gets_the_real_one(tmp_path):
    """Any other name loads the real ``scipy.stats``; a submodule import runs the module again with it."""
    _fake_module(tmp_path, "uses_norm", "import scipy.stats\nfrom scipy.stats import norm\nHALF = norm.cdf(0.0)\n")
    _fake_module(tmp_path, "uses_submodule", "from scipy.stats import entropy\nimport scipy.stats._mstats_basic\n")
    _fake_module(tmp_path, "fails", "import scipy.stats\nraise ValueError('broken on purpose')\n")
    _fake_module(tmp_path, "star", "from scipy.stats import *\nHALF = norm.cdf(0.0)\n")
    report = run_child(
        """
        import json, sys
        sys.path.insert(0, ".")
        import trimtab._deferred_scipy_stats as deferred
        deferred.MODULES = frozenset({"uses_norm", "uses_submodule", "fails", "star"})
        try:
            import fails
        except ValueError:
            pass
        after_failure = "scipy.stats" in sys.modules
        import uses_submodule
        real_after_submodule = type(sys.modules["scipy.stats"]) is type(sys)
        scipys_entropy = uses_submodule.entropy is sys.modules["scipy.stats"].entropy  # run again: scipy's own
        del sys.modules["scipy.stats"]
        import star
        del sys.modules["scipy.stats"]
        import uses_norm
        print(json.dumps({"after_failure": after_failure, "half": float(uses_norm.HALF),
                          "real_after_submodule": real_after_submodule, "scipys_entropy": scipys_entropy, "star": float(star.HALF),
                          "real": type(sys.modules["scipy.stats"]) is type(sys)}))
        """,
        tmp_path,
    )
    assert report["after_failure"] is False  # the stand-in is removed whatever the module does
    assert report["real_after_submodule"] and report["scipys_entropy"]
    assert report["half"] == 0.5 and report["star"] == 0.5 and report["real"]
