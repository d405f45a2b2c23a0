"""`regulens plan` on the small city: draw, verify (and a tampered copy that fails), export, record,
status with the Horvitz–Thompson estimate, publish, the lifecycle, the two-phase commit, feedback.

Scores and grades are written by the test (no model is trained): a probability per registered
firm in `lake/scores/...` and a class in `lake/grades/default/...`, as `regulens score` and
`regulens grade` would publish them."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.labels import labels_expr
from pipelines.cli import app
from pipelines.lake import current_version, publish_version
from pipelines.plan_results import feedback_as_inspections
from pipelines.settings import Settings

runner = CliRunner(env={"TERMINAL_WIDTH": "200", "COLUMNS": "200"})
AS_OF = "2025-07-01"
LOTTERY = "2025-07-02 双色球 05 09 14 21 27 30 + 11"
pytestmark = pytest.mark.slow


def write_scores_and_grades(home: Path, as_of: str = AS_OF) -> pd.DataFrame:
    version = current_version(home / "lake" / "bronze" / "registration")
    assert version is not None
    reg = pd.read_parquet(version)
    reg = reg[(reg["status"] == "存续") & (pd.to_datetime(reg["knowledge_date"]) < pd.Timestamp(as_of))]
    reg = reg.drop_duplicates("uscc")
    rng = np.random.default_rng(3)
    risk = rng.beta(1.5, 5.0, len(reg))
    scores = pd.DataFrame(
        {"uscc": reg["uscc"].to_numpy(), "probability": risk, "model_name": "test-model", "model_version": "7"}
    )
    grade = np.array(list("ABCD"))[np.searchsorted(np.quantile(risk, [0.4, 0.8, 0.95]), risk)]
    grades = pd.DataFrame(
        {"uscc": scores["uscc"], "grade": grade, "excluded": False, "scorecard_version": "card-test@1"}
    )
    for table_dir, frame, name in (
        (home / "lake" / "scores" / f"as_of={as_of}", scores, "scores.parquet"),
        (home / "lake" / "grades" / "default" / f"as_of={as_of}", grades, "grades.parquet"),
    ):
        (table_dir / "run1").mkdir(parents=True)
        frame.to_parquet(table_dir / "run1" / name, index=False)
        publish_version(table_dir, "run1")
    return scores


@pytest.fixture
def home(ingested_city, tmp_path: Path) -> Path:
    """A fresh data home with the small city's bronze tables (the shared city stays untouched)."""
    settings, _ = ingested_city
    home = tmp_path / "home"
    shutil.copytree(settings.data_home / "lake" / "bronze", home / "lake" / "bronze")
    return home


def run(home: Path, *args: str) -> tuple[int, dict]:
    result = runner.invoke(app, ["--json", "--data-home", str(home), "plan", *args])
    if result.exit_code == 0 or (result.stdout.startswith("{") and result.exit_code == 1):
        return result.exit_code, json.loads(result.stdout)
    return result.exit_code, {"output": result.output}


DRAW = ("draw", "--as-of", AS_OF, "--item", "SJ-GS", "--capacity", "30", "--policy", "blend", "--floor", "0.01")


