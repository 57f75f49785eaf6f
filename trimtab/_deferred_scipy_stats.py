"""cvxpy and scikit-learn load without ``scipy.stats``; it loads when something first uses it.

Both libraries import ``scipy.stats`` when they are imported, and neither uses it on trimtab's
paths: cvxpy's ``atoms.quantum_rel_entr`` takes ``entropy`` from it (called only to evaluate
that atom numerically), scikit-learn's ``utils.fixes`` calls ``scipy.stats.mode`` inside a
function. Loading ``scipy.stats`` is about a quarter of ``import cvxpy`` (it parses the
docstrings of ~600 functions and builds ~130 distributions): 0.3–0.5 s of every ``trimtab``
process, a sixth of ``trimtab optimize`` on the default job.

:func:`install` (called by ``import trimtab``) puts :class:`_Finder` on ``sys.meta_path``. When
one of :data:`MODULES` is imported and ``scipy.stats`` is not loaded yet, that module's own
code runs with :class:`_StandIn` as ``sys.modules["scipy.stats"]``, and the stand-in is removed
as soon as the module has run; every other import is left alone. The stand-in serves
``entropy`` as a function that calls scipy's own, and any other name by loading the real
``scipy.stats`` there and then; a module that imports one of its submodules is run again with the
real ``scipy.stats`` loaded. A newer cvxpy or scikit-learn that uses more of it therefore gets the
real thing, only not sooner. A process that loaded ``scipy.stats`` before is not touched; another
thread importing ``scipy.stats`` while one of those modules runs gets the stand-in, which hands it
every name from the real module.

No library does this: ``importlib.util.LazyLoader`` defers a module until its first attribute
access, but ``import scipy.stats`` itself reads the module's ``__spec__`` (Python ≤ 3.11), and
cvxpy's ``from scipy.stats import entropy`` is an attribute access — either loads it at once.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from typing import Any

#: The modules run with the stand-in: each imports ``scipy.stats`` at import, and uses only
#: ``entropy`` from it at import (cvxpy 1.7–1.9; scikit-learn 1.4–1.9).
MODULES = frozenset({"cvxpy.atoms.quantum_rel_entr", "sklearn.utils.fixes"})
STATS = "scipy.stats"


def _real_stats() -> types.ModuleType:
    """The real ``scipy.stats``, imported now if it is not yet (removing a stand-in first)."""
    if isinstance(sys.modules.get(STATS), _StandIn):
        del sys.modules[STATS]
    return importlib.import_module(STATS)


def entropy(*args: Any, **kwargs: Any) -> Any:
    """``scipy.stats.entropy`` (loaded at the first call)."""
    return _real_stats().entropy(*args, **kwargs)


class _StandIn(types.ModuleType):
    """``scipy.stats`` while one of :data:`MODULES` runs: ``entropy`` here, any other name from the real one."""

    def __init__(self) -> None:
        super().__init__(STATS, "scipy.stats, loaded when a name other than entropy is used")
        self.entropy = entropy

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name != "__all__":  # the import system's probes (__path__, __file__):
            raise AttributeError(name)  # a plain module's answer; ``import *`` (``__all__``) wants the real one
        return getattr(_real_stats(), name)


class _Loader(importlib.abc.Loader):
    """Runs a module's own loader with the stand-in in place; everything else is the wrapped loader's."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        if STATS in sys.modules:  # loaded meanwhile (another thread, or the other module used it)
            self._loader.exec_module(module)
            return
        stand_in = sys.modules[STATS] = _StandIn()
        try:
            self._loader.exec_module(module)
        except ImportError:  # it imports a submodule of scipy.stats (the stand-in has none): run it
            _real_stats()  # again with the real one, as importlib.reload runs a module again
            self._loader.exec_module(module)
        finally:
            if sys.modules.get(STATS) is stand_in:
                del sys.modules[STATS]

    def __getattr__(self, name: str) -> Any:  # get_source, get_filename, is_package, …
        return getattr(self._loader, name)


class _Finder(importlib.abc.MetaPathFinder):
    """Finds :data:`MODULES` as the path finder does, with :class:`_Loader` around their loader."""

    def find_spec(self, fullname: str, path: Any, target: types.ModuleType | None = None) -> Any:
        if fullname not in MODULES or STATS in sys.modules:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        spec.loader = _Loader(spec.loader)
        return spec


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once per process)."""
    if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
