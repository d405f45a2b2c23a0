"""Reading what the models need from the lake: profiles joined with labels, and the ground truth.

Profiles and labels are read through their `CURRENT` versions; the version names become the
data snapshot id that every MLflow run records, so a run can be traced to the exact files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from pipelines.lake import current_version
from pipelines.profiles.flow import labels_dir, profile_dir
from pipelines.settings import Settings

LABEL_COLUMNS = [
    "inspections", "violation_found", "first_inspection_type", "random_draw_found", "inclusion_probability"
]
GROUP_COLUMNS = ["district", "industry", "firm_size"]
# Headcount bands of the latest year's social-insurance records (the profile's proxy for size).
SIZE_SOURCE = "social_insurance_insured_headcount_max_365d"


@dataclass(frozen=True)
class Snapshot:
    """The exact profile and label versions a run read, and a short id over all of them."""

    horizon_days: int
    versions: dict[str, dict[str, str]]

    @property
    def snapshot_id(self) -> str:
        blob = json.dumps({"h": self.horizon_days, "v": self.versions}, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def load_catalogue(settings: Settings) -> dict[str, dict]:
    """The feature catalogue written beside the profiles: name -> zh, en, unit, dimension, direction."""
    path = settings.lake_dir / "profiles" / "catalogue.json"
    return {f["name"]: f for f in json.loads(path.read_text(encoding="utf-8"))}


def risk_directions(catalogue: dict[str, dict], names: Iterable[str] | None = None) -> dict[str, int]:
    """Each factor's catalogue risk direction (+1: more is riskier, -1: less, 0: none), for
    LightGBM's monotone constraints; `names` defaults to every factor of the catalogue."""
    return {c: int(catalogue.get(c, {}).get("direction", 0)) for c in (catalogue if names is None else names)}


def profiled_as_of(settings: Settings) -> list[dt.date]:
    """As-of dates that have a published profile, labelled or not."""
    root = settings.lake_dir / "profiles"
    folders = sorted(root.glob("as_of=*")) if root.is_dir() else []
    return [dt.date.fromisoformat(d.name.removeprefix("as_of=")) for d in folders if current_version(d)]


def available_as_of(settings: Settings, horizon_days: int) -> list[dt.date]:
    """As-of dates that have both a published profile and published labels for this horizon."""
    return [d for d in profiled_as_of(settings) if current_version(labels_dir(settings, d, horizon_days))]


def _paths(settings: Settings, as_of: dt.date, horizon_days: int) -> tuple[Path, Path]:
    prof = current_version(profile_dir(settings, as_of))
    lab = current_version(labels_dir(settings, as_of, horizon_days))
    if prof is None or lab is None:
        raise FileNotFoundError(
            f"no profile or labels for as-of {as_of} (h={horizon_days}); run `regulens profile --as-of {as_of}`"
        )
    return prof / "profile.parquet", lab / "labels.parquet"


def snapshot(settings: Settings, dates: list[dt.date], horizon_days: int) -> Snapshot:
    versions = {}
    for d in dates:
        prof, lab = _paths(settings, d, horizon_days)
        versions[d.isoformat()] = {"profile": prof.parent.name, "labels": lab.parent.name}
    return Snapshot(horizon_days, versions)


def load_frame(
    settings: Settings,
    dates: list[dt.date],
    horizon_days: int,
    labelled_only: bool = False,
    columns: list[str] | None = None,
) -> pd.DataFrame:
    """Profiles of `dates` left-joined with their labels; registered enterprises only (the list a
    draw could choose from). `labelled_only` keeps inspected rows (what training needs)."""
    parts = []
    con = duckdb.connect()
    for d in dates:
        prof, lab = _paths(settings, d, horizon_days)
        select = "p.*" if columns is None else ", ".join(f'p."{c}"' for c in dict.fromkeys(["uscc", "as_of", *columns]))
        where = "p.is_registered = 1" + (" AND l.uscc IS NOT NULL" if labelled_only else "")
        labels = ", ".join(f"l.{c}" for c in LABEL_COLUMNS)
        sql = (
            f"SELECT {select}, {labels} FROM read_parquet('{prof}') p "
            f"LEFT JOIN read_parquet('{lab}') l USING (uscc) WHERE {where} ORDER BY p.uscc"
        )
        parts.append(con.sql(sql).df())
    con.close()
    frame = pd.concat(parts, ignore_index=True)
    frame["as_of"] = pd.to_datetime(frame["as_of"]).dt.date
    return frame


def group_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """The audit's groups: district, industry (2-digit code) and a firm-size band by headcount."""
    headcount = frame[SIZE_SOURCE] if SIZE_SOURCE in frame.columns else pd.Series(np.nan, index=frame.index)
    size = pd.cut(headcount, [-np.inf, 0, 9, 99, np.inf], labels=["无参保", "1-9人", "10-99人", "100人以上"])
    def text(name: str) -> pd.Series:
        if name not in frame.columns:
            return pd.Series("(missing)", index=frame.index, dtype="string")
        return frame[name].astype("string").fillna("(missing)")

    return pd.DataFrame(
        {
            "district": text("district"),
            "industry": text("industry_code"),
            "firm_size": size.astype("string").fillna("无参保"),
        },
        index=frame.index,
    )


def ground_truth(settings: Settings, as_of: dt.date, horizon_days: int) -> pd.Series | None:
    """The synthetic city's true violation propensity over the label window (mean over its
    quarters), indexed by uscc; None for a real jurisdiction, which has no ground truth."""
    folder = settings.ground_truth_dir / "violations"
    if not folder.is_dir():
        return None
    end = as_of + dt.timedelta(days=horizon_days)
    sql = (
        f"SELECT uscc, avg(propensity) AS truth FROM read_parquet('{folder}/*.parquet') "
        f"WHERE quarter >= TIMESTAMP '{as_of}' AND quarter < TIMESTAMP '{end}' GROUP BY uscc"
    )
    truth = duckdb.execute(sql).df()
    return truth.set_index("uscc")["truth"] if len(truth) else None
