"""An Aequitas-style fairness audit for a punitive intervention: being selected for inspection.

For a punitive intervention the harm is to select an enterprise that does not violate, so the
metric that must be at parity is the false-positive rate, FPR = P(selected | not violating),
compared between each group and a reference group (the largest one, Aequitas's default):

    disparity = FPR(group) / FPR(reference), flagged when outside [0.8, 1.25] (the 80% rule)

FPR is estimated from the random-draw labels weighted by 1/pi, like every other holdout figure.
A group with fewer than `min_negatives` drawn non-violators is reported but not judged: its
estimate is too noisy to flag anyone. On the synthetic city the true propensity p gives the
expected FPR exactly: sum over selected of (1 - p) / sum over all of (1 - p).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.evaluation import Holdout, top_share

LOWER, UPPER = 0.8, 1.25


def fairness_table(
    holdout: Holdout,
    score: np.ndarray,
    groups: tuple[str, ...] = ("district", "industry", "firm_size"),
    capacity: float = 0.05,
    min_negatives: int = 30,
) -> pd.DataFrame:
    """One row per (attribute, group): FPR, disparity against the reference group, the flag."""
    chosen = top_share(score, capacity)
    f = holdout.frame
    drawn = holdout.drawn.to_numpy()
    y = f["y"].to_numpy(dtype=float)
    w = np.where(drawn, 1.0 / f["pi"].to_numpy(dtype=float, na_value=1.0), 0.0)
    negative = drawn & (y == 0)
    truth = np.nan_to_num(f["truth"].to_numpy(dtype=float)) if holdout.has_truth else None
    rows = []
    for attribute in groups:
        values = f[attribute].astype("string").fillna("(missing)").to_numpy()
        reference = pd.Series(values).value_counts().index[0]
        stats = {}
        for value in np.unique(values):
            in_group = values == value
            neg = negative & in_group
            fpr = float(w[neg & chosen].sum() / w[neg].sum()) if neg.any() else float("nan")
            row = {
                "attribute": attribute,
                "group": value,
                "enterprises": int(in_group.sum()),
                "selected": int((chosen & in_group).sum()),
                "drawn_negatives": int(neg.sum()),
                "fpr": fpr,
            }
            if truth is not None:
                row["true_fpr"] = float(((1 - truth) * (chosen & in_group)).sum() / (1 - truth)[in_group].sum())
            stats[value] = row
        ref = stats[reference]
        for row in stats.values():
            row["reference_group"] = reference
            row["disparity"] = _ratio(row["fpr"], ref["fpr"])
            judged = row["drawn_negatives"] >= min_negatives and ref["drawn_negatives"] >= min_negatives
            row["judged"] = judged
            row["flagged"] = bool(judged and not (LOWER <= row["disparity"] <= UPPER))
            if truth is not None:
                row["true_disparity"] = _ratio(row["true_fpr"], ref["true_fpr"])
                row["true_flagged"] = not (LOWER <= row["true_disparity"] <= UPPER)
            rows.append(row)
    return pd.DataFrame(rows)


def _ratio(a: float, b: float) -> float:
    if not np.isfinite(a) or not np.isfinite(b):
        return float("nan")
    if b == 0:
        return 1.0 if a == 0 else float("inf")
    return a / b
