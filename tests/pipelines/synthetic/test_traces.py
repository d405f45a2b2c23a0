"""The generator's named trace formulas describe the city it writes.

bench_bayes_bound.py computes the best ranking any model could reach from these formulas; if a
formula drifted from what the generator actually does, that bound would be computed for another
city. These tests hold the two main channels to the generated records.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from pipelines.ingest.flow import IngestResult
from pipelines.lake import table_glob
from pipelines.settings import Settings
from pipelines.synthetic.spec import CitySpec
from pipelines.synthetic.supervision import complaint_mean, complaint_rate, pair_detection


def _truth(settings: Settings, name: str) -> pd.DataFrame:
    return duckdb.execute(f"SELECT * FROM read_parquet('{settings.ground_truth_dir / name}/*.parquet')").df()


def test_complaints_per_quarter_follow_complaint_mean_for_violators_and_the_compliant(
    ingested_city: tuple[Settings, IngestResult],
) -> None:
    settings, _ = ingested_city
    spec = CitySpec.load(settings.city_spec)
    quarters = _truth(settings, "violations")
    ent = _truth(settings, "enterprises").set_index("uscc").reindex(quarters["uscc"])
    industry = np.array([i.code for i in spec.industries])[ent["industry_idx"].to_numpy()]
    quarters["expected"] = complaint_mean(
        complaint_rate(industry, ent["scale"].to_numpy()), quarters["violating"].to_numpy()
    )
    files = table_glob(settings.lake_dir / "bronze" / "complaints")
    complaints = duckdb.execute(f"SELECT complaint_id, received_date FROM read_parquet('{files}')").df()
    complaints = complaints.merge(_truth(settings, "complaint_entities"), on="complaint_id")
    complaints["quarter"] = pd.to_datetime(complaints["received_date"]).dt.to_period("Q").dt.start_time
    seen = complaints.groupby(["true_uscc", "quarter"]).size().rename("seen")
    quarters = quarters.join(seen, on=["uscc", "quarter"]).fillna({"seen": 0})

    by_state = quarters.groupby("violating")[["seen", "expected"]].sum()
    # Thousands of Poisson counts per group: 10% is many standard errors, and well short of the
    # 17-fold gap between violators and the compliant that the bound relies on.
    assert by_state["expected"].min() > 500
    ratio = by_state["seen"] / by_state["expected"]
    assert ratio.between(0.9, 1.1).all(), ratio.to_dict()


def test_a_violation_is_found_at_the_inspectors_detection_rate_and_never_without_one(
    ingested_city: tuple[Settings, IngestResult],
) -> None:
    settings, _ = ingested_city
    files = table_glob(settings.lake_dir / "bronze" / "inspections")
    columns = "uscc, inspection_date, inspector_1, inspector_2, violation_found"
    insp = duckdb.execute(f"SELECT {columns} FROM read_parquet('{files}')").df()
    insp["quarter"] = pd.to_datetime(insp["inspection_date"]).dt.to_period("Q").dt.start_time
    truth = _truth(settings, "violations")[["uscc", "quarter", "violating"]]
    insp = insp.merge(truth, on=["uscc", "quarter"])
    detection = _truth(settings, "inspectors").set_index("inspector_id")["detection_rate"]
    insp["detect"] = pair_detection(*(detection.reindex(insp[c]).to_numpy() for c in ("inspector_1", "inspector_2")))

    assert not insp.loc[~insp["violating"], "violation_found"].any()
    violators = insp[insp["violating"]]
    assert len(violators) > 300
    found, expected = violators["violation_found"].sum(), violators["detect"].sum()
    assert abs(found / expected - 1) < 0.1, (found, expected)
