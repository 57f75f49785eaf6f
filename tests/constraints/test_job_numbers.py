"""Numbers in job files: finite everywhere, ordered bounds, a numpy seed, and a zero turnover budget."""

from __future__ import annotations

import types
import typing

import numpy as np
import pytest
import yaml

import trimtab
from trimtab.constraints import (
    CONSTRAINT_TYPES,
    Bound,
    CardinalitySpec,
    CostSpec,
    DataSpec,
    ImpactSpec,
    OutputSpec,
    RiskModelSpec,
    SolverSpec,
    SpecError,
    TaxSpec,
    loads_job,
    parse_bound,
)

#: The smallest valid parameters of each constraint type (other fields are added to these).
MINIMAL: dict[str, dict[str, object]] = {
    "budget": {},
    "long_only": {},
    "cash": {"max": 0.05},
    "asset_weight": {"max": 0.05},
    "group_weight": {"group": "MAG7", "max": 0.2},
    "sector_weight": {"max": 0.3},
    "factor_exposure": {"factor": "value", "min": 0.1},
    "turnover": {"max": 0.3},
    "tracking_error": {"max": 0.03},
    "total_risk": {"max": 0.2},
    "beta": {"min": 0.9},
    "restricted": {"assets": ["SP001"]},
    "must_hold": {"assets": ["SP001"]},
    "no_trade": {"assets": ["SP001"]},
    "no_buy": {"assets": ["SP001"]},
    "max_trade_adv": {"max": 0.1, "nav": 1e9},
    "max_position_adv": {"max": 1.0, "nav": 1e9},
    "realized_gain": {"max": 0.01},
    "harvested_loss": {"min": 0.01},
}

#: Where each section model sits in a job file, and what it needs besides the field under test.
SECTIONS = {
    ("data",): (DataSpec, {}),
    ("risk_model",): (RiskModelSpec, {}),
    ("costs",): (CostSpec, {}),
    ("costs", "impact"): (ImpactSpec, {"nav": 1e9}),
    ("cardinality",): (CardinalitySpec, {"max_names": 50}),
    ("solver",): (SolverSpec, {}),
    ("output",): (OutputSpec, {}),
    ("taxes",): (TaxSpec, {}),
}

#: Non-finite numbers as YAML floats, refused in any field (even an integer one).
YAML_FLOATS = (".nan", ".inf", "-.inf", "1.0e+999")
#: Non-finite numbers as text, refused where a number is read from it.
TEXTS = ("'nan'", "'inf'", "'-Infinity'", "1e999")  # YAML reads a bare 1e999 as text
#: Non-finite benchmark-relative bounds.
RELATIVE = ("'benchmark + 1e999'", "'benchmark - 1e999'", "benchmark * 1e999")


