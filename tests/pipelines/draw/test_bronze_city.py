"""The draw reads the bronze sources as ingested: registration, inspections, roster, conflicts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.draw.eligible import last_inspection_facts
from pipelines.draw.plan import draw_plan, write_plan
from pipelines.draw.policy import AssignmentRules, Capacity, DrawPolicy
from pipelines.draw.verify import Recorded, verify_folder
from pipelines.ingest.flow import IngestResult
from pipelines.lake import current_version
from pipelines.settings import Settings
from pipelines.synthetic.supervision import inspection_item

AS_OF = dt.date(2025, 7, 1)


@pytest.mark.slow
def test_a_plan_drawn_from_the_ingested_city_verifies(
    ingested_city: tuple[Settings, IngestResult], tmp_path: Path
) -> None:
    settings, _ = ingested_city

    def bronze(source: str) -> pd.DataFrame:
        version = current_version(settings.data_home / "lake" / "bronze" / source)
        assert version is not None
        return pd.read_parquet(version)

    registered = bronze("registration")
    registered = registered[registered["status"] == "存续"]
    risk = np.random.default_rng(0).beta(1.2, 6.0, len(registered))  # stands in for the model's scores
    eligible = registered[["uscc", "name", "district", "town", "industry_code"]].assign(
        risk=risk,
        credit_class=np.array(list("ABCD"))[np.searchsorted(np.quantile(risk, [0.45, 0.8, 0.95]), risk)],
        item=inspection_item(registered["industry_code"].to_numpy()),
    )
    eligible = eligible.merge(last_inspection_facts(bronze("inspections"), AS_OF), on="uscc", how="left")
    plan = draw_plan(
        eligible,
        bronze("inspectors"),
        bronze("inspector_conflicts"),
        DrawPolicy(kind="blend", floor=0.005, cap=0.9, exclude_inspected_months=6),
        Capacity(total=40),
        "2025-07-05 双色球 03 11 17 22 28 31 + 09",
        {"model": "test", "scorecard": "test"},
        as_of=AS_OF,
        rules=AssignmentRules(workload_cap=20, same_district=False),  # the small city has 60 inspectors
    )
    assert len(plan.tasks) == 40 and plan.excluded
    recorded = Recorded(plan.plan_id, plan.commitment, plan.public_value)
    assert verify_folder(write_plan(plan, tmp_path), recorded).ok
