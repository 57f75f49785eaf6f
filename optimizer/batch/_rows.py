"""``batch.csv``: one row per account, the same whether it was solved now or finished before.

Columns, in order: ``account_id``, ``status`` (``ok``, ``time_limit``, ``infeasible``,
``solver_failed``, ``error``, ``not_run``), ``tracking_error`` (annualized, fraction),
``active_share``, ``turnover`` (two-way, fraction of NAV), ``names_held``, ``nav`` and
``cash`` (the account's USD before trading; blank when unknown), ``group.<name>`` (target
weight of each group, fraction of NAV), ``exposure.<characteristic>`` (active exposure, σ),
for a tax-aware job ``tax_usd``, ``tax_percent_of_nav``, ``net_realized_gain_usd``,
``losses_harvested_usd`` (USD, losses as a positive amount) and ``lots_sold`` (count),
``seconds`` (solver seconds; worker seconds for a failure), ``resumed`` (True when the
result was found finished and not recomputed), ``error`` (why it failed — for an infeasible
account, the conflicting rules and the bound each would need) and ``input_sha256``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from ._plan import AccountFacts

HEAD = ("account_id", "status", "tracking_error", "active_share", "turnover", "names_held", "nav", "cash")
TAIL = ("seconds", "resumed", "error", "input_sha256")
#: Tax columns (a tax-aware job), between the exposures and :data:`TAIL`.
TAX = ("tax_usd", "tax_percent_of_nav", "net_realized_gain_usd", "losses_harvested_usd", "lots_sold")


def finished_row(facts: AccountFacts, summary: Mapping[str, Any], status: str, *, resumed: bool) -> dict[str, Any]:
    """The row of an account with a result (from its ``summary.json`` content)."""
    row = _head(facts, status)
    row.update({key: summary.get(key) for key in ("tracking_error", "active_share", "turnover", "names_held")})
    row.update({f"group.{k}": v.get("target") for k, v in (summary.get("groups") or {}).items()})
    row.update({f"exposure.{k}": v for k, v in (summary.get("active_exposures") or {}).items()})
    taxes = summary.get("taxes")
    if isinstance(taxes, Mapping):
        row.update(zip(TAX, (taxes["tax"]["usd"], taxes["tax"]["percent_of_nav"], taxes["net_realized_gain"]["usd"],
                             taxes["losses_harvested"]["usd"], taxes["lots_sold"])))
    row.update(seconds=summary.get("solve_seconds"), resumed=resumed, error="", input_sha256=facts.input_sha256)
    return row


def failed_row(facts: AccountFacts, status: str, error: str, seconds: float = math.nan) -> dict[str, Any]:
    """The row of an account that failed (or did not run): figures blank, the reason in ``error``."""
    row = _head(facts, status)
    row.update(seconds=seconds, resumed=False, error=" ".join(error.split()), input_sha256=facts.input_sha256)
    return row


def _head(facts: AccountFacts, status: str) -> dict[str, Any]:
    return {"account_id": facts.account_id, "status": status, "nav": facts.nav, "cash": facts.cash}


def batch_frame(rows: Iterable[Mapping[str, Any]], *, taxed: bool = False) -> pd.DataFrame:
    """The rows as a frame with the documented column order (group, exposure and tax columns in between).

    ``taxed`` keeps the tax columns when no row has them (a tax-aware batch whose accounts all failed).
    """
    rows = list(rows)
    middle = list(dict.fromkeys(k for row in rows for k in row if k not in HEAD and k not in TAIL and k not in TAX))
    taxed = taxed or any(k in TAX for row in rows for k in row)
    columns = [*HEAD, *sorted(c for c in middle if c.startswith("group.")),
               *sorted(c for c in middle if not c.startswith("group.")), *(TAX if taxed else ()), *TAIL]
    frame = pd.DataFrame(rows, columns=columns)
    frame["resumed"] = frame["resumed"].astype(bool)
    frame["error"] = frame["error"].fillna("").astype(str)
    return frame
