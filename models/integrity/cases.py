"""The rectification case (整改案件) of a government body: an explicit lifecycle with an allowed-transition table.

    opened ──► notified (提醒) ──► interviewed (约谈) ──► rectifying ──► closed (信用修复)
                   └──────────────────────────────────►┘
    opened, notified, interviewed, rectifying ──► overdue (the deadline passed)
    overdue ──► interviewed (督导: escalate) | rectifying | closed

Decisions (the issue left them open):
- Any state before `closed` can go overdue: the deadline runs from the day the case opened, not
  from the current step, so a case stuck at "opened" is as late as one stuck at "rectifying".
- An overdue case can still close: the breach, once confirmed fixed, is repaired even late
  (发现一宗，整改一宗); the history keeps the overdue step, so the lateness stays on the record.
- `notified -> rectifying` skips the interview: a reminder is often enough. `opened -> closed`
  is refused: every case is notified before it can be closed.
- `closed` is final. A new breach opens a new case.

Every transition is kept (from, to, when, who, note); nothing is overwritten.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, Field


class CaseState(StrEnum):
    OPENED = "opened"
    NOTIFIED = "notified"
    INTERVIEWED = "interviewed"
    RECTIFYING = "rectifying"
    OVERDUE = "overdue"
    CLOSED = "closed"


STATE_ZH = {
    CaseState.OPENED: "已立案",
    CaseState.NOTIFIED: "已提醒",
    CaseState.INTERVIEWED: "已约谈",
    CaseState.RECTIFYING: "整改中",
    CaseState.OVERDUE: "已逾期",
    CaseState.CLOSED: "已办结（信用修复）",
}

S = CaseState
ALLOWED: dict[CaseState, frozenset[CaseState]] = {
    S.OPENED: frozenset({S.NOTIFIED, S.OVERDUE}),
    S.NOTIFIED: frozenset({S.INTERVIEWED, S.RECTIFYING, S.OVERDUE}),
    S.INTERVIEWED: frozenset({S.RECTIFYING, S.OVERDUE}),
    S.RECTIFYING: frozenset({S.CLOSED, S.OVERDUE}),
    S.OVERDUE: frozenset({S.INTERVIEWED, S.RECTIFYING, S.CLOSED}),
    S.CLOSED: frozenset(),
}
# States whose deadline can still pass (everything not closed and not already overdue).
RUNNING = frozenset({S.OPENED, S.NOTIFIED, S.INTERVIEWED, S.RECTIFYING})
SYSTEM_ACTOR = "system"


class TransitionRefused(ValueError):
    """A move the allowed-transition table does not contain, with the reason."""


class Transition(BaseModel):
    """One step in a case's history."""

    from_state: CaseState | None = Field(description="None for the opening entry")
    to_state: CaseState
    at: dt.datetime
    actor: str
    note: str = ""


class Case(BaseModel):
    """A rectification case: who, why, by when, where it stands, and every step so far."""

    case_id: str
    body_uscc: str
    body_name: str
    opened_on: dt.date
    deadline: dt.date = Field(description="last working day to rectify (inclusive)")
    warning: str = Field(description="the warning grade that opened the case")
    score: float
    scorecard_version: str
    reasons: list[str] = Field(description="what the body lost points for, in Chinese")
    signal_keys: list[tuple[str, str, dt.date]] = Field(
        description="(body, signal type, signal date) of the open signals that triggered the case; closing repairs them"
    )
    state: CaseState = CaseState.OPENED
    closed_on: dt.date | None = None
    history: list[Transition] = []

    @property
    def state_zh(self) -> str:
        return STATE_ZH[self.state]


def refusal(current: CaseState, target: CaseState) -> str | None:
    """Why `current -> target` is not allowed, or None if it is."""
    if target in ALLOWED[current]:
        return None
    if current is S.CLOSED:
        return f"case is closed (final); a new breach opens a new case, so {current} -> {target} is refused"
    allowed = ", ".join(sorted(ALLOWED[current])) or "none"
    return f"{current} -> {target} is not an allowed transition; from {current} the case may go to: {allowed}"


def move(case: Case, target: CaseState, actor: str, at: dt.datetime, note: str = "") -> Case:
    """The case after moving to `target`, with the step appended to its history; refused moves raise."""
    reason = refusal(case.state, target)
    if reason is not None:
        raise TransitionRefused(f"case {case.case_id}: {reason}")
    if not actor.strip():
        raise TransitionRefused(f"case {case.case_id}: every transition needs an actor (who did it)")
    step = Transition(from_state=case.state, to_state=target, at=at, actor=actor, note=note)
    closed_on = at.date() if target is S.CLOSED else case.closed_on
    return case.model_copy(update={"state": target, "closed_on": closed_on, "history": [*case.history, step]})


def is_overdue(case: Case, as_of: dt.date) -> bool:
    """Has the deadline passed (as_of after the deadline day) while the case is still running?"""
    return case.state in RUNNING and as_of > case.deadline


def mark_overdue(case: Case, as_of: dt.date) -> Case:
    """Move a running case past its deadline to `overdue`, as the system, dated the as-of day."""
    at = dt.datetime.combine(as_of, dt.time(), tzinfo=dt.UTC)
    note = f"deadline {case.deadline.isoformat()} passed as of {as_of.isoformat()}"
    return move(case, S.OVERDUE, SYSTEM_ACTOR, at, note)
