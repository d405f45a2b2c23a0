"""The plan cycle as a flow: list → commit → draw → verify → export → record → publish → feedback.

The algorithms live in `pipelines.draw`; this module gathers the inputs from the lake, keeps the
operational database (`pipelines.opsdb`) and the audit log, and writes the files.

Two phases, because the seed must not be knowable when the inputs are fixed:

1. `commit_plan`: builds the inspection-object list for the item (latest scores and grades of the
   as-of date, registration, last inspections), the roster and conflicts, computes every π and the
   commitment; stores the inputs under `lake/commitments/<plan id>/` and the plan (state drafted)
   in the database. The commitment is what gets published.
2. `draw_committed`: once the public value is fixed (a lottery result, a notary's value), re-reads
   the stored inputs, refuses to draw if they no longer hash to the commitment, draws, writes the
   immutable plan folder `lake/plans/<plan id>/` and the tasks (state drawn).

`draw_now` does both in one step for when the public value was fixed independently of whoever
prepares the inputs; the audit log marks such a draw `single_step`, so an auditor can tell.

Results (`pipelines.plan_results.record_results`) become labels for the next training in
`lake/feedback/<plan id>/results.parquet`, written inside the transaction that stores them: both
or neither. The public notice (一公开, `publish_plan`) goes to `lake/notices/<plan id>/`, and the
deadline (inspection end + N working days on the configurable calendar) is tracked by
`plan_status`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from models.calendar import add_working_days, read_calendar
from pipelines.draw.commitment import canonical_json
from pipelines.draw.design import check_boosts
from pipelines.draw.eligible import DrawInputError, last_inspection_facts
from pipelines.draw.estimate import violation_rate
from pipelines.draw.lifecycle import (
    MAX_FREE_TEXT,
    STATE_ZH,
    PlanState,
    TransitionRefused,
    check_actor,
    check_free_text,
)
from pipelines.draw.plan import (
    CommitmentMismatchError,
    InfeasibleAssignmentError,
    Plan,
    PlanInputs,
    _write_inputs,
    check_plan_id,
    execute,
    plan_id_for,
    prepare,
    read_inputs,
    write_plan,
)
from pipelines.draw.policy import AssignmentRules, Capacity, DrawPolicy
from pipelines.draw.results import ResultError, parse_day, read_result_file
from pipelines.draw.verify import Recorded, verify_folder
from pipelines.faults import fault_point
from pipelines.lake import current_version
from pipelines.opsdb import OpsStore, default_url, now
from pipelines.settings import Settings
from pipelines.spreadsheets import write_csv, write_excel
from pipelines.storage import replace_dir, staging_dir


class PlanInputMissingError(FileNotFoundError):
    """A lake table the plan needs is not there; the message names the command that writes it."""


class PlanWriteError(OSError):
    """A file of the plan cycle could not be written; the message says what was kept and what to do."""


# --- configuration: inspection items and result categories -------------------------------------
class InspectionItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    name: str
    enterprise_types: list[str] = Field(default_factory=list, description="empty = every type")
    industries: list[str] = Field(default_factory=list, description="GB/T 4754 divisions; empty = every one")
    expertise: str


class ItemCatalogue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    items: list[InspectionItem]
    result_categories: dict[str, bool]

    def item(self, key: str) -> InspectionItem:
        for item in self.items:
            if key in (item.code, item.name):
                return item
        known = ", ".join(f"{i.code} ({i.name})" for i in self.items)
        raise LookupError(f"unknown inspection item {key!r}; expected one of {known}")

    def found(self, category: str) -> bool:
        if category not in self.result_categories:
            raise ResultError(f"unknown result category {category!r}; expected one of {list(self.result_categories)}")
        return self.result_categories[category]


def read_items(path: Path) -> ItemCatalogue:
    try:
        return ItemCatalogue.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (ValidationError, yaml.YAMLError) as error:
        raise ValueError(f"{path}: {error}") from error


# --- where things live ---------------------------------------------------------------------------
def store(settings: Settings) -> OpsStore:
    return OpsStore(settings.plan.db_url or default_url(settings.data_home))


def plans_dir(settings: Settings) -> Path:
    return settings.lake_dir / "plans"


def commitments_dir(settings: Settings) -> Path:
    return settings.lake_dir / "commitments"


def plan_folder(settings: Settings, plan_id: str) -> Path:
    folder = plans_dir(settings) / check_plan_id(plan_id)
    if not (folder / "outputs" / "plan.json").is_file():
        raise LookupError(f"no drawn plan {plan_id!r} under {plans_dir(settings)}")
    return folder


# --- the inspection-object list -------------------------------------------------------------------
def _bronze(settings: Settings, source: str, as_of: dt.date) -> pd.DataFrame:
    version = current_version(settings.lake_dir / "bronze" / source)
    if version is None:
        raise PlanInputMissingError(f"no bronze {source}; run `regulens ingest` first")
    frame = pd.read_parquet(version)
    return frame.loc[pd.to_datetime(frame["knowledge_date"]) < pd.Timestamp(as_of)]  # point in time


def read_scores(settings: Settings, as_of: dt.date) -> tuple[pd.DataFrame, str]:
    version = current_version(settings.lake_dir / "scores" / f"as_of={as_of.isoformat()}")
    if version is None:
        raise PlanInputMissingError(
            f"no risk scores for as-of {as_of}; run `regulens score --as-of {as_of}` first "
            f"(after `regulens train`, if no model is registered)"
        )
    return pd.read_parquet(version / "scores.parquet"), version.name


@dataclass(frozen=True)
class ListFacts:
    """How the list was built: entities at each step (for the summary and the audit log)."""

    scored: int
    graded: int
    registered: int
    in_scope: int

    def to_json(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.__dict__.items()}


def build_eligible(
    settings: Settings, as_of: dt.date, item: InspectionItem
) -> tuple[pd.DataFrame, dict[str, str], ListFacts]:
    """The item's inspection-object list as of `as_of`: scored, graded (not excluded), registered
    before as_of, within the item's scope; with last-inspection facts. Also the versions used."""
    scores, scores_run = read_scores(settings, as_of)
    card = settings.plan.grade_card
    # Read directly rather than through pipelines.grading, whose imports (optbinning, sklearn) cost seconds.
    grades_version = current_version(settings.lake_dir / "grades" / card / f"as_of={as_of.isoformat()}")
    if grades_version is None:
        raise PlanInputMissingError(f"no {card} grades for as-of {as_of}; run `regulens grade --as-of {as_of}` first")
    grades = pd.read_parquet(grades_version / "grades.parquet")
    graded = grades.loc[~grades["excluded"].astype(bool) & grades["grade"].notna(), ["uscc", "grade"]]
    frame = scores[["uscc", "probability"]].merge(graded, on="uscc", how="inner")
    n_graded = len(frame)
    registration = _bronze(settings, "registration", as_of)
    registration = registration.sort_values("knowledge_date", kind="stable").drop_duplicates("uscc", keep="last")
    columns = ["uscc", "name", "enterprise_type", "industry_code", "district", "town"]
    frame = frame.merge(registration[columns], on="uscc", how="inner")
    n_registered = len(frame)
    keep = np.ones(len(frame), dtype=bool)
    if item.enterprise_types:
        keep &= frame["enterprise_type"].isin(item.enterprise_types).to_numpy()
    if item.industries:
        keep &= frame["industry_code"].astype(str).isin(item.industries).to_numpy()
    frame = frame.loc[keep].rename(columns={"probability": "risk", "grade": "credit_class"})
    frame = frame.assign(item=item.name, credit_class=frame["credit_class"].astype(str))
    frame = frame.merge(last_inspection_facts(_bronze(settings, "inspections", as_of), as_of), on="uscc", how="left")
    frame["last_inspectors"] = frame["last_inspectors"].fillna("")
    model = scores[["model_name", "model_version"]].drop_duplicates().astype(str)
    scorecards = sorted(set(grades["scorecard_version"].dropna().astype(str)))
    versions = {
        "model": ";".join(f"{n}@{v}" for n, v in model.itertuples(index=False)),
        "scores_run": scores_run,
        "scorecard": ";".join(scorecards),
        "grades_run": f"{card}/{_version_name(settings.lake_dir / 'grades' / card / f'as_of={as_of.isoformat()}')}",
        "item_code": item.code,
    }
    facts = ListFacts(scored=len(scores), graded=n_graded, registered=n_registered, in_scope=len(frame))
    return frame.drop(columns=["enterprise_type"]), versions, facts


