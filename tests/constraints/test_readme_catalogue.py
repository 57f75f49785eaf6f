"""README's constraint table lists exactly the registered constraint types.

The table is the one in the section "## Job files" whose first column holds backticked
keys (`` `budget` ``). Rows for job sections (``cardinality.max_names``) are not
constraint types and are left out explicitly.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from trimtab.constraints import CONSTRAINT_TYPES

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Job files"
#: Job sections whose fields have rows in the table (``cardinality.max_names``).
JOB_SECTIONS = ("cardinality",)
_KEY_CELL = re.compile(r"^\|\s*`([^`]+)`")


def table_keys(text: str) -> list[str]:
    """Keys in the first column of the constraint table of README's "Job files" section.

    That table is the first in the section whose rows start with a backticked key; it ends
    at the first line that is not a table row.
    """
    start = text.index(SECTION + "\n")
    end = text.find("\n## ", start + len(SECTION))
    lines = text[start : None if end < 0 else end].splitlines()
    first = next(i for i, line in enumerate(lines) if _KEY_CELL.match(line))
    keys = []
    for line in lines[first:]:
        if not line.startswith("|"):
            break
        match = _KEY_CELL.match(line)
        key = match.group(1) if match else line.split("|")[1].strip()  # reported as not registered
        if not key.startswith(tuple(f"{s}." for s in JOB_SECTIONS)):
            keys.append(key)
    return keys


def catalogue_problems(text: str, registered: set[str]) -> list[str]:
    """Why the README's table and the registry differ (empty when they agree)."""
    keys = table_keys(text)
    listed = set(keys)
    problems = [f"no README row for {k!r}" for k in sorted(registered - listed)]
    problems += [f"README row {k!r} is not a registered constraint type" for k in sorted(listed - registered)]
    problems += [f"README row {k!r} appears {n} times" for k, n in Counter(keys).items() if n > 1]
    return problems


def test_readme_lists_exactly_the_registered_keys():
    assert catalogue_problems(README.read_text(encoding="utf-8"), set(CONSTRAINT_TYPES)) == []


def test_the_check_fails_on_a_missing_an_extra_or_a_repeated_row():
    text = README.read_text(encoding="utf-8")
    registered = set(CONSTRAINT_TYPES)
    row = next(line for line in text.splitlines() if line.startswith("| `beta` |"))
    assert "cardinality.max_names" in text and "cardinality.max_names" not in table_keys(text)

    missing = text.replace(row + "\n", "")
    assert catalogue_problems(missing, registered) == ["no README row for 'beta'"]

    extra = text.replace(row + "\n", row + "\n| `leverage` | `max` | Σ|w| | `- leverage: {max: 1.3}` |\n")
    assert catalogue_problems(extra, registered) == ["README row 'leverage' is not a registered constraint type"]

    repeated = text.replace(row + "\n", row + "\n" + row + "\n")
    assert catalogue_problems(repeated, registered) == ["README row 'beta' appears 2 times"]
