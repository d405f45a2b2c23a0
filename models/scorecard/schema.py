"""The scorecard as data: a YAML file validated into these pydantic models.

A scorecard has dimensions; each dimension has a base and indicators; each indicator names one
feature and gives points per bin. Points add up to a dimension's sub-score, the sub-scores to the
total; a higher total means *lower* risk (as in Shenzhen's 深市监规〔2021〕3号). Grade bands cut
the total into classes (best first). Hard overrides set a grade, or exclude the entity, whatever
the score.

Numeric bins are right-open, as in optbinning: `edges: [1, 3]` makes the bins (-inf, 1), [1, 3)
and [3, +inf), so `points` has one more entry than `edges`. A missing value scores `missing`.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from features.spec import Feature


class ScorecardError(ValueError):
    """A scorecard file that cannot be used, with what was expected and what was found."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CategoryBin(_Strict):
    values: list[str] = Field(min_length=1, description="category values that fall in this bin")
    points: float


class Indicator(_Strict):
    feature: str = Field(description="a feature name from the catalogue (profile column)")
    zh: str | None = Field(None, description="label for reason lines; default: the catalogue's Chinese description")
    edges: list[float] | None = Field(None, description="strictly increasing cut points of right-open bins")
    points: list[float] | None = Field(None, description="points per numeric bin, len(edges) + 1")
    categories: list[CategoryBin] | None = None
    other: float = Field(0, description="points for a category value listed in no bin")
    missing: float = Field(0, description="points when the value is missing")
    reference: float | None = Field(
        None,
        description="points below this count as 'lost' in reason lines; default the best bin. Set 0 for a bonus"
        " indicator (e.g. honours) so that lacking a bonus is not reported as a cost",
    )

    @model_validator(mode="after")
    def _bins(self) -> Indicator:
        if (self.edges is None) == (self.categories is None):
            raise ValueError(f"{self.feature}: give either numeric `edges` + `points` or `categories`, not both/none")
        if self.edges is not None:
            _check_numeric_bins(self.feature, self.edges, self.points)
        elif self.points is not None:
            raise ValueError(f"{self.feature}: `points` goes with `edges`; categorical bins carry their own points")
        else:
            _check_category_bins(self.feature, self.categories or [])
        return self

    def all_points(self) -> list[float]:
        """Every number of points this indicator can give (bins, other, missing)."""
        if self.points is not None:
            return [*self.points, self.missing]
        return [*(c.points for c in self.categories or []), self.other, self.missing]

    @property
    def best(self) -> float:
        """The most points attainable on this indicator."""
        return max(self.all_points())

    @property
    def reference_points(self) -> float:
        """Reason lines report points received below this figure (default: the best bin)."""
        return self.best if self.reference is None else self.reference


def _check_numeric_bins(feature: str, edges: list[float], points: list[float] | None) -> None:
    if any(not math.isfinite(e) for e in edges):
        raise ValueError(f"{feature}: edges must be finite numbers (the outer bins are open), got {edges}")
    bad = [(a, b) for a, b in zip(edges, edges[1:], strict=False) if not a < b]
    if bad:
        raise ValueError(f"{feature}: edges must be strictly increasing, got {edges} ({bad[0][0]} then {bad[0][1]})")
    if points is None or len(points) != len(edges) + 1:
        got = "none" if points is None else len(points)
        raise ValueError(
            f"{feature}: {len(edges)} edges make {len(edges) + 1} bins, expected as many points, got {got}"
        )


def _check_category_bins(feature: str, bins: list[CategoryBin]) -> None:
    seen: set[str] = set()
    for b in bins:
        twice = seen.intersection(b.values)
        if twice:
            raise ValueError(f"{feature}: category {sorted(twice)[0]!r} is in more than one bin")
        seen.update(b.values)


class Dimension(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="snake_case id; sub-score column sub_<id>")
    zh: str
    en: str = ""
    base: float = Field(0, description="points every entity starts this dimension with")
    indicators: list[Indicator] = Field(min_length=1)


class Band(_Strict):
    """Totals in [min, max) get this grade; a missing min or max is open-ended."""

    grade: str = Field(min_length=1)
    min: float | None = None
    max: float | None = None
    zh: str = ""


class Condition(_Strict):
    feature: str
    op: Literal["==", "!=", ">", ">=", "<", "<="] = "=="
    value: float | str


