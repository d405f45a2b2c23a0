"""Re-run a stored draw and report every difference from what was published.

An auditor holding the inputs recomputes, in order: the commitment (does it match the one
published before the draw?), the seed from the commitment and the public value, the targets with
their π, and the inspectors. Any difference is listed; an empty list means the plan is exactly
what its inputs and public value produce.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pipelines.draw.plan import InfeasibleAssignmentError, Plan, PlanInputs, execute, prepare, read_inputs, read_plan

MAX_LISTED = 20  # differences listed per kind; the count is always given


@dataclass(frozen=True)
class VerificationReport:
    """`differences`: one readable line per mismatch; `ok` when there is none."""

    plan_id: str
    differences: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.differences


def verify(stored_inputs: PlanInputs, public_value: str, published: Plan) -> VerificationReport:
    """Re-run design, commitment, seed, sample and inspector assignment; compare with `published`."""
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
        return VerificationReport(published.plan_id, tuple(found))
    if rerun.seed != published.seed:
        found.append(f"seed: published {published.seed}, re-run gives {rerun.seed}")
    found += _compare_design(published, rerun)
    found += _compare_tasks(published, rerun)
    found += _compare_excluded(published, rerun)
    return VerificationReport(published.plan_id, tuple(found))


def verify_folder(folder: Path) -> VerificationReport:
    """Verify a plan folder written by `write_plan` against its own stored inputs and public value."""
    published = read_plan(folder)
    report = verify(read_inputs(folder), published.public_value, published)
    stored = json.loads((folder / "commitment.json").read_text(encoding="utf-8"))["commitment"]
    if stored != published.commitment:
        return VerificationReport(
            report.plan_id, (f"commitment.json holds {stored}, plan.json {published.commitment}", *report.differences)
        )
    return report


def _compare_design(published: Plan, rerun: Plan) -> list[str]:
    """Every listed entity's π (stored for Horvitz–Thompson estimates), not only the drawn ones'."""
    ours = published.design.frame.set_index("uscc")["pi"]
    theirs = rerun.design.frame.set_index("uscc")["pi"]
    lines = _listed("listed entity missing from the re-run design", sorted(set(ours.index) - set(theirs.index)))
    lines += _listed("re-run design lists an entity not published", sorted(set(theirs.index) - set(ours.index)))
    common = ours.index.intersection(theirs.index)
    differs = common[ours.loc[common].to_numpy() != theirs.loc[common].to_numpy()]
    shown = [f"{u}: published {ours[u]!r}, re-run {theirs[u]!r}" for u in differs[:MAX_LISTED]]
    return lines + _listed("π differs", shown, total=len(differs))


def _compare_tasks(published: Plan, rerun: Plan) -> list[str]:
    # Task ids embed the plan id (from the commitment); compare by position within the plan instead.
    ours = {t.task_id.rsplit("-", 1)[-1]: t for t in published.tasks}
    theirs = {t.task_id.rsplit("-", 1)[-1]: t for t in rerun.tasks}
    lines = []
    if len(ours) != len(theirs):
        lines.append(f"tasks: published {len(ours)}, re-run draws {len(theirs)}")
    missing = sorted({t.uscc for t in published.tasks} - {t.uscc for t in rerun.tasks})
    extra = sorted({t.uscc for t in rerun.tasks} - {t.uscc for t in published.tasks})
    lines += _listed("published target not drawn by the re-run", missing)
    lines += _listed("re-run draws a target not published", extra)
    changed = []
    for key in sorted(set(ours) & set(theirs)):
        a, b = ours[key], theirs[key]
        if a.uscc != b.uscc:
            continue  # already reported as missing / extra
        if a.pi != b.pi:
            changed.append(f"task {a.task_id} ({a.uscc}): π published {a.pi!r}, re-run {b.pi!r}")
        if a.inspectors != b.inspectors:
            changed.append(f"task {a.task_id} ({a.uscc}): inspectors published {a.inspectors}, re-run {b.inspectors}")
    return lines + _listed("task differs", changed)


def _compare_excluded(published: Plan, rerun: Plan) -> list[str]:
    ours, theirs = set(published.excluded), set(rerun.excluded)
    return _listed("exclusion published but not re-derived", sorted(map(str, ours - theirs))) + _listed(
        "exclusion re-derived but not published", sorted(map(str, theirs - ours))
    )


def _listed(what: str, items: list[str], total: int | None = None) -> list[str]:
    """The first MAX_LISTED items, then a count of the rest (`total` when `items` is already cut)."""
    total = len(items) if total is None else total
    lines = [f"{what}: {item}" for item in items[:MAX_LISTED]]
    if total > MAX_LISTED:
        lines.append(f"{what}: ... {total - MAX_LISTED} more ({total} in all)")
    return lines
