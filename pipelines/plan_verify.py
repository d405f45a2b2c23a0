"""`plan verify` and `audit verify`: a drawn plan checked against what was recorded before the draw.

The plan folder under `lake/plans/` is what gets re-run; the reference is kept elsewhere: the
operational database's plan row (commitment, public value, seed) and the audit log's commit and
draw rows, whose hash chain is checked first. The two records must agree with each other, and
the folder, its exports and the database's task rows must be what the re-run gives. The report
also lists every commitment made for the same item and as-of date, withdrawn ones with their
reasons, and every public value a draw of this plan was started with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipelines.audit_chain import ChainReport
from pipelines.draw.lifecycle import PlanState, TransitionRefused, check_actor
from pipelines.draw.plan import check_plan_id
from pipelines.draw.verify import Recorded, VerificationReport, verify_folder
from pipelines.planning import open_plan, plan_folder, same_batch, store
from pipelines.settings import Settings

BATCH_FIELDS = ("plan_id", "state", "commitment", "committed_at", "withdraw_reason")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class PlanVerification:
    """The folder's report, the records' disagreements, the chain, and the batch's commitments."""

    report: VerificationReport
    records: tuple[str, ...]
    chain: ChainReport
    batch: tuple[dict[str, Any], ...] = field(default=())
    started_values: tuple[str, ...] = ()

    @property
    def differences(self) -> tuple[str, ...]:
        chain = () if self.chain.ok else (f"audit log: hash chain broken: {self.chain.reason}",)
        return (*chain, *self.records, *self.report.differences)

    @property
    def ok(self) -> bool:
        return not self.differences

    def to_json(self) -> dict[str, Any]:
        return {
            "plan_id": self.report.plan_id,
            "ok": self.ok,
            "commitment": self.report.commitment,
            "public_value": self.report.public_value,
            "differences": list(self.differences),
            "audit_chain": self.chain.to_json(),
            "same_item_and_date": [{k: _text(p[k]) for k in BATCH_FIELDS} for p in self.batch],
            "public_values_started": list(self.started_values),
        }


def recorded_draw(plan_id: str, row: dict[str, Any], log: list[dict[str, Any]]) -> tuple[Recorded, list[str]]:
    """The commitment and public value recorded before the draw, and where the database's plan row
    and the audit log's commit and draw rows disagree about them."""
    found: list[str] = []
    commits = [e for e in log if e["action"] == "commit"]
    draws = [e for e in log if e["action"] == "draw"]
    for action, rows in (("commit", commits), ("draw", draws)):
        if len(rows) != 1:
            found.append(f"audit log: {len(rows)} {action} row(s) for the plan, expected 1")
    for e in commits:
        if e["detail"].get("commitment") != row["commitment"]:
            found.append(
                f"commitment: the database holds {row['commitment']}, the audit log's commit row (event "
                f"{e['event_id']}) {e['detail'].get('commitment')}"
            )
    for e in draws:
        for key in ("commitment", "public_value", "seed"):
            if e["detail"].get(key) != row[key]:
                found.append(
                    f"{key.replace('_', ' ')}: the database holds {row[key]!r}, the audit log's draw row (event "
                    f"{e['event_id']}) {e['detail'].get(key)!r}"
                )
    return Recorded(plan_id, row["commitment"], row["public_value"] or ""), found


def verify_plan(settings: Settings, plan_id: str, actor: str) -> PlanVerification:
    """Re-run the plan's draw against the recorded commitment and public value; log the result."""
    actor = check_actor(actor, check_plan_id(plan_id))
    ops, row = open_plan(settings, plan_id)
    if row["state"] in (PlanState.DRAFTED.value, PlanState.WITHDRAWN.value):
        raise TransitionRefused(f"plan {plan_id} is {row['state']}: there is no draw to verify")
    chain = ops.verify_audit_chain()
    recorded, disagreements = recorded_draw(plan_id, row, ops.audit_log(plan_id))
    started = ops.started_values(plan_id)
    if len(started) > 1:
        disagreements.append(f"audit log: the draw was started with {len(started)} public values: {started}")
    report = verify_folder(plan_folder(settings, plan_id), recorded, ops.tasks(plan_id))
    batch = tuple(same_batch(ops, row["item_code"], row["as_of"]))
    result = PlanVerification(report, tuple(disagreements), chain, batch, tuple(started))
    detail = {
        "ok": result.ok,
        "commitment": recorded.commitment,
        "public_value": recorded.public_value,
        "differences": list(result.differences)[:100],
    }
    ops.audit(actor, "verify", plan_id, detail)
    return result


def verify_audit(settings: Settings) -> ChainReport:
    """The whole audit log's hash chain, end to end."""
    return store(settings).verify_audit_chain()
