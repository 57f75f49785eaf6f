"""Strict YAML: duplicate keys are errors naming both lines; size, aliases and depth are bounded."""

from __future__ import annotations

import textwrap

import pytest

from trimtab.constraints import (
    MAX_EXTENDS,
    MAX_FILE_BYTES,
    MAX_NESTING_DEPTH,
    MAX_YAML_ALIASES,
    MAX_YAML_VALUES,
    SpecError,
    load_job,
    loads_job,
)


def _job(body: str) -> str:
    return textwrap.dedent(body).lstrip("\n")


def _error(text: str, source: str = "job.yaml") -> SpecError:
    with pytest.raises(SpecError) as info:
        loads_job(text, source=source)
    return info.value


#: A 340-byte "billion laughs": nine levels of nine aliases each expand to 9⁹ ≈ 387 million strings.
ALIAS_BOMB = (
    "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n"
    + "".join(f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]\n" for prev, name in zip("abcdefgh", "bcdefghi"))
    + "constraints: []\n"
)


# -- duplicate keys ----------------------------------------------------------------------
def test_duplicate_key_on_one_line_names_the_key_path_and_both_lines():
    err = _error("constraints:\n  - group_weight: {group: MAG7, max: 0.05, max: 0.9}\n")
    assert err.file == "job.yaml" and err.line == 2
    assert err.path == "constraints[0].group_weight.max"
    assert "duplicate key 'max' (first on line 2, again on line 2)" in str(err)
    assert str(err).startswith("job.yaml:2: constraints[0].group_weight.max: ")


def test_a_second_constraints_block_is_refused_not_silently_dropped():
    err = _error(_job("""
        constraints:
          - group_weight: {group: MAG7, max: 0.20}
        name: x
        constraints:
          - turnover: {max: 0.3}
    """))
    assert err.line == 4 and err.path == "constraints"
    assert "first on line 1, again on line 4" in str(err)


def test_duplicates_are_found_at_any_depth_and_quoting_does_not_hide_them():
    err = _error(_job("""
        data:
          groups:
            MINE: [SP001]
            "MINE": [SP002]
        constraints: []
    """))
    assert err.path == "data.groups.MINE" and "first on line 3, again on line 4" in str(err)
    err = _error("constraints:\n  - turnover:\n      max: 0.3\n      kind: one_way\n      max: 0.9\n")
    assert err.line == 5 and err.path == "constraints[0].turnover.max"


def test_merge_keys_may_still_be_overridden_as_yaml_intends():
    job = loads_job(_job("""
        constraints:
          - asset_weight: &cap {max: 0.05, assets: [SP001]}
          - asset_weight: {<<: *cap, max: 0.04}
    """))
    first, second = job.constraints
    assert first.max.value == 0.05 and second.max.value == 0.04 and second.assets == ["SP001"]


def test_the_same_key_in_different_mappings_is_fine():
    job = loads_job("constraints:\n  - turnover: {max: 0.3}\n  - tracking_error: {max: 0.03}\n")
    assert [c.max for c in job.constraints] == [0.3, 0.03]


