"""Scoring with a declarative scorecard, on tiny inline frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.scorecard.engine import Scorecard
from models.scorecard.schema import ScorecardError, ScorecardSpec

SPEC = ScorecardSpec.model_validate(
    {
        "version": "t-2",
        "name": "test",
        "dimensions": [
            {
                "id": "penalties_lists",
                "zh": "处罚与负面名单",
                "base": 100,
                "indicators": [
                    {
                        "feature": "penalties_count_365d",
                        "zh": "近一年行政处罚次数",
                        "edges": [1, 2],
                        "points": [0, -20, -40],
                    },
                    {"feature": "paid_in_ratio", "zh": "实缴比例", "edges": [0.5], "points": [-5, 0], "missing": -3},
                ],
            },
            {
                "id": "evaluation_honours",
                "zh": "评价与表彰",
                "base": 0,
                "indicators": [
                    {
                        "feature": "tax_credit_grade_latest",
                        "zh": "纳税信用等级",
                        "categories": [{"values": ["A"], "points": 10}, {"values": ["D"], "points": -10}],
                        "other": 0,
                        "missing": 0,
                        "reference": 0,
                    }
                ],
            },
        ],
        "bands": [{"grade": "A", "min": 100}, {"grade": "B", "min": 80, "max": 100}, {"grade": "D", "max": 80}],
        "overrides": [
            {"id": "gone", "zh": "已注销", "when": {"feature": "is_registered", "value": 0}, "action": "exclude"},
            {
                "id": "serious",
                "zh": "严重失信",
                "when": {"feature": "serious_dishonesty_listed_now", "value": 1},
                "action": "grade",
                "grade": "D",
            },
        ],
    }
)


def frame(**columns: list[object]) -> pd.DataFrame:
    base: dict[str, list[object]] = {
        "uscc": ["u1"],
        "penalties_count_365d": [0],
        "paid_in_ratio": [0.9],
        "tax_credit_grade_latest": ["B"],
        "is_registered": [1],
        "serious_dishonesty_listed_now": [0],
    }
    base.update(columns)
    n = max(len(v) for v in base.values())
    return pd.DataFrame({k: v * n if len(v) == 1 else v for k, v in base.items()})


def test_points_follow_right_open_bins() -> None:
    X = frame(penalties_count_365d=[0, 0.99, 1, 1.5, 2, 7])

    points = Scorecard(SPEC).points(X)["penalties_count_365d"].tolist()

    assert points == [0, 0, -20, -20, -40, -40]


def test_missing_values_score_the_missing_bin() -> None:
    X = frame(paid_in_ratio=[None, 0.2, 0.5])

    assert Scorecard(SPEC).points(X)["paid_in_ratio"].tolist() == [-3, -5, 0]


def test_categories_other_and_missing() -> None:
    X = frame(tax_credit_grade_latest=["A", "D", "M", None])

    assert Scorecard(SPEC).points(X)["tax_credit_grade_latest"].tolist() == [10, -10, 0, 0]


def test_score_sub_scores_grade_and_version() -> None:
    X = frame(uscc=["u1", "u2", "u3"], penalties_count_365d=[0, 1, 2], tax_credit_grade_latest=["A", "B", "B"])

    out = Scorecard(SPEC).score(X)

    assert out["score"].tolist() == [110, 80, 60]
    assert out["sub_penalties_lists"].tolist() == [100, 80, 60]
    assert out["sub_evaluation_honours"].tolist() == [10, 0, 0]
    assert out["grade"].tolist() == ["A", "B", "D"]
    assert set(out["scorecard_version"]) == {"t-2"}


def test_reason_lines_say_what_cost_points_and_the_value() -> None:
    X = frame(penalties_count_365d=[2], paid_in_ratio=[0.1], tax_credit_grade_latest=["M"])

    (reasons,) = Scorecard(SPEC).score(X)["reasons"]

    assert [r["feature"] for r in reasons] == ["penalties_count_365d", "paid_in_ratio"]  # most costly first
    assert reasons[0]["text"] == "近一年行政处罚次数：2（扣40分）"
    assert reasons[1]["text"] == "实缴比例：0.1（扣5分）"  # a bonus not earned (tax grade M) is no reason line


def test_overrides_first_match_wins_and_exclude_leaves_no_grade() -> None:
    X = frame(
        uscc=["clean", "listed", "gone_and_listed"],
        is_registered=[1, 1, 0],
        serious_dishonesty_listed_now=[0, 1, 1],
    )

    out = Scorecard(SPEC).score(X)

    assert out["grade"].tolist()[:2] == ["A", "D"]
    assert pd.isna(out["grade"].iloc[2])
    assert out["override"].isna().tolist() == [True, False, False]
    assert out["override_zh"].tolist()[1:] == ["严重失信", "已注销"]
    assert out["override"].tolist()[1:] == ["serious", "gone"]
    assert out["excluded"].tolist() == [False, False, True]


def test_a_missing_override_value_does_not_trigger_it() -> None:
    X = frame(serious_dishonesty_listed_now=[None])

    assert Scorecard(SPEC).score(X)["grade"].tolist() == ["A"]


def test_a_frame_without_a_feature_fails_with_the_missing_names() -> None:
    X = frame().drop(columns=["paid_in_ratio"])

    with pytest.raises(ScorecardError, match="lacks 1 feature column.*paid_in_ratio"):
        Scorecard(SPEC).fit(X)


def test_fit_returns_self_and_records_features() -> None:
    card = Scorecard(SPEC)

    assert card.fit(frame()) is card
    assert card.n_features_in_ == 5


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=30))
def test_every_total_gets_exactly_one_band_and_better_totals_never_grade_worse(totals: list[float]) -> None:
    card = Scorecard(SPEC)
    ordered = np.sort(np.array(totals))

    grades = card.grade_of(ordered)

    rank = {g: i for i, g in enumerate(SPEC.grades)}  # 0 = best
    assert all(g in rank for g in grades)
    assert all(rank[a] >= rank[b] for a, b in zip(grades, grades[1:], strict=False))


@given(st.lists(st.integers(0, 5), min_size=1, max_size=20))
def test_score_is_base_plus_points_and_reasons_add_up_to_what_was_lost(penalties: list[int]) -> None:
    X = frame(uscc=[f"u{i}" for i in range(len(penalties))], penalties_count_365d=list(penalties))

    out = Scorecard(SPEC).score(X)

    for total, reasons in zip(out["score"], out["reasons"], strict=True):
        # Here the only bonus (tax grade) is neither earned nor lost, so the total is the maximum
        # without bonuses minus what the reason lines say was lost.
        assert total == 100 - sum(r["lost"] for r in reasons)
