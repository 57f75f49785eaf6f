"""Quick proofs that the holdings-count rules cannot hold, before any re-solve.

Each check is a few numpy operations on the assigned parameter values, and each is a
*necessary* condition, so a conflict it reports is certain (never a guess):

* **names forced held** — rules that keep a name's weight above 0 (``must_hold``, a held
  ``no_trade`` name, ``asset_weight`` with a positive ``min``) use up slots of ``max_names``;
  with ``min_weight`` each forced name also needs at least ``min_weight`` of NAV.
* **weight caps** — the ``max_names`` largest per-name caps must add up to the invested weight.
* **turnover to close names** — holding at most K names means selling every currently held
  name but K (names that must stay take slots first; restricted names must go anyway). The
  sells are at least the sum of the smallest current weights that must go, ``S``; with the
  invested total ``T`` fixed by the budget, the buys are ``S + T − Σw₀`` more, so two-way
  turnover is at least ``S + |T − (Σw₀ − S)|`` (``2S`` for a fully invested book).
* **turnover with the other rules** — one small conic problem: the least two-way turnover,
  written ``2·Σ(w − w₀)⁻ + Σw − Σw₀``, of a portfolio meeting every other hard rule with the
  count relaxed (``0 ≤ zᵢ ≤ 1``, ``wᵢ ≤ zᵢ``, ``Σz ≤ K``, ``wᵢ ≥ m·zᵢ``) and each closed
  share sold, ``(w₀ᵢ − wᵢ)⁺ ≥ w₀ᵢ(1 − zᵢ)``. It sees what the other rules cost too (a group
  cap, a factor tilt), so it is usually the stronger of the two.

Against a hard ``turnover`` cap, the larger bound is the turnover needed, and the fewest
names for which both bounds fit the cap is reported with it.

Names are "held" when their weight is above 0. The count rules are read from the compiled
context (parameters ``cardinality.max_names`` and ``cardinality.min_weight``, 0 when absent),
so :func:`~trimtab.optimizer.diagnose` finds these conflicts too.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from trimtab.constraints import BuildContext, BuiltConstraint, CardinalitySpec

#: A bound must exceed its cap by more than this (fraction of NAV) to count as a conflict:
#: solutions are verified to 1e-6, so nothing closer is a proof.
CONFLICT_MARGIN = 1e-6

#: Suggested turnover caps are rounded up to this many decimals.
SUGGESTION_DECIMALS = 4

MAX_NAMES_PARAMETER, MIN_WEIGHT_PARAMETER = "cardinality.max_names", "cardinality.min_weight"


@dataclass(frozen=True)
class CountRule:
    """One rule of a holdings-count conflict (mirrors :class:`ConflictMember`).

    Attributes
    ----------
    name, kind : str
        Label and YAML key (``cardinality`` for the count rules).
    sense, side : str
        ``<=``/``>=`` and which bound conflicts (``upper``/``lower``).
    bound, needed : float
        The rule's bound now, and the least (cap) or most (floor) bound the check proves is
        needed; NaN when no value of this rule alone helps.
    """

    name: str
    kind: str
    sense: str
    side: str
    bound: float
    needed: float


@dataclass(frozen=True)
class CountConflict:
    """A proof that the holdings-count rules cannot hold with the other rules.

    Attributes
    ----------
    rules : tuple of CountRule
        The rules that conflict, the count rule first.
    message : str
        The conflict in plain words, with the numbers and what would fix it.
    """

    rules: tuple[CountRule, ...]
    message: str


def register_count_rules(context: BuildContext, spec: CardinalitySpec) -> None:
    """Record the count rules in ``context`` as parameters, for :func:`count_rules`."""
    context.parameter(MAX_NAMES_PARAMETER, (), lambda d: float(spec.max_names or 0), nonneg=True)
    context.parameter(MIN_WEIGHT_PARAMETER, (), lambda d: float(spec.min_weight or 0.0), nonneg=True)


def count_rules(context: BuildContext) -> tuple[int | None, float | None] | None:
    """``(max_names, min_weight)`` recorded in ``context`` (each None when absent); None without count rules."""
    parameters = context.parameters
    if MAX_NAMES_PARAMETER not in parameters or parameters[MAX_NAMES_PARAMETER].value is None:
        return None
    limit, floor = float(parameters[MAX_NAMES_PARAMETER].value), float(parameters[MIN_WEIGHT_PARAMETER].value)
    return (round(limit) or None, floor or None)


def count_conflict(
    built: tuple[BuiltConstraint, ...], context: BuildContext, lp_cache: dict | None = None
) -> CountConflict | None:
    """The first quick check that proves the count rules infeasible, or None (parameters assigned).

    ``lp_cache`` keeps the compiled turnover bound problem across calls (see :func:`relaxed_turnover`).
    """
    rules = count_rules(context)
    if rules is None:
        return None
    limit, floor = rules
    low, high = weight_bounds(built, context)
    invested = _invested_range(built)
    forced = np.flatnonzero(low > 0)
    count_label = _count_label(limit, floor)
    if limit is not None and len(forced) > limit:
        return _conflict(
            count_label, limit, len(forced), "rules that keep names held",
            f"{len(forced)} names are kept above 0 by other rules (must-hold, no-trade, minimum weights) "
            f"but at most {limit} may be held; allow max_names >= {len(forced)}",
        )
    if floor is not None and floor * len(forced) > invested[1] + CONFLICT_MARGIN:
        return _conflict(
            count_label, floor, invested[1] / len(forced), "rules that keep names held",
            f"{len(forced)} names must stay held and each held name needs at least {floor:g}: "
            f"{floor * len(forced):.4g} of NAV against {invested[1]:.4g} invested; "
            f"allow min_weight <= {math.floor(invested[1] / len(forced) * 1e6) / 1e6:g}",
            side="lower",
        )
    if limit is not None:
        most = np.sort(np.minimum(high, 1.0))[::-1][:limit].sum()
        if most < invested[0] - CONFLICT_MARGIN:
            return _conflict(
                count_label, limit, float("nan"), "per-name weight caps",
                f"the {limit} largest per-name caps add up to {most:.4g} of NAV, less than the "
                f"{invested[0]:.4g} that must be invested",
            )
        return _turnover_conflict(built, context, limit, floor, count_label, low, high, invested, lp_cache)
    return None


def weight_bounds(built: tuple[BuiltConstraint, ...], context: BuildContext) -> tuple[np.ndarray, np.ndarray]:
    """Per-name ``(lower, upper)`` weight bounds stated directly by hard rules on the weights (n,)."""
    n = context.universe.n_assets
    low, high = np.zeros(n), np.full(n, np.inf)
    where = {a: i for i, a in enumerate(context.universe.asset_ids)}
    for b in built:
        if b.spec.soft is not None or b.labels is None or not _is_weight_selection(b.lhs, context.weights):
            continue
        rows = np.array([where[a] for a in b.labels], dtype=int)
        upper = _values(b.upper, len(rows))
        lower = upper if "eq" in b.hard else _values(b.lower, len(rows))
        if upper is not None:
            np.minimum.at(high, rows, upper)
        if lower is not None:
            np.maximum.at(low, rows, lower)
    return low, high


def turnover_caps(built: tuple[BuiltConstraint, ...]) -> list[tuple[BuiltConstraint, float, float]]:
    """Hard ``turnover`` rules as ``(rule, cap as stated, cap as two-way turnover)``."""
    caps = []
    for b in built:
        if b.spec.key == "turnover" and b.spec.soft is None and b.upper is not None:
            cap = float(np.asarray(b.upper.value))
            caps.append((b, cap, cap * (2.0 if getattr(b.spec, "kind", "two_way") == "one_way" else 1.0)))
    return caps


def _turnover_conflict(
    built: tuple[BuiltConstraint, ...],
    context: BuildContext,
    limit: int,
    floor: float | None,
    count_label: str,
    low: np.ndarray,
    high: np.ndarray,
    invested: tuple[float, float],
    lp_cache: dict | None,
) -> CountConflict | None:
    caps = turnover_caps(built)
    if not caps:
        return None
    rule, cap, two_way_cap = min(caps, key=lambda c: c[2])
    closing = closing_turnover(np.asarray(context.holdings.value, dtype=float), low, high, invested)
    relaxed = relaxed_turnover(built, context, floor, lp_cache)

    def needed_for(k: int) -> float:
        quick = closing(k)
        return quick if quick > two_way_cap + CONFLICT_MARGIN else max(quick, relaxed(k))

    needed = max(closing(limit), relaxed(limit))
    if needed <= two_way_cap + CONFLICT_MARGIN:
        return None
    if math.isinf(needed):
        return _conflict(
            count_label, limit, float("nan"), "other rules",
            f"even with names held fractionally, no portfolio of at most {limit} names meets the other rules "
            "(turnover aside)",
        )
    one_way = two_way_cap != cap
    stated = needed / 2 if one_way else needed
    kind = "one-way" if one_way else "two-way"
    fewest = _fewest(needed_for, limit, context.universe.n_assets, two_way_cap + CONFLICT_MARGIN)
    allow = math.ceil(stated * 10**SUGGESTION_DECIMALS) / 10**SUGGESTION_DECIMALS
    held = int((np.asarray(context.holdings.value) > 0).sum())
    fix = f"it takes a turnover cap >= {allow:g} ({kind})" + (f" or max_names >= {fewest}" if fewest else "")
    fix += " (bounds from below: a solve may need more)"
    message = (
        f"'{count_label}' and '{rule.spec.label}' cannot hold together: {held} names are held now, and closing "
        f"all but {limit} of them while meeting the other rules needs at least {stated:.1%} {kind} turnover "
        f"against a {cap:.1%} budget; {fix}"
    )
    members = (
        CountRule(count_label, "cardinality", "<=", "upper", float(limit), float(fewest) if fewest else float("nan")),
        CountRule(rule.spec.label, rule.spec.key, "<=", "upper", cap, allow),
    )
    return CountConflict(members, message)


def relaxed_turnover(
    built: tuple[BuiltConstraint, ...], context: BuildContext, floor: float | None, cache: dict | None = None
) -> Callable[[int], float]:
    """``k ↦`` least two-way turnover of the relaxed count problem with every other hard rule.

    A lower bound on the turnover of any portfolio meeting those rules with at most ``k``
    names: ``inf`` when even the relaxation is infeasible, 0 when it cannot be solved (no
    claim). ``cache`` keeps the compiled problem across calls.
    """
    cache = {} if cache is None else cache
    if "problem" not in cache:
        n, w = context.universe.n_assets, context.weights
        limit = cp.Parameter(nonneg=True, name="cardinality.bound_limit")
        z, sold = cp.Variable(n, name="held_share"), cp.Variable(n, nonneg=True, name="sold")
        rules = [c for b in built if b.spec.soft is None and b.spec.key != "turnover" for c in b.constraints]
        rules += [z >= 0, z <= 1, w <= z, cp.sum(z) <= limit]
        rules += [sold >= -context.trades, sold >= cp.multiply(context.holdings, 1 - z)]
        if floor is not None:
            rules.append(w >= floor * z)
        turnover = 2 * cp.sum(sold) + cp.sum(w) - cp.sum(context.holdings)
        cache["problem"], cache["limit"] = cp.Problem(cp.Minimize(turnover), rules), limit
    problem, parameter = cache["problem"], cache["limit"]

    def needed(k: int) -> float:
        parameter.value = float(k)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                problem.solve(solver=cp.CLARABEL)
            except cp.error.SolverError:
                return 0.0
        if problem.status == cp.INFEASIBLE:
            return math.inf
        return max(float(problem.value), 0.0) if problem.status == cp.OPTIMAL else 0.0

    return needed


def _fewest(needed_for: Callable[[int], float], limit: int, n: int, cap: float) -> int | None:
    """The least ``k > limit`` with ``needed_for(k) <= cap`` (non-increasing in k), by bisection."""
    if needed_for(n) > cap:
        return None
    low, high = limit, n  # needed_for(low) > cap >= needed_for(high)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if needed_for(middle) > cap else (low, middle)
    return high


def closing_turnover(
    holdings: np.ndarray, low: np.ndarray, high: np.ndarray, invested: tuple[float, float]
) -> Callable[[int], float]:
    """``k ↦`` least two-way turnover to hold at most ``k`` names (a lower bound; inf if impossible).

    Parameters
    ----------
    holdings : np.ndarray
        Current weights ``w₀`` (n,), fractions of NAV.
    low, high : np.ndarray
        Per-name weight bounds (n,): ``low > 0`` keeps a name held, ``high <= 0`` closes it.
    invested : (float, float)
        Least and most total weight ``Σw`` the budget or cash rule allows.
    """
    held = holdings > 0
    forced, closed = low > 0, high <= 0
    must_sell = float(holdings[held & closed].sum())
    free = np.sort(holdings[held & ~forced & ~closed])
    cumulative = np.concatenate([[0.0], np.cumsum(free)])
    total = float(holdings.sum())

    def needed(k: int) -> float:
        slots = k - int(forced.sum())
        if slots < 0:
            return math.inf
        sells = must_sell + cumulative[max(len(free) - slots, 0)]
        remaining = total - sells  # weight still held before any buy
        # The kept names move by at least |Σw − remaining| in total: buys to reinvest the sells.
        return sells + max(invested[0] - remaining, 0.0, remaining - invested[1])

    return needed


def _conflict(
    label: str, bound: float, needed: float, others: str, detail: str, *, side: str = "upper"
) -> CountConflict:
    sense = "<=" if side == "upper" else ">="
    rule = CountRule(label, "cardinality", sense, side, float(bound), float(needed))
    return CountConflict((rule,), f"'{label}' cannot hold with the {others}: {detail}")


def rules_text(limit: int | None, floor: float | None) -> str:
    """The count rules in words: ``at most 100 names and every held name >= 0.002``."""
    parts = [f"at most {limit} names"] if limit is not None else []
    parts += [f"every held name >= {floor:g}"] if floor else []
    return " and ".join(parts) or "the holdings-count rules"


def _count_label(limit: int | None, floor: float | None) -> str:
    return "cardinality: " + rules_text(limit, floor)


def _invested_range(built: tuple[BuiltConstraint, ...]) -> tuple[float, float]:
    """Least and most ``Σw``: 1 with a budget, ``1 − cash`` with a cash rule, [0, ∞) otherwise."""
    for b in built:
        if b.spec.key == "budget":
            return 1.0, 1.0
        if b.spec.key == "cash":
            return 1.0 - float(b.spec.max), 1.0 - float(b.spec.min)
    return 0.0, math.inf


def _is_weight_selection(lhs: cp.Expression, weights: cp.Variable) -> bool:
    """True when ``lhs`` is the weight vector or a selection of its entries."""
    if lhs is weights:
        return True
    index_atoms = (cp.atoms.affine.index.index, cp.atoms.affine.index.special_index)
    return isinstance(lhs, index_atoms) and lhs.args[0] is weights


def _values(expression: cp.Expression | None, rows: int) -> np.ndarray | None:
    if expression is None or expression.value is None:
        return None
    return np.broadcast_to(np.asarray(expression.value, dtype=float), (rows,)).astype(float)