def _version_name(table_dir: Path) -> str:
    version = current_version(table_dir)
    return "" if version is None else version.name


@dataclass(frozen=True)
class DrawRequest:
    """What the regulator asks for on the command line."""

    as_of: dt.date
    item: str
    capacity: Capacity
    policy: DrawPolicy
    rules: AssignmentRules | None = None  # default: from settings.plan and the item's expertise


def gather_inputs(settings: Settings, request: DrawRequest) -> tuple[PlanInputs, InspectionItem, ListFacts]:
    catalogue = read_items(settings.plan.items)
    item = catalogue.item(request.item)
    eligible, versions, facts = build_eligible(settings, request.as_of, item)
    if eligible.empty:
        raise DrawInputError(f"the list for {item.name} as of {request.as_of} is empty (scope or data)")
    rules = request.rules or AssignmentRules(
        per_task=settings.plan.per_task,
        workload_cap=settings.plan.workload_cap,
        same_district=settings.plan.same_district,
        item_expertise={item.name: item.expertise},
    )
    policy = request.policy.model_copy(update={"item": item.name})
    roster = _bronze(settings, "inspectors", request.as_of)
    conflicts = _bronze(settings, "inspector_conflicts", request.as_of)
    inputs = PlanInputs.build(eligible, roster, conflicts, policy, request.capacity, rules, request.as_of, versions)
    check_boosts(inputs.eligible, inputs.policy)
    return inputs, item, facts


