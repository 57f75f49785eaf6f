"""The constraint catalogue is derived from the classes: one key per class, no class forgotten.

Also the base-class facts code outside the package reads instead of switching on types:
``subject``, ``qualified_by_subject``, ``structural`` and ``defined_group``.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import ClassVar

import pytest

import trimtab.constraints as package
from trimtab.constraints import (
    CONSTRAINT_CLASSES,
    CONSTRAINT_TYPES,
    STRUCTURAL_KEYS,
    Constraint,
    DataView,
    FactorExposure,
    GroupWeight,
    SectorWeight,
    Turnover,
    constraint_from_params,
)


def constraint_types_in(module_name: str, root: type = Constraint) -> set[type]:
    """Every constraint type (a class stating its own ``key``) defined in ``module_name`` or below it.

    Shapes (``BenchmarkBounded``, ``ScalarRange``, …) state no key and are left out.
    """
    found, stack = set(), [root]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        inside = cls.__module__ == module_name or cls.__module__.startswith(module_name + ".")
        if inside and vars(cls).get("key"):
            found.add(cls)
    return found


def _all_modules_imported() -> None:
    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{info.name}")


def test_every_key_is_unique():
    keys = [c.key for c in CONSTRAINT_CLASSES]
    assert all(keys) and len(set(keys)) == len(keys), keys
    assert len(CONSTRAINT_TYPES) == len(CONSTRAINT_CLASSES)
    assert all(CONSTRAINT_TYPES[c.key] is c for c in CONSTRAINT_CLASSES)


def test_every_constraint_type_in_the_package_is_registered():
    _all_modules_imported()
    defined = constraint_types_in(package.__name__)
    assert len(defined) >= 16
    assert defined == set(CONSTRAINT_CLASSES), defined ^ set(CONSTRAINT_CLASSES)


def test_the_check_finds_a_type_left_out_of_the_registry():
    class Leverage(Constraint):
        key: ClassVar[str] = "leverage"

    class Shape(Constraint):  # a shape: no key of its own
        pass

    found = constraint_types_in(__name__)
    assert Leverage in found and Shape not in found and Leverage not in set(CONSTRAINT_CLASSES)


def test_a_type_must_state_its_key():
    from trimtab.constraints._shapes import constraint_type

    with pytest.raises(TypeError, match="must state its YAML key"):

        @constraint_type
        class Nameless(Constraint):
            pass


def test_structural_keys_come_from_the_classes():
    assert set(STRUCTURAL_KEYS) == {"budget", "cash", "long_only"}
    with pytest.raises(ValueError, match="structural"):
        constraint_from_params("cash", {"max": 0.05, "priority": 1})


@pytest.mark.parametrize(
    ("constraint", "subject", "qualified"),
    [
        (GroupWeight(group="MAG7", max=0.2), "MAG7", True),
        (GroupWeight(top_n_by_cap=10, max=0.2), "top 10 by cap", True),
        (FactorExposure(factor="value", min=0.25), "value", True),
        (SectorWeight(sectors=["Energy", "Utilities"], max=0.1), "Energy, Utilities", False),
        (SectorWeight(max=0.3), "every sector", False),
        (Turnover(max=0.3), "turnover", False),
        (constraint_from_params("restricted", {"assets": ["A", "B"]}), "2 listed names", False),
        (constraint_from_params("tracking_error", {"max": 0.02}), "tracking_error", False),
    ],
)
def test_subject_names_what_the_rule_is_about(constraint, subject, qualified):
    assert constraint.subject == subject
    assert constraint.qualified_by_subject is qualified


def test_only_a_group_of_the_rules_own_is_a_defined_group(toy):
    snapshot, model = toy
    data = DataView(snapshot, model)
    top3 = tuple(snapshot.market_caps.nlargest(3).index)
    assert set(GroupWeight(top_n_by_cap=3, max=0.2).defined_group(data)) == set(top3)
    assert GroupWeight(group="TOP5", max=0.2).defined_group(data) is None
    assert Turnover(max=0.3).defined_group(data) is None
