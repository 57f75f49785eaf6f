"""Job files: valid jobs load; every kind of mistake names file, line, key path and choices."""

from __future__ import annotations

import dataclasses

import textwrap

import pytest

from trimtab.constraints import (
    CONSTRAINT_TYPES,
    Bound,
    SpecError,
    UniverseInfo,
    load_job,
    loads_job,
    parse_bound,
)


def _job(body: str) -> str:
    return textwrap.dedent(body).lstrip("\n")


def _error(text: str, tmp_path, name: str = "job.yaml") -> SpecError:
    path = tmp_path / name
    path.write_text(_job(text))
    with pytest.raises(SpecError) as info:
        load_job(path)
    return info.value


def test_default_job_fields_and_defaults(tmp_path):
    path = tmp_path / "job.yaml"
    path.write_text(_job("""
        name: demo
        constraints:
          - group_weight: {group: MAG7, max: 0.20}
          - turnover: {max: 0.3}
    """))
    job = load_job(path)
    assert job.name == "demo"
    assert job.data.source == "embedded" and job.risk_model.method == "fundamental"
    assert job.solver.name == "CLARABEL" and job.solver.fallback == ["SCS"]
    assert [c.key for c in job.effective_constraints] == ["budget", "long_only", "group_weight", "turnover"]
    assert job.source == str(path) and len(job.sha256) == 64
    assert job.base_dir == tmp_path.resolve()


def test_spec_hash_ignores_formatting_but_not_content():
    a = loads_job("constraints:\n  - turnover: {max: 0.3}\n")
    b = loads_job("# comment\nconstraints:\n  - turnover:\n      max: 0.30\n")
    c = loads_job("constraints:\n  - turnover: {max: 0.31}\n")
    assert a.spec_hash == b.spec_hash != c.spec_hash
    assert a.sha256 != b.sha256  # the file hash is of the bytes


def test_unknown_constraint_field_names_line_path_and_choices(tmp_path):
    err = _error("""
        constraints:
          - turnover: {max: 0.3}
          - group_weight:
              group: MAG7
              maximum: 0.2
    """, tmp_path)
    assert err.line == 5
    assert err.path == "constraints[1].group_weight.maximum"
    assert "unknown key 'maximum'" in str(err)
    assert "max" in err.choices and "group" in err.choices
    assert str(err).startswith(f"{tmp_path / 'job.yaml'}:5:")


def test_unknown_top_level_and_section_keys(tmp_path):
    err = _error("""
        name: x
        risk_modle: {method: sample}
        constraints: []
    """, tmp_path)
    assert err.line == 2 and err.path == "risk_modle" and "risk_model" in err.choices
    err = _error("""
        risk_model:
          method: sample
          windw: 100
        constraints: []
    """, tmp_path)
    assert err.line == 3 and err.path == "risk_model.windw" and "window" in err.choices


def test_unknown_constraint_type_lists_the_registry(tmp_path):
    err = _error("""
        constraints:
          - mag7_cap: {max: 0.2}
    """, tmp_path)
    assert err.line == 2 and "unknown constraint type 'mag7_cap'" in str(err)
    assert set(err.choices) == set(CONSTRAINT_TYPES)


def test_bad_range_and_wrong_type(tmp_path):
    err = _error("""
        constraints:
          - turnover: {max: 2.5}
    """, tmp_path)
    assert err.path == "constraints[0].turnover.max" and "less than or equal to 2" in str(err)
    err = _error("""
        constraints:
          - tracking_error:
              max: two percent
    """, tmp_path)
    assert err.line == 3 and "valid number" in str(err) and "two percent" in str(err)
    err = _error("""
        risk_model: {method: magic}
        constraints: []
    """, tmp_path)
    assert err.path == "risk_model.method" and "fundamental" in str(err)


def test_missing_field_and_inconsistent_fields(tmp_path):
    err = _error("""
        constraints:
          - factor_exposure: {min: 0.25}
    """, tmp_path)
    assert "missing required key 'factor'" in str(err) and "factor" in err.choices
    err = _error("""
        constraints:
          - factor_exposure: {factor: value, min: 0.5, max: 0.1}
    """, tmp_path)
    assert "min (0.5) is above max (0.1)" in str(err)
    err = _error("""
        constraints:
          - group_weight: {group: MAG7, top_n_by_cap: 7, max: 0.2}
    """, tmp_path)
    assert "exactly one of" in str(err)


