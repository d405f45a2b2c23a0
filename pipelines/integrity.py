"""`regulens integrity`: the 政务诚信 monitor's flows. Thin wiring of `features.integrity`,
the scorecard engine, `models.integrity` and the case store.

scan   score every government body as of a date; mark running cases past their deadline overdue;
       open a case for every new warning (orange/red by default) with a working-day deadline.
cases  list cases (optionally those overdue as of a date: read-only detection).
move   move a case along its lifecycle (refused moves raise `TransitionRefused`).
show   one body's credit file: who it is, its score history, its signals and their status, its cases.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pandas as pd

from features.integrity import integrity_features, integrity_profile, open_signals
from models.calendar import WorkingCalendar, latest_today, read_calendar
from models.integrity.cases import Case, CaseState, TransitionRefused, is_overdue, mark_overdue
from models.integrity.monitor import new_cases
from models.scorecard.engine import Scorecard, with_labels
from models.scorecard.schema import read_spec
from pipelines.integrity_store import CaseStore, default_url
from pipelines.lake import current_version
from pipelines.settings import Settings


@dataclass
class Monitor:
    """Everything a monitor flow needs, loaded and checked once."""

    store: CaseStore
    calendar: WorkingCalendar
    scorecard: Scorecard


def monitor(settings: Settings) -> Monitor:
    config = settings.integrity
    catalogue = {f.name: f for f in integrity_features()}
    spec = with_labels(read_spec(config.scorecard, catalogue), catalogue)
    unknown = sorted(set(config.deadline_working_days) - set(spec.grades))
    if unknown:
        raise ValueError(f"integrity.deadline_working_days names grade(s) {unknown}; expected some of {spec.grades}")
    return Monitor(
        store=CaseStore(config.db_url or default_url(settings.data_home)),
        calendar=read_calendar(config.calendar),
        scorecard=Scorecard(spec, id_columns=("body_uscc",)),
    )


def bronze(settings: Settings, source: str) -> pd.DataFrame:
    version = current_version(settings.lake_dir / "bronze" / source)
    if version is None:
        raise FileNotFoundError(f"no bronze {source}; run `regulens generate` and `regulens ingest` first")
    return pd.read_parquet(version)


@dataclass
class ScanResult:
    as_of: dt.date
    bodies: int
    by_grade: dict[str, int]
    opened: list[Case]
    marked_overdue: list[Case]
    scorecard_version: str

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "bodies": self.bodies,
            "by_grade": self.by_grade,
            "cases_opened": len(self.opened),
            "cases_marked_overdue": len(self.marked_overdue),
            "opened": [c.case_id for c in self.opened],
            "marked_overdue": [c.case_id for c in self.marked_overdue],
            "scorecard_version": self.scorecard_version,
        }


def scan(settings: Settings, as_of: dt.date) -> ScanResult:
    """Score every body as of `as_of`, mark late cases overdue, open cases for new warnings.
    A scan cannot be undone, so a date after today is refused (ValueError)."""
    today = latest_today()
    if as_of > today:
        raise ValueError(f"scan date {as_of} is after today ({today}); expected today or an earlier day")
    m = monitor(settings)
    bodies, signals = bronze(settings, "government_bodies"), bronze(settings, "integrity_signals")
    repairs = m.store.repairs()
    scored = m.scorecard.score(integrity_profile(bodies, signals, as_of, repairs))
    m.store.record_scores(as_of, scored)
    late = [mark_overdue(c, as_of) for c in m.store.cases() if is_overdue(c, as_of)]
    for case in late:
        m.store.save_step(case)
    opened = new_cases(
        scored,
        bodies,
        open_signals(signals, as_of, repairs),
        m.store.bodies_with_open_case(),
        as_of,
        settings.integrity.deadline_working_days,
        m.calendar,
    )
    m.store.add_cases(opened)
    counts = Counter(scored["grade"].astype(str))
    return ScanResult(
        as_of=as_of,
        bodies=len(scored),
        by_grade={g: counts.get(g, 0) for g in m.scorecard.spec.grades},
        opened=opened,
        marked_overdue=late,
        scorecard_version=m.scorecard.spec.version,
    )


def list_cases(settings: Settings, overdue_as_of: dt.date | None = None, body: str | None = None) -> list[Case]:
    """All cases, or those overdue as of a date (already marked, or running past their deadline)."""
    cases = monitor(settings).store.cases(body_uscc=body)
    if overdue_as_of is None:
        return cases
    return [c for c in cases if c.state is CaseState.OVERDUE or is_overdue(c, overdue_as_of)]


def move_case(
    settings: Settings, case_id: str, target: CaseState, actor: str, note: str = "", on: dt.date | None = None
) -> Case:
    """Move a case now, or record a step taken on an earlier day (`on`, entered after the fact).
    A step entered after the fact must fall between the case's last step and today, so the
    history reads in the order things happened."""
    store = monitor(settings).store
    if on is None:
        return store.transition(case_id, target, actor, dt.datetime.now(dt.UTC), note)
    today = latest_today()
    if on > today:
        raise TransitionRefused(f"case {case_id}: --on {on} is after today ({today}); expected the day it happened")
    case = store.get(case_id)
    last = max([case.opened_on, *(step.at.date() for step in case.history)])
    if on < last:
        raise TransitionRefused(
            f"case {case_id}: --on {on} is before its last step ({last}); expected a day from {last} to {today}"
        )
    return store.transition(case_id, target, actor, dt.datetime.combine(on, dt.time(12), tzinfo=dt.UTC), note)


def body_file(settings: Settings, body_uscc: str) -> dict[str, Any]:
    """One body's credit file (serialisable): identity, score history, signals with status, cases."""
    m = monitor(settings)
    bodies = bronze(settings, "government_bodies")
    match = bodies[bodies["body_uscc"] == body_uscc]
    if match.empty:
        raise LookupError(f"no government body {body_uscc!r} in the government_bodies source")
    info = match.iloc[0]
    signals = bronze(settings, "integrity_signals")
    signals = signals[signals["body_uscc"] == body_uscc].sort_values("signal_date")
    repaired_on = {
        (str(r["signal_type"]), pd.Timestamp(r["signal_date"]).date()): pd.Timestamp(r["repaired_on"]).date()
        for r in m.store.repairs().to_dict("records")
        if r["body_uscc"] == body_uscc
    }
    return {
        "body_uscc": body_uscc,
        "body_name": info["body_name"],
        "body_type": info["body_type"],
        "district": info["district"],
        "town": info["town"],
        "scores": m.store.scores(body_uscc),
        "signals": [_signal(s, repaired_on) for s in signals.to_dict("records")],
        "cases": [c.model_dump(mode="json") | {"state_zh": c.state_zh} for c in m.store.cases(body_uscc=body_uscc)],
    }


def _signal(s: dict[Any, Any], repaired_on: dict[tuple[str, dt.date], dt.date]) -> dict[str, Any]:
    date = pd.Timestamp(s["signal_date"]).date()
    repaired = repaired_on.get((str(s["signal_type"]), date))
    resolved = None if pd.isna(s["resolved_date"]) else pd.Timestamp(s["resolved_date"]).date()
    status = "repaired" if repaired else "resolved" if resolved else "open"
    return {
        "signal_type": s["signal_type"],
        "signal_date": date.isoformat(),
        "known_on": pd.Timestamp(s["knowledge_date"]).date().isoformat(),
        "amount_yuan": None if pd.isna(s["amount_yuan"]) else float(s["amount_yuan"]),
        "resolved_date": resolved.isoformat() if resolved else None,
        "repaired_on": repaired.isoformat() if repaired else None,
        "status": status,
    }
