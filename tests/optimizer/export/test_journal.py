"""The send journal and the CSV neutralisation, property-tested: a journal cut anywhere (a kill mid-write)
never under-states what went out; any text survives a CSV round trip, neutralised exactly when it must be."""

from __future__ import annotations

import csv
import json
import io

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from trimtab.optimizer.export import read_journal
from trimtab.optimizer.export._files import render_csv
from trimtab.optimizer.export._journal import Journal, fold
from trimtab.optimizer.export._schema import FORMULA_STARTS, ORDER_COLUMNS, OrderBatch

IDS = [f"B-{i:04d}" for i in range(1, 7)]
events = st.lists(st.tuples(st.sampled_from(["sent", "answer"]), st.lists(st.sampled_from(IDS), min_size=1, max_size=3)),
                  max_size=12)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(steps=events, cut=st.floats(0, 1), finished=st.booleans())
def test_a_journal_cut_anywhere_never_understates_what_went_out(tmp_path_factory, steps, cut, finished):
    where = tmp_path_factory.mktemp("journal")
    with Journal("B", where) as journal:
        journal.record("start", orders=IDS)
        for event, orders in steps:
            journal.record(event, orders=orders, **({"status": "acknowledged"} if event == "answer" else {}))
        if finished:
            journal.record("end", outcome="complete", statuses={})
    content = journal.path.read_bytes()
    prefix = content[: int(len(content) * cut)]
    state = fold("B", journal.path, prefix)
    whole_lines = prefix[: prefix.rfind(b"\n") + 1]
    complete = fold("B", journal.path, whole_lines)
    sent_whole = {oid for line in whole_lines.splitlines() if b'"event":"sent"' in line
                  for oid in IDS if f'"{oid}"'.encode() in line}
    assert set(complete.went_out) == sent_whole <= set(state.went_out)
    tail = prefix[len(whole_lines):]
    torn = bool(tail.strip()) and not _parses(tail)  # a kill mid-write: the record is unreadable
    assert state.ever_sent or (not sent_whole and not torn)  # a torn line counts as possibly sent
    if tail.strip() and not torn:  # only the newline is missing: the record itself counts as written
        assert set(state.went_out) == set(fold("B", journal.path, tail + b"\n").went_out) | sent_whole
    # The next sender appends after a torn line without gluing onto it.
    journal.path.write_bytes(prefix)
    with Journal("B", where) as again:
        again.record("sent", orders=[IDS[0]])
    after = read_journal("B", where)
    assert IDS[0] in after.went_out and sent_whole <= set(after.went_out)


def _parses(line: bytes) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


#: Mostly the characters that matter to a CSV reader or a spreadsheet, sometimes any character.
text = st.one_of(st.text(alphabet=st.sampled_from(list("=+-@\t\r\n\"',; aZ0é'")), max_size=8),
                 st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(asset=text, identifier=text, portfolio=text)
def test_any_text_round_trips_through_csv_neutralised_exactly_when_it_starts_like_a_formula(asset, identifier,
                                                                                           portfolio):
    rows = [dict(order_id="B-0001", asset_id=asset, identifier_type="TICKER", identifier=identifier, side="BUY",
                 quantity=-3, price=-2.5, notional=7.5, current_shares=0, target_shares=3, target_weight=0.1,
                 rounded_weight=0.1, reason="new position")]
    batch = OrderBatch("B", portfolio, pd.Timestamp("2024-01-05"), pd.DataFrame(rows, columns=list(ORDER_COLUMNS)))
    (row,) = list(csv.DictReader(io.StringIO(render_csv(batch).decode(), newline="")))

    def shown(value: str) -> str:  # a leading quote marks neutralised text, so text starting with one gets another
        return "'" + value if value.startswith((*FORMULA_STARTS, "'")) else value

    assert (row["asset_id"], row["identifier"], row["portfolio_id"]) == (shown(asset), shown(identifier), shown(portfolio))
    assert (float(row["value"]), float(row["price"])) == (-3.0, -2.5)  # numbers stay numbers
