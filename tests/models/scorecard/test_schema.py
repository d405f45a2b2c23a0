"""The scorecard YAML contract: every way a file can be wrong fails with a message saying what was expected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from features.profile import all_features
from models.scorecard.schema import ScorecardError, read_spec, write_spec
from pipelines.settings import PROJECT_ROOT

CATALOGUE = {f.name: f for f in all_features()}
SCORECARDS = PROJECT_ROOT / "data" / "scorecards"


def minimal(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "version": "t-1",
        "name": "test",
        "dimensions": [
            {
                "id": "penalties_lists",
                "zh": "处罚与负面名单",
                "base": 100,
                "indicators": [{"feature": "penalties_count_365d", "edges": [1, 2], "points": [0, -10, -20]}],
            }
        ],
        "bands": [{"grade": "A", "min": 90}, {"grade": "B", "min": 80, "max": 90}, {"grade": "D", "max": 80}],
    }
    spec.update(changes)
    return spec


def write(tmp_path: Path, spec: dict[str, Any]) -> Path:
    path = tmp_path / "card.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return path


def with_indicator(**indicator: Any) -> dict[str, Any]:
    spec = minimal()
    spec["dimensions"][0]["indicators"] = [indicator]
    return spec


def test_the_shipped_scorecards_are_valid() -> None:
    spec = read_spec(SCORECARDS / "enterprise_default.yaml", CATALOGUE)

    assert [d.zh for d in spec.dimensions] == [
        "经营与变更",
        "登记与许可",
        "处罚与负面名单",
        "案件与投诉举报",
        "评价与表彰",
    ]
    assert spec.grades == ["A", "B", "C", "D"]


def test_unknown_feature_names_the_feature_and_suggests_a_close_one(tmp_path: Path) -> None:
    path = write(tmp_path, with_indicator(feature="penalties_count_356d", edges=[1], points=[0, -5]))

    with pytest.raises(ScorecardError, match=r"unknown feature 'penalties_count_356d'.*1,003.*did you mean"):
        read_spec(path, CATALOGUE)


def test_unknown_feature_in_an_override_fails(tmp_path: Path) -> None:
    rule = {"id": "gone", "zh": "注销", "when": {"feature": "is_deregistered", "value": 1}, "action": "exclude"}
    path = write(tmp_path, minimal(overrides=[rule]))

    with pytest.raises(ScorecardError, match=r"override 'gone' names an unknown feature 'is_deregistered'"):
        read_spec(path, CATALOGUE)


@pytest.mark.parametrize(
    ("edges", "points", "message"),
    [
        ([2, 1], [0, -1, -2], r"edges must be strictly increasing, got \[2.0, 1.0\]"),
        ([1, 1], [0, -1, -2], r"strictly increasing"),
        ([1, 2], [0, -1], r"2 edges make 3 bins, expected as many points, got 2"),
    ],
)
def test_bad_numeric_bins(tmp_path: Path, edges: list[float], points: list[float], message: str) -> None:
    path = write(tmp_path, with_indicator(feature="penalties_count_365d", edges=edges, points=points))

    with pytest.raises(ScorecardError, match=message):
        read_spec(path, CATALOGUE)


def test_a_category_in_two_bins_fails(tmp_path: Path) -> None:
    cats = [{"values": ["A", "B"], "points": 0}, {"values": ["B"], "points": -5}]
    path = write(tmp_path, with_indicator(feature="tax_credit_grade_latest", categories=cats))

    with pytest.raises(ScorecardError, match="category 'B' is in more than one bin"):
        read_spec(path, CATALOGUE)


def test_numeric_edges_on_a_categorical_feature_fail(tmp_path: Path) -> None:
    path = write(tmp_path, with_indicator(feature="tax_credit_grade_latest", edges=[1], points=[0, 1]))

    with pytest.raises(ScorecardError, match="categorical, expected `categories`"):
        read_spec(path, CATALOGUE)


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        (
            [{"grade": "A", "min": 90}, {"grade": "B", "min": 80, "max": 85}, {"grade": "D", "max": 80}],
            r"gap between bands: A starts at 90.0 but B ends at 85.0; totals in \[85.0, 90.0\) would have no grade",
        ),
        (
            [{"grade": "A", "min": 90}, {"grade": "B", "min": 80, "max": 95}, {"grade": "D", "max": 80}],
            "bands overlap: A starts at 90.0 but B ends at 95.0",
        ),
        ([{"grade": "A", "min": 90, "max": 200}, {"grade": "D", "max": 90}], "best band .A. must have no max"),
        ([{"grade": "A", "min": 90}, {"grade": "D", "min": 0, "max": 90}], "worst band .D. must have no min"),
        ([{"grade": "A", "min": 90}, {"grade": "A", "max": 90}], "band grade 'A' appears twice"),
    ],
)
def test_bands_must_cover_every_total_once(tmp_path: Path, bands: list[dict[str, Any]], message: str) -> None:
    path = write(tmp_path, minimal(bands=bands))

    with pytest.raises(ScorecardError, match=message):
        read_spec(path, CATALOGUE)


def test_override_grade_must_be_a_band(tmp_path: Path) -> None:
    rule = {
        "id": "sd",
        "zh": "失信",
        "when": {"feature": "serious_dishonesty_listed_now", "value": 1},
        "action": "grade",
    }
    path = write(tmp_path, minimal(overrides=[{**rule, "grade": "E"}]))

    with pytest.raises(ScorecardError, match=r"sets grade 'E', expected one of the bands \['A', 'B', 'D'\]"):
        read_spec(path, CATALOGUE)


def test_unknown_keys_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, minimal(weights={"x": 1}))

    with pytest.raises(ScorecardError, match="weights"):
        read_spec(path, CATALOGUE)


def test_write_then_read_gives_the_same_spec(tmp_path: Path) -> None:
    spec = read_spec(SCORECARDS / "enterprise_default.yaml", CATALOGUE)

    write_spec(spec, tmp_path / "copy.yaml")

    assert read_spec(tmp_path / "copy.yaml", CATALOGUE) == spec
