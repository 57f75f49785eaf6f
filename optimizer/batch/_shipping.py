"""What each worker receives once: the batch job, the market data and the risk model — and their hash.

The snapshot is shipped with its last day of returns only: a solve never reads returns (the
risk model and, for an index benchmark, the index's risk are estimated once, before
shipping), so a worker receives the universe table, benchmark, characteristics, risk model
and index risk — under 1 MB for 500 names — instead of years of daily returns.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from trimtab.constraints import DataView, JobSpec

from .. import PreparedProblem


@dataclass(frozen=True)
class BatchPayload:
    """The batch's shared inputs, shipped once to each worker (``client.scatter(..., broadcast=True)``).

    Attributes
    ----------
    job : JobSpec
        The batch job (the house rules, plus the exclusions rule when accounts restrict names).
    data : DataView
        Snapshot (returns trimmed to the last day), risk model and index risk.
    key : str
        Identifies the compiled problem a worker keeps for this payload (job spec + data hash).
    write_files : bool
        Render each solved account's ``targets.csv`` and ``summary.json`` (a batch without an
        output directory skips it).
    """

    job: JobSpec
    data: DataView
    key: str
    write_files: bool = True


def payload_for(prepared: PreparedProblem, data_sha256: str, *, write_files: bool = True) -> BatchPayload:
    """The payload of a prepared batch job."""
    snapshot = prepared.data.snapshot
    trimmed = dataclasses.replace(snapshot, returns=snapshot.returns.iloc[-1:])
    data = DataView(trimmed, prepared.data.risk_model, prepared.data.index_risk)
    return BatchPayload(prepared.job, data, f"{prepared.job.spec_hash}-{data_sha256}", write_files)


def data_sha256(data: DataView) -> str:
    """SHA-256 of everything a solve reads from the data: universe, benchmark, characteristics, risk.

    Two batches with the same hash solve every account identically; returns are not hashed
    (the risk model, estimated from them, is).
    """
    snapshot = data.snapshot
    digest = hashlib.sha256()
    for part in (
        snapshot.dataset,
        str(pd.Timestamp(snapshot.as_of)),
        snapshot.assets,
        snapshot.benchmark_weights,
        snapshot.characteristics,
        dict(snapshot.groups),
        snapshot.short_history,
        data.risk_model,
        data.index_risk,
    ):
        _update(digest, part)
    return digest.hexdigest()


def _update(digest: Any, value: object) -> None:
    """Feed ``value`` to ``digest`` unambiguously (type tag, then content)."""
    if value is None:
        digest.update(b"N")
    elif isinstance(value, (pd.DataFrame, pd.Series)):
        names = list(value.columns) if isinstance(value, pd.DataFrame) else [value.name]
        digest.update(b"P" + repr(names).encode())
        digest.update(pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes())
    elif isinstance(value, np.ndarray):
        digest.update(b"A" + str(value.dtype).encode() + repr(value.shape).encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        digest.update(b"D" + type(value).__name__.encode())
        for item in dataclasses.fields(value):
            digest.update(item.name.encode())
            _update(digest, getattr(value, item.name))
    elif isinstance(value, Mapping):
        digest.update(b"M")
        for key in sorted(value, key=str):
            _update(digest, str(key))
            _update(digest, value[key])
    elif isinstance(value, (tuple, list)):
        digest.update(b"L" + str(len(value)).encode())
        for item in value:
            _update(digest, item)
    else:
        digest.update(b"S" + repr(value).encode())
