"""The import rules of trimtab, checked on source text: a function over a package directory tree.

``check(package_dirs)`` parses every module under the given package directories with :mod:`ast`,
resolves relative imports to absolute module names, and returns one :class:`Violation` per broken
rule (rules 1–8 and 10 of ``tests/test_architecture.py``; rule 9, what ``import trimtab.optimizer``
loads, is checked at run time by the test itself). ``check_tree(root, "trimtab")`` is the same over
``root/trimtab`` (the layout of an installed copy, and of the self-tests' fake trees).
"""

from __future__ import annotations

import ast
import os
import sys
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

#: Third-party libraries ``models`` may import (the standard library is always fine): the numeric
#: stack, scikit-learn's estimators, threadpoolctl (BLAS threads) and pyarrow (the returns CSV's
#: reader; pandas loads it anyway).
MODELS_THIRD_PARTY = frozenset({"numpy", "pandas", "pyarrow", "sklearn", "scipy", "threadpoolctl"})
STDLIB = frozenset(sys.stdlib_module_names) | {"__future__"}

RULES = {
    0: "every relative import resolves inside the tree",
    1: "models imports only numpy/pandas/pyarrow/sklearn/scipy/threadpoolctl/stdlib and nothing of trimtab "
    "outside models",
    2: "constraints imports nothing of trimtab but models and constraints",
    3: "the optimizer core imports neither export, research, cli nor the trimtab facade",
    4: "export and research do not import each other",
    5: "nothing outside the CLI imports the CLI (trimtab/__main__.py excepted)",
    6: "the CLI imports export, research and batch only inside functions",
    7: "no import of another package's underscore module or name",
    8: "no import cycle between modules",
    10: "batch imports the core and, only inside functions, export, never research; neither export nor research "
    "imports batch",
}


@dataclass(frozen=True)
class Module:
    name: str  # dotted, e.g. "trimtab.optimizer.export._api"
    path: Path
    is_package: bool  # an __init__.py

    @property
    def package(self) -> str:
        """The package this module belongs to: itself for an ``__init__``, else its parent."""
        return self.name if self.is_package else self.name.rpartition(".")[0]


@dataclass(frozen=True)
class Import:
    """One imported name of one import statement, resolved to absolute names."""

    importer: str  # the importing module
    line: int
    target: str  # what is reached: ``a.b`` for ``import a.b``; ``a.b.n`` for ``from a.b import n``
    module: str | None  # the most specific module of the tree that ``target`` names; None if outside
    in_function: bool  # inside a def/async def (else module level, class bodies included)
    type_checking: bool  # under ``if TYPE_CHECKING:``


@dataclass(frozen=True)
class Violation:
    rule: int
    file: str  # relative to the directory that holds the packages
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: rule {self.rule} ({RULES[self.rule]}): {self.message}"


# ---------------------------------------------------------------------------------------------
# discovery and parsing


def discover(package_dirs: Mapping[str, Path]) -> dict[str, Module]:
    """Every module under each ``{dotted package name: its directory}``, subpackages included."""
    modules: dict[str, Module] = {}
    for package, directory in package_dirs.items():
        _walk(package, Path(directory), modules)
    return dict(sorted(modules.items()))


def _walk(package: str, directory: Path, modules: dict[str, Module]) -> None:
    init = directory / "__init__.py"
    if not init.is_file():
        raise ValueError(f"{directory} is not a package (no __init__.py)")
    modules.setdefault(package, Module(package, init, True))
    for path in sorted(directory.iterdir()):
        if path.is_dir() and path.name.isidentifier() and (path / "__init__.py").is_file():
            _walk(f"{package}.{path.name}", path, modules)
        elif path.suffix == ".py" and path.stem != "__init__" and path.stem.isidentifier():
            name = f"{package}.{path.stem}"
            modules.setdefault(name, Module(name, path, False))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Collector(ast.NodeVisitor):
    def __init__(self) -> None:
        self.found: list[tuple[int, int, str | None, str | None, bool, bool]] = []
        self._functions = 0
        self._type_checking = 0

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._functions += 1
        self.generic_visit(node)
        self._functions -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        self._type_checking += 1
        for statement in node.body:
            self.visit(statement)
        self._type_checking -= 1
        for statement in node.orelse:
            self.visit(statement)

    def _add(self, line: int, level: int, module: str | None, name: str | None) -> None:
        self.found.append((line, level, module, name, self._functions > 0, self._type_checking > 0))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(node.lineno, 0, alias.name, None)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            self._add(node.lineno, node.level, node.module, alias.name)


