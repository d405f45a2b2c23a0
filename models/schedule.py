"""Ranking a fixed schedule of inspections: the metrics of the City of Chicago's evaluation.

Chicago's pilot (2014-09-02..2014-10-31) did not change which establishments were inspected; it
reordered the two-month schedule so that likely violators came first. Three figures describe
such a ranking, each on the same rows:

- ROC AUC of the score against "at least one critical violation found";
- the share of the inspections with a critical violation that fall in the first half of the list
  (the City's score: 68.6%; a random order: 50%);
- days earlier: the inspections keep the schedule's working days, but in score order (the
  highest score takes the first day); the mean over the violators of (actual date - new date).

Worked example: four inspections on 09-02, 09-03, 09-04, 09-05, the violator last (09-05).
A score that ranks it first moves it to 09-02: 3 days earlier; half of the violators (1 of 1)
are in the first half.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score


def first_half_share(found: np.ndarray, score: np.ndarray) -> float:
    """Share of the positives ranked in the first half (ties broken by position, i.e. stably)."""
    order = np.argsort(-np.asarray(score, dtype=float), kind="stable")
    half = order[: len(order) // 2]
    found = np.asarray(found, dtype=bool)
    return float(found[half].sum() / found.sum()) if found.sum() else float("nan")


def reordered_dates(dates: pd.Series, score: np.ndarray) -> pd.Series:
    """The date each inspection gets when the schedule's dates are handed out in score order."""
    slots = np.sort(pd.to_datetime(dates).to_numpy())
    order = np.argsort(-np.asarray(score, dtype=float), kind="stable")
    new = np.empty(len(slots), dtype=slots.dtype)
    new[order] = slots
    return pd.Series(new, index=dates.index)


def days_earlier(dates: pd.Series, found: np.ndarray, score: np.ndarray) -> float:
    """Mean number of days earlier the inspections that found a violation happen in score order."""
    found = np.asarray(found, dtype=bool)
    actual = pd.to_datetime(dates).to_numpy()
    new = reordered_dates(dates, score).to_numpy()
    gained = (actual - new).astype("timedelta64[D]").astype(float)
    return float(gained[found].mean()) if found.any() else float("nan")


def schedule_metrics(dates: pd.Series, found: np.ndarray, score: np.ndarray) -> dict[str, float]:
    """AUC, first-half share and days earlier of one score on one schedule."""
    found = np.asarray(found, dtype=int)
    return {
        "rows": float(len(found)),
        "base_rate": float(found.mean()),
        "auc": float(roc_auc_score(found, score)) if 0 < found.sum() < len(found) else float("nan"),
        "first_half_share": first_half_share(found, score),
        "days_earlier": days_earlier(dates, found, score),
    }
