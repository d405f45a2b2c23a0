from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from pipelines.draw.eligible import DrawInputError, last_inspection_facts, normalise_eligible
from pipelines.draw.policy import DrawPolicy
from tests.pipelines.draw.factories import eligible_frame


def test_last_inspection_is_the_latest_known_before_as_of() -> None:
    inspections = pd.DataFrame(
        {
            "uscc": ["A", "A", "A", "B", "C"],
            "inspection_date": pd.to_datetime(["2024-03-01", "2024-09-01", "2025-06-20", "2023-01-05", "2025-06-01"]),
            # A's June inspection is only known on 2025-07-03, after the as-of date: it must not count.
            "knowledge_date": pd.to_datetime(["2024-03-05", "2024-09-09", "2025-07-03", "2023-01-10", "2025-06-10"]),
            "inspector_1": ["Z1", "Z2", "Z3", "Z4", "Z5"],
            "inspector_2": ["Z9", "Z8", "Z7", "Z6", None],
        }
    )
    facts = last_inspection_facts(inspections, dt.date(2025, 7, 1)).set_index("uscc")
    assert facts.loc["A", "last_inspected"] == pd.Timestamp("2024-09-01")
    assert facts.loc["A", "last_inspectors"] == "Z2;Z8"
    assert facts.loc["B", "last_inspectors"] == "Z4;Z6"
    assert facts.loc["C", "last_inspectors"] == "Z5"
    assert sorted(facts.index) == ["A", "B", "C"]


def test_normalising_sorts_and_fills_the_optional_columns() -> None:
    raw = eligible_frame(6).drop(columns=["name", "last_inspected", "last_inspectors"]).iloc[::-1]
    frame = normalise_eligible(raw, DrawPolicy(item="食品经营行为检查"))
    assert frame["uscc"].is_monotonic_increasing
    assert (frame["item"] == "食品经营行为检查").all()
    assert (frame["last_inspectors"] == "").all() and frame["last_inspected"].isna().all()


def test_a_missing_required_column_is_named() -> None:
    with pytest.raises(DrawInputError, match=r"missing column\(s\) \['credit_class'\]"):
        normalise_eligible(eligible_frame(2).drop(columns=["credit_class"]), DrawPolicy())