def imports_of(module: Module, modules: Mapping[str, Module]) -> Iterator[Import | Violation]:
    """The imports of one module, resolved (a :class:`Violation` of rule 0 if one cannot be)."""
    tree = ast.parse(module.path.read_text(encoding="utf-8"), filename=str(module.path))
    collector = _Collector()
    collector.visit(tree)
    roots = {name.partition(".")[0] for name in modules}
    for line, level, base, name, in_function, type_checking in collector.found:
        if level:  # relative: level 1 is the module's own package, each further dot one package up
            parts = module.package.split(".")
            if level - 1 >= len(parts):
                yield Violation(0, "", line, f"{module.name}: relative import beyond the top package")
                continue
            anchor = ".".join(parts[: len(parts) - (level - 1)])
            base = f"{anchor}.{base}" if base else anchor
        assert base is not None
        target = base if name in (None, "*") else f"{base}.{name}"
        if target.partition(".")[0] in roots:
            # the most specific module named: ``from p import n`` is ``p.n`` when that is a module
            resolved = target
            while resolved not in modules and "." in resolved:
                resolved = resolved.rpartition(".")[0]
            resolved_module: str | None = resolved if resolved in modules else None
        else:
            resolved_module = None
        yield Import(module.name, line, target, resolved_module, in_function, type_checking)


# ---------------------------------------------------------------------------------------------
# the rules


def _within(name: str | None, package: str) -> bool:
    return name is not None and (name == package or name.startswith(package + "."))


def _private_owner(target: str, modules: Mapping[str, Module]) -> str | None:
    """The package whose underscore module or name ``target`` reaches, or None if it is public."""
    parts = target.split(".")
    for i, part in enumerate(parts[1:], start=1):
        if part.startswith("_") and not (part.startswith("__") and part.endswith("__")):
            owner = ".".join(parts[:i])
            found = modules.get(owner)
            return found.package if found is not None else owner
    return None


def _broken(module: Module, imp: Import, root: str, modules: Mapping[str, Module]) -> Iterator[tuple[int, str]]:
    """(rule, message) for each of rules 1–7 that one import breaks."""
    models, constraints, optimizer = f"{root}.models", f"{root}.constraints", f"{root}.optimizer"
    export, research, cli = f"{optimizer}.export", f"{optimizer}.research", f"{optimizer}.cli"
    batch = f"{optimizer}.batch"
    me, to, target = module.name, imp.module, imp.target
    # the root package's own modules (trimtab/__init__ re-exports the core): above the three floors
    facade = _within(to, root) and not any(_within(to, floor) for floor in (models, constraints, optimizer))
    scope = "in a function" if imp.in_function else "at module level"
    says = f"{me} imports {target} ({scope}{', under TYPE_CHECKING' if imp.type_checking else ''})"
    top = target.partition(".")[0]
    if _within(me, models):
        if to is not None and not _within(to, models):
            yield 1, says
        elif to is None and top not in STDLIB and top not in MODELS_THIRD_PARTY:
            yield 1, f"{says}: third-party {top!r} is not one of {sorted(MODELS_THIRD_PARTY)}"
    if _within(me, constraints) and (_within(to, optimizer) or facade):
        yield 2, says
    if module.package == optimizer and (any(_within(to, p) for p in (export, research, cli, batch)) or facade):
        yield 3, says
    if (_within(me, export) and _within(to, research)) or (_within(me, research) and _within(to, export)):
        yield 4, says
    if _within(to, cli) and not _within(me, cli) and me != f"{root}.__main__":
        yield 5, says
    if _within(me, cli) and any(_within(to, p) for p in (export, research, batch)) and not imp.in_function:
        yield 6, f"{says}: import it inside the command that uses it"
    if _within(me, batch) and _within(to, research):
        yield 10, says
    if _within(me, batch) and _within(to, export) and not imp.in_function:
        yield 10, f"{says}: import it inside the function that uses it (workers never load export)"
    if _within(to, batch) and (_within(me, export) or _within(me, research)):
        yield 10, f"{says}: batch builds on export, not the other way round"
    owner = _private_owner(target, modules) if to is not None else None
    if owner is not None and owner != module.package:
        yield 7, f"{says}: a private name of package {owner}, not of {module.package}"


