"""Training on an event-keyed profile: temporal validation on the events before a cut-off date.

Folds walk forward in time, like `models/splits.py` does for as-of dates: fold k tests on the
`fold_days` of events ending `(k-1) * fold_days` before the cut-off, early-stops and calibrates on
the `validation_days` before its test window, and trains on everything earlier. The folds rank
the candidates (gain shares averaged over folds) and give the cross-validated AUC; the final model
trains on the events before `cutoff - validation_days` and early-stops and calibrates on the rest
before the cut-off. Nothing on or after the cut-off is read before scoring.

Worked example (Chicago, cut-off 2014-09-02, 3 folds of 60 days, 90 validation days):
fold 1 tests 2014-07-04..2014-09-01, validates 2014-04-05..2014-07-03, trains before 2014-04-05;
the final model validates 2014-06-04..2014-09-01 and trains before 2014-06-04.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from features.events import EventProfileSpec
from models.selection import Ranking, rank_candidates, short_list
from models.violation import ViolationModel
from pipelines.modelling.data import risk_directions
from pipelines.profiles.events_flow import event_spec, events_profile_dir, read_event_profile
from pipelines.settings import Settings

INT_PARAMS = {"num_leaves", "min_child_samples", "max_rounds", "early_stopping_rounds"}


@dataclass(frozen=True)
class EventTrainOptions:
    cutoff: dt.date
    n_folds: int = 3
    fold_days: int = 60
    validation_days: int = 90
    factors: int | None = None  # None: every candidate
    monotone: bool = False
    # Train only on events whose column equals a value (e.g. the licence type being benchmarked).
    population: tuple[str, str] | None = None
    exclude: tuple[str, ...] = ()
    exclude_sources: tuple[str, ...] = ()
    # Refit the final model on every event before the cut-off (validation window included) with
    # the number of rounds early stopping chose; the calibration stays the validation window's.
    refit: bool = True
    seed: int = 20240117
    # One thread: a few thousand rows train in seconds; two threads on a busy two-core machine
    # were 30x slower (176 s vs 6 s for the Chicago run).
    num_threads: int = 1
    model_params: tuple[tuple[str, float], ...] = ()  # ViolationModel overrides, e.g. (("num_leaves", 15),)

    def describe(self) -> dict[str, object]:
        return {
            "cutoff": self.cutoff.isoformat(), "n_folds": self.n_folds, "fold_days": self.fold_days,
            "validation_days": self.validation_days, "factors": self.factors or "all", "monotone": self.monotone,
            "population": "=".join(self.population) if self.population else "all", "exclude": ",".join(self.exclude),
            "exclude_sources": ",".join(self.exclude_sources),
            "refit": self.refit, **{f"model_{k}": v for k, v in self.model_params},
        }


@dataclass
class EventFold:
    train_end: dt.date  # exclusive
    test_start: dt.date
    test_end: dt.date  # exclusive
    auc: float = float("nan")
    rows: dict[str, int] = field(default_factory=dict)


@dataclass
class EventTrainResult:
    options: EventTrainOptions
    spec: EventProfileSpec
    folds: list[EventFold]
    ranking: Ranking
    factors: list[str]
    model: ViolationModel
    scores: pd.DataFrame  # every event on or after the cut-off: keys, score, probability
    rows: dict[str, int]
    seconds: dict[str, float]

    @property
    def cv_auc(self) -> float:
        return float(np.nanmean([f.auc for f in self.folds]))


def load_events(settings: Settings, spec: EventProfileSpec) -> pd.DataFrame:
    """The event profile joined with its labels."""
    profile_path, labels_path = read_event_profile(settings)
    profile = pd.read_parquet(profile_path)
    labels = pd.read_parquet(labels_path, columns=[spec.events.id, spec.label.name])
    frame = profile.merge(labels, on=spec.events.id, how="inner", validate="one_to_one")
    frame["as_of"] = pd.to_datetime(frame["as_of"])
    return frame


def load_event_catalogue(settings: Settings) -> dict[str, dict]:
    path = events_profile_dir(settings) / "catalogue.json"
    return {f["name"]: f for f in json.loads(path.read_text(encoding="utf-8"))}


def options_from_spec(spec: EventProfileSpec, **overrides: Any) -> EventTrainOptions:
    """The jurisdiction's training defaults (`training` in its profile spec), then the overrides
    that are not None."""
    t = spec.training
    chosen: dict[str, Any] = {"cutoff": t.cutoff, "n_folds": t.folds, "factors": t.factors, "monotone": t.monotone,
                              "exclude_sources": tuple(t.exclude_sources)}
    chosen.update({k: v for k, v in overrides.items() if v is not None})
    if chosen["cutoff"] is None:
        raise ValueError("no cut-off date: give --before or set training.cutoff in the profile spec")
    return EventTrainOptions(**chosen)


def event_folds(options: EventTrainOptions) -> list[EventFold]:
    folds = []
    for k in range(1, options.n_folds + 1):
        test_end = options.cutoff - dt.timedelta(days=(k - 1) * options.fold_days)
        test_start = test_end - dt.timedelta(days=options.fold_days)
        folds.append(EventFold(test_start - dt.timedelta(days=options.validation_days), test_start, test_end))
    return folds


def train_events(settings: Settings, options: EventTrainOptions) -> EventTrainResult:
    clock: dict[str, float] = {}
    started = time.perf_counter()
    spec = event_spec(settings)
    frame = load_events(settings, spec)
    catalogue = load_event_catalogue(settings)
    candidates = [
        c for c in catalogue
        if c in frame.columns and c not in options.exclude and catalogue[c]["source"] not in options.exclude_sources
    ]
    label = spec.label.name
    cutoff = pd.Timestamp(options.cutoff)
    before = frame[frame["as_of"] < cutoff]
    if options.population:
        column, value = options.population
        if column not in before.columns:
            raise ValueError(f"--population names {column!r}, which is not a profile column")
        before = before[before[column].astype(str) == value]
    if before.empty:
        raise ValueError(f"no events before the cut-off {options.cutoff}")
    directions = risk_directions(catalogue, candidates) if options.monotone else None
    clock["load"] = time.perf_counter() - started

    folds = event_folds(options)
    importances = []
    for fold in folds:
        model, fold.auc, fold.rows = _fit_fold(before, fold, candidates, label, directions, options)
        importances.append(model.feature_importance())
    ranking = rank_candidates(importances)
    final_fold = EventFold(options.cutoff - dt.timedelta(days=options.validation_days), options.cutoff, options.cutoff)
    train_rows = before[before["as_of"] < pd.Timestamp(final_fold.train_end)]
    factors = (
        short_list(ranking, train_rows[candidates], options.factors, seed=options.seed)
        if options.factors
        else candidates
    )
    clock["folds"] = time.perf_counter() - started - sum(clock.values())

    model, _, rows = _fit_fold(before, final_fold, factors, label, directions, options)
    if options.refit:
        model = _refit(model, before, factors, label)
        rows = {**rows, "train": len(before)}
    after = frame[frame["as_of"] >= cutoff]
    scores = after[spec.keys].copy()
    scores["score"] = model.decision_function(after[factors])
    scores["probability"] = model.predict_proba(after[factors])[:, 1]
    clock["final"] = time.perf_counter() - started - sum(clock.values())
    return EventTrainResult(options, spec, folds, ranking, factors, model, scores, rows, clock)


def _fit_fold(
    frame: pd.DataFrame,
    fold: EventFold,
    columns: list[str],
    label: str,
    directions: dict[str, int] | None,
    options: EventTrainOptions,
) -> tuple[ViolationModel, float, dict[str, int]]:
    when = frame["as_of"]
    train = frame[when < pd.Timestamp(fold.train_end)]
    valid = frame[(when >= pd.Timestamp(fold.train_end)) & (when < pd.Timestamp(fold.test_start))]
    test = frame[(when >= pd.Timestamp(fold.test_start)) & (when < pd.Timestamp(fold.test_end))]
    if train[label].nunique() < 2 or valid[label].nunique() < 2:
        raise ValueError(f"the fold ending {fold.train_end} has too few events of both classes to train on")
    monotone = {c: directions.get(c, 0) for c in columns} if directions else None
    params: dict[str, Any] = {k: (int(v) if k in INT_PARAMS else v) for k, v in options.model_params}
    model = ViolationModel(seed=options.seed, monotone=monotone, num_threads=options.num_threads, **params).fit(
        train[columns], train[label].to_numpy(), eval_set=(valid[columns], valid[label].to_numpy(), None)
    )
    auc = float("nan")
    if len(test) and test[label].nunique() == 2:
        auc = float(roc_auc_score(test[label], model.decision_function(test[columns])))
    return model, auc, {"train": len(train), "validation": len(valid), "test": len(test)}


def _refit(model: ViolationModel, frame: pd.DataFrame, columns: list[str], label: str) -> ViolationModel:
    """The same model refitted on every row of `frame` for the rounds early stopping chose,
    keeping the calibrator fitted on the validation window (out of sample for the first fit)."""
    rounds = model.best_iteration_
    refitted = clone(model).set_params(max_rounds=rounds, rounds_without_validation=rounds)
    refitted.fit(frame[columns], frame[label].to_numpy())
    refitted.calibrator_ = model.calibrator_
    return refitted