class Override(_Strict):
    """A hard rule: when the condition holds the entity gets `grade` (or is excluded), whatever its score.
    The first matching override in file order wins."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    zh: str
    when: Condition
    action: Literal["grade", "exclude"]
    grade: str | None = None

    @model_validator(mode="after")
    def _grade_given(self) -> Override:
        if (self.action == "grade") != (self.grade is not None):
            raise ValueError(f"override {self.id}: action 'grade' needs a grade, action 'exclude' takes none")
        return self


class ScorecardSpec(_Strict):
    version: str = Field(min_length=1, description="recorded beside every grade this scorecard produces")
    name: str
    entity: Literal["enterprise", "government_body"] = "enterprise"
    description: str = ""
    dimensions: list[Dimension] = Field(min_length=1)
    bands: list[Band] = Field(min_length=1, description="best grade first")
    overrides: list[Override] = []

    @field_validator("bands")
    @classmethod
    def _bands_tile_the_line(cls, bands: list[Band]) -> list[Band]:
        check_bands(bands)
        return bands

    @model_validator(mode="after")
    def _names(self) -> ScorecardSpec:
        _unique("dimension id", [d.id for d in self.dimensions])
        _unique("indicator feature", [i.feature for d in self.dimensions for i in d.indicators])
        _unique("override id", [o.id for o in self.overrides])
        grades = [b.grade for b in self.bands]
        for o in self.overrides:
            if o.grade is not None and o.grade not in grades:
                raise ValueError(f"override {o.id} sets grade {o.grade!r}, expected one of the bands {grades}")
        return self

    @property
    def indicators(self) -> list[tuple[Dimension, Indicator]]:
        return [(d, i) for d in self.dimensions for i in d.indicators]

    @property
    def features(self) -> list[str]:
        """Every feature the scorecard reads: indicators, then override conditions."""
        names = [i.feature for _, i in self.indicators]
        return names + [o.when.feature for o in self.overrides if o.when.feature not in names]

    @property
    def grades(self) -> list[str]:
        return [b.grade for b in self.bands]

    @property
    def max_total(self) -> float:
        return sum(d.base for d in self.dimensions) + sum(i.best for _, i in self.indicators)


def check_bands(bands: list[Band]) -> None:
    """Bands, best first, must cover every total exactly once: open at both ends, no gap, no overlap."""
    _unique("band grade", [b.grade for b in bands])
    if bands[0].max is not None:
        raise ValueError(f"the best band ({bands[0].grade}) must have no max, got max {bands[0].max}")
    if bands[-1].min is not None:
        raise ValueError(f"the worst band ({bands[-1].grade}) must have no min, got min {bands[-1].min}")
    for upper, lower in zip(bands, bands[1:], strict=False):
        if upper.min is None or lower.max is None:
            raise ValueError(f"bands {upper.grade} and {lower.grade} must meet at a number, got min/max missing")
        if upper.min > lower.max:
            raise ValueError(
                f"gap between bands: {upper.grade} starts at {upper.min} but {lower.grade} ends at {lower.max};"
                f" totals in [{lower.max}, {upper.min}) would have no grade. Expected {lower.grade}.max == "
                f"{upper.grade}.min"
            )
        if upper.min < lower.max:
            raise ValueError(
                f"bands overlap: {upper.grade} starts at {upper.min} but {lower.grade} ends at {lower.max};"
                f" expected {lower.grade}.max == {upper.grade}.min"
            )
        if lower.min is not None and lower.min >= lower.max:
            raise ValueError(f"band {lower.grade} is empty: min {lower.min} >= max {lower.max}")


def _unique(what: str, names: list[str]) -> None:
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise ValueError(f"{what} {n!r} appears twice; expected each once")
        seen.add(n)


def check_features(spec: ScorecardSpec, catalogue: Mapping[str, Feature]) -> None:
    """Every indicator and override must name a catalogue feature, and bins must suit its kind."""
    for dim, ind in spec.indicators:
        where = f"indicator {ind.feature!r} in dimension {dim.id!r}"
        _known(ind.feature, where, catalogue)
        feature = catalogue[ind.feature]
        if feature.categorical and ind.edges is not None:
            raise ScorecardError(f"{where}: the feature is categorical, expected `categories`, got numeric `edges`")
    for o in spec.overrides:
        _known(o.when.feature, f"override {o.id!r}", catalogue)


def _known(name: str, where: str, catalogue: Mapping[str, Feature]) -> None:
    if name in catalogue:
        return
    close = difflib.get_close_matches(name, list(catalogue), n=3)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ScorecardError(
        f"{where} names an unknown feature {name!r}: expected one of the {len(catalogue):,} catalogue features{hint}"
    )


def read_spec(path: Path, catalogue: Mapping[str, Feature] | None = None) -> ScorecardSpec:
    """Read and validate a scorecard YAML file (and its feature names, given the catalogue)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ScorecardError(f"{path}: not valid YAML: {error}") from error
    try:
        spec = ScorecardSpec.model_validate(raw)
    except ValidationError as error:
        raise ScorecardError(f"{path}: {error}") from error
    if catalogue is not None:
        try:
            check_features(spec, catalogue)
        except ScorecardError as error:
            raise ScorecardError(f"{path}: {error}") from error
    return spec


class _ReviewDumper(yaml.SafeDumper):
    """Lists of plain values on one line (`edges: [0.5, 1.5]`), everything else in block style."""


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flat = all(not isinstance(x, dict | list) for x in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)


_ReviewDumper.add_representer(list, _represent_list)


def _whole_numbers_as_int(value: Any) -> Any:
    """-12.0 -> -12 (same number once read back), recursively; other values unchanged."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole_numbers_as_int(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_numbers_as_int(v) for v in value]
    return value


def write_spec(spec: ScorecardSpec, path: Path) -> None:
    """Write the scorecard as YAML a reviewer can read and edit (keys in declaration order).

    Numbers are written exactly (edges keep every digit), so reading the file back gives the same spec."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = _whole_numbers_as_int(spec.model_dump(mode="json", exclude_defaults=True))
    text = yaml.dump(data, Dumper=_ReviewDumper, allow_unicode=True, sort_keys=False, width=120)
    path.write_text(text, encoding="utf-8")
