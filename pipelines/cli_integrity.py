"""`regulens integrity`: the 政务诚信 monitor from the command line (scan, cases, move, show).
Argument parsing and printing only; the work is in `pipelines.integrity`.

The helpers come from `pipelines.cli` inside each command: `pipelines.cli` imports this module to
register it, so a top-level import back would be circular."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

if TYPE_CHECKING:
    from pipelines.cli import State

integrity_app = typer.Typer(
    no_args_is_help=True, help="政务诚信: score government bodies, open and follow rectification cases."
)


@integrity_app.command("scan")
def integrity_scan(ctx: typer.Context, as_of: Annotated[str, typer.Option(help="scan date, YYYY-MM-DD")]) -> None:
    """Score every government body; mark late cases overdue; open a case for each new warning."""
    from models.calendar import CalendarError
    from models.scorecard.schema import ScorecardError
    from pipelines.cli import EXIT_OK, _parse_dates, exit_2_on, finish
    from pipelines.integrity import scan

    state: State = ctx.obj
    settings = state.settings()
    (date,) = _parse_dates([as_of])
    with exit_2_on(ScorecardError, CalendarError, FileNotFoundError, ValueError):
        result = scan(settings, date)
    table = Table("warning", "bodies", title=f"政务诚信 scan as of {as_of} ({result.scorecard_version})")
    for grade, n in result.by_grade.items():
        table.add_row(grade, f"{n:,}")
    title = (
        f"scored {result.bodies:,} bodies; opened {len(result.opened):,} case(s);"
        f" marked {len(result.marked_overdue):,} overdue"
    )
    finish(state, {"command": "integrity scan", **result.to_json()}, title, table, EXIT_OK)


@integrity_app.command("cases")
def integrity_cases(
    ctx: typer.Context,
    overdue_as_of: Annotated[str | None, typer.Option(help="only cases overdue as of this date")] = None,
    body: Annotated[str | None, typer.Option(help="only this body's cases (credit code)")] = None,
    limit: Annotated[int, typer.Option(min=1, help="rows printed (all with --json)")] = 30,
) -> None:
    """List rectification cases with their state and deadline."""
    from pipelines.cli import EXIT_OK, _parse_dates, exit_2_on, finish
    from pipelines.integrity import list_cases

    state: State = ctx.obj
    settings = state.settings()
    date = _parse_dates([overdue_as_of])[0] if overdue_as_of else None
    with exit_2_on(ValueError, FileNotFoundError):
        cases = list_cases(settings, date, body)
    table = Table("case", "body", "warning", "opened", "deadline", "state", title="rectification cases")
    for c in cases[:limit]:
        table.add_row(c.case_id, c.body_name, c.warning, str(c.opened_on), str(c.deadline), c.state_zh)
    by_state: dict[str, int] = {}
    for c in cases:
        by_state[c.state.value] = by_state.get(c.state.value, 0) + 1
    title = f"{len(cases):,} case(s)" + (f" overdue as of {overdue_as_of}" if date else "") + f"; by state {by_state}"
    summary = {"command": "integrity cases", "count": len(cases), "by_state": by_state}
    summary["cases"] = [c.model_dump(mode="json") for c in cases]
    finish(state, summary, title, table, EXIT_OK)


@integrity_app.command("move")
def integrity_move(
    ctx: typer.Context,
    case_id: Annotated[str, typer.Argument(help="the case id (from `regulens integrity cases`)")],
    to: Annotated[str, typer.Option("--to", help="target state: notified, interviewed, rectifying, overdue, closed")],
    actor: Annotated[str, typer.Option(help="who makes the move (recorded)")],
    note: Annotated[str, typer.Option(help="why, or what was done (recorded)")] = "",
    on: Annotated[str | None, typer.Option(help="the day the step happened, if entered later (YYYY-MM-DD)")] = None,
) -> None:
    """Move a case along its lifecycle; a refused transition exits 2 with the reason."""
    from models.integrity.cases import CaseState, TransitionRefused
    from pipelines.cli import EXIT_OK, _parse_dates, exit_2_on, finish
    from pipelines.integrity import move_case

    state: State = ctx.obj
    settings = state.settings()
    try:
        target = CaseState(to)
    except ValueError as error:
        raise typer.BadParameter(f"expected one of {[s.value for s in CaseState]}, got {to!r}") from error
    with exit_2_on(LookupError), exit_2_on(TransitionRefused, prefix="refused: "):
        case = move_case(settings, case_id, target, actor, note, _parse_dates([on])[0] if on else None)
    step = case.history[-1]
    title = f"case {case.case_id}: {step.from_state} -> {step.to_state} by {step.actor} ({case.state_zh})"
    finish(state, {"command": "integrity move", "case": case.model_dump(mode="json")}, title, None, EXIT_OK)


@integrity_app.command("show")
def integrity_show(
    ctx: typer.Context, body: Annotated[str, typer.Argument(help="the government body's credit code")]
) -> None:
    """Print one government body's credit file: scores, signals and their status, cases and history."""
    from pipelines.cli import EXIT_OK, exit_2_on, finish
    from pipelines.integrity import body_file

    state: State = ctx.obj
    settings = state.settings()
    with exit_2_on(LookupError, FileNotFoundError):
        doc = body_file(settings, body.strip().upper())
    table = Table("date", "signal", "amount (yuan)", "status", title=f"{doc['body_name']} ({doc['body_type']})")
    for s in doc["signals"]:
        table.add_row(s["signal_date"], s["signal_type"], f"{s['amount_yuan'] or 0:,.0f}", s["status"])
    scores = ", ".join(f"{s['as_of']} {s['score']:g} {s['grade']}" for s in doc["scores"]) or "not scanned yet"
    cases = "\n".join(
        f"  {c['case_id']} {c['warning']} deadline {c['deadline']}: {c['state_zh']}; "
        + " → ".join(f"{h['to_state']} ({h['actor']})" for h in c["history"])
        for c in doc["cases"]
    )
    title = f"scores: {scores}\ncases:\n{cases or '  none'}"
    finish(state, {"command": "integrity show", **doc}, title, table, EXIT_OK)