def test_yaml_syntax_error_and_missing_file(tmp_path):
    err = _error("constraints:\n  - turnover: {max: 0.3\n", tmp_path)
    assert "YAML syntax error" in str(err) and err.line is not None
    with pytest.raises(SpecError, match="job file not found"):
        load_job(tmp_path / "nope.yaml")


def test_files_source_needs_paths(tmp_path):
    err = _error("""
        data: {source: files, universe: u.csv}
        constraints: []
    """, tmp_path)
    assert "needs ['returns']" in str(err) and err.path == "data"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (0.05, Bound("absolute", 0.05)),
        ("0.05", Bound("absolute", 0.05)),
        ("benchmark + 0.02", Bound("plus", 0.02)),
        ("benchmark_weight - 0.05", Bound("plus", -0.05)),
        ("benchmark*1.5", Bound("times", 1.5)),
        ("benchmark", Bound("plus", 0.0)),
    ],
)
def test_bounds_parse(text, expected):
    assert parse_bound(text) == expected


def test_bounds_resolve_against_the_benchmark():
    assert parse_bound("benchmark - 0.05").resolve(0.33) == pytest.approx(0.28)
    assert parse_bound("benchmark * 2").resolve([0.1, 0.2]).tolist() == pytest.approx([0.2, 0.4])
    assert parse_bound(0.1).resolve([0.3, 0.4]).tolist() == [0.1, 0.1]
    with pytest.raises(ValueError, match="benchmark \\+ 0.02"):
        parse_bound("bench + 0.02")


UNIVERSE = UniverseInfo(
    asset_ids=("A", "B", "C"),
    sectors=("Energy", "Financials"),
    factor_names=("style:size", "sector:Energy"),
    characteristics=("quality", "value"),
    groups=("MAG7",),
)


@pytest.mark.parametrize(
    ("constraint", "path", "message", "choice"),
    [
        ("- sector_weight: {sectors: [Energy, Tech], max: 0.3}", "constraints[0].sector_weight.sectors[1]", "unknown sector 'Tech'", "Financials"),
        ("- group_weight: {group: FAANG, max: 0.2}", "constraints[0].group_weight.group", "unknown group 'FAANG'", "MAG7"),
        ("- group_weight: {assets: [A, Z], max: 0.2}", "constraints[0].group_weight.assets", "unknown asset(s) ['Z']", None),
        ("- factor_exposure: {factor: momentum, min: 0.1}", "constraints[0].factor_exposure.factor", "unknown characteristic or risk-model factor 'momentum'", "style:size"),
        ("- asset_weight: {assets: [Q], max: 0.1}", "constraints[0].asset_weight.assets", "unknown asset(s) ['Q']", None),
    ],
)
def test_names_are_checked_against_the_data(constraint, path, message, choice):
    job = loads_job(f"name: x\nconstraints:\n  {constraint}\n", source="job.yaml")
    with pytest.raises(SpecError) as info:
        job.check_universe(UNIVERSE)
    err = info.value
    assert err.path == path and message in str(err) and err.file == "job.yaml" and err.line == 3
    if choice:
        assert choice in err.choices


def test_risk_model_factors_wait_for_the_model():
    job = loads_job("constraints:\n  - factor_exposure: {factor: 'style:momentum', max: 0.1}\n", source="job.yaml")
    before_estimation = dataclasses.replace(UNIVERSE, factor_names=())
    job.check_universe(before_estimation)  # unknown yet: not an error
    with pytest.raises(SpecError, match="unknown characteristic or risk-model factor 'style:momentum'") as info:
        job.check_universe(UNIVERSE)
    assert info.value.choices == ("quality", "value", "style:size", "sector:Energy")


def test_job_groups_are_checked_against_the_data():
    job = loads_job("data:\n  groups:\n    MINE: [A, ZZZ]\nconstraints: []\n", source="j.yaml")
    with pytest.raises(SpecError, match=r"j.yaml:3: data.groups.MINE: group 'MINE' lists unknown asset\(s\) \['ZZZ'\]"):
        job.check_universe(UNIVERSE)


