"""Which inspected rows train the model, with which target and weight (the selection-bias choice).

Only inspected enterprises have labels, and who gets inspected is not random:
- a random draw (双随机抽查) inspects an enterprise with a recorded inclusion probability pi, so a
  random-draw label weighted by 1/pi stands for 1/pi enterprises of the whole list (inverse-
  probability weighting; Horvitz-Thompson);
- a complaint-triggered check (投诉举报核查) inspects firms someone complained about, so its labels
  over-represent violators beyond what the features explain.

Policies:
  naive                  every inspected row, unweighted: learns the old targeting as well as risk
  random_ipw             random-draw rows only, weight 1/pi: unbiased for the whole list, few rows
  random_ipw_complaints  random_ipw plus complaint-triggered rows at a fixed weight per row, which
                         trades some bias for many more positives; the weight is set by measurement
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd

RANDOM_DRAW = "双随机抽查"
COMPLAINT = "投诉举报核查"


class LabelPolicy(StrEnum):
    NAIVE = "naive"
    RANDOM_IPW = "random_ipw"
    RANDOM_IPW_COMPLAINTS = "random_ipw_complaints"


@dataclass(frozen=True)
class Labelled:
    """Row positions into the frame, the 0/1 target and the training weight of each."""

    rows: np.ndarray
    target: np.ndarray
    weight: np.ndarray


def random_draw_rows(frame: pd.DataFrame) -> pd.Series:
    """Rows with a random-draw inspection in their label window and a usable inclusion probability."""
    pi = frame["inclusion_probability"]
    return frame["random_draw_found"].notna() & pi.notna() & (pi > 0)


def training_labels(frame: pd.DataFrame, policy: LabelPolicy, complaint_weight: float = 1.0) -> Labelled:
    """Targets and weights under `policy` for a frame joined with the label table.

    Expects the label columns of `features.labels`: violation_found, first_inspection_type,
    random_draw_found, inclusion_probability (null where no random draw looked).
    """
    inspected = frame["violation_found"].notna()
    if policy is LabelPolicy.NAIVE:
        mask = inspected.to_numpy()
        target = frame["violation_found"].to_numpy(dtype=float, na_value=0.0)
        weight = np.ones(len(frame))
        return Labelled(np.flatnonzero(mask), target[mask], weight[mask])

    random = random_draw_rows(frame).to_numpy()
    target = np.where(
        random,
        frame["random_draw_found"].to_numpy(dtype=float, na_value=0.0),
        frame["violation_found"].to_numpy(dtype=float, na_value=0.0),
    )
    weight = np.where(random, 1.0 / frame["inclusion_probability"].to_numpy(dtype=float, na_value=1.0), 0.0)
    if policy is LabelPolicy.RANDOM_IPW_COMPLAINTS:
        complaint_only = inspected.to_numpy() & ~random & (frame["first_inspection_type"] == COMPLAINT).to_numpy()
        weight = np.where(complaint_only, complaint_weight * _median_ipw(weight, random), weight)
    mask = weight > 0
    return Labelled(np.flatnonzero(mask), target[mask], weight[mask])


def _median_ipw(weight: np.ndarray, random: np.ndarray) -> float:
    """Complaint rows weigh `complaint_weight` random-draw rows of typical weight (1 when none exist)."""
    return float(np.median(weight[random])) if random.any() else 1.0
