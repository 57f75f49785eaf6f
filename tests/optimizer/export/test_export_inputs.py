"""`trimtab export` inputs (issue 11, items 2–4, export side): identifiers per order, spreadsheet-safe CSV,
strict numbers. Through the CLI: the message, exit code 2, and nothing written (or the exact bytes)."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from stdnum import cusip, isin
from typer.testing import CliRunner

from trimtab.optimizer.cli import app
from trimtab.optimizer.export._files import render_csv
from trimtab.optimizer.export._schema import ORDER_COLUMNS, OrderBatch


def export(desk, out, *more, holdings=None, prices=None):
    args = ["export", str(desk["run"]), "--holdings", str(holdings or desk["holdings"]), "--prices",
            str(prices or desk["prices"]), "--out", str(out), *desk["args"], *more]
    return CliRunner().invoke(app, args)


def flat(text: str) -> str:
    return " ".join(text.split())


def security_master(desk, tmp_path, **columns) -> tuple:
    """The desk's prices plus identifier columns {name: {asset: value}} (others blank); returns (path, new names)."""
    master = pd.read_csv(desk["prices"], dtype={"ticker": str})
    for name, values in columns.items():
        master[name] = master["asset_id"].map(values)
    path = tmp_path / "prices.csv"
    master.to_csv(path, index=False)
    return path, desk["new"]


def _cusip(n: int) -> str:
    base = f"99{n:06d}"
    return base + cusip.calc_check_digit(base)


def _isin(n: int) -> str:
    return f"US{_cusip(n)}" + isin.calc_check_digit(f"US{_cusip(n)}")


# --- identifiers -------------------------------------------------------------------------------------------


def test_each_order_carries_its_first_present_identifier_and_never_nan(small_desk, tmp_path):
    new = small_desk["new"]
    isins = {a: _isin(i) for i, a in enumerate(new[:3])}  # blank for new[3] and new[4]
    cusips = {a: _cusip(i + 10) for i, a in enumerate(new[2:4])}  # new[3]: CUSIP; new[4]: neither
    tickers = {a: a for a in new[:4]} | {new[4]: "nan"}  # a printed missing value is not a ticker either
    tickers.update({a: a for a in small_desk["tickers"] if a not in new})
    prices, _ = security_master(small_desk, tmp_path, isin=isins, cusip=cusips, ticker=tickers)
    result = export(small_desk, tmp_path / "out", "-f", "csv", "-f", "fix", prices=prices)
    assert result.exit_code == 2, result.output
    text = flat(result.output)
    assert f"1 order(s) have no identifier: {new[4]}" in text and not (tmp_path / "out").exists()

    tickers[new[4]] = "TICK4"
    prices, _ = security_master(small_desk, tmp_path, isin=isins, cusip=cusips, ticker=tickers)
    result = export(small_desk, tmp_path / "out", "-f", "csv", "-f", "fix", prices=prices)
    assert result.exit_code == 0, result.output
    (batch_dir,) = (tmp_path / "out").iterdir()
    orders = pd.read_csv(batch_dir / "orders.csv", dtype=str).set_index("asset_id")
    assert orders.loc[new, "identifier_type"].tolist() == ["ISIN", "ISIN", "ISIN", "CUSIP", "TICKER"]
    assert orders.loc[new, "identifier"].tolist() == [*isins.values(), cusips[new[3]], "TICK4"]
    fix_text = (batch_dir / "orders.fix").read_text()
    assert "nan" not in (batch_dir / "orders.csv").read_text().lower() and "=nan" not in fix_text.lower()
    (cusip_line,) = [line for line in fix_text.splitlines() if f"\x0148={cusips[new[3]]}\x01" in line]
    assert "\x0122=1\x01" in cusip_line and "\x0155=TICK4\x01" in fix_text


# --- spreadsheet-safe CSV, and ids FIX must not carry ------------------------------------------------------------


def test_formula_cells_are_neutralised_in_csv_and_refused_in_fix(small_desk, tmp_path):
    new = small_desk["new"]
    tickers = {a: a for a in small_desk["tickers"]} | {new[0]: "+SUM(A1:A9)", new[1]: "@cmd", new[2]: "-1+2"}
    prices, _ = security_master(small_desk, tmp_path, ticker=tickers)
    refused = export(small_desk, tmp_path / "fix-out", "-f", "fix", "--portfolio-id", '=HYPERLINK("http://x")',
                     prices=prices)
    assert refused.exit_code == 2 and not (tmp_path / "fix-out").exists()
    assert re.search(r"order \S+: Symbol \(55\) '(\+SUM\(A1:A9\)|@cmd|-1\+2)' starts with a spreadsheet formula",
                     flat(refused.output)), refused.output

    result = export(small_desk, tmp_path / "out", "--portfolio-id", '=HYPERLINK("http://x")', prices=prices)
    assert result.exit_code == 0, result.output
    (batch_dir,) = (tmp_path / "out").iterdir()
    frame = pd.read_csv(batch_dir / "orders.csv", dtype=str, keep_default_na=False).set_index("asset_id")
    assert set(frame["portfolio_id"]) == {"'=HYPERLINK(\"http://x\")"}
    assert frame.loc[new[:3], "identifier"].tolist() == ["'+SUM(A1:A9)", "'@cmd", "'-1+2"]
    assert frame.loc[new[3], "identifier"] == new[3]  # plain text untouched
    numbers = pd.read_csv(batch_dir / "orders.csv")
    assert all(pd.api.types.is_numeric_dtype(numbers[c]) for c in ("value", "price", "notional"))
    for line in (batch_dir / "orders.csv").read_text().splitlines():
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in line.split(","))