# --- commit and draw ------------------------------------------------------------------------------
def _input_hashes(manifest: dict[str, Any]) -> dict[str, str]:
    """One SHA-256 per committed table (of its manifest entry), for the audit log."""
    return {name: hashlib.sha256(canonical_json(entry)).hexdigest() for name, entry in manifest["tables"].items()}


@dataclass(frozen=True)
class Committed:
    plan_id: str
    commitment: str
    folder: Path
    listed: int
    excluded: int
    facts: ListFacts

    def to_json(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id,
            "commitment": self.commitment,
            "folder": str(self.folder),
            "listed": self.listed,
            "excluded": self.excluded,
            "list": self.facts.to_json(),
        }


def commit_plan(settings: Settings, request: DrawRequest, actor: str) -> Committed:
    """Phase 1: fix the inputs, compute every π and the commitment; store them; plan drafted."""
    actor = check_actor(actor)
    inputs, item, facts = gather_inputs(settings, request)
    prepared = prepare(inputs)
    plan_id = plan_id_for(inputs.as_of, prepared.commitment)
    final = commitments_dir(settings) / plan_id
    ops = store(settings)
    if ops.has_plan(plan_id):
        raise FileExistsError(f"these inputs were already committed as plan {plan_id} ({final})")
    if final.exists():  # a commit killed between its folder and its database row: nothing was committed
        shutil.rmtree(final)
    _refuse_a_second_open_commitment(ops, item, inputs.as_of)
    with staging_dir(final) as stage:
        _write_inputs(inputs, stage / "inputs")
        document = {"commitment": prepared.commitment, "manifest": prepared.manifest}
        (stage / "commitment.json").write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
        stage.rename(final)
    fault_point("commit:after_folder")
    design = prepared.design.frame
    row = {
        "plan_id": plan_id,
        "as_of": inputs.as_of,
        "item_code": item.code,
        "item": item.name,
        "commitment": prepared.commitment,
        "capacity": inputs.capacity.total,
        "listed": len(design),
        "list_mean_risk": float(design["risk"].mean()) if len(design) else None,
        "versions": dict(inputs.versions),
        "committed_at": now(),
    }
    detail = {
        "commitment": prepared.commitment,
        "input_hashes": _input_hashes(prepared.manifest),
        "settings": inputs.settings(),
        "list": facts.to_json(),
    }
    try:
        ops.add_plan(row, actor, detail)
    except BaseException:
        # No plan row, so no commitment: remove the folder, or the same inputs could never be committed again.
        shutil.rmtree(final, ignore_errors=True)
        raise
    return Committed(plan_id, prepared.commitment, final, len(design), len(prepared.design.excluded), facts)


