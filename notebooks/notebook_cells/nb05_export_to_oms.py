"""Cells of notebook 05 (export to oms)."""

from __future__ import annotations

from .common import SETUP, code, md

EXPORT = [
    md("""
# 05 · From the run to orders for the OMS

**The question.** The optimizer gives weights; the desk needs orders: whole lots, within the
cash it has, identified the way its order management system (OMS) wants, in its file layout
or over FIX. This notebook runs the default job, exports the orders against the example
desk files, and walks through every file of the batch. Everything is written to a temporary
folder; nothing is sent.
"""),
    code(SETUP),
    md("""
## 1. The run and the desk's files

`examples/desk/` holds a $1bn book of the embedded dataset's names (`holdings.csv`: asset_id,
shares) and a security master (`prices.csv`: price, lot size, synthetic CUSIP/ISIN). The
desk also has $46,453.82 of cash.
"""),
    code("""
job = trimtab.load_job(ROOT / "examples" / "mag7_value_quality.yaml")
result = trimtab.optimize(job)
run_dir = WORK / "run"
trimtab.write_run(result, run_dir)
holdings_csv = ROOT / "examples" / "desk" / "holdings.csv"
prices_csv = ROOT / "examples" / "desk" / "prices.csv"
CASH = 46453.82
display(pd.read_csv(holdings_csv).head())
pd.read_csv(prices_csv).head()
"""),
    md("""
## 2. Export

`trimtab.optimizer.export.export_run` turns the target into trades `w × NAV / price − shares`,
rounds them to lots, keeps cash ≥ 0, **re-checks every hard rule of the job on the rounded
book** (MAG7 cap, tilts, turnover against the actual shares) and writes the batch atomically
into `<out>/<as-of>-<hash>/`. Same inputs → same batch id and bytes.
"""),
    code("""
from trimtab.optimizer import export

try:
    batch, batch_dir = export.export_run(
        run_dir, holdings_csv, prices_csv, WORK / "orders", formats=("csv", "parquet", "fix"), cash=CASH
    )
except export.FixUnavailableError as error:  # FIX files need the optional extra: pip install 'trimtab[fix]'
    print(f"no FIX file: {error}")
    batch, batch_dir = export.export_run(
        run_dir, holdings_csv, prices_csv, WORK / "orders", formats=("csv", "parquet"), cash=CASH
    )
print(f"batch {batch.batch_id}: {len(batch.orders)} orders → {batch_dir}")
for path in sorted(batch_dir.iterdir()):
    print(f"  {path.name:15s} {path.stat().st_size:>9,d} bytes")
"""),
    code("""
orders = batch.orders
orders.head(10)
"""),
    code("""
by_side = orders.groupby(["side", "reason"]).agg(orders=("order_id", "size"), notional=("notional", "sum"))
meta = batch.meta
assert meta["cash_after"] >= 0
print(f"NAV {meta['nav']:,.0f}; gross traded {meta['gross_notional']:,.0f} "
      f"({meta['gross_notional'] / meta['nav']:.1%} of NAV); cash {meta['cash_before']:,.2f} → {meta['cash_after']:,.2f}; "
      f"TE change from rounding {meta['te_change_from_rounding']:+.2e}")
formatted(by_side, {"notional": "{:,.0f}"})
"""),
    code("""
from matplotlib.figure import Figure

sector = result.to_frame()["sector"]
signed = orders.assign(sector=orders["asset_id"].map(sector),
                       signed=np.where(orders["side"] == "BUY", 1, -1) * orders["notional"])
flows = signed.pivot_table(index="sector", columns="side", values="signed", aggfunc="sum", fill_value=0.0) / 1e6
figure = Figure(figsize=(9, 5), layout="constrained")
ax = figure.subplots()
for side, color in (("BUY", "tab:green"), ("SELL", "tab:red")):
    if side in flows:
        ax.barh(flows.index, flows[side], color=color, label=side.lower())
ax.axvline(0, color="black", linewidth=0.8)
ax.invert_yaxis()
ax.set_xlabel("notional ($ million; sells negative)")
ax.set_title(f"Orders by sector, batch {batch.batch_id}")
ax.legend()
show(figure, "05_orders_by_sector")
"""),
    md("""
## 3. The manifest

`manifest.json` records what the batch is and where it came from: the job's hash, the
solver and status, NAV and cash, the TE change due to rounding, the hashes of the input
files and the SHA-256 of every file in the batch (so `send` can refuse a batch edited by hand).
"""),
    code("""
import json

manifest = json.loads((batch_dir / "manifest.json").read_text())
print(json.dumps(manifest, indent=2)[:2500])
"""),
    md("""
## 4. The neutral CSV, and an OMS's layout

`orders.csv` uses trimtab's neutral schema. An OMS that wants its own headers, delimiter,
date format or instruction (order quantity, target quantity or target weight) gets a
mapping file — no code.
"""),
    code("""
pd.read_csv(batch_dir / "orders.csv").head()
"""),
    code("""
mapping_path = WORK / "oms.yaml"
mapping_path.write_text('''\\
columns:                 # neutral column -> the OMS's header, in the OMS's order
  portfolio_id: Account
  as_of: TradeDate
  identifier_type: IdType
  identifier: SecurityID
  side: Side
  value: Quantity
date_format: "%d/%m/%Y"
delimiter: ";"
instruction: order_quantity
''')
mapping = export.load_mapping(mapping_path)
_, oms_dir = export.export_run(
    run_dir, holdings_csv, prices_csv, WORK / "orders_oms", formats=("csv",), cash=CASH, mapping=mapping
)
print((oms_dir / "orders.csv").read_text().splitlines()[:6])
pd.read_csv(oms_dir / "orders.csv", sep=";").head()
"""),
    md("""
## 5. FIX

`orders.fix` holds one FIX 4.4 NewOrderSingle (35=D) per order, validated against the FIX
4.4 data dictionary: ClOrdID (11) = the order id, Side (54), OrderQty (38), market orders
(40=1), the ISIN in SecurityID (48) with SecurityIDSource (22=4). Fields are separated by
the SOH character, shown as `|` here.
"""),
    code("""
fix_file = batch_dir / "orders.fix"
if fix_file.is_file():
    fix_lines = fix_file.read_bytes().decode("ascii").splitlines()
    assert len(fix_lines) == len(batch.orders)
    print(len(fix_lines), "messages")
    for line in fix_lines[:4]:
        print(line.replace("\\x01", "|"))
else:
    print("orders.fix was not written: install the FIX extra (pip install 'trimtab[fix]')")
"""),
    md("""
## 6. Sending — `trimtab send`

The batch is read back exactly as exported: `read_batch` checks `orders.json` against the
hash in the manifest.
"""),
    code("""
again = export.read_batch(batch_dir)
assert again.batch_id == batch.batch_id and len(again.orders) == len(batch.orders)
print("sent before:", export.previous_sends(batch_dir) or "never")
print((ROOT / "examples" / "fix_session.cfg").read_text())
"""),
    md("""
Sending needs a counterparty, so this notebook stops here. On the desk:

```bash
trimtab send orders/<batch_id> --fix-config examples/fix_session.cfg
```

logs on as a QuickFIX initiator with the session file above (host, port, comp ids, store and
log paths, data dictionary), sends the batch's orders, and records every answer —
acknowledged, rejected with the counterparty's reason, or no answer — in
`<batch>/sends/<utc>.json`; it exits with code 5 if any order is not acknowledged, and
refuses to send a batch a second time without `--force` (that would duplicate live orders).
In Python: `trimtab.optimizer.export.send_batch_dir(batch_dir, session_cfg)`. QuickFIX is the
optional extra `pip install 'trimtab[fix]'`.
"""),
]
