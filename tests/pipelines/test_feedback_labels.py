"""Recorded plan results become labels (with their inclusion probability) at the next profile build."""

from __future__ import annotations

import datetime as dt
import shutil

import pandas as pd
import pytest

from pipelines.lake import current_version
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
    quiet = sorted(set(registration["uscc"]) - set(inspections.loc[window, "uscc"]))[0]
    feedback = settings.lake_dir / "feedback" / "PLAN-TEST"
    feedback.mkdir(parents=True)
    pd.DataFrame(
        {"uscc": [quiet], "inspection_date": [dt.date(2024, 3, 5)], "found": [True], "inclusion_probability": [0.04],
         "plan_id": ["PLAN-TEST"], "task_id": ["PLAN-TEST-0001"], "item": ["SJ-GS"], "result": ["发现问题已责令改正"]}
    ).to_parquet(feedback / "results.parquet", index=False)

    build_profiles(settings, [AS_OF])

    labels = pd.read_parquet(current_version(settings.lake_dir / "labels" / f"as_of={AS_OF}" / "h=180"))
    row = labels.set_index("uscc").loc[quiet]
    assert row["first_inspection_type"] == "双随机抽查"
    assert row["random_draw_found"] == 1 and row["inclusion_probability"] == pytest.approx(0.04)
    # Everyone else's labels are those of the department's own inspections.
    assert (labels["uscc"] != quiet).sum() == inspections.loc[window, "uscc"].nunique()
