"""Find the line of a key path in a YAML document, for error messages.

``yaml.safe_load`` forgets positions, so the document is also composed into nodes
(``yaml.compose``), which keep their start marks, and key paths are walked there.
"""

from __future__ import annotations

from collections.abc import Sequence

import yaml


def line_of(root: yaml.Node | None, path: Sequence[str | int]) -> int | None:
    """1-based line of the deepest node reached by ``path`` (keys and list indices).

    A path that ends on a mapping key gives the line of that key; a path that leaves the
    document (e.g. a missing field) gives the line of the last node it reached.
    """
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if match is None:
                return line
            key_node, node = match
            line = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def format_path(path: Sequence[str | int]) -> str:
    """``("constraints", 1, "group_weight", "max")`` → ``constraints[1].group_weight.max``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
