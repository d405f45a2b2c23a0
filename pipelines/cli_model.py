"""`regulens train | score | explain | model ...`: the violation model's commands (parse, call a flow)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table

from pipelines.cli import EXIT_DATA, EXIT_OK, State, err, exit_2_on, finish
from pipelines.settings import Settings

model_app = typer.Typer(no_args_is_help=True, help="The model registry: list versions, promote through the gate.")


def _date(value: str | None, settings_dates: list[dt.date], option: str) -> dt.date:
    if value is None:
        if not settings_dates:
            raise typer.BadParameter("no profiles yet; run `regulens profile --as-of ...` first", param_hint=option)
        return settings_dates[-1]
    from pipelines.draw.results import parse_day

    try:
        return parse_day(value)
    except ValueError as error:
        raise typer.BadParameter(f"expected a date like 2025-07-01, got {value!r}", param_hint=option) from error


def _profiled(settings: Settings, horizon: int, command: str) -> list[dt.date]:
    """The as-of dates with a profile and labels for `horizon`, or exit 2 saying what is missing."""
    from pipelines.modelling.data import available_as_of, profiled_as_of

    if settings.profile_spec is not None:
        raise typer.BadParameter(
            f"{settings.jurisdiction} profiles each event as of its own date ({settings.profile_spec}); "
            f"`regulens {command}` works on as-of profiles; here `regulens train` scores the events after its cut-off",
        )
    dates = available_as_of(settings, horizon)
    if dates:
        return dates
    built = [d.isoformat() for d in profiled_as_of(settings)]
    if built and command in ("train", "compare"):
        raise typer.BadParameter(
            f"no labels for a {horizon}-day horizon on the profiled dates ({', '.join(built)}); "
            f"run `regulens profile --as-of DATE --horizon {horizon}` or give the horizon they were built with",
            param_hint="--horizon",
        )
    if built:
        raise typer.BadParameter(
            f"no profile with {horizon}-day labels to take as the latest; give --as-of, one of {', '.join(built)}",
            param_hint="--as-of",
        )
    raise typer.BadParameter("no profiles yet; run `regulens profile --as-of DATE ...` first")


def _as_of(settings: Settings, value: str | None, horizon: int, command: str) -> dt.date:
    """--as-of, or the latest date profiled with labels. A given date is checked by the flow
    (scoring needs only its profile), so only the default needs the labels."""
    if value is None or settings.profile_spec is not None:
        return _date(value, _profiled(settings, horizon, command), "--as-of")
    return _date(value, [], "--as-of")


def train(
    ctx: typer.Context,
    factors: Annotated[
        int | None, typer.Option(min=1, help="size of the short list of factors [default: 12; event-keyed: the spec's]")
    ] = None,
    folds: Annotated[
        int | None, typer.Option(min=1, help="walk-forward folds [default: 3; event-keyed: the spec's]")
    ] = None,
    horizon: Annotated[int, typer.Option(min=1, help="label horizon in days (as profiled)")] = 180,
    label_policy: Annotated[str, typer.Option(help="naive | random_ipw | random_ipw_complaints")] = "random_ipw",
    before: Annotated[
        str | None,
        typer.Option(help="event-keyed jurisdictions: train on events before this date, score the rest"
                     " [default: the spec's training.cutoff]"),
    ] = None,
    population: Annotated[
        str | None, typer.Option(help="event-keyed jurisdictions: train only on events with COLUMN=VALUE")
    ] = None,
) -> None:
    """Train the violation model on every profiled as-of date; register it as `challenger`.

    In a jurisdiction with an event-keyed profile (Chicago), train with temporal validation on the
    events before --before, score the events from that date on, and compare with the
    jurisdiction's benchmark score on the same rows."""
    state: State = ctx.obj
    if state.settings().profile_spec is not None:
        _train_events(state, before, population, factors, folds)
        return
    from models.labels import LabelPolicy
    from models.registry import follow_moved_home
    from pipelines.modelling.data import load_frame
    from pipelines.modelling.tracking import load_catalogue, log_training
    from pipelines.modelling.train import TrainOptions
    from pipelines.modelling.train import train as run_training

    settings = state.settings()
    for given, option in ((before, "--before"), (population, "--population")):
        if given is not None:
            raise typer.BadParameter(
                f"only for event-keyed jurisdictions (a profile_spec in the settings); {settings.jurisdiction} "
                "trains on every profiled as-of date and keeps the latest as its holdout",
                param_hint=option,
            )
    _profiled(settings, horizon, "train")
    try:
        policy = LabelPolicy(label_policy)
    except ValueError as error:
        raise typer.BadParameter(
            f"expected one of {[p.value for p in LabelPolicy]}, got {label_policy!r}", param_hint="--label-policy"
        ) from error
    options = TrainOptions(horizon_days=horizon, n_folds=folds or 3, factors=factors or 12, label_policy=policy)
    with exit_2_on(FileNotFoundError, ValueError):
        follow_moved_home(settings.data_home / "mlflow")  # a registry problem is said before training, not after
        closed = _close_interrupted(settings)
        result = run_training(settings, options, progress=lambda m: err.print(f"[dim]{m}[/dim]"))
    holdout_X = load_frame(settings, [result.holdout_fold.test], horizon, columns=result.factors)[result.factors]
    with exit_2_on(FileNotFoundError):
        logged = log_training(settings, result, holdout_X, load_catalogue(settings))
    head = result.report.headline()
    table = Table("scorer", "capacity", "selected", "hit rate (est.)", "lift", "saved", "true hit", "oracle ratio",
                  title=f"holdout {result.holdout_fold.test}")
    for row in result.report.capacity.itertuples():
        truth = getattr(row, "true_hit_rate", float("nan")), getattr(row, "oracle_ratio", float("nan"))
        table.add_row(str(row.scorer), f"{row.capacity:.0%}", f"{row.selected:,}", f"{row.hit_rate:.3f}",
                      f"{row.lift:.2f}", f"{row.inspections_saved:.0%}", f"{truth[0]:.3f}", f"{truth[1]:.3f}")
    summary = {
        "command": "train", **logged, "factors": result.factors, "stability": result.stability,
        "holdout_as_of": result.holdout_fold.test.isoformat(), "snapshot_id": result.snapshot.snapshot_id,
        "headline_at_5pct": head, "factor_curve": result.curve.to_dict(orient="records"), "seconds": result.seconds,
        "interrupted_runs_closed": closed,
    }
    title = (f"registered {logged['model_uri']} as challenger; {len(result.factors)} factors (stability "
             f"{result.stability:.2f}); holdout AUC {head['auc']:.3f}; `regulens model promote` to make it champion"
             + _closed_note(closed))
    finish(state, summary, title, table, EXIT_OK)


