"""The ``trimtab`` command line: ``optimize``, ``diagnose``, ``validate``, ``export``, ``send`` (and the
research commands registered from :mod:`optimizer.research`).

Exit codes: 0 success; 2 bad job file, data or export input; 3 infeasible; 4 solver failure;
5 some orders sent were rejected or not answered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.table import Table

from constraints import FactorExposure, JobSpec, UniverseInfo

from ._cli_common import _ERRORS, EXIT_INFEASIBLE, EXIT_NOT_ACKNOWLEDGED, _fail, out
from ._errors import ExportError
from ._output import write_files_atomically, write_run
from ._result import TargetPortfolio
from ._run import as_job, diagnose, estimate_risk, load_market_data, optimize
from .export._trades import ROUNDING_TOLERANCE

app = typer.Typer(
    name="trimtab",
    help="Minimum-tracking-error portfolios against a cap-weighted benchmark, with rules as data.",
    add_completion=False,
    no_args_is_help=True,
)
def _output_dir(job: JobSpec, out_dir: Path | None) -> Path:
    """``--out`` if given, else the job's ``output.dir`` (relative to the job file), else ``out/``."""
    if out_dir is not None:
        return out_dir
    return job.resolve(job.output.dir) if job.output.dir else Path("out")


@app.command("optimize")
def optimize_command(
    job_file: Annotated[Path, typer.Argument(help="Job file (YAML).", show_default=False)],
    out_dir: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output directory (default: the job's output.dir, else out/).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not print the summary table.")] = False,
) -> None:
    """Solve a job and write DIR/targets.csv and DIR/summary.json."""
    try:
        job = as_job(job_file)
        target = optimize(job)
        written = write_run(target, _output_dir(job, out_dir))
    except _ERRORS as error:
        raise _fail(error) from None
    if not quiet:
        print_summary(target)
    out.print("wrote " + ", ".join(str(p) for p in written.values()), highlight=False)


@app.command("diagnose")
def diagnose_command(
    job_file: Annotated[Path, typer.Argument(help="Job file (YAML).", show_default=False)],
    out_dir: Annotated[
        Path | None, typer.Option("--out", "-o", help="Where to write diagnosis.json (default: as optimize).")
    ] = None,
) -> None:
    """Explain an infeasible job: the rules that conflict and the bound each would need.

    Writes DIR/diagnosis.json. Exit 0 when the job is feasible, 3 when it is not.
    """
    try:
        job = as_job(job_file)
        diagnosis = diagnose(job)
        body = (json.dumps(diagnosis.to_dict(), indent=2, allow_nan=False) + "\n").encode()
        written = write_files_atomically(_output_dir(job, out_dir), {"diagnosis.json": body})
    except _ERRORS as error:
        raise _fail(error) from None
    style = "green" if diagnosis.feasible else "bold red"
    out.print(f"[{style}]{'feasible' if diagnosis.feasible else 'infeasible'}[/]: {diagnosis.message}", highlight=False)
    out.print(f"wrote {written['diagnosis.json']}", highlight=False)
    if not diagnosis.feasible:
        raise typer.Exit(EXIT_INFEASIBLE)


@app.command("validate")
def validate_command(
    job_file: Annotated[Path, typer.Argument(help="Job file (YAML).", show_default=False)],
    show: Annotated[bool, typer.Option("--show", help="Print the effective job (defaults filled in).")] = False,
) -> None:
    """Check a job file and its data without solving."""
    try:
        job = as_job(job_file)
        snapshot = load_market_data(job)
        universe = UniverseInfo.from_data(snapshot)
        risk_factors = [c.factor for c in job.constraints if isinstance(c, FactorExposure) and c.names_a_risk_factor(universe)]
        if risk_factors:  # only the estimated model knows these names
            universe = UniverseInfo.from_data(snapshot, estimate_risk(job, snapshot))
            job.check_universe(universe)
    except _ERRORS as error:
        raise _fail(error) from None
    if show:
        out.print(yaml.safe_dump(job.to_dict(), sort_keys=False), highlight=False)
    out.print(
        f"[green]ok[/]: {job_file} — {len(job.effective_constraints)} constraints "
        f"({', '.join(c.key for c in job.effective_constraints)}) on {snapshot.dataset}: "
        f"{universe.n_assets} assets, {len(universe.sectors)} sectors, groups {list(universe.groups)}"
        + (f"; risk-model factors checked: {risk_factors}" if risk_factors else ""),
        highlight=False,
    )


@app.command("export")
def export_command(
    run_dir: Annotated[Path, typer.Argument(help="Run directory written by optimize.", show_default=False)],
    holdings: Annotated[Path, typer.Option("--holdings", help="Current shares: asset_id, shares.", show_default=False)],
    prices: Annotated[
        Path, typer.Option("--prices", help="Security master: asset_id, price [, lot_size, isin, cusip, …].", show_default=False)
    ],
    formats: Annotated[list[str], typer.Option("--format", "-f", help="csv, parquet, json or fix; repeatable.")] = ["csv"],
    mapping: Annotated[Path | None, typer.Option("--mapping", help="OMS column mapping (YAML).")] = None,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Batches go to OUT/<batch_id>/.")] = Path("orders"),
    cash: Annotated[float, typer.Option("--cash", help="Cash on hand (portfolio currency).")] = 0.0,
    nav: Annotated[float | None, typer.Option("--nav", help="NAV (default: holdings value + cash).")] = None,
    cash_buffer: Annotated[float, typer.Option("--cash-buffer", help="Cash to keep, fraction of NAV.")] = 0.0,
    min_trade_shares: Annotated[int, typer.Option("--min-trade-shares")] = 0,
    min_trade_notional: Annotated[float, typer.Option("--min-trade-notional")] = 0.0,
    portfolio_id: Annotated[str, typer.Option("--portfolio-id")] = "PORTFOLIO",
    tolerance: Annotated[float, typer.Option("--tolerance", help="Slack a rule may lose to rounding.")] = ROUNDING_TOLERANCE,
    force: Annotated[bool, typer.Option("--force", help="Write a batch that was already exported again.")] = False,
) -> None:
    """Turn a run's target weights into whole-lot orders and write them as a batch."""
    from .export import export_run

    try:
        batch, written = export_run(
            run_dir, holdings, prices, out_dir, formats=tuple(formats), mapping=mapping, force=force, cash=cash,
            nav=nav, cash_buffer=cash_buffer, min_trade_shares=min_trade_shares, min_trade_notional=min_trade_notional,
            portfolio_id=portfolio_id, tolerance=tolerance,
        )
    except (*_ERRORS, ExportError) as error:
        raise _fail(error) from None
    meta = batch.meta
    out.print(
        f"batch {batch.batch_id}: {meta['orders']} orders, gross {meta['gross_notional']:,.0f}, cash after "
        f"{meta['cash_after']:,.2f}, TE change from rounding {meta['te_change_from_rounding'] or 0:+.2e}",
        highlight=False,
    )
    out.print(f"wrote {written}", highlight=False)


@app.command("send")
def send_command(
    batch_dir: Annotated[Path, typer.Argument(help="Batch directory written by export (OUT/<batch_id>).", show_default=False)],
    fix_config: Annotated[Path, typer.Option("--fix-config", help="FIX session settings file.", show_default=False)],
    style: Annotated[str, typer.Option("--style", help="single (NewOrderSingle each) or list (one NewOrderList).")] = "single",
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to log on and hear about every order.")] = 30.0,
    account: Annotated[str | None, typer.Option("--account", help="Account (1) on every order.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Send a batch that was sent before.")] = False,
) -> None:
    """Send an exported batch over a live FIX 4.4 session; report every order's answer."""
    from .export import send_batch_dir

    try:
        report, record = send_batch_dir(batch_dir, fix_config, force=force, style=style, timeout=timeout, account=account)
    except ExportError as error:
        raise _fail(error) from None
    table = Table(title=f"batch {report.batch_id} over {report.session_id}")
    for column in ("order", "status", "text"):
        table.add_column(column)
    for answer in report.answers:
        colour = {"acknowledged": "green", "rejected": "red"}.get(answer.status, "yellow")
        table.add_row(answer.order_id, f"[{colour}]{answer.status}[/]", answer.text)
    out.print(table)
    out.print(
        f"{len(report.acknowledged)} acknowledged, {len(report.rejected)} rejected, {len(report.no_answer)} without "
        f"an answer; {len(report.unmatched)} unmatched message(s). Record: {record}; FIX log: {report.log_dir}",
        highlight=False,
    )
    if report.rejected or report.no_answer:
        raise typer.Exit(EXIT_NOT_ACKNOWLEDGED)


def print_summary(target: TargetPortfolio) -> None:
    """A readable summary of a result on the terminal."""
    d = target.diagnostics
    out.print(
        f"[bold]{target.job_name or 'trimtab job'}[/]: [green]{d.status}[/] · {target.dataset} · as of "
        f"{target.as_of.date()} · {target.risk_model} · {d.solver} {d.solve_seconds:.3f} s",
        highlight=False,
    )
    figures = Table(title="Portfolio", show_header=False)
    figures.add_row("Tracking error (annualized)", f"{d.tracking_error:.3%}")
    figures.add_row("  factor / specific", f"{d.factor_tracking_error:.3%} / {d.specific_tracking_error:.3%}")
    figures.add_row("Active share", f"{d.active_share:.2%}")
    figures.add_row("Turnover (two-way)", f"{d.turnover:.2%}")
    figures.add_row("Names held", str(d.names_held))
    if d.cash:
        figures.add_row("Cash", f"{d.cash:.2%}")
    if d.cardinality is not None:
        c = d.cardinality
        bound = f"TE ≥ {c.tracking_error_bound:.3%}" if c.tracking_error_bound is not None else f"bound {c.bound:.4g}"
        figures.add_row(
            "Holdings count",
            f"{c.method}{f' ({c.status})' if c.status != c.method else ''}: {c.names_held} names, smallest {c.smallest_weight:.3%}; "
            f"gap {c.relative_gap:.1%} ({bound})",
        )
    for name, g in d.groups.items():
        figures.add_row(f"{name} weight (target / benchmark)", f"{g['target']:.2%} / {g['benchmark']:.2%}")
    for name, x in d.active_exposures.items():
        if name in ("value", "quality"):
            figures.add_row(f"Active {name} exposure", f"{x:+.3f} σ")
    out.print(figures)
    table = Table(title="Constraints")
    for column in ("constraint", "value", "bound", "slack", "ΔTE bp per 0.01", "binding"):
        table.add_column(column, justify="left" if column == "constraint" else "right")
    for r in d.constraints:
        where = f" [{r.row}]" if r.row else ""
        cost = f"{r.marginal_te * 0.01 * 1e4:+.2f}" if r.binding and r.marginal_te == r.marginal_te else ""
        table.add_row(
            f"{r.name}{where}", f"{r.value:.6g}", f"{r.bound:.6g}", f"{r.slack:.3g}", cost, "yes" if r.binding else ""
        )
    out.print(table)
    for r in d.constraints:
        if r.mode != "hard" and r.violation > 0:
            out.print(
                f"[yellow]{r.mode}[/]: '{r.name}' is {r.value:.6g} against its bound {r.bound:.6g} "
                f"(violated by {r.violation:.4g})",
                highlight=False,
            )


def main() -> None:
    """Entry point for ``python -m optimizer``."""
    app()


# Research commands (backtest, frontier, monitor, report) are registered last: they reuse this module's helpers.
from .research._commands import register_commands  # noqa: E402

register_commands(app)
