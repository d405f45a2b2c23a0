"""`regulens profile` for a jurisdiction with an event-keyed profile (`settings.profile_spec`).

Writes `lake/profiles/events/<run>/profile.parquet` (one row per event, features as of its date),
`lake/labels/events/<run>/labels.parquet` (the event's outcome) and
`lake/profiles/events/catalogue.json`, each published atomically like the city profiles.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from features.events import EventProfileSpec, event_features, event_profile_expr, labels_expr, load_spec
from pipelines.lake import current_version, new_version, publish_version
from pipelines.profiles.engines import Engine, connect
from pipelines.settings import Settings
from pipelines.storage import write_parquet_atomic, write_text_atomic


@dataclass
class EventProfileResult:
    events: int
    features: int
    labelled: int
    path: Path
    seconds: float


def event_spec(settings: Settings) -> EventProfileSpec:
    if settings.profile_spec is None:
        raise ValueError("this jurisdiction has no event-keyed profile (settings.profile_spec is not set)")
    return load_spec(settings.profile_spec)


def events_profile_dir(settings: Settings) -> Path:
    return settings.lake_dir / "profiles" / "events"


def events_labels_dir(settings: Settings) -> Path:
    return settings.lake_dir / "labels" / "events"


def build_event_profile(settings: Settings, engine: Engine = "duckdb") -> EventProfileResult:
    import time

    started = time.perf_counter()
    spec = event_spec(settings)
    # Capped like the city profile (settings.profile.duckdb_memory_gib), spilling under the lake.
    con = connect(engine, memory_gib=settings.profile.memory_gib(), spill_dir=settings.lake_dir / ".duckdb_spill")
    tables = {}
    for source in spec.sources:
        version = current_version(settings.lake_dir / "bronze" / source)
        if version is None:
            raise FileNotFoundError(f"bronze source {source!r} has no published version; run `regulens ingest` first")
        path = str(version / "*.parquet") if engine == "duckdb" else str(version)
        tables[source] = con.read_parquet(path, table_name=f"bronze_{source}")
    check_columns(spec, tables)
    catalogue = [f.describe() for f in event_features(spec)]
    text = json.dumps(catalogue, ensure_ascii=False, indent=1)
    write_text_atomic(text, events_profile_dir(settings) / "catalogue.json")
    run = new_version()
    profile_path = events_profile_dir(settings) / run / "profile.parquet"
    write_parquet_atomic(con.to_pyarrow(event_profile_expr(spec, tables).order_by(spec.events.id)), profile_path)
    labels_path = events_labels_dir(settings) / run / "labels.parquet"
    events = tables[spec.events.source]
    write_parquet_atomic(con.to_pyarrow(labels_expr(spec, events).order_by(spec.events.id)), labels_path)
    publish_version(events_profile_dir(settings), run)
    publish_version(events_labels_dir(settings), run)
    meta = pq.read_metadata(profile_path)
    return EventProfileResult(
        meta.num_rows, len(catalogue), pq.read_metadata(labels_path).num_rows, profile_path,
        time.perf_counter() - started,
    )


def read_event_profile(settings: Settings) -> tuple[Path, Path]:
    """The current event profile and labels files."""
    profile, labels = current_version(events_profile_dir(settings)), current_version(events_labels_dir(settings))
    if profile is None or labels is None:
        raise FileNotFoundError(f"no event profile under {events_profile_dir(settings)}; run `regulens profile` first")
    return profile / "profile.parquet", labels / "labels.parquet"


def check_columns(spec: EventProfileSpec, tables: dict) -> None:
    """Every column the spec names exists in its bronze source (a typo is a clear error, not an
    engine traceback)."""
    e = spec.events
    named: dict[str, set[str]] = {e.source: {e.id, e.date, spec.entity.key, spec.label.column,
                                             *(c for c in (e.latitude, e.longitude) if c),
                                             *(a.column for a in spec.attributes)}}
    if spec.history is not None:
        named[e.source] |= {o.column for o in spec.history.outcomes}
    for j in spec.joined:
        named.setdefault(j.source, set()).update(
            {j.by, *(c.column for c in j.columns), *(a.column for a in j.ages), *([j.known] if j.known else [])}
        )
    for g in spec.group_history:
        named.setdefault(g.source, set()).update({g.by, g.column})
    for n in spec.nearby:
        named.setdefault(n.source, set()).update({n.date, n.latitude, n.longitude})
    for s in spec.series:
        named.setdefault(s.source, set()).update({s.date, *(c.column for c in s.columns)})
    problems = [
        f"{source}: {sorted(columns - set(tables[source].columns))}"
        for source, columns in named.items()
        if columns - set(tables[source].columns)
    ]
    if problems:
        raise ValueError(
            f"the profile spec of {spec.entity.en or spec.entity.key} events names columns its sources do not have: "
            + "; ".join(problems)
        )
