"""``trimtab optimize``, ``diagnose`` and ``validate``: one job, solved, explained or checked.

Each command imports the core (and through it CVXPY, pandas) when it runs, never at import:
``trimtab --help`` loads none of them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from ._common import EXIT_INFEASIBLE, EXIT_TIME_LIMIT, err, fail, out, safe, user_errors

if TYPE_CHECKING:  # pragma: no cover
    from trimtab.constraints import JobSpec
    from trimtab.optimizer import TargetPortfolio


def _output_dir(job: JobSpec, out_dir: Path | None) -> Path:
    """``--out`` if given, else the job's ``output.dir`` (relative to the job file), else ``out/``."""
    if out_dir is not None:
        return out_dir
    return job.resolve(job.output.dir) if job.output.dir else Path("out")


def optimize_command(
    job_file: Annotated[Path, typer.Argument(help="Job file (YAML).", show_default=False)],
    out_dir: Annotated[
        Path | None, typer.Option("--out", "-o", help="Output directory (default: the job's output.dir, else out/).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not print the summary table.")] = False,
) -> None:
    """Solve a job and write DIR/targets.csv and DIR/summary.json."""
    from trimtab.optimizer import TIME_LIMIT_STATUS, as_job, optimize, write_run

    try:
        job = as_job(job_file)
        target = optimize(job)
        written = write_run(target, _output_dir(job, out_dir))
    except user_errors() as error:
        raise fail(error) from None
    if not quiet:
        print_summary(target)
    for warning in target.warnings:
        err.print(f"[yellow]warning[/]: {safe(warning)}", highlight=False, soft_wrap=True)
    out.print("wrote " + ", ".join(safe(p) for p in written.values()), highlight=False)
    if target.diagnostics.status == TIME_LIMIT_STATUS:
        card = target.diagnostics.cardinality
        taxes = target.diagnostics.taxes
        card = card if card is not None else (taxes.wash_sale if taxes is not None else None)
        if card is not None and math.isfinite(card.gap):
            gap = f": gap {card.gap:.4g} ({card.relative_gap:.1%} of the objective)"
        else:
            gap = ": no lower bound was proven in time"
        section = "cardinality" if target.diagnostics.cardinality is not None else "taxes"
        hint = f"raise {section}.time_limit" + (", or use method: heuristic" if card is not None and card.method == "exact" else "")
        err.print(
            f"[yellow]time limit[/]: the solve stopped at its time_limit{gap}; the answer above is written and "
            f"verified, but not proven optimal ({hint})",
            highlight=False,
        )
        raise typer.Exit(EXIT_TIME_LIMIT)


def diagnose_command(
    job_file: Annotated[Path, typer.Argument(help="Job file (YAML).", show_default=False)],
    out_dir: Annotated[
        Path | None, typer.Option("--out", "-o", help="Where to write diagnosis.json (default: as optimize).")
    ] = None,
) -> None:
    """Explain an infeasible job: the rules that conflict and the bound each would need.

    Writes DIR/diagnosis.json. Exit 0 when the job is feasible, 3 when it is not.
    """
    from trimtab.optimizer import as_job, diagnose, write_files_atomically

    try:
        job = as_job(job_file)
        diagnosis = diagnose(job)
        body = (json.dumps(diagnosis.to_dict(), indent=2, allow_nan=False) + "\n").encode()
        written = write_files_atomically(_output_dir(job, out_dir), {"diagnosis.json": body})
    except user_errors() as error:
        raise fail(error) from None
    style = "green" if diagnosis.feasible else "bold red"
    out.print(f"[{style}]{'feasible' if diagnosis.feasible else 'infeasible'}[/]: {safe(diagnosis.message)}", highlight=False)
    out.print(f"wrote {safe(written['diagnosis.json'])}", highlight=False)
    if not diagnosis.feasible:
        raise typer.Exit(EXIT_INFEASIBLE)


