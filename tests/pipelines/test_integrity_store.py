"""The case store: cases, their transitions and repairs survive a round trip through SQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from models.integrity.cases import CaseState, TransitionRefused
from pipelines.integrity_store import CaseStore, default_url
from tests.models.integrity.factories import case_in

AT = dt.datetime(2026, 10, 20, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def store(tmp_path: Path) -> CaseStore:
    return CaseStore(default_url(tmp_path))


def test_cases_and_every_transition_round_trip(store: CaseStore) -> None:
    case = case_in(CaseState.OPENED)
    store.add_cases([case])

    store.transition(case.case_id, CaseState.NOTIFIED, "王科长", AT, "电话提醒")
    again = store.get(case.case_id)

    assert again.state is CaseState.NOTIFIED and again.deadline == case.deadline
    assert [(h.from_state, h.to_state, h.actor, h.note) for h in again.history] == [
        (None, CaseState.OPENED, "system", ""),
        (CaseState.OPENED, CaseState.NOTIFIED, "王科长", "电话提醒"),
    ]
    assert again.history[-1].at == AT
    assert store.bodies_with_open_case() == {case.body_uscc}


def test_a_refused_transition_changes_nothing(store: CaseStore) -> None:
    case = case_in(CaseState.OPENED)
    store.add_cases([case])

    with pytest.raises(TransitionRefused, match="opened -> closed"):
        store.transition(case.case_id, CaseState.CLOSED, "王科长", AT)

    assert store.get(case.case_id) == case


def test_closing_records_the_repair_of_the_triggering_signals(store: CaseStore) -> None:
    case = case_in(CaseState.RECTIFYING)
    store.add_cases([case])

    store.transition(case.case_id, CaseState.CLOSED, "王科长", AT, "欠款已清偿")

    repairs = store.repairs()
    assert repairs.to_dict("records") == [
        {
            "body_uscc": case.body_uscc,
            "signal_type": "拖欠中小企业账款",
            "signal_date": pd.Timestamp("2026-09-01"),
            "repaired_on": pd.Timestamp("2026-10-20"),
        }
    ]
    assert store.bodies_with_open_case() == set()


def test_unknown_case(store: CaseStore) -> None:
    with pytest.raises(LookupError, match="no case 'nope'"):
        store.get("nope")
