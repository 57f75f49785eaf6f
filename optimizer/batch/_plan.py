"""From the house job and the accounts to one compiled problem and one parameter set per account.

Every account is the job's problem with its own parameter values:

- **Holdings.** Current weights ``w₀ = shares × price / NAV`` (prices: the data's ``price``
  column, USD per share), with ``NAV = Σ shares × price + cash`` — or the account's ``nav``
  when given (cash is then ``nav − Σ shares × price``, never negative). With a ``weight``
  table, ``w₀`` is read as given (fractions of NAV); the cash weight is ``1 − Σ w₀``. The job is
  fully invested, so the target weights (fractions of NAV) sum to 1 and invest the cash;
  turnover ``Σ |w − w₀|`` counts the cash invested. ``w₀`` enters as the ``holdings`` of the
  account's :class:`AccountView`, so reports (turnover, current weights) are the account's.
- **Overrides.** A column ``<rule name>.<field>`` sets that field of the job's rule named so,
  for the account: the rule with the new value is validated like a job file's, and its bound
  parameters (``constraints[i].upper`` / ``.lower``) computed from it. Values are absolute
  numbers in the rule's units (weights as fractions of NAV, exposures in σ).
- **Exclusions.** When any account restricts names, the job gets one more rule,
  ``asset_weight: {max: 1.0, name: account exclusions}`` (a per-asset upper bound, never
  binding as written); an account's restricted names get bound 0 through its parameter.

So one compiled problem serves every account, and an account's result is the one
``trimtab.optimize`` gives for the job with that rule, the account's values and holdings.

- **Tax lots.** With a ``taxes`` section each account brings its own lots (``_lots``): its
  task carries its :class:`~trimtab.models.TaxLots` and NAV, and the worker compiles the
  problem for that lot set (a lot set is part of the problem's shape) — still one prepared
  job and one shipment of the data, but one compile per account. Overrides of a rule on lots
  (``realized_gain``, ``harvested_loss``) are fractions of NAV; a rule written in USD cannot be
  overridden per account (its bound depends on the account's NAV).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from trimtab.constraints import AssetWeight, BuildContext, DataView, JobSpec, LotTerms
from trimtab.models import DataError, TaxLots

from .. import PreparedProblem
from ._lots import LotsTable, account_hash, account_lots
from ._tables import (
    OVERRIDE_FIELDS,
    AccountRow,
    AccountsTable,
    HoldingsTable,
    holdings_problems,
)

#: The name of the rule added for per-account exclusions.
EXCLUSIONS_RULE = "account exclusions"

#: Σ w₀ may exceed 1 by this much (round-off in a weight table).
WEIGHT_SUM_SLACK = 1e-9

#: Version of the input-hash recipe; a change recomputes every account on resume.
INPUT_HASH_VERSION = 1


@dataclass(frozen=True)
class AccountView(DataView):
    """The batch's market data and risk model with one account's current weights as holdings.

    Attributes
    ----------
    book : np.ndarray
        Current weights (n,), fractions of the account's NAV (they sum to 1 − cash weight).
    """

    book: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def holdings(self) -> np.ndarray:
        """The account's current weights (n,), fractions of its NAV."""
        return self.book


@dataclass(frozen=True)
class AccountTask:
    """What a worker needs to solve one account.

    Attributes
    ----------
    account_id : str
    input_sha256 : str
        Hash of everything the account's result depends on (job, data, its row, its holdings).
    book : np.ndarray
        Current weights (n,), fractions of NAV.
    overrides : mapping of str to array
        Parameter name → value (the account's rule overrides and exclusions).
    lots : TaxLots or None
        The account's tax lots (a job with a ``taxes`` section): its problem is compiled for them.
    nav : float or None
        The account's NAV, USD (values its lots; None: the lots' market value).
    """

    account_id: str
    input_sha256: str
    book: np.ndarray
    overrides: Mapping[str, np.ndarray]
    lots: TaxLots | None = None
    nav: float | None = None