def test_draw_verify_export_record_status_publish(home: Path) -> None:
    scores = write_scores_and_grades(home)
    code, drawn = run(home, *DRAW, "--exclude-months", "6", "--public-value", LOTTERY, "--actor", "张科长")
    assert code == 0, drawn
    assert drawn["tasks"] == 30 and drawn["single_step"] and len(drawn["seed"]) == 64
    assert drawn["listed"] + drawn["excluded"] == len(scores)
    assert sum(drawn["by_class"].values()) == 30
    # The blend favours risky firms: the drawn firms' mean probability beats the list's.
    assert drawn["expected_hit_rate"] > drawn["list_mean_risk"]
    plan_id, folder = drawn["plan_id"], Path(drawn["folder"])
    assert folder == home / "lake" / "plans" / plan_id and (folder / "outputs" / "tasks.parquet").is_file()

    code, verified = run(home, "verify", plan_id)
    assert code == 0 and verified["differences"] == []

    code, exported = run(home, "export", plan_id, "--format", "csv", "--out", str(home / "out.csv"))
    assert code == 0
    listed = pd.read_csv(exported["path"], encoding="utf-8-sig", dtype=str)
    assert list(listed.columns[:6]) == ["任务编号", "统一社会信用代码", "企业名称", "所属区", "所属镇街", "检查事项"]
    assert len(listed) == 30 and {"检查人员1", "检查人员2"} <= set(listed.columns)
    assert not {"credit_class", "risk", "pi", "信用等级", "风险"} & set(listed.columns)
    code, xlsx = run(home, "export", plan_id, "--format", "xlsx")
    assert code == 0 and xlsx["path"].endswith("任务清单.xlsx")

    # Bad results: every problem is named with what was expected, nothing is stored.
    bad = runner.invoke(
        app, ["--data-home", str(home), "plan", "record", plan_id, "--task", "999", "--result", "很好", "--actor", "李"]
    )
    assert bad.exit_code == 2
    assert "unknown task" in bad.output and "unknown result category '很好'" in bad.output
    assert "未发现问题" in bad.output

    tasks = pd.read_parquet(folder / "outputs" / "tasks.parquet")
    categories = ["发现问题已责令改正", "未发现问题", "未按规定公示", "未发现问题", "不配合检查情节严重"]
    results = pd.DataFrame(
        {
            "任务编号": tasks["task_id"],
            "检查结果": [categories[i % 5] for i in range(30)],
            "检查日期": [f"2025-07-{10 + i % 5:02d}" for i in range(30)],
        }
    )
    code, recorded = run(home, "record", plan_id, "--task", "1", "--result", "发现问题已责令改正", "--date",
                         "2025-07-10", "--actor", "李四")  # fmt: skip
    assert code == 0 and recorded["recorded"] == 1
    results.iloc[1:].to_csv(home / "results.csv", index=False, encoding="utf-8-sig")
    code, recorded = run(home, "record", plan_id, "--file", str(home / "results.csv"), "--actor", "李四")
    assert code == 0 and recorded["recorded"] == 29
    code, again = run(home, "record", plan_id, "--task", "2", "--result", "未发现问题", "--actor", "李四")
    assert code == 2 and "already has a result" in again["output"]

    feedback = pd.read_parquet(recorded["feedback"])
    assert len(feedback) == 30 and feedback["found"].sum() == 18  # 3 of every 5 categories are findings
    assert (feedback["inclusion_probability"] > 0).all() and set(feedback["plan_id"]) == {plan_id}
    assert feedback.merge(tasks, on="uscc")["inclusion_probability"].equals(feedback.merge(tasks, on="uscc")["pi"])

    # The results feed the label builder as a recorded random draw with its π.
    inspections = feedback_as_inspections(Settings(data_home=home))
    labels = labels_expr(ibis.memtable(inspections), dt.date(2025, 7, 1), 180).to_pandas()
    assert len(labels) == 30 and labels["random_draw_found"].sum() == 18
    by_uscc = labels.set_index("uscc")["inclusion_probability"]
    assert np.allclose(by_uscc.loc[tasks["uscc"]].to_numpy(), tasks["pi"].to_numpy())

    code, status = run(home, "status", plan_id, "--on", "2025-07-20")
    assert code == 0 and status["state"] == "recording" and status["complete"]
    est = status["estimate"]
    assert status["realised_hit_rate"] == pytest.approx(0.6) and est["inspected"] == 30
    # Risky firms were favoured, so weighting by 1/π moves the estimate for the whole list; it is a
    # rate with a proper interval around it.
    assert 0 <= est["hajek_ci95"][0] < est["hajek"] < est["hajek_ci95"][1] <= 1
    assert est["listed"] == drawn["listed"]
    # Inspections ended Mon 2025-07-14; 20 working days later is 2025-08-11.
    assert status["inspection_end"] == "2025-07-14" and status["publication_deadline"] == "2025-08-11"
    assert not status["overdue"]
    code, late = run(home, "status", plan_id, "--on", "2025-08-12")
    assert code == 0 and late["overdue"]

    code, published = run(home, "publish", plan_id, "--on", "2025-08-01", "--actor", "张科长")
    assert code == 0 and not published["late"] and published["entries"] == 30
    notice = pd.read_csv(published["csv"], encoding="utf-8-sig", dtype=str)
    assert list(notice.columns) == ["企业名称", "统一社会信用代码", "抽查事项", "检查结果", "检查日期", "检查实施机关"]
    assert set(notice["检查结果"]) == set(categories)
    code, status = run(home, "status", plan_id, "--on", "2025-09-30")
    assert status["state"] == "published" and not status["overdue"]

    # Published is final.
    code, refused = run(home, "publish", plan_id, "--actor", "张科长")
    assert code == 2 and "only a plan with recorded results" in refused["output"]

    code, audit = run(home, "audit", plan_id)
    actions = ["commit", "draw started", "draw", "verify", "record", "record", "publish"]
    assert [e["action"] for e in audit["events"]] == actions
    assert audit["events"][0]["actor"] == "张科长" and set(audit["events"][0]["detail"]["input_hashes"]) >= {
        "eligible",
        "design",
        "roster",
    }
    assert audit["events"][2]["detail"]["single_step"] is True


def _writable_copy(folder: Path, to: Path) -> Path:
    shutil.copytree(folder, to)
    for path in to.rglob("*"):
        if path.is_file():
            os.chmod(path, 0o644)
    return to


