"""Text cells and universe membership: the vectorized paths give the cell-by-cell answers.

``text`` strips a column whose present cells are all strings in one pass and goes cell by
cell otherwise; ``in_index`` looks labels up in a unique index instead of pandas' ``isin``
(slow on text columns). Both must answer exactly as the definitions they replace.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trimtab.models import in_index
from trimtab.models._validation import _text_by_cell, only_strings, text

COLUMNS = {
    "text as read": pd.Series([" AAPL", "MSFT ", "  ", "GOOG", None], index=[4, 5, 6, 7, 8], name="asset_id", dtype="str"),
    "object strings": pd.Series(["a", " b ", "\tc\n", ""], name="lot_id", dtype=object),
    "object with missing": pd.Series(["a", None, float("nan"), " d"], dtype=object),
    "numbers as ids": pd.Series([101.0, 102.5, None, " x "], dtype=object),
    "integers": pd.Series([1, 2, 3]),
    "all missing": pd.Series([None, None], dtype=object),
    "empty": pd.Series([], dtype=object),
}


@pytest.mark.parametrize("name", list(COLUMNS))
def test_text_equals_the_cell_by_cell_definition(name):
    values = COLUMNS[name]
    pd.testing.assert_series_equal(text(values), _text_by_cell(values))


def test_text_strips_and_leaves_blank_cells_missing():
    got = text(COLUMNS["text as read"])
    assert got.index.tolist() == [4, 5, 6, 7, 8] and got.name == "asset_id"
    assert got.tolist()[:2] == ["AAPL", "MSFT"] and got.tolist()[3] == "GOOG"
    assert got.isna().tolist() == [False, False, True, False, True]
    assert text(COLUMNS["numbers as ids"]).tolist()[:2] == ["101", "102.5"]


def test_only_strings_tells_which_columns_take_the_vectorized_path():
    taken = {name for name, values in COLUMNS.items() if only_strings(values)}
    assert taken == {"text as read", "object strings", "object with missing"}


@pytest.mark.parametrize("dtype", ["str", object])
def test_in_index_equals_isin(dtype):
    universe = pd.Index([f"SP{i:03d}" for i in range(500)], dtype=dtype)
    rng = np.random.default_rng(3)
    labels = list(rng.choice(np.asarray(universe, dtype=object), 800)) + ["NOPE", "", "sp001"]
    values = pd.Series(labels, dtype=dtype)
    found = in_index(values, universe)
    assert found.dtype == bool
    np.testing.assert_array_equal(found, values.isin(universe).to_numpy())
    assert found[:800].all() and not found[800:].any()


def test_in_index_with_a_repeated_label_still_answers_as_isin():
    universe = pd.Index(["A", "B", "A"], dtype=object)
    values = pd.Series(["A", "C", "B"], dtype=object)
    np.testing.assert_array_equal(in_index(values, universe), [True, False, True])
