from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from pipelines.draw.eligible import DrawInputError
from pipelines.draw.plan import (
    CommitmentMismatchError,
    InfeasibleAssignmentError,
    PlanExistsError,
    PlanInputs,
    draw_plan,
    prepare,
    read_plan,
    write_plan,
)
from pipelines.draw.policy import AssignmentRules
from tests.pipelines.draw.factories import plan_arguments

LOTTERY = "2025-07-05 双色球 03 11 17 22 28 31 + 09"


def test_a_plan_draws_the_capacity_with_two_inspectors_each() -> None:
    plan = draw_plan(public_value=LOTTERY, **plan_arguments())
    tasks = plan.tasks_frame()
    assert tasks["district"].value_counts().to_dict() == {"禅城区": 5, "南海区": 5}
    assert tasks["uscc"].is_unique
    assert (tasks["inspector_1"] != tasks["inspector_2"]).all()
    design = plan.design.frame.set_index("uscc")["pi"]
    assert tasks.set_index("uscc")["pi"].equals(design.loc[tasks["uscc"]])  # each task carries its π
    assert plan.excluded == (("91440600TEST000000", "inspected on 2025-05-01, within 3 months before 2025-07-01"),)
    assert len(plan.seed) == 64 and plan.plan_id.endswith(plan.commitment[:12])


def test_the_same_inputs_and_public_value_give_the_same_plan() -> None:
    first = draw_plan(public_value=LOTTERY, **plan_arguments())
    again = draw_plan(public_value=LOTTERY, **plan_arguments())
    other = draw_plan(public_value=LOTTERY + " (re-drawn)", **plan_arguments())
    assert first == again
    assert first.commitment == other.commitment
    assert first.tasks != other.tasks


def test_an_impossible_assignment_stops_the_draw_with_reasons() -> None:
    # 5 tasks × 2 inspectors per district, but only 8 inspectors there with one task each.
    args = plan_arguments() | {"rules": AssignmentRules(workload_cap=1)}
    with pytest.raises(InfeasibleAssignmentError, match="workload cap 1 left fewer than 2 inspectors") as err:
        draw_plan(public_value=LOTTERY, **args)
    assert err.value.infeasible and all(f.rule == "workload cap 1" for f in err.value.infeasible)
    fillable = err.value.fillable_slots
    assert fillable is not None and fillable < 20
    assert f"no assignment under these rules fills more than {fillable} of the 20 slots" in str(err.value)
    assert 2 * (10 - len(err.value.infeasible)) == fillable  # the greedy served as many as possible


def test_model_and_scorecard_versions_are_required() -> None:
    with pytest.raises(DrawInputError, match="missing \\['scorecard'\\]"):
        draw_plan(public_value=LOTTERY, **(plan_arguments() | {"versions": {"model": "m1"}}))


def test_a_written_plan_reads_back_and_cannot_be_overwritten(tmp_path: Path) -> None:
    plan = draw_plan(public_value=LOTTERY, **plan_arguments())
    folder = write_plan(plan, tmp_path)
    assert read_plan(folder) == plan
    assert not list(tmp_path.glob(".*staging*"))
    with pytest.raises(PlanExistsError, match="immutable"):
        write_plan(plan, tmp_path)


def test_exports_have_chinese_headers_and_every_task(tmp_path: Path) -> None:
    plan = draw_plan(public_value=LOTTERY, **plan_arguments())
    folder = write_plan(plan, tmp_path)
    csv = pd.read_csv(folder / "exports" / "任务清单.csv", encoding="utf-8-sig", dtype=str)
    assert list(csv.columns) == [
        "任务编号",
        "统一社会信用代码",
        "企业名称",
        "所属区",
        "所属镇街",
        "检查事项",
        "检查人员1",
        "检查人员2",
    ]
    assert csv["任务编号"].tolist() == [t.task_id for t in plan.tasks]
    assert "risk" not in csv.columns and "credit_class" not in csv.columns  # classes stay internal
    book = load_workbook(folder / "exports" / "任务清单.xlsx", read_only=True)
    assert book.sheetnames == ["抽查任务", "计划信息"]
    rows = list(book["抽查任务"].iter_rows(values_only=True))
    assert rows[0][:2] == ("任务编号", "统一社会信用代码") and len(rows) == 1 + len(plan.tasks)
    info = dict(book["计划信息"].iter_rows(min_row=2, values_only=True))
    assert info["承诺值"] == plan.commitment and info["公开随机值"] == LOTTERY


def test_inputs_changed_after_the_commitment_are_refused() -> None:
    published = prepare(PlanInputs.build(**plan_arguments())).commitment
    args = plan_arguments()
    args["eligible"].loc[4, "risk"] = 0.99  # someone raises a firm's score after the commitment
    with pytest.raises(CommitmentMismatchError, match=f"expected the published commitment {published}"):
        draw_plan(public_value=LOTTERY, published_commitment=published, **args)
    assert draw_plan(public_value=LOTTERY, published_commitment=published, **plan_arguments()).commitment == published


def test_three_inspectors_per_task_export_three_columns(tmp_path: Path) -> None:
    args = plan_arguments() | {"rules": AssignmentRules(per_task=3, workload_cap=10)}
    plan = draw_plan(public_value=LOTTERY, **args)
    assert all(len(set(t.inspectors)) == 3 for t in plan.tasks)
    csv = pd.read_csv(write_plan(plan, tmp_path) / "exports" / "任务清单.csv", encoding="utf-8-sig", dtype=str)
    assert list(csv.columns[-3:]) == ["检查人员1", "检查人员2", "检查人员3"]


def test_the_strata_summary_reports_each_district() -> None:
    strata = draw_plan(public_value=LOTTERY, **plan_arguments()).design.strata.set_index("stratum")
    assert strata["capacity"].to_dict() == {"南海区": 5, "禅城区": 5}
    assert strata["sum_pi"].round(9).to_dict() == {"南海区": 5.0, "禅城区": 5.0}
    assert (strata["min_pi"] >= 0.05).all() and (strata["max_pi"] <= 0.9).all()
    assert strata["eligible"].sum() == 39  # 40 listed, one inspected within three months
