"""Threat: `kill -9` (a power cut, an operator's Ctrl-\\) between two writes of commit, draw or
record (issue 23, defect 4). The plan folder and the database, and the feedback labels and the
database, must end up both-or-neither: completed by the next command or by re-running.

Each case kills a real `regulens` process at a named point (`pipelines.faults`, REGULENS_FAULT),
so the kill lands between the same two writes every time; no timing is involved."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pipelines.draw.plan import execute, prepare, read_inputs, write_plan
from pipelines.faults import ENV
from pipelines.opsdb import OpsStore, default_url
from pipelines.plan_results import feedback_as_inspections, feedback_path
from pipelines.settings import PROJECT_ROOT, load_settings

pytestmark = pytest.mark.slow
DRAW = ("--as-of", "2025-07-01", "--item", "SJ-GS", "--capacity", "6", "--floor", "0.05")
PV = "2025-07-05 双色球 03 11 17 22 28 31 + 09"


def regulens(home: Path, *args: str, fault: str | None = None) -> tuple[int, dict]:
    """Run the real CLI in its own process; with `fault`, it is killed at that point."""
    env = {k: v for k, v in os.environ.items() if k != ENV} | ({ENV: fault} if fault else {})
    done = subprocess.run(
        [sys.executable, "-m", "pipelines", "--json", "--data-home", str(home), *args],
        capture_output=True, text=True, env=env, cwd=PROJECT_ROOT, timeout=300,
    )  # fmt: skip
    out = done.stdout.strip()
    return done.returncode, (json.loads(out) if out.startswith("{") else {"output": done.stdout + done.stderr})


def killed(code: int) -> bool:
    return code == -signal.SIGKILL


def state(home: Path, plan_id: str) -> str:
    return str(OpsStore(default_url(home)).plan(plan_id)["state"])


@pytest.mark.parametrize("point", ["draw:after_start", "draw:after_folder", "draw:after_database"])
def test_a_draw_killed_at_any_step_is_completed_by_the_next_command_or_a_rerun(plan_home: Path, point: str) -> None:
    code, committed = regulens(plan_home, "plan", "commit", *DRAW, "--actor", "张科长")
    assert code == 0, committed
    plan_id = committed["plan_id"]
    code, _ = regulens(plan_home, "plan", "draw", "--plan", plan_id, "--public-value", PV, "--actor", "王", fault=point)
    assert killed(code), f"{point} was not reached"
    folder = plan_home / "lake" / "plans" / plan_id

    # The next command, whatever it is, sees a consistent plan: no folder for a drafted plan.
    code, status = regulens(plan_home, "plan", "status", plan_id)
    assert code == 0, status
    assert (status["state"] == "drawn") == folder.exists()
    if point == "draw:after_start":
        assert status["state"] == "drafted"  # nothing drawn: the draw is simply run again
        code, drawn = regulens(plan_home, "plan", "draw", "--plan", plan_id, "--public-value", PV, "--actor", "王")
        assert code == 0 and drawn["tasks"] == 6, drawn
    else:
        assert status["state"] == "drawn" and status["public_value"] == PV
        code, again = regulens(plan_home, "plan", "draw", "--plan", plan_id, "--public-value", PV, "--actor", "王")
        assert code == 0 and again["tasks"] == 6  # re-running the same draw returns it
    code, report = regulens(plan_home, "plan", "verify", plan_id)
    assert code == 0 and report["differences"] == [], report
    actions = [e["action"] for e in OpsStore(default_url(plan_home)).audit_log(plan_id)]
    assert actions.count("draw") == 1
    code, out = regulens(plan_home, "plan", "export", plan_id, "--format", "xlsx")
    assert code == 0, out


def test_a_folder_with_a_public_value_never_started_is_set_aside_not_adopted(plan_home: Path) -> None:
    """A folder that appears for a drafted plan without a recorded start (written by hand, or by a
    draw whose start row was deleted) is moved aside with a reason, and the plan stays drawable."""
    code, committed = regulens(plan_home, "plan", "commit", *DRAW, "--actor", "张科长")
    plan_id = committed["plan_id"]
    forged = execute(prepare(read_inputs(plan_home / "lake" / "commitments" / plan_id)), "chosen later")
    write_plan(forged, plan_home / "lake" / "plans")
    code, status = regulens(plan_home, "plan", "status", plan_id)
    assert code == 0 and status["state"] == "drafted"
    assert not (plan_home / "lake" / "plans" / plan_id).exists()
    assert len(list((plan_home / "lake" / "plans" / ".set-aside").iterdir())) == 1
    log = OpsStore(default_url(plan_home)).audit_log(plan_id)
    assert log[-1]["action"] == "draw folder set aside" and "was never started" in log[-1]["detail"]["problems"][0]
    code, drawn = regulens(plan_home, "plan", "draw", "--plan", plan_id, "--public-value", PV, "--actor", "王")
    assert code == 0 and drawn["public_value"] == PV


@pytest.mark.parametrize("point", ["record:after_feedback", "record:after_database"])
def test_a_record_killed_at_any_step_never_publishes_labels_the_database_lacks(plan_home: Path, point: str) -> None:
    code, drawn = regulens(plan_home, "plan", "draw", *DRAW, "--public-value", PV, "--actor", "张科长")
    assert code == 0, drawn
    plan_id = drawn["plan_id"]
    rows = [f"{k},发现问题已责令改正,2025-08-{k:02d}" for k in range(1, 7)]
    (plan_home / "r.csv").write_text("\n".join(["task_id,result,inspection_date", *rows]) + "\n", encoding="utf-8")
    record = ("plan", "record", plan_id, "--file", str(plan_home / "r.csv"), "--actor", "李四")
    assert killed(regulens(plan_home, *record, fault=point)[0]), f"{point} was not reached"

    stored = OpsStore(default_url(plan_home)).results(plan_id)
    labels = feedback_as_inspections(load_settings(data_home=plan_home))  # what the next profile reads
    assert set(labels["inspection_id"]) == {r["task_id"] for r in stored}
    path = feedback_path(load_settings(data_home=plan_home), plan_id)
    if point == "record:after_feedback":
        assert stored == [] and not path.exists()
        code, out = regulens(plan_home, *record)  # recoverable by re-running
        assert code == 0 and out["recorded"] == 6, out
    else:
        assert len(stored) == 6 and len(pd.read_parquet(path)) == 6
        code, out = regulens(plan_home, *record)
        assert code == 2 and "already has a result" in out["output"]
    assert len(pd.read_parquet(path)) == len(OpsStore(default_url(plan_home)).results(plan_id)) == 6


def test_a_commit_killed_between_its_folder_and_its_row_can_be_committed_again(plan_home: Path) -> None:
    args = ("plan", "commit", *DRAW, "--actor", "张科长")
    assert killed(regulens(plan_home, *args, fault="commit:after_folder")[0])
    assert OpsStore(default_url(plan_home)).plans() == []
    code, committed = regulens(plan_home, *args)
    assert code == 0, committed
    assert state(plan_home, committed["plan_id"]) == "drafted"