def test_verify_fails_loudly_on_a_changed_input(home: Path, tmp_path: Path) -> None:
    write_scores_and_grades(home)
    code, drawn = run(home, *DRAW, "--public-value", LOTTERY, "--actor", "张科长")
    assert code == 0, drawn
    folder = Path(drawn["folder"])

    # One π changed in the published design.
    copy = _writable_copy(folder, tmp_path / "pi")
    design = pd.read_parquet(copy / "outputs" / "design.parquet")
    design.loc[5, "pi"] = design.loc[5, "pi"] * 1.5
    design.to_parquet(copy / "outputs" / "design.parquet", index=False)
    published = ("--commitment", drawn["commitment"], "--public-value", LOTTERY)
    code, report = run(home, "verify", drawn["plan_id"], "--folder", str(copy), *published)
    assert code == 1 and any(d.startswith("π differs: " + design.loc[5, "uscc"]) for d in report["differences"])

    # One roster row changed in the stored inputs: the commitment no longer matches.
    copy = _writable_copy(folder, tmp_path / "roster")
    roster = pd.read_parquet(copy / "inputs" / "roster.parquet")
    roster.loc[0, "station_town"] = "别的镇"
    roster.to_parquet(copy / "inputs" / "roster.parquet", index=False)
    code, report = run(home, "verify", drawn["plan_id"], "--folder", str(copy), *published)
    assert code == 1 and report["differences"][0].startswith("inputs: the stored inputs hash to")

    # The original still verifies.
    code, report = run(home, "verify", drawn["plan_id"])
    assert code == 0


def test_two_phase_commit_then_draw_and_tampered_commitment_refused(home: Path) -> None:
    write_scores_and_grades(home)
    commit_args = ("commit", *DRAW[1:], "--actor", "张科长")
    code, committed = run(home, *commit_args)
    assert code == 0, committed
    plan_id = committed["plan_id"]
    code, listed = run(home, "list")
    assert [p["state"] for p in listed["plans"]] == ["drafted"]

    # The same inputs cannot be committed twice (one id per set of inputs).
    code, twice = run(home, *commit_args)
    assert code == 2 and "already committed" in twice["output"]
    # The database knows the plan even if its commitment folder is gone.
    folder = home / "lake" / "commitments" / plan_id
    folder.rename(folder.with_name("moved"))
    code, twice = run(home, *commit_args)
    assert code == 2 and "already committed" in twice["output"]
    folder.with_name("moved").rename(folder)

    code, drawn = run(home, "draw", "--plan", plan_id, "--public-value", LOTTERY, "--actor", "王公证员")
    assert code == 0 and drawn["plan_id"] == plan_id and drawn["commitment"] == committed["commitment"]
    assert not drawn["single_step"]
    code, again = run(home, "draw", "--plan", plan_id, "--public-value", "another value", "--actor", "王公证员")
    assert code == 2 and "a drawn plan is final" in again["output"] and LOTTERY in again["output"]

    # A second plan (other capacity) whose committed inputs are edited before the draw is refused.
    code, other = run(home, "commit", *DRAW[1:6], "25", *DRAW[7:], "--actor", "张科长")
    assert code == 0, other
    roster_path = Path(other["folder"]) / "inputs" / "roster.parquet"
    roster = pd.read_parquet(roster_path)
    roster.loc[0, "expertise"] = "计量"
    roster.to_parquet(roster_path, index=False)
    code, refused = run(home, "draw", "--plan", other["plan_id"], "--public-value", LOTTERY, "--actor", "王公证员")
    assert code == 2 and "expected the published commitment" in refused["output"]
    code, audit = run(home, "audit", other["plan_id"])
    assert [e["action"] for e in audit["events"]] == ["commit", "draw started", "draw refused"]
    code, listed = run(home, "list")
    assert {p["plan_id"]: p["state"] for p in listed["plans"]} == {plan_id: "drawn", other["plan_id"]: "drafted"}


def test_missing_scores_name_the_command_to_run(home: Path) -> None:
    code, out = run(home, *DRAW, "--public-value", LOTTERY, "--actor", "张科长")
    assert code == 2 and "regulens score --as-of 2025-07-01" in out["output"]


def test_unknown_item_and_bad_district_capacity(home: Path) -> None:
    write_scores_and_grades(home)
    code, out = run(home, "draw", "--as-of", AS_OF, "--item", "XX", "--capacity", "5", "--public-value", "v",
                    "--actor", "a")  # fmt: skip
    assert code == 2 and "unknown inspection item 'XX'" in out["output"] and "SJ-GS" in out["output"]
    code, out = run(home, *DRAW, "--boost", "禅城区=0", "--public-value", "v", "--actor", "a")
    assert code == 2 and "--boost" in out["output"]
    code, out = run(home, *DRAW, "--district-capacity", "禅城区=30", "--public-value", "v", "--actor", "a")
    assert code == 2 and "have no capacity" in out["output"]
