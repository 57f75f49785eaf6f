"""Key paths in YAML documents, as printed in error messages, and the line each was written on."""

from __future__ import annotations

from collections.abc import Sequence

import yaml


def format_path(path: Sequence[str | int]) -> str:
    """``("constraints", 1, "group_weight", "max")`` → ``constraints[1].group_weight.max``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def index_lines(root: yaml.Node | None) -> dict[str, int]:
    """Every key path in a composed YAML document → its 1-based line."""
    lines: dict[str, int] = {}

    def walk(node: yaml.Node, path: tuple[str | int, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, key.value)
                lines[format_path(child)] = key.start_mark.line + 1
                walk(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for i, value in enumerate(node.value):
                child = (*path, i)
                lines[format_path(child)] = value.start_mark.line + 1
                walk(value, child)

    if root is not None:
        walk(root, ())
    return lines
