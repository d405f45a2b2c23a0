"""Event-keyed profiles: one row per inspection, each feature as of that inspection's date.

The city profile (`features/profile.py`) describes every enterprise on a few as-of dates. Some
jurisdictions label single inspections instead: Chicago's food inspections each have a date and a
result, and a model ranks the inspections on a schedule. For those, a jurisdiction describes its
profile in YAML (`data/jurisdictions/<name>/profile.yaml`, read by `load_spec`) and this module
builds it as one Ibis expression, so it runs on DuckDB and Spark like the city profile.

Point in time, for every family: a record counts for an event only if it was known strictly
before the event's date (`as_of`). Families:

- history: the entity's own earlier events - counts and outcome sums in windows, the last event's
  outcomes, days since the last event, whether this is the first event on record;
- attributes: columns of the event row that are known before it happens (facility type, risk tier);
- joined: another source's row for the same event (the licence record, the assigned inspector);
  a row known only after the event (its knowledge column on or after `as_of`) is blanked;
- nearby: counts of another source's points within a radius, in windows before the date (spatial
  linking for records with a place but no entity key: complaints, crimes);
- series: a global daily series averaged over the days before the date (weather).

Worked example (Chicago): inspection 1199491 of licence 2008126 on 2014-09-03 has
`history_events_all` 2 (the licence's canvass inspections before that day),
`history_critical_last` 3 (critical violations at the previous one; the largest, if it shared its
day), `history_days_since_last` 490, `sanitation_complaints_within_500m_90d` 6 (311 complaints
created 2014-06-05..2014-09-02 within 500 m of its address), `weather_temperature_max_3d` 82.0
(mean maximum of 08-31, 09-01 and 09-02) and `licence_age_years` 4.75 (since the licence's first
term).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import ibis
import ibis.expr.types as ir
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from features.spec import Dimension, Feature, window_label

M_PER_DEGREE_LAT = 111_320.0
MAX_LATITUDE = 70.0  # spatial linking holds for places up to 70 degrees north or south


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EntitySpec(_Spec):
    key: str
    zh: str = ""
    en: str = ""


class EventsSpec(_Spec):
    source: str
    id: str
    date: str
    latitude: str | None = None
    longitude: str | None = None


class LabelSpec(_Spec):
    name: str
    column: str
    above: float = 0
    en: str = ""


class Outcome(_Spec):
    name: str
    column: str
    equals: str | None = None  # a flag: column == value; otherwise the column's number
    en: str
    direction: int = 0


class HistorySpec(_Spec):
    dimension: Dimension = "supervision_history"
    windows: list[int | None]
    outcomes: list[Outcome]


class ColumnFeature(_Spec):
    column: str
    categorical: bool = False
    en: str
    zh: str = ""
    direction: int = 0
    dimension: Dimension | None = None


class AgeFeature(_Spec):
    column: str
    name: str
    en: str


class JoinedSpec(_Spec):
    source: str
    by: str  # the event id column of the joined source (not `on`: YAML reads that as true)
    known: str | None = None
    dimension: Dimension
    columns: list[ColumnFeature]
    ages: list[AgeFeature] = []


class GroupHistorySpec(_Spec):
    """The recent record of a group the event belongs to through a joined source (the assigned
    inspector's earlier inspections): counts and the share with each outcome, in windows."""

    name: str
    source: str
    by: str  # the joined source's event id column
    column: str  # the group column in the joined source
    windows: list[int]
    outcomes: list[str]  # names of history outcomes; a count outcome counts as "at least one"
    dimension: Dimension = "supervision_history"
    en: str


class NearbySpec(_Spec):
    source: str
    date: str
    latitude: str
    longitude: str
    radii_m: list[int]
    windows: list[int]
    dimension: Dimension
    en: str
    direction: int = 1


class SeriesSpec(_Spec):
    source: str
    date: str
    days: int
    dimension: Dimension
    columns: list[ColumnFeature]


class BenchmarkSpec(_Spec):
    """Someone else's score on some of the events, to compare with on the same rows (read only by
    evaluation code, never a feature)."""

    source: str
    id: str
    rows: str  # a boolean column: the rows to compare on
    score: str
    label: str
    name: str


class TrainingSpec(_Spec):
    """The jurisdiction's training defaults, chosen on the cross-validation folds (flags override)."""

    cutoff: dt.date | None = None
    folds: int = 3
    factors: int | None = None  # None: every candidate
    monotone: bool = False
    exclude_sources: list[str] = []
    # The promotion gate's fairness check: FPR parity by these profile columns among the events
    # ranked in the first `fairness_capacity` share (the first half of a schedule, for Chicago).
    fairness_groups: list[str] = []
    fairness_capacity: float = 0.5


class EventProfileSpec(_Spec):
    entity: EntitySpec
    events: EventsSpec
    label: LabelSpec
    history: HistorySpec | None = None
    attributes: list[ColumnFeature] = []
    joined: list[JoinedSpec] = []
    group_history: list[GroupHistorySpec] = []
    nearby: list[NearbySpec] = []
    series: list[SeriesSpec] = []
    benchmark: BenchmarkSpec | None = None
    training: TrainingSpec = TrainingSpec()

    @model_validator(mode="after")
    def _no_outcome_as_feature(self) -> EventProfileSpec:
        """An event's own outcome (the label's column, a history outcome's column) is known only
        after the inspection: it may not be an attribute of the event."""
        outcomes = {self.label.column, *(o.column for o in (self.history.outcomes if self.history else []))}
        leaking = sorted({a.column for a in self.attributes} & outcomes)
        if leaking:
            raise ValueError(f"attributes {leaking} are the event's own outcome, known only after it")
        return self

    @property
    def sources(self) -> list[str]:
        """Every bronze source the profile reads."""
        names = [self.events.source, *(j.source for j in self.joined), *(g.source for g in self.group_history),
                 *(n.source for n in self.nearby)]
        return list(dict.fromkeys([*names, *(s.source for s in self.series)]))

    @property
    def keys(self) -> list[str]:
        """The profile's identifying columns: event id, entity key, as-of date."""
        return [self.events.id, self.entity.key, "as_of"]


def load_spec(path: Path) -> EventProfileSpec:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return EventProfileSpec.model_validate(raw)
    except (OSError, yaml.YAMLError) as err:
        raise ValueError(f"{path}: cannot read the profile spec: {err}") from err
    except ValidationError as err:
        raise ValueError(f"{path}: not a valid event profile spec: {err}") from err


def event_features(spec: EventProfileSpec) -> list[Feature]:
    """The catalogue of the profile's features, in column order (what `profile_columns` builds)."""
    out: list[Feature] = []
    if spec.history is not None:
        h = spec.history
        for w in h.windows:
            out.append(_feature(f"history_events_{window_label(w)}", spec.events.source, "earlier inspections",
                                "records", w, h.dimension, 0))
        for o in h.outcomes:
            unit = "records" if o.equals else "count"
            for w in h.windows:
                out.append(_feature(f"history_{o.name}_{window_label(w)}", spec.events.source, f"{o.en} (sum)", unit, w,
                                    h.dimension, o.direction))
            out.append(_feature(f"history_{o.name}_last", spec.events.source, f"{o.en} at the previous inspection",
                                unit, None, h.dimension, o.direction))
        out.append(_feature("history_days_since_last", spec.events.source, "days since the previous inspection",
                            "days", None, h.dimension, 0))
        out.append(_feature("history_first_record", spec.events.source, "first inspection on record", "flag", None,
                            h.dimension, 0))
    for a in spec.attributes:
        out.append(_feature(a.column, spec.events.source, a.en, "category" if a.categorical else "value", None,
                            a.dimension or "operating_status", a.direction, a.categorical))
    for j in spec.joined:
        for c in j.columns:
            out.append(_feature(f"{j.source}_{c.column}", j.source, c.en, "category" if c.categorical else "value",
                                None, c.dimension or j.dimension, c.direction, c.categorical))
        for age in j.ages:
            out.append(_feature(age.name, j.source, age.en, "years", None, j.dimension, 0))
    outcomes = {o.name: o for o in spec.history.outcomes} if spec.history else {}
    for g in spec.group_history:
        for w in g.windows:
            out.append(_feature(f"{g.name}_events_{w}d", g.source, f"earlier inspections of {g.en}", "records", w,
                                g.dimension, 0))
            for name in g.outcomes:
                out.append(_feature(f"{g.name}_{name}_rate_{w}d", g.source,
                                    f"share of {g.en}'s earlier inspections with {outcomes[name].en}", "ratio", w,
                                    g.dimension, outcomes[name].direction))
    for n in spec.nearby:
        for r in n.radii_m:
            for w in n.windows:
                out.append(_feature(f"{n.source}_within_{r}m_{w}d", n.source, f"{n.en} within {r} m", "records", w,
                                    n.dimension, n.direction))
    for s in spec.series:
        for c in s.columns:
            words = f"{c.en}, mean of the {s.days} days before"
            out.append(_feature(f"{s.source}_{c.column}_{s.days}d", s.source, words, "value", s.days, s.dimension,
                                c.direction))
    return out


def zero_filled(spec: EventProfileSpec) -> list[str]:
    """The count and sum columns, which are zero (not missing) when nothing was found."""
    names: list[str] = []
    if spec.history is not None:
        windows = [window_label(w) for w in spec.history.windows]
        names += [f"history_events_{w}" for w in windows]
        names += [f"history_{o.name}_{w}" for o in spec.history.outcomes for w in windows]
    names += [f"{g.name}_events_{w}d" for g in spec.group_history for w in g.windows]
    names += [f"{n.source}_within_{r}m_{w}d" for n in spec.nearby for r in n.radii_m for w in n.windows]
    return names


def _feature(name: str, source: str, en: str, unit: str, window: int | None, dimension: Dimension, direction: int,
             categorical: bool = False) -> Feature:
    words = en if window is None else f"{en} in the last {window} days"
    return Feature(name, source, "", words, unit, window, dimension, direction, categorical=categorical)


def event_profile_expr(spec: EventProfileSpec, tables: dict[str, ir.Table]) -> ir.Table:
    """One row per event: keys, every feature of `event_features(spec)`, nothing known on or after
    the event's date."""
    ev = tables[spec.events.source]
    e = spec.events
    spine = ev.select(
        _id=ev[e.id], _entity=ev[spec.entity.key], _asof=ev[e.date], _asof_d=ev[e.date].epoch_days(),
        **({"_lat": ev[e.latitude], "_lon": ev[e.longitude]} if e.latitude and e.longitude else {}),
    )
    parts: list[ir.Table] = []
    if spec.history is not None:
        parts.append(_history(spec, spine, ev))
    for j in spec.joined:
        parts.append(_joined(j, spine, tables[j.source]))
    for g in spec.group_history:
        parts.append(_group_history(spec, g, spine, ev, tables[g.source]))
    for n in spec.nearby:
        parts.append(_nearby(n, spine, tables[n.source]))
    profile = spine
    keys = [f"_k{i}" for i in range(len(parts))]
    for key, part in zip(keys, parts, strict=True):
        right = part.rename(**{key: "_id"})
        profile = profile.left_join(right, profile._id == right[key])
    profile = profile.drop(*keys)
    for s in spec.series:
        days = _series(s, spine, tables[s.source]).rename(_sday="_asof_d")
        profile = profile.left_join(days, profile._asof_d == days._sday).drop("_sday")
    attributes = ev.select(_aid=ev[e.id], **{a.column: ev[a.column] for a in spec.attributes})
    profile = profile.left_join(attributes, profile._id == attributes._aid).drop("_aid")
    features = event_features(spec)
    # No earlier event, no point nearby: counts and sums are zero; the previous inspection's
    # outcome and the days since it stay missing ("never inspected" is not "clean last time").
    nearby = {f"{n.source}_within_{r}m_{w}d" for n in spec.nearby for r in n.radii_m for w in n.windows}
    placed = profile._lat.notnull() & profile._lon.notnull() if "_lat" in profile.columns else ibis.literal(False)
    filled = {
        # An event without a place has no neighbourhood: its nearby counts stay missing, not zero.
        name: ibis.ifelse(placed, profile[name].fill_null(0), ibis.null(profile[name].type())) if name in nearby
        else profile[name].fill_null(0)
        for name in zero_filled(spec)
    }
    if spec.history is not None:
        filled["history_first_record"] = profile.history_first_record.isnull().cast("int64")
    profile = profile.mutate(**filled)
    return profile.select(
        **{e.id: profile._id, spec.entity.key: profile._entity, "as_of": profile._asof},
        **{f.name: profile[f.name] for f in features},
    )


def labels_expr(spec: EventProfileSpec, events: ir.Table) -> ir.Table:
    """The label of every event: its outcome column above the threshold (1) or not (0)."""
    lab = spec.label
    return events.select(
        **{spec.events.id: events[spec.events.id], spec.entity.key: events[spec.entity.key]},
        as_of=events[spec.events.date],
        **{lab.name: (events[lab.column] > lab.above).cast("int64"), lab.column: events[lab.column]},
    )


def _history(spec: EventProfileSpec, spine: ir.Table, ev: ir.Table) -> ir.Table:
    h = spec.history
    assert h is not None
    past = ev.select(
        _pentity=ev[spec.entity.key],
        _pd=ev[spec.events.date].epoch_days(),
        **{f"_o_{o.name}": _outcome(ev, o) for o in h.outcomes},
    )
    j = spine.select("_id", "_entity", "_asof_d").join(
        past, [spine._entity == past._pentity, past._pd < spine._asof_d]
    )
    # The previous event's outcomes: on a day with several events, the largest value of each outcome
    # over that day's events (each outcome on its own), so that the value does not depend on the
    # order in which an engine happens to read the rows.
    j = j.mutate(_latest=j._pd == j._pd.max().over(group_by=j._id))
    age = j._asof_d - j._pd
    aggs: dict[str, ir.Value] = {}
    for w in h.windows:
        aggs[f"history_events_{window_label(w)}"] = j.count(where=age <= w) if w is not None else j.count()
    for o in h.outcomes:
        value = j[f"_o_{o.name}"]
        for w in h.windows:
            aggs[f"history_{o.name}_{window_label(w)}"] = value.sum(where=age <= w) if w is not None else value.sum()
        aggs[f"history_{o.name}_last"] = value.max(where=j._latest)
    aggs["history_days_since_last"] = age.min()
    out = j.group_by("_id").aggregate(**aggs)
    # No earlier event: the left join leaves the columns missing; `first_record` says so.
    return out.mutate(history_first_record=ibis.literal(0))


def _group_history(
    spec: EventProfileSpec, g: GroupHistorySpec, spine: ir.Table, ev: ir.Table, source: ir.Table
) -> ir.Table:
    """Each event's group (e.g. its inspector) and that group's events strictly before the date."""
    if spec.history is None:
        raise ValueError(f"group history {g.name!r} needs the `history` block (it names the outcomes)")
    outcomes = {o.name: o for o in spec.history.outcomes}
    unknown = sorted(set(g.outcomes) - set(outcomes))
    if unknown:
        raise ValueError(f"group history {g.name!r} names outcomes {unknown} that `history` does not define")
    groups = source.select(_gid=source[g.by], _grp=source[g.column])
    past = ev.select(
        _pid=ev[spec.events.id], _pd=ev[spec.events.date].epoch_days(),
        **{f"_o_{n}": (_outcome(ev, outcomes[n]) > 0).cast("float64") for n in g.outcomes},
    )
    past = past.join(groups, past._pid == groups._gid).select("_pd", "_grp", *(f"_o_{n}" for n in g.outcomes))
    mine = spine.select("_id", "_asof_d")
    mine = mine.join(groups, mine._id == groups._gid).select("_id", "_asof_d", _mygrp=groups._grp)
    horizon = max(g.windows)
    j = mine.join(past, [mine._mygrp == past._grp, past._pd < mine._asof_d, past._pd >= mine._asof_d - horizon])
    age = j._asof_d - j._pd
    aggs: dict[str, ir.Value] = {}
    for w in g.windows:
        aggs[f"{g.name}_events_{w}d"] = j.count(where=age <= w)
        for n in g.outcomes:
            aggs[f"{g.name}_{n}_rate_{w}d"] = j[f"_o_{n}"].mean(where=age <= w)
    return j.group_by("_id").aggregate(**aggs)


def _outcome(ev: ir.Table, o: Outcome) -> ir.Value:
    if o.equals is not None:
        return (ev[o.column] == o.equals).cast("int64")
    return ev[o.column].cast("float64")


def _joined(j: JoinedSpec, spine: ir.Table, source: ir.Table) -> ir.Table:
    t = source.select(_jid=source[j.by], _known=source[j.known] if j.known else ibis.null("date"),
                      **{f"_c_{c.column}": source[c.column] for c in j.columns},
                      **{f"_a_{a.name}": source[a.column] for a in j.ages})
    s = spine.select("_id", "_asof", "_asof_d")
    joined = s.join(t, s._id == t._jid)
    # A record known only on or after the event's date is not part of the profile.
    known = joined._known.isnull() | (joined._known < joined._asof)
    cols: dict[str, ir.Value] = {}
    for c in j.columns:
        cols[f"{j.source}_{c.column}"] = ibis.ifelse(known, joined[f"_c_{c.column}"], ibis.null())
    for a in j.ages:
        start = joined[f"_a_{a.name}"]
        years = (joined._asof_d - start.epoch_days()).cast("float64") / 365.25
        cols[a.name] = ibis.ifelse(known & (start < joined._asof), years, ibis.null())
    return joined.select("_id", **cols)


def _nearby(n: NearbySpec, spine: ir.Table, source: ir.Table) -> ir.Table:
    """Counts of the source's points within each radius and window, via a grid join: points and
    events fall in cells at least the largest radius across, and each event looks at its own cell
    and the eight around it, so no pair beyond one cell apart is ever compared."""
    radius = max(n.radii_m)
    cell_lat = radius / M_PER_DEGREE_LAT
    # A degree of longitude shrinks with latitude: cells are wide enough for any place within
    # MAX_LATITUDE of the equator (so the 3 x 3 neighbourhood never misses a point in range), and
    # each pair's east-west distance uses the event's own latitude.
    cell_lon = radius / (M_PER_DEGREE_LAT * math.cos(math.radians(MAX_LATITUDE)))
    horizon = max(n.windows)
    pts = source.filter(source[n.latitude].notnull() & source[n.longitude].notnull() & source[n.date].notnull())
    pts = pts.select(
        _pd=pts[n.date].epoch_days(), _plat=pts[n.latitude], _plon=pts[n.longitude],
        _pcx=(pts[n.longitude] / cell_lon).floor().cast("int64"),
        _pcy=(pts[n.latitude] / cell_lat).floor().cast("int64"),
    )
    ev = spine.filter(spine._lat.notnull() & spine._lon.notnull())
    ev = ev.select("_id", "_asof_d", "_lat", "_lon", _cx=(ev._lon / cell_lon).floor().cast("int64"),
                   _cy=(ev._lat / cell_lat).floor().cast("int64"))
    shifted = [ev.mutate(_cx=ev._cx + dx, _cy=ev._cy + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
    ev9 = ibis.union(*shifted, distinct=False)
    j = ev9.join(pts, [ev9._cx == pts._pcx, ev9._cy == pts._pcy, pts._pd < ev9._asof_d,
                       pts._pd >= ev9._asof_d - horizon])
    dy = (j._plat - j._lat) * M_PER_DEGREE_LAT
    dx = (j._plon - j._lon) * M_PER_DEGREE_LAT * (j._lat * (math.pi / 180)).cos()
    d2 = dx * dx + dy * dy
    age = j._asof_d - j._pd
    aggs = {
        f"{n.source}_within_{r}m_{w}d": j.count(where=(d2 <= r * r) & (age <= w))
        for r in n.radii_m
        for w in n.windows
    }
    return j.group_by("_id").aggregate(**aggs)


def _series(s: SeriesSpec, spine: ir.Table, source: ir.Table) -> ir.Table:
    """Per event day: the mean of each series column over the `days` days before it."""
    days = spine.select("_asof_d").distinct()
    t = source.select(_sd=source[s.date].epoch_days(), **{f"_s_{c.column}": source[c.column] for c in s.columns})
    j = days.join(t, [t._sd < days._asof_d, t._sd >= days._asof_d - s.days])
    return j.group_by("_asof_d").aggregate(
        **{f"{s.source}_{c.column}_{s.days}d": j[f"_s_{c.column}"].mean() for c in s.columns}
    )
