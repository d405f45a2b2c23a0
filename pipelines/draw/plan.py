"""The plan flow without the database: prepare (design + commitment), draw, store immutably.

    inputs ── prepare ──> design, manifest, commitment        (publish the commitment)
    public value, fixed afterwards ── execute ──> seed, targets, inspectors = Plan
    write_plan(plan, root) ──> root/<plan id>/ (inputs, commitment, outputs, exports), never overwritten

The plan id is derived from the commitment, so one set of inputs is stored once: a second draw of
the same inputs with another public value (to get a more convenient list) has the same id, and
write_plan refuses it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.draw.commitment import commit, derive_seed, manifest
from pipelines.draw.design import Design, inclusion_probabilities
from pipelines.draw.eligible import DrawInputError, normalise_eligible
from pipelines.draw.export import write_task_csv, write_task_excel
from pipelines.draw.inspectors import Infeasible, assign_inspectors, normalise_conflicts, normalise_roster
from pipelines.draw.policy import AssignmentRules, Capacity, DrawPolicy
from pipelines.draw.sample import draw_targets, rng_from_seed
from pipelines.storage import staging_dir

REQUIRED_VERSIONS = ("model", "scorecard")
TASK_COLUMNS = ("task_id", "uscc", "name", "district", "town", "industry_code", "item", "stratum", "pi")


class InfeasibleAssignmentError(ValueError):
    """Some drawn tasks cannot get inspectors under the rules; `infeasible` says which and why."""

    def __init__(self, infeasible: tuple[Infeasible, ...], fillable_slots: int | None, needed_slots: int) -> None:
        self.infeasible = infeasible
        self.fillable_slots = fillable_slots
        shown = "\n".join(f"  {f.message()}" for f in infeasible[:10])
        more = f"\n  ... and {len(infeasible) - 10} more" if len(infeasible) > 10 else ""
        if fillable_slots is None:
            bound = ""
        elif fillable_slots < needed_slots:
            bound = f" (no assignment under these rules fills more than {fillable_slots} of the {needed_slots} slots)"
        else:
            bound = f" (an assignment filling all {needed_slots} slots exists; the randomised greedy did not find it)"
        super().__init__(f"{len(infeasible)} task(s) cannot be assigned inspectors{bound}:\n{shown}{more}")


@dataclass(frozen=True, eq=False)
class PlanInputs:
    """Everything the draw depends on, normalised (sorted, typed) so that it hashes canonically."""

    eligible: pd.DataFrame
    roster: pd.DataFrame
    conflicts: pd.DataFrame
    policy: DrawPolicy
    capacity: Capacity
    rules: AssignmentRules
    as_of: dt.date
    versions: Mapping[str, str]

    @classmethod
    def build(
        cls,
        eligible: pd.DataFrame,
        roster: pd.DataFrame,
        conflicts: pd.DataFrame,
        policy: DrawPolicy,
        capacity: Capacity,
        rules: AssignmentRules,
        as_of: dt.date,
        versions: Mapping[str, str],
    ) -> PlanInputs:
        missing = [k for k in REQUIRED_VERSIONS if not versions.get(k)]
        if missing:
            raise DrawInputError(f"versions: expected non-empty {list(REQUIRED_VERSIONS)}, missing {missing}")
        return cls(
            eligible=normalise_eligible(eligible, policy),
            roster=normalise_roster(roster),
            conflicts=normalise_conflicts(conflicts),
            policy=policy,
            capacity=capacity,
            rules=rules,
            as_of=as_of,
            versions=dict(sorted(versions.items())),
        )

    def settings(self) -> dict[str, Any]:
        """The non-tabular inputs as JSON-ready data (stored in settings.json and in the manifest)."""
        return {
            "as_of": self.as_of.isoformat(),
            "policy": self.policy.model_dump(mode="json"),
            "capacity": self.capacity.model_dump(mode="json"),
            "rules": self.rules.model_dump(mode="json"),
            "versions": dict(self.versions),
        }


@dataclass(frozen=True, eq=False)
class Prepared:
    """The state before the public value exists: the design and the commitment to publish."""

    inputs: PlanInputs
    design: Design
    manifest: dict[str, Any]
    commitment: str


@dataclass(frozen=True)
class Task:
    """One drawn inspection: the entity, its inclusion probability π, its inspectors."""

    task_id: str
    uscc: str
    name: str
    district: str
    town: str
    industry_code: str
    item: str
    stratum: str
    pi: float
    inspectors: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    """A drawn plan: what the public and the inspectors see, plus (not compared) its inputs and design."""

    plan_id: str
    as_of: dt.date
    commitment: str
    public_value: str
    seed: str  # 64 hex characters: SHA-256(commitment ‖ public value)
    tasks: tuple[Task, ...]
    excluded: tuple[tuple[str, str], ...]  # (uscc, reason)
    inputs: PlanInputs = field(compare=False, repr=False)
    design: Design = field(compare=False, repr=False)

    def tasks_frame(self) -> pd.DataFrame:
        """The tasks as a frame: TASK_COLUMNS then inspector_1 .. inspector_k."""
        frame = pd.DataFrame([[getattr(t, c) for c in TASK_COLUMNS] for t in self.tasks], columns=list(TASK_COLUMNS))
        k = max((len(t.inspectors) for t in self.tasks), default=self.inputs.rules.per_task)
        for slot in range(k):
            frame[f"inspector_{slot + 1}"] = [t.inspectors[slot] for t in self.tasks]
        return frame.astype({c: object for c in frame.columns if c != "pi"})

    def summary(self) -> dict[str, Any]:
        """JSON-ready facts of the plan (plan.json)."""
        return {
            "plan_id": self.plan_id,
            "as_of": self.as_of.isoformat(),
            "commitment": self.commitment,
            "public_value": self.public_value,
            "seed": self.seed,
            "tasks": len(self.tasks),
            "excluded": len(self.excluded),
            "strata": json.loads(self.design.strata.to_json(orient="records", force_ascii=False)),
        }


def plan_id_for(as_of: dt.date, commitment: str) -> str:
    """DRAW-<as-of date>-<first 12 hex of the commitment>: one id per set of inputs."""
    return f"DRAW-{as_of:%Y%m%d}-{commitment[:12]}"


PLAN_ID = re.compile(r"DRAW-[0-9]{8}-[0-9a-f]{12}")


class PlanIdError(LookupError):
    """Not a plan id: ids name folders, so anything else is refused before a path is built."""


def check_plan_id(plan_id: str) -> str:
    """The id as given, if it has the form plan_id_for makes; refused otherwise (e.g. `../x`)."""
    if not PLAN_ID.fullmatch(plan_id):
        shown = plan_id if len(plan_id) <= 60 else plan_id[:60] + "…"
        raise PlanIdError(f"expected a plan id like DRAW-20250701-0123456789ab, got {shown!r}")
    return plan_id


def prepare(inputs: PlanInputs) -> Prepared:
    """Design and commitment: everything that must be fixed before the public value is."""
    design = inclusion_probabilities(inputs.eligible, inputs.policy, inputs.capacity, inputs.as_of)
    document = manifest(committed_tables(inputs, design), inputs.settings())
    return Prepared(inputs=inputs, design=design, manifest=document, commitment=commit(document))


def committed_tables(inputs: PlanInputs, design: Design) -> dict[str, pd.DataFrame]:
    """The tables the commitment covers: the whole list, every π, the exclusions, roster, conflicts."""
    return {
        "eligible": inputs.eligible,
        "design": design.frame.loc[:, ["uscc", "stratum", "weight", "pi"]],
        "excluded": design.excluded,
        "roster": inputs.roster,
        "conflicts": inputs.conflicts,
    }


class CommitmentMismatchError(ValueError):
    """The inputs no longer hash to the commitment published before the public value was fixed."""


def execute(prepared: Prepared, public_value: str, published_commitment: str | None = None) -> Plan:
    """Draw targets then inspectors from the one generator seeded by (commitment, public value).

    `published_commitment`, when given, is the commitment announced before the public value was
    fixed; the draw refuses to run if the inputs now hash to anything else. Raises
    InfeasibleAssignmentError if any task cannot be served: a plan with holes is not drawn."""
    if published_commitment is not None and published_commitment != prepared.commitment:
        raise CommitmentMismatchError(
            f"inputs hash to {prepared.commitment}, expected the published commitment {published_commitment}; "
            f"the list, roster, policy or versions changed after the commitment"
        )
    seed = derive_seed(prepared.commitment, public_value)
    rng = rng_from_seed(seed)
    plan_id = plan_id_for(prepared.inputs.as_of, prepared.commitment)
    drawn = draw_targets(prepared.design.frame, rng)
    drawn.insert(0, "task_id", [f"{plan_id}-{k + 1:06d}" for k in range(len(drawn))])
    assignment = assign_inspectors(drawn, prepared.inputs.roster, prepared.inputs.conflicts, prepared.inputs.rules, rng)
    if assignment.infeasible:
        needed = len(drawn) * prepared.inputs.rules.per_task
        raise InfeasibleAssignmentError(assignment.infeasible, assignment.fillable_slots, needed)
    tasks = drawn.merge(assignment.frame, on="task_id", how="left", validate="one_to_one")
    slots = [c for c in assignment.frame.columns if c.startswith("inspector_")]
    return Plan(
        plan_id=plan_id,
        as_of=prepared.inputs.as_of,
        commitment=prepared.commitment,
        public_value=public_value,
        seed=f"{seed:064x}",
        tasks=_tasks(tasks, slots),
        excluded=tuple(zip(prepared.design.excluded["uscc"], prepared.design.excluded["reason"], strict=True)),
        inputs=prepared.inputs,
        design=prepared.design,
    )


def _tasks(frame: pd.DataFrame, slots: list[str]) -> tuple[Task, ...]:
    text = {c: frame[c].astype(str).tolist() for c in TASK_COLUMNS if c != "pi"}
    pis = frame["pi"].to_numpy(dtype=np.float64).tolist()
    who = list(zip(*(frame[s].astype(str).tolist() for s in slots), strict=True)) if len(frame) else []
    return tuple(Task(**{c: text[c][i] for c in text}, pi=pis[i], inspectors=tuple(who[i])) for i in range(len(frame)))


def draw_plan(
    eligible: pd.DataFrame,
    roster: pd.DataFrame,
    conflicts: pd.DataFrame,
    policy: DrawPolicy,
    capacity: Capacity,
    public_value: str,
    versions: Mapping[str, str],
    *,
    as_of: dt.date,
    rules: AssignmentRules,
    published_commitment: str | None = None,
) -> Plan:
    """Prepare and execute in one call.

    In operation: publish `prepare(inputs).commitment`, wait for the public value, then call this
    (or `execute`) with `published_commitment` so that changed inputs are refused."""
    inputs = PlanInputs.build(eligible, roster, conflicts, policy, capacity, rules, as_of, versions)
    return execute(prepare(inputs), public_value, published_commitment)


class PlanExistsError(FileExistsError):
    """A plan folder with this id is already on disk; drawn plans are never overwritten."""


def write_plan(plan: Plan, root: Path) -> Path:
    """Write inputs, commitment, outputs and exports to root/<plan id>/, all or nothing.

    Layout: inputs/{eligible,roster,conflicts}.parquet + settings.json; commitment.json (the
    manifest and its hash); outputs/{tasks,excluded,design,strata}.parquet + plan.json;
    exports/任务清单.csv and .xlsx. Files are made read-only. Refuses an existing plan id."""
    final = root / plan.plan_id
    if final.exists():
        raise PlanExistsError(f"plan {plan.plan_id} already exists at {final}; a drawn plan is immutable")
    with staging_dir(final) as stage:
        _write_inputs(plan.inputs, stage / "inputs")
        document = {"commitment": plan.commitment, "manifest": prepare_manifest(plan)}
        (stage / "commitment.json").write_text(_pretty(document), encoding="utf-8")
        out = stage / "outputs"
        out.mkdir()
        tasks = plan.tasks_frame()
        _parquet(tasks, out / "tasks.parquet")
        _parquet(pd.DataFrame(list(plan.excluded), columns=["uscc", "reason"]), out / "excluded.parquet")
        _parquet(plan.design.frame.loc[:, ["uscc", "stratum", "weight", "pi"]], out / "design.parquet")
        _parquet(plan.design.strata, out / "strata.parquet")
        (out / "plan.json").write_text(_pretty(plan.summary()), encoding="utf-8")
        exports = stage / "exports"
        exports.mkdir()
        write_task_csv(tasks, exports / "任务清单.csv")
        write_task_excel(tasks, plan.summary(), exports / "任务清单.xlsx")
        for path in stage.rglob("*"):
            if path.is_file():
                os.chmod(path, 0o444)
        os.rename(stage, final)  # fails rather than replace should a plan appear meanwhile
    return final


def prepare_manifest(plan: Plan) -> dict[str, Any]:
    """The manifest the plan's commitment hashes, rebuilt from its inputs and design."""
    return manifest(committed_tables(plan.inputs, plan.design), plan.inputs.settings())