def _train_events(
    state: State, before: str | None, population: str | None, factors: int | None, folds: int | None
) -> None:
    from models.registry import follow_moved_home
    from pipelines.modelling.benchmark import compare_with_benchmark
    from pipelines.modelling.events import load_events, options_from_spec, train_events
    from pipelines.modelling.events_tracking import (
        benchmark_frame,
        log_event_training,
        save_benchmark,
        save_event_scores,
    )
    from pipelines.profiles.events_flow import event_spec

    settings = state.settings()
    cutoff = _date(before, [], "--before") if before is not None else None
    pop = None
    if population is not None:
        if "=" not in population:
            raise typer.BadParameter(f"expected COLUMN=VALUE, got {population!r}", param_hint="--population")
        column, value = population.split("=", 1)
        pop = (column.strip(), value.strip())
    with exit_2_on(FileNotFoundError, ValueError):
        follow_moved_home(settings.data_home / "mlflow")  # a registry problem is said before training, not after
        closed = _close_interrupted(settings)
        options = options_from_spec(event_spec(settings), cutoff=cutoff, n_folds=folds, factors=factors, population=pop)
        result = train_events(settings, options)
        report = None
        if result.spec.benchmark is not None:
            labels = load_events(settings, result.spec)[[result.spec.events.id, result.spec.label.name]]
            report = compare_with_benchmark(settings, result.spec, result.scores, labels)
    scores_path = save_event_scores(settings, result)
    if report is not None:
        save_benchmark(settings, report, options.describe())
    with exit_2_on(FileNotFoundError):
        logged = log_event_training(settings, result, report)
    table = None
    summary: dict = {"command": "train", **logged, "options": options.describe(), "cv_auc": result.cv_auc,
                     "factors": result.factors, "rows": result.rows, "scores": str(scores_path),
                     "seconds": result.seconds, "interrupted_runs_closed": closed}
    if report is not None:
        shown = benchmark_frame(report)
        unscored = f"; {report.missing_scores:,} benchmark rows not compared (before the cut-off or unscored)"
        table = Table(*shown.columns, title=f"benchmark: {report.name}, the same {len(report.rows):,} rows"
                      + (unscored if report.missing_scores else ""))
        for row in shown.itertuples(index=False):
            table.add_row(*(f"{v:,}" if isinstance(v, int) else str(v) for v in row))
        summary["benchmark"] = report.table.to_dict(orient="records")
        summary["label_agreement"] = report.label_agreement
        summary["benchmark_rows_not_compared"] = report.missing_scores
    title = (f"registered {logged['model_uri']} as challenger; {len(result.factors)} factors; cross-validated AUC "
             f"{result.cv_auc:.3f}; scored {len(result.scores):,} events from {options.cutoff} ({scores_path})"
             + _closed_note(closed))
    finish(state, summary, title, table, EXIT_OK)


