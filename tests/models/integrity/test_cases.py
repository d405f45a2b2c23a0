"""The rectification case lifecycle: every allowed and every refused transition, and overdue detection."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.integrity.cases import (
    ALLOWED,
    RUNNING,
    CaseState,
    Transition,
    TransitionRefused,
    is_overdue,
    mark_overdue,
    move,
)
from tests.models.integrity.factories import AT, case_in

S = CaseState
ALL_PAIRS = list(itertools.product(CaseState, CaseState))


def test_the_table_names_every_state_and_closed_is_final() -> None:
    assert set(ALLOWED) == set(CaseState)
    assert ALLOWED[S.CLOSED] == frozenset()
    assert S.CLOSED not in ALLOWED[S.OPENED]  # a case is notified before it can close


@pytest.mark.parametrize(("current", "target"), [p for p in ALL_PAIRS if p[1] in ALLOWED[p[0]]])
def test_every_allowed_transition(current: CaseState, target: CaseState) -> None:
    case = case_in(current)

    moved = move(case, target, actor="王科长", at=AT, note="依规办理")

    assert moved.state is target
    assert moved.history[-1] == Transition(from_state=current, to_state=target, at=AT, actor="王科长", note="依规办理")
    assert moved.history[:-1] == case.history  # history only grows
    assert (moved.closed_on == AT.date()) is (target is S.CLOSED)


@pytest.mark.parametrize(("current", "target"), [p for p in ALL_PAIRS if p[1] not in ALLOWED[p[0]]])
def test_every_refused_transition(current: CaseState, target: CaseState) -> None:
    case = case_in(current)

    with pytest.raises(TransitionRefused, match=f"{current} -> {target}") as refused:
        move(case, target, actor="王科长", at=AT)

    assert "allowed" in str(refused.value) or "closed (final)" in str(refused.value)
    assert case.state is current and len(case.history) == 1  # nothing changed


def test_a_move_needs_an_actor() -> None:
    with pytest.raises(TransitionRefused, match="needs an actor"):
        move(case_in(S.OPENED), S.NOTIFIED, actor=" ", at=AT)


def test_the_whole_path_to_repair_is_kept() -> None:
    case = case_in(S.OPENED)
    for target in (S.NOTIFIED, S.INTERVIEWED, S.RECTIFYING, S.CLOSED):
        case = move(case, target, actor="王科长", at=AT)

    assert [h.to_state for h in case.history] == [S.OPENED, S.NOTIFIED, S.INTERVIEWED, S.RECTIFYING, S.CLOSED]
    assert case.closed_on == AT.date() and case.state_zh == "已办结（信用修复）"


def test_deadline_across_national_day_and_the_month_boundary() -> None:
    # Opened Friday 2026-09-25 with 5 working days: 09-28, 09-29, 09-30, (10-01..10-07 off), 10-08, 10-09.
    case = case_in(S.RECTIFYING)

    assert case.deadline == dt.date(2026, 10, 9)
    assert not is_overdue(case, dt.date(2026, 10, 9))  # the deadline day itself is still in time
    assert is_overdue(case, dt.date(2026, 10, 10))


@pytest.mark.parametrize("state", list(CaseState))
def test_only_running_cases_go_overdue(state: CaseState) -> None:
    late = dt.date(2026, 11, 2)

    assert is_overdue(case_in(state), late) is (state in RUNNING)


def test_mark_overdue_is_a_recorded_system_step_and_overdue_can_still_close() -> None:
    case = mark_overdue(case_in(S.NOTIFIED), dt.date(2026, 10, 12))

    assert case.state is S.OVERDUE
    step = case.history[-1]
    assert (step.actor, step.at.date()) == ("system", dt.date(2026, 10, 12))
    assert "deadline 2026-10-09 passed" in step.note
    closed = move(case, S.CLOSED, actor="王科长", at=AT, note="逾期后完成整改")
    assert [h.to_state for h in closed.history][-2:] == [S.OVERDUE, S.CLOSED]  # lateness stays on record


@given(st.lists(st.sampled_from(list(CaseState)), max_size=25))
def test_any_sequence_of_requests_keeps_a_consistent_history(requests: list[CaseState]) -> None:
    case = case_in(S.OPENED)
    for target in requests:
        try:
            case = move(case, target, actor="王科长", at=AT)
        except TransitionRefused:
            assert target not in ALLOWED[case.state]

    steps = case.history
    assert steps[-1].to_state is case.state
    assert all(b.from_state is a.to_state for a, b in zip(steps, steps[1:], strict=False))  # an unbroken chain
    assert (case.closed_on is not None) is (case.state is S.CLOSED)