def validate_command(
    job_file: Annotated[Path, typer.Argument(help="Job file (YAML).", show_default=False)],
    show: Annotated[bool, typer.Option("--show", help="Print the effective job (defaults filled in).")] = False,
) -> None:
    """Check a job file and its data without solving (with a taxes section: its lots too)."""
    from trimtab.constraints import FactorExposure, UniverseInfo
    from trimtab.optimizer import as_job, estimate_risk, job_lot_book, load_market_data

    try:
        job = as_job(job_file)
        snapshot = load_market_data(job)
        book = job_lot_book(job, snapshot) if job.taxes is not None else None
        universe = UniverseInfo.from_data(snapshot)
        risk_factors = [c.factor for c in job.constraints if isinstance(c, FactorExposure) and c.names_a_risk_factor(universe)]
        if risk_factors:  # only the estimated model knows these names
            universe = UniverseInfo.from_data(snapshot, estimate_risk(job, snapshot))
            job.check_universe(universe)
    except user_errors() as error:
        raise fail(error) from None
    if show:
        import yaml

        out.print(safe(yaml.safe_dump(job.to_dict(), sort_keys=False)), highlight=False)
    out.print(
        f"[green]ok[/]: {safe(job_file)} — {len(job.effective_constraints)} constraints "
        f"({', '.join(c.key for c in job.effective_constraints)}) on {safe(snapshot.dataset)}: "
        f"{universe.n_assets} assets, {len(universe.sectors)} sectors, groups {safe(list(universe.groups))}"
        + (f"; risk-model factors checked: {safe(risk_factors)}" if risk_factors else "")
        + (f"; {book.n_lots} tax lots add up to the holdings" if book is not None else ""),
        highlight=False,
    )


def print_summary(target: TargetPortfolio) -> None:
    """A readable summary of a result on the terminal."""
    d = target.diagnostics
    out.print(
        f"[bold]{safe(target.job_name or 'trimtab job')}[/]: [green]{safe(d.status)}[/] · {safe(target.dataset)} · as of "
        f"{target.as_of.date()} · {safe(target.risk_model)} · {safe(d.solver)} {d.solve_seconds:.3f} s",
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
            f"{c.method}{f' ({safe(c.status)})' if c.status != c.method else ''}: {c.names_held} names, smallest {c.smallest_weight:.3%}; "
            f"gap {c.relative_gap:.1%} ({bound})",
        )
    if d.taxes is not None:
        t, wash = d.taxes, d.taxes.wash_sale
        either_or = f"; wash sales: {wash.method}, gap {wash.gap:.3g}" if wash is not None and wash.method != "relaxation" else ""
        figures.add_row("Tax (realized)", safe(t.line()) + either_or)
    for name, g in d.groups.items():
        figures.add_row(f"{safe(name)} weight (target / benchmark)", f"{g['target']:.2%} / {g['benchmark']:.2%}")
    for name, x in d.active_exposures.items():
        if name in ("value", "quality"):
            figures.add_row(f"Active {name} exposure", f"{x:+.3f} σ")
    out.print(figures)
    table = Table(title="Constraints")
    for column in ("constraint", "value", "bound", "slack", "ΔTE bp per 0.01", "binding"):
        table.add_column(column, justify="left" if column == "constraint" else "right")
    for r in d.constraints:
        where = f" [{r.row}]" if r.row else ""  # text, escaped below: "[sp001]" is not a style
        cost = f"{r.marginal_te * 0.01 * 1e4:+.2f}" if r.binding and r.marginal_te == r.marginal_te else ""
        table.add_row(
            safe(f"{r.name}{where}"), f"{r.value:.6g}", f"{r.bound:.6g}", f"{r.slack:.3g}", cost, "yes" if r.binding else ""
        )
    out.print(table)
    for r in d.constraints:
        if r.mode != "hard" and r.violation > 0:
            out.print(
                f"[yellow]{r.mode}[/]: '{safe(r.name)}' is {r.value:.6g} against its bound {r.bound:.6g} "
                f"(violated by {r.violation:.4g})",
                highlight=False,
            )


def register(app: typer.Typer) -> None:
    """Add ``optimize``, ``diagnose`` and ``validate`` to ``app``."""
    app.command("optimize")(optimize_command)
    app.command("diagnose")(diagnose_command)
    app.command("validate")(validate_command)
