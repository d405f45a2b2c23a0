"""From scored government bodies to new rectification cases.

A body whose warning grade has a deadline in the policy (e.g. orange: 30 working days, red: 15)
gets a case, unless it already has one that is not closed (one open case per body: the running
case absorbs later signals until it closes). The deadline is counted in working days from the
scan date on the configured calendar.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import pandas as pd

from models.calendar import WorkingCalendar, add_working_days
from models.integrity.cases import SYSTEM_ACTOR, Case, CaseState, Transition


def case_id(body_uscc: str, opened_on: dt.date) -> str:
    """ZW (政务) + date + the body's code: unique, since a body has at most one case opened per day."""
    return f"ZW{opened_on:%Y%m%d}-{body_uscc}"


def new_cases(
    scored: pd.DataFrame,
    bodies: pd.DataFrame,
    open_signals: pd.DataFrame,
    bodies_with_open_case: set[str],
    as_of: dt.date,
    deadline_working_days: Mapping[str, int],
    calendar: WorkingCalendar,
) -> list[Case]:
    """Cases to open as of `as_of` for warnings without a running case.

    scored: body_uscc, score, grade, scorecard_version, reasons (engine output);
    bodies: body_uscc, body_name; open_signals: body_uscc, signal_type, signal_date.
    """
    names = bodies.drop_duplicates("body_uscc").set_index("body_uscc")["body_name"]
    warned = scored[scored["grade"].isin(list(deadline_working_days))]
    warned = warned[~warned["body_uscc"].isin(bodies_with_open_case)]
    signals = open_signals.assign(signal_date=pd.to_datetime(open_signals["signal_date"]).dt.date)
    by_body = {b: g for b, g in signals.groupby("body_uscc")}
    at = dt.datetime.combine(as_of, dt.time(), tzinfo=dt.UTC)
    cases = []
    for row in warned.to_dict("records"):
        body, grade, score = str(row["body_uscc"]), str(row["grade"]), float(row["score"])
        triggering = by_body.get(body, signals.iloc[0:0])
        deadline = add_working_days(as_of, deadline_working_days[grade], calendar)
        cases.append(
            Case(
                case_id=case_id(body, as_of),
                body_uscc=body,
                body_name=str(names.get(body, "")),
                opened_on=as_of,
                deadline=deadline,
                warning=grade,
                score=score,
                scorecard_version=str(row["scorecard_version"]),
                reasons=[r["text"] for r in row["reasons"]],
                signal_keys=[
                    (body, str(t), d) for t, d in zip(triggering["signal_type"], triggering["signal_date"], strict=True)
                ],
                history=[
                    Transition(
                        from_state=None,
                        to_state=CaseState.OPENED,
                        at=at,
                        actor=SYSTEM_ACTOR,
                        note=f"{grade} warning (score {score:g}); rectify by {deadline.isoformat()}",
                    )
                ],
            )
        )
    return cases
