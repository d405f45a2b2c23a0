"""`regulens plan` refusals that must leave the previous state usable: blank actors, unknown boost
targets, impossible dates, unreadable result files, unwritable folders.

A tiny lake (24 firms, 12 inspectors; the draw factories' frames) instead of the generated city,
so that each test takes a second. Every refusal is one line and exit code 2, and nothing changes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from pipelines import plan_results, planning
from pipelines.cli import app
from pipelines.draw.policy import Capacity, DrawPolicy
from pipelines.opsdb import OpsStore, default_url
from pipelines.planning import DrawRequest, commit_plan, draw_committed
from pipelines.settings import load_settings
from tests.pipelines.draw.factories import tiny_plan_home

runner = CliRunner(env={"TERMINAL_WIDTH": "200", "COLUMNS": "200"})
AS_OF = "2025-07-01"
DRAW = ("--as-of", AS_OF, "--item", "SJ-GS", "--capacity", "6", "--floor", "0.05")
FAR_FUTURE = "2099-01-01"  # after any "today" this test will run on


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A data home with bronze registration, inspections, roster and conflicts, scores and grades."""
    return tiny_plan_home(tmp_path / "home", AS_OF)


def plan(home: Path, *args: str) -> tuple[int, dict]:
    """Run `regulens --json plan ARGS`: (exit code, the JSON summary or {"output": the one error line})."""
    result = runner.invoke(app, ["--json", "--data-home", str(home), "plan", *args])
    if result.exit_code == 0:
        return 0, json.loads(result.stdout)
    assert result.exit_code == 2, f"exit {result.exit_code}: {result.output} {result.exception!r}"
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output  # one line, no traceback
    return 2, {"output": lines[0]}


def drawn_plan(home: Path) -> str:
    code, drawn = plan(home, "draw", *DRAW, "--public-value", "lottery 1", "--actor", "张科长")
    assert code == 0, drawn
    return drawn["plan_id"]


def state_of(home: Path, plan_id: str) -> tuple[str, int, list[str]]:
    """(state, results recorded, audit actions) of a plan."""
    _, status = plan(home, "status", plan_id, "--on", "2025-12-31")
    _, audit = plan(home, "audit", plan_id)
    return status["state"], status["recorded"], [e["action"] for e in audit["events"]]


def test_a_blank_actor_is_refused_by_every_command_that_records_one(home: Path) -> None:
    for blank in ("", "   "):
        code, out = plan(home, "commit", *DRAW, "--actor", blank)
        assert code == 2 and "every step needs an actor (--actor NAME" in out["output"]
        code, out = plan(home, "draw", *DRAW, "--public-value", "v", "--actor", blank)
        assert code == 2 and "needs an actor" in out["output"]
    assert plan(home, "list")[1]["plans"] == []
    assert not (home / "lake" / "commitments").exists() or not any((home / "lake" / "commitments").iterdir())

    code, committed = plan(home, "commit", *DRAW, "--actor", "张科长")
    assert code == 0, committed
    plan_id = committed["plan_id"]
    code, out = plan(home, "draw", "--plan", plan_id, "--public-value", "v", "--actor", " ")
    assert code == 2 and "needs an actor" in out["output"]
    assert plan(home, "draw", "--plan", plan_id, "--public-value", "v", "--actor", "王公证员")[0] == 0
    for command in (
        ("verify", plan_id, "--actor", ""),
        ("record", plan_id, "--task", "1", "--result", "未发现问题", "--date", "2025-07-10", "--actor", ""),
        ("publish", plan_id, "--on", "2025-07-20", "--actor", "\t"),
    ):
        code, out = plan(home, *command)
        assert code == 2 and "needs an actor" in out["output"], command
    assert state_of(home, plan_id) == ("drawn", 0, ["commit", "draw started", "draw"])
    events = plan(home, "audit")[1]["events"]
    assert all(e["actor"].strip() for e in events)


