"""Strict YAML for job files: ``yaml.safe_load`` semantics, with limits and no duplicate keys.

A job file is parsed by a :class:`yaml.SafeLoader` whose composer refuses, as soon as it
meets them and before reading the rest of the file:

- a key stated twice in one mapping (YAML keeps only the last one, so a second ``max:`` or a
  second ``constraints:`` block would silently replace the first); keys brought in by a
  ``<<: *anchor`` merge may still be overridden, as YAML intends;
- more than :data:`MAX_YAML_ALIASES` alias uses (``*name``), an alias inside its own anchor
  (a recursive structure), and aliases that expand the document beyond
  :data:`MAX_YAML_VALUES` values (an "alias bomb" of a few hundred bytes would otherwise
  expand to hundreds of millions of values);
- nesting deeper than :data:`MAX_NESTING_DEPTH` mappings and lists (aliases counted as
  expanded).

Files over :data:`MAX_FILE_BYTES` are refused before they are parsed (:func:`read_job_bytes`,
:func:`check_size`). Every refusal is a :class:`SpecError` naming the file, the line and the
key path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent, MappingEndEvent, MappingStartEvent, SequenceStartEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ._errors import SpecError
from ._yaml_lines import format_path, index_lines

#: Largest job file read, bytes (1 MiB); a job file is typically a few kilobytes.
MAX_FILE_BYTES = 1 << 20

#: Most alias uses (``*name``) in one job file.
MAX_YAML_ALIASES = 100

#: Most values (scalars, mappings and lists, aliases counted as expanded) in one job file.
MAX_YAML_VALUES = 100_000

#: Deepest nesting of mappings and lists in a job file (a job needs about 5 levels).
MAX_NESTING_DEPTH = 32

_MERGE_TAG = "tag:yaml.org,2002:merge"


def read_job_bytes(path: Path, source: str) -> bytes:
    """The bytes of a job file, refusing it unread beyond :data:`MAX_FILE_BYTES`.

    Raises
    ------
    FileNotFoundError, OSError
        As ``open`` does (the caller words them).
    SpecError
        When the file is larger than :data:`MAX_FILE_BYTES`.
    """
    with open(path, "rb") as handle:
        raw = handle.read(MAX_FILE_BYTES + 1)
    check_size(raw, source)
    return raw


def check_size(raw: bytes, source: str) -> None:
    """Raise :class:`SpecError` when ``raw`` is over :data:`MAX_FILE_BYTES`."""
    if len(raw) > MAX_FILE_BYTES:
        raise SpecError(
            f"the job file is larger than {MAX_FILE_BYTES} bytes ({MAX_FILE_BYTES / 2**20:g} MiB), the most trimtab reads; "
            "a job file states rules, not data — put long lists in the data files",
            file=source,
        )


def parse_yaml(text: str, source: str) -> tuple[Any, dict[str, int]]:
    """Compose and construct one YAML document as ``yaml.safe_load`` does, within the limits.

    Returns
    -------
    content : object
        What ``yaml.safe_load(text)`` returns (``None`` for an empty document).
    lines : dict
        Key path → 1-based line (see :func:`index_lines`).

    Raises
    ------
    SpecError
        YAML syntax error, duplicate key, or a limit exceeded — with file, line and key path.
    """
    loader = None
    try:
        loader = _StrictLoader(text, source)  # the reader refuses control characters at once
        root = loader.get_single_node()
        if root is None:
            return None, {}
        lines = index_lines(root)  # before construction flattens ``<<`` merges in the nodes
        return loader.construct_document(root), lines
    except yaml.YAMLError as err:
        raise _syntax_error(err, text, source) from None
    finally:
        if loader is not None:
            loader.dispose()


def _syntax_error(err: yaml.YAMLError, text: str, source: str) -> SpecError:
    """A PyYAML error as a SpecError with the line where PyYAML found the problem."""
    if isinstance(err, yaml.reader.ReaderError):  # it knows the character's position, not its line
        line = text.count("\n", 0, err.position) + 1
        return SpecError(f"YAML syntax error: character #x{err.character:04x} is not allowed in YAML", file=source, line=line)
    mark = getattr(err, "problem_mark", None)
    problem = getattr(err, "problem", None) or str(err)
    return SpecError(f"YAML syntax error: {problem}", file=source, line=mark.line + 1 if mark else None)


class _StrictLoader(yaml.SafeLoader):
    """A ``SafeLoader`` that counts aliases, values and depth, and refuses duplicate keys."""

    def __init__(self, text: str, source: str) -> None:
        super().__init__(text)
        self._source = source
        self._path: list[Any] = []
        self._depth = 0
        self._aliases = 0
        self._values = 0
        self._open_anchors: set[str] = set()
        self._measures: dict[int, tuple[int, int]] = {}

    # -- refusing ------------------------------------------------------------------------
    def _refuse(self, message: str, mark: Any, *last: Any) -> SpecError:
        """The error at ``mark``, on the key path being composed (plus ``last``)."""
        path = format_path([*self._path, *last]) or None
        return SpecError(message, file=self._source, line=mark.line + 1 if mark is not None else None, path=path)

    def _count(self, values: int, height: int, mark: Any) -> None:
        self._values += values
        if self._values > MAX_YAML_VALUES:
            raise self._refuse(
                f"the document holds more than {MAX_YAML_VALUES} values (aliases counted as expanded), "
                "the most a job file may hold",
                mark,
            )
        if self._depth + height > MAX_NESTING_DEPTH:
            raise self._refuse(
                f"mappings and lists nested more than {MAX_NESTING_DEPTH} levels deep, the most a job file may nest",
                mark,
            )

    # -- constructing --------------------------------------------------------------------
    def construct_object(self, node: Node, deep: bool = False) -> Any:
        """As PyYAML, but a value Python cannot build is a YAML error.

        ``2024-13-45`` (a date), a 5000-digit integer, ``!!float ''``: PyYAML's constructors
        raise ValueError, OverflowError or IndexError on these.
        """
        try:
            return super().construct_object(node, deep)
        except (ValueError, ArithmeticError, LookupError, TypeError) as err:
            shown = node.value if isinstance(node.value, str) else node.tag
            raise yaml.constructor.ConstructorError(
                None, None, f"invalid value {shown[:40]!r}: {err}", node.start_mark
            ) from None

    # -- composing -----------------------------------------------------------------------
    def compose_node(self, parent: Node | None, index: Any) -> Node:
        """Compose one node, tracking its key path (``index``: the key node, a list position, or None)."""
        if isinstance(index, ScalarNode):
            self._path.append(index.value)
        elif isinstance(index, int):
            self._path.append(index)
        else:  # a mapping key, or the root
            return self._compose(parent, index)
        try:
            return self._compose(parent, index)
        finally:
            self._path.pop()

    def _compose(self, parent: Node | None, index: Any) -> Node:
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            return self._alias(event)
        nested = isinstance(event, (MappingStartEvent, SequenceStartEvent))
        self._count(1, 1 if nested else 0, event.start_mark)
        anchor = event.anchor
        if anchor is not None and nested:
            self._open_anchors.add(anchor)
        self._depth += nested
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= nested
            self._open_anchors.discard(anchor)

    def _alias(self, event: AliasEvent) -> Node:
        """Count an alias use and what it expands to; refuse recursion."""
        self._aliases += 1
        if self._aliases > MAX_YAML_ALIASES:
            raise self._refuse(
                f"more than {MAX_YAML_ALIASES} YAML aliases (*name), the most a job file may use", event.start_mark
            )
        if event.anchor in self._open_anchors:
            raise self._refuse(f"alias *{event.anchor} is inside its own anchor (a recursive structure)", event.start_mark)
        node = self.anchors.get(event.anchor)
        if node is not None:
            self._count(*self._measure(node), event.start_mark)
        return super().compose_node(None, None)  # PyYAML's own alias handling (and its errors)

    def _measure(self, node: Node) -> tuple[int, int]:
        """(values, nesting height) of a complete node with its aliases expanded, memoized."""
        known = self._measures.get(id(node))
        if known is not None:
            return known
        if isinstance(node, SequenceNode):
            children = [self._measure(child) for child in node.value]
        elif isinstance(node, MappingNode):
            children = [self._measure(part) for pair in node.value for part in pair]
        else:
            children = None
        if children is None:
            measure = (1, 0)
        else:
            measure = (1 + sum(c[0] for c in children), 1 + max((c[1] for c in children), default=0))
        self._measures[id(node)] = measure
        return measure

    def compose_mapping_node(self, anchor: str | None) -> MappingNode:
        """PyYAML's ``compose_mapping_node``, refusing each key already seen as it is read."""
        start_event = self.get_event()
        tag = start_event.tag
        if tag is None or tag == "!":
            tag = self.resolve(MappingNode, None, start_event.implicit)
        node = MappingNode(tag, [], start_event.start_mark, None, flow_style=start_event.flow_style)
        if anchor is not None:
            self.anchors[anchor] = node
        seen: dict[tuple[str, str], int] = {}
        while not self.check_event(MappingEndEvent):
            item_key = self.compose_node(node, None)
            self._refuse_duplicate(item_key, seen)
            item_value = self.compose_node(node, item_key)
            node.value.append((item_key, item_value))
        end_event = self.get_event()
        node.end_mark = end_event.end_mark
        return node

    def _refuse_duplicate(self, key: Node, seen: dict[tuple[str, str], int]) -> None:
        """Refuse a key already stated in this mapping (``<<`` merges excepted)."""
        if not isinstance(key, ScalarNode) or key.tag == _MERGE_TAG:
            return
        line = key.start_mark.line + 1
        first = seen.get((key.tag, key.value))
        if first is None:
            seen[(key.tag, key.value)] = line
            return
        raise self._refuse(
            f"duplicate key {key.value!r} (first on line {first}, again on line {line}): YAML would keep only "
            "the last one, so trimtab refuses the file — state each key once",
            key.start_mark,
            key.value,
        )
