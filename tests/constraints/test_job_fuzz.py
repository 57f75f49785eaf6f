"""Random YAML at the job loader: it returns a JobSpec or raises SpecError, never anything else."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trimtab.constraints import (
    CONSTRAINT_TYPES,
    CardinalitySpec,
    CostSpec,
    DataSpec,
    ImpactSpec,
    JobSpec,
    RiskModelSpec,
    SolverSpec,
    SpecError,
    constraint_fields,
    loads_job,
)

FUZZ = settings(
    max_examples=200,
    deadline=timedelta(seconds=5),
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

TOP_KEYS = ("name", "description", "data", "risk_model", "constraints", "allow_relaxation", "costs", "cardinality",
            "solver", "output", "extends", "add_constraints")
SECTION_KEYS = tuple(
    {k for model in (DataSpec, RiskModelSpec, CostSpec, ImpactSpec, CardinalitySpec, SolverSpec) for k in model.model_fields}
)
FIELD_KEYS = tuple({f for key in CONSTRAINT_TYPES for f in constraint_fields(key)} | {"penalty", "deadband"})
JUNK_KEYS = ("", "x", "max ", "Max", "<<", "1", "null", "MAG7", "ünïcode", "a.b", "[0]")
KEYS = st.sampled_from(TOP_KEYS + SECTION_KEYS + FIELD_KEYS + tuple(CONSTRAINT_TYPES) + JUNK_KEYS)

WORDS = (
    "nan", "inf", "-inf", ".inf", "1e999", "-1e999", "benchmark", "benchmark + 0.02", "benchmark - 1e999",
    "benchmark * 1.5", "benchmark × 2", "bench + 1", "all", "MAG7", "SP001", "SP500", "value", "quality",
    "style:size", "sector:Energy", "embedded", "files", "fundamental", "vendor", "ewma", "CLARABEL", "SCS", "NOPE",
    "two_way", "one_way", "auto", "exact", "heuristic", "percent", "0", "0.05", "-1", "1e-3", "base.yaml",
    "nowhere.yaml", "../base.yaml", "Information Technology",
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(WORDS),
    st.text(max_size=12),
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=16,
)
CONSTRAINT_ITEMS = st.one_of(
    st.dictionaries(
        st.sampled_from(tuple(CONSTRAINT_TYPES)),
        st.none() | st.dictionaries(st.sampled_from(FIELD_KEYS + JUNK_KEYS[:3]), VALUES, max_size=5),
        min_size=1,
        max_size=1,
    ),
    st.sampled_from(tuple(CONSTRAINT_TYPES)),
    VALUES,
)
SECTIONS = {
    key: st.dictionaries(st.sampled_from(SECTION_KEYS + JUNK_KEYS[:3]), VALUES, max_size=4) | VALUES
    for key in ("data", "risk_model", "costs", "cardinality", "solver", "output")
}
JOBS = st.fixed_dictionaries(
    {"constraints": st.lists(CONSTRAINT_ITEMS, max_size=4) | VALUES},
    optional={
        **SECTIONS,
        "name": VALUES,
        "allow_relaxation": VALUES,
        "extends": st.sampled_from(("base.yaml", "nowhere.yaml", "job.yaml")) | VALUES,
        "add_constraints": st.lists(CONSTRAINT_ITEMS, max_size=3),
        "junk": VALUES,
    },
)

#: Pieces of YAML syntax, for documents that are not a dump of anything.
FRAGMENTS = (
    "constraints:", "\n", "\n  ", "  - ", "- ", ": ", "turnover", "group_weight", "max", "min", "{", "}", "[", "]",
    ", ", "&a ", "*a", "*b", "<<: ", "!!float ", "!!int ", "!!binary ", "!!set ", "!!python/object ", "? ", "'",
    '"', ".nan", ".inf", "1e999", "'nan'", "benchmark + 0.02", "0.05", "MAG7", "extends: ", "base.yaml", "---\n",
    "...\n", "#", "|\n", ">\n", "%YAML 1.1\n", "\t", "2024-13-45", "0x1F", "~", "yes", "\x00", "\ufeff", "é",
)
BASE_JOB = "name: base\nconstraints:\n  - group_weight: {group: MAG7, max: 0.2}\n  - turnover: {max: 0.3}\n"
RAW_TEXT = st.one_of(
    st.lists(st.sampled_from(FRAGMENTS), max_size=30).map("".join),
    st.text(max_size=200),
    st.tuples(st.integers(0, len(BASE_JOB)), st.lists(st.sampled_from(FRAGMENTS), max_size=5).map("".join)).map(
        lambda cut: BASE_JOB[: cut[0]] + cut[1] + BASE_JOB[cut[0] :]
    ),
)


@pytest.fixture(scope="module")
def job_dir(tmp_path_factory) -> Path:
    """A folder with a valid ``base.yaml`` to extend (random ``extends:`` values resolve here)."""
    directory = tmp_path_factory.mktemp("fuzz")
    (directory / "base.yaml").write_text(BASE_JOB)
    return directory


def _load(text: str, directory: Path) -> JobSpec | None:
    """Load ``text``; a SpecError is an accepted outcome (returns None), anything else fails the test."""
    try:
        job = loads_job(text, source="fuzz.yaml", base_dir=directory)
    except SpecError as err:
        assert err.message and str(err).startswith("fuzz.yaml") or err.file == str(directory / "base.yaml"), str(err)
        return None
    assert isinstance(job, JobSpec)
    return job


def _finite(job: JobSpec) -> bool:
    """True when no number anywhere in the loaded job is NaN or infinite."""

    def walk(value: object) -> bool:
        if isinstance(value, float):
            return math.isfinite(value)
        if isinstance(value, dict):
            return all(walk(v) for v in value.values())
        if isinstance(value, list):
            return all(walk(v) for v in value)
        return True

    return walk(job.to_dict())


@FUZZ
@given(document=JOBS)
def test_random_job_documents_load_or_raise_spec_error(document, job_dir):
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    job = _load(text, job_dir)
    if job is not None:
        assert _finite(job)
        assert loads_job(yaml.safe_dump(job.to_dict()), base_dir=job_dir).spec_hash == job.spec_hash


@FUZZ
@given(text=RAW_TEXT)
def test_random_yaml_text_loads_or_raises_spec_error(text, job_dir):
    job = _load(text, job_dir)
    if job is not None:
        assert _finite(job)
