"""Point-in-time profiles: the fast aggregation against a plain loop, no leakage from the future,
determinism, the catalogue, labels' window."""

from __future__ import annotations

import datetime as dt
import re

import ibis
import pandas as pd
import pytest

from features.catalogue import generic_features
from features.labels import label_window, labels_expr
from features.profile import all_features, point_in_time, profile_expr
from features.spec import DIMENSIONS
from pipelines.profiles.engines import bronze_tables, connect

AS_OF = dt.date(2024, 1, 1)


def test_catalogue_has_over_a_thousand_described_features() -> None:
    features = all_features()
    names = [f.name for f in features]
    assert len(features) >= 1000 and len(set(names)) == len(names)
    for f in features:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", f.name), f.name
        assert f.zh and f.en and f.unit and f.dimension in DIMENSIONS, f.name
    assert {f.dimension for f in features} == set(DIMENSIONS)


def test_window_aggregation_matches_a_plain_loop() -> None:
    """Five electricity bills, checked by hand against the Ibis aggregation on DuckDB."""
    rows = pd.DataFrame(
        {
            "uscc": ["A"] * 4 + ["B"],
            "billing_month": pd.to_datetime(
                ["2023-06-01", "2023-10-01", "2023-11-01", "2023-12-01", "2023-11-01"]
            ).date,
            "knowledge_date": pd.to_datetime(
                ["2023-07-15", "2023-11-15", "2023-12-15", "2024-01-15", "2023-12-15"]
            ).date,
            "kwh": [100.0, 0.0, 50.0, 999.0, 7.0],
        }
    )
    con = ibis.duckdb.connect()
    lit = ibis.literal(AS_OF, type="date")
    t = point_in_time({"electricity": ibis.memtable(rows)}, lit)["electricity"]
    feats = [f for f in generic_features() if f.source == "electricity"]
    got = con.execute(t.group_by("uscc").aggregate(**{f.name: f.aggregate(t, lit) for f in feats})).set_index("uscc")

    def loop(uscc: str, window: int | None, agg: str) -> float | None:
        values = []
        for r in rows.itertuples():
            if r.uscc != uscc or r.knowledge_date >= AS_OF:  # the December bill is not known yet
                continue
            # Monthly bills are windowed on when they became known.
            if window is not None and r.knowledge_date < AS_OF - dt.timedelta(days=window):
                continue
            values.append(r.kwh)
        if agg == "count":
            return len(values)
        if agg == "zero":
            return sum(v == 0 for v in values)
        if not values:
            return None
        return {"sum": sum(values), "max": max(values), "min": min(values), "mean": sum(values) / len(values)}[agg]

    for window, label in ((30, "30d"), (90, "90d"), (365, "365d"), (None, "all")):
        for uscc in ("A", "B"):
            assert got.at[uscc, f"electricity_count_{label}"] == loop(uscc, window, "count")
            assert got.at[uscc, f"electricity_kwh_zero_{label}"] == loop(uscc, window, "zero")
            for agg in ("sum", "max", "min", "mean"):
                expected, value = loop(uscc, window, agg), got.at[uscc, f"electricity_kwh_{agg}_{label}"]
                assert (pd.isna(value) and expected is None) or value == pytest.approx(expected), (uscc, label, agg)
    assert got.at["A", "electricity_days_since_last"] == (AS_OF - dt.date(2023, 12, 15)).days


