"""The batch's text cells: one vectorized strip for a text column as read, cell by cell otherwise, the same answer."""

from __future__ import annotations

import pandas as pd
import pytest

from trimtab.optimizer.batch._tables import _text, texts

COLUMNS = {
    "text as read": pd.Series([" A1", "B2 ", "c3"], index=[7, 8, 9], name="lot_id", dtype="str"),
    "object strings": pd.Series(["x", "  y", "z\t"], dtype=object),
    "with a blank cell": pd.Series(["x", None, " z"], dtype="str"),
    "object with missing": pd.Series(["x", None, float("nan")], dtype=object),
    "numbers": pd.Series([12.0, 13.5, 7]),
}


@pytest.mark.parametrize("name", list(COLUMNS))
def test_texts_equals_text_of_every_cell(name):
    values = COLUMNS[name]
    pd.testing.assert_series_equal(texts(values), values.map(_text))
