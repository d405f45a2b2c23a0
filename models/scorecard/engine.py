"""Score a frame of entities with a declarative scorecard.

`Scorecard(spec).score(frame)` returns, per row: the total score (higher = lower risk), the grade,
one sub-score per dimension, the hard override applied (if any), whether the entity is excluded
from grading, the scorecard version, and reason lines: the indicators that cost points against
their reference (by default the best bin), most costly first, with the feature value, in Chinese.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

from models.scorecard.schema import Condition, Indicator, ScorecardError, ScorecardSpec


class ReasonLine(BaseModel):
    """One indicator that cost points: `lost` = its reference points (default: best bin) minus those received.

    The schema of each entry of `Scorecard.score(...)["reasons"]` (which also carries `text`)."""

    dimension: str
    feature: str
    zh: str
    value: str
    points: float
    lost: float

    @property
    def text(self) -> str:
        return reason_text(self.zh, self.value, self.lost)


def reason_text(zh: str, value: str, lost: float) -> str:
    """'近一年行政处罚次数：2（扣40分）': the indicator, the entity's value, the points lost."""
    return f"{zh}：{value}（扣{_fmt(lost)}分）"


def _fmt(x: float) -> str:
    """12.0 -> '12', 0.1 -> '0.1', 2/3 -> '0.67'."""
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}".rstrip("0")


def indicator_points(indicator: Indicator, values: pd.Series) -> np.ndarray:
    """Points per row for one indicator (float array)."""
    missing = values.isna().to_numpy()
    if indicator.edges is not None:
        numeric = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        # right=False: bin i holds edges[i-1] <= x < edges[i], the optbinning convention.
        index = np.digitize(np.nan_to_num(numeric, nan=0.0), indicator.edges, right=False)
        out = np.asarray(indicator.points, dtype="float64")[index]
        missing = missing | np.isnan(numeric)
    else:
        lookup = {v: c.points for c in indicator.categories or [] for v in c.values}
        out = values.astype("string").map(lookup).astype("Float64").fillna(indicator.other).to_numpy(dtype="float64")
    return np.where(missing, indicator.missing, out)


def condition_holds(condition: Condition, values: pd.Series) -> np.ndarray:
    """Where the override condition is true; a missing value never satisfies it."""
    target: Any = condition.value
    values = values.astype("string") if isinstance(target, str) else pd.to_numeric(values, errors="coerce")
    ops = {
        "==": values.eq,
        "!=": values.ne,
        ">": values.gt,
        ">=": values.ge,
        "<": values.lt,
        "<=": values.le,
    }
    held = ops[condition.op](target)
    return (held.fillna(False).astype(bool) & values.notna()).to_numpy()


