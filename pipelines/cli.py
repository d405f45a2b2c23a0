"""The `regulens` command line. It parses arguments, loads settings and calls a flow; nothing else.

Exit codes: 0 success, 1 the data failed a check, 2 bad arguments or settings.
Every command ends with a short human summary, or with `--json` one JSON object on stdout.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipelines.cli_grade import grade_app
from pipelines.cli_integrity import integrity_app
from pipelines.cli_plan import audit_app, plan_app
from pipelines.settings import Settings, load_settings
from pipelines.textsafe import printable

EXIT_OK, EXIT_DATA, EXIT_USAGE = 0, 1, 2
# PySpark (imported by GX and the Spark engine) warns about pandas 3 on every import; the
# parity test is what tells us whether Spark and DuckDB agree.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Regulens: risk-weighted 双随机 supervision for market regulators."
)
err = Console(stderr=True, soft_wrap=True)


@contextmanager
def exit_2_on(*errors: type[Exception], prefix: str = "") -> Iterator[None]:
    """Turn these errors into one red line on stderr and exit code 2 (bad arguments or settings)."""
    try:
        yield
    except errors as error:
        err.print(f"[red]{prefix}{printable(error)}[/red]")
        raise typer.Exit(EXIT_USAGE) from error


class State:
    def __init__(self, data_home: Path | None, config: Path | None, as_json: bool) -> None:
        self.data_home, self.config, self.as_json = data_home, config, as_json

    def settings(self, *, creates_home: bool = False, **overrides: Any) -> Settings:
        """The settings, or exit 2 with the reason. Only the commands that make a data home
        (`generate`, `ingest`) may name one that does not exist yet: elsewhere a mistyped
        --data-home would quietly start an empty one."""
        with exit_2_on(ValidationError, FileNotFoundError, yaml.YAMLError, ValueError, prefix="bad settings: "):
            settings = load_settings(self.config, data_home=self.data_home, **overrides)
        home = settings.data_home
        if home.exists() and not home.is_dir():
            raise typer.BadParameter(f"{home} is a file; expected the data home folder", param_hint="--data-home")
        if not creates_home and not home.exists():
            raise typer.BadParameter(
                f"{home} does not exist; expected a data home made by `regulens generate` (the synthetic city) "
                "or `regulens ingest` (a jurisdiction's extracts)",
                param_hint="--data-home",
            )
        return settings


@app.callback()
def main_options(
    ctx: typer.Context,
    data_home: Annotated[
        Path | None, typer.Option(help="where all data lives (default data/, or REGULENS_DATA_HOME)")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="settings file (default ./regulens.yaml if present)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as one JSON object")] = False,
) -> None:
    ctx.obj = State(data_home, config, as_json)


@contextmanager
def progress_bar(state: State, label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress callback that draws a bar on a terminal and does nothing elsewhere."""
    if state.as_json or not err.is_terminal:
        yield lambda done, total: None
        return
    with Progress(
        TextColumn(label),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def finish(state: State, summary: dict[str, Any], title: str, table: Table | None, exit_code: int) -> None:
    """Print the summary (human or JSON) and exit with the given code."""
    summary = {"ok": exit_code == EXIT_OK, "exit_code": exit_code, **summary}
    if state.as_json:
        sys.stdout.write(json.dumps(summary, ensure_ascii=False, default=str) + "\n")
    else:
        out = Console()
        if table is not None:
            out.print(table)
        out.print(title)
    raise typer.Exit(exit_code)


@app.command()
def generate(
    ctx: typer.Context,
    enterprises: Annotated[int | None, typer.Option(min=100, help="enterprises in the synthetic city")] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="random seed; the same seed gives the same city")] = None,
    chunk_size: Annotated[int | None, typer.Option(min=100, help="enterprises simulated at a time")] = None,
) -> None:
    """Generate the synthetic city's department extracts (and its hidden ground truth)."""
    from pipelines.synthetic.flow import generate_city

    state: State = ctx.obj
    section = {
        k: v for k, v in {"enterprises": enterprises, "seed": seed, "chunk_size": chunk_size}.items() if v is not None
    }
    settings = state.settings(creates_home=True, generate=section)
    with progress_bar(state, "generating") as progress:
        result = generate_city(settings, progress)
    table = Table("source", "rows", title=f"synthetic city: {result.enterprises:,} enterprises, seed {result.seed}")
    for source, rows in result.rows_by_source.items():
        table.add_row(source, f"{rows:,}")
    finish(
        state,
        {
            "command": "generate",
            "enterprises": result.enterprises,
            "seed": result.seed,
            "rows_total": result.total_rows,
            "rows_by_source": result.rows_by_source,
            "defects_injected": result.defects_injected,
            "raw_dir": result.raw_dir,
        },
        f"generated {result.total_rows:,} rows in {len(result.rows_by_source)} sources under {result.raw_dir}"
        f" ({result.defects_injected} realistic defects injected into CSV extracts)",
        table,
        EXIT_OK,
    )