def test_soft_and_priority_round_trip_and_errors(tmp_path):
    job = loads_job(
        "allow_relaxation: true\nconstraints:\n"
        "  - factor_exposure: {factor: value, min: 0.25, soft: {penalty: 100, deadband: 0.05}}\n"
        "  - turnover: {max: 0.3, priority: 1}\n"
    )
    soft, relaxable = job.constraints
    assert soft.soft.penalty == 100 and soft.soft.deadband == 0.05 and relaxable.priority == 1
    assert job.allow_relaxation is True
    import yaml

    assert loads_job(yaml.safe_dump(job.to_dict())).constraints == job.constraints
    err = _error("""
        constraints:
          - turnover: {max: 0.3, priority: 1, soft: {penalty: 5}}
    """, tmp_path)
    assert "either soft or has a priority" in str(err)
    err = _error("""
        constraints:
          - long_only: {soft: {penalty: 5}}
    """, tmp_path)
    assert "structural" in str(err)
    err = _error("""
        constraints:
          - turnover: {max: 0.3, soft: {penalti: 5}}
    """, tmp_path)
    assert err.path == "constraints[0].turnover.soft.penalti" and err.choices == ("penalty", "deadband")


def test_extends_merges_and_locates_errors_in_the_right_file(tmp_path):
    (tmp_path / "house").mkdir()
    base = tmp_path / "house" / "base.yaml"
    base.write_text(_job("""
        name: house
        data: {source: files, universe: u.csv, returns: r.csv}
        risk_model: {method: ledoit_wolf, window: 250}
        constraints:
          - group_weight: {group: MAG7, max: 0.20}
          - turnover: {max: 0.30}
    """))
    child = tmp_path / "job.yaml"
    child.write_text(_job("""
        extends: house/base.yaml
        name: tighter
        risk_model: {window: 500}
        add_constraints:
          - factor_exposure: {factor: value, min: 0.25}
    """))
    job = load_job(child)
    assert job.name == "tighter"
    assert job.risk_model.method == "ledoit_wolf" and job.risk_model.window == 500  # mappings merge
    assert [c.key for c in job.constraints] == ["group_weight", "turnover", "factor_exposure"]
    assert job.data.universe == str(tmp_path / "house" / "u.csv")  # relative to the base file
    assert job.extends == (str(base.resolve()),)
    assert job.sha256 != load_job(base).sha256
    # An error in an added constraint points at the child file; one in the base at the base.
    child.write_text(child.read_text().replace("min: 0.25", "minimum: 0.25"))
    err = _error(child.read_text(), tmp_path, "job.yaml")
    assert err.file == str(child) and err.line == 5 and err.path == "constraints[2].factor_exposure.minimum"
    base.write_text(base.read_text().replace("max: 0.30", "max: 3.0"))
    child.write_text(_job("""
        extends: house/base.yaml
        name: tighter
    """))
    err = _error(child.read_text(), tmp_path, "job.yaml")
    assert err.file == str(base.resolve()) and err.line == 6 and "turnover.max" in err.path


def test_extends_errors(tmp_path):
    err = _error("extends: nowhere.yaml\nconstraints: []\n", tmp_path)
    assert "extended job file not found" in str(err) and err.line == 1
    (tmp_path / "a.yaml").write_text("extends: b.yaml\nconstraints: []\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\nconstraints: []\n")
    with pytest.raises(SpecError, match="extends cycle"):
        load_job(tmp_path / "a.yaml")
    err = _error("add_constraints: []\nconstraints: []\n", tmp_path)
    assert "add_constraints needs 'extends'" in str(err)
    (tmp_path / "base.yaml").write_text("constraints:\n  - turnover: {max: 0.3}\n")
    err = _error("extends: base.yaml\nadd_constraints: {turnover: {max: 0.2}}\n", tmp_path)
    assert (err.line, err.path) == (2, "add_constraints") and "must be a list of constraints" in str(err)
    err = _error("extends: base.yaml\nconstraints: 1\nadd_constraints: []\n", tmp_path)
    assert (err.line, err.path) == (2, "constraints") and "must be a list of constraints" in str(err)
    err = _error("extends: \"a\\0b.yaml\"\nconstraints: []\n", tmp_path)
    assert err.path == "extends" and err.line == 1
