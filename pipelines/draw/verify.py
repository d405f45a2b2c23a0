"""Re-run a stored draw and report every difference from what was recorded before it.

The reference is never the plan folder itself: an adversary who can write the folder can write
a self-consistent one. The caller names what was recorded independently *before* the draw (the
commitment published at commit time and the public value fixed afterwards: held by the
operational database and its hash-chained audit log, or read by an auditor off the publication).
Then, in order:
1. the plan id must be the one that commitment gives, and the folder must name the same
   commitment and public value;
2. the stored inputs must hash to that commitment (so no firm was added, dropped or re-weighted);
3. the draw is re-run from those inputs with that public value, and every stored task row is
   compared with the re-run's by task id and position: firm, inspectors, π; every listed firm's π,
   the exclusions;
4. the exports (任务清单.csv byte for byte, 任务清单.xlsx cell by cell) must be what the re-run's
   tasks give, and so must the database's task rows when the caller passes them.
An empty list of differences means the folder is exactly what the recorded commitment and public
value produce.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import load_workbook

from pipelines.draw.export import write_task_csv, write_task_excel
from pipelines.draw.plan import (
    InfeasibleAssignmentError,
    Plan,
    PlanInputs,
    Task,
    execute,
    plan_id_for,
    prepare,
    read_inputs,
)

MAX_LISTED = 20  # differences listed per kind; the count is always given
TASK_FIELDS = ("uscc", "name", "district", "town", "item", "stratum", "pi", "inspectors")


@dataclass(frozen=True)
class Recorded:
    """What was fixed before the draw, from a record the plan folder does not hold."""

    plan_id: str
    commitment: str
    public_value: str


@dataclass(frozen=True)
class VerificationReport:
    """`differences`: one readable line per mismatch; `ok` when there is none. `commitment` and
    `public_value` are the recorded values the re-run used, for comparison with the publication."""

    plan_id: str
    differences: tuple[str, ...]
    commitment: str = ""
    public_value: str = ""

    @property
    def ok(self) -> bool:
        return not self.differences


def verify(stored_inputs: PlanInputs, public_value: str, published: Plan) -> VerificationReport:
    """Re-run design, commitment, seed, sample and inspector assignment; compare with `published`
    (whose commitment is taken as the recorded one: the library check, without a folder)."""
    prepared = prepare(stored_inputs)
    found: list[str] = []
    if prepared.commitment != published.commitment:
        found.append(f"commitment: published {published.commitment}, inputs give {prepared.commitment}")
    if public_value != published.public_value:
        found.append(f"public value: published {published.public_value!r}, verifying with {public_value!r}")
    try:
        rerun = execute(prepared, public_value)
    except InfeasibleAssignmentError as err:
        found.append(f"re-run: inspectors could not be assigned ({len(err.infeasible)} tasks)")
        return VerificationReport(published.plan_id, tuple(found), published.commitment, public_value)
    if rerun.seed != published.seed:
        found.append(f"seed: published {published.seed}, re-run gives {rerun.seed}")
    found += _compare_design(published.design.frame, rerun)
    found += compare_tasks(list(published.tasks), rerun)
    found += _compare_excluded(set(published.excluded), rerun)
    return VerificationReport(published.plan_id, tuple(found), published.commitment, public_value)


def verify_folder(
    folder: Path, recorded: Recorded, database_tasks: Sequence[dict[str, Any]] | None = None
) -> VerificationReport:
    """Verify a plan folder written by `write_plan` against the recorded commitment and public value.

    `database_tasks`, when given, are the operational database's task rows of the plan."""
    found: list[str] = []
    facts = json.loads((folder / "outputs" / "plan.json").read_text(encoding="utf-8"))
    stored_commitment = json.loads((folder / "commitment.json").read_text(encoding="utf-8"))["commitment"]
    inputs = read_inputs(folder)
    expected_id = plan_id_for(inputs.as_of, recorded.commitment)
    if recorded.plan_id != expected_id:
        found.append(f"plan id: {recorded.plan_id} is not the id of the recorded commitment ({expected_id})")
    for what, value in (("plan.json", facts["commitment"]), ("commitment.json", stored_commitment)):
        if value != recorded.commitment:
            found.append(f"commitment: {what} holds {value}, recorded {recorded.commitment}")
    if facts["plan_id"] != recorded.plan_id:
        found.append(f"plan id: plan.json holds {facts['plan_id']}, verifying {recorded.plan_id}")
    if facts["public_value"] != recorded.public_value:
        found.append(f"public value: plan.json holds {facts['public_value']!r}, recorded {recorded.public_value!r}")
    prepared = prepare(inputs)
    if prepared.commitment != recorded.commitment:
        found.append(
            f"inputs: the stored inputs hash to {prepared.commitment}, not to the recorded commitment "
            f"{recorded.commitment} (the list, π, roster, policy or versions were changed)"
        )
    try:
        rerun = execute(prepared, recorded.public_value)
    except InfeasibleAssignmentError as err:
        found.append(f"re-run: inspectors could not be assigned ({len(err.infeasible)} tasks)")
        return VerificationReport(recorded.plan_id, tuple(found), recorded.commitment, recorded.public_value)
    if facts["seed"] != rerun.seed:
        found.append(f"seed: plan.json holds {facts['seed']}, re-run gives {rerun.seed}")
    stored_tasks = pd.read_parquet(folder / "outputs" / "tasks.parquet")
    found += compare_tasks(_tasks_of(stored_tasks), rerun, where="tasks.parquet")
    found += _compare_design(pd.read_parquet(folder / "outputs" / "design.parquet"), rerun)
    excluded = pd.read_parquet(folder / "outputs" / "excluded.parquet")
    pairs = zip(excluded["uscc"].astype(str), excluded["reason"].astype(str), strict=True)
    found += _compare_excluded(set(pairs), rerun)
    found += _compare_exports(folder / "exports", rerun)
    if database_tasks is not None:
        found += compare_tasks([_task_of_row(r) for r in database_tasks], rerun, where="database", by_id=True)
    return VerificationReport(recorded.plan_id, tuple(found), recorded.commitment, recorded.public_value)


