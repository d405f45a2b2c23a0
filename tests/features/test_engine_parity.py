"""One definition, two engines: DuckDB and Spark (local mode) build the same profiles and labels."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from features.labels import labels_expr
from features.profile import all_features, profile_expr
from pipelines.profiles.engines import bronze_tables, connect

pytestmark = [pytest.mark.spark, pytest.mark.slow]
AS_OF = dt.date(2023, 7, 1)


def _build(settings, engine: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    con = connect(engine)  # type: ignore[arg-type]
    tables = bronze_tables(con, settings.lake_dir / "bronze", engine)  # type: ignore[arg-type]
    profile = profile_expr(tables, AS_OF).order_by("uscc").to_pyarrow().to_pandas()
    labels = labels_expr(tables["inspections"], AS_OF, 180).order_by("uscc").to_pyarrow().to_pandas()
    return profile, labels


def test_duckdb_and_spark_profiles_agree_on_every_column(ingested_city) -> None:
    settings, _ = ingested_city
    duck, duck_labels = _build(settings, "duckdb")
    spark, spark_labels = _build(settings, "spark")
    assert list(duck.columns) == list(spark.columns)
    assert duck["uscc"].tolist() == spark["uscc"].tolist()
    assert len(duck.columns) >= 1000
    mismatched = []
    categorical = {f.name for f in all_features() if f.categorical} | {"uscc", "as_of"}
    for col in duck.columns:
        a, b = duck[col], spark[col]
        if col in categorical:
            same = [None if pd.isna(v) else str(v) for v in a] == [None if pd.isna(v) else str(v) for v in b]
        else:
            x, y = a.astype("float64").to_numpy(), b.astype("float64").to_numpy()
            same = bool(
                np.array_equal(np.isnan(x), np.isnan(y))
                and np.allclose(x[~np.isnan(x)], y[~np.isnan(y)], rtol=1e-9, atol=1e-9)
            )
        if not same:
            mismatched.append(col)
    assert not mismatched, f"{len(mismatched)} columns differ, e.g. {mismatched[:10]}"
    pd.testing.assert_frame_equal(duck_labels, spark_labels, check_dtype=False)
