"""Infeasibility diagnosis on planted conflicts: the reported set is a true, irreducible
conflict, and each suggested bound makes it feasible."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
import yaml

from trimtab import optimizer
from trimtab.constraints import loads_job
from trimtab.optimizer import InfeasibleError

DECOYS = [
    {"factor_exposure": {"factor": "quality", "max": 5.0}},
    {"asset_weight": {"max": 0.6}},
    {"sector_weight": {"max": 0.9}},
]


def _job(rules):
    return loads_job(yaml.safe_dump({"constraints": rules}))


def _feasible(rules, toy) -> bool:
    snapshot, model = toy
    try:
        optimizer.optimize(_job(rules), snapshot=snapshot, risk_model=model)
    except InfeasibleError:
        return False
    return True


def _three_way(toy):
    """TOP5 cut, turnover budget and quality floor: every pair feasible, all three not."""
    snapshot, _ = toy
    wb, w0 = snapshot.benchmark_weights.to_numpy(), snapshot.holdings.to_numpy()
    q = snapshot.characteristics["quality"].to_numpy()
    cap = float(wb[:5].sum()) - 0.10
    w = cp.Variable(len(wb))
    base = [cp.sum(w) == 1, w >= 0]
    cp.Problem(cp.Minimize(cp.norm1(w - w0)), base + [cp.sum(w[:5]) <= cap]).solve()
    budget = float(np.abs(w.value - w0).sum()) + 0.03
    cp.Problem(cp.Maximize(q @ (w - wb)), base + [cp.norm1(w - w0) <= budget]).solve()
    q_with_budget = float(q @ (w.value - wb))
    cp.Problem(cp.Maximize(q @ (w - wb)), base + [cp.norm1(w - w0) <= budget, cp.sum(w[:5]) <= cap]).solve()
    q_with_both = float(q @ (w.value - wb))
    assert q_with_both < q_with_budget - 0.02, "the planted three-way conflict needs a gap"
    floor = round((q_with_both + q_with_budget) / 2, 6)
    return [
        {"group_weight": {"group": "TOP5", "max": round(cap, 6)}},
        {"turnover": {"max": round(budget, 6)}},
        {"factor_exposure": {"factor": "quality", "min": floor}},
    ]


CASES = {
    "two-way": lambda toy: [{"group_weight": {"group": "TOP5", "max": 0.05}}, {"turnover": {"max": 0.05}}],
    "three-way": _three_way,
    "single": lambda toy: [{"factor_exposure": {"factor": "value", "min": 50.0}}],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_reported_conflict_is_irreducible_and_fixable(toy, case):
    planted = CASES[case](toy)
    snapshot, model = toy
    rules = DECOYS[:1] + planted + DECOYS[1:]
    with pytest.raises(InfeasibleError) as info:
        optimizer.optimize(_job(rules), snapshot=snapshot, risk_model=model)
    diagnosis = info.value.diagnosis
    assert not diagnosis.feasible
    job = _job(rules)
    labels = [c.label for c in job.constraints]
    conflict = [labels.index(m.name) for m in diagnosis.conflict]
    assert sorted(conflict) == [1 + i for i in range(len(planted))]  # exactly the planted rules
    assert _feasible([], toy)
    # Irreducible: drop any member (keep everything else, decoys included) → feasible.
    for i in conflict:
        assert _feasible([r for j, r in enumerate(rules) if j != i], toy), labels[i]
    # Each suggested bound alone makes the whole job feasible.
    for member, i in zip(diagnosis.conflict, conflict):
        key, params = next(iter(rules[i].items()))
        field = {"upper": "max", "lower": "min"}[member.side]
        fixed = [*rules[:i], {key: {**params, field: member.needed}}, *rules[i + 1 :]]
        assert _feasible(fixed, toy), (member.name, member.needed)
        assert f"'{member.name}'" in str(info.value) and f"{member.needed:.4g}" in str(info.value)