def _tasks_of(frame: pd.DataFrame) -> list[Task]:
    slots = sorted((c for c in frame.columns if c.startswith("inspector_")), key=lambda c: int(c.split("_")[1]))
    return [
        Task(
            task_id=str(r["task_id"]),
            uscc=str(r["uscc"]),
            name=str(r["name"]),
            district=str(r["district"]),
            town=str(r["town"]),
            industry_code=str(r["industry_code"]),
            item=str(r["item"]),
            stratum=str(r["stratum"]),
            pi=float(r["pi"]),
            inspectors=tuple(str(r[s]) for s in slots),
        )
        for r in frame.to_dict("records")
    ]


def _task_of_row(row: dict[str, Any]) -> Task:
    fields = {k: str(row[k]) for k in ("task_id", "uscc", "name", "district", "town", "item", "stratum")}
    return Task(**fields, industry_code="", pi=float(row["pi"]), inspectors=tuple(map(str, row["inspectors"])))


def compare_tasks(stored: list[Task], rerun: Plan, where: str = "tasks", by_id: bool = False) -> list[str]:
    """Every task row against the re-run's, by task id: firm, name, place, item, stratum, π and
    inspectors; also (unless `by_id`, for an unordered store) each row's position in the plan."""
    lines: list[str] = []
    duplicates = sorted(i for i, n in Counter(t.task_id for t in stored).items() if n > 1)
    lines += _listed(f"{where}: task id stored more than once", duplicates)
    if len(stored) != len(rerun.tasks):
        lines.append(f"{where}: {len(stored)} task row(s) stored, the re-run draws {len(rerun.tasks)}")
    theirs = {t.task_id: t for t in rerun.tasks}
    ours = {t.task_id: t for t in stored}
    lines += _listed(f"{where}: task not drawn by the re-run", sorted(set(ours) - set(theirs)))
    lines += _listed(f"{where}: re-run task missing", sorted(set(theirs) - set(ours)))
    changed = []
    for task_id in sorted(set(ours) & set(theirs)):
        a, b = ours[task_id], theirs[task_id]
        for name in TASK_FIELDS:
            if getattr(a, name) != getattr(b, name):
                changed.append(f"task {task_id}: {name} stored {getattr(a, name)!r}, re-run {getattr(b, name)!r}")
    lines += _listed(f"{where}: task differs", changed)
    if not by_id:
        order = [i for i, t in enumerate(stored) if i < len(rerun.tasks) and t.task_id != rerun.tasks[i].task_id]
        moved = [f"row {i + 1} holds {stored[i].task_id}, the re-run's is {rerun.tasks[i].task_id}" for i in order]
        lines += _listed(f"{where}: task order differs", moved)
    return lines