def _refuse_a_second_open_commitment(ops: OpsStore, item: InspectionItem, as_of: dt.date) -> None:
    """One open (drafted) commitment per item and as-of date. With several open, whoever draws
    could wait for the public value and then draw the one that spares a chosen firm; so a new
    commitment needs the open one drawn, or withdrawn with a reason the audit log keeps."""
    for other in same_batch(ops, item.code, as_of):
        if other["state"] == PlanState.DRAFTED.value:
            raise TransitionRefused(
                f"plan {other['plan_id']} ({item.name}, as of {as_of}) is committed and not drawn yet; a second open "
                f"commitment for the same item and date is refused. Draw it, or withdraw it with a reason: "
                f"regulens plan withdraw {other['plan_id']} --reason TEXT --actor NAME"
            )


def same_batch(ops: OpsStore, item_code: str, as_of: dt.date) -> list[dict[str, Any]]:
    """Every plan ever committed for this item and as-of date, oldest first, with the reason of
    each withdrawal: verify and the public notice list them all, so a withdrawal cannot hide."""
    batch = [p for p in ops.plans() if p["item_code"] == item_code and p["as_of"] == as_of]
    for plan in batch:
        reasons = [e["detail"].get("reason", "") for e in ops.audit_log(plan["plan_id"]) if e["action"] == "withdraw"]
        plan["withdraw_reason"] = reasons[-1] if reasons else None
    return batch


def withdraw_plan(settings: Settings, plan_id: str, reason: str, actor: str) -> dict[str, Any]:
    """Withdraw a committed, undrawn plan; the reason is kept in the audit log and on the notice."""
    actor = check_actor(actor, check_plan_id(plan_id))
    reason = check_free_text(reason, "--reason", MAX_FREE_TEXT, f"plan {plan_id}: ")
    if not reason:
        raise TransitionRefused(f"plan {plan_id}: a withdrawal needs a reason (--reason TEXT), got none")
    ops = store(settings)
    reconcile_draw(settings, ops, plan_id)
    ops.mark_withdrawn(plan_id, actor, {"reason": reason, "started_public_values": ops.started_values(plan_id)})
    return {"plan_id": plan_id, "state": PlanState.WITHDRAWN.value, "reason": reason}


@dataclass(frozen=True)
class Drawn:
    plan_id: str
    commitment: str
    public_value: str
    seed: str
    folder: Path
    tasks: int
    listed: int
    excluded: int
    expected_hit_rate: float  # mean model probability of the drawn targets
    design_hit_rate: float  # Σ π·risk / Σ π: what the design expects before the draw
    list_mean_risk: float  # what a uniform draw from the list expects
    by_stratum: dict[str, int]
    by_class: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in self.__dict__.items()}