def check(package_dirs: Mapping[str, Path], root: str | None = None) -> list[Violation]:
    """Every violation of rules 0–8 and 10 in the tree ``{dotted package name: directory}``.

    ``root`` is the top package (default: the shortest name in ``package_dirs``); the layers are
    ``root.models``, ``root.constraints``, ``root.optimizer`` (core), ``root.optimizer.export``,
    ``root.optimizer.research``, ``root.optimizer.batch`` and ``root.optimizer.cli``.
    """
    root = root or min(package_dirs, key=len)
    modules = discover(package_dirs)
    base = Path(os.path.commonpath([Path(d).resolve().parent for d in package_dirs.values()]))

    def where(module: Module) -> str:
        try:
            return module.path.resolve().relative_to(base).as_posix()
        except ValueError:
            return str(module.path)

    violations: list[Violation] = []
    edges: dict[str, dict[str, Import]] = {name: {} for name in modules}
    for module in modules.values():
        for imp in imports_of(module, modules):
            if isinstance(imp, Violation):
                violations.append(Violation(0, where(module), imp.line, imp.message))
                continue
            violations.extend(
                Violation(rule, where(module), imp.line, text) for rule, text in _broken(module, imp, root, modules)
            )
            if imp.module is not None and imp.module != module.name:
                edges[module.name].setdefault(imp.module, imp)  # the first import of it in the file
    violations.extend(_cycles(modules, edges, where))
    return violations


def check_tree(root: Path, package: str = "trimtab") -> list[Violation]:
    """:func:`check` over ``root/package`` (every subpackage lives inside it)."""
    return check({package: Path(root) / package}, root=package)


# ---------------------------------------------------------------------------------------------
# cycles


def _strongly_connected(nodes: list[str], edges: Mapping[str, Mapping[str, Import]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; components in discovery order, members sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def _shortest_cycle(start: str, members: set[str], edges: Mapping[str, Mapping[str, Import]]) -> list[str]:
    """The shortest closed path ``start → … → start`` inside one component (breadth first)."""
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if start in edges[node]:
            path = [node]
            while path[-1] != start:
                path.append(came_from[path[-1]])
            return path[::-1]
        for child in sorted(edges[node]):
            if child in members and child not in came_from and child != start:
                came_from[child] = node
                queue.append(child)
    raise AssertionError(f"{start} is on no cycle of its component")


def _cycles(modules: Mapping[str, Module], edges: Mapping[str, Mapping[str, Import]], where) -> list[Violation]:
    """One violation per cycle, found greedily: the shortest cycle through the smallest-named module
    of each strongly connected component; then that cycle's edges are set aside and the components
    are found again, until none is left. The reported cycles share no edge, and every cycle of the
    graph shares an edge with a reported one (one report per loop, not one per module of a big one)."""
    violations = []
    remaining = {a: dict(targets) for a, targets in edges.items()}
    while True:
        components = [c for c in _strongly_connected(list(modules), remaining) if len(c) > 1]
        if not components:
            return violations
        for component in components:
            path = _shortest_cycle(component[0], set(component), remaining)
            steps = []
            for a, b in zip(path, [*path[1:], path[0]]):
                imp = edges[a][b]
                how = ", in a function" if imp.in_function else ""
                how += ", under TYPE_CHECKING" if imp.type_checking else ""
                steps.append(f"{a} ({where(modules[a])}:{imp.line}{how}) → {b}")
            first = edges[path[0]][path[1]]
            violations.append(Violation(8, where(modules[path[0]]), first.line, "import cycle: " + "; ".join(steps)))
            for a, b in zip(path, [*path[1:], path[0]]):
                del remaining[a][b]
