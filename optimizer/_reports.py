"""Per-rule reports of a solve: each constraint measured on the weights (value, bound, slack,
shadow price), and how the holdings-count rules were met."""

from __future__ import annotations

import math
from dataclasses import dataclass

from trimtab.constraints import BINDING_TOLERANCE, BuiltConstraint, Measurement

#: A tracking error below this (annualized, fraction: 1e-8 %) is zero to rounding — the target is
#: the benchmark. ``∂TE/∂bound = −dual / (2·TE)`` is not defined there (``√·`` at 0): both are
#: rounding noise, and the ratio of two noises changed from run to run (−0.0027, then −0.0020).
#: A report says ``nan`` (not defined) instead; a zero dual still reports 0.
ZERO_TRACKING_ERROR = 1e-10


@dataclass(frozen=True)
class ConstraintReport:
    """One constraint at the solution, measured numerically on the weights.

    Attributes
    ----------
    name : str
        The constraint's label (the user's ``name`` or its description).
    kind : str
        Its YAML key, e.g. ``group_weight``.
    sense : str
        ``<=``, ``>=``, ``==`` or ``range``.
    value : float
        The constrained quantity (for per-name/per-sector rules: at the tightest row).
    bound : float
        The bound it meets at that row.
    slack : float
        Distance to the bound, ≥ 0 when satisfied (units of ``value``).
    dual : float
        Shadow price: decrease in annualized active variance (return²) per unit of
        relaxation of the bound at that row; 0 when not binding.
    marginal_te : float
        Change in annualized tracking error per unit of relaxation, ``−dual / (2·TE)``
        (≤ 0: relaxing a binding rule lowers TE). Per 0.01 of relaxation (1 % of NAV, or
        0.01 σ) it is ``marginal_te × 0.01``; × 10 000 more for basis points. ``nan`` when
        the tracking error is zero to rounding (``ZERO_TRACKING_ERROR``) and the dual is not 0.
    binding : bool
        True when ``slack`` ≤ 1e-6.
    row : str or None
        The asset or sector of the tightest row.
    mode : {"hard", "soft", "relaxed"}
        Enforced; penalized in the objective; or relaxed by priority on an infeasible job.
    violation : float
        How far the bound is exceeded (``max(0, −slack)``); 0 for a hard rule.
    """

    name: str
    kind: str
    sense: str
    value: float
    bound: float
    slack: float
    dual: float
    marginal_te: float
    binding: bool
    row: str | None = None
    mode: str = "hard"
    violation: float = 0.0

    @classmethod
    def from_measurement(
        cls, built: BuiltConstraint, measured: Measurement, dual: float, tracking_error: float, *, relaxed: bool = False
    ) -> ConstraintReport:
        """Build a report from a numeric measurement, the dual (variance units) and the TE."""
        dual = abs(dual) if math.isfinite(dual) else dual
        if dual == 0.0:
            marginal = 0.0
        elif tracking_error > ZERO_TRACKING_ERROR and math.isfinite(dual):
            marginal = -dual / (2.0 * tracking_error)
        else:
            marginal = float("nan")
        return cls(
            name=built.label,
            kind=built.spec.key,
            sense=built.sense,
            value=measured.value,
            bound=measured.bound,
            slack=measured.slack,
            dual=dual,
            marginal_te=marginal,
            binding=measured.slack <= BINDING_TOLERANCE,
            row=measured.row,
            mode="relaxed" if relaxed else ("soft" if built.spec.soft is not None else "hard"),
            violation=max(0.0, -measured.slack) if (relaxed or built.spec.soft is not None) else 0.0,
        )


@dataclass(frozen=True)
class CardinalityReport:
    """How the holdings-count rules were met.

    Attributes
    ----------
    method : str
        ``exact`` (SCIP) or ``heuristic``.
    max_names, min_weight : int or None, float or None
        The rules (names; fraction of NAV).
    names_held : int
        Names with weight > 0 in the result.
    smallest_weight : float
        The smallest held weight, fraction of NAV.
    objective : float
        Objective at the result, (% TE)² units (TE² × 10⁴ when the job has no costs or soft rules).
    bound : float
        Proven lower bound on the objective of any portfolio meeting every rule.
    gap : float
        ``objective − bound`` (≥ 0): the result is at most this far from the optimum.
    relative_gap : float
        ``gap / objective``.
    tracking_error_bound : float or None
        Annualized TE no portfolio meeting the rules can beat (when the objective is TE² alone).
    solves : int
        Convex re-solves (heuristic) or SCIP branch-and-bound nodes (exact).
    status : str
        ``optimal`` (exact, gap closed), ``heuristic`` (the heuristic finished), or
        ``time_limit``: ``cardinality.time_limit`` cut the solve short (SCIP stopped, or the
        heuristic finished at once); the answer is verified, ``gap`` says how far it may be
        from the optimum.
    bound_note : str or None
        What limits the bound, when something does: e.g. a risk model with no specific risk
        (a full covariance), whose relaxation is no tighter than the job without count rules.
    """

    method: str
    max_names: int | None
    min_weight: float | None
    names_held: int
    smallest_weight: float
    objective: float
    bound: float
    gap: float
    relative_gap: float
    tracking_error_bound: float | None
    solves: int
    status: str
    bound_note: str | None = None
