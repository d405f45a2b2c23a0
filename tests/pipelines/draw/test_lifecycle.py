"""The plan lifecycle's transition table, and the operational store enforcing it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pipelines.draw.lifecycle import ALLOWED, PlanState, TransitionRefused, check_transition
from pipelines.opsdb import OpsStore


def test_the_table_allows_only_the_documented_path() -> None:
    allowed = {(a.value, b.value) for a, targets in ALLOWED.items() for b in targets}
    assert allowed == {("drafted", "drawn"), ("drafted", "withdrawn"), ("drawn", "recording"),
                       ("recording", "recording"), ("recording", "published")}  # fmt: skip
    with pytest.raises(TransitionRefused, match="allowed from drafted: drawn, withdrawn"):
        check_transition(PlanState.DRAFTED, PlanState.PUBLISHED, "P1")
    with pytest.raises(TransitionRefused, match="nothing \\(final state\\)"):
        check_transition(PlanState.PUBLISHED, PlanState.RECORDING, "P1")


def test_store_refuses_results_before_the_draw_and_keeps_the_audit_trail(tmp_path: Path) -> None:
    ops = OpsStore(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    row = {
        "plan_id": "P1",
        "as_of": dt.date(2025, 7, 1),
        "item_code": "SJ-GS",
        "item": "企业公示信息情况检查",
        "commitment": "c" * 64,
        "capacity": 1,
        "listed": 10,
        "versions": {"model": "m@1"},
        "committed_at": dt.datetime(2025, 7, 1, tzinfo=dt.UTC),
    }
    assert not ops.has_plan("P1")
    ops.add_plan(row, "张", {"commitment": "c" * 64})
    assert ops.has_plan("P1") and not ops.has_plan("P2")
    result = {"task_id": "P1-000001", "category": "未发现问题", "found": False, "inspection_date": dt.date(2025, 7, 9)}
    with pytest.raises(TransitionRefused, match="drafted; it cannot become recording"):
        ops.record_results("P1", [result], "李")
    task = {"task_id": "P1-000001", "uscc": "U1", "name": "n", "district": "d", "town": "t", "item": "i",
            "stratum": "全市", "pi": 0.1, "risk": 0.2, "inspectors": ["ZF1", "ZF2"]}  # fmt: skip
    ops.mark_drawn("P1", {"seed": "s" * 64, "public_value": "v"}, [task], "张", {})
    assert ops.record_results("P1", [result], "李") == 1
    ops.mark_published("P1", dt.date(2025, 7, 20), "notice.csv", "张", {})
    assert ops.plan("P1")["state"] == "published"
    assert [e["action"] for e in ops.audit_log("P1")] == ["commit", "draw", "record", "publish"]
    with pytest.raises(LookupError, match="no plan 'P2'"):
        ops.plan("P2")
