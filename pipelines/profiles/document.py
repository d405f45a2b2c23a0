"""The enterprise file (一户一档) as a document: every item grouped by dimension, a sub-score per
dimension, and the event timeline, all as of a date. Serialisable data only; the CLI and the web
UI render it.

Dimension sub-score: for each feature with a stated risk direction, the enterprise's z-score
against all enterprises on the same as-of date (signed so that higher means riskier, clipped
to ±3, missing counted as the city mean); averaged over the dimension and mapped to 0-100
through the normal CDF. 50 is the city average; 84 is one standard deviation riskier.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import duckdb

from features.profile import all_features
from features.spec import DIMENSION_NAMES, DIMENSIONS, window_label
from pipelines.lake import current_version

# Events shown on the timeline: (source, date column, what happened, detail column).
TIMELINE = (
    ("registration_changes", "change_date", "登记变更", "change_item"),
    ("licences", "issue_date", "取得许可", "licence_type"),
    ("penalties", "decision_date", "行政处罚", "violation_type"),
    ("inspections", "inspection_date", "抽查检查", "result"),
    ("complaints", "received_date", "投诉举报", "category"),
    ("abnormal_list", "listed_date", "列入经营异常名录", "reason"),
    ("serious_dishonesty", "listed_date", "列入严重违法失信名单", "reason"),
    ("court_enforcement", "filed_date", "被执行立案", "case_no"),
    ("honours", "awarded_date", "获得荣誉", "honour"),
    ("quality_sampling", "sampling_date", "产品质量抽检", "result"),
)


def enterprise_document(
    profile_path: Path, bronze: Path, uscc: str, as_of: dt.date, duckdb_settings: dict[str, str] | None = None
) -> dict[str, Any]:
    """The file of one enterprise; raises LookupError if it is not in the profile. The city-wide
    statistics read the whole profile: `duckdb_settings` (engines.duckdb_config) cap its memory."""
    con = duckdb.connect(config=dict(duckdb_settings or {}))
    row = con.execute("SELECT * FROM read_parquet(?) WHERE uscc = ?", [str(profile_path), uscc]).fetchdf()
    if row.empty:
        raise LookupError(f"{uscc} is not in the profile as of {as_of} (not established or unknown code)")
    features = all_features()
    directional = [f for f in features if f.direction != 0 and not f.categorical]
    stats = _city_stats(con, profile_path, [f.name for f in directional])
    record = row.iloc[0].to_dict()
    groups: dict[str, list[dict[str, Any]]] = {d: [] for d in DIMENSIONS}
    for f in features:
        value = record.get(f.name)
        groups[f.dimension].append(
            {
                "name": f.name,
                "zh": f.zh,
                "en": f.en,
                "unit": f.unit,
                "window": window_label(f.window),
                "value": _plain(value),
            }
        )
    subscores = {}
    for d in DIMENSIONS:
        zs = []
        for f in directional:
            if f.dimension != d:
                continue
            mean, std = stats[f.name]
            value = record.get(f.name)
            if _missing(value) or not std:
                zs.append(0.0)
            else:
                zs.append(max(-3.0, min(3.0, f.direction * (float(value) - mean) / std)))  # type: ignore[arg-type]
        z = sum(zs) / len(zs) if zs else 0.0
        subscores[d] = round(50 * (1 + math.erf(z / math.sqrt(2))), 1)
    return {
        "uscc": uscc,
        "as_of": as_of.isoformat(),
        "items": sum(len(v) for v in groups.values()),
        "dimensions": [
            {"dimension": d, "name": DIMENSION_NAMES[d], "subscore": subscores[d], "items": groups[d]}
            for d in DIMENSIONS
        ],
        "timeline": timeline(con, bronze, uscc, as_of),
    }


def timeline(con: duckdb.DuckDBPyConnection, bronze: Path, uscc: str, as_of: dt.date) -> list[dict[str, Any]]:
    """Events known before the as-of date, oldest first."""
    events: list[dict[str, Any]] = []
    for source, date_col, what, detail in TIMELINE:
        version = current_version(bronze / source)
        if version is None:
            continue
        key = "entity_uscc" if source == "complaints" else "uscc"
        rows = con.execute(
            f"SELECT {date_col} AS d, CAST({detail} AS VARCHAR) AS detail FROM read_parquet(?) "
            f"WHERE {key} = ? AND knowledge_date < ? ORDER BY d",
            [str(version / "*.parquet"), uscc, as_of],
        ).fetchall()
        events.extend({"date": d.isoformat(), "source": source, "event": what, "detail": det} for d, det in rows)
    return sorted(events, key=lambda e: (e["date"], e["source"]))


def _city_stats(con: duckdb.DuckDBPyConnection, path: Path, names: list[str]) -> dict[str, tuple[float, float]]:
    exprs = ", ".join(f'avg("{n}"), stddev_pop("{n}")' for n in names)
    values = con.execute(f"SELECT {exprs} FROM read_parquet(?)", [str(path)]).fetchone() or ()
    return {n: (float(values[2 * i] or 0.0), float(values[2 * i + 1] or 0.0)) for i, n in enumerate(names)}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _plain(value: Any) -> Any:
    if _missing(value):
        return None
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
