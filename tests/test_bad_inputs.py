"""Every failure a user can cause: one paragraph, a documented exit code, no traceback, nothing written.

A corpus of bad (and odd-but-valid) inputs is run through the command line — in-process
through :func:`trimtab.optimizer.cli.run`, the function the console script calls, and a few
in a real process — and each must end with the expected documented exit code, exactly one
``error (…)`` paragraph naming the culprit on stderr, no traceback and no "internal error",
and an output directory left as it was.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from trimtab.optimizer.cli import DOCUMENTED_EXIT_CODES, run

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_JOB = ROOT / "examples" / "mag7_value_quality.yaml"
GOOD_RULES = "constraints:\n  - group_weight: {group: MAG7, max: 0.25}\n"


@dataclass(frozen=True)
class Case:
    """One bad input: files to write in a temp folder, the command, what must come out."""

    name: str
    files: dict[str, str | bytes]
    args: tuple[str, ...]
    code: int
    says: tuple[str, ...] = ()
    prepare: Callable[[Path], None] | None = field(default=None, compare=False)


def _job(body: str, name: str = "bad") -> str:
    return f"name: {name}\ndata: {{source: embedded}}\n{body}"


ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(9)
)

CASES = [
    # -- the job file itself
    Case("missing job file", {}, ("optimize", "{tmp}/nope.yaml", "--out", "{tmp}/out"), 2, ("nope.yaml", "not found")),
    Case("job path is a directory", {"jobdir/x": "x"}, ("optimize", "{tmp}/jobdir", "--out", "{tmp}/out"), 2, ("jobdir",)),
    Case("empty job file", {"job.yaml": ""}, ("validate", "{tmp}/job.yaml"), 2, ("job.yaml",)),
    Case("binary job file", {"job.yaml": b"\x00\xff\xfe garbage \x80"}, ("validate", "{tmp}/job.yaml"), 2, ("job.yaml",)),
    Case("YAML syntax error", {"job.yaml": "constraints: [\n  - a: {b: 1\n"}, ("validate", "{tmp}/job.yaml"), 2, ("job.yaml",)),
    Case("job is a list", {"job.yaml": "- budget\n- long_only\n"}, ("validate", "{tmp}/job.yaml"), 2, ("job.yaml",)),
    Case("unknown section", {"job.yaml": _job(GOOD_RULES + "solvr: {name: SCS}\n")}, ("validate", "{tmp}/job.yaml"), 2, ("solvr",)),
    Case("unknown rule", {"job.yaml": _job("constraints:\n  - mag7_cap: {max: 0.2}\n")}, ("validate", "{tmp}/job.yaml"), 2, ("mag7_cap",)),
    Case(
        "duplicate key in a rule",
        {"job.yaml": _job("constraints:\n  - group_weight: {group: MAG7, max: 0.05, max: 0.9}\n")},
        ("validate", "{tmp}/job.yaml"), 2, ("duplicate", "max"),
    ),
    Case(
        "two constraints blocks",
        {"job.yaml": _job(GOOD_RULES + "constraints:\n  - turnover: {max: 0.3}\n")},
        ("validate", "{tmp}/job.yaml"), 2, ("duplicate", "constraints"),
    ),
    Case("YAML alias bomb", {"job.yaml": ALIAS_BOMB}, ("validate", "{tmp}/job.yaml"), 2, ("alias",)),
    Case("huge job file", {"job.yaml": _job(GOOD_RULES) + "# " + "x" * (3 << 20) + "\n"}, ("validate", "{tmp}/job.yaml"), 2, ("job.yaml",)),
    Case("deep nesting", {"job.yaml": _job(GOOD_RULES + "description: " + "[" * 500 + "]" * 500 + "\n")},
         ("validate", "{tmp}/job.yaml"), 2, ("job.yaml",)),
    Case("quoted nan bound", {"job.yaml": _job('constraints:\n  - group_weight: {group: MAG7, max: "nan"}\n')},
         ("validate", "{tmp}/job.yaml"), 2, ("job.yaml:4",)),
    Case("quoted inf bound", {"job.yaml": _job('constraints:\n  - turnover: {max: "inf"}\n')},
         ("validate", "{tmp}/job.yaml"), 2, ("job.yaml:4",)),
    Case("overflowing relative bound", {"job.yaml": _job('constraints:\n  - asset_weight: {max: "benchmark + 1e999"}\n')},
         ("validate", "{tmp}/job.yaml"), 2, ("job.yaml:4",)),
    Case("min above max", {"job.yaml": _job("constraints:\n  - group_weight: {group: MAG7, min: 0.3, max: 0.2}\n")},
         ("validate", "{tmp}/job.yaml"), 2, ("min", "max")),
    Case("negative seed", {"job.yaml": "name: s\ndata: {source: embedded, seed: -1}\n" + GOOD_RULES},
         ("validate", "{tmp}/job.yaml"), 2, ("seed",)),
    Case("unknown group", {"job.yaml": _job("constraints:\n  - group_weight: {group: FAANG, max: 0.2}\n")},
         ("optimize", "{tmp}/job.yaml", "--out", "{tmp}/out"), 2, ("FAANG",)),
    # -- data files
    Case(
        "missing returns file",
        {"u.csv": "asset_id,sector,market_cap,price\nA,Energy,1e9,10\n",
         "job.yaml": "name: f\ndata: {source: files, universe: u.csv, returns: r.csv}\n" + GOOD_RULES.replace("group: MAG7", "assets: [A]")},
        ("validate", "{tmp}/job.yaml"), 2, ("r.csv",),
    ),
    # -- outputs
    Case("--out is a file", {"out": "a file"}, ("optimize", str(DEFAULT_JOB), "--out", "{tmp}/out"), 2, ("not a directory",)),
    Case("infeasible job", {}, ("optimize", str(ROOT / "examples" / "infeasible.yaml"), "--out", "{tmp}/out"), 3,
         ("no portfolio satisfies every constraint",)),
    # -- export, send, research commands on missing or wrong inputs
    Case("export of a missing run", {"h.csv": "asset_id,shares\n", "p.csv": "asset_id,price\n"},
         ("export", "{tmp}/run", "--holdings", "{tmp}/h.csv", "--prices", "{tmp}/p.csv", "--out", "{tmp}/out"), 2, ("run",)),
    Case("send of a missing batch", {"cfg": "[SESSION]\n"}, ("send", "{tmp}/batch", "--fix-config", "{tmp}/cfg"), 2, ("batch",)),
    Case("report of a missing run", {}, ("report", "{tmp}/run"), 2, ("run",)),
    Case("monitor of a missing source", {}, ("monitor", "{tmp}/nothing.yaml", "--out", "{tmp}/out"), 2, ("nothing.yaml",)),
    Case("frontier of an unknown rule", {}, ("frontier", str(DEFAULT_JOB), "-c", "beta", "--from", "0", "--to", "1"), 2, ("beta",)),
    Case("backtest with bad dates", {}, ("backtest", str(DEFAULT_JOB), "--start", "2025-13-01", "--end", "2026-01-01",
                                         "--out", "{tmp}/out"), 2, ("2025-13-01",)),
    Case("usage error", {}, ("optimize", "--no-such-option"), 2, ("no-such-option",)),
]


def _materialize(case: Case, tmp_path: Path) -> list[str]:
    for name, content in case.files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return [a.replace("{tmp}", str(tmp_path)) for a in case.args]


def _tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_gives_one_paragraph_and_a_documented_code(case, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TRIMTAB_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("COLUMNS", "400")  # one paragraph is one line here: no wrapping by width
    args = _materialize(case, tmp_path)
    before = _tree(tmp_path)
    code = run(args)
    out, err = capsys.readouterr()
    assert code in DOCUMENTED_EXIT_CODES and code == case.code, (code, out, err)
    assert "Traceback" not in out + err and "internal error" not in err, err
    if case.name != "usage error":
        paragraphs = re.findall(r"^error \(", err, flags=re.M)
        assert len(paragraphs) == 1, err
        message = err.split("nothing was written.")[0]
        assert "\n" not in message.strip(), f"more than one paragraph: {err!r}"
    for fragment in case.says:
        assert fragment.lower() in (out + err).lower(), (fragment, err)
    if code != 3:  # an infeasible optimize may write diagnosis only through `diagnose`
        assert _tree(tmp_path) == before, "a failed command wrote or changed files"


def test_markup_and_control_characters_in_data_print_as_text(tmp_path, capsys):
    """A job name with rich markup or an escape sequence, and lower-case ids, reach the terminal as text."""
    job = tmp_path / "job.yaml"
    job.write_text(
        'name: "[/] [bold]x[/bold] \\x1b[31mred"\ndata: {source: embedded}\n'
        "constraints:\n  - group_weight: {group: MAG7, max: 0.25}\n  - asset_weight: {max: benchmark + 0.02}\n"
    )
    code = run(["optimize", str(job), "--out", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "[/] [bold]x[/bold] \\x1b[31mred" in out  # the name as written, the escape shown, not executed
    assert "\x1b[31m" not in out
    assert (tmp_path / "out" / "summary.json").is_file()


def test_a_real_process_never_prints_a_traceback(trimtab_process, tmp_path):
    """The console entry point itself (not only run()): bad job, usage error, interrupted-free exit codes."""
    (tmp_path / "job.yaml").write_text("constraints: [\n")
    for args, code in (
        (("validate", tmp_path / "job.yaml"), 2),
        (("optimize", tmp_path / "missing.yaml"), 2),
        (("optimize",), 2),
        (("--help",), 0),
    ):
        done = trimtab_process(*args, cwd=tmp_path)
        assert done.returncode == code, done.stderr
        assert "Traceback" not in done.stderr + done.stdout


def test_lower_case_asset_ids_in_the_constraint_table_are_printed(toy, capsys):
    """``[t003]`` is a rich style tag unless escaped: the tightest row of a per-name rule must show."""
    from trimtab import optimizer
    from trimtab.constraints import loads_job
    from trimtab.optimizer.cli import print_summary

    snapshot, model = toy
    lower = lambda frame: frame.rename(index=str.lower)  # noqa: E731
    ids = snapshot.asset_ids.str.lower()
    data = type(snapshot)(
        dataset="toy", as_of=snapshot.as_of, assets=lower(snapshot.assets), benchmark_weights=lower(snapshot.benchmark_weights),
        holdings=lower(snapshot.holdings), characteristics=lower(snapshot.characteristics),
        returns=snapshot.returns.set_axis(ids, axis=1), groups={"TOP5": tuple(ids[:5])},
    )
    risk = type(model)(tuple(ids), model.factor_names, model.exposures, model.factor_cov_sqrt, model.specific_vol, name="toy")
    job = loads_job("name: lower\nconstraints:\n  - group_weight: {group: TOP5, max: 0.3}\n  - asset_weight: {max: 0.05}\n")
    target = optimizer.optimize(job, snapshot=data, risk_model=risk)
    (report,) = [r for r in target.diagnostics.constraints if r.kind == "asset_weight"]
    assert report.row and report.row == report.row.lower()
    print_summary(target)
    assert f"[{report.row}]" in capsys.readouterr().out


def test_a_solve_cut_short_by_its_time_limit_exits_6_and_writes_its_verified_answer(tmp_path, capsys):
    job = tmp_path / "job.yaml"
    job.write_text(f"extends: {DEFAULT_JOB}\ncardinality: {{max_names: 400, method: heuristic, time_limit: 0.001}}\n")
    code = run(["optimize", str(job), "--out", str(tmp_path / "out"), "-q"])
    out, err = capsys.readouterr()
    assert code == 6, err
    assert "time limit" in err and "not proven optimal" in err
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["status"] == "time_limit" and summary["cardinality"]["status"] == "time_limit"
    assert summary["cardinality"]["names_held"] <= 400
