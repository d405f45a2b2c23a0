"""The event-keyed profile on a handful of hand-made rows: every family is point in time."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import ibis
import pandas as pd
import pytest

from features.events import EventProfileSpec, event_features, event_profile_expr, labels_expr, load_spec

D = dt.date
SPEC = EventProfileSpec.model_validate(
    {
        "entity": {"key": "license"},
        "events": {"source": "inspections", "id": "inspection_id", "date": "inspection_date",
                   "latitude": "latitude", "longitude": "longitude"},
        "label": {"name": "critical_found", "column": "critical_count", "above": 0},
        "history": {"windows": [365, None], "outcomes": [
            {"name": "critical", "column": "critical_count", "en": "critical violations"},
            {"name": "failed", "column": "results", "equals": "Fail", "en": "failed inspections"},
        ]},
        "attributes": [{"column": "risk", "categorical": True, "en": "risk tier"}],
        "joined": [
            {"source": "licences", "by": "inspection_id", "known": "term_start", "dimension": "operating_status",
             "columns": [{"column": "tavern", "en": "tavern licence"}],
             "ages": [{"column": "first_licence", "name": "licence_age_years", "en": "years licensed"}]},
            {"source": "sanitarians", "by": "inspection_id", "dimension": "supervision_history",
             "columns": [{"column": "sanitarian", "categorical": True, "en": "inspector"}]},
        ],
        "group_history": [{"name": "sanitarian", "source": "sanitarians", "by": "inspection_id",
                           "column": "sanitarian", "windows": [60], "outcomes": ["critical"], "en": "the inspector"}],
        "nearby": [{"source": "complaints", "date": "created", "latitude": "lat", "longitude": "lon",
                    "radii_m": [100, 1000], "windows": [30], "dimension": "complaints", "en": "complaints"}],
        "series": [{"source": "weather", "date": "date", "days": 2, "dimension": "activity",
                    "columns": [{"column": "temp", "en": "temperature"}]}],
    }
)
LAT, LON = 41.9, -87.65
M_LAT = 1 / 111_320  # one metre north, in degrees
M_LON = M_LAT / math.cos(math.radians(LAT))  # one metre east at LAT


def tables() -> dict[str, ibis.Table]:
    return {name: ibis.memtable(frame) for name, frame in frames().items()}


def frames() -> dict[str, pd.DataFrame]:
    inspections = pd.DataFrame(
        {
            "inspection_id": [1, 2, 3, 4, 5, 6],
            "license": [10, 10, 10, 10, 20, 30],
            "inspection_date": [D(2013, 1, 1), D(2014, 1, 10), D(2014, 3, 1), D(2014, 3, 1), D(2014, 3, 1),
                                D(2014, 2, 15)],
            "results": ["Fail", "Pass", "Fail", "Pass", "Pass", "Fail"],
            "critical_count": [2, 0, 5, 1, 0, 3],
            "risk": ["Risk 1 (High)"] * 4 + ["Risk 3 (Low)"] * 2,
            "latitude": [LAT] * 4 + [None, None],
            "longitude": [LON] * 4 + [None, None],
        }
    )
    licences = pd.DataFrame(
        {
            "inspection_id": [3, 4],
            "tavern": [1, 1],
            "term_start": [D(2014, 2, 1), D(2014, 3, 1)],  # the second is known only on the day: blanked
            "first_licence": [D(2010, 3, 1), D(2010, 3, 1)],
        }
    )
    sanitarians = pd.DataFrame(
        {"inspection_id": [1, 2, 3, 4, 6], "sanitarian": ["blue", "blue", "blue", "green", "blue"]}
    )
    complaints = pd.DataFrame(
        {
            # 50 m north, 500 m north, same day, too early, 700 m east, 1,200 m east
            "created": [D(2014, 2, 20), D(2014, 2, 20), D(2014, 3, 1), D(2014, 1, 1), D(2014, 2, 25), D(2014, 2, 25)],
            "lat": [LAT + 50 * M_LAT, LAT + 500 * M_LAT, LAT, LAT, LAT, LAT],
            "lon": [LON, LON, LON, LON, LON + 700 * M_LON, LON + 1200 * M_LON],
        }
    )
    weather = pd.DataFrame({"date": [D(2014, 2, 27), D(2014, 2, 28), D(2014, 3, 1)], "temp": [10.0, 20.0, 99.0]})
    return {"inspections": inspections, "licences": licences, "sanitarians": sanitarians,
            "complaints": complaints, "weather": weather}


@pytest.fixture(scope="module")
def profile() -> pd.DataFrame:
    out = ibis.duckdb.connect().execute(event_profile_expr(SPEC, tables()))
    return out.set_index("inspection_id")


def test_columns_are_the_catalogue(profile: pd.DataFrame) -> None:
    assert list(profile.columns) == ["license", "as_of", *(f.name for f in event_features(SPEC))]


def test_history_counts_only_earlier_events(profile: pd.DataFrame) -> None:
    third = profile.loc[3]  # licence 10 on 2014-03-01; inspection 4 the same day is not "earlier"
    assert third["history_events_all"] == 2
    assert third["history_events_365d"] == 1  # 2013-01-01 is more than a year before
    assert third["history_critical_all"] == 2
    assert third["history_critical_last"] == 0  # the previous inspection (2014-01-10) found none
    assert third["history_failed_all"] == 1
    assert third["history_days_since_last"] == (D(2014, 3, 1) - D(2014, 1, 10)).days
    assert third["history_first_record"] == 0
    first = profile.loc[1]
    assert first["history_first_record"] == 1 and first["history_events_all"] == 0
    assert pd.isna(first["history_critical_last"])  # never inspected is not "clean last time"


def test_the_previous_outcome_on_a_day_with_two_events_is_the_larger_in_any_row_order() -> None:
    later = {"inspection_id": 7, "license": 10, "inspection_date": D(2014, 4, 1), "results": "Pass",
             "critical_count": 0, "risk": "Risk 1 (High)", "latitude": LAT, "longitude": LON}
    for order in (slice(None), slice(None, None, -1)):  # inspections 3 (Fail, 5 critical) and 4 (Pass, 1): 2014-03-01
        data = frames()
        data["inspections"] = pd.concat([data["inspections"], pd.DataFrame([later])], ignore_index=True)[order]
        expr = event_profile_expr(SPEC, {name: ibis.memtable(frame) for name, frame in data.items()})
        seventh = ibis.duckdb.connect().execute(expr).set_index("inspection_id").loc[7]
        assert seventh["history_critical_last"] == 5
        assert seventh["history_failed_last"] == 1
        assert seventh["history_days_since_last"] == 31


def test_joined_record_known_on_the_day_is_blanked(profile: pd.DataFrame) -> None:
    assert profile.loc[3, "licences_tavern"] == 1
    assert profile.loc[3, "licence_age_years"] == pytest.approx((D(2014, 3, 1) - D(2010, 3, 1)).days / 365.25)
    assert pd.isna(profile.loc[4, "licences_tavern"]) and pd.isna(profile.loc[4, "licence_age_years"])
    assert profile.loc[4, "sanitarians_sanitarian"] == "green"


def test_group_history_uses_the_groups_earlier_events(profile: pd.DataFrame) -> None:
    # Inspection 3 (blue, 2014-03-01): blue's events in the 60 days before: 2014-01-10 (no critical) and
    # 2014-02-15 (critical); not inspection 3 itself, and not green's inspection 4.
    assert profile.loc[3, "sanitarian_events_60d"] == 2
    assert profile.loc[3, "sanitarian_critical_rate_60d"] == pytest.approx(0.5)
    assert profile.loc[4, "sanitarian_events_60d"] == 0  # green has no earlier inspection
    assert pd.isna(profile.loc[4, "sanitarian_critical_rate_60d"])
    assert profile.loc[5, "sanitarian_events_60d"] == 0  # no assignment: no group


def test_nearby_counts_respect_radius_window_and_date(profile: pd.DataFrame) -> None:
    assert profile.loc[3, "complaints_within_100m_30d"] == 1  # the 50 m one; not the same-day one
    # plus 500 m north and 700 m east; not 1,200 m east, and 2014-01-01 is too early
    assert profile.loc[3, "complaints_within_1000m_30d"] == 3
    assert pd.isna(profile.loc[5, "complaints_within_1000m_30d"])  # no place: unknown, not zero


def test_series_is_the_mean_of_the_days_before(profile: pd.DataFrame) -> None:
    assert profile.loc[3, "weather_temp_2d"] == pytest.approx(15.0)  # 02-27 and 02-28, not the day itself


def test_labels_threshold_the_outcome() -> None:
    out = ibis.duckdb.connect().execute(labels_expr(SPEC, tables()["inspections"])).set_index("inspection_id")
    assert out["critical_found"].tolist() == [1, 0, 1, 1, 0, 1]


def test_bad_spec_says_what_is_wrong(tmp_path: Path) -> None:
    path = tmp_path / "profile.yaml"
    path.write_text("entity: {key: license}\nevents: {source: x}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not a valid event profile spec"):
        load_spec(path)


def test_chicago_spec_loads() -> None:
    spec = load_spec(Path(__file__).resolve().parents[2] / "data" / "jurisdictions" / "chicago" / "profile.yaml")
    assert spec.entity.key == "license" and spec.benchmark is not None
    assert len(event_features(spec)) > 50


@pytest.mark.spark
@pytest.mark.slow
def test_spark_builds_the_same_event_profile(profile: pd.DataFrame) -> None:
    from pipelines.profiles.engines import connect

    con = connect("spark")
    spark = con.execute(event_profile_expr(SPEC, tables())).set_index("inspection_id").sort_index()
    duck = profile.sort_index()
    assert list(spark.columns) == list(duck.columns)
    for column in duck.columns:
        a, b = duck[column], spark[column]
        if column in ("as_of", "risk", "sanitarians_sanitarian"):
            assert [None if pd.isna(v) else str(v)[:10] for v in a] == [None if pd.isna(v) else str(v)[:10] for v in b]
        else:
            pd.testing.assert_series_equal(a.astype("float64"), b.astype("float64"), check_names=False)


def test_the_events_own_outcome_cannot_be_an_attribute() -> None:
    raw = SPEC.model_dump()
    raw["attributes"] = [{"column": "critical_count", "en": "critical violations found"}]
    with pytest.raises(ValueError, match="own outcome"):
        EventProfileSpec.model_validate(raw)


def test_a_column_the_sources_lack_is_a_clear_error() -> None:
    from pipelines.profiles.events_flow import check_columns

    check_columns(SPEC, tables())  # the hand-made sources have every named column
    broken = {**tables(), "weather": ibis.memtable(pd.DataFrame({"date": [D(2014, 1, 1)], "temperature": [1.0]}))}
    with pytest.raises(ValueError, match=r"weather: \['temp'\]"):
        check_columns(SPEC, broken)
