"""Which warnings open a case, and with what deadline."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from models.calendar import WorkingCalendar
from models.integrity.cases import CaseState
from models.integrity.monitor import new_cases

D = dt.date
SCORED = pd.DataFrame(
    {
        "body_uscc": ["b_red", "b_orange", "b_yellow", "b_busy"],
        "score": [10.0, 40.0, 70.0, 20.0],
        "grade": ["red", "orange", "yellow", "red"],
        "scorecard_version": ["t"] * 4,
        "reasons": [[{"text": "被列为失信被执行人（未履行）：2（扣50分）"}], [], [], []],
    }
)
BODIES = pd.DataFrame({"body_uscc": ["b_red", "b_orange", "b_yellow", "b_busy"], "body_name": ["甲", "乙", "丙", "丁"]})
OPEN = pd.DataFrame(
    {
        "body_uscc": ["b_red", "b_red"],
        "signal_type": ["失信被执行人"] * 2,
        "signal_date": [D(2026, 1, 5), D(2026, 6, 1)],
    }
)


def test_warnings_with_a_deadline_open_cases_unless_a_case_is_running() -> None:
    cases = new_cases(SCORED, BODIES, OPEN, {"b_busy"}, D(2026, 9, 30), {"orange": 30, "red": 5}, WorkingCalendar())

    by_body = {c.body_uscc: c for c in cases}
    assert set(by_body) == {"b_red", "b_orange"}  # yellow opens none; b_busy already has a case
    red = by_body["b_red"]
    assert red.deadline == D(2026, 10, 13)  # 5 working days after 09-30: 10-08, 10-09, Sat 10-10 (调休), 10-12, 10-13
    assert red.state is CaseState.OPENED and red.history[0].actor == "system"
    assert red.signal_keys == [("b_red", "失信被执行人", D(2026, 1, 5)), ("b_red", "失信被执行人", D(2026, 6, 1))]
    assert red.reasons == ["被列为失信被执行人（未履行）：2（扣50分）"] and red.body_name == "甲"
