"""The enterprise profile (一户一档) as of a date: one row per enterprise, every candidate feature.

Point in time: every source is first restricted to rows whose knowledge date is before the
as-of date; nothing later can reach a feature. The whole profile is one Ibis expression, so the
same definition runs on DuckDB (the default) and on Spark.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import ibis
import ibis.expr.types as ir

from features.catalogue import SOURCES, generic_features
from features.domain import (
    registration_features,
    registration_table,
    shareholder_features,
    shareholder_table,
    status_features,
    status_tables,
)
from features.spec import Dimension, Feature

# Sources whose rows belong to an enterprise through a linked column rather than `uscc`.
ENTITY_COLUMN = {"complaints": "entity_uscc"}
MONTHLY = {
    "electricity": "kwh",
    "water": "tons",
    "gas": "cubic_meters",
    "social_insurance": "insured_headcount",
    "tax_payments": "amount_yuan",
}
# Counts compared with the mean of firms in the same district and industry.
PEER_RELATIVE: dict[str, Dimension] = {
    "complaints": "complaints",
    "penalties": "supervision_history",
    "abnormal_list": "credit",
}
NOT_ZERO_FILLED = {"paid_in_ratio", "noncash_contribution_share", "last_inspection_found_violation"}
RATIO_WINDOWS = ((30, 365), (90, 365), (180, 730), (365, 730))


def derived_features() -> list[Feature]:
    """Trends, ratios, the activity-collapse flag and peer-relative rates, from aggregated columns."""
    out: list[Feature] = []
    by_source = {s.source: s for s in SOURCES}
    for source, col in MONTHLY.items():
        dim: Dimension = "activity"
        value = next(v for v in by_source[source].values if v.column == col)
        for short, long in RATIO_WINDOWS:
            out.append(
                Feature(
                    f"{source}_{col}_mean_ratio_{short}d_{long}d",
                    source,
                    f"近{short}天与近{long}天{value.zh}均值之比",
                    f"mean {value.en} in the last {short} days over the last {long} days (trend)",
                    "ratio",
                    short,
                    dim,
                    -1,
                    derive=_ratio(f"{source}_{col}_mean_{short}d", f"{source}_{col}_mean_{long}d"),
                )
            )
        out.append(
            Feature(
                f"{source}_{col}_zero_share_365d",
                source,
                f"近365天{value.zh}为零的月份占比",
                f"share of months with zero {value.en} in the last 365 days",
                "ratio",
                365,
                dim,
                1,
                derive=_ratio(f"{source}_{col}_zero_365d", f"{source}_count_365d"),
            )
        )
    for s in SOURCES:
        for short, long in ((90, 365), (365, 730)):
            out.append(
                Feature(
                    f"{s.source}_count_ratio_{short}d_{long}d",
                    s.source,
                    f"近{short}天与近{long}天{s.zh}条数之比",
                    f"{s.en} in the last {short} days over the last {long} days",
                    "ratio",
                    short,
                    s.dimension,
                    0,
                    derive=_ratio(f"{s.source}_count_{short}d", f"{s.source}_count_{long}d"),
                )
            )
    for source, dimension in PEER_RELATIVE.items():
        for w in (90, 180, 365, 730):
            col = f"{source}_count_{w}d"
            out.append(
                Feature(
                    f"{source}_rate_vs_district_industry_{w}d",
                    source,
                    f"近{w}天{by_source[source].zh}条数相对本区同行业均值的倍数",
                    f"{by_source[source].en} in the last {w} days relative to the mean of firms in the same district"
                    " and industry",
                    "ratio",
                    w,
                    dimension,
                    1,
                    derive=_peer_relative(col),
                )
            )
    out.append(
        Feature(
            "activity_collapse",
            "electricity",
            "经营活动骤停（仍登记存续但用电与参保归零）",
            "activity collapse: still registered, electricity near zero and no insured staff in the last 90 days",
            "flag",
            90,
            "activity",
            1,
            derive=_collapse,
        )
    )
    return out


def _ratio(numerator: str, denominator: str):
    def build(p: ir.Table) -> ir.Value:
        return ibis.ifelse(p[denominator] > 0, p[numerator].cast("float64") / p[denominator], ibis.null())

    return build


def _peer_relative(column: str):
    def build(p: ir.Table) -> ir.Value:
        peers = p[column].mean().over(group_by=[p.district, p.industry_code])
        return ibis.ifelse(peers > 0, p[column].cast("float64") / peers, ibis.null())

    return build


def _collapse(p: ir.Table) -> ir.Value:
    quiet = p.electricity_kwh_sum_90d.fill_null(0) <= 0.05 * 3 * p.electricity_kwh_mean_730d.fill_null(0)
    no_staff = p.social_insurance_insured_headcount_max_90d.fill_null(0) == 0
    had_activity = p.electricity_count_730d > 3
    return (quiet & no_staff & had_activity & (p.is_registered == 1)).cast("int64")


def all_features() -> list[Feature]:
    """Every candidate feature, in profile column order."""
    return [
        *registration_features(),
        *generic_features(),
        *shareholder_features(),
        *status_features(),
        *derived_features(),
    ]


def point_in_time(tables: dict[str, ir.Table], as_of: ir.DateScalar) -> dict[str, ir.Table]:
    """Each source restricted to rows known strictly before the as-of date."""
    return {name: t.filter(t.knowledge_date < as_of) for name, t in tables.items()}


def profile_expr(tables: dict[str, ir.Table], as_of: dt.date) -> ir.Table:
    """The profile of every enterprise established before `as_of`, as one Ibis expression."""
    lit = ibis.literal(as_of, type="date")
    known = point_in_time(tables, lit)
    profile = registration_table(known, lit)
    keyed: list[ir.Table] = []
    by_source: dict[str, list[Feature]] = defaultdict(list)
    for f in generic_features():
        by_source[f.source].append(f)
    for source, feats in by_source.items():
        t = known[source]
        key = ENTITY_COLUMN.get(source, "uscc")
        t = t.filter(t[key].notnull())
        keyed.append(t.group_by(uscc=t[key]).aggregate(**{f.name: f.aggregate(t, lit) for f in feats if f.aggregate}))
    keyed.append(shareholder_table(known, lit))
    keyed.extend(status_tables(known, lit))
    # One join chain, keys dropped once at the end: dropping after each join nests a projection
    # of every column per join and makes the compiled SQL (and compile time) grow quadratically.
    keys = [f"_key{i}" for i in range(len(keyed))]
    for key, table in zip(keys, keyed, strict=True):
        right = table.rename(**{key: "uscc"})
        profile = profile.left_join(right, profile.uscc == right[key])
    profile = profile.drop(*keys)
    profile = profile.mutate(**_zero_fills(profile))
    profile = profile.mutate(**{f.name: f.derive(profile) for f in derived_features() if f.derive})
    columns = [f.name for f in all_features()]
    return profile.select("uscc", as_of=lit, **{c: profile[c] for c in columns})


def _zero_fills(profile: ir.Table) -> dict[str, ir.Value]:
    """Counts and sums of no records are zero; means, extremes and recency stay missing."""
    fills = {}
    for f in [*generic_features(), *shareholder_features(), *status_features()]:
        zero = f.unit in ("records", "licences", "cases", "flag") or f.name.endswith(
            tuple(f"_sum_{w}" for w in ("30d", "90d", "180d", "365d", "730d", "all"))
        )
        # "Never inspected" is not "last inspection clean": state flags stay missing.
        if zero and not f.categorical and f.name not in NOT_ZERO_FILLED:
            fills[f.name] = profile[f.name].fill_null(0)
    return fills
