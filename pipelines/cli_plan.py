"""`regulens plan`: the 双随机 plan cycle from the command line (commit, draw, verify, export, record,
publish, status, list, audit). Argument parsing and printing only; the work is in `pipelines.planning`.

The helpers come from `pipelines.cli` inside each command: `pipelines.cli` imports this module to
register it, so a top-level import back would be circular."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from models.calendar import latest_today
from pipelines.textsafe import printable

if TYPE_CHECKING:
    from pipelines.cli import State
    from pipelines.planning import DrawRequest

plan_app = typer.Typer(
    no_args_is_help=True,
    help="双随机 plans: commit, draw (targets and inspectors), verify, export, record results, publish (一公开).",
)

POLICIES = {"risk": "risk", "class": "class_ratio", "blend": "blend"}
ActorOption = Annotated[str, typer.Option(help="who does this (recorded in the audit log)")]
AsOfOption = Annotated[str | None, typer.Option(help="as-of date of the scores and grades, YYYY-MM-DD")]
ItemOption = Annotated[str | None, typer.Option(help="inspection item code or name (data/draw/items.yaml)")]
CapacityOption = Annotated[int | None, typer.Option(min=0, help="inspections in total")]
DistrictOption = Annotated[
    list[str] | None, typer.Option(help="per-district capacity, e.g. 禅城区=50 (repeatable; must add up to --capacity)")
]
PolicyOption = Annotated[str, typer.Option(help="risk | class | blend")]
ExponentOption = Annotated[float, typer.Option(min=0, help="risk exponent (0 uniform, 1 proportional)")]
FloorOption = Annotated[float, typer.Option(min=0, max=1, help="minimum inclusion probability of every listed firm")]
CapOption = Annotated[float, typer.Option(min=0, max=1, help="maximum inclusion probability")]
BlendOption = Annotated[float, typer.Option(min=0, max=1, help="weight of the risk design in a blend")]
ExcludeOption = Annotated[int | None, typer.Option(min=1, help="spare firms inspected in the last N months")]
WorkloadOption = Annotated[int | None, typer.Option(min=1, help="max inspections per inspector (default: settings)")]
BoostOption = Annotated[
    list[str] | None,
    typer.Option(help="complaint-hotspot boost DISTRICT[:INDUSTRY]=FACTOR, e.g. 禅城区:52=2 or :62=1.5 (repeatable)"),
]
DistrictRuleOption = Annotated[
    bool | None,
    typer.Option("--same-district/--any-district", help="inspectors from the firm's district bureau only"),
]


def _request(
    as_of: str | None,
    item: str | None,
    capacity: int | None,
    district_capacity: list[str] | None,
    policy: str,
    exponent: float,
    floor: float,
    cap: float,
    blend: float,
    exclude_months: int | None,
    workload_cap: int | None,
    same_district: bool | None,
    settings: Any,
    boost: list[str] | None = None,
) -> DrawRequest:
    from pydantic import ValidationError

    from pipelines.cli import _parse_dates, exit_2_on
    from pipelines.draw.policy import AssignmentRules, Boost, Capacity, DrawPolicy
    from pipelines.planning import DrawRequest, read_items

    for name, value in (("--as-of", as_of), ("--item", item), ("--capacity", capacity)):
        if value is None:
            raise typer.BadParameter(f"{name} is required to build a plan (or give --plan to draw a committed one)")
    assert as_of is not None and item is not None and capacity is not None
    if policy not in POLICIES:
        raise typer.BadParameter(f"expected one of {list(POLICIES)}, got {policy!r}", param_hint="--policy")
    per_district = None
    if district_capacity:
        per_district = {}
        for text in district_capacity:
            district, sep, n = text.partition("=")
            if not sep or not n.strip().isdigit():
                raise typer.BadParameter(f"expected DISTRICT=N, got {text!r}", param_hint="--district-capacity")
            per_district[district.strip()] = int(n)
    (date,) = _parse_dates([as_of])
    boosts = []
    for text in boost or []:
        where, sep, factor = text.rpartition("=")
        district, _, industry = where.partition(":")
        try:
            if not sep or not where:
                raise ValueError("no DISTRICT[:INDUSTRY]= part")
            boosts.append(
                Boost(district=district.strip() or None, industry_code=industry.strip() or None, factor=float(factor))
            )
        except (ValueError, ValidationError) as error:
            raise typer.BadParameter(
                f"expected DISTRICT[:INDUSTRY]=FACTOR with FACTOR > 0, got {text!r}", param_hint="--boost"
            ) from error
    with exit_2_on(ValidationError, ValueError, LookupError, FileNotFoundError, prefix="bad plan request: "):
        rules = None
        if workload_cap is not None or same_district is not None:
            spec = read_items(settings.plan.items).item(item)
            rules = AssignmentRules(
                per_task=settings.plan.per_task,
                workload_cap=workload_cap or settings.plan.workload_cap,
                same_district=settings.plan.same_district if same_district is None else same_district,
                item_expertise={spec.name: spec.expertise},
            )
        return DrawRequest(
            as_of=date,
            item=item,
            capacity=Capacity(total=capacity, per_district=per_district),
            policy=DrawPolicy(
                kind=POLICIES[policy],
                risk_exponent=exponent,
                floor=floor,
                cap=cap,
                blend_weight=blend,
                exclude_inspected_months=exclude_months,
                boosts=tuple(boosts),
            ),
            rules=rules,
        )


def _draw_errors() -> tuple[type[Exception], ...]:
    from pipelines.draw.design import InfeasibleDesignError
    from pipelines.draw.eligible import DrawInputError
    from pipelines.draw.plan import CommitmentMismatchError, InfeasibleAssignmentError, PlanExistsError
    from pipelines.planning import PlanInputMissingError, TransitionRefused

    return (
        PlanInputMissingError,
        DrawInputError,
        InfeasibleDesignError,
        InfeasibleAssignmentError,
        CommitmentMismatchError,
        PlanExistsError,
        TransitionRefused,
        LookupError,
        ValueError,
        OSError,
    )


@plan_app.command("commit")
def plan_commit(
    ctx: typer.Context,
    actor: ActorOption,
    as_of: AsOfOption = None,
    item: ItemOption = None,
    capacity: CapacityOption = None,
    district_capacity: DistrictOption = None,
    policy: PolicyOption = "blend",
    exponent: ExponentOption = 1.0,
    floor: FloorOption = 0.005,
    cap: CapOption = 1.0,
    blend: BlendOption = 0.5,
    exclude_months: ExcludeOption = None,
    boost: BoostOption = None,
    workload_cap: WorkloadOption = None,
    same_district: DistrictRuleOption = None,
) -> None:
    """Phase 1: fix the inputs and every inclusion probability; print the commitment to publish."""
    from pipelines.cli import EXIT_OK, exit_2_on, finish
    from pipelines.planning import commit_plan

    state: State = ctx.obj
    settings = state.settings()
    request = _request(
        as_of, item, capacity, district_capacity, policy, exponent, floor, cap, blend, exclude_months,
        workload_cap, same_district, settings, boost,
    )  # fmt: skip
    with exit_2_on(*_draw_errors()):
        committed = commit_plan(settings, request, actor)
    title = (
        f"plan {committed.plan_id} committed: {committed.listed:,} firms listed, {committed.excluded:,} spared\n"
        f"commitment (publish it now, before the public value is fixed): {committed.commitment}\n"
        f"then: regulens plan draw --plan {committed.plan_id} --public-value VALUE --actor NAME"
    )
    finish(state, {"command": "plan commit", **committed.to_json()}, title, None, EXIT_OK)


@plan_app.command("draw")
def plan_draw(
    ctx: typer.Context,
    actor: ActorOption,
    public_value: Annotated[str, typer.Option(help="public value fixed after the commitment (e.g. a lottery draw)")],
    plan: Annotated[str | None, typer.Option(help="draw this committed plan (from `plan commit`)")] = None,
    as_of: AsOfOption = None,
    item: ItemOption = None,
    capacity: CapacityOption = None,
    district_capacity: DistrictOption = None,
    policy: PolicyOption = "blend",
    exponent: ExponentOption = 1.0,
    floor: FloorOption = 0.005,
    cap: CapOption = 1.0,
    blend: BlendOption = 0.5,
    exclude_months: ExcludeOption = None,
    boost: BoostOption = None,
    workload_cap: WorkloadOption = None,
    same_district: DistrictRuleOption = None,
) -> None:
    """Draw targets and inspectors: a committed --plan, or commit and draw in one step."""
    from pipelines.cli import EXIT_OK, exit_2_on, finish
    from pipelines.planning import draw_committed, draw_now

    state: State = ctx.obj
    settings = state.settings()
    with exit_2_on(*_draw_errors()):
        if plan is not None:
            given = [n for n, v in (("--as-of", as_of), ("--item", item), ("--capacity", capacity)) if v is not None]
            if given:
                raise typer.BadParameter(f"{given} cannot change a committed plan; drop them or leave out --plan")
            drawn = draw_committed(settings, plan, public_value, actor)
            single = False
        else:
            request = _request(
                as_of, item, capacity, district_capacity, policy, exponent, floor, cap, blend, exclude_months,
                workload_cap, same_district, settings, boost,
            )  # fmt: skip
            _, drawn = draw_now(settings, request, public_value, actor)
            single = True
    table = Table("stratum", "tasks", title=f"plan {drawn.plan_id}")
    for stratum, n in sorted(drawn.by_stratum.items()):
        table.add_row(stratum, f"{n:,}")
    title = (
        f"drew {drawn.tasks:,} of {drawn.listed:,} listed firms ({drawn.excluded:,} spared); "
        f"by class {drawn.by_class}\n"
        f"commitment {drawn.commitment}\npublic value {drawn.public_value!r}\nseed {drawn.seed}\n"
        f"expected hit rate {drawn.expected_hit_rate:.3f} (mean model probability of the drawn firms; "
        f"the design expects {drawn.design_hit_rate:.3f}; a uniform draw from the list {drawn.list_mean_risk:.3f})\n"
        f"plan folder {drawn.folder}"
        + ("\n(one-step draw: commitment and public value given together; the audit log says so)" if single else "")
    )
    finish(state, {"command": "plan draw", "single_step": single, **drawn.to_json()}, title, table, EXIT_OK)


@plan_app.command("verify")
def plan_verify(
    ctx: typer.Context,
    plan: Annotated[str, typer.Argument(help="plan id")],
    actor: Annotated[str, typer.Option(help="who verifies (recorded)")] = "auditor",
    folder: Annotated[
        Path | None,
        typer.Option(help="verify this plan folder instead (a copy an auditor received; needs --commitment "
                     "and --public-value as published)"),
    ] = None,
    commitment: Annotated[
        str | None, typer.Option(help="with --folder: the commitment published before the draw")
    ] = None,
    public_value: Annotated[str | None, typer.Option(help="with --folder: the public value as published")] = None,
) -> None:
    """Re-run the draw against the commitment and public value recorded before it (the operational
    database and the audit log, or the published ones with --folder); exit 1 listing every difference."""
    from pipelines.cli import EXIT_DATA, EXIT_OK, exit_2_on, finish
    from pipelines.draw.plan import check_plan_id
    from pipelines.draw.verify import Recorded, verify_folder
    from pipelines.plan_verify import verify_plan
    from pipelines.planning import TransitionRefused

    state: State = ctx.obj
    with exit_2_on(LookupError, OSError, ValueError, TransitionRefused):
        if folder is not None:
            # A published folder is verified against the published values: an auditor needs no data home.
            if not commitment or not public_value:
                raise typer.BadParameter(
                    "--folder needs --commitment and --public-value as they were published (a folder is never "
                    "its own reference)"
                )
            report = verify_folder(folder, Recorded(check_plan_id(plan), commitment, public_value))
            summary: dict[str, Any] = {"plan_id": report.plan_id, "commitment": report.commitment,
                                       "public_value": report.public_value, "differences": list(report.differences)}
            differences, batch = report.differences, []
        else:
            result = verify_plan(state.settings(), plan, actor)
            summary, differences, batch = result.to_json(), result.differences, list(result.batch)
    used = (
        f"against commitment {summary['commitment']}\n  and public value {printable(summary['public_value'])!r}"
        f"\n  (compare both with the published notice)"
    )
    if not differences:
        title = f"plan {summary['plan_id']} verified {used}"
    else:
        lines = "\n".join(f"  {printable(d)}" for d in differences)
        failed = f"[red]plan {summary['plan_id']} FAILED verification: {len(differences)} difference(s)[/red]"
        title = f"{failed}\n{lines}\n{used}"
    if len(batch) > 1:
        title += f"\n{len(batch)} commitments for this item and as-of date:" + "".join(
            f"\n  {p['plan_id']} {p['state']} committed {str(p['committed_at'])[:19]}"
            + (f" (withdrawn: {printable(p['withdraw_reason'])})" if p["withdraw_reason"] else "")
            for p in batch
        )
    finish(state, {"command": "plan verify", **summary}, title, None, EXIT_OK if not differences else EXIT_DATA)


@plan_app.command("withdraw")
def plan_withdraw(
    ctx: typer.Context,
    plan: Annotated[str, typer.Argument(help="plan id of a committed, undrawn plan")],
    reason: Annotated[str, typer.Option(help="why (kept in the audit log and listed on the notice)")],
    actor: ActorOption,
) -> None:
    """Withdraw a committed plan before its draw, with a reason; only then can the item and date be committed again."""
    from pipelines.cli import EXIT_OK, exit_2_on, finish
    from pipelines.planning import TransitionRefused, withdraw_plan

    state: State = ctx.obj
    with exit_2_on(LookupError, ValueError, OSError), exit_2_on(TransitionRefused, prefix="refused: "):
        out = withdraw_plan(state.settings(), plan, reason, actor)
    title = f"plan {plan} withdrawn: {printable(out['reason'])}"
    finish(state, {"command": "plan withdraw", **out}, title, None, EXIT_OK)


@plan_app.command("export")
def plan_export(
    ctx: typer.Context,
    plan: Annotated[str, typer.Argument(help="plan id")],
    fmt: Annotated[str, typer.Option("--format", help="csv or xlsx")] = "csv",
    out: Annotated[Path | None, typer.Option(help="write a copy here (default: the plan folder's own file)")] = None,
) -> None:
    """The task list with Chinese headers (no credit class, score or inclusion probability)."""
    from pipelines.cli import EXIT_DATA, EXIT_OK, err, exit_2_on, finish
    from pipelines.planning import ExportTamperedError, export_tasks

    state: State = ctx.obj
    settings = state.settings()
    try:
        with exit_2_on(LookupError, ValueError, OSError):
            path = export_tasks(settings, plan, fmt, out)
    except ExportTamperedError as error:  # the data failed a check: exit 1, as verify does
        err.print(f"[red]{printable(error)}[/red]")
        raise typer.Exit(EXIT_DATA) from error
    finish(state, {"command": "plan export", "plan_id": plan, "path": str(path)}, f"task list: {path}", None, EXIT_OK)


@plan_app.command("record")
def plan_record(
    ctx: typer.Context,
    plan: Annotated[str, typer.Argument(help="plan id")],
    actor: ActorOption,
    task: Annotated[str | None, typer.Option(help="task id (or its number in the plan)")] = None,
    result: Annotated[str | None, typer.Option(help="result category, e.g. 未发现问题, 发现问题已责令改正")] = None,
    date: Annotated[
        str | None,
        typer.Option("--date", help="inspection date YYYY-MM-DD (default today; with --file: of rows without one)"),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            help="results file, CSV (UTF-8 or GBK) or .xlsx (e.g. the exported task list filled in): "
            "task_id, result, inspection_date (or 任务编号, 检查结果, 检查日期)"
        ),
    ] = None,
) -> None:
    """Record inspection results; unknown tasks, categories or dates exit 2 with what was expected."""
    import pandas as pd

    from pipelines.cli import EXIT_OK, exit_2_on, finish
    from pipelines.plan_results import record_results
    from pipelines.planning import ResultError, TransitionRefused, parse_day, read_result_file

    state: State = ctx.obj
    settings = state.settings()
    if (file is None) == (task is None):
        raise typer.BadParameter("give either --task with --result, or --file")
    with (
        exit_2_on(ResultError, LookupError, OSError),
        exit_2_on(TransitionRefused, prefix="refused: "),
    ):
        if file is not None:
            entries = read_result_file(file)
            try:
                default_date = parse_day(date) if date else None
            except ValueError as error:
                raise typer.BadParameter(str(error), param_hint="--date") from error
        else:
            if result is None:
                raise typer.BadParameter("--task needs --result")
            # The date is checked with the result (format, not before the plan, not in the future).
            entries = pd.DataFrame([{"task_id": task, "result": result, "inspection_date": date}])
            default_date = None
        # An entry without a date is dated today on the same clock as `plan status` and `publish`
        # (UTC); the later clock, latest_today(), is only the bound that refuses a future date.
        out = record_results(settings, plan, entries, actor, today=latest_today(),
                             default_date=default_date or dt.datetime.now(dt.UTC).date())
    title = f"recorded {out['recorded']} result(s) for plan {plan}; labels for training: {out['feedback']}"
    finish(state, {"command": "plan record", **out}, title, None, EXIT_OK)


@plan_app.command("publish")
def plan_publish(
    ctx: typer.Context,
    plan: Annotated[str, typer.Argument(help="plan id")],
    actor: ActorOption,
    on: Annotated[str | None, typer.Option(help="publication date (default today)")] = None,
) -> None:
    """Write the public notice (一公开: CSV and Excel) and mark the plan published."""
    from pipelines.cli import EXIT_OK, _parse_dates, exit_2_on, finish
    from pipelines.planning import ResultError, TransitionRefused, publish_plan

    state: State = ctx.obj
    settings = state.settings()
    day = _parse_dates([on])[0] if on else dt.datetime.now(dt.UTC).date()
    with exit_2_on(LookupError, ResultError, OSError), exit_2_on(TransitionRefused, prefix="refused: "):
        out = publish_plan(settings, plan, day, actor, today=latest_today())
    late = " [red](LATE: after the deadline)[/red]" if out["late"] else ""
    title = (
        f"published {out['entries']} result(s) of plan {plan} on {out['published_on']}; deadline "
        f"{out['publication_deadline']}{late}\n{out['csv']}\n{out['xlsx']}"
    )
    finish(state, {"command": "plan publish", **out}, title, None, EXIT_OK)


@plan_app.command("status")
def plan_status_command(
    ctx: typer.Context,
    plan: Annotated[str, typer.Argument(help="plan id")],
    on: Annotated[str | None, typer.Option(help="judge overdue as of this date (default today)")] = None,
) -> None:
    """State, results, hit rates (expected, realised), the HT estimate with its CI, the deadline."""
    from pipelines.cli import EXIT_OK, _parse_dates, exit_2_on, finish
    from pipelines.planning import plan_status

    state: State = ctx.obj
    settings = state.settings()
    day = _parse_dates([on])[0] if on else dt.datetime.now(dt.UTC).date()
    with exit_2_on(LookupError, ValueError):
        status = plan_status(settings, plan, day)
    table = Table("result", "tasks", title=f"plan {plan}: {status['state_zh']} ({status['state']})")
    for category, n in status["by_result"].items():
        table.add_row(category, str(n))
    lines = [
        f"commitment {status['commitment']}; public value {status['public_value']!r}; seed {status['seed']}",
        f"{status['recorded']} of {status['tasks']} task(s) recorded; {status['listed']:,} firms listed",
    ]
    if status["expected_hit_rate"] is not None:
        lines.append(
            f"expected hit rate {status['expected_hit_rate']:.3f} (uniform draw: {status['list_mean_risk']:.3f})"
        )
    if "estimate" in status:
        e = status["estimate"]
        lines.append(
            f"realised hit rate {e['realised_hit_rate']:.3f} ({e['violations']}/{e['inspected']}); violation rate "
            f"of the whole list: Hájek {e['hajek']:.3f} [95% CI {e['hajek_ci95'][0]:.3f}, {e['hajek_ci95'][1]:.3f}], "
            f"HT {e['ht']:.3f} [{e['ht_ci95'][0]:.3f}, {e['ht_ci95'][1]:.3f}]"
            + ("" if status["complete"] else " (results incomplete: read with care)")
        )
        overdue = " [red]OVERDUE[/red]" if status["overdue"] else ""
        published = f", published {status['published_on']}" if status["published_on"] else ", not published"
        lines.append(
            f"inspections ended {status['inspection_end']}; publish by {status['publication_deadline']}"
            f"{published}{overdue}"
        )
    finish(state, {"command": "plan status", **status}, "\n".join(lines), table, EXIT_OK)


@plan_app.command("list")
def plan_list(ctx: typer.Context) -> None:
    """Every plan in the operational database with its state."""
    from pipelines.cli import EXIT_OK, finish
    from pipelines.planning import list_plans

    state: State = ctx.obj
    plans = list_plans(state.settings())
    table = Table("plan", "as of", "item", "capacity", "state", title="plans")
    for p in plans:
        table.add_row(p["plan_id"], str(p["as_of"]), p["item"], str(p["capacity"]), p["state"])
    summary = {"command": "plan list", "plans": [{k: str(v) for k, v in p.items()} for p in plans]}
    finish(state, summary, f"{len(plans)} plan(s)", table, EXIT_OK)


@plan_app.command("audit")
def plan_audit(
    ctx: typer.Context, plan: Annotated[str | None, typer.Argument(help="plan id (default: every plan)")] = None
) -> None:
    """The audit log: who did what, when, with which inputs (its hash chain is checked first)."""
    from pipelines.cli import EXIT_DATA, EXIT_OK, exit_2_on, finish
    from pipelines.draw.plan import check_plan_id
    from pipelines.planning import store

    state: State = ctx.obj
    with exit_2_on(LookupError):
        plan = None if plan is None else check_plan_id(plan)
    ops = store(state.settings())
    chain = ops.verify_audit_chain()
    log = ops.audit_log(plan)
    table = Table("when", "who", "action", "plan", title="audit log")
    for e in log:
        table.add_row(str(e["at"])[:19], printable(e["actor"]), printable(e["action"]), printable(e["plan_id"] or ""))
    events = [{**e, "at": str(e["at"])} for e in log]
    summary = {"command": "plan audit", "audit_chain": chain.to_json(), "events": events}
    title = f"{len(log)} event(s); hash chain " + (
        "intact" if chain.ok else f"[red]BROKEN: {printable(chain.reason)}[/red] (rows from there on cannot be trusted)"
    )
    finish(state, summary, title, table, EXIT_OK if chain.ok else EXIT_DATA)


audit_app = typer.Typer(no_args_is_help=True, help="The audit log's hash chain.")


@audit_app.command("verify")
def audit_verify(ctx: typer.Context) -> None:
    """Walk the audit log's hash chain; exit 1 naming the first row that was edited, deleted or moved."""
    from pipelines.cli import EXIT_DATA, EXIT_OK, finish
    from pipelines.plan_verify import verify_audit

    state: State = ctx.obj
    chain = verify_audit(state.settings())
    if chain.ok:
        title = f"audit log intact: {chain.rows:,} row(s), head {chain.head} (keep this hash to detect a cut-off tail)"
    else:
        title = f"[red]audit log BROKEN: {printable(chain.reason)}[/red]"
    finish(state, {"command": "audit verify", **chain.to_json()}, title, None, EXIT_OK if chain.ok else EXIT_DATA)