# -- size --------------------------------------------------------------------------------
def test_a_file_over_the_size_limit_is_refused_unparsed(tmp_path):
    path = tmp_path / "big.yaml"
    # Valid YAML that would otherwise be parsed: 10 MiB of comment lines.
    path.write_bytes(b"constraints: []\n" + b"# padding\n" * (MAX_FILE_BYTES // 10 * 10 + 1))
    with pytest.raises(SpecError) as info:
        load_job(path)
    err = info.value
    assert err.file == str(path) and f"larger than {MAX_FILE_BYTES} bytes (1 MiB)" in str(err)
    text = "constraints: []\nname: " + "x" * (10 * MAX_FILE_BYTES) + "\n"
    assert "larger than" in str(_error(text))


def test_a_file_just_under_the_size_limit_loads():
    text = "constraints: []\nname: "
    text += "x" * (MAX_FILE_BYTES - len(text) - 1) + "\n"
    assert len(text.encode()) == MAX_FILE_BYTES
    assert len(loads_job(text).name) > MAX_FILE_BYTES - 100


# -- aliases -----------------------------------------------------------------------------
def _aliases(count: int) -> str:
    return "constraints:\n  - must_hold:\n      assets: [&a SP001" + ", *a" * count + "]\n"


def test_aliases_up_to_the_limit_load_and_one_more_is_refused():
    job = loads_job(_aliases(MAX_YAML_ALIASES))
    assert len(job.constraints[0].assets) == MAX_YAML_ALIASES + 1
    err = _error(_aliases(MAX_YAML_ALIASES + 1))
    assert err.line == 3 and err.path == f"constraints[0].must_hold.assets[{MAX_YAML_ALIASES + 1}]"
    assert f"more than {MAX_YAML_ALIASES} YAML aliases" in str(err)


def test_an_alias_bomb_is_refused_where_it_starts_to_expand():
    assert len(ALIAS_BOMB) < 400 and ALIAS_BOMB.count("*") < MAX_YAML_ALIASES  # under the alias limit
    err = _error(ALIAS_BOMB)
    assert f"more than {MAX_YAML_VALUES} values (aliases counted as expanded)" in str(err)
    # Refused at the level whose expansion crosses the limit (9⁶ > 100 000), before the rest is read.
    assert err.line == 6 and err.path == "f[0]"


def test_a_recursive_alias_is_refused():
    err = _error("constraints:\n  - must_hold: {assets: &a [SP001, *a]}\n")
    assert "alias *a is inside its own anchor" in str(err) and err.path == "constraints[0].must_hold.assets[1]"


def test_an_undefined_alias_is_a_yaml_error():
    err = _error("constraints:\n  - must_hold: {assets: [*nowhere]}\n")
    assert "YAML syntax error: found undefined alias 'nowhere'" in str(err) and err.line == 2


# -- nesting -----------------------------------------------------------------------------
def _nested(levels: int) -> str:
    """A document whose deepest value sits inside ``levels`` mappings and lists (root included)."""
    return "constraints: []\nname: " + "[" * (levels - 1) + "x" + "]" * (levels - 1) + "\n"


def test_nesting_to_the_limit_is_parsed_and_one_level_more_is_refused():
    err = _error(_nested(MAX_NESTING_DEPTH))
    assert "valid string" in str(err)  # parsed: the name is a list, not a depth error
    err = _error(_nested(MAX_NESTING_DEPTH + 1))
    assert f"nested more than {MAX_NESTING_DEPTH} levels deep" in str(err)
    assert err.line == 2 and err.path == "name" + "[0]" * (MAX_NESTING_DEPTH - 1)


def test_very_deep_nesting_is_a_spec_error_not_a_recursion_error():
    for text in ("a: " + "[" * 100_000, "a: " + "{a: " * 50_000, "".join(" " * i + "- \n" for i in range(1_000))):
        assert "levels deep" in str(_error(text))


def test_depth_counts_aliases_as_expanded():
    deep = "[" * 20 + "x" + "]" * 20
    text = f"constraints: []\nname: &deep {deep}\ndescription: {'[' * 12}*deep{']' * 12}\n"
    err = _error(text)
    assert "levels deep" in str(err) and err.line == 3 and err.path.startswith("description[0]")


# -- extends -----------------------------------------------------------------------------
def test_extends_chains_are_bounded(tmp_path):
    for i in range(MAX_EXTENDS + 2):
        (tmp_path / f"j{i}.yaml").write_text(f"extends: j{i + 1}.yaml\n" if i <= MAX_EXTENDS else "constraints: []\n")
    with pytest.raises(SpecError, match=f"extends chain longer than {MAX_EXTENDS} files") as info:
        load_job(tmp_path / "j0.yaml")
    assert info.value.path == "extends" and info.value.line == 1
    assert load_job(tmp_path / "j2.yaml").constraints == ()


def test_an_extended_file_over_the_size_limit_is_refused(tmp_path):
    (tmp_path / "base.yaml").write_bytes(b"constraints: []\n" + b"#" * MAX_FILE_BYTES)
    (tmp_path / "job.yaml").write_text("extends: base.yaml\n")
    with pytest.raises(SpecError, match="larger than") as info:
        load_job(tmp_path / "job.yaml")
    assert info.value.file == str((tmp_path / "base.yaml").resolve())


def test_text_that_is_not_unicode_or_not_printable_is_refused_with_its_line():
    assert "not valid Unicode" in str(_error("constraints: []\nname: \ud800\n"))
    err = _error("constraints: []\nname: a\x1fb\n")
    assert err.line == 2 and "character #x001f is not allowed in YAML" in str(err)


# -- values Python cannot hold -----------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "message"),
    [("2024-13-45", "month must be in 1..12"), ("9" * 5000, "Exceeds the limit"), ("!!float abc", "could not convert")],
)
def test_values_python_cannot_construct_are_yaml_errors(value, message):
    err = _error(f"constraints: []\nname: {value}\n")
    assert "YAML syntax error: invalid value" in str(err) and message in str(err) and err.line == 2