def _close_interrupted(settings: Settings) -> list[str]:
    """Before training: runs left RUNNING by a killed trainer on this host become FAILED (run_owner)."""
    from models.registry import connect
    from pipelines.modelling.run_owner import close_interrupted_runs

    return close_interrupted_runs(connect(settings.data_home / "mlflow"), "regulens train")


def _closed_note(closed: list[str]) -> str:
    return f"; closed {len(closed)} interrupted run(s) as FAILED: {', '.join(closed)}" if closed else ""


def score(
    ctx: typer.Context,
    as_of: Annotated[str | None, typer.Option(help="as-of date of a built profile (default: the latest)")] = None,
    model: Annotated[str, typer.Option(help="alias (champion, challenger) or version number")] = "champion",
) -> None:
    """Score every registered enterprise: probability, rank and percentile, with the model version."""
    from pipelines.modelling.scoring import score as run_scoring

    state: State = ctx.obj
    settings = state.settings()
    date = _as_of(settings, as_of, 180, "score")
    with exit_2_on(FileNotFoundError, LookupError):
        out = run_scoring(settings, date, model)
    finish(state, {"command": "score", **out},
           f"scored {out['enterprises']:,} enterprises on {out['as_of']} with model version {out['model_version']}; "
           f"{out['path']}", None, EXIT_OK)


def explain(
    ctx: typer.Context,
    uscc: Annotated[str, typer.Argument(help="the enterprise's unified social credit code")],
    as_of: Annotated[str | None, typer.Option(help="as-of date of a built profile (default: the latest)")] = None,
    model: Annotated[str, typer.Option(help="alias (champion, challenger) or version number")] = "champion",
    top: Annotated[int, typer.Option(min=1, help="reason codes shown")] = 8,
) -> None:
    """Reason codes for one enterprise: the factors that raised or lowered its risk, in words."""
    from pipelines.modelling.scoring import explain as run_explain

    state: State = ctx.obj
    settings = state.settings()
    date = _as_of(settings, as_of, 180, "explain")
    with exit_2_on(FileNotFoundError, LookupError):
        out = run_explain(settings, uscc.strip().upper(), date, model, top)
    table = Table("理由 (reason)", "contribution (log-odds)", title=f"{uscc} on {out['as_of']}: "
                  f"violation probability {out['probability']:.3f} (model version {out['model_version']})")
    for r in out["reasons"]:
        table.add_row(r["text"], f"{r['contribution']:+.3f}")
    finish(state, {"command": "explain", **out}, f"base log-odds {out['base_log_odds']:+.3f}", table, EXIT_OK)


