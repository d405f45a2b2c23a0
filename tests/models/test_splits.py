"""Walk-forward folds: training labels always close before the date they are measured on."""

from __future__ import annotations

import datetime as dt

import pytest

from models.splits import closed_by, fold_for, walk_forward

QUARTERS = [dt.date(y, m, 1) for y in (2023, 2024, 2025) for m in (1, 4, 7, 10)][:-1]  # .. 2025-07-01


def test_the_worked_example_of_the_module_docstring() -> None:
    fold = fold_for(QUARTERS, dt.date(2025, 1, 1), 180)
    assert fold is not None
    assert fold.validation == dt.date(2024, 7, 1)
    assert fold.train[-1] == dt.date(2024, 1, 1) and fold.train[0] == dt.date(2023, 1, 1)


def test_every_label_window_closes_before_the_later_dates() -> None:
    folds, holdout = walk_forward(QUARTERS, 180, n_folds=3)
    for fold in [*folds, holdout]:
        assert all(d + dt.timedelta(days=180) <= fold.validation for d in fold.train)
        assert fold.validation + dt.timedelta(days=180) <= fold.test
    assert holdout.test == QUARTERS[-1]
    assert all(f.test + dt.timedelta(days=180) <= holdout.test for f in folds), "selection must not see the holdout"
    assert [f.test for f in folds] == sorted(f.test for f in folds)


def test_closed_by_is_inclusive_of_the_cutoff() -> None:
    assert closed_by([dt.date(2024, 1, 1)], dt.date(2024, 6, 29), 180) == [dt.date(2024, 1, 1)]
    assert closed_by([dt.date(2024, 1, 1)], dt.date(2024, 6, 28), 180) == []


@pytest.mark.parametrize(
    ("dates", "message"),
    [(QUARTERS[:2], "at least 3"), (QUARTERS[:4], "no training dates"), (QUARTERS[:7], "folds need more")],
)
def test_too_few_dates_say_what_is_needed(dates: list[dt.date], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        walk_forward(dates, 180, n_folds=3)
