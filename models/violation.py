"""The violation model: LightGBM on the profile, early-stopped and calibrated on a later fold.

It keeps the scikit-learn contract: `__init__` stores parameters, `fit` returns self, learned
state ends in `_`. Missing values stay missing (LightGBM routes them); the profile's string
columns (district, industry, type, tax grade) are categorical, with the categories fixed at fit
time so that scoring later sees the same codes.
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression


class ViolationModel(ClassifierMixin, BaseEstimator):
    """P(an inspection finds a violation | profile), for ranking and for expected hit rates."""

    def __init__(
        self,
        learning_rate: float = 0.05,
        num_leaves: int = 7,
        min_child_samples: int = 40,
        feature_fraction: float = 0.7,
        lambda_l2: float = 5.0,
        max_rounds: int = 2000,
        early_stopping_rounds: int = 100,
        rounds_without_validation: int = 300,
        calibration: str = "sigmoid",
        monotone: dict[str, int] | None = None,
        seed: int = 20240117,
        num_threads: int = 2,
    ) -> None:
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.feature_fraction = feature_fraction
        self.lambda_l2 = lambda_l2
        self.max_rounds = max_rounds
        self.early_stopping_rounds = early_stopping_rounds
        self.rounds_without_validation = rounds_without_validation
        self.calibration = calibration
        self.monotone = monotone
        self.seed = seed
        self.num_threads = num_threads

    def lgb_params(self, rows: int | None = None) -> dict[str, Any]:
        """LightGBM's parameters; with `rows`, a leaf never needs more than a tenth of them, so a
        small city's few labels still allow splits instead of an empty model."""
        min_leaf = self.min_child_samples if rows is None else min(self.min_child_samples, max(2, rows // 10))
        return {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": min_leaf,
            "feature_pre_filter": False,
            "min_sum_hessian_in_leaf": 1e-3,
            "feature_fraction": self.feature_fraction,
            "lambda_l2": self.lambda_l2,
            "seed": self.seed,
            "deterministic": True,
            "force_col_wise": True,
            "num_threads": self.num_threads,
            "verbose": -1,
        }

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray,
        sample_weight: np.ndarray | None = None,
        eval_set: tuple[pd.DataFrame, np.ndarray, np.ndarray | None] | None = None,
    ) -> ViolationModel:
        """Fit on (X, y, weight); stop early and calibrate on the later `eval_set` when given."""
        self.feature_names_ = list(X.columns)
        self.categories_ = {
            c: sorted(X[c].dropna().astype(str).unique().tolist()) for c in X.columns if not _is_numeric(X[c])
        }
        params = self.lgb_params(len(y))
        if self.monotone:
            # A factor's risk direction from the catalogue (+1 more is riskier, -1 less): the model may
            # not contradict it, which keeps reason codes sensible and steadies a model with few labels.
            params["monotone_constraints"] = [
                0 if c in self.categories_ else int(self.monotone.get(c, 0)) for c in self.feature_names_
            ]
        train = lgb.Dataset(self._prepare(X), label=y, weight=_normalised(sample_weight, len(y)), free_raw_data=True)
        callbacks: list[Any] = []
        valid_sets = []
        if eval_set is not None:
            Xv, yv, wv = eval_set
            valid_sets = [lgb.Dataset(self._prepare(Xv), label=yv, weight=_normalised(wv, len(yv)), reference=train)]
            callbacks.append(lgb.early_stopping(self.early_stopping_rounds, verbose=False))
        rounds = self.max_rounds if eval_set is not None else min(self.max_rounds, self.rounds_without_validation)
        try:
            booster = lgb.train(params, train, rounds, valid_sets=valid_sets, callbacks=callbacks)
        except lgb.basic.LightGBMError as error:
            raise ValueError(f"LightGBM could not train on {len(y)} rows x {X.shape[1]} columns: {error}") from error
        self.best_iteration_ = booster.best_iteration or booster.current_iteration()
        # Keep only the trees up to the best iteration, so every reader (pred_contrib, shap) sees one model.
        self.booster_ = lgb.Booster(model_str=booster.model_to_string(num_iteration=self.best_iteration_))
        self.calibrator_: IsotonicRegression | LogisticRegression | None = None
        if self.calibration not in ("sigmoid", "isotonic", "none"):
            raise ValueError(f"calibration must be sigmoid, isotonic or none, got {self.calibration!r}")
        if self.calibration != "none" and eval_set is not None:
            Xv, yv, wv = eval_set
            self.calibrator_ = _calibrator(self.calibration)
            self.calibrator_.fit(self.decision_function(Xv).reshape(-1, 1), yv, sample_weight=wv)
        self.classes_ = np.array([0, 1])
        return self

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """The uncalibrated log-odds: what SHAP contributions add up to, and what ranks."""
        return np.asarray(
            self.booster_.predict(self._prepare(X), num_iteration=self.best_iteration_, raw_score=True), dtype=float
        )

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        raw = self.decision_function(X)
        if isinstance(self.calibrator_, LogisticRegression):
            p = self.calibrator_.predict_proba(raw.reshape(-1, 1))[:, 1]
        elif isinstance(self.calibrator_, IsotonicRegression):
            p = self.calibrator_.predict(raw)
        else:
            p = 1.0 / (1.0 + np.exp(-raw))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per-row TreeSHAP contributions on the log-odds scale (LightGBM's pred_contrib);
        the last column, `expected_value`, is the base value; each row sums to its log-odds."""
        values = self.booster_.predict(self._prepare(X), num_iteration=self.best_iteration_, pred_contrib=True)
        return pd.DataFrame(np.asarray(values), index=X.index, columns=[*self.feature_names_, "expected_value"])

    def feature_importance(self) -> pd.Series:
        gain = self.booster_.feature_importance("gain", iteration=self.best_iteration_)
        return pd.Series(gain, index=self.feature_names_).sort_values(ascending=False)

    def _prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        """Column order as at fit time; categorical columns coded against the fitted categories."""
        missing = [c for c in self.feature_names_ if c not in X.columns]
        if missing:
            raise KeyError(f"the model needs {len(missing)} columns the frame lacks, e.g. {missing[:5]}")
        out = X[self.feature_names_].copy()
        for c, cats in self.categories_.items():
            text = out[c].astype("string")
            # A category never seen in training is missing to the model, not an error.
            out[c] = pd.Categorical(text.where(text.isin(cats)).astype(object), categories=cats)
        for c in out.columns:
            if c not in self.categories_:
                out[c] = out[c].astype("float32")
        return out


def _calibrator(kind: str) -> IsotonicRegression | LogisticRegression:
    """Platt scaling (sigmoid) by default: two parameters stay stable on the few hundred
    random-draw labels of one validation date, where isotonic steps overfit (probability 1.0)."""
    if kind == "isotonic":
        return IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
    return LogisticRegression(C=1e6)


def _is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


def _normalised(weight: np.ndarray | None, n: int) -> np.ndarray:
    """Weights scaled to mean 1, so LightGBM's leaf-size limits mean the same under any weighting."""
    if weight is None:
        return np.ones(n)
    w = np.asarray(weight, dtype=float)
    return w / w.mean()
