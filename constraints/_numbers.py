"""Finite numbers only: NaN and infinities are refused wherever a job file gives a number.

A NaN bound makes every comparison false and an infinite one makes a rule vanish, both
silently, so a job file may not contain them — written as YAML floats (``.nan``, ``.inf``,
``1.0e+999``) or as text that reads as one (``"nan"``, ``"inf"``, ``"1e999"``,
``"benchmark + 1e999"``). YAML floats are found anywhere in the document by
:func:`non_finite_path`; text is refused where a number is read from it (pydantic's
``allow_inf_nan=False`` on every section and constraint, and :func:`parse_bound`).
"""

from __future__ import annotations

import math
from typing import Any

#: The sentence every refusal of a non-finite number ends with.
NOT_FINITE = "NaN and infinities are refused: write a finite number"


def reads_as_non_finite(text: str) -> bool:
    """True when ``float(text)`` is NaN or infinite (``"nan"``, ``"-inf"``, ``"1e999"``)."""
    try:
        return not math.isfinite(float(text))
    except (ValueError, OverflowError):
        return False


def non_finite_path(content: Any, path: tuple[str | int, ...] = ()) -> tuple[tuple[str | int, ...], float] | None:
    """Key path and value of the first non-finite float in a YAML document, or ``None``.

    Mapping values and list items are searched in document order (keys are not: an
    unknown key is reported as such). The document is bounded in depth by the loader.
    """
    if isinstance(content, float):
        return None if math.isfinite(content) else (path, content)
    if isinstance(content, dict):
        items = content.items()
    elif isinstance(content, list):
        items = enumerate(content)
    else:
        return None
    for key, value in items:
        found = non_finite_path(value, (*path, key))
        if found is not None:
            return found
    return None
