"""Threat: someone with write access to the lake (or the database) changes who is inspected after
the public value is known, and hopes `plan verify` does not notice (issue 23, defects 1-3, 5, 6).

Every attack below writes a folder that is consistent with itself; only the records made before
the draw (the commitment and public value in the database and the audit log) expose it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import update
from typer.testing import CliRunner

from pipelines import planning
from pipelines.cli import app
from pipelines.draw.plan import PlanInputs, execute, prepare, read_inputs, write_plan
from pipelines.opsdb import OpsStore, default_url, plans_table, tasks_table
from pipelines.settings import load_settings

runner = CliRunner(env={"TERMINAL_WIDTH": "200", "COLUMNS": "200"})
DRAW = ("--as-of", "2025-07-01", "--item", "SJ-GS", "--capacity", "6", "--floor", "0.05")
PV = "2025-07-05 双色球 03 11 17 22 28 31 + 09"


def plan(home: Path, *args: str) -> tuple[int, dict]:
    result = runner.invoke(app, ["--json", "--data-home", str(home), "plan", *args])
    if result.stdout.strip().startswith("{"):
        return result.exit_code, json.loads(result.stdout)
    return result.exit_code, {"output": result.output}


def drawn(home: Path) -> tuple[str, Path]:
    code, out = plan(home, "draw", *DRAW, "--public-value", PV, "--actor", "张科长")
    assert code == 0, out
    return out["plan_id"], Path(out["folder"])


def writable(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)


def overwrite(folder: Path, forged_root: Path) -> None:
    """Replace the plan folder by a forged one, as an attacker with write access to the lake would."""
    writable(folder)
    shutil.rmtree(folder)
    shutil.copytree(forged_root, folder)


def test_an_honest_plan_verifies_and_verify_prints_the_records_it_used(plan_home: Path) -> None:
    plan_id, _ = drawn(plan_home)
    code, report = plan(plan_home, "verify", plan_id)
    assert code == 0 and report["differences"] == [] and report["audit_chain"]["ok"]
    assert report["public_value"] == PV and report["commitment"].startswith(plan_id.rsplit("-", 1)[1])
    text = runner.invoke(app, ["--data-home", str(plan_home), "plan", "verify", plan_id]).output
    assert f"against commitment {report['commitment']}" in text and "public value" in text and "双色球" in text


def test_defect_1_a_redraw_with_another_public_value_written_over_the_folder_fails(
    plan_home: Path, tmp_path: Path
) -> None:
    plan_id, folder = drawn(plan_home)
    redraw = execute(prepare(read_inputs(folder)), "a value chosen afterwards")
    assert redraw.plan_id == plan_id  # same inputs, same id: a self-consistent folder
    overwrite(folder, write_plan(redraw, tmp_path / "forged"))
    code, report = plan(plan_home, "verify", plan_id)
    assert code == 1
    assert any(d.startswith("public value: plan.json holds 'a value chosen afterwards'") for d in report["differences"])
    assert any(d.startswith("tasks.parquet: task differs") for d in report["differences"])


def test_defect_1_a_redraw_under_a_forged_commitment_that_drops_a_firm_fails(plan_home: Path, tmp_path: Path) -> None:
    plan_id, folder = drawn(plan_home)
    inputs = read_inputs(folder)
    spared = inputs.eligible["uscc"].iat[0]
    forged_inputs = PlanInputs.build(
        inputs.eligible.iloc[1:], inputs.roster, inputs.conflicts, inputs.policy, inputs.capacity, inputs.rules,
        inputs.as_of, inputs.versions,
    )  # fmt: skip
    forged = execute(prepare(forged_inputs), PV)
    overwrite(folder, write_plan(forged, tmp_path / "forged") )
    code, report = plan(plan_home, "verify", plan_id)
    assert code == 1
    assert any(d.startswith(f"plan id: {plan_id} is not the id") or d.startswith("commitment: plan.json holds")
               for d in report["differences"])  # fmt: skip
    assert any(d.startswith("inputs: the stored inputs hash to") for d in report["differences"])
    assert spared not in set(pd.read_parquet(folder / "inputs" / "eligible.parquet")["uscc"])


def _tamper_parquet(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    frame = pd.read_parquet(path)
    os.chmod(path, 0o644)
    change(frame).to_parquet(path, index=False)


def test_defect_2_swapped_firms_and_duplicate_rows_in_tasks_parquet_fail(plan_home: Path) -> None:
    plan_id, folder = drawn(plan_home)
    tasks_file = folder / "outputs" / "tasks.parquet"
    original = tasks_file.read_bytes()

    def swap(frame: pd.DataFrame) -> pd.DataFrame:  # the inspector pairs stay where they were
        frame.loc[[0, 1], ["uscc", "name"]] = frame.loc[[1, 0], ["uscc", "name"]].to_numpy()
        return frame

    _tamper_parquet(tasks_file, swap)
    code, report = plan(plan_home, "verify", plan_id)
    assert code == 1 and any("task differs" in d and ": uscc stored" in d for d in report["differences"])

    tasks_file.write_bytes(original)
    _tamper_parquet(tasks_file, lambda f: pd.concat([f, f.iloc[[2]]], ignore_index=True))
    code, report = plan(plan_home, "verify", plan_id)
    assert code == 1
    assert any(d.startswith("tasks.parquet: task id stored more than once") for d in report["differences"])

    tasks_file.write_bytes(original)
    _tamper_parquet(tasks_file, lambda f: f.iloc[[1, 0, *range(2, len(f))]])
    code, report = plan(plan_home, "verify", plan_id)
    assert code == 1 and any(d.startswith("tasks.parquet: task order differs") for d in report["differences"])


def test_defect_2_tampered_exports_fail_verify_and_are_not_served(plan_home: Path, tmp_path: Path) -> None:
    plan_id, folder = drawn(plan_home)
    csv_file, xlsx_file = folder / "exports" / "任务清单.csv", folder / "exports" / "任务清单.xlsx"
    original_csv = csv_file.read_bytes()
    os.chmod(csv_file, 0o644)
    header, *rows = original_csv.decode("utf-8-sig").splitlines(keepends=True)
    csv_file.write_bytes(("\ufeff" + header + "".join(reversed(rows))).encode("utf-8"))  # reordered rows
    code, report = plan(plan_home, "verify", plan_id)
    assert code == 1 and any(d.startswith("exports: 任务清单.csv is not the re-run's") for d in report["differences"])
    code, refused = plan(plan_home, "export", plan_id, "--format", "csv", "--out", str(tmp_path / "copy.csv"))
    assert code == 1 and "not the task list recorded at the draw" in refused["output"]
    assert not (tmp_path / "copy.csv").exists()
    csv_file.write_bytes(original_csv)

    os.chmod(xlsx_file, 0o644)
    book = load_workbook(xlsx_file)
    sheet = book["抽查任务"]
    sheet["B2"] = "91440600TEST999999"  # another firm
    sheet["G2"] = "ZF9999"  # another inspector
    book.save(xlsx_file)
    code, report = plan(plan_home, "verify", plan_id)
    assert code == 1
    assert any(d.startswith("exports: 任务清单.xlsx differs: 抽查任务!B2") for d in report["differences"])
    assert any(d.startswith("exports: 任务清单.xlsx differs: 抽查任务!G2") for d in report["differences"])
    code, refused = plan(plan_home, "export", plan_id, "--format", "xlsx")
    assert code == 1
    assert plan(plan_home, "export", plan_id, "--format", "csv")[0] == 0  # the untouched CSV is still served


def test_defect_2_edits_to_the_database_rows_fail(plan_home: Path) -> None:
    plan_id, _ = drawn(plan_home)
    ops = OpsStore(default_url(plan_home))
    first = ops.tasks(plan_id)[0]
    row = update(tasks_table).where(tasks_table.c.task_id == first["task_id"])
    with ops.engine.begin() as con:
        con.execute(row.values(inspectors=["ZF9999", "ZF0001"]))
    code, report = plan(plan_home, "verify", plan_id)
    assert code == 1 and any(d.startswith(f"database: task differs: task {first['task_id']}: inspectors")
                             for d in report["differences"])  # fmt: skip
    with ops.engine.begin() as con:
        con.execute(row.values(inspectors=first["inspectors"]))
        con.execute(update(plans_table).where(plans_table.c.plan_id == plan_id).values(public_value="another value"))
    code, report = plan(plan_home, "verify", plan_id)
    assert code == 1
    assert any(d.startswith("public value: the database holds 'another value', the audit log's draw row")
               for d in report["differences"])  # fmt: skip


def test_defect_3_a_second_open_commitment_is_refused_and_withdrawals_are_listed(plan_home: Path) -> None:
    code, first = plan(plan_home, "commit", *DRAW, "--actor", "张科长")
    assert code == 0, first
    grind = DRAW[:-1] + ("0.0500004",)  # the same plan, a floor that differs in the seventh decimal
    code, refused = plan(plan_home, "commit", *grind, "--actor", "张科长")
    assert code == 2 and f"plan {first['plan_id']}" in refused["output"]
    assert "is committed and not drawn" in refused["output"]
    assert len(plan(plan_home, "list")[1]["plans"]) == 1

    code, out = plan(plan_home, "withdraw", first["plan_id"], "--reason", " ", "--actor", "张科长")
    assert code == 2 and "needs a reason" in out["output"]
    code, out = plan(plan_home, "withdraw", first["plan_id"], "--reason", "花名册有误", "--actor", "张科长")
    assert code == 0 and out["state"] == "withdrawn"
    code, second = plan(plan_home, "commit", *grind, "--actor", "张科长")
    assert code == 0, second
    code, out = plan(plan_home, "draw", "--plan", first["plan_id"], "--public-value", PV, "--actor", "王")
    assert code == 2 and "withdrawn" in out["output"]  # a withdrawn commitment is never drawn
    code, _ = plan(plan_home, "draw", "--plan", second["plan_id"], "--public-value", PV, "--actor", "王公证员")
    assert code == 0

    code, report = plan(plan_home, "verify", second["plan_id"])
    assert code == 0
    batch = {p["plan_id"]: p for p in report["same_item_and_date"]}
    assert batch[first["plan_id"]]["state"] == "withdrawn"
    assert batch[first["plan_id"]]["withdraw_reason"] == "花名册有误"
    text = runner.invoke(app, ["--data-home", str(plan_home), "plan", "verify", second["plan_id"]]).output
    assert "2 commitments for this item and as-of date" in text and "withdrawn: 花名册有误" in text

    rows = [f"{k},未发现问题,2025-08-{k:02d}" for k in range(1, 7)]
    (plan_home / "r.csv").write_text("\n".join(["task_id,result,inspection_date", *rows]) + "\n", encoding="utf-8")
    assert plan(plan_home, "record", second["plan_id"], "--file", str(plan_home / "r.csv"), "--actor", "李四")[0] == 0
    code, published = plan(plan_home, "publish", second["plan_id"], "--on", "2025-09-01", "--actor", "张科长")
    assert code == 0 and published["same_item_and_date"] == 2
    listed = pd.read_excel(published["xlsx"], sheet_name="同批承诺", dtype=str)
    assert set(listed["计划编号"]) == {first["plan_id"], second["plan_id"]}
    assert listed.set_index("计划编号").loc[first["plan_id"], "撤回原因"] == "花名册有误"
    assert (Path(published["csv"]).parent / "同批承诺.csv").exists()


def test_defect_3_a_committed_plan_gets_one_public_value(plan_home: Path) -> None:
    code, committed = plan(plan_home, "commit", *DRAW, "--actor", "张科长")
    settings = load_settings(data_home=plan_home)
    OpsStore(default_url(plan_home)).start_draw(committed["plan_id"], "first value", "张科长")  # then a crash
    better = ("--public-value", "better value")
    code, out = plan(plan_home, "draw", "--plan", committed["plan_id"], *better, "--actor", "张")
    assert code == 2 and "its draw was started with public value 'first value'" in out["output"]
    assert planning.draw_committed(settings, committed["plan_id"], "first value", "张科长").tasks == 6


@pytest.mark.parametrize(
    "command",
    [
        ("verify", "../../../outside/evilplan"),
        ("export", "../../etc"),
        ("status", "DRAW-20250701-../../x"),
        ("verify", "DRAW-20250701-0123456789ab/../../../outside/evilplan"),  # a valid id, then a path
        ("record", "../x", "--task", "1", "--result", "未发现问题", "--actor", "李四"),
        ("publish", "/tmp/x", "--actor", "李四"),
        ("withdraw", "..", "--reason", "r", "--actor", "李四"),
        ("draw", "--plan", "../../x", "--public-value", "v", "--actor", "李四"),
        ("audit", "../x"),
    ],
)
def test_defect_5_a_plan_id_that_is_a_path_is_refused_before_any_path_is_built(
    plan_home: Path, tmp_path: Path, command: tuple[str, ...]
) -> None:
    outside = tmp_path / "outside" / "evilplan"
    outside.mkdir(parents=True)
    code, out = plan(plan_home, *command)
    assert code == 2 and "expected a plan id like DRAW-20250701-0123456789ab" in out["output"], out
    events = OpsStore(default_url(plan_home)).audit_log()
    assert events == []  # nothing was recorded under a forged id


def test_defect_6_the_loser_of_a_race_is_told_what_the_plan_was_drawn_with(
    plan_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, committed = plan(plan_home, "commit", *DRAW, "--actor", "张科长")
    plan_id = committed["plan_id"]
    settings = load_settings(data_home=plan_home)
    real_write = planning.write_plan

    def the_other_run_wins_first(drawn_plan, root):  # type: ignore[no-untyped-def]
        monkeypatch.setattr(planning, "write_plan", real_write)
        planning.draw_committed(settings, plan_id, PV, "另一位")  # same public value, finishes first
        return real_write(drawn_plan, root)

    monkeypatch.setattr(planning, "write_plan", the_other_run_wins_first)
    with pytest.raises(planning.TransitionRefused) as refused:
        planning.draw_committed(settings, plan_id, PV, "张科长")
    message = str(refused.value)
    assert f"was drawn meanwhile by another run, with public value {PV!r} (the same value)" in message
    assert "rerun" not in message and "changed nothing" in message
    assert OpsStore(default_url(plan_home)).plan(plan_id)["state"] == "drawn"

    # A late run with another value is told the plan is drawn, and with what.
    code, out = plan(plan_home, "draw", "--plan", plan_id, "--public-value", "pv-B", "--actor", "张科长")
    assert code == 2 and f"is drawn with public value {PV!r}" in out["output"]
    assert plan(plan_home, "verify", plan_id)[0] == 0
