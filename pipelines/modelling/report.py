"""The holdout report: the model, the full-candidate model and the baselines, side by side.

Baselines are always shown, scored on the same eligible list:
  uniform random draw      every enterprise equally likely (its hit rate is the list's rate)
  last inspection result   enterprises whose last inspection found a violation first, the most
                           recently inspected first among them (what an inspector would do by hand)
  credit grade             the default scorecard's grade (D first), then its total score
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.evaluation import CAPACITIES, Holdout, breakdown, calibration_curve, capacity_table, ranking_metrics
from models.fairness import fairness_table
from models.scorecard.engine import Scorecard
from models.violation import ViolationModel
from pipelines.grading import load_scorecard
from pipelines.modelling.data import GROUP_COLUMNS, SIZE_SOURCE, ground_truth, group_columns
from pipelines.settings import Settings


@dataclass
class HoldoutReport:
    as_of: dt.date
    enterprises: int
    capacity: pd.DataFrame  # one row per (scorer, capacity)
    ranking: pd.DataFrame  # one row per scorer
    calibration: pd.DataFrame
    breakdowns: dict[str, pd.DataFrame]
    fairness: pd.DataFrame
    has_truth: bool

    def headline(self, capacity: float = 0.05) -> dict[str, float]:
        """The figures a regulator asks for first, for the model at `capacity`."""
        row = self.capacity[(self.capacity["scorer"] == "model") & np.isclose(self.capacity["capacity"], capacity)]
        rank = self.ranking[self.ranking["scorer"] == "model"].iloc[0].to_dict()
        out = {str(k): float(v) for k, v in row.iloc[0].to_dict().items() if k not in {"scorer", "capacity"}}
        out.update({"auc": float(rank["auc"]), "average_precision": float(rank["average_precision"])})
        out["fairness_flags"] = int(self.fairness["flagged"].sum())
        return out


def holdout_of(frame: pd.DataFrame, truth: pd.Series | None) -> Holdout:
    labels = pd.DataFrame(
        {"uscc": frame["uscc"], "y": frame["random_draw_found"], "pi": frame["inclusion_probability"]},
        index=frame.index,
    ).join(group_columns(frame))
    if truth is not None:
        labels["truth"] = frame["uscc"].map(truth).to_numpy()
    return Holdout(labels.reset_index(drop=True))


GRADE_RISK = {"A": 0, "B": 1, "C": 2, "D": 3}


def grade_risk(card: Scorecard, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(grades, risk score) of a scorecard: grade first, then the total (lower = riskier);
    enterprises the scorecard excludes come last."""
    scored = card.score(frame, reasons=False)
    grades = scored["grade"].astype(object).to_numpy()
    level = np.array([GRADE_RISK.get(g, -1) if isinstance(g, str) else -1 for g in grades], dtype=float)
    return grades, level * 1e5 - scored["score"].to_numpy(dtype=float)


def baseline_scores(settings: Settings, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(settings.generate.seed)
    last = _column(frame, "last_inspection_found_violation", -1.0)
    recency = -_column(frame, "inspections_days_since_last", 1e6)
    scores = {"uniform_random": rng.random(len(frame)), "last_inspection_result": last * 1e7 + recency}
    card = load_scorecard(settings.grading.scorecard)
    # A jurisdiction whose profile lacks the scorecard's indicators has no credit-grade baseline.
    if set(card.spec.features) <= set(frame.columns):
        scores["credit_grade"] = grade_risk(card, frame)[1]
    return scores


def report_columns(settings: Settings) -> list[str]:
    """The profile columns the report reads besides the model's factors."""
    card = load_scorecard(settings.grading.scorecard)
    return list(dict.fromkeys([
        "district", "industry_code", SIZE_SOURCE, "last_inspection_found_violation", "inspections_days_since_last",
        *card.spec.features,
    ]))


def _column(frame: pd.DataFrame, name: str, missing: float) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), missing)
    return frame[name].astype(float).fillna(missing).to_numpy()


def evaluate_holdout(
    settings: Settings,
    frame: pd.DataFrame,
    as_of: dt.date,
    horizon_days: int,
    model: ViolationModel,
    full_model: ViolationModel | None = None,
    extra_scores: dict[str, np.ndarray] | None = None,
) -> HoldoutReport:
    """Every figure of the report on one as-of date's eligible list."""
    holdout = holdout_of(frame, ground_truth(settings, as_of, horizon_days))
    scores = {"model": model.decision_function(frame)}
    if full_model is not None:
        scores["all_candidates"] = full_model.decision_function(frame)
    scores.update(baseline_scores(settings, frame))
    scores.update(extra_scores or {})
    capacity = pd.concat(
        [capacity_table(holdout, s, CAPACITIES).assign(scorer=name) for name, s in scores.items()], ignore_index=True
    )
    ranking = pd.DataFrame([{"scorer": name, **ranking_metrics(holdout, s)} for name, s in scores.items()])
    drawn = holdout.drawn.to_numpy()
    p = model.predict_proba(frame)[:, 1]
    f = holdout.frame
    calibration = calibration_curve(
        f["y"].to_numpy(dtype=float)[drawn], p[drawn], 1.0 / f["pi"].to_numpy(dtype=float)[drawn]
    )
    breakdowns = {by: breakdown(holdout, scores["model"], by) for by in GROUP_COLUMNS}
    fairness = fairness_table(holdout, scores["model"], tuple(GROUP_COLUMNS))
    return HoldoutReport(as_of, len(frame), capacity, ranking, calibration, breakdowns, fairness, holdout.has_truth)