def _profile(settings, as_of: dt.date, extra: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    con = connect("duckdb")
    tables = bronze_tables(con, settings.lake_dir / "bronze", "duckdb")
    for source, frame in (extra or {}).items():
        tables[source] = tables[source].union(ibis.memtable(frame, schema=tables[source].schema()))
    return con.execute(profile_expr(tables, as_of).order_by("uscc"))


@pytest.fixture(scope="module")
def city_profile(ingested_city) -> pd.DataFrame:
    settings, _ = ingested_city
    return _profile(settings, AS_OF)


def test_records_known_on_or_after_the_as_of_date_change_nothing(ingested_city, city_profile) -> None:
    settings, _ = ingested_city
    con = connect("duckdb")
    tables = bronze_tables(con, settings.lake_dir / "bronze", "duckdb")
    firm = city_profile["uscc"].iat[0]
    future = {}
    for source in ("complaints", "penalties", "electricity", "inspections", "abnormal_list"):
        sample = con.execute(tables[source].limit(3))
        sample["knowledge_date"] = AS_OF  # known on the as-of date itself: not before it
        for col in ("uscc", "entity_uscc"):
            if col in sample:
                sample[col] = firm
        future[source] = sample
    pd.testing.assert_frame_equal(_profile(settings, AS_OF, future), city_profile)


def test_same_as_of_date_gives_the_same_profile(ingested_city, city_profile) -> None:
    settings, _ = ingested_city
    pd.testing.assert_frame_equal(_profile(settings, AS_OF), city_profile)


def test_profile_covers_firms_established_before_the_date(ingested_city, city_profile) -> None:
    settings, _ = ingested_city
    truth = pd.read_parquet(settings.ground_truth_dir / "enterprises")
    assert city_profile["uscc"].is_unique
    assert len(city_profile) > 0.8 * (truth["est_month"] < (AS_OF.year - 2020) * 12).sum()
    assert set(city_profile.columns) == {"uscc", "as_of", *(f.name for f in all_features())}
    # The collapse flag finds firms whose hidden collapse happened before the date.
    collapsed = truth.set_index("uscc")["collapse_month"] < (AS_OF.year - 2020) * 12 - 3
    flagged = city_profile.set_index("uscc")["activity_collapse"] == 1
    shared = flagged.index.intersection(collapsed.index)
    assert flagged[shared].sum() > 10
    assert collapsed[shared][flagged[shared]].mean() > 0.8


def test_label_window_is_after_the_as_of_date_up_to_the_horizon() -> None:
    assert label_window(dt.date(2024, 7, 1), 180) == (dt.date(2024, 7, 2), dt.date(2024, 12, 28))
    dates = [dt.date(2024, 7, 1), dt.date(2024, 7, 2), dt.date(2024, 12, 28), dt.date(2024, 12, 29)]
    frame = pd.DataFrame(
        {
            "inspection_id": ["a", "b", "c", "d"],
            "uscc": ["X", "Y", "Z", "W"],
            "inspection_date": dates,
            "inspection_type": ["双随机抽查", "双随机抽查", "投诉举报核查", "双随机抽查"],
            "inclusion_probability": [0.02, 0.02, None, 0.02],
            "violation_found": [True, False, True, True],
        }
    )
    out = ibis.duckdb.connect().execute(labels_expr(ibis.memtable(frame), dt.date(2024, 7, 1), 180))
    out = out.set_index("uscc")
    assert sorted(out.index) == ["Y", "Z"]
    assert out.at["Y", "inclusion_probability"] == 0.02 and out.at["Y", "violation_found"] == 0
    assert pd.isna(out.at["Z", "inclusion_probability"]) and out.at["Z", "first_inspection_type"] == "投诉举报核查"


def test_paid_in_capital_counts_only_payments_made_before_the_date() -> None:
    """The shareholder extract holds today's paid-in amounts; a later payment must not show."""
    from features.domain import shareholder_table

    frame = pd.DataFrame(
        {
            "uscc": ["A", "A"],
            "shareholder_name": ["陈伟", "李强"],
            "contribution_method": ["货币", "知识产权"],
            "subscribed_wan": [60.0, 40.0],
            "paid_wan": [60.0, 40.0],
            "paid_date": pd.to_datetime(["2020-01-01", "2024-06-01"]).date,
            "knowledge_date": pd.to_datetime(["2019-12-01", "2019-12-01"]).date,
        }
    )
    lit = ibis.literal(AS_OF, type="date")
    out = ibis.duckdb.connect().execute(shareholder_table({"shareholders": ibis.memtable(frame)}, lit)).iloc[0]
    assert out["paid_capital_wan_total"] == 60.0 and out["paid_in_ratio"] == pytest.approx(0.6)
    assert out["unpaid_subscriptions_count"] == 1 and out["noncash_contribution_share"] == pytest.approx(0.4)


def test_profile_from_the_lake_as_it_was_on_the_date_is_the_same(ingested_city, city_profile) -> None:
    """Rebuild every source as it stood on AS_OF: rows known later removed, and columns that are
    updated in place (removal, closure, payment) blanked where the update came later. The profile
    must not change: nothing from after the date reaches it."""
    settings, _ = ingested_city
    con = connect("duckdb")
    tables = bronze_tables(con, settings.lake_dir / "bronze", "duckdb")
    cut = ibis.literal(AS_OF, type="date")
    then = {name: t.filter(t.knowledge_date < cut) for name, t in tables.items()}
    for name, column in (
        ("abnormal_list", "removed_date"),
        ("serious_dishonesty", "removed_date"),
        ("court_enforcement", "closed_date"),
        ("shareholders", "paid_date"),
    ):
        t = then[name]
        later = t[column] >= cut
        updates = {column: ibis.ifelse(later, ibis.null(t[column].type()), t[column])}
        if name == "shareholders":
            updates["paid_wan"] = ibis.ifelse(later, 0.0, t.paid_wan)
        then[name] = t.mutate(**updates)
    rebuilt = con.execute(profile_expr(then, AS_OF).order_by("uscc"))
    pd.testing.assert_frame_equal(rebuilt, city_profile)
