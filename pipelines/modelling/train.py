"""`regulens train`: walk-forward validation, the short list, the final model and its evaluation.

The flow, in the order it runs:
  1. folds: walk-forward over the profiled as-of dates; the latest date is the holdout
  2. every fold fits the model on all candidates -> importances -> the ranked candidates
  3. the metric against the number of factors, refitting every fold with the top k of the ranking
  4. the final short-list model: trained on the holdout fold's training dates, early-stopped and
     calibrated on its validation date; the full-candidate model beside it (what the list costs)
  5. evaluation on the holdout, baselines beside it, fairness; then MLflow (pipelines.modelling.tracking)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from models.labels import LabelPolicy, random_draw_rows, training_labels
from models.selection import Ranking, rank_candidates, short_list
from models.splits import Fold, walk_forward
from models.violation import ViolationModel
from pipelines.modelling.data import (
    LABEL_COLUMNS,
    Snapshot,
    available_as_of,
    load_catalogue,
    load_frame,
    risk_directions,
    snapshot,
)
from pipelines.modelling.report import HoldoutReport, evaluate_holdout, report_columns
from pipelines.settings import Settings

Progress = Callable[[str], None]


@dataclass(frozen=True)
class TrainOptions:
    horizon_days: int = 180
    n_folds: int = 3
    factors: int = 12
    curve: tuple[int, ...] = (200, 50, 25, 12, 6, 3)
    label_policy: LabelPolicy = LabelPolicy.RANDOM_IPW
    complaint_weight: float = 0.25
    # Constrain each factor to its catalogue risk direction (chosen on the walk-forward folds,
    # not the holdout: +0.03 oracle ratio at 5% with 12 factors on the demo city).
    monotone: bool = True
    # Also fit every candidate on the holdout fold, to say what the short list costs there.
    compare_all_candidates: bool = True
    seed: int = 20240117
    directions: dict[str, int] | None = field(default=None, repr=False)


@dataclass
class TrainResult:
    options: TrainOptions
    folds: list[Fold]
    holdout_fold: Fold
    snapshot: Snapshot
    ranking: Ranking
    factors: list[str]
    stability: float
    curve: pd.DataFrame
    model: ViolationModel
    full_model: ViolationModel | None
    report: HoldoutReport
    seconds: dict[str, float] = field(default_factory=dict)


def candidate_columns(frame: pd.DataFrame, catalogue: dict[str, dict]) -> list[str]:
    """The profile's columns that the feature catalogue declares (ids and labels are not factors)."""
    return [c for c in frame.columns if c in catalogue and c not in {"uscc", "as_of", *LABEL_COLUMNS}]


def train(settings: Settings, options: TrainOptions, progress: Progress | None = None) -> TrainResult:
    say = progress or (lambda message: None)
    clock: dict[str, float] = {}
    started = time.perf_counter()
    dates = available_as_of(settings, options.horizon_days)
    folds, holdout_fold = walk_forward(dates, options.horizon_days, options.n_folds)
    used = sorted({d for f in [*folds, holdout_fold] for d in (*f.train, f.validation, f.test)})
    labelled = load_frame(settings, [d for d in used if d != holdout_fold.test], options.horizon_days, True)
    catalogue = load_catalogue(settings)
    candidates = candidate_columns(labelled, catalogue)
    if options.monotone:
        options = dataclasses.replace(options, directions=risk_directions(catalogue))
    clock["load"] = time.perf_counter() - started

    say(f"ranking {len(candidates)} candidates over {len(folds)} folds")
    importances = [fit_fold(labelled, fold, candidates, options)[0].feature_importance() for fold in folds]
    ranking = rank_candidates(importances)
    train_rows = labelled[labelled["as_of"].isin(holdout_fold.train)]
    factors = short_list(ranking, train_rows[candidates], options.factors, seed=options.seed)
    clock["rank"] = time.perf_counter() - started - sum(clock.values())

    say("measuring the metric against the number of factors")
    curve = factor_curve(labelled, folds, importances, candidates, options)
    clock["curve"] = time.perf_counter() - started - sum(clock.values())

    say(f"fitting the final model on {len(factors)} factors")
    model = fit_fold(labelled, holdout_fold, factors, options)[0]
    full_model = fit_fold(labelled, holdout_fold, candidates, options)[0] if options.compare_all_candidates else None
    clock["final"] = time.perf_counter() - started - sum(clock.values())

    say(f"evaluating on the holdout {holdout_fold.test}")
    # Every candidate for every enterprise is large (1M x 1,003 floats = 8 GB); without the
    # all-candidate comparison the holdout needs only the factors and what the report groups by.
    extra = [c for c in report_columns(settings) if c in labelled.columns]
    columns = None if options.compare_all_candidates else list(dict.fromkeys([*factors, *extra]))
    holdout = load_frame(settings, [holdout_fold.test], options.horizon_days, columns=columns)
    report = evaluate_holdout(settings, holdout, holdout_fold.test, options.horizon_days, model, full_model)
    clock["evaluate"] = time.perf_counter() - started - sum(clock.values())
    snap = snapshot(settings, used, options.horizon_days)
    return TrainResult(
        options, folds, holdout_fold, snap, ranking, factors, ranking.stability(factors), curve, model, full_model,
        report, clock,
    )


