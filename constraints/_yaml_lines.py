"""Key paths in YAML documents, as printed in error messages."""

from __future__ import annotations

from collections.abc import Sequence


def format_path(path: Sequence[str | int]) -> str:
    """``("constraints", 1, "group_weight", "max")`` → ``constraints[1].group_weight.max``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
