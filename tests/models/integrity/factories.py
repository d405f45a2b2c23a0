"""A rectification case in any state, for the lifecycle and store tests."""

from __future__ import annotations

import datetime as dt

from models.calendar import WorkingCalendar, add_working_days
from models.integrity.cases import Case, CaseState, Transition

AT = dt.datetime(2026, 10, 12, 9, 30, tzinfo=dt.UTC)
CHINA = WorkingCalendar()


def case_in(state: CaseState, opened_on: dt.date = dt.date(2026, 9, 25), days: int = 5) -> Case:
    return Case(
        case_id="ZW20260925-114406040752019238",
        body_uscc="114406040752019238",
        body_name="禅城区祖庙街道顺381号局",
        opened_on=opened_on,
        deadline=add_working_days(opened_on, days, CHINA),
        warning="orange",
        score=40,
        scorecard_version="t",
        reasons=["拖欠中小企业账款：1（扣15分）"],
        signal_keys=[("114406040752019238", "拖欠中小企业账款", dt.date(2026, 9, 1))],
        state=state,
        history=[Transition(from_state=None, to_state=CaseState.OPENED, at=AT, actor="system")],
    )