def _compare_design(stored: pd.DataFrame, rerun: Plan) -> list[str]:
    """Every listed entity's π (stored for Horvitz–Thompson estimates), not only the drawn ones'."""
    ours = stored.set_index("uscc")["pi"]
    theirs = rerun.design.frame.set_index("uscc")["pi"]
    lines = _listed("listed entity missing from the re-run design", sorted(set(ours.index) - set(theirs.index)))
    lines += _listed("re-run design lists an entity not published", sorted(set(theirs.index) - set(ours.index)))
    if ours.index.has_duplicates:
        lines += _listed("design: entity listed more than once", sorted(set(ours.index[ours.index.duplicated()])))
        ours = ours[~ours.index.duplicated()]
    common = ours.index.intersection(theirs.index)
    differs = common[ours.loc[common].to_numpy() != theirs.loc[common].to_numpy()]
    shown = [f"{u}: published {ours[u]!r}, re-run {theirs[u]!r}" for u in differs[:MAX_LISTED]]
    return lines + _listed("π differs", shown, total=len(differs))


def _compare_excluded(ours: set[tuple[str, str]], rerun: Plan) -> list[str]:
    theirs = set(rerun.excluded)
    return _listed("exclusion published but not re-derived", sorted(map(str, ours - theirs))) + _listed(
        "exclusion re-derived but not published", sorted(map(str, theirs - ours))
    )


def _compare_exports(exports: Path, rerun: Plan) -> list[str]:
    """The exports the re-run's tasks give, written afresh: the CSV byte for byte, the workbook
    cell by cell with each cell's type (a formula is not the text it shows)."""
    csv_name, xlsx_name = "任务清单.csv", "任务清单.xlsx"
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        fresh = Path(scratch)
        tasks = rerun.tasks_frame()
        write_task_csv(tasks, fresh / csv_name)
        write_task_excel(tasks, rerun.summary(), fresh / xlsx_name)
        for name in (csv_name, xlsx_name):
            if not (exports / name).is_file():
                lines.append(f"exports: {name} is missing")
        stored_csv = exports / csv_name
        if stored_csv.is_file() and stored_csv.read_bytes() != (fresh / csv_name).read_bytes():
            where = _first_csv_difference(stored_csv, fresh / csv_name)
            lines.append(f"exports: {csv_name} is not the re-run's task list ({where})")
        if (exports / xlsx_name).is_file():
            cells = _workbook_differences(exports / xlsx_name, fresh / xlsx_name)
            lines += _listed(f"exports: {xlsx_name} differs", cells)
    return lines


def _first_csv_difference(stored: Path, fresh: Path) -> str:
    ours = stored.read_text(encoding="utf-8-sig", errors="replace").splitlines()
    theirs = fresh.read_text(encoding="utf-8-sig").splitlines()
    for i, (a, b) in enumerate(zip(ours, theirs, strict=False), start=1):
        if a != b:
            return f"line {i}: {a[:80]!r}, expected {b[:80]!r}"
    return f"{len(ours)} line(s), expected {len(theirs)}"


def _workbook_differences(stored: Path, fresh: Path) -> list[str]:
    try:
        ours = load_workbook(stored)
    except Exception as error:  # a workbook that does not open is a difference, not a crash
        return [f"cannot be read ({type(error).__name__}: {error})"]
    theirs = load_workbook(fresh)
    if ours.sheetnames != theirs.sheetnames:
        return [f"sheets {ours.sheetnames}, expected {theirs.sheetnames}"]
    lines = []
    for name in theirs.sheetnames:
        a, b = ours[name], theirs[name]
        rows = max(a.max_row, b.max_row)
        cols = max(a.max_column, b.max_column)
        for r in range(1, rows + 1):
            for c in range(1, cols + 1):
                x, y = a.cell(r, c), b.cell(r, c)
                if (x.value, x.data_type) != (y.value, y.data_type):
                    lines.append(f"{name}!{x.coordinate}: {x.value!r} ({x.data_type}), expected {y.value!r}")
    return lines


def _listed(what: str, items: list[str], total: int | None = None) -> list[str]:
    """The first MAX_LISTED items, then a count of the rest (`total` when `items` is already cut)."""
    total = len(items) if total is None else total
    lines = [f"{what}: {item}" for item in items[:MAX_LISTED]]
    if total > MAX_LISTED:
        lines.append(f"{what}: ... {total - MAX_LISTED} more ({total} in all)")
    return lines
