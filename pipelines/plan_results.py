"""Inspection results: recorded all or nothing, and kept as labels for the next training.

`record_results` checks every entry (task of the plan, result category of the item, inspection date
between the plan's as-of date and today) before it stores any, then stores them in the operational
database and rewrites `lake/feedback/<plan id>/results.parquet` in the same transaction: both or
neither. `feedback_as_inspections` hands every plan's results to the profile build as recorded
random draws with their inclusion probabilities, so the next model weights them by 1/π.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from pipelines.draw.lifecycle import TransitionRefused, check_actor
from pipelines.draw.results import ResultError, parse_day
from pipelines.faults import fault_point
from pipelines.planning import ItemCatalogue, PlanWriteError, open_plan, read_items, store
from pipelines.settings import Settings
from pipelines.storage import write_parquet_atomic


def record_results(
    settings: Settings,
    plan_id: str,
    entries: pd.DataFrame,
    actor: str,
    *,
    today: dt.date,
    default_date: dt.date | None = None,
) -> dict[str, Any]:
    """Validate every entry (all or nothing), then store them and refresh the feedback labels in one
    transaction: if the labels file cannot be written, nothing is stored and the same results can be
    recorded again. `default_date` (default `today`) dates the entries that carry no date."""
    actor = check_actor(actor, plan_id)
    catalogue = read_items(settings.plan.items)
    ops, plan = open_plan(settings, plan_id)
    tasks = {t["task_id"]: t for t in ops.tasks(plan_id)}
    if not tasks:
        raise TransitionRefused(f"plan {plan_id} is {plan['state']}: nothing to record before it is drawn")
    done = {r["task_id"] for r in ops.results(plan_id)}
    days = (plan["as_of"], today)
    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    for n, entry in enumerate(entries.to_dict("records"), start=1):
        where = f"row {n}" if len(entries) > 1 else "result"
        row, wrong = _check_entry(entry, plan_id, tasks, done, catalogue, days, default_date or today)
        problems += [f"{where}: {w}" for w in wrong]
        if row is not None:
            done.add(row["task_id"])  # a second row for the same task is refused like a stored one
            rows.append(row)
    if problems:
        raise ResultError("\n".join(problems))
    if not rows:
        raise ResultError("no result given; expected --task and --result, or --file")
    path = feedback_path(settings, plan_id)
    written: list[bool] = []

    def write(results: list[dict[str, Any]]) -> None:
        try:
            _write_feedback(path, plan_id, tasks, results)
        except OSError as error:
            raise PlanWriteError(
                f"cannot write the training labels {path} ({error.strerror or error}); nothing was recorded: "
                f"make the folder writable and record again"
            ) from error
        written.append(True)
        fault_point("record:after_feedback")

    try:
        ops.record_results(plan_id, rows, actor, then=write)
    except Exception:
        if written:  # the commit failed after the file was replaced: rebuild it from what is stored
            with contextlib.suppress(Exception):
                write_feedback(settings, plan_id)
        raise
    fault_point("record:after_database")
    return {"plan_id": plan_id, "recorded": len(rows), "of_tasks": len(tasks), "feedback": str(path)}


def _check_entry(
    entry: Mapping[Hashable, Any],
    plan_id: str,
    tasks: dict[str, dict[str, Any]],
    done: set[str],
    catalogue: ItemCatalogue,
    days: tuple[dt.date, dt.date],
    default_date: dt.date,
) -> tuple[dict[str, Any] | None, list[str]]:
    """(the row to store, or None; what is wrong with the entry).

    An inspection falls between the plan's as-of date (its list is as of that day, so no firm on it
    was drawn earlier) and today (`days`)."""
    task_id = _task_key(_text(entry["task_id"]), plan_id)
    category = _text(entry["result"])
    wrong: list[str] = []
    if task_id not in tasks:
        ids = sorted(tasks)
        what = f"unknown task {task_id!r}" if task_id else "no task id"
        wrong.append(f"{what}; expected a task of {plan_id}, {ids[0]} .. {ids[-1]}")
    elif task_id in done:
        wrong.append(f"task {task_id} already has a result (results are not overwritten)")
    found = False
    try:
        found = catalogue.found(category)
    except ResultError as error:
        wrong.append(str(error))
    raw = _text(entry.get("inspection_date"))
    day: dt.date | None = default_date
    if raw:
        try:
            day = parse_day(raw)
        except ValueError as error:
            wrong.append(f"inspection date: {error}")
            day = None
    first, last = days
    if day is not None and day < first:
        wrong.append(f"inspection date {day} is before the plan's as-of date; expected {first} .. today ({last})")
    if day is not None and day > last:
        wrong.append(f"inspection date {day} is in the future; expected {first} .. today ({last})")
    if wrong:
        return None, wrong
    return {"task_id": task_id, "category": category, "found": found, "inspection_date": day}, []


def _text(value: Any) -> str:
    """A cell as trimmed text; a blank cell (None, NaN) is ""."""
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value).strip()


def _task_key(text: str, plan_id: str) -> str:
    """A full task id, or its number within the plan (`17` or `000017`)."""
    return f"{plan_id}-{int(text):06d}" if text.isdigit() else text


def feedback_path(settings: Settings, plan_id: str) -> Path:
    return settings.lake_dir / "feedback" / plan_id / "results.parquet"


def write_feedback(settings: Settings, plan_id: str) -> Path:
    """Rewrite `lake/feedback/<plan id>/results.parquet` from the results in the database (it is
    derived from them: `record_results` writes it inside its transaction)."""
    ops = store(settings)
    tasks = {t["task_id"]: t for t in ops.tasks(plan_id)}
    path = feedback_path(settings, plan_id)
    _write_feedback(path, plan_id, tasks, ops.results(plan_id))
    return path


def _write_feedback(path: Path, plan_id: str, tasks: dict[str, dict[str, Any]], results: list[dict[str, Any]]) -> None:
    """Recorded results as labels for the next training.

    One row per recorded task: uscc, inspection_date, found, inclusion_probability (π of this
    draw), plan_id, task_id, item, result. To use them as labels, take the rows with
    inspection_date in (as_of, as_of + horizon] and weight each by 1/π (inverse-probability
    weighting); they join the labels of `features/labels.py` on uscc like a recorded random draw
    (`violation_found` = found, `inclusion_probability` = π), so the merge is a union of the two
    frames with `random_draw_found` = found for these rows."""
    rows = [
        {
            "uscc": tasks[r["task_id"]]["uscc"],
            "inspection_date": r["inspection_date"],
            "found": bool(r["found"]),
            "inclusion_probability": float(tasks[r["task_id"]]["pi"]),
            "plan_id": plan_id,
            "task_id": r["task_id"],
            "item": tasks[r["task_id"]]["item"],
            "result": r["category"],
        }
        for r in results
    ]
    frame = pd.DataFrame(
        rows,
        columns=["uscc", "inspection_date", "found", "inclusion_probability", "plan_id", "task_id", "item", "result"],
    )
    frame["inspection_date"] = pd.to_datetime(frame["inspection_date"]).astype("datetime64[s]")
    write_parquet_atomic(pa.Table.from_pandas(frame, preserve_index=False), path)


def sync_feedback(settings: Settings) -> list[str]:
    """Make every feedback file hold exactly its plan's results in the database, which is the
    record: a process killed after writing the file but before the commit (or after the commit but
    before a rewrite) leaves them apart, and the labels must never count results that were not
    stored. Returns the plans whose file was rewritten or removed."""
    root = settings.lake_dir / "feedback"
    if not root.is_dir():
        return []
    ops = store(settings)
    mended = []
    for plan in ops.plans():
        if plan["state"] in ("recording", "published") and not feedback_path(settings, plan["plan_id"]).exists():
            write_feedback(settings, plan["plan_id"])
            mended.append(plan["plan_id"])
    for path in sorted(root.glob("*/results.parquet")):
        plan_id = path.parent.name
        stored = {r["task_id"] for r in ops.results(plan_id)} if ops.has_plan(plan_id) else set()
        if set(pd.read_parquet(path, columns=["task_id"])["task_id"]) == stored:
            continue
        if stored:
            write_feedback(settings, plan_id)
        else:
            path.unlink()
        mended.append(plan_id)
    return mended


FEEDBACK_AS_INSPECTIONS = {
    "task_id": "inspection_id",
    "uscc": "uscc",
    "inspection_date": "inspection_date",
    "item": "inspection_item",
    "inclusion_probability": "inclusion_probability",
    "found": "violation_found",
    "result": "result",
}


def feedback_as_inspections(settings: Settings) -> pd.DataFrame:
    """Every plan's recorded results in the bronze `inspections` layout (inspection_id = task id,
    inspection_type 双随机抽查, knowledge_date = inspection_date), ready to be appended to the
    inspections that `features.labels.labels_expr` reads: the label builder then counts them as a
    recorded random draw with its inclusion probability, and training weights them by 1/π.

    If the department's inspections extract already carries these results (it will once the
    platform is the system of record), append only task ids it does not hold."""
    sync_feedback(settings)
    parts = [pd.read_parquet(p) for p in sorted((settings.lake_dir / "feedback").glob("*/results.parquet"))]
    columns = [*FEEDBACK_AS_INSPECTIONS.values(), "inspection_type", "knowledge_date"]
    if not parts:
        return pd.DataFrame(columns=columns)
    frame = pd.concat(parts, ignore_index=True).rename(columns=FEEDBACK_AS_INSPECTIONS)
    frame = frame.assign(inspection_type="双随机抽查", knowledge_date=frame["inspection_date"])
    return frame.loc[:, columns]