def test_a_boost_of_an_unknown_district_or_industry_is_refused_before_the_commitment(home: Path) -> None:
    for target in ("火星区:99", "禅城区:99", "禅城:52", ":99"):
        code, out = plan(home, "commit", *DRAW, "--boost", f"{target}=2", "--actor", "张科长")
        assert code == 2 and f"boost {target} matches no firm on the list" in out["output"], out
        assert "['南海区', '禅城区']" in out["output"] and "['33', '52', '72']" in out["output"]
    assert plan(home, "list")[1]["plans"] == []
    code, committed = plan(home, "commit", *DRAW, "--boost", "禅城区:52=2", "--boost", ":72=1.5", "--actor", "张科长")
    assert code == 0, committed


def test_impossible_dates_are_refused_and_change_nothing(home: Path) -> None:
    plan_id = drawn_plan(home)
    record = ("record", plan_id, "--actor", "李四")
    code, out = plan(home, *record, "--task", "1", "--result", "未发现问题", "--date", FAR_FUTURE)
    assert code == 2 and f"inspection date {FAR_FUTURE} is in the future; expected 2025-07-01 .. today" in out["output"]
    code, out = plan(home, *record, "--task", "1", "--result", "未发现问题", "--date", "2025-06-30")
    assert code == 2 and "before the plan's as-of date; expected 2025-07-01 .. today" in out["output"]
    code, out = plan(home, *record, "--task", "1", "--result", "未发现问题", "--date", "20250710")
    assert code == 2 and "inspection date: expected a date YYYY-MM-DD, got '20250710'" in out["output"]
    (home / "junk.csv").write_text("task_id,result,inspection_date\n1,未发现问题,2025-08-01junk\n", encoding="utf-8")
    code, out = plan(home, *record, "--file", str(home / "junk.csv"))
    assert code == 2 and "inspection date: expected a date YYYY-MM-DD, got '2025-08-01junk'" in out["output"]
    assert state_of(home, plan_id) == ("drawn", 0, ["commit", "draw started", "draw"])

    rows = [f"{k},未发现问题,2025-08-{k:02d}" for k in range(1, 6)] + ["6,未按规定公示,2025-09-01"]
    (home / "results.csv").write_text("\n".join(["task_id,result,inspection_date", *rows]) + "\n", encoding="utf-8")
    code, recorded = plan(home, *record, "--file", str(home / "results.csv"))
    assert code == 0 and recorded["recorded"] == 6
    code, out = plan(home, "publish", plan_id, "--on", "2025-08-01", "--actor", "张科长")
    assert code == 2 and "2025-08-01 is before the last inspection; expected 2025-09-01 .. today" in out["output"]
    code, out = plan(home, "publish", plan_id, "--on", FAR_FUTURE, "--actor", "张科长")
    assert code == 2 and f"publication date {FAR_FUTURE} is in the future" in out["output"]
    assert state_of(home, plan_id)[0] == "recording"
    code, published = plan(home, "publish", plan_id, "--on", "2025-09-05", "--actor", "张科长")
    assert code == 0 and published["published_on"] == "2025-09-05"