def _leaves(annotation: object) -> set[object]:
    """The plain types in an annotation (``Optional``, unions and ``Annotated`` unwrapped)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _leaves(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_leaves(a) for a in typing.get_args(annotation)))
    return {annotation}


def _numeric_kind(annotation: object) -> str | None:
    """``bound``, ``float`` or ``int`` for a purely numeric field, else ``None`` (text, lists, ...)."""
    leaves = _leaves(annotation) - {type(None)}
    if not leaves or not leaves <= {int, float, Bound}:
        return None
    return "bound" if Bound in leaves else "float" if float in leaves else "int"


def _numeric_fields() -> list[tuple[tuple[str | int, ...], dict, str]]:
    """(key path of the field, document with ``__VALUE__`` there, kind) for every numeric field."""
    cases = []
    for key, cls in CONSTRAINT_TYPES.items():
        for name, info in cls.__pydantic_fields__.items():
            kind = _numeric_kind(info.annotation)
            if kind:
                params = {**MINIMAL[key], name: "__VALUE__"}
                cases.append((("constraints", 0, key, name), {"constraints": [{key: params}]}, kind))
    for field in ("penalty", "deadband"):  # the soft form, shared by every type
        params = {"max": 0.3, "soft": {"penalty": 100, field: "__VALUE__"}}
        cases.append((("constraints", 0, "turnover", "soft", field), {"constraints": [{"turnover": params}]}, "float"))
    for where, (model, needs) in SECTIONS.items():
        for name, info in model.model_fields.items():
            kind = _numeric_kind(info.annotation)
            if kind:
                section: dict = {**needs, name: "__VALUE__"}
                for part in reversed(where):
                    section = {part: section}
                outer = {"costs": {**section["costs"], "impact": {"nav": 1e9}}} if where == ("costs",) else section
                cases.append(((*where, name), {**outer, "constraints": []}, kind))
    params = {"risk_model": {"params": {"halflife": "__VALUE__"}}, "constraints": []}
    cases.append((("risk_model", "params", "halflife"), params, "float"))
    return cases


NUMERIC_FIELDS = _numeric_fields()


def _path_text(path: tuple[str | int, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def test_every_numeric_field_is_found():
    found = {_path_text(p) for p, _, _ in NUMERIC_FIELDS}
    for expected in (
        "constraints[0].asset_weight.max",
        "constraints[0].group_weight.min_market_cap",
        "constraints[0].factor_exposure.target",
        "constraints[0].max_trade_adv.nav",
        "constraints[0].beta.priority",
        "constraints[0].turnover.soft.deadband",
        "data.seed",
        "risk_model.window",
        "costs.impact.coefficient",
        "cardinality.time_limit",
    ):
        assert expected in found
    assert {p[2] for p, _, _ in NUMERIC_FIELDS if p[0] == "constraints"} == set(CONSTRAINT_TYPES)  # priority, at least


@pytest.mark.parametrize(("path", "document", "kind"), NUMERIC_FIELDS, ids=lambda v: _path_text(v) if isinstance(v, tuple) else None)
def test_non_finite_numbers_are_refused_in_every_numeric_field(path, document, kind):
    template = yaml.safe_dump(document, sort_keys=False)
    line = next(i for i, text in enumerate(template.splitlines(), 1) if "__VALUE__" in text)
    spellings = YAML_FLOATS + (TEXTS if kind != "int" else ()) + (RELATIVE if kind == "bound" else ())
    for spelling in spellings:
        with pytest.raises(SpecError) as info:
            loads_job(template.replace("__VALUE__", spelling), source="job.yaml")
        err = info.value
        assert (err.file, err.line, err.path) == ("job.yaml", line, _path_text(path)), spelling
        assert "finite" in err.message, (spelling, err.message)
    if kind == "int":  # text is not an integer at all
        with pytest.raises(SpecError, match="valid integer|whole number") as info:
            loads_job(template.replace("__VALUE__", "'nan'"), source="job.yaml")
        assert info.value.path == _path_text(path)


def test_the_issue_examples_are_refused_with_file_line_and_key():
    for value, message in [
        ("'nan'", "'nan' is not a finite number"),
        ("'inf'", "'inf' is not a finite number"),
        ("1e999", "'1e999' is not a finite number"),
        (".nan", "nan is not a finite number"),
    ]:
        with pytest.raises(SpecError) as info:
            loads_job(f"name: x\nconstraints:\n  - tracking_error: {{max: {value}}}\n", source="job.yaml")
        assert str(info.value) == (
            f"job.yaml:3: constraints[0].tracking_error.max: {message}; NaN and infinities are refused: write a finite number"
        )
    with pytest.raises(SpecError, match=r"job.yaml:2: constraints\[0\].group_weight.max: a bound must be finite, got 'benchmark \+ 1e999'"):
        loads_job("constraints:\n  - group_weight: {group: MAG7, max: 'benchmark + 1e999'}\n", source="job.yaml")


def test_parse_bound_refuses_non_finite_text_and_numbers():
    for raw in ("nan", "inf", "-inf", "1e999", "benchmark + 1e999", "benchmark * 1e999", float("nan"), 10**400):
        with pytest.raises(ValueError, match="must be finite"):
            parse_bound(raw)
    assert parse_bound("benchmark - 1e-3") == Bound("plus", -0.001)


def test_text_that_merely_contains_nan_is_still_text():
    job = loads_job("name: nan\ndescription: inf\nconstraints:\n  - group_weight: {column: sector, equals: nan, max: 0.3}\n")
    assert job.name == "nan" and job.description == "inf" and job.constraints[0].equals == "nan"


# -- min above max -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("constraint", "message"),
    [
        ("asset_weight: {min: 0.10, max: 0.05}", "min (0.1) is above max (0.05): no weight meets both"),
        ("sector_weight: {min: benchmark + 0.02, max: benchmark - 0.01}", "min (benchmark + 0.02) is above max (benchmark - 0.01)"),
        ("group_weight: {group: MAG7, min: benchmark - 0.01, max: benchmark - 0.02}", "min (benchmark - 0.01) is above max (benchmark - 0.02)"),
        ("group_weight: {group: MAG7, min: benchmark * 1.5, max: benchmark * 0.5}", "wherever the benchmark weight is positive"),
        ("factor_exposure: {factor: value, min: 0.5, max: 0.1}", "min (0.5) is above max (0.1)"),
        ("beta: {min: 1.2, max: 0.8}", "min (1.2) is above max (0.8)"),
        ("cash: {min: 0.05, max: 0.01}", "min (0.05) is above max (0.01)"),
        ("factor_exposure: {factor: value, min: 0.1, target: 0.2}", "give either 'target' or 'min'/'max', not both"),
    ],
)
def test_min_above_max_is_an_invalid_job_naming_both_values(constraint, message):
    key = constraint.split(":")[0]
    with pytest.raises(SpecError) as info:
        loads_job(f"name: x\nconstraints:\n  - turnover: {{max: 0.3}}\n  - {constraint}\n", source="job.yaml")
    err = info.value
    assert (err.file, err.line, err.path) == ("job.yaml", 4, f"constraints[1].{key}") and message in err.message


@pytest.mark.parametrize(
    "bounds",
    [
        "{min: 0.05, max: benchmark - 0.01}",  # mixed kinds: depends on each name's benchmark weight
        "{min: benchmark * 0.5, max: 0.05}",
        "{min: benchmark - 0.01, max: benchmark + 0.01}",
        "{min: benchmark, max: benchmark}",  # equal: hold the benchmark weight
        "{min: 0.01, max: 0.01}",
    ],
)
def test_bounds_of_mixed_kinds_or_in_order_load(bounds):
    assert loads_job(f"constraints:\n  - asset_weight: {bounds}\n").constraints[0].key == "asset_weight"


# -- seed --------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", ["-1", "-5", "1.5", "true", "'7'", "[7]"])
def test_bad_seeds_are_refused(seed):
    with pytest.raises(SpecError) as info:
        loads_job(f"data: {{seed: {seed}}}\nconstraints: []\n", source="job.yaml")
    err = info.value
    assert (err.line, err.path) == (1, "data.seed")
    assert "seed must be a whole number 0 or above (numpy.random.default_rng takes any integer ≥ 0)" in err.message


def test_any_non_negative_integer_seed_loads():
    for seed in (0, 7, 2**64):
        assert loads_job(f"data: {{seed: {seed}}}\nconstraints: []\n").data.seed == seed
    np.random.default_rng(2**64)  # numpy takes it too


# -- turnover: {max: 0} ------------------------------------------------------------------
def test_a_zero_turnover_budget_loads_and_a_negative_one_does_not():
    job = loads_job("constraints:\n  - turnover: {max: 0}\n")
    assert job.constraints[0].max == 0 and job.constraints[0].describe() == "turnover (two-way) <= 0"
    with pytest.raises(SpecError, match="greater than or equal to 0"):
        loads_job("constraints:\n  - turnover: {max: -0.1}\n")


def test_a_zero_turnover_budget_means_no_trading():
    job = loads_job("name: frozen\nconstraints:\n  - turnover: {max: 0}\n")
    target = trimtab.optimize(job)
    holdings = trimtab.load_market_data(job).holdings.reindex(target.weights.index, fill_value=0.0)
    assert np.abs(target.weights - holdings).max() <= 1e-6
    assert target.diagnostics.turnover <= 1e-6 and target.diagnostics.status == "optimal"
    (report,) = [r for r in target.diagnostics.constraints if r.kind == "turnover"]
    assert report.bound == 0 and report.violation <= 1e-6
