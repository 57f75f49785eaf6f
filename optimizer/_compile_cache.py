"""The compile cache: one :class:`CompiledProblem` per (universe, factors, rules) shape, built on first use.

Jobs of the same shape — the same assets, sectors, factors, groups and rules — share one
compiled problem (a backtest's rebalances, a frontier's points, the accounts of one model);
the data enter through its parameters. A dense covariance and a tax-lot set are part of the key.
The least recently used problem is dropped beyond :data:`_CACHE_SIZE`.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict

import numpy as np

from trimtab.constraints import CardinalitySpec, Constraint, CostSpec, TaxSpec, UniverseInfo, constraint_to_yaml

from ._compiled import CompiledProblem

_CACHE: OrderedDict[str, CompiledProblem] = OrderedDict()
_CACHE_SIZE = 8


def compiled_problem(
    universe: UniverseInfo,
    n_factors: int,
    constraints: tuple[Constraint, ...],
    costs: CostSpec | None = None,
    cardinality: CardinalitySpec | None = None,
    dense_covariance: np.ndarray | None = None,
    taxes: TaxSpec | None = None,
    lot_structure: tuple[int, ...] | None = None,
) -> CompiledProblem:
    """The cached :class:`CompiledProblem` for this shape and spec (and covariance, if dense; and lot set).

    Built on first use; the least recently used of more than :data:`_CACHE_SIZE` is dropped.
    """
    key = _cache_key(universe, n_factors, constraints, costs, cardinality)
    if dense_covariance is not None:
        key += hashlib.sha256(np.ascontiguousarray(dense_covariance, dtype=float).tobytes()).hexdigest()
    if taxes is not None:
        lots = json.dumps([taxes.model_dump(mode="json"), list(lot_structure or ())], sort_keys=True)
        key += "taxes" + hashlib.sha256(lots.encode()).hexdigest()
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    problem = CompiledProblem(
        universe, n_factors, constraints, costs, cardinality, dense_covariance, taxes, lot_structure
    )
    _CACHE[key] = problem
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return problem


def _cache_key(
    universe: UniverseInfo,
    n_factors: int,
    constraints: tuple[Constraint, ...],
    costs: CostSpec | None,
    cardinality: CardinalitySpec | None,
) -> str:
    payload = {
        "costs": costs.model_dump(mode="json") if costs is not None else None,
        "cardinality": cardinality.model_dump(mode="json") if cardinality is not None else None,
        "asset_columns": universe.asset_columns,
        "assets": universe.asset_ids,
        "sectors": universe.sectors,
        "factors": universe.factor_names,
        "characteristics": universe.characteristics,
        "groups": universe.groups,
        "n_factors": n_factors,
        "constraints": [constraint_to_yaml(c) for c in constraints],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