def test_record_stores_nothing_when_the_labels_cannot_be_written(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan_id = drawn_plan(home)

    def unwritable(table: object, path: Path) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(plan_results, "write_parquet_atomic", unwritable)
    args = ("record", plan_id, "--task", "1", "--result", "未发现问题", "--date", "2025-07-10", "--actor", "李四")
    code, out = plan(home, *args)
    assert code == 2 and "cannot write the training labels" in out["output"]
    assert "nothing was recorded" in out["output"]
    assert state_of(home, plan_id) == ("drawn", 0, ["commit", "draw started", "draw"])

    monkeypatch.undo()  # the folder is writable again: the same result is accepted
    code, recorded = plan(home, *args)
    assert code == 0 and recorded["recorded"] == 1
    assert pd.read_parquet(recorded["feedback"])["task_id"].tolist() == [f"{plan_id}-000001"]


def test_result_files_that_cannot_be_read_are_one_line_errors(home: Path) -> None:
    plan_id = drawn_plan(home)
    exported = home / "lake" / "plans" / plan_id / "exports" / "任务清单.xlsx"
    (home / "empty.csv").write_bytes(b"")
    (home / "blank.csv").write_text("\n\n", encoding="utf-8")
    (home / "binary.csv").write_bytes(bytes(range(256)) * 4)
    (home / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0" + bytes(60))
    (home / "folder").mkdir()
    expected = {
        "empty.csv": "is empty; expected a CSV (UTF-8 or GBK) or an Excel .xlsx",
        "blank.csv": "not a readable CSV",
        "binary.csv": "neither UTF-8 nor GBK text",
        "old.xls": "an old Excel .xls; save it as .xlsx or CSV",
        "folder": "is a folder; expected a results file",
    }
    for name, message in expected.items():
        code, out = plan(home, "record", plan_id, "--file", str(home / name), "--actor", "李四")
        assert code == 2 and message in out["output"], (name, out)
    code, out = plan(home, "record", plan_id, "--file", str(exported), "--actor", "李四")
    assert code == 2 and "no column result (检查结果) among ['任务编号'" in out["output"]
    assert state_of(home, plan_id) == ("drawn", 0, ["commit", "draw started", "draw"])

    # GBK, as a Chinese Excel saves a CSV, is read.
    gbk = "任务编号,检查结果,检查日期\n1,未发现问题,2025-07-10\n"
    (home / "gbk.csv").write_bytes(gbk.encode("gbk"))
    code, recorded = plan(home, "record", plan_id, "--file", str(home / "gbk.csv"), "--actor", "李四")
    assert code == 0 and recorded["recorded"] == 1

    # The exported task list with 检查结果 and 检查日期 filled in (date cells and text) is read.
    book = load_workbook(exported)
    sheet = book.worksheets[0]
    column = sheet.max_column
    sheet.cell(1, column + 1, "检查结果")
    sheet.cell(1, column + 2, "检查日期")
    sheet.delete_rows(2)  # task 1 is recorded already
    for row in range(2, sheet.max_row + 1):
        sheet.cell(row, column + 1, "未发现问题")
        sheet.cell(row, column + 2, dt.datetime(2025, 7, 11) if row % 2 else "2025-07-12")
    book.save(home / "filled.xlsx")
    code, recorded = plan(home, "record", plan_id, "--file", str(home / "filled.xlsx"), "--actor", "李四")
    assert code == 0 and recorded["recorded"] == 5
    dates = pd.read_parquet(recorded["feedback"])["inspection_date"].dt.strftime("%Y-%m-%d")
    assert sorted(set(dates)) == ["2025-07-10", "2025-07-11", "2025-07-12"]


def test_an_unwritable_plan_folder_leaves_the_plan_drafted_and_drawable(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unwritable(drawn: object, root: Path) -> Path:
        raise PermissionError(13, "Permission denied", str(root))

    monkeypatch.setattr(planning, "write_plan", unwritable)
    code, out = plan(home, "draw", *DRAW, "--public-value", "lottery 1", "--actor", "张科长")
    assert code == 2 and "cannot write the plan folder" in out["output"]
    plan_id = out["output"].split("stays drafted")[0].split()[-1]
    assert f"regulens plan draw --plan {plan_id} --public-value 'lottery 1'" in out["output"]
    assert [(p["plan_id"], p["state"]) for p in plan(home, "list")[1]["plans"]] == [(plan_id, "drafted")]

    monkeypatch.undo()
    code, drawn = plan(home, "draw", "--plan", plan_id, "--public-value", "lottery 1", "--actor", "张科长")
    assert code == 0 and drawn["tasks"] == 6
    assert state_of(home, plan_id) == ("drawn", 0, ["commit", "draw started", "draw failed", "draw started", "draw"])


def test_a_failed_database_write_is_completed_by_the_next_command(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commit writes its folder, then the database; if the database fails, the folder goes too, or
    the same inputs could never be committed again. A draw whose database write fails keeps its
    folder: the next command verifies it against the recorded commitment and started public value
    and marks the plan drawn."""
    settings = load_settings(data_home=home)
    request = DrawRequest(dt.date(2025, 7, 1), "SJ-GS", Capacity(total=6), DrawPolicy(floor=0.05))

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(OpsStore, "add_plan", broken)
    with pytest.raises(RuntimeError, match="locked"):
        commit_plan(settings, request, "张科长")
    monkeypatch.undo()
    committed = commit_plan(settings, request, "张科长")

    monkeypatch.setattr(OpsStore, "mark_drawn", broken)
    with pytest.raises(RuntimeError, match="locked"):
        draw_committed(settings, committed.plan_id, "lottery 1", "张科长")
    assert (home / "lake" / "plans" / committed.plan_id).exists()
    assert OpsStore(default_url(home)).plan(committed.plan_id)["state"] == "drafted"
    monkeypatch.undo()
    assert draw_committed(settings, committed.plan_id, "lottery 1", "张科长").tasks == 6
    log = OpsStore(default_url(home)).audit_log(committed.plan_id)
    assert [e["action"] for e in log] == ["commit", "draw started", "draw"] and log[-1]["detail"]["recovered"]


def test_a_notice_is_written_whole_or_not_at_all(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan_id = drawn_plan(home)
    rows = [f"{k},未发现问题,2025-08-{k:02d}" for k in range(1, 7)]
    (home / "results.csv").write_text("\n".join(["task_id,result,inspection_date", *rows]) + "\n", encoding="utf-8")
    assert plan(home, "record", plan_id, "--actor", "李四", "--file", str(home / "results.csv"))[0] == 0

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device", "抽查结果公示.xlsx")

    monkeypatch.setattr(pd, "ExcelWriter", disk_full)  # the CSV is written, the Excel file is not
    code, out = plan(home, "publish", plan_id, "--on", "2025-09-01", "--actor", "张科长")
    assert code == 2 and "No space left on device" in out["output"]
    notices = home / "lake" / "notices"
    assert not (notices / plan_id).exists() and not list(notices.glob(f".{plan_id}*"))  # no half notice
    assert state_of(home, plan_id)[0] == "recording"

    monkeypatch.undo()
    code, published = plan(home, "publish", plan_id, "--on", "2025-09-01", "--actor", "张科长")
    assert code == 0 and Path(published["csv"]).exists() and Path(published["xlsx"]).exists()


def test_a_failed_publication_in_the_database_leaves_no_notice(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan_id = drawn_plan(home)
    rows = [f"{k},未发现问题,2025-08-{k:02d}" for k in range(1, 7)]
    (home / "results.csv").write_text("\n".join(["task_id,result,inspection_date", *rows]) + "\n", encoding="utf-8")
    assert plan(home, "record", plan_id, "--actor", "李四", "--file", str(home / "results.csv"))[0] == 0
    settings = load_settings(data_home=home)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(OpsStore, "mark_published", broken)
    with pytest.raises(RuntimeError, match="locked"):
        planning.publish_plan(settings, plan_id, dt.date(2025, 9, 1), "张科长", today=dt.date(2026, 1, 1))
    assert not (home / "lake" / "notices" / plan_id).exists()  # the public cannot see a notice never published


def test_an_entry_without_a_date_is_dated_today_on_the_status_clock(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dated by UTC, the clock `plan status` and `publish` use, not by the later bound that refuses
    future dates (UTC+14, here made a day ahead so that the two always differ)."""
    import pipelines.cli_plan

    plan_id = drawn_plan(home)
    monkeypatch.setattr(pipelines.cli_plan, "latest_today", lambda: dt.datetime.now(dt.UTC).date() + dt.timedelta(1))
    before = dt.datetime.now(dt.UTC).date()
    code, recorded = plan(home, "record", plan_id, "--task", "1", "--result", "未发现问题", "--actor", "李四")
    after = dt.datetime.now(dt.UTC).date()
    assert code == 0
    day = pd.read_parquet(recorded["feedback"])["inspection_date"].iat[0].date()
    assert day in {before, after}


def test_a_published_folder_is_verified_without_a_data_home(home: Path, tmp_path: Path) -> None:
    plan_id = drawn_plan(home)
    nowhere = tmp_path / "no-such-home"
    folder = home / "lake" / "plans" / plan_id
    published = json.loads((folder / "outputs" / "plan.json").read_text(encoding="utf-8"))
    command = ["--data-home", str(nowhere), "plan", "verify", plan_id, "--folder", str(folder)]
    refused = runner.invoke(app, command)
    assert refused.exit_code == 2 and "needs --commitment and --public-value" in refused.output
    published_values = ["--commitment", published["commitment"], "--public-value", "lottery 1"]
    result = runner.invoke(app, [*command, *published_values])
    assert result.exit_code == 0, result.output
    assert not nowhere.exists()
