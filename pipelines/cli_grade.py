"""`regulens grade`: credit grades (A/B/C/D) for every enterprise, and `regulens grade fit` for the
learned scorecard. Argument parsing and printing only; the work is in `pipelines.grading`.

The helpers come from `pipelines.cli` inside each command: `pipelines.cli` imports this module to
register it, so a top-level import back would be circular."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

if TYPE_CHECKING:
    from pipelines.cli import State

grade_app = typer.Typer(
    invoke_without_command=True,
    no_args_is_help=False,
    help="Grade every enterprise with a credit scorecard (A low risk … D high risk), or fit the learned one.",
)


@grade_app.callback()
def grade(
    ctx: typer.Context,
    as_of: Annotated[str | None, typer.Option(help="as-of date of a built profile, YYYY-MM-DD")] = None,
    scorecard: Annotated[Path | None, typer.Option(help="scorecard YAML (default: settings grading.scorecard)")] = None,
    learned: Annotated[bool, typer.Option("--learned", help="use the current learned scorecard")] = False,
    ratios: Annotated[str | None, typer.Option(help="ratio table name in grading.ratios (e.g. county_example)")] = None,
) -> None:
    """Grade every enterprise in the profile as of --as-of; print the grade distribution."""
    if ctx.invoked_subcommand is not None:
        return
    from models.scorecard.schema import ScorecardError
    from pipelines.cli import EXIT_OK, _parse_dates, exit_2_on, finish
    from pipelines.grading import grade_enterprises

    if as_of is None:
        raise typer.BadParameter("give the --as-of date of a built profile", param_hint="--as-of")
    if scorecard is not None and learned:
        raise typer.BadParameter("give --scorecard or --learned, not both", param_hint="--scorecard")
    state: State = ctx.obj
    settings = state.settings(grading={"ratio_table": ratios} if ratios else None)
    (date,) = _parse_dates([as_of])
    with exit_2_on(ScorecardError, FileNotFoundError):
        result = grade_enterprises(settings, date, scorecard, learned)
    table = Table(
        "grade",
        "enterprises",
        "share",
        f"to draw ({result.ratio_table})",
        title=f"credit grades as of {as_of} ({result.version})",
    )
    for g, n in result.by_grade.items():
        lo, hi = result.expected_draws[g]
        table.add_row(
            g, f"{n:,}", f"{n / max(result.graded, 1):.1%}", f"{lo:,.0f}" if lo == hi else f"{lo:,.0f}–{hi:,.0f}"
        )
    table.add_row("excluded", f"{result.excluded:,}", "", "")
    overrides = ", ".join(f"{k} {v:,}" for k, v in result.overrides.items()) or "none"
    title = (
        f"graded {result.graded:,} of {result.enterprises:,} enterprises (overrides: {overrides});"
        f" grades in {result.path}"
    )
    finish(state, {"command": "grade", **result.to_json()}, title, table, EXIT_OK)


@grade_app.command("fit")
def grade_fit(
    ctx: typer.Context,
    train_as_of: Annotated[list[str], typer.Option(help="as-of date whose labelled firms train the card (repeatable)")],
    holdout_as_of: Annotated[
        list[str] | None, typer.Option(help="later as-of date to report AUC on (repeatable)")
    ] = None,
    horizon: Annotated[int, typer.Option(min=1, help="label horizon in days")] = 180,
) -> None:
    """Fit the WoE-binned logistic scorecard (optbinning) and export it as scorecard YAML."""
    from models.scorecard.schema import ScorecardError
    from pipelines.cli import EXIT_OK, _parse_dates, exit_2_on, finish
    from pipelines.grading import fit_learned

    state: State = ctx.obj
    settings = state.settings()
    train = _parse_dates(train_as_of)
    holdout = _parse_dates(holdout_as_of or [])
    if holdout and min(holdout) <= max(train):
        raise typer.BadParameter("holdout dates must come after every training date", param_hint="--holdout-as-of")
    with exit_2_on(ScorecardError, FileNotFoundError, ValueError):
        result = fit_learned(settings, train, holdout, horizon)
    table = Table("feature", "IV", "bins", title=f"learned scorecard {result.version}")
    for f in result.features:
        table.add_row(str(f["feature"]), f"{f['iv']}", f"{f['bins']}")
    aucs = ", ".join(f"{k} {v}" for k, v in result.auc.items())
    aucs += "; default card: " + (", ".join(f"{k} {v}" for k, v in result.auc_default.items()) or "no holdout")
    title = (
        f"fitted on {result.rows:,} inspected enterprises (violation rate {result.violation_rate:.1%}); "
        f"AUC {aucs}; scorecard {result.path}"
    )
    finish(state, {"command": "grade fit", **result.to_json()}, title, table, EXIT_OK)


@grade_app.command("show")
def grade_show(
    ctx: typer.Context,
    uscc: Annotated[str, typer.Argument(help="the enterprise's unified social credit code")],
    as_of: Annotated[str, typer.Option(help="as-of date of stored grades, YYYY-MM-DD")],
    card: Annotated[str, typer.Option(help="default, learned, or another graded card's name")] = "default",
) -> None:
    """Print one enterprise's grade: score, sub-scores, override, and the reason lines."""
    from pipelines.cli import EXIT_OK, _parse_dates, exit_2_on, finish
    from pipelines.grading import enterprise_grade

    state: State = ctx.obj
    settings = state.settings()
    (date,) = _parse_dates([as_of])
    with exit_2_on(LookupError, FileNotFoundError):
        doc = enterprise_grade(settings, uscc.strip().upper(), date, card)
    table = Table("dimension", "sub-score", title=f"{uscc} as of {as_of}: {doc['grade'] or 'excluded'}")
    for key, value in doc.items():
        if key.startswith("sub_"):
            table.add_row(key.removeprefix("sub_"), f"{value:g}")
    override = f"; override: {doc.get('override_zh') or doc['override']}" if doc["override"] else ""
    reasons = "\n".join(f"  {r['text']}" for r in doc["reasons"]) or "  none"
    title = f"score {doc['score']:g} ({doc['scorecard_version']}){override}\nreasons:\n{reasons}"
    finish(state, {"command": "grade show", **doc}, title, table, EXIT_OK)
