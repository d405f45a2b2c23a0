"""Working days on a configurable holiday calendar (工作日), for every deadline counted in working days:
rectification cases (政务诚信) here, the 20-working-day publication of inspection results (一公开) later.

The base calendar is the `holidays` package's China: statutory holidays, the substitute days off,
and the weekend days that are worked instead (调休, `weekend_workdays`). A YAML file adds what the
package does not know yet (a year's schedule published late, a local holiday) as `extra_holidays`
and `extra_workdays`. Precedence for a day: extra_workdays > extra_holidays > package holidays and
make-up workdays > Monday–Friday.

Worked example, 2026 National Day (10-01..10-07 off, Sunday 09-20 and Saturday 10-10 worked):
`add_working_days(date(2026, 9, 30), 1, cal)` is 2026-10-08, and
`add_working_days(date(2026, 10, 8), 2, cal)` is 2026-10-10 (the make-up Saturday counts).
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from pathlib import Path

import holidays
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class CalendarError(ValueError):
    """A calendar file that cannot be used."""


class WorkingCalendar(BaseModel):
    """Which days are working days. Immutable; build one per run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    country: str | None = Field("CN", description="`holidays` country code for the base calendar; null = none")
    subdivision: str | None = None
    weekend: frozenset[int] = Field(frozenset({5, 6}), description="weekday numbers off (Monday=0)")
    extra_holidays: frozenset[dt.date] = Field(frozenset(), description="days off beyond the base calendar")
    extra_workdays: frozenset[dt.date] = Field(frozenset(), description="days worked though off in the base (调休)")

    @cached_property
    def _base(self) -> holidays.HolidayBase | None:
        if self.country is None:
            return None
        return holidays.country_holidays(self.country, subdiv=self.subdivision)

    def _base_says(self, day: dt.date) -> bool | None:
        """The package's verdict where it has one: False on a holiday, True on a make-up workday."""
        base = self._base
        if base is None:
            return None
        if day in base:  # also loads the year, filling weekend_workdays
            return False
        return True if day in getattr(base, "weekend_workdays", set()) else None


def is_working_day(day: dt.date, calendar: WorkingCalendar) -> bool:
    """Is `day` a working day on this calendar?"""
    if day in calendar.extra_workdays:
        return True
    if day in calendar.extra_holidays:
        return False
    verdict = calendar._base_says(day)
    if verdict is not None:
        return verdict
    return day.weekday() not in calendar.weekend


def add_working_days(start: dt.date, n: int, calendar: WorkingCalendar) -> dt.date:
    """The n-th working day after `start` (start itself never counts; n >= 0; n = 0 gives start).

    A deadline of "20 working days from the check" on Friday 2026-09-25 is
    `add_working_days(date(2026, 9, 25), 20, cal)`.
    """
    if n < 0:
        raise ValueError(f"expected a number of working days >= 0, got {n}")
    day, left = start, n
    while left:
        day += dt.timedelta(days=1)
        if is_working_day(day, calendar):
            left -= 1
    return day


def working_days_between(start: dt.date, end: dt.date, calendar: WorkingCalendar) -> int:
    """Working days in (start, end]: how many `add_working_days` steps lead from start to end (0 if end <= start)."""
    count, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        count += is_working_day(day, calendar)
    return count


def read_calendar(path: Path) -> WorkingCalendar:
    try:
        return WorkingCalendar.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    except (ValidationError, yaml.YAMLError) as error:
        raise CalendarError(f"{path}: {error}") from error


def latest_today() -> dt.date:
    """Today's date where it is furthest ahead (UTC+14). Checks that refuse a date "in the future"
    use it, so a day a bureau already calls today (Foshan keeps UTC+8) is never refused because
    the server keeps UTC."""
    return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=14)).date()
