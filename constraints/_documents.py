"""Read a job document, following ``extends:`` chains, and remember where every key was written.

A job may start with ``extends: base.yaml`` (a path relative to the file). The base is
read first (it may extend another), then the job is merged over it: mappings merge key by
key, everything else — scalars and lists, ``constraints`` included — is replaced.
``add_constraints: [...]`` appends to the base's constraints instead of replacing them.
File paths in a base file (data and vendor risk-model files) are relative to that base file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._errors import SpecError
from ._yaml_loader import check_size, parse_yaml, read_job_bytes

#: Longest ``extends:`` chain (a job, its base, the base's base, ...).
MAX_EXTENDS = 16

#: Keys holding file paths, per section, resolved against the file that writes them.
PATH_KEYS = {
    "data": ("universe", "returns", "holdings"),
    "risk_model": ("exposures", "factor_covariance", "specific_risk"),
}


@dataclass(frozen=True)
class Document:
    """A merged job document.

    Attributes
    ----------
    content : dict
        The merged YAML mapping (``extends``/``add_constraints`` resolved).
    locations : dict
        Key path (``constraints[1].turnover.max``) → (file, 1-based line) where it was written.
    sha256 : str
        SHA-256 over the bytes of the job file followed by those of every file it extends.
    files : tuple of str
        The job file, then the files it extends, in order.
    """

    content: dict[str, Any]
    locations: dict[str, tuple[str, int]]
    sha256: str
    files: tuple[str, ...]


def read_document(raw: bytes, source: str, base_dir: Path, *, _seen: tuple[Path, ...] = ()) -> Document:
    """Parse ``raw`` (the bytes of ``source``) and merge it over the files it extends.

    Raises
    ------
    SpecError
        Not UTF-8, over the size limit, YAML syntax error, duplicate key, too many aliases or
        too deep (see ``_yaml_loader``), not a mapping, or a bad ``extends`` chain.
    """
    check_size(raw, source)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError("job file is not UTF-8 text", file=source) from None
    content, lines = parse_yaml(text, source)
    if not isinstance(content, dict):
        raise SpecError("a job file must be a mapping with at least a 'constraints' list", file=source, line=1)
    locations = {path: (source, line) for path, line in lines.items()}
    digest = hashlib.sha256(raw)
    files: tuple[str, ...] = (source,)
    parent = content.pop("extends", None)
    if parent is None:
        if "add_constraints" in content:
            raise SpecError("add_constraints needs 'extends'", file=source, line=locations["add_constraints"][1])
        return Document(content, locations, digest.hexdigest(), files)
    where = locations["extends"][1]
    if not isinstance(parent, str):
        raise SpecError("extends must be the path of a job file", file=source, line=where, path="extends")
    try:
        path = (base_dir / parent).resolve()
    except (OSError, ValueError):  # a NUL byte, a name too long
        raise SpecError(f"extends: {parent!r} is not a usable file path", file=source, line=where, path="extends") from None
    if path in _seen:
        raise SpecError(f"extends cycle: {parent} is already being read", file=source, line=where, path="extends")
    if len(_seen) > MAX_EXTENDS:
        raise SpecError(
            f"extends chain longer than {MAX_EXTENDS} files, the most a job may extend", file=source, line=where, path="extends"
        )
    try:
        base_raw = read_job_bytes(path, str(path))
    except SpecError:
        raise
    except (OSError, ValueError):
        raise SpecError(f"extended job file not found: {path}", file=source, line=where, path="extends") from None
    base = read_document(base_raw, str(path), path.parent, _seen=(*_seen, path.resolve()))
    base_content = _absolute_data_paths(base.content, path.parent)
    _check_additions(content, base_content, {**base.locations, **locations}, source)
    merged, moved = _merge(base_content, content)
    child_locations = {moved(p): loc for p, loc in locations.items()}
    digest.update(bytes.fromhex(base.sha256))
    return Document(merged, {**base.locations, **child_locations}, digest.hexdigest(), files + base.files)


def _check_additions(
    child: dict[str, Any], base: dict[str, Any], locations: dict[str, tuple[str, int]], source: str
) -> None:
    """``add_constraints`` is a list, and so are the constraints it is appended to."""
    if "add_constraints" not in child:
        return
    if not isinstance(child["add_constraints"], (list, type(None))):
        file, line = locations["add_constraints"]
        raise SpecError("add_constraints must be a list of constraints", file=file, line=line, path="add_constraints")
    existing = child["constraints"] if "constraints" in child else base.get("constraints")
    if not isinstance(existing, (list, type(None))):
        file, line = locations.get("constraints", (source, 1))
        raise SpecError("constraints must be a list of constraints", file=file, line=line, path="constraints")


def _merge(base: dict[str, Any], child: dict[str, Any]):
    """Child over base; returns the merge and a function mapping child key paths to merged ones."""
    merged = _deep_merge(base, {k: v for k, v in child.items() if k != "add_constraints"})
    offset = 0
    if "add_constraints" in child:
        existing = list(merged.get("constraints") or [])
        added = child["add_constraints"] or []
        offset = len(existing)
        merged["constraints"] = existing + list(added)

    def moved(path: str) -> str:
        if path.startswith("add_constraints["):
            index, rest = path[len("add_constraints[") :].split("]", 1)
            return f"constraints[{int(index) + offset}]{rest}"
        return path

    return merged, moved


def _deep_merge(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _absolute_data_paths(content: dict[str, Any], directory: Path) -> dict[str, Any]:
    out = dict(content)
    for section, keys in PATH_KEYS.items():
        values = content.get(section)
        if isinstance(values, dict):
            out[section] = {
                k: (str(directory / v) if k in keys and isinstance(v, str) and not Path(v).is_absolute() else v)
                for k, v in values.items()
            }
    return out