def draw_committed(settings: Settings, plan_id: str, public_value: str, actor: str, single_step: bool = False) -> Drawn:
    """Phase 2: draw a committed plan with the public value; write the immutable folder; plan drawn.

    Order, so that a crash at any point leaves a state the next command completes or undoes:
    1. "draw started" with the public value goes to the audit log (refused if the plan is not
       drafted, or if another public value was started for it: one commitment, one value);
    2. the plan folder is written and renamed into place;
    3. the plan is marked drawn with its tasks, in one transaction.
    A crash between 2 and 3 leaves a folder the database does not call drawn: `reconcile_draw`,
    run first by every plan command, marks it drawn if the folder verifies against the recorded
    commitment and the started public value, and sets it aside otherwise."""
    actor = check_actor(actor, check_plan_id(plan_id))
    public_value = check_free_text(public_value, "--public-value", MAX_FREE_TEXT, f"plan {plan_id}: ")
    ops = store(settings)
    reconcile_draw(settings, ops, plan_id)
    row = ops.plan(plan_id)
    if row["state"] != PlanState.DRAFTED.value and row["public_value"] == public_value:
        return _drawn_from_folder(settings, ops, plan_id, public_value)  # a re-run after a crash: same answer
    ops.start_draw(plan_id, public_value, actor)
    fault_point("draw:after_start")
    inputs = read_inputs(commitments_dir(settings) / plan_id)
    try:
        plan = execute(prepare(inputs), public_value, published_commitment=row["commitment"])
    except (InfeasibleAssignmentError, CommitmentMismatchError) as error:
        # The plan stays drafted: its inputs are committed and cannot change; a new commit is needed.
        ops.audit(actor, "draw refused", plan_id, {"public_value": public_value, "error": str(error)[:2000]})
        raise
    try:
        out = write_plan(plan, plans_dir(settings))
    except OSError as error:
        if (plans_dir(settings) / plan_id).exists():  # another run drew it meanwhile
            raise _drawn_meanwhile(ops, plan_id, public_value) from error
        detail = {"public_value": public_value, "single_step": single_step, "error": str(error)[:2000]}
        ops.audit(actor, "draw failed", plan_id, detail)
        raise PlanWriteError(
            f"cannot write the plan folder under {plans_dir(settings)} ({error.strerror or error}); plan {plan_id} "
            f"stays drafted: once the folder is writable, run `regulens plan draw --plan {plan_id} "
            f"--public-value {public_value!r} --actor NAME`"
        ) from error
    fault_point("draw:after_folder")
    drawn = _drawn(plan, out)
    try:
        _mark_drawn(ops, plan, out, actor, single_step)
    except TransitionRefused as error:
        raise _drawn_meanwhile(ops, plan_id, public_value) from error
    fault_point("draw:after_database")
    return drawn


def _mark_drawn(ops: OpsStore, plan: Plan, out: Path, actor: str, single_step: bool, recovered: bool = False) -> None:
    changes = {
        "public_value": plan.public_value,
        "seed": plan.seed,
        "folder": str(out),
        "drawn_at": now(),
        "expected_hit_rate": _drawn(plan, out).expected_hit_rate,
    }
    detail = {
        "commitment": plan.commitment,
        "public_value": plan.public_value,
        "seed": plan.seed,
        "versions": dict(plan.inputs.versions),
        "tasks": len(plan.tasks),
        "single_step": single_step,
    }
    detail["exports"] = {p.name: _sha256_file(p) for p in sorted((out / "exports").iterdir())}
    if recovered:
        detail["recovered"] = "the folder of an interrupted draw, verified against the recorded commitment"
    ops.mark_drawn(plan.plan_id, changes, _task_rows(plan), actor, detail)


def _drawn_meanwhile(ops: OpsStore, plan_id: str, public_value: str) -> TransitionRefused:
    """The refusal for the loser of two concurrent draws: what the plan was drawn with."""
    row = ops.plan(plan_id)
    if row["public_value"]:
        same = " (the same value)" if row["public_value"] == public_value else ""
        return TransitionRefused(
            f"plan {plan_id} was drawn meanwhile by another run, with public value {row['public_value']!r}{same} "
            f"and seed {row['seed']}; a drawn plan is final, and this run changed nothing"
        )
    return TransitionRefused(
        f"plan {plan_id}: another run wrote its plan folder meanwhile; this run changed nothing. "
        f"`regulens plan status {plan_id}` completes and shows it"
    )


