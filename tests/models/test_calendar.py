"""Working days on the configurable holiday calendar: holidays, 调休 make-up days, month boundaries."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.calendar import (
    CalendarError,
    WorkingCalendar,
    add_working_days,
    is_working_day,
    read_calendar,
    working_days_between,
)
from pipelines.settings import PROJECT_ROOT

CHINA = read_calendar(PROJECT_ROOT / "data" / "calendars" / "china.yaml")
D = dt.date


def test_2026_national_day_is_off_and_its_make_up_weekend_days_are_worked() -> None:
    golden_week = [D(2026, 10, d) for d in range(1, 8)]

    assert not any(is_working_day(d, CHINA) for d in golden_week)
    assert is_working_day(D(2026, 9, 20), CHINA)  # Sunday worked (调休)
    assert is_working_day(D(2026, 10, 10), CHINA)  # Saturday worked (调休)
    assert not is_working_day(D(2026, 10, 11), CHINA)  # an ordinary Sunday


def test_adding_working_days_across_national_day_and_the_month_boundary() -> None:
    assert add_working_days(D(2026, 9, 30), 1, CHINA) == D(2026, 10, 8)
    assert add_working_days(D(2026, 10, 8), 2, CHINA) == D(2026, 10, 10)  # the make-up Saturday counts
    # 20 working days (the 一公开 deadline) from Friday 2026-09-25: 3 in September, then from 10-08.
    assert add_working_days(D(2026, 9, 25), 20, CHINA) == D(2026, 10, 29)


def test_an_ordinary_month_boundary() -> None:
    assert add_working_days(D(2026, 3, 27), 3, CHINA) == D(2026, 4, 1)  # Fri -> Mon 30, Tue 31, Wed 1
    assert add_working_days(D(2026, 3, 27), 0, CHINA) == D(2026, 3, 27)


def test_extra_holidays_and_workdays_are_configurable(tmp_path: Path) -> None:
    path = tmp_path / "cal.yaml"
    path.write_text("country: CN\nextra_holidays: [2026-03-30]\nextra_workdays: [2026-03-28]\n", encoding="utf-8")

    local = read_calendar(path)

    assert not is_working_day(D(2026, 3, 30), local) and is_working_day(D(2026, 3, 28), local)
    assert add_working_days(D(2026, 3, 27), 1, local) == D(2026, 3, 28)  # the Saturday is worked
    assert add_working_days(D(2026, 3, 27), 2, local) == D(2026, 3, 31)  # Mon 30 is off
    holiday_only = WorkingCalendar(extra_holidays=frozenset({D(2026, 3, 30)}))
    assert add_working_days(D(2026, 3, 27), 3, holiday_only) == D(2026, 4, 2)  # 31, 1, 2 (default: 4-1)


def test_no_base_calendar_means_plain_weekdays() -> None:
    plain = WorkingCalendar(country=None)

    assert is_working_day(D(2026, 10, 1), plain) and not is_working_day(D(2026, 10, 10), plain)


def test_bad_calendar_file_and_negative_days(tmp_path: Path) -> None:
    path = tmp_path / "cal.yaml"
    path.write_text("country: CN\nholidays_extra: [2026-01-01]\n", encoding="utf-8")
    with pytest.raises(CalendarError, match="holidays_extra"):
        read_calendar(path)
    with pytest.raises(ValueError, match="expected a number of working days >= 0, got -1"):
        add_working_days(D(2026, 1, 5), -1, CHINA)


@given(st.dates(D(2024, 1, 1), D(2026, 12, 1)), st.integers(1, 40))
def test_the_nth_working_day_is_a_working_day_n_steps_away(start: dt.date, n: int) -> None:
    end = add_working_days(start, n, CHINA)

    assert is_working_day(end, CHINA)
    assert working_days_between(start, end, CHINA) == n
    assert add_working_days(start, n - 1, CHINA) < end
