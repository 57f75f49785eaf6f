"""Job files: YAML → validated, frozen :class:`JobSpec` with errors that point at the line.

A job file has five sections, all optional but ``constraints``::

    name: mag7_value_quality
    data: {source: embedded}                   # or files: universe/returns/holdings paths
    risk_model: {method: fundamental, window: 756}
    constraints:
      - group_weight: {group: MAG7, max: 0.20}
      - turnover: {max: 0.30, priority: 1}     # may bend if the job is infeasible
    allow_relaxation: true                     # default false: infeasible is an error
    cardinality: {max_names: 100}              # holdings count (exact MIQP or heuristic)
    taxes: {lots: lots.csv, weight: 1.0}       # tax lots: TE² + weight × tax, wash sales
    solver: {name: CLARABEL, fallback: [SCS]}
    output: {dir: out/}
"""

from __future__ import annotations

import hashlib
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator

from ._base import Constraint
from ._data_view import UniverseInfo
from ._documents import Document, read_document
from ._errors import SpecError
from ._numbers import NOT_FINITE, non_finite_path
from ._registry import (
    CONSTRAINT_TYPES,
    DEFAULT_CONSTRAINT_KEYS,
    REPLACES_DEFAULT,
    STRUCTURAL_KEYS,
    constraint_fields,
    constraint_from_params,
    constraint_to_yaml,
)
from ._sections import (
    CardinalitySpec,
    CostSpec,
    DataSpec,
    OutputSpec,
    RiskModelSpec,
    SolverSpec,
    TaxSpec,
    _Section,
)
from ._taxes import TAX_RULE_KEYS
from ._yaml_lines import format_path
from ._yaml_loader import read_job_bytes


class _JobFile(_Section):
    name: str | None = None
    description: str | None = None
    data: DataSpec = Field(default_factory=DataSpec)
    risk_model: RiskModelSpec = Field(default_factory=RiskModelSpec)
    constraints: list[Any]
    allow_relaxation: bool = False
    costs: CostSpec | None = None
    cardinality: CardinalitySpec | None = None
    taxes: TaxSpec | None = None
    solver: SolverSpec = Field(default_factory=SolverSpec)
    output: OutputSpec = Field(default_factory=OutputSpec)

    @model_validator(mode="after")
    def _no_relaxation_with_cardinality(self) -> _JobFile:
        if self.cardinality is not None and self.allow_relaxation:
            raise ValueError("allow_relaxation cannot be combined with a cardinality section (not supported yet)")
        if self.taxes is not None and self.cardinality is not None:
            raise ValueError("a taxes section cannot be combined with a cardinality section (not supported yet)")
        if self.taxes is not None and self.allow_relaxation:
            raise ValueError("allow_relaxation cannot be combined with a taxes section (not supported yet)")
        if self.taxes is not None and self.taxes.lots is None and self.data.source == "files":
            raise ValueError("taxes.lots is required with data.source: files (only the embedded data have synthetic lots)")
        return self