def reconcile_draw(settings: Settings, ops: OpsStore, plan_id: str) -> bool:
    """Complete or undo a draw that was interrupted between writing the folder and the database.

    A drafted plan with a folder is marked drawn when the folder verifies against the recorded
    commitment with a public value started for it ("draw started" in the audit log); any other
    such folder is moved to `lake/plans/.set-aside/` and the audit log says why. True when a draw
    was completed here."""
    folder = plans_dir(settings) / check_plan_id(plan_id)
    if not folder.exists() or not ops.has_plan(plan_id):
        return False
    row = ops.plan(plan_id)
    if row["state"] != PlanState.DRAFTED.value:
        return False
    started = ops.started_values(plan_id)
    try:
        facts = json.loads((folder / "outputs" / "plan.json").read_text(encoding="utf-8"))
        value = str(facts["public_value"])
        report = verify_folder(folder, Recorded(plan_id, row["commitment"], value))
        problems = list(report.differences)
    except (OSError, ValueError, KeyError) as error:
        value, problems = "", [f"the folder cannot be read ({error})"]
    if value not in started:
        problems.insert(0, f"its public value {value!r} was never started for this plan (started: {started})")
    if problems:
        aside = plans_dir(settings) / ".set-aside" / f"{plan_id}-{now():%Y%m%dT%H%M%S%f}"
        aside.parent.mkdir(parents=True, exist_ok=True)
        os.rename(folder, aside)
        ops.audit("regulens", "draw folder set aside", plan_id, {"folder": str(aside), "problems": problems[:20]})
        return False
    plan = execute(prepare(read_inputs(folder)), value, published_commitment=row["commitment"])
    try:
        _mark_drawn(ops, plan, folder, "regulens", single_step=False, recovered=True)
    except TransitionRefused:
        return ops.plan(plan_id)["state"] != PlanState.DRAFTED.value  # a concurrent run completed it
    return True


def open_plan(settings: Settings, plan_id: str) -> tuple[OpsStore, dict[str, Any]]:
    """The store and the plan's row, after checking the id and completing an interrupted draw."""
    ops = store(settings)
    reconcile_draw(settings, ops, check_plan_id(plan_id))
    return ops, ops.plan(plan_id)


def _drawn_from_folder(settings: Settings, ops: OpsStore, plan_id: str, public_value: str) -> Drawn:
    """The drawn plan, for a draw re-run with the value it was drawn with (after a crash, the
    operator cannot know whether the first run finished); nothing is written again."""
    row = ops.plan(plan_id)
    if row["public_value"] != public_value:
        raise _drawn_meanwhile(ops, plan_id, public_value)
    folder = plans_dir(settings) / plan_id
    plan = execute(prepare(read_inputs(folder)), public_value, published_commitment=row["commitment"])
    return _drawn(plan, folder)


def draw_now(settings: Settings, request: DrawRequest, public_value: str, actor: str) -> tuple[Committed, Drawn]:
    """Commit and draw in one step (the audit log marks the draw `single_step`)."""
    committed = commit_plan(settings, request, actor)
    return committed, draw_committed(settings, committed.plan_id, public_value, actor, single_step=True)


def _drawn(plan: Plan, folder: Path) -> Drawn:
    design = plan.design.frame
    risk = design.set_index("uscc")["risk"]
    drawn_risk = risk.loc[[t.uscc for t in plan.tasks]].to_numpy(dtype=np.float64)
    pi = design["pi"].to_numpy(dtype=np.float64)
    classes = design.set_index("uscc")["credit_class"].loc[[t.uscc for t in plan.tasks]]
    return Drawn(
        plan_id=plan.plan_id,
        commitment=plan.commitment,
        public_value=plan.public_value,
        seed=plan.seed,
        folder=folder,
        tasks=len(plan.tasks),
        listed=len(design),
        excluded=len(plan.excluded),
        expected_hit_rate=float(drawn_risk.mean()) if len(drawn_risk) else float("nan"),
        design_hit_rate=float((pi * risk.to_numpy()).sum() / pi.sum()) if pi.sum() > 0 else float("nan"),
        list_mean_risk=float(risk.mean()) if len(risk) else float("nan"),
        by_stratum={str(k): int(v) for k, v in pd.Series([t.stratum for t in plan.tasks]).value_counts().items()},
        by_class={str(k): int(v) for k, v in classes.value_counts().sort_index().items()},
    )


def _task_rows(plan: Plan) -> list[dict[str, Any]]:
    risk = plan.design.frame.set_index("uscc")["risk"]
    return [
        {
            "task_id": t.task_id,
            "uscc": t.uscc,
            "name": t.name,
            "district": t.district,
            "town": t.town,
            "item": t.item,
            "stratum": t.stratum,
            "pi": t.pi,
            "risk": float(risk.loc[t.uscc]),
            "inspectors": list(t.inspectors),
        }
        for t in plan.tasks
    ]


