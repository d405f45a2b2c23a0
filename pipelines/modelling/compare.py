"""`regulens compare`: the credit scorecards and the violation model side by side on one holdout.

Regulators grade every enterprise A-D with a transparent scorecard and let the model run beside
it; this table shows what the model adds. Every figure is on the same eligible list and the same
random-draw labels (weighted by 1/pi), and, on the synthetic city, the same ground truth:
  - per scorer: AUC, average precision, hit rate at 1/2/5/10% capacity;
  - per grade of the default scorecard: enterprises, hit rate of the grade as a whole, and the
    model's AUC *within* the grade and the hit rate of the model's top 10% of the grade.
A scorecard's risk order is its grade (D riskiest), then its total (lower = riskier).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.evaluation import CAPACITIES, Holdout, capacity_table, hajek_rate, ranking_metrics, top_share
from pipelines.grading import learned_dir, load_scorecard
from pipelines.lake import current_version
from pipelines.modelling.data import ground_truth, load_frame
from pipelines.modelling.report import grade_risk, holdout_of
from pipelines.modelling.scoring import load_model
from pipelines.settings import Settings


@dataclass
class Comparison:
    as_of: dt.date
    scorers: pd.DataFrame
    by_grade: pd.DataFrame


def compare(settings: Settings, as_of: dt.date, horizon_days: int = 180, model_ref: str = "champion") -> Comparison:
    frame = load_frame(settings, [as_of], horizon_days)
    holdout = holdout_of(frame, ground_truth(settings, as_of, horizon_days))
    model, version = load_model(settings, model_ref)
    default_grades, default_risk = grade_risk(load_scorecard(settings.grading.scorecard), frame)
    scores = {f"violation model v{version}": model.decision_function(frame), "default scorecard": default_risk}
    learned = current_version(learned_dir(settings))
    if learned is not None:
        scores["learned scorecard"] = grade_risk(load_scorecard(learned / "learned.yaml"), frame)[1]
    # The model within each grade: grade first, the model's order inside it.
    rank_in_grade = pd.Series(scores[f"violation model v{version}"]).rank(pct=True).to_numpy()
    scores["default grade, then model"] = np.floor(default_risk / 1e5) * 10 + rank_in_grade
    rows = []
    for name, s in scores.items():
        row = {"scorer": name, **ranking_metrics(holdout, s)}
        for cap in capacity_table(holdout, s, CAPACITIES).to_dict(orient="records"):
            row[f"hit_rate_{cap['capacity']:.0%}"] = cap["hit_rate"]
            if holdout.has_truth:
                row[f"true_hit_rate_{cap['capacity']:.0%}"] = cap["true_hit_rate"]
        rows.append(row)
    by_grade = _by_grade(holdout, default_grades, scores[f"violation model v{version}"])
    return Comparison(as_of, pd.DataFrame(rows), by_grade)


def _by_grade(holdout: Holdout, grades: np.ndarray, model_score: np.ndarray) -> pd.DataFrame:
    f = holdout.frame
    drawn = holdout.drawn.to_numpy()
    y, pi = f["y"].to_numpy(dtype=float), f["pi"].to_numpy(dtype=float)
    rows = []
    for grade in ["A", "B", "C", "D"]:
        inside = np.array([g == grade for g in grades])
        if not inside.any():
            continue
        sub = Holdout(f[inside].reset_index(drop=True))
        top = np.zeros(len(f), dtype=bool)
        top[np.flatnonzero(inside)[top_share(model_score[inside], 0.10)]] = True
        row = {
            "grade": grade,
            "enterprises": int(inside.sum()),
            "drawn_labels": int((drawn & inside).sum()),
            "hit_rate": hajek_rate(y[drawn & inside], pi[drawn & inside]),
            "model_auc_within_grade": ranking_metrics(sub, model_score[inside])["auc"],
            "hit_rate_model_top10pct_of_grade": hajek_rate(y[drawn & top], pi[drawn & top]),
        }
        if holdout.has_truth:
            truth = np.nan_to_num(f["truth"].to_numpy(dtype=float))
            row["true_hit_rate"] = float(truth[inside].mean())
            row["true_hit_rate_model_top10pct_of_grade"] = float(truth[top].mean())
        rows.append(row)
    return pd.DataFrame(rows)
