"""Walk-forward temporal splits over as-of dates (triage's timechop, reduced to what we need).

A row is (enterprise, as-of date); its label looks at inspections in (as_of, as_of + horizon].
A training row is usable for a test date only when its whole label window has closed before the
test date, otherwise the training label would peek into the test period.

Worked example, horizon 180 days, quarterly as-of dates 2023-01-01 .. 2025-07-01:
  test  2025-01-01 -> validation = the latest date whose window closes by then: 2024-07-01
                      (2024-07-01 + 180 d = 2024-12-28 <= 2025-01-01; 2024-10-01 + 180 d = 2025-03-30 is too late)
                    -> training = dates whose window closes by the validation date: .. 2024-01-01
                      (2024-01-01 + 180 d = 2024-06-29 <= 2024-07-01)
The validation date is where early stopping and calibration look; it is always later than training.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Fold:
    """Train on `train` dates, stop early and calibrate on `validation`, measure on `test`."""

    train: tuple[dt.date, ...]
    validation: dt.date
    test: dt.date

    def describe(self) -> dict[str, object]:
        return {
            "train": [d.isoformat() for d in self.train],
            "validation": self.validation.isoformat(),
            "test": self.test.isoformat(),
        }


def closed_by(dates: list[dt.date], cutoff: dt.date, horizon_days: int) -> list[dt.date]:
    """The as-of dates whose label window (as_of, as_of + horizon] has closed by `cutoff`."""
    return [d for d in dates if d + dt.timedelta(days=horizon_days) <= cutoff]


def fold_for(dates: list[dt.date], test: dt.date, horizon_days: int) -> Fold | None:
    """The fold that tests on `test`, or None when the earlier dates cannot fill train + validation."""
    earlier = closed_by(sorted(dates), test, horizon_days)
    if not earlier:
        return None
    validation = earlier[-1]
    train = closed_by(earlier, validation, horizon_days)
    if not train:
        return None
    return Fold(tuple(train), validation, test)


def walk_forward(dates: list[dt.date], horizon_days: int, n_folds: int) -> tuple[list[Fold], Fold]:
    """`n_folds` cross-validation folds and the final holdout fold.

    The holdout tests on the latest as-of date and is kept for the final evaluation and the
    promotion gate; the cross-validation folds (used to choose factors) test on the `n_folds` dates
    before it whose label windows close before the holdout date, so selection never sees it.
    """
    ordered = sorted(set(dates))
    if len(ordered) < 3:
        raise ValueError(f"walk-forward validation needs at least 3 as-of dates, got {len(ordered)}")
    holdout = fold_for(ordered, ordered[-1], horizon_days)
    if holdout is None:
        raise ValueError(
            f"no training dates close {horizon_days} days before the holdout {ordered[-1]}; "
            f"profile earlier as-of dates (have {[d.isoformat() for d in ordered]})"
        )
    candidates = [f for d in closed_by(ordered, ordered[-1], horizon_days) if (f := fold_for(ordered, d, horizon_days))]
    if len(candidates) < n_folds:
        raise ValueError(
            f"{n_folds} walk-forward folds need more as-of dates: only {len(candidates)} test dates have earlier "
            f"training and validation dates with a {horizon_days}-day horizon; profile more (e.g. quarterly) dates"
        )
    return candidates[-n_folds:], holdout