def read_inputs(folder: Path) -> PlanInputs:
    """The stored inputs of a plan folder, normalised again (so they hash as they did)."""
    settings = json.loads((folder / "inputs" / "settings.json").read_text(encoding="utf-8"))
    return PlanInputs.build(
        eligible=pd.read_parquet(folder / "inputs" / "eligible.parquet"),
        roster=pd.read_parquet(folder / "inputs" / "roster.parquet"),
        conflicts=pd.read_parquet(folder / "inputs" / "conflicts.parquet"),
        policy=DrawPolicy.model_validate(settings["policy"]),
        capacity=Capacity.model_validate(settings["capacity"]),
        rules=AssignmentRules.model_validate(settings["rules"]),
        as_of=dt.date.fromisoformat(settings["as_of"]),
        versions=settings["versions"],
    )


def read_plan(folder: Path) -> Plan:
    """The published plan of a folder: its stored outputs (nothing is recomputed)."""
    facts = json.loads((folder / "outputs" / "plan.json").read_text(encoding="utf-8"))
    tasks = pd.read_parquet(folder / "outputs" / "tasks.parquet")
    excluded = pd.read_parquet(folder / "outputs" / "excluded.parquet")
    design = Design(
        frame=pd.read_parquet(folder / "outputs" / "design.parquet"),
        excluded=excluded,
        strata=pd.read_parquet(folder / "outputs" / "strata.parquet"),
    )
    return Plan(
        plan_id=facts["plan_id"],
        as_of=dt.date.fromisoformat(facts["as_of"]),
        commitment=facts["commitment"],
        public_value=facts["public_value"],
        seed=facts["seed"],
        tasks=_tasks(tasks, [c for c in tasks.columns if c.startswith("inspector_")]),
        excluded=tuple(zip(excluded["uscc"].astype(str), excluded["reason"].astype(str), strict=True)),
        inputs=read_inputs(folder),
        design=design,
    )


def _write_inputs(inputs: PlanInputs, folder: Path) -> None:
    folder.mkdir()
    _parquet(inputs.eligible, folder / "eligible.parquet")
    _parquet(inputs.roster, folder / "roster.parquet")
    _parquet(inputs.conflicts, folder / "conflicts.parquet")
    (folder / "settings.json").write_text(_pretty(inputs.settings()), encoding="utf-8")


def _parquet(frame: pd.DataFrame, path: Path) -> None:
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)


def _pretty(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