def fit_fold(
    labelled: pd.DataFrame, fold: Fold, columns: list[str], options: TrainOptions
) -> tuple[ViolationModel, float]:
    """Fit on the fold's training dates, early-stop and calibrate on its validation date; return
    the model and its weighted AUC on the test date's random-draw labels (NaN if not loaded)."""
    train_rows = labelled[labelled["as_of"].isin(fold.train)]
    valid_rows = labelled[labelled["as_of"] == fold.validation]
    lt = training_labels(train_rows, options.label_policy, options.complaint_weight)
    lv = training_labels(valid_rows, options.label_policy, options.complaint_weight)
    if len(lt.rows) == 0 or lt.target.min() == lt.target.max():
        raise ValueError(f"fold testing {fold.test}: the training dates have no usable labels of both classes")
    monotone = {c: options.directions.get(c, 0) for c in columns} if options.directions else None
    model = ViolationModel(seed=options.seed, monotone=monotone).fit(
        train_rows.iloc[lt.rows][columns],
        lt.target,
        lt.weight,
        eval_set=(valid_rows.iloc[lv.rows][columns], lv.target, lv.weight),
    )
    test_rows = labelled[labelled["as_of"] == fold.test]
    return model, _test_auc(model, test_rows, columns)


def _test_auc(model: ViolationModel, rows: pd.DataFrame, columns: list[str]) -> float:
    drawn = rows[random_draw_rows(rows)]
    y = drawn["random_draw_found"].to_numpy(dtype=float)
    if len(drawn) == 0 or y.min() == y.max():
        return float("nan")
    w = 1.0 / drawn["inclusion_probability"].to_numpy(dtype=float)
    return float(roc_auc_score(y, model.decision_function(drawn[columns]), sample_weight=w))


def factor_curve(
    labelled: pd.DataFrame,
    folds: list[Fold],
    importances: list[pd.Series],
    candidates: list[str],
    options: TrainOptions,
) -> pd.DataFrame:
    """Mean and spread over the folds of the test AUC (random-draw labels, weighted by 1/pi) for
    every candidate and for the top k, k in options.curve and options.factors. Each fold ranks
    with its own importances only, so no fold's list is chosen with a later period's data."""
    sizes = sorted({*options.curve, options.factors}, reverse=True)
    rows = []
    for k in [len(candidates), *sizes]:
        aucs = []
        for fold, importance in zip(folds, importances, strict=True):
            train_rows = labelled[labelled["as_of"].isin(fold.train)]
            own = rank_candidates([importance])
            cols = candidates if k == len(candidates) else short_list(own, train_rows[candidates], k)
            aucs.append(fit_fold(labelled, fold, cols, options)[1])
        rows.append({"factors": k, "auc_mean": float(np.nanmean(aucs)), "auc_std": float(np.nanstd(aucs)),
                     **{f"auc_{f.test.isoformat()}": a for f, a in zip(folds, aucs, strict=True)}})
    return pd.DataFrame(rows)


def holdout_date(result: TrainResult) -> dt.date:
    return result.holdout_fold.test
