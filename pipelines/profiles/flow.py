"""`regulens profile`: build the enterprise profiles and labels for as-of dates.

Profiles land in `lake/profiles/as_of=YYYY-MM-DD/<run>/profile.parquet` and labels in
`lake/labels/as_of=YYYY-MM-DD/h=<horizon>/<run>/labels.parquet`, each published atomically;
the feature catalogue (name, descriptions, unit, window, dimension) goes to
`lake/profiles/catalogue.json`.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pyarrow.parquet as pq

from features.labels import labels_expr
from features.profile import all_features, profile_expr
from pipelines.lake import current_version, new_version, publish_version
from pipelines.profiles.engines import Engine, bronze_tables, connect
from pipelines.settings import Settings
from pipelines.storage import write_parquet_atomic, write_text_atomic


@dataclass
class ProfileResult:
    as_of: dt.date
    enterprises: int
    features: int
    labelled: int
    path: Path


def profile_dir(settings: Settings, as_of: dt.date) -> Path:
    return settings.lake_dir / "profiles" / f"as_of={as_of.isoformat()}"


def labels_dir(settings: Settings, as_of: dt.date, horizon_days: int) -> Path:
    return settings.lake_dir / "labels" / f"as_of={as_of.isoformat()}" / f"h={horizon_days}"


def build_profiles(
    settings: Settings, as_of_dates: list[dt.date], engine: Engine = "duckdb", horizon_days: int = 180
) -> list[ProfileResult]:
    for as_of in as_of_dates:
        # Labels need the whole horizon inside the extract: a later violation must not read as "clean".
        if as_of + dt.timedelta(days=horizon_days) > settings.extract_date:
            raise ValueError(
                f"as-of {as_of} + {horizon_days} days runs past the extract date {settings.extract_date};"
                " choose an earlier as-of date or a shorter --horizon"
            )
    # The whole profile is one query; held in memory at once, its 1,003 aggregates per enterprise
    # took 17.7 GiB at a million enterprises. Under a 9 GiB cap DuckDB took as long (BENCHMARKS.md).
    con = connect(engine, memory_gib=settings.profile.memory_gib(), spill_dir=settings.lake_dir / ".duckdb_spill")
    tables = bronze_tables(con, settings.lake_dir / "bronze", engine)
    tables["inspections"] = with_feedback(tables["inspections"], settings)
    catalogue = [f.describe() for f in all_features()]
    write_text_atomic(
        json.dumps(catalogue, ensure_ascii=False, indent=1), settings.lake_dir / "profiles" / "catalogue.json"
    )
    results = []
    for as_of in as_of_dates:
        run = new_version()
        out = profile_dir(settings, as_of)
        path = out / run / "profile.parquet"
        _write(con, engine, profile_expr(tables, as_of).order_by("uscc"), path)
        publish_version(out, run)
        lab_out = labels_dir(settings, as_of, horizon_days)
        lab_path = lab_out / run / "labels.parquet"
        _write(con, engine, labels_expr(tables["inspections"], as_of, horizon_days).order_by("uscc"), lab_path)
        publish_version(lab_out, run)
        meta = pq.read_metadata(path)
        results.append(
            ProfileResult(as_of, meta.num_rows, meta.num_columns - 2, pq.read_metadata(lab_path).num_rows, path)
        )
    return results


def with_feedback(inspections: ir.Table, settings: Settings) -> ir.Table:
    """The department's inspections plus the results recorded for our own plans
    (`lake/feedback/<plan>/results.parquet`) that it does not hold yet: each a random draw
    (双随机抽查) with its inclusion probability, so the next labels and features count it and
    training weights it by 1/pi. Nothing changes when no plan has recorded results."""
    from pipelines.plan_results import feedback_as_inspections  # the plan cycle imports this module

    feedback = feedback_as_inspections(settings)
    if feedback.empty:
        return inspections
    schema = inspections.schema()
    frame = feedback.assign(
        inspector_1=None, inspector_2=None, _source_file="lake/feedback", _source_row=range(len(feedback))
    )
    recorded = ibis.memtable(frame[list(schema.names)]).cast(schema)
    new = recorded.filter(~recorded.inspection_id.isin(inspections.inspection_id))
    return inspections.union(new)


def _write(con: object, engine: Engine, expr: object, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if engine == "duckdb":
        tmp = path.with_name(f".{path.name}.tmp")
        con.to_parquet(expr, tmp)  # type: ignore[attr-defined]
        tmp.replace(path)
    else:
        write_parquet_atomic(expr.to_pyarrow(), path)  # type: ignore[attr-defined]


def read_profile(settings: Settings, as_of: dt.date) -> Path:
    version = current_version(profile_dir(settings, as_of))
    if version is None:
        raise FileNotFoundError(f"no profile for as-of {as_of}; run `regulens profile --as-of {as_of}` first")
    return version / "profile.parquet"