@app.command()
def ingest(
    ctx: typer.Context,
    source: Annotated[list[str] | None, typer.Option(help="only these sources (repeatable); default all")] = None,
    accept_drop: Annotated[
        list[str] | None,
        typer.Option(
            "--accept-drop",
            metavar="SOURCE",
            help="publish SOURCE although its rows fell below ingest.min_row_ratio of the published version"
            " (repeatable; needs --actor; recorded in the audit log and the ingest summary)",
        ),
    ] = None,
    actor: Annotated[str | None, typer.Option(help="who accepts the drop (--accept-drop), for the audit log")] = None,
) -> None:
    """Validate every extract against its contract; write bronze Parquet and the quarantine."""
    from pipelines.ingest.contracts import ContractError
    from pipelines.ingest.flow import DropAcceptance, ingest_all

    state: State = ctx.obj
    if accept_drop and not (actor or "").strip():
        raise typer.BadParameter(
            f"--accept-drop {' '.join(accept_drop)} needs --actor NAME: the audit log records who accepted the drop",
            param_hint="--actor",
        )
    accept = DropAcceptance(frozenset(accept_drop or ()), (actor or "").strip())
    settings = state.settings(creates_home=True)
    with (
        exit_2_on(ContractError, prefix="contract error: "),
        exit_2_on(FileNotFoundError),
        progress_bar(state, "ingesting") as progress,
    ):
        result = ingest_all(settings, sources=source, progress=progress, accept=accept)
    table = Table(
        "source", "rows in", "accepted", "quarantined", "status", title="ingest: rows in = accepted + quarantined"
    )
    for s in result.sources:
        status = "ok" if s.ok else f"[red]FAILED[/red]: {s.failure}"
        if s.accepted_drop:
            drop = s.accepted_drop
            status += f" (drop from {drop['previous_rows']:,} rows accepted by {drop['actor']})"
        table.add_row(s.source, f"{s.rows_in:,}", f"{s.rows_accepted:,}", f"{s.rows_quarantined:,}", status)
        for reason, count in list(s.reasons.items())[:3]:  # the commonest reasons, with their counts
            table.add_row("", "", "", f"[dim]{count:,}[/dim]", f"[dim]{reason}[/dim]")
    failed = [s.source for s in result.sources if not s.ok]
    title = (
        f"ingested {result.rows_accepted:,} rows, quarantined {result.rows_quarantined:,}; report {result.report_dir}"
    )
    if failed:
        title += f"\nsources that failed their check: {', '.join(failed)}"
    finish(state, {"command": "ingest", **result.to_json()}, title, table, EXIT_DATA if failed else EXIT_OK)


profile_app = typer.Typer(
    invoke_without_command=True,
    no_args_is_help=False,
    help="Build the enterprise profiles (一户一档) and labels, or show one enterprise's file.",
)
app.add_typer(profile_app, name="profile")
app.add_typer(grade_app, name="grade")
app.add_typer(integrity_app, name="integrity")
app.add_typer(plan_app, name="plan")
app.add_typer(audit_app, name="audit")
contracts_app = typer.Typer(no_args_is_help=True, help="A jurisdiction's data contracts.")
app.add_typer(contracts_app, name="contracts")


@contracts_app.command("build")
def contracts_build(
    ctx: typer.Context,
    spec: Annotated[Path, typer.Argument(help="the jurisdiction's sources.yaml")],
    out: Annotated[Path, typer.Option(help="folder for the <source>.json contracts")],
) -> None:
    """Write one GX contract per source described in SPEC (see pipelines/ingest/contract_builder.py)."""
    from pipelines.ingest.contract_builder import build_contracts

    state: State = ctx.obj
    with exit_2_on(ValueError, FileExistsError, NotADirectoryError):
        written = build_contracts(spec, out)
    finish(state, {"command": "contracts build", "contracts": [str(p) for p in written]},
           f"wrote {len(written)} contract(s) under {out}", None, EXIT_OK)


def _parse_dates(values: list[str]) -> list[dt.date]:
    """Dates written YYYY-MM-DD and nothing else (`20240701` is refused, as in results files)."""
    from pipelines.draw.results import parse_day

    try:
        return [parse_day(v) for v in values]
    except ValueError as error:
        raise typer.BadParameter(f"expected dates like 2024-07-01, got {values}") from error