@dataclass(frozen=True)
class JobSpec:
    """A validated job: data source, risk model, constraints, solver, output.

    Attributes
    ----------
    constraints : tuple of Constraint
        The job's constraints as written, in file order.
    source : str
        The job file path (or ``"<string>"``).
    sha256 : str
        SHA-256 of the job file's bytes (``sha256sum JOB.yaml``), chained with the hashes of
        the files it extends, if any.
    extends : tuple of str
        The files this job extends, nearest first.
    """

    name: str | None
    description: str | None
    data: DataSpec
    risk_model: RiskModelSpec
    constraints: tuple[Constraint, ...]
    solver: SolverSpec
    output: OutputSpec
    allow_relaxation: bool = False
    costs: CostSpec | None = None
    cardinality: CardinalitySpec | None = None
    taxes: TaxSpec | None = None
    source: str = "<string>"
    sha256: str = ""
    base_dir: Path = field(default_factory=Path.cwd)
    extends: tuple[str, ...] = ()
    _locations: dict[str, tuple[str, int]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def effective_constraints(self) -> tuple[Constraint, ...]:
        """Default constraints (budget, long-only) not stated or replaced in the file, then the file's."""
        stated = {c.key for c in self.constraints} | {REPLACES_DEFAULT.get(c.key, c.key) for c in self.constraints}
        defaults = tuple(CONSTRAINT_TYPES[k]() for k in DEFAULT_CONSTRAINT_KEYS if k not in stated)
        return defaults + self.constraints

    def resolve(self, path: str) -> Path:
        """A data path from the file, relative to the job file's directory."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    def to_dict(self) -> dict[str, Any]:
        """The job as plain data; ``loads_job(yaml.safe_dump(job.to_dict()))`` gives an equal job.

        ``taxes`` is present only when the job has the section (so the hash of a job without
        it is what it was before the section existed).
        """
        taxes = {"taxes": self.taxes.model_dump(mode="json")} if self.taxes is not None else {}
        return {
            "name": self.name,
            "description": self.description,
            "data": self.data.model_dump(mode="json"),
            "risk_model": self.risk_model.model_dump(mode="json"),
            "constraints": [constraint_to_yaml(c) for c in self.constraints],
            "allow_relaxation": self.allow_relaxation,
            "costs": self.costs.model_dump(mode="json") if self.costs is not None else None,
            "cardinality": self.cardinality.model_dump(mode="json") if self.cardinality is not None else None,
            "solver": self.solver.model_dump(mode="json"),
            "output": self.output.model_dump(mode="json"),
            **taxes,
        }

    @property
    def spec_hash(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`to_dict` (insensitive to formatting)."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def check_universe(self, universe: UniverseInfo) -> None:
        """Check every name (group, sector, asset, characteristic) against the data.

        Raises
        ------
        SpecError
            Naming the file, line, key path and the valid choices.
        """
        known = set(universe.asset_ids)
        for group, members in self.data.groups.items():
            unknown = [a for a in members if a not in known]
            if unknown:
                raise self._locate(
                    SpecError(f"group {group!r} lists unknown asset(s) {unknown[:10]}"), ("data", "groups", group)
                )
        for i, constraint in enumerate(self.constraints):
            try:
                constraint.check(universe)
            except SpecError as err:
                path: tuple[str | int, ...] = ("constraints", i, constraint.key)
                if err.path:
                    path += tuple(_split_path(err.path))
                raise self._locate(SpecError(err.message, choices=err.choices), path) from None
        column = self.costs.linear_bps_column if self.costs is not None else None
        if column is not None and column not in universe.asset_columns:
            raise self._locate(
                SpecError(f"unknown universe column {column!r}", choices=universe.asset_columns),
                ("costs", "linear_bps_column"),
            )

    def _locate(self, err: SpecError, path: tuple[str | int, ...]) -> SpecError:
        file, line = _where(self._locations, path, self.source)
        return err.located(file=file, line=line, path=format_path(path))


def load_job(path: str | Path) -> JobSpec:
    """Read and validate a job file (following ``extends:``, see ``_documents``).

    Raises
    ------
    SpecError
        File missing or unreadable, over a limit (size, aliases, nesting: see
        ``_yaml_loader``), YAML syntax error, duplicate key, unknown key, wrong type, bad
        range, NaN or infinity, ``min`` above ``max`` — with file, line, key path and valid
        choices.
    """
    file = Path(path)
    try:
        raw = read_job_bytes(file, str(path))
    except FileNotFoundError:
        raise SpecError("job file not found", file=str(path)) from None
    except OSError as err:
        raise SpecError(f"cannot read job file: {err.strerror}", file=str(path)) from None
    resolved = file.resolve()
    return _validate(read_document(raw, str(path), resolved.parent, _seen=(resolved,)), str(path), resolved.parent)


def loads_job(text: str, *, source: str = "<string>", base_dir: Path | None = None) -> JobSpec:
    """Validate a job given as YAML text (see :func:`load_job`); ``extends`` is relative to ``base_dir``."""
    base_dir = base_dir or Path.cwd()
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError as err:  # a lone surrogate, e.g. from a mis-decoded file
        raise SpecError(f"job text is not valid Unicode: {err.reason} at character {err.start}", file=source) from None
    return _validate(read_document(raw, source, base_dir), source, base_dir)


def _validate(document: Document, source: str, base_dir: Path) -> JobSpec:
    locations = document.locations

    def fail(message: str, loc: tuple[str | int, ...], choices: tuple[str, ...] | None = None) -> SpecError:
        file, line = _where(locations, loc, source)
        return SpecError(message, file=file, line=line, path=format_path(loc) or None, choices=choices)

    non_finite = non_finite_path(document.content)
    if non_finite is not None:
        loc, value = non_finite
        raise fail(f"{value} is not a finite number; {NOT_FINITE}", loc)
    try:
        job_file = _JobFile.model_validate(document.content)
    except ValidationError as err:
        raise _pydantic_error(err, (), _JobFile, fail) from None
    if not isinstance(job_file.constraints, list):
        raise fail("must be a list of constraints", ("constraints",))
    constraints = tuple(_parse_constraint(item, i, fail) for i, item in enumerate(job_file.constraints))
    _check_once_each(constraints, fail)
    if job_file.taxes is None:
        for i, c in enumerate(constraints):
            if c.key in TAX_RULE_KEYS:
                raise fail(f"{c.key!r} needs a 'taxes' section (the tax lots it is measured on)", ("constraints", i, c.key))
    return JobSpec(
        name=job_file.name,
        description=job_file.description,
        data=job_file.data,
        risk_model=job_file.risk_model,
        constraints=constraints,
        solver=job_file.solver,
        output=job_file.output,
        allow_relaxation=job_file.allow_relaxation,
        costs=job_file.costs,
        cardinality=job_file.cardinality,
        taxes=job_file.taxes,
        source=source,
        sha256=document.sha256,
        base_dir=base_dir,
        extends=document.files[1:],
        _locations=locations,
    )


def _check_once_each(constraints: tuple[Constraint, ...], fail: Any) -> None:
    """Structural rules appear at most once, and a replacing rule (cash) not with the one it replaces."""
    keys = [c.key for c in constraints]
    for i, key in enumerate(keys):
        if key in STRUCTURAL_KEYS and key in keys[:i]:
            raise fail(f"{key!r} is given twice", ("constraints", i, key))
        replaced = REPLACES_DEFAULT.get(key)
        if replaced in keys:
            raise fail(
                f"{key!r} replaces {replaced!r} (weights sum to 1 − cash); remove the {replaced!r} constraint",
                ("constraints", i, key),
            )


def _where(
    locations: dict[str, tuple[str, int]], loc: tuple[str | int, ...], default_file: str
) -> tuple[str, int | None]:
    """(file, line) of the deepest prefix of ``loc`` that was written somewhere."""
    trimmed = tuple(loc)
    while trimmed:
        found = locations.get(format_path(trimmed))
        if found:
            return found
        trimmed = trimmed[:-1]
    return default_file, 1


def _parse_constraint(item: Any, index: int, fail: Any) -> Constraint:
    loc: tuple[str | int, ...] = ("constraints", index)
    keys = tuple(CONSTRAINT_TYPES)
    if isinstance(item, str) and item in CONSTRAINT_TYPES:
        item = {item: {}}
    if not isinstance(item, dict) or len(item) != 1:
        raise fail("each constraint is a mapping with one key, its type, e.g. '- turnover: {max: 0.3}'", loc, keys)
    key, params = next(iter(item.items()))
    if key not in CONSTRAINT_TYPES:
        raise fail(f"unknown constraint type {key!r}", (*loc, key), keys)
    if params is not None and not isinstance(params, dict):
        raise fail(f"the parameters of {key!r} must be a mapping", (*loc, key))
    try:
        return constraint_from_params(key, params)
    except ValidationError as err:
        raise _pydantic_error(err, (*loc, key), CONSTRAINT_TYPES[key], fail) from None


def _pydantic_error(err: ValidationError, prefix: tuple[str | int, ...], schema: Any, fail: Any) -> SpecError:
    """Turn the first pydantic error into a SpecError naming the key path and choices."""
    errors = err.errors()
    unknown = [e for e in errors if e["type"] in ("extra_forbidden", "unexpected_keyword_argument")]
    first = (unknown or errors)[0]
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    full = (*prefix, *loc)
    kind, message = first["type"], first["msg"]
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        return fail(f"unknown key {loc[-1]!r}", full, _fields_at(schema, loc[:-1]))
    if kind in ("missing", "missing_argument"):
        return fail(f"missing required key {loc[-1]!r}", full, _fields_at(schema, loc[:-1]))
    if kind == "finite_number":
        return fail(f"{first.get('input')!r} is not a finite number; {NOT_FINITE}", full)
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if kind not in ("value_error", "assertion_error") and "input" in first:
        message += f" (got {first['input']!r})"
    return fail(message, full)


def _fields_at(schema: Any, loc: tuple[str | int, ...]) -> tuple[str, ...] | None:
    """Field names of the (nested) model at ``loc``, for 'valid choices'."""
    model = schema
    for part in loc:
        fields = getattr(model, "model_fields", None) or getattr(model, "__pydantic_fields__", None)
        if not fields or part not in fields:
            return None
        model = fields[part].annotation
        model = next((a for a in typing.get_args(model) if a is not type(None)), model)  # X | None → X
    if isinstance(model, type) and issubclass(model, Constraint):
        return constraint_fields(model.key)
    fields = getattr(model, "model_fields", None) or getattr(model, "__pydantic_fields__", None)
    return tuple(fields) if fields else None


def _split_path(text: str) -> list[str | int]:
    """``sectors[2]`` → ``["sectors", 2]``."""
    parts: list[str | int] = []
    for piece in text.replace("]", "").replace("[", ".").split("."):
        if piece:
            parts.append(int(piece) if piece.isdigit() else piece)
    return parts
