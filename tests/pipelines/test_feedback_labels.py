"""Recorded plan results become labels (with their inclusion probability) at the next profile build."""

from __future__ import annotations

import datetime as dt
import shutil

import pandas as pd
import pytest

from pipelines.lake import current_version
from pipelines.opsdb import OpsStore, default_url
from pipelines.plan_results import feedback_path, write_feedback
from pipelines.profiles.flow import build_profiles
from tests.factories import settings_for

pytestmark = pytest.mark.slow
AS_OF = dt.date(2024, 1, 1)


def test_a_recorded_result_is_a_random_draw_label_with_its_pi(ingested_city, tmp_path) -> None:
    source, _ = ingested_city
    settings = settings_for(tmp_path / "home")
    shutil.copytree(source.lake_dir / "bronze", settings.lake_dir / "bronze")
    inspections = pd.read_parquet(current_version(settings.lake_dir / "bronze" / "inspections"))
    registration = pd.read_parquet(current_version(settings.lake_dir / "bronze" / "registration"))
    # An enterprise nobody inspected in the label window (2024-01-02 .. 2024-06-29).
    window = inspections["inspection_date"].between(dt.date(2024, 1, 2), dt.date(2024, 6, 29))
    quiet, other_quiet = sorted(set(registration["uscc"]) - set(inspections.loc[window, "uscc"]))[:2]
    # A plan with one task and its result in the operational database (the record), and the labels
    # file that `plan record` derives from it.
    plan_id = "DRAW-20231001-0123456789ab"
    ops = OpsStore(default_url(settings.data_home))
    ops.add_plan(
        {"plan_id": plan_id, "as_of": dt.date(2023, 10, 1), "item_code": "SJ-GS", "item": "SJ-GS",
         "commitment": "0123456789ab" + "0" * 52, "capacity": 1, "listed": 25, "versions": {},
         "committed_at": dt.datetime(2023, 10, 1, tzinfo=dt.UTC)},
        "张科长", {},
    )  # fmt: skip
    task = {"task_id": f"{plan_id}-000001", "uscc": quiet, "name": "n", "district": "d", "town": "t",
            "item": "SJ-GS", "stratum": "s", "pi": 0.04, "risk": 0.5, "inspectors": ["A", "B"]}  # fmt: skip
    ops.mark_drawn(plan_id, {"public_value": "v", "seed": "0" * 64}, [task], "张科长", {})
    result = {"task_id": task["task_id"], "category": "发现问题已责令改正", "found": True,
              "inspection_date": dt.date(2024, 3, 5)}  # fmt: skip
    ops.record_results(plan_id, [result], "李四")
    write_feedback(settings, plan_id)
    # A labels file of a plan the database never stored a result for (a crash between the file and
    # the commit) must not be counted.
    orphan = settings.lake_dir / "feedback" / "DRAW-20231001-ffffffffffff"
    orphan.mkdir(parents=True)
    unstored = pd.read_parquet(feedback_path(settings, plan_id)).assign(uscc=other_quiet)
    unstored.to_parquet(orphan / "results.parquet", index=False)

    build_profiles(settings, [AS_OF])

    labels = pd.read_parquet(current_version(settings.lake_dir / "labels" / f"as_of={AS_OF}" / "h=180"))
    row = labels.set_index("uscc").loc[quiet]
    assert row["first_inspection_type"] == "双随机抽查"
    assert row["random_draw_found"] == 1 and row["inclusion_probability"] == pytest.approx(0.04)
    # Everyone else's labels are those of the department's own inspections.
    assert (labels["uscc"] != quiet).sum() == inspections.loc[window, "uscc"].nunique()
    assert not orphan.joinpath("results.parquet").exists()
