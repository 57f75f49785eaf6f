"""One account solved on its own, the way a user without the batch would: for comparing with the batch."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import yaml

import trimtab
from trimtab.constraints import loads_job

#: Accounts in the shared test batch (``conftest.books``).
N_ACCOUNTS = 50


def same_weights(a, b) -> bool:
    """True when two runs' weights are identical to the bit, account by account."""
    return a.keys() == b.keys() and all(np.array_equal(a[k].to_numpy(), b[k].to_numpy()) for k in a)


def account_job(house_yaml: str, row: pd.Series, *, exclusions_rule: bool, restricted_rule: bool) -> trimtab.JobSpec:
    """The house job with the account's overrides written into its rules.

    ``exclusions_rule`` appends the batch's ``asset_weight: {max: 1.0, name: account exclusions}``;
    ``restricted_rule`` states the account's exclusions as a ``restricted`` rule.
    """
    document = yaml.safe_load(house_yaml)
    rules = {next(iter(r.values()))["name"]: next(iter(r.values())) for r in document["constraints"]}
    for column, value in row.items():
        if "." in str(column) and pd.notna(value):
            name, field = str(column).rsplit(".", 1)
            rules[name][field] = float(value)
    if exclusions_rule:
        document["constraints"].append({"asset_weight": {"max": 1.0, "name": "account exclusions"}})
    if restricted_rule and row.get("restricted"):
        document["constraints"].append({"restricted": {"assets": str(row["restricted"]).split(";")}})
    return loads_job(yaml.safe_dump(document))


def current_weights(snapshot, row: pd.Series, holdings: pd.DataFrame) -> pd.Series:
    """``shares × price / NAV`` by asset (NAV = the shares' value + cash)."""
    mine = holdings[holdings["account_id"] == row["account_id"]].set_index("asset_id")["shares"]
    value = (mine * snapshot.assets["price"].reindex(mine.index)).reindex(snapshot.asset_ids, fill_value=0.0)
    return value / (value.sum() + float(row["cash"] or 0.0))


def solve_alone(house_yaml, snapshot, model, row, holdings, *, exclusions_rule: bool) -> trimtab.TargetPortfolio:
    """The account's result from ``trimtab.optimize`` (cash 0) or ``prepare(...).solve`` with its holdings.

    A snapshot's holdings must sum to 1, so an account holding cash sets the ``holdings``
    parameter instead. Exclusions are a ``restricted`` rule here (the batch bounds them through
    its exclusions rule: an equivalent problem, not the same one).
    """
    job = account_job(house_yaml, row, exclusions_rule=exclusions_rule, restricted_rule=True)
    w0 = current_weights(snapshot, row, holdings)
    if float(row["cash"] or 0.0) == 0.0:
        return trimtab.optimize(job, snapshot=dataclasses.replace(snapshot, holdings=w0), risk_model=model)
    return trimtab.prepare(job, snapshot=snapshot, risk_model=model).solve({"holdings": w0.to_numpy()})


def solve_with_mask(house_yaml, snapshot, model, row, holdings) -> pd.Series:
    """The account with exclusions as the batch states them: the exclusions rule's bound set to 0 on its names."""
    job = account_job(house_yaml, row, exclusions_rule=True, restricted_rule=False)
    prepared = trimtab.prepare(job, snapshot=snapshot, risk_model=model)
    mask = np.where(snapshot.asset_ids.isin(str(row["restricted"]).split(";")), 0.0, 1.0)
    position = prepared.constraint_position(len(job.constraints) - 1)
    w0 = current_weights(snapshot, row, holdings).to_numpy()
    return prepared.solve({f"constraints[{position}].upper": mask, "holdings": w0}).weights