@model_app.command("list")
def model_list(ctx: typer.Context) -> None:
    """Registered versions with their aliases, holdout and promotion decisions."""
    from models.registry import MODEL_NAME, connect
    from pipelines.modelling.run_owner import close_interrupted_runs

    state: State = ctx.obj
    with exit_2_on(FileNotFoundError):
        client = connect(state.settings().data_home / "mlflow")
    closed = close_interrupted_runs(client, "regulens model list")
    versions = client.search_model_versions(f"name = '{MODEL_NAME}'")
    table = Table("version", "aliases", "holdout", "auc", "decision", title=MODEL_NAME)
    rows = []
    for found in sorted(versions, key=lambda v: int(v.version)):
        v = client.get_model_version(MODEL_NAME, str(found.version))  # search results carry no aliases
        auc = client.get_run(str(v.run_id)).data.metrics.get("auc", float("nan"))
        rows.append({"version": str(v.version), "aliases": list(v.aliases),
                     "holdout_as_of": v.tags.get("holdout_as_of"), "auc": auc,
                     "promotion_decision": v.tags.get("promotion_decision")})
        table.add_row(str(v.version), ", ".join(v.aliases), v.tags.get("holdout_as_of", ""), f"{auc:.3f}",
                      v.tags.get("promotion_decision", ""))
    finish(state, {"command": "model list", "versions": rows, "interrupted_runs_closed": closed},
           f"{len(rows)} version(s)" + _closed_note(closed), table, EXIT_OK)


@model_app.command("promote")
def model_promote(
    ctx: typer.Context,
    version: Annotated[str, typer.Option(help="the version or alias to promote")] = "challenger",
    min_improvement: Annotated[float, typer.Option(min=0, help="required gain in holdout AUC")] = 0.0,
    max_fairness_flags: Annotated[int | None, typer.Option(min=0, help="absolute limit on flagged groups")] = None,
) -> None:
    """Make the challenger the champion, only if it beats it on the same holdout and is no less fair."""
    from pipelines.modelling.events_gate import promote_events
    from pipelines.modelling.scoring import promote

    state: State = ctx.obj
    settings = state.settings()
    run_gate = promote_events if settings.profile_spec is not None else promote
    with exit_2_on(FileNotFoundError, LookupError, ValueError):
        d = run_gate(settings, version, min_improvement, max_fairness_flags)
    summary = {"command": "model promote", "promoted": d.promote, "reasons": d.reasons,
               "challenger_version": d.challenger_version, "champion_version": d.champion_version,
               "challenger": d.challenger, "champion": d.champion}
    if d.promote:
        title = f"version {d.challenger_version} is now the champion (was {d.champion_version or 'none'})"
    else:
        title = f"refused to promote version {d.challenger_version}: " + "; ".join(d.reasons)
    finish(state, summary, title, None, EXIT_OK if d.promote else EXIT_DATA)


def compare(
    ctx: typer.Context,
    as_of: Annotated[str | None, typer.Option(help="holdout as-of date with labels (default: the latest)")] = None,
    model: Annotated[str, typer.Option(help="alias (champion, challenger) or version number")] = "champion",
    horizon: Annotated[int, typer.Option(min=1, help="label horizon in days (as profiled)")] = 180,
) -> None:
    """The scorecards and the violation model side by side: AUC, hit rate at capacity, by grade."""
    from pipelines.modelling.compare import compare as run_compare

    state: State = ctx.obj
    settings = state.settings()
    date = _as_of(settings, as_of, horizon, "compare")
    with exit_2_on(FileNotFoundError, LookupError):
        result = run_compare(settings, date, horizon, model)
    truth = "true_hit_rate_5%" in result.scorers.columns
    table = Table("scorer", "AUC", "AP", "hit 1%", "hit 5%", "hit 10%", *(["true hit 5%"] if truth else []),
                  title=f"holdout {date}: scorecards and model side by side (hit rates from random draws, 1/pi)")
    for row in result.scorers.to_dict(orient="records"):
        table.add_row(str(row["scorer"]), f"{row['auc']:.3f}", f"{row['average_precision']:.3f}",
                      f"{row['hit_rate_1%']:.3f}", f"{row['hit_rate_5%']:.3f}", f"{row['hit_rate_10%']:.3f}",
                      *([f"{row['true_hit_rate_5%']:.3f}"] if truth else []))
    grades = "\n".join(
        f"  {r['grade']}: {r['enterprises']:,} enterprises, hit rate {r['hit_rate']:.3f}, model AUC within grade "
        f"{r['model_auc_within_grade']:.3f}, hit rate of the model's top 10% of the grade "
        f"{r['hit_rate_model_top10pct_of_grade']:.3f}"
        for r in result.by_grade.to_dict(orient="records")
    )
    summary = {"command": "compare", "as_of": date.isoformat(), "scorers": result.scorers.to_dict(orient="records"),
               "by_grade": result.by_grade.to_dict(orient="records")}
    finish(state, summary, f"by default grade:\n{grades}", table, EXIT_OK)