@profile_app.callback()
def profile(
    ctx: typer.Context,
    as_of: Annotated[list[str] | None, typer.Option(help="as-of date, YYYY-MM-DD (repeatable)")] = None,
    engine: Annotated[str, typer.Option(help="duckdb (default) or spark")] = "duckdb",
    horizon: Annotated[int, typer.Option(min=1, help="label horizon in days")] = 180,
) -> None:
    """Build profiles and labels for each --as-of date."""
    if ctx.invoked_subcommand is not None:
        return
    from pipelines.profiles.flow import build_profiles

    if engine not in ("duckdb", "spark"):
        raise typer.BadParameter(f"expected duckdb or spark, got {engine!r}", param_hint="--engine")
    state: State = ctx.obj
    settings = state.settings()
    if settings.profile_spec is not None:
        if as_of:
            raise typer.BadParameter(
                f"{settings.jurisdiction} profiles each event as of its own date ({settings.profile_spec});"
                " --as-of does not apply",
                param_hint="--as-of",
            )
        _profile_events(state, settings, engine)
        return
    if not as_of:
        raise typer.BadParameter("give at least one --as-of date", param_hint="--as-of")
    dates = _parse_dates(as_of)
    with exit_2_on(FileNotFoundError, ValueError):
        results = build_profiles(settings, dates, engine=engine, horizon_days=horizon)  # type: ignore[arg-type]
    table = Table("as of", "enterprises", "features", "labelled (inspected in horizon)", title=f"profiles ({engine})")
    for r in results:
        table.add_row(r.as_of.isoformat(), f"{r.enterprises:,}", f"{r.features:,}", f"{r.labelled:,}")
    finish(
        state,
        {
            "command": "profile",
            "engine": engine,
            "horizon_days": horizon,
            "profiles": [
                {
                    "as_of": r.as_of.isoformat(),
                    "enterprises": r.enterprises,
                    "features": r.features,
                    "labelled": r.labelled,
                    "path": str(r.path),
                }
                for r in results
            ],
        },
        f"built {len(results)} profile(s) under {settings.lake_dir / 'profiles'}",
        table,
        EXIT_OK,
    )


def _profile_events(state: State, settings: Settings, engine: str) -> None:
    from pipelines.profiles.events_flow import build_event_profile

    with exit_2_on(FileNotFoundError, ValueError):
        r = build_event_profile(settings, engine=engine)  # type: ignore[arg-type]
    table = Table("events", "features", "labelled", "seconds", title=f"event profile ({engine})")
    table.add_row(f"{r.events:,}", f"{r.features:,}", f"{r.labelled:,}", f"{r.seconds:.1f}")
    payload = {"command": "profile", "engine": engine, "events": r.events, "features": r.features,
               "labelled": r.labelled, "path": str(r.path)}
    finish(state, payload, f"built the event profile at {r.path}", table, EXIT_OK)


@profile_app.command("show")
def profile_show(
    ctx: typer.Context,
    uscc: Annotated[str, typer.Argument(help="the enterprise's unified social credit code")],
    as_of: Annotated[str, typer.Option(help="as-of date of a built profile, YYYY-MM-DD")],
    items: Annotated[int, typer.Option(min=1, help="items shown per dimension (all with --json)")] = 10,
) -> None:
    """Print one enterprise's file: items by dimension, sub-scores, timeline."""
    from pipelines.profiles.document import enterprise_document
    from pipelines.profiles.engines import duckdb_config
    from pipelines.profiles.flow import read_profile

    state: State = ctx.obj
    settings = state.settings()
    (date,) = _parse_dates([as_of])
    with exit_2_on(FileNotFoundError, LookupError):
        doc = enterprise_document(
            read_profile(settings, date),
            settings.lake_dir / "bronze",
            uscc.strip().upper(),
            date,
            duckdb_config(memory_gib=settings.profile.memory_gib(), spill_dir=settings.lake_dir / ".duckdb_spill"),
        )
    table = Table("dimension", "sub-score (50 = city average)", "item", "value", title=f"一户一档 {uscc} as of {as_of}")
    for dim in doc["dimensions"]:
        shown = [i for i in dim["items"] if i["value"] not in (None, 0)][:items]
        for n, item in enumerate(shown):
            table.add_row(
                dim["name"] if n == 0 else "",
                f"{dim['subscore']}" if n == 0 else "",
                f"{item['zh']} ({item['name']})",
                str(item["value"]),
            )
    events = "\n".join(f"  {e['date']}  {e['event']}: {e['detail']}" for e in doc["timeline"][-15:])
    title = f"{doc['items']} items in {len(doc['dimensions'])} dimensions; latest events:\n{events}"
    finish(state, {"command": "profile show", **doc}, title, table, EXIT_OK)


# The model's commands live in their own module; it imports this one, so it is registered last.
from pipelines.cli_model import compare, explain, model_app, score, train  # noqa: E402

app.command()(train)
app.command()(score)
app.command()(explain)
app.command()(compare)
app.add_typer(model_app, name="model")


def main() -> None:
    """The `regulens` entry point. A folder or file the command cannot read or write (permissions,
    a full disk, a file where a folder should be) or a database it cannot use is one line and exit
    2, not a traceback; lake writes go to a new version and move CURRENT last, and the operational
    database writes in transactions, so what was published before stays usable."""
    from sqlalchemy.exc import OperationalError

    try:
        app()
    except OSError as error:
        where = f" {error.filename}" if error.filename else ""
        err.print(f"[red]cannot read or write{where}: {error.strerror or error}[/red]")
        sys.exit(EXIT_USAGE)
    except OperationalError as error:  # e.g. a read-only SQLite file, a PostgreSQL server not reachable
        err.print(f"[red]cannot use the database: {str(error.orig).strip()}[/red]")
        sys.exit(EXIT_USAGE)


if __name__ == "__main__":
    main()
