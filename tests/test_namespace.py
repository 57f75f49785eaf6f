"""trimtab installs under one name and lives beside a user's own ``models.py`` and ``optimizer/``.

The wheel is built from this checkout and installed into a brand-new virtualenv (the
dependencies it needs are borrowed from the running environment through a ``.pth`` file,
so nothing else is downloaded). Then, from a folder that holds a ``models.py`` and an
``optimizer/__init__.py`` of the user's own (the names every Django or ML project has),
``import trimtab`` must solve the default job, and with that folder off the path no
top-level ``models``, ``optimizer`` or ``constraints`` may be importable at all.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_JOB = ROOT / "examples" / "mag7_value_quality.yaml"
GENERIC_NAMES = ("models", "optimizer", "constraints")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from this checkout (``pip wheel``, as ``pip install .`` builds it)."""
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(ROOT)],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (built,) = out.glob("trimtab-*.whl")
    return built


@pytest.fixture(scope="module")
def fresh_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a new virtualenv with only the trimtab wheel installed (dependencies borrowed)."""
    home = tmp_path_factory.mktemp("venv") / "env"
    venv.EnvBuilder(with_pip=False).create(home)
    python = home / "bin" / "python"
    site = Path(subprocess.check_output([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip())
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet", str(wheel)],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # numpy, cvxpy, … from the running environment, *after* the new venv's own site-packages
    (site / "borrowed_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


@pytest.fixture
def user_folder(tmp_path: Path) -> Path:
    """A notebook folder with a ``models.py`` and an ``optimizer`` package of the user's own."""
    (tmp_path / "models.py").write_text("raise ImportError('this is the user’s models.py')\n")
    (tmp_path / "optimizer").mkdir()
    (tmp_path / "optimizer" / "__init__.py").write_text("raise ImportError('this is the user’s optimizer')\n")
    (tmp_path / "constraints.py").write_text("raise ImportError('this is the user’s constraints.py')\n")
    return tmp_path


def test_the_wheel_holds_only_the_trimtab_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"trimtab"}, top
    for sub in GENERIC_NAMES:
        assert f"trimtab/{sub}/__init__.py" in names
    assert "trimtab/optimizer/cli/__init__.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "trimtab = trimtab.optimizer.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_import_trimtab_beside_a_users_models_and_optimizer(fresh_python: Path, user_folder: Path) -> None:
    code = f"import trimtab; print(trimtab.optimize({str(DEFAULT_JOB)!r}).diagnostics.tracking_error)"
    done = subprocess.run([str(fresh_python), "-c", code], cwd=user_folder, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    tracking_error = float(done.stdout.strip().splitlines()[-1])
    assert 0.02 < tracking_error < 0.025  # the default job's TE (2.24 %)
    # …and the user's own modules are still theirs, from that folder
    mine = subprocess.run(
        [str(fresh_python), "-c", "import models"], cwd=user_folder, capture_output=True, text=True, check=False
    )
    assert "this is the user’s models.py" in mine.stderr


def test_no_generic_top_level_package_is_installed(fresh_python: Path, user_folder: Path) -> None:
    # -P: the current folder is not put on sys.path, so only installed packages are found
    code = "import importlib.util as u; print([u.find_spec(n) is None for n in ('models', 'optimizer', 'constraints')])"
    done = subprocess.run([str(fresh_python), "-P", "-c", code], cwd=user_folder, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[True, True, True]"
    trimtab = subprocess.run(
        [str(fresh_python), "-P", "-c", "import trimtab.optimizer as o; print(o.__file__)"],
        cwd=user_folder, capture_output=True, text=True, check=False,
    )
    assert trimtab.returncode == 0 and str(fresh_python.parent.parent) in trimtab.stdout, trimtab.stderr