# --- verify and export ----------------------------------------------------------------------------
def export_tasks(settings: Settings, plan_id: str, fmt: str, out: Path | None) -> Path:
    """The task list (Chinese headers, no class, score or π). Without `out`, the plan folder's own copy.

    The file must be byte for byte the one whose SHA-256 the audit log's draw row recorded: an
    export edited in the lake is refused, not served (`plan verify` then says what changed)."""
    ops, _ = open_plan(settings, plan_id)
    folder = plan_folder(settings, plan_id)
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"expected format csv or xlsx, got {fmt!r}")
    stored = folder / "exports" / f"任务清单.{fmt}"
    draws = [e for e in ops.audit_log(plan_id) if e["action"] == "draw"]
    recorded = draws[-1]["detail"].get("exports", {}).get(stored.name) if draws else None
    if recorded is not None and _sha256_file(stored) != recorded:
        raise ExportTamperedError(
            f"{stored} is not the task list recorded at the draw (SHA-256 {recorded[:12]}…); it is not served. "
            f"Run `regulens plan verify {plan_id}` to see what changed"
        )
    if out is None:
        return stored
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(stored, out)
    out.chmod(0o644)
    return out


class ExportTamperedError(Exception):
    """A stored export no longer matches the hash recorded when the plan was drawn."""


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- status and publication -----------------------------------------------------------------------
def plan_status(settings: Settings, plan_id: str, on: dt.date) -> dict[str, Any]:
    """State, counts, hit rates, the HT/Hájek estimate and the publication deadline as of `on`."""
    ops, plan = open_plan(settings, plan_id)
    tasks = ops.tasks(plan_id)
    results = ops.results(plan_id)
    state = PlanState(plan["state"])
    out: dict[str, Any] = {
        "plan_id": plan_id,
        "state": state.value,
        "state_zh": STATE_ZH[state],
        "as_of": plan["as_of"].isoformat(),
        "item": plan["item"],
        "commitment": plan["commitment"],
        "public_value": plan["public_value"],
        "seed": plan["seed"],
        "tasks": len(tasks),
        "recorded": len(results),
        "listed": plan["listed"],
        "expected_hit_rate": plan["expected_hit_rate"],
        "list_mean_risk": plan["list_mean_risk"],
        "by_result": pd.Series([r["category"] for r in results], dtype=object).value_counts().to_dict(),
    }
    if results:
        end = max(r["inspection_date"] for r in results)
        deadline = add_working_days(end, settings.plan.publish_working_days, read_calendar(settings.plan.calendar))
        published = plan["published_on"]
        out |= {
            "inspection_end": end.isoformat(),
            "complete": len(results) == len(tasks),
            "publication_deadline": deadline.isoformat(),
            "published_on": published.isoformat() if published else None,
            "overdue": (published or on) > deadline,
        }
        pi = {t["task_id"]: t for t in tasks}
        estimate = violation_rate(
            np.array([r["found"] for r in results], dtype=bool),
            np.array([pi[r["task_id"]]["pi"] for r in results], dtype=np.float64),
            listed=int(plan["listed"]),
            strata=np.array([pi[r["task_id"]]["stratum"] for r in results], dtype=object),
        )
        out["realised_hit_rate"] = estimate.realised_hit_rate
        out["estimate"] = estimate.to_json()
    return out


NOTICE_HEADERS = {
    "name": "企业名称",
    "uscc": "统一社会信用代码",
    "item": "抽查事项",
    "category": "检查结果",
    "inspection_date": "检查日期",
    "authority": "检查实施机关",
}


