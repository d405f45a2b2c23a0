from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.draw.plan import Plan, PlanInputs, draw_plan, write_plan
from pipelines.draw.verify import Recorded, verify, verify_folder
from pipelines.settings import PROJECT_ROOT
from tests.pipelines.draw.factories import plan_arguments

LOTTERY = "2025-07-05 双色球 03 11 17 22 28 31 + 09"


def stored_inputs(**changes: object) -> PlanInputs:
    return PlanInputs.build(**(plan_arguments() | changes))


def recorded(plan: Plan) -> Recorded:
    return Recorded(plan.plan_id, plan.commitment, plan.public_value)


@settings(max_examples=25, deadline=None)
@given(st.text(min_size=1, max_size=40).filter(lambda s: s.strip()))
def test_a_plan_verifies_against_its_own_inputs(public_value: str) -> None:
    plan = draw_plan(public_value=public_value, **plan_arguments())
    report = verify(stored_inputs(), public_value, plan)
    assert report.ok, report.differences


def test_a_changed_pi_is_caught() -> None:
    plan = draw_plan(public_value=LOTTERY, **plan_arguments())
    forged = dataclasses.replace(plan.tasks[0], pi=plan.tasks[0].pi + 1e-9)
    report = verify(stored_inputs(), LOTTERY, dataclasses.replace(plan, tasks=(forged, *plan.tasks[1:])))
    assert not report.ok
    assert report.differences == (
        f"tasks: task differs: task {forged.task_id}: pi stored {forged.pi!r}, re-run {plan.tasks[0].pi!r}",
    )


def test_a_changed_roster_row_is_caught() -> None:
    plan = draw_plan(public_value=LOTTERY, **plan_arguments())
    roster = plan_arguments()["roster"]
    roster.loc[5, "station_town"] = "南海区甲街道"
    report = verify(stored_inputs(roster=roster), LOTTERY, plan)
    assert not report.ok
    assert report.differences[0].startswith("commitment: published")


def test_a_changed_public_value_is_caught() -> None:
    plan = draw_plan(public_value=LOTTERY, **plan_arguments())
    report = verify(stored_inputs(), LOTTERY.replace("09", "10"), plan)
    assert [d.split(":")[0] for d in report.differences[:2]] == ["public value", "seed"]
    assert any(d.startswith("tasks: task differs") for d in report.differences)


def test_a_folder_verifies_and_a_tampered_folder_does_not(tmp_path: Path) -> None:
    plan = draw_plan(public_value=LOTTERY, **plan_arguments())
    folder = write_plan(plan, tmp_path)
    assert verify_folder(folder, recorded(plan)).ok
    tasks_file = folder / "outputs" / "tasks.parquet"
    tasks = pd.read_parquet(tasks_file)
    tasks.loc[0, "inspector_2"] = "ZF0000"
    os.chmod(tasks_file, 0o644)
    tasks.to_parquet(tasks_file, index=False)
    report = verify_folder(folder, recorded(plan))
    assert len(report.differences) == 1 and "inspectors stored" in report.differences[0]


def test_a_tampered_design_file_is_caught(tmp_path: Path) -> None:
    plan = draw_plan(public_value=LOTTERY, **plan_arguments())
    folder = write_plan(plan, tmp_path)
    design_file = folder / "outputs" / "design.parquet"
    design = pd.read_parquet(design_file)
    design.loc[3, "pi"] = design.loc[3, "pi"] * 2  # e.g. to shrink a Horvitz–Thompson weight
    os.chmod(design_file, 0o644)
    design.to_parquet(design_file, index=False)
    report = verify_folder(folder, recorded(plan))
    assert len(report.differences) == 1 and report.differences[0].startswith(f"π differs: {design.loc[3, 'uscc']}")


@pytest.mark.slow
def test_another_process_draws_the_same_plan() -> None:
    # String hashing is salted per process; nothing in the draw may depend on it.
    script = (
        "from tests.pipelines.draw.factories import plan_arguments\n"
        "from pipelines.draw.plan import draw_plan\n"
        "p = draw_plan(public_value='公证员 2025-07-05', **plan_arguments(200))\n"
        "print(p.commitment, [(t.uscc, t.inspectors) for t in p.tasks])\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": salt},
            capture_output=True,
            text=True,
            check=True,
            cwd=PROJECT_ROOT,
        ).stdout
        for salt in ("1", "2")
    }
    assert len(outputs) == 1