@dataclass(frozen=True)
class AccountFacts:
    """What the batch records of an account besides its result (USD amounts; ``None`` when unknown)."""

    account_id: str
    input_sha256: str
    cash: float | None
    nav: float | None
    restricted: tuple[str, ...]
    problems: tuple[str, ...] = ()


def batch_job(job: JobSpec, accounts: AccountsTable) -> JobSpec:
    """The job, with the exclusions rule appended when any account restricts a name."""
    if not any(a.restricted for a in accounts.accounts):
        return job
    return dataclasses.replace(job, constraints=(*job.constraints, AssetWeight(max=1.0, name=EXCLUSIONS_RULE)))


@dataclass(frozen=True)
class _Column:
    column: str
    index: int  # in job.constraints
    field: str


class AccountPlanner:
    """Turns each account row and its holdings into an :class:`AccountTask` (or its problems).

    Parameters
    ----------
    prepared : PreparedProblem
        The batch job (see :func:`batch_job`), prepared on the batch's data.
    accounts : AccountsTable
    holdings : HoldingsTable
    data_sha256 : str
        Hash of the market data and risk model (see ``_hashing``).
    lots : LotsTable, optional
        The accounts' tax lots (a job with a ``taxes`` section).

    Raises
    ------
    DataError
        An override column names no rule of the job, several, or a field the rule does not
        set — naming the file, the column and the valid columns.
    """

    def __init__(self, prepared: PreparedProblem, accounts: AccountsTable, holdings: HoldingsTable, data_sha256: str,
                 lots: LotsTable | None = None):
        self.prepared, self.accounts, self.holdings, self.data_sha256 = prepared, accounts, holdings, data_sha256
        self.lots = lots
        job = prepared.job
        self.columns = {c: _resolve_column(job, c, accounts.source) for c in accounts.override_columns}
        self.asset_ids = tuple(prepared.data.snapshot.asset_ids)
        self.position = {a: i for i, a in enumerate(self.asset_ids)}
        self._universe = pd.Index(self.asset_ids, dtype=object)
        self._job_hashes = (prepared.job.sha256, prepared.job.spec_hash)
        self.prices = prepared.data.snapshot.assets["price"].to_numpy(dtype=float)
        names = [c.name for c in job.constraints]
        self.exclusions = (
            f"constraints[{prepared.constraint_position(names.index(EXCLUSIONS_RULE))}].upper"
            if EXCLUSIONS_RULE in names else None
        )
        self._bounds: dict[tuple[int, tuple[tuple[str, float], ...]], dict[str, np.ndarray] | str] = {}

    def plan(self, row: AccountRow) -> tuple[AccountTask | None, AccountFacts]:
        """The account's task, or ``None`` with the problems that make it fail alone."""
        problems = list(row.problems) + holdings_problems(self.holdings, row.account_id)
        overrides: dict[str, np.ndarray] = {}
        book, nav, cash = None, row.nav, row.cash
        lots = None
        if not problems:
            book, nav, cash = self._book(row, problems)
            overrides = self._overrides(row, problems)
            if self.lots is not None:
                lots = account_lots(self.lots, row.account_id, self.prepared.data.snapshot, self.holdings, problems)
        digest = self.input_sha256(row)
        facts = AccountFacts(row.account_id, digest, cash, nav, row.restricted, tuple(problems))
        if problems or book is None:
            return None, facts
        return AccountTask(row.account_id, digest, book, overrides, lots, nav), facts

    # -- holdings ------------------------------------------------------------------------
    def _book(self, row: AccountRow, problems: list[str]) -> tuple[np.ndarray | None, float | None, float | None]:
        """(current weights, NAV, cash) in fractions of NAV and USD."""
        mine = self.holdings.of(row.account_id)
        at = self._universe.get_indexer(pd.Index(mine.assets, dtype=object))
        for i in np.flatnonzero(at < 0)[:10]:
            problems.append(f"{self.holdings.source} row {mine.rows[i]} (account {row.account_id}): unknown asset "
                            f"{mine.assets[i]!r} (not in the job's universe)")
        if (at < 0).any():
            return None, row.nav, row.cash
        values = mine.values
        book = np.zeros(len(self.asset_ids))
        if self.holdings.form == "weight":
            np.add.at(book, at, values)
            if row.cash is not None:
                problems.append(f"{row.where} (account {row.account_id}): with a weight holdings table the cash "
                                "weight is 1 − Σ weight; give nav (USD) instead of cash")
            if book.sum() > 1 + WEIGHT_SUM_SLACK:
                problems.append(f"{self.holdings.source} (account {row.account_id}): weights sum to {book.sum():.10g} "
                                "> 1 (fractions of NAV)")
            nav = row.nav
            return book, nav, (nav * (1 - book.sum()) if nav is not None else None)
        prices = self.prices[at]
        bad = np.flatnonzero(~(np.isfinite(prices) & (prices > 0)) & (values > 0))
        for i in bad[:10]:
            problems.append(f"{self.holdings.source} row {mine.rows[i]} (account {row.account_id}): no price for "
                            f"{mine.assets[i]!r} in the data, so its shares cannot be valued")
        if len(bad):
            return None, row.nav, row.cash
        np.add.at(book, at, values * prices)
        held = float(book.sum())
        nav = row.nav if row.nav is not None else held + (row.cash or 0.0)
        if row.nav is not None and row.nav < held * (1 - 1e-12):
            problems.append(f"{row.where} (account {row.account_id}): nav {row.nav:,.2f} is below the holdings' value "
                            f"{held:,.2f} (cash would be negative)")
        if not (math.isfinite(nav) and nav > 0):
            problems.append(f"{row.where} (account {row.account_id}): NAV is 0 (no holdings and no cash); nothing to invest")
            return None, nav, row.cash
        return book / nav, nav, nav - held

    # -- overrides -----------------------------------------------------------------------
    def _overrides(self, row: AccountRow, problems: list[str]) -> dict[str, np.ndarray]:
        by_rule: dict[int, list[tuple[str, float]]] = {}
        for column, value in row.overrides:
            spec = self.columns[column]
            by_rule.setdefault(spec.index, []).append((spec.field, value))
        values: dict[str, np.ndarray] = {}
        for index, fields in by_rule.items():
            bounds = self._rule_bounds(index, tuple(sorted(fields)))
            if isinstance(bounds, str):
                shown = ", ".join(f"{self.prepared.job.constraints[index].name}.{f} = {v:g}" for f, v in fields)
                problems.append(f"{row.where} (account {row.account_id}): {shown}: {bounds}")
            else:
                values.update(bounds)
        if self.exclusions is not None:
            excluded = np.ones(len(self.asset_ids))
            unknown = [a for a in row.restricted if a not in self.position]
            if unknown:
                problems.append(f"{row.where} (account {row.account_id}): restricted names unknown asset(s) "
                                f"{unknown[:10]} (not in the job's universe)")
            excluded[[self.position[a] for a in row.restricted if a in self.position]] = 0.0
            values[self.exclusions] = excluded
        return values

    def _rule_bounds(self, index: int, fields: tuple[tuple[str, float], ...]) -> dict[str, np.ndarray] | str:
        """Parameter values of rule ``index`` with ``fields`` changed, or why the values are invalid."""
        key = (index, fields)
        if key not in self._bounds:
            self._bounds[key] = _evaluate(self.prepared, index, dict(fields))
        return self._bounds[key]

    # -- hashing -------------------------------------------------------------------------
    def input_sha256(self, row: AccountRow) -> str:
        """SHA-256 of what the account's result depends on (job, data, its row, its holdings)."""
        payload = {
            "version": INPUT_HASH_VERSION,
            "job_sha256": self._job_hashes[0],
            "job_spec": self._job_hashes[1],
            "data_sha256": self.data_sha256,
            "cash": _number(row.cash),
            "nav": _number(row.nav),
            "restricted": sorted(row.restricted),
            "overrides": sorted((c, repr(float(v))) for c, v in row.overrides),
            "holdings_form": self.holdings.form,
            "holdings": [(a, repr(v)) for a, v in self.holdings.of(row.account_id).sorted_items()],
            **account_hash(self.lots, row.account_id),
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _number(value: float | None) -> str | None:
    return None if value is None else repr(float(value))


def _resolve_column(job: JobSpec, column: str, source: str) -> _Column:
    """The rule and field an override column names (see :func:`_overridable`)."""
    name, _, wanted = column.rpartition(".")
    matches = [i for i, c in enumerate(job.constraints) if c.name == name and c.name != EXCLUSIONS_RULE]
    valid = _overridable(job)
    if len(matches) != 1:
        why = "no rule of the job is named" if not matches else f"{len(matches)} rules of the job are named"
        raise DataError(f"{source}: column {column!r}: {why} {name!r}; valid override columns: {valid or 'none'} "
                        f"(a rule gets a name with 'name: ...' in {job.source})")
    rule = job.constraints[matches[0]]
    if getattr(rule, wanted, None) is None:
        raise DataError(f"{source}: column {column!r}: rule {name!r} ({rule.key}) sets no {wanted!r} in {job.source}; an "
                        f"account may change a bound the job sets, not add one; valid override columns: {valid}")
    return _Column(column, matches[0], wanted)


def _overridable(job: JobSpec) -> list[str]:
    """``<name>.<field>`` for every named rule and each of its fields the job sets."""
    return [f"{c.name}.{f}" for c in job.constraints if c.name and c.name != EXCLUSIONS_RULE
            for f in OVERRIDE_FIELDS if getattr(c, f, None) is not None]


def _evaluate(prepared: PreparedProblem, index: int, fields: dict[str, float]) -> dict[str, np.ndarray] | str:
    """The bound parameters rule ``index`` of the job has with ``fields`` changed (or an error message).

    The changed rule is validated as a job file's would be (``min`` above ``max``, a negative
    cap), then built in a scratch context of the same universe at the same position, so its
    parameters get the same names, and valued from the batch's data.
    """
    rule = prepared.job.constraints[index]
    if getattr(rule, "units", None) == "usd":
        return ("a rule in USD (units: usd) cannot be overridden per account: its bound depends on the account's NAV; "
                "write it as a fraction of NAV")
    try:
        changed = dataclasses.replace(rule, **fields)
    except (ValueError, TypeError) as err:
        return _first_line(err)
    position = prepared.constraint_position(index)
    scratch = BuildContext(prepared.data.universe, prepared.data.risk_model.n_factors)
    if prepared.data.lots is not None and prepared.job.taxes is not None:  # rules on lots need the lot terms
        LotTerms(scratch, prepared.data.lots.structure, prepared.job.taxes)
    before = set(scratch.parameters)
    try:
        changed.build(scratch, position)
        scratch.assign(prepared.data)
    except (ValueError, DataError) as err:
        return _first_line(err)
    names = [n for n in scratch.parameters if n not in before]
    compiled = prepared.problem.context.parameters
    values = {}
    for name in names:
        value = np.asarray(scratch.parameters[name].value, dtype=float)
        if name not in compiled or compiled[name].shape != value.shape:
            return f"the changed rule does not fit the compiled problem (parameter {name!r})"
        if compiled[name].is_nonneg() and np.any(value < 0):
            return f"{name} must be ≥ 0"
        values[name] = value
    return values


def _first_line(err: Exception) -> str:
    text = str(err)
    errors = getattr(err, "errors", None)
    if callable(errors):
        try:
            first = errors()[0]
            text = str(first.get("msg", text)).removeprefix("Value error, ")
        except (IndexError, TypeError, AttributeError):
            pass
    return text.splitlines()[0] if text else type(err).__name__