class Scorecard:
    """A declarative scorecard with the scikit-learn shape: `fit` checks the columns and returns self.

    `fit` learns nothing (the points are declared); it records `feature_names_in_` so that a
    frame missing a column fails early with the list of what is missing.
    """

    def __init__(self, spec: ScorecardSpec, id_columns: tuple[str, ...] = ("uscc",)) -> None:
        self.spec = spec
        self.id_columns = id_columns

    def fit(self, X: pd.DataFrame, y: object = None) -> Scorecard:
        self._check_columns(X)
        self.feature_names_in_ = np.array(self.spec.features, dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def _check_columns(self, X: pd.DataFrame) -> None:
        absent = [f for f in self.spec.features if f not in X.columns]
        if absent:
            raise ScorecardError(
                f"scorecard {self.spec.version}: the frame lacks {len(absent)} feature column(s) it reads: "
                f"{', '.join(absent[:10])}{' ...' if len(absent) > 10 else ''}"
            )

    def points(self, X: pd.DataFrame) -> pd.DataFrame:
        """Points per indicator (one column per feature), before dimension bases."""
        self._check_columns(X)
        return pd.DataFrame(
            {ind.feature: indicator_points(ind, X[ind.feature]) for _, ind in self.spec.indicators}, index=X.index
        )

    def total(self, X: pd.DataFrame) -> np.ndarray:
        """The total score per row: dimension bases plus every indicator's points."""
        return self.points(X).sum(axis=1).to_numpy() + self._base

    def grade_of(self, totals: np.ndarray) -> np.ndarray:
        """The band grade of each total (bands: best first, [min, max))."""
        grades = np.empty(len(totals), dtype=object)
        for band in reversed(self.spec.bands):  # worst first, so better bands overwrite
            at_least = np.ones(len(totals), dtype=bool) if band.min is None else totals >= band.min
            grades[at_least] = band.grade
        return grades

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Final grades (overrides applied; None where excluded)."""
        return self.score(X, reasons=False)["grade"].to_numpy()

    def score(self, X: pd.DataFrame, reasons: bool = True) -> pd.DataFrame:
        """One row per entity: ids, score, grade, sub_<dimension>, override (id and Chinese text),
        excluded, scorecard_version, reasons (unless reasons=False)."""
        pts = self.points(X)
        out = X[[c for c in self.id_columns if c in X.columns]].copy()
        out["score"] = pts.sum(axis=1) + self._base
        for dim in self.spec.dimensions:
            out[f"sub_{dim.id}"] = pts[[i.feature for i in dim.indicators]].sum(axis=1) + dim.base
        grade, override, excluded = self._apply_overrides(X, self.grade_of(out["score"].to_numpy()))
        out["grade"] = pd.array(grade, dtype="string")
        out["override"] = pd.array(override, dtype="string")
        rules_zh = {o.id: o.zh for o in self.spec.overrides}
        out["override_zh"] = pd.array([rules_zh.get(o) if o else None for o in override], dtype="string")
        out["excluded"] = excluded
        out["scorecard_version"] = self.spec.version
        if reasons:
            out["reasons"] = pd.Series(self.reason_lines(X, pts), index=out.index, dtype=object)
        return out

    @property
    def _base(self) -> float:
        return float(sum(d.base for d in self.spec.dimensions))

    def _apply_overrides(self, X: pd.DataFrame, grades: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        override = np.full(len(X), None, dtype=object)
        excluded = np.zeros(len(X), dtype=bool)
        grades = grades.copy()
        for rule in self.spec.overrides:
            hit = condition_holds(rule.when, X[rule.when.feature]) & pd.isna(override)
            override[hit] = rule.id
            if rule.action == "exclude":
                excluded[hit] = True
                grades[hit] = None
            else:
                grades[hit] = rule.grade
        return grades, override, excluded

    def reason_lines(self, X: pd.DataFrame, pts: pd.DataFrame | None = None) -> list[list[dict[str, Any]]]:
        """Per row, the indicators that cost points, most costly first: ReasonLine fields plus `text`.

        Vectorised over (row, indicator) pairs that lost points: one Python step per reason line,
        none per row or per indicator, so a million enterprises stay within the scoring budget.
        """
        pts = self.points(X) if pts is None else pts
        pairs = self.spec.indicators
        received = pts.to_numpy()
        lost = np.array([ind.reference_points for _, ind in pairs]) - received
        rows_at, cols_at = np.nonzero(lost > 0)
        order = np.lexsort((-lost[rows_at, cols_at], rows_at))  # by row, then most points lost first
        values = [X[ind.feature].to_numpy(dtype=object) for _, ind in pairs]
        out: list[list[dict[str, Any]]] = [[] for _ in range(len(X))]
        for r, k in zip(rows_at[order].tolist(), cols_at[order].tolist(), strict=True):
            dim, ind = pairs[k]
            zh, value, points_lost = ind.zh or ind.feature, _value_text(values[k][r]), float(lost[r, k])
            out[r].append(
                {
                    "dimension": dim.zh,
                    "feature": ind.feature,
                    "zh": zh,
                    "value": value,
                    "points": float(received[r, k]),
                    "lost": points_lost,
                    "text": reason_text(zh, value, points_lost),
                }
            )
        return out


def _value_text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return "缺失"
    if isinstance(value, float | np.floating):
        return _fmt(round(float(value), 2))
    return str(value)


def with_labels(spec: ScorecardSpec, catalogue: Mapping[str, Any]) -> ScorecardSpec:
    """The spec with every indicator's reason label filled from the catalogue's Chinese description."""
    dims = []
    for dim in spec.dimensions:
        inds = [
            ind if ind.zh else ind.model_copy(update={"zh": getattr(catalogue.get(ind.feature), "zh", None)})
            for ind in dim.indicators
        ]
        dims.append(dim.model_copy(update={"indicators": inds}))
    return spec.model_copy(update={"dimensions": dims})
