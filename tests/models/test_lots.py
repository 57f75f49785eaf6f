"""Tax lots in ``trimtab.models``: the lots and trades tables, the lot book against a snapshot,
and the embedded data's synthetic lots."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trimtab.models import (
    SYNTHETIC_LOTS_NAV,
    DataError,
    TaxLots,
    load_synthetic_sp500,
    lot_book,
    read_tax_lots,
    synthetic_lots,
)

LOTS = pd.DataFrame(
    {
        "lot_id": ["x1", "x2", "y1"],
        "asset_id": ["SP001", "SP001", "SP002"],
        "shares": [10.0, 5.0, 7.0],
        "cost_basis": [100.0, 300.0, 50.0],
        "acquired": ["2020-01-02", "2026-10-20", "2026-01-05"],
    }
)


@pytest.fixture(scope="module")
def snapshot():
    return load_synthetic_sp500()


def test_a_lots_file_reads_back_with_types(tmp_path):
    path = tmp_path / "lots.csv"
    LOTS.to_csv(path, index=False)
    trades = tmp_path / "trades.csv"
    pd.DataFrame({"asset_id": ["SP003"], "date": ["2026-10-25"], "side": ["SELL"], "realized_gain": [-10.0]}).to_csv(
        trades, index=False
    )
    lots = read_tax_lots(path, trades)
    assert list(lots.lots["lot_id"]) == ["x1", "x2", "y1"]
    assert lots.lots["acquired"].dtype.kind == "M" and lots.lots["shares"].dtype == float
    assert lots.trades["side"].tolist() == ["sell"] and str(path) in lots.source


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"shares": [10.0, 0.0, 7.0]}, r"data row 2 \(lot_id 'x2'\): shares 0 — must be a positive number of shares"),
        ({"cost_basis": [100.0, 300.0, -1.0]}, r"data row 3 \(lot_id 'y1'\): cost_basis -1"),
        ({"cost_basis": [100.0, "abc", 50.0]}, r"data row 2 \(lot_id 'x2'\): cost_basis 'abc' is not a finite number"),
        ({"lot_id": ["x1", "x1", "y1"]}, r"duplicate lot_id 'x1' in data rows \[1, 2\]"),
        ({"lot_id": ["x1", None, "y1"]}, r"column 'lot_id' is empty in data row\(s\) \[2\]"),
        ({"acquired": ["2020-01-02", "someday", "2026-01-05"]}, r"unparseable date\(s\) \[row 2: 'someday'\]"),
    ],
)
def test_bad_cells_name_the_row_and_the_value(change, message):
    with pytest.raises(DataError, match=message):
        TaxLots(LOTS.assign(**change), source="lots file L.csv")


def test_missing_columns_and_several_accounts_are_refused():
    with pytest.raises(DataError, match=r"missing required column\(s\) \['cost_basis'\]"):
        TaxLots(LOTS.drop(columns="cost_basis"))
    with pytest.raises(DataError, match="lots of 2 accounts"):
        TaxLots(LOTS.assign(account_id=["a", "a", "b"]))
    assert TaxLots(LOTS.assign(account_id="a")).account_id == "a"


def test_the_book_of_the_synthetic_lots_adds_up_and_is_aligned(snapshot):
    lots = synthetic_lots(snapshot)
    book = lot_book(lots, snapshot, nav=SYNTHETIC_LOTS_NAV)
    held = snapshot.holdings.to_numpy()
    np.testing.assert_allclose(book.per_asset(book.weights), held, atol=1e-15)
    assert np.all(np.diff(book.positions) >= 0)  # lots of one asset together, in universe order
    price = snapshot.assets["price"].to_numpy()[book.positions]
    np.testing.assert_allclose(book.gain_ratio, 1 - book.cost_basis / price)
    assert 0 < book.is_loss.mean() < 1 and 0 < book.long_term.mean() < 1
    assert set(book.bought_recently) == {a for a, d in zip(book.assets, book.acquired) if (snapshot.as_of - d).days <= 30}
    assert np.all(book.loss_sale_blocked == (book.is_loss & np.isin(book.assets, book.bought_recently)))


def test_synthetic_lots_are_deterministic(snapshot):
    a, b = synthetic_lots(snapshot), synthetic_lots(snapshot)
    pd.testing.assert_frame_equal(a.lots, b.lots)
    assert a.lots.to_csv().encode() == b.lots.to_csv().encode()
    assert not synthetic_lots(snapshot, seed=8).lots.equals(a.lots)


def test_lots_that_do_not_add_up_name_the_asset(snapshot):
    lots = synthetic_lots(snapshot, nav=1e9).lots
    first = lots.index[lots["asset_id"] == "SP010"][0]
    broken = lots.copy()
    broken.loc[first, "shares"] += 50
    with pytest.raises(DataError, match=r"do not add up to the holdings .* for 1 asset\(s\): \[SP010: lots"):
        lot_book(TaxLots(broken, source="lots file L.csv"), snapshot, nav=1e9)


def test_unknown_assets_and_late_dates_are_refused(snapshot):
    with pytest.raises(DataError, match=r"data row 1: asset_id 'NOPE' is not in the universe"):
        lot_book(TaxLots(LOTS.assign(asset_id=["NOPE", "SP001", "SP002"])), snapshot)
    with pytest.raises(DataError, match=r"data row 3 \(lot_id 'y1'\): acquired 2027-01-05 is after the as-of date 2026-10-30"):
        lot_book(TaxLots(LOTS.assign(acquired=["2020-01-02", "2026-10-20", "2027-01-05"])), snapshot)


def test_wash_sale_masks_from_trades(snapshot):
    lots = synthetic_lots(snapshot)
    trades = pd.DataFrame(
        {
            "asset_id": ["SP020", "SP021", "SP022", "SP023"],
            "date": ["2026-10-20", "2026-10-20", "2026-09-01", "2026-10-29"],
            "side": ["sell", "sell", "sell", "buy"],
            "realized_gain": [-100.0, 50.0, -100.0, None],
        }
    )
    book = lot_book(TaxLots(lots.lots, trades), snapshot, nav=SYNTHETIC_LOTS_NAV)
    ids = list(snapshot.asset_ids)
    assert book.sold_at_loss_recently == ("SP020",)  # a gain and an old loss do not block
    assert book.buy_blocked[ids.index("SP020")] and not book.buy_blocked[ids.index("SP022")]
    assert "SP023" in book.bought_recently
    blocked = np.array(book.assets) == "SP023"
    assert np.all(book.loss_sale_blocked[blocked] == book.is_loss[blocked])