def publish_plan(settings: Settings, plan_id: str, on: dt.date, actor: str, *, today: dt.date) -> dict[str, Any]:
    """The public notice (一公开) as CSV and Excel under `lake/notices/<plan id>/`; plan published.

    Refused unless every task has a result (a notice lists the whole batch), and unless `on` falls
    between the last inspection and today (a notice cannot precede its results, nor be dated ahead
    of the day it is written)."""
    actor = check_actor(actor, plan_id)
    ops, plan = open_plan(settings, plan_id)
    if plan["state"] != PlanState.RECORDING.value:
        raise TransitionRefused(f"plan {plan_id} is {plan['state']}; only a plan with recorded results is published")
    tasks = {t["task_id"]: t for t in ops.tasks(plan_id)}
    results = ops.results(plan_id)
    missing = sorted(set(tasks) - {r["task_id"] for r in results})
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        raise TransitionRefused(f"plan {plan_id}: {len(missing)} task(s) have no result yet: {shown}")
    end = max(r["inspection_date"] for r in results)
    if on < end:
        raise ResultError(f"publication date {on} is before the last inspection; expected {end} .. today ({today})")
    if on > today:
        raise ResultError(f"publication date {on} is in the future; expected {end} .. today ({today})")
    status = plan_status(settings, plan_id, on)
    notice = pd.DataFrame(
        [
            {
                "name": tasks[r["task_id"]]["name"],
                "uscc": tasks[r["task_id"]]["uscc"],
                "item": tasks[r["task_id"]]["item"],
                "category": r["category"],
                "inspection_date": r["inspection_date"].isoformat(),
                "authority": settings.plan.authority,
            }
            for r in results
        ],
        columns=list(NOTICE_HEADERS),
    ).rename(columns=NOTICE_HEADERS)
    info = pd.DataFrame(
        {
            "项目": ["计划编号", "公示日期", "检查结束日期", "公示期限"],
            "内容": [plan_id, on.isoformat(), status["inspection_end"], status["publication_deadline"]],
        }
    )
    batch = batch_table(same_batch(ops, plan["item_code"], plan["as_of"]))
    folder = settings.lake_dir / "notices" / plan_id
    csv_name, xlsx_name, batch_name = "抽查结果公示.csv", "抽查结果公示.xlsx", "同批承诺.csv"
    with staging_dir(folder) as stage:  # every file or none
        write_csv(notice, stage / csv_name)
        write_csv(batch, stage / batch_name)
        write_excel({"抽查结果": notice, "公示信息": info, "同批承诺": batch}, stage / xlsx_name)
        replace_dir(stage, folder)
    csv_path, xlsx_path = folder / csv_name, folder / xlsx_name
    late = on > dt.date.fromisoformat(status["publication_deadline"])
    detail = {"published_on": on.isoformat(), "deadline": status["publication_deadline"], "late": late}
    try:
        ops.mark_published(plan_id, on, str(csv_path), actor, detail)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # no notice for a plan the database does not call published
        raise
    return {
        "plan_id": plan_id,
        "published_on": on.isoformat(),
        "entries": len(notice),
        "publication_deadline": status["publication_deadline"],
        "late": late,
        "csv": str(csv_path),
        "xlsx": str(xlsx_path),
        "same_item_and_date": len(batch),
    }


BATCH_HEADERS = {
    "plan_id": "计划编号",
    "commitment": "承诺值",
    "committed_at": "承诺时间(UTC)",
    "state": "状态",
    "public_value": "公开随机值",
    "withdraw_reason": "撤回原因",
}


def batch_table(batch: list[dict[str, Any]]) -> pd.DataFrame:
    """Every commitment made for the notice's item and as-of date, withdrawn ones with their reason:
    the public sees whether a plan was chosen among several (commitment grinding)."""
    rows = [
        {
            **{k: ("" if p.get(k) is None else str(p[k])) for k in BATCH_HEADERS},
            "committed_at": f"{p['committed_at']:%Y-%m-%d %H:%M:%S}",
            "state": STATE_ZH[PlanState(p["state"])],
        }
        for p in batch
    ]
    return pd.DataFrame(rows, columns=list(BATCH_HEADERS)).rename(columns=BATCH_HEADERS)


def list_plans(settings: Settings) -> list[dict[str, Any]]:
    return store(settings).plans()


__all__ = [
    "CommitmentMismatchError",
    "DrawRequest",
    "PlanInputMissingError",
    "ResultError",
    "TransitionRefused",
    "commit_plan",
    "draw_committed",
    "draw_now",
    "export_tasks",
    "parse_day",
    "plan_status",
    "publish_plan",
    "read_result_file",
]