def test_numeric_columns_stay_numbers_even_when_negative():
    rows = [dict(order_id="B-0001", asset_id="\tTAB", identifier_type="TICKER", identifier="\rCR", side="SELL",
                 quantity=-5, price=-1.5, notional=-7.5, current_shares=0, target_shares=0, target_weight=0.0,
                 rounded_weight=-0.25, reason="exit")]
    batch = OrderBatch("B", "-P", pd.Timestamp("2024-01-05"), pd.DataFrame(rows, columns=list(ORDER_COLUMNS)))
    frame = pd.read_csv(io.StringIO(render_csv(batch).decode()), keep_default_na=False)
    assert frame.loc[0, "value"] == -5 and frame.loc[0, "price"] == -1.5 and frame.loc[0, "notional"] == -7.5
    assert (frame.loc[0, "portfolio_id"], frame.loc[0, "asset_id"], frame.loc[0, "identifier"]) == ("'-P", "'\tTAB", "'\rCR")


def test_a_portfolio_id_with_control_characters_is_refused(small_desk, tmp_path):
    result = export(small_desk, tmp_path / "out", "--portfolio-id", "PF\x1b[31m")
    assert result.exit_code == 2 and "--portfolio-id must be non-empty text without control characters" in flat(result.output)
    assert not (tmp_path / "out").exists()


# --- strict numbers -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--cash-buffer", "-0.1"], "--cash-buffer must be a fraction of NAV in [0, 1), got -0.1"),
        (["--cash-buffer", "nan"], "--cash-buffer must be a fraction of NAV in [0, 1), got nan"),
        (["--cash-buffer", "1.5"], "--cash-buffer must be a fraction of NAV in [0, 1), got 1.5"),
        (["--nav", "inf"], "--nav must be a finite amount > 0, got inf"),
        (["--nav", "-5"], "--nav must be a finite amount > 0, got -5.0"),
        (["--cash", "nan"], "--cash must be a finite amount ≥ 0 (borrowing is not supported), got nan"),
        (["--cash", "-1"], "--cash must be a finite amount ≥ 0 (borrowing is not supported), got -1.0"),
        (["--min-trade-shares", "-1"], "--min-trade-shares must be a number of shares ≥ 0, got -1"),
        (["--tolerance", "-1e-4"], "--tolerance must be finite and ≥ 0, got -0.0001"),
    ],
    ids=["buffer-negative", "buffer-nan", "buffer-above-1", "nav-inf", "nav-negative", "cash-nan", "cash-negative",
         "min-shares", "tolerance"],
)
def test_an_impossible_setting_is_refused_and_nothing_is_written(small_desk, tmp_path, options, message):
    desk = {**small_desk, "args": []}  # the option under test alone (plus --cash 0 / NAV from the book by default)
    result = export(desk, tmp_path / "out", *options)
    assert result.exit_code == 2 and message in flat(result.output), result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("file", "value", "message"),
    [
        ("holdings", "inf", r"shares missing or not a number for \['{a}'\]"),
        ("holdings", "-inf", r"shares missing or not a number for \['{a}'\]"),
        ("holdings", "1e300", r"share counts above 1e\+15 for \['{a}'\]"),
        ("prices", "inf", r"price missing, zero or negative for \['{a}'\]"),
        ("prices", "-3", r"price missing, zero or negative for \['{a}'\]"),
    ],
    ids=["shares-inf", "shares-minus-inf", "shares-huge", "price-inf", "price-negative"],
)
def test_non_finite_or_negative_book_values_are_refused(small_desk, tmp_path, file, value, message):
    asset = small_desk["new"][0]
    table = pd.read_csv(small_desk[file], dtype={"ticker": str})
    column = "shares" if file == "holdings" else "price"
    table[column] = table[column].astype(object)
    table.loc[table["asset_id"] == asset, column] = value
    path = tmp_path / f"{file}.csv"
    table.to_csv(path, index=False)
    result = export(small_desk, tmp_path / "out", **{file: path})
    assert result.exit_code == 2 and re.search(message.format(a=asset), flat(result.output)), result.output
    assert not (tmp_path / "out").exists()
