"""Evaluation in the regulator's terms, estimated without bias from random-draw labels.

A holdout is the list of eligible enterprises on one as-of date, each with a score; a few of them
were inspected by the random draw in the following window, each with a known inclusion
probability pi. Weighting those labels by 1/pi (the Hajek form of Horvitz-Thompson) estimates what
inspecting any chosen set would find, although nobody inspected that set:

    hit rate of a selection S  = sum_{drawn in S} y/pi  /  sum_{drawn in S} 1/pi
    recall of S                = sum_{drawn in S} y/pi  /  sum_{drawn} y/pi
    uniform random hit rate    = the hit rate of S = the whole list
    lift = hit(S) / hit(list);  inspections saved for the same violations found = 1 - hit(list) / hit(S)

On the synthetic city the ground truth (each enterprise's true violation propensity) gives the
same figures exactly, and the oracle that ranks by the truth itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

CAPACITIES = (0.01, 0.02, 0.05, 0.10)


@dataclass(frozen=True)
class Holdout:
    """One as-of date's eligible list: scores, random-draw labels (y, pi; NaN where not drawn),
    group columns and, on the synthetic city, the true propensity."""

    frame: pd.DataFrame  # columns: uscc, y, pi, plus group columns and optionally `truth`

    @property
    def drawn(self) -> pd.Series:
        return self.frame["y"].notna() & self.frame["pi"].notna() & (self.frame["pi"] > 0)

    @property
    def has_truth(self) -> bool:
        return "truth" in self.frame.columns and bool(self.frame["truth"].notna().any())


def top_share(score: np.ndarray, share: float) -> np.ndarray:
    """Boolean mask of the top `share` of rows by score (ties broken by position, deterministic)."""
    k = max(1, int(round(share * len(score))))
    order = np.lexsort((np.arange(len(score)), -np.asarray(score, dtype=float)))
    mask = np.zeros(len(score), dtype=bool)
    mask[order[:k]] = True
    return mask


def hajek_rate(y: np.ndarray, pi: np.ndarray) -> float:
    """Estimated share of violators among the units the drawn ones stand for (NaN if none drawn)."""
    if len(y) == 0:
        return float("nan")
    w = 1.0 / pi
    return float(np.sum(w * y) / np.sum(w))


def capacity_table(holdout: Holdout, score: np.ndarray, capacities: tuple[float, ...] = CAPACITIES) -> pd.DataFrame:
    """Per capacity: selected, drawn labels inside the selection, hit rate, recall, lift, inspections
    saved; with ground truth also the expected hit rate, the oracle's, and their ratio."""
    f = holdout.frame
    drawn = holdout.drawn.to_numpy()
    y, pi = f["y"].to_numpy(dtype=float), f["pi"].to_numpy(dtype=float)
    base = hajek_rate(y[drawn], pi[drawn])
    total_found = np.sum(y[drawn] / pi[drawn])
    rows = []
    for share in capacities:
        chosen = top_share(score, share)
        inside = drawn & chosen
        hit = hajek_rate(y[inside], pi[inside])
        row = {
            "capacity": share,
            "selected": int(chosen.sum()),
            "drawn_labels_in_selection": int(inside.sum()),
            "hit_rate": hit,
            "recall": float(np.sum(y[inside] / pi[inside]) / total_found) if total_found > 0 else float("nan"),
            "random_hit_rate": base,
            "lift": hit / base if base > 0 else float("nan"),
            "inspections_saved": 1.0 - base / hit if hit > 0 else float("nan"),
        }
        if holdout.has_truth:
            row.update(_truth_row(f["truth"].to_numpy(dtype=float), chosen, share))
        rows.append(row)
    return pd.DataFrame(rows)


def _truth_row(truth: np.ndarray, chosen: np.ndarray, share: float) -> dict[str, float]:
    """Exact expected figures from the true propensity, and the oracle that ranks by it."""
    truth = np.nan_to_num(truth, nan=0.0)
    oracle = top_share(truth, share)
    expected, best, uniform = truth[chosen].mean(), truth[oracle].mean(), truth.mean()
    return {
        "true_hit_rate": float(expected),
        "oracle_hit_rate": float(best),
        "true_random_hit_rate": float(uniform),
        "oracle_ratio": float(expected / best) if best > 0 else float("nan"),
        "true_recall": float(truth[chosen].sum() / truth.sum()) if truth.sum() > 0 else float("nan"),
        "true_inspections_saved": float(1.0 - uniform / expected) if expected > 0 else float("nan"),
    }


def ranking_metrics(holdout: Holdout, score: np.ndarray) -> dict[str, float]:
    """AUC and average precision on the random-draw labels weighted by 1/pi; with ground truth,
    the AUC against a violation drawn from the truth is not defined, so the truth's rank
    correlation with the score is reported instead."""
    drawn = holdout.drawn.to_numpy()
    f = holdout.frame
    y, w = f["y"].to_numpy(dtype=float)[drawn], 1.0 / f["pi"].to_numpy(dtype=float)[drawn]
    s = np.asarray(score, dtype=float)[drawn]
    both = len(np.unique(y)) == 2
    out = {
        "drawn_labels": int(drawn.sum()),
        "drawn_violations": int(y.sum()),
        "auc": float(roc_auc_score(y, s, sample_weight=w)) if both else float("nan"),
        "average_precision": float(average_precision_score(y, s, sample_weight=w)) if both else float("nan"),
    }
    if holdout.has_truth:
        truth = pd.Series(f["truth"].to_numpy(dtype=float))
        out["truth_spearman"] = float(truth.corr(pd.Series(np.asarray(score, dtype=float)), method="spearman"))
    return out


def calibration_curve(y: np.ndarray, p: np.ndarray, weight: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Predicted against (weighted) observed violation rate in equal-count bins of the prediction."""
    order = np.argsort(p, kind="stable")
    parts = np.array_split(order, min(bins, max(1, len(p))))
    rows = [
        {
            "mean_predicted": float(np.average(p[i], weights=weight[i])),
            "observed": float(np.average(y[i], weights=weight[i])),
            "labels": len(i),
        }
        for i in parts
        if len(i)
    ]
    return pd.DataFrame(rows)


def breakdown(holdout: Holdout, score: np.ndarray, by: str, capacity: float = 0.05) -> pd.DataFrame:
    """The metrics within each group of `by` (district, industry, firm size), with the selection
    made city-wide as it is in practice."""
    chosen = top_share(score, capacity)
    f = holdout.frame.assign(_score=np.asarray(score, dtype=float), _chosen=chosen, _drawn=holdout.drawn)
    rows = []
    for group, g in f.groupby(by, dropna=False, sort=True):
        sub = Holdout(g.drop(columns=["_score", "_chosen", "_drawn"]))
        m = ranking_metrics(sub, g["_score"].to_numpy())
        d = g["_drawn"].to_numpy() & g["_chosen"].to_numpy()
        row = {
            by: group,
            "enterprises": len(g),
            "selected_share": float(g["_chosen"].mean()),
            "hit_rate": hajek_rate(g["y"].to_numpy(dtype=float)[d], g["pi"].to_numpy(dtype=float)[d]),
            **m,
        }
        if sub.has_truth:
            picked = g["_chosen"].to_numpy()
            truth = np.nan_to_num(g["truth"].to_numpy(dtype=float))
            row["true_hit_rate"] = float(truth[picked].mean()) if picked.any() else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)
