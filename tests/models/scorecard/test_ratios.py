"""Sampling-ratio tables per credit class: the shipped examples, and the checks on them."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.scorecard.ratios import read_ratio_tables
from models.scorecard.schema import ScorecardError
from pipelines.settings import PROJECT_ROOT

RATIOS = PROJECT_ROOT / "data" / "scorecards" / "ratios.yaml"


def test_the_published_tables_are_shipped() -> None:
    tables = read_ratio_tables(RATIOS)

    henan = tables.table("henan_2021").ratios
    county = tables.table("county_example").ratios

    assert {g: r.max for g, r in henan.items()} == {"A": 0.01, "B": 0.02, "C": 0.10, "D": 0.30}
    assert (county["A"].max, county["B"].min, county["C"].min, county["D"].max) == (0.05, 0.05, 0.21, 1.0)


def test_expected_draws_per_grade() -> None:
    henan = read_ratio_tables(RATIOS).table("henan_2021")

    assert henan.expected_draws({"A": 1000, "D": 10}) == {"A": (10.0, 10.0), "D": (3.0, 3.0)}


def test_every_grade_needs_a_ratio() -> None:
    henan = read_ratio_tables(RATIOS).table("henan_2021")

    with pytest.raises(ScorecardError, match=r"lacks grade\(s\) \['E'\]"):
        henan.check_grades(["A", "B", "C", "D", "E"])


def test_unknown_table_and_bad_ratio(tmp_path: Path) -> None:
    with pytest.raises(ScorecardError, match="no ratio table 'hunan'; expected one of"):
        read_ratio_tables(RATIOS).table("hunan")
    bad = tmp_path / "ratios.yaml"
    bad.write_text("tables:\n  x:\n    source: s\n    ratios:\n      A: {min: 0.5, max: 0.1}\n", encoding="utf-8")
    with pytest.raises(ScorecardError, match="ratio min 0.5 is above max 0.1"):
        read_ratio_tables(bad)
