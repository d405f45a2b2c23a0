"""A learned scorecard: optimal WoE binning + logistic regression (optbinning), exported to the YAML form.

optbinning bins each candidate feature (monotonic where the meaning demands it: more penalties
never means less risk), fits a logistic regression on the WoE values, and scales the coefficients
to points: 600 points at odds 50:1 of *no* violation, 20 points to double the odds (PDO), so a
higher score means lower risk, as on the hand-made card. `rounding=True` rounds every bin's points
to an integer inside optbinning, so the exported YAML holds exactly the points optbinning sums:
the engine reproduces `optbinning.Scorecard.score` with no rounding of its own.

Export: numeric bins keep optbinning's splits as right-open edges (its convention too); the
"Missing" row becomes the missing bin. (optbinning also scores a value outside every bin with the
Missing row, which is why only numeric features are candidates: see `CANDIDATES`.)
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Literal

import numpy as np
import pandas as pd
from optbinning import BinningProcess
from optbinning import Scorecard as OptbScorecard
from sklearn.linear_model import LogisticRegression

from features.spec import Feature
from models.scorecard.dimensions import SHENZHEN_DIMENSIONS, dimension_of
from models.scorecard.schema import Band, Dimension, Indicator, Override, ScorecardSpec

Trend = Literal["ascending", "descending", "auto"]

# About thirty numeric profile features a regulator would recognise, across the five dimensions.
# The trend is of the violation rate as the value grows: "ascending" where more of it can only
# mean more risk (penalties, listings, complaints), "descending" where it can only mean less
# (paid-in capital, tax grade, honours, firm age), "auto" where the data may decide.
CANDIDATES: dict[str, Trend] = {
    "firm_age_years": "descending",
    "registered_capital_wan": "auto",
    "is_individual_business": "auto",
    "firms_at_same_address": "ascending",
    "registration_changes_change_item_legal_rep_count_365d": "ascending",
    "registration_changes_change_item_address_count_365d": "ascending",
    "registration_changes_count_730d": "ascending",
    "annual_reports_filed_on_time_late_count_all": "ascending",
    "activity_collapse": "ascending",
    "electricity_kwh_mean_ratio_90d_365d": "auto",
    "social_insurance_insured_headcount_mean_365d": "auto",
    "paid_in_ratio": "descending",
    "noncash_contribution_share": "ascending",
    "unpaid_subscriptions_count": "ascending",
    "licences_valid_now": "auto",
    "licences_expired_count": "ascending",
    "penalties_count_365d": "ascending",
    "penalties_count_all": "ascending",
    "penalties_fine_yuan_sum_all": "ascending",
    "abnormal_listed_now": "ascending",
    "abnormal_list_count_all": "ascending",
    "serious_dishonesty_count_all": "ascending",
    "court_cases_open_now": "ascending",
    "quality_sampling_result_failed_count_all": "ascending",
    "equity_pledges_count_all": "ascending",
    "complaints_count_365d": "ascending",
    "complaints_rate_vs_district_industry_365d": "ascending",
    "complaints_category_food_safety_count_365d": "ascending",
    "inspections_violation_found_found_count_all": "ascending",
    "last_inspection_found_violation": "ascending",
    "tax_credit_grade_latest_score": "descending",
    "honours_count_all": "descending",
}
# Shares of the training entities in each grade, best first: most A/B, few D.
GRADE_SHARES: dict[str, float] = {"A": 0.40, "B": 0.40, "C": 0.15, "D": 0.05}


class LearnedScorecard:
    """WoE-binned logistic scorecard, scikit-learn style: `fit(X, y)` returns self; state ends in `_`.

    After `fit`, `scorecard_` is the fitted optbinning object and `spec_` the exported scorecard.
    `y` is 1 where an inspection found a violation.
    """

    def __init__(
        self,
        candidates: Mapping[str, Trend] | None = None,
        version: str = "learned",
        pdo: float = 20.0,
        odds: float = 50.0,
        points_at_odds: float = 600.0,
        max_n_bins: int = 5,
        min_bin_size: float = 0.05,
        min_iv: float = 0.005,
        grade_shares: Mapping[str, float] | None = None,
        overrides: Sequence[Override] = (),
    ) -> None:
        self.candidates = candidates
        self.version = version
        self.pdo = pdo
        self.odds = odds
        self.points_at_odds = points_at_odds
        self.max_n_bins = max_n_bins
        self.min_bin_size = min_bin_size
        self.min_iv = min_iv
        self.grade_shares = grade_shares
        self.overrides = overrides

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray | pd.Series,
        catalogue: Mapping[str, Feature],
        sample_weight: np.ndarray | None = None,
        population: pd.DataFrame | None = None,
    ) -> LearnedScorecard:
        """Fit on labelled rows X, y. Grade bands are cut so that `population` (default X) splits
        in the `grade_shares`: pass the whole profile, since inspected firms are riskier than the rest."""
        candidates = dict(self.candidates if self.candidates is not None else CANDIDATES)
        names = list(candidates)
        process = BinningProcess(
            variable_names=names,
            max_n_bins=self.max_n_bins,
            min_bin_size=self.min_bin_size,
            selection_criteria={"iv": {"min": self.min_iv}},
            binning_fit_params={n: {"monotonic_trend": t} for n, t in candidates.items() if t != "auto"},
        )
        self.scorecard_ = OptbScorecard(
            binning_process=process,
            estimator=LogisticRegression(max_iter=2000),
            scaling_method="pdo_odds",
            scaling_method_params={"pdo": self.pdo, "odds": self.odds, "scorecard_points": self.points_at_odds},
            rounding=True,
        )
        with _quiet_optbinning():
            self.scorecard_.fit(X[names], np.asarray(y, dtype=int), sample_weight=sample_weight)
        self.features_ = [str(n) for n in self.scorecard_.binning_process_.get_support(names=True)]
        reference = self.score_points(X if population is None else population)
        self.spec_ = export_spec(self, catalogue, bands_from_shares(reference, self.grade_shares or GRADE_SHARES))
        return self

    def score_points(self, X: pd.DataFrame) -> np.ndarray:
        """optbinning's own total points (the reference the exported YAML must reproduce)."""
        return np.asarray(self.scorecard_.score(X[self.scorecard_.binning_process_.variable_names]))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probability of a violation found, from the logistic regression (unrounded)."""
        names = self.scorecard_.binning_process_.variable_names
        return np.asarray(self.scorecard_.predict_proba(X[names]))[:, 1]

    def binning_summary(self) -> list[dict[str, object]]:
        """Per selected feature: information value and number of bins (serialisable)."""
        with _quiet_optbinning():
            table = self.scorecard_.binning_process_.summary()
        table = table[table["selected"]]
        return [
            {"feature": r["name"], "iv": round(float(r["iv"]), 4), "bins": int(r["n_bins"])}
            for _, r in table.sort_values("iv", ascending=False).iterrows()
        ]


@contextmanager
def _quiet_optbinning() -> Iterator[None]:
    """optbinning 1.0 trips pandas 3 deprecation warnings (inplace=, dtype upcasts) we cannot act on."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(incompatible dtype|inplace keyword).*")
        yield


def _feature_points(model: LearnedScorecard, feature: str) -> tuple[list[float], list[float], float]:
    """(edges, points per bin, missing points) of one fitted feature, straight from optbinning."""
    table = model.scorecard_.table(style="detailed")
    points = table.loc[table["Variable"] == feature, "Points"].to_numpy(dtype=float)
    edges = [float(e) for e in model.scorecard_.binning_process_.get_binned_variable(feature).splits]
    # Rows: one per bin, then "Special" (no special codes here, never used), then "Missing".
    return edges, [float(p) for p in points[: len(edges) + 1]], float(points[-1])


def export_spec(model: LearnedScorecard, catalogue: Mapping[str, Feature], bands: list[Band]) -> ScorecardSpec:
    """The fitted scorecard as a ScorecardSpec: the same YAML form as the hand-made card."""
    by_dim: dict[str, list[Indicator]] = {d: [] for d in SHENZHEN_DIMENSIONS}
    for feature in model.features_:
        edges, points, missing = _feature_points(model, feature)
        indicator = Indicator(feature=feature, zh=catalogue[feature].zh, edges=edges, points=points, missing=missing)
        by_dim[dimension_of(feature, catalogue)].append(indicator)
    dims = [
        Dimension(id=d, zh=SHENZHEN_DIMENSIONS[d][0], en=SHENZHEN_DIMENSIONS[d][1], indicators=inds)
        for d, inds in by_dim.items()
        if inds
    ]
    return ScorecardSpec(
        version=model.version,
        name="企业信用风险分类（数据驱动评分卡，WoE 逻辑回归）",
        description=(
            f"optbinning WoE binning + logistic regression; {model.points_at_odds:g} points at odds"
            f" {model.odds:g}:1 of no violation, {model.pdo:g} points to double the odds; points rounded"
            " to integers by optbinning. Bands: cut so the whole profile at the latest training date splits"
            " into the configured shares per grade."
        ),
        dimensions=dims,
        bands=bands,
        overrides=list(model.overrides),
    )


def bands_from_shares(scores: np.ndarray, shares: Mapping[str, float]) -> list[Band]:
    """Integer cut-offs so that roughly `shares` of these scores fall in each grade (best first).

    With grade shares A .40, B .40, C .15, D .05: D is the lowest 5%, C the next 15%, and so on.
    Cut-offs are forced strictly decreasing, so every band is non-empty in score terms.
    """
    grades = list(shares)
    below = np.cumsum([shares[g] for g in reversed(grades)])[:-1]  # share below each cut, worst first
    cuts = [float(np.ceil(np.quantile(scores, q))) for q in below]
    for i in range(1, len(cuts)):
        cuts[i] = max(cuts[i], cuts[i - 1] + 1)
    cuts = cuts[::-1]  # best first: cut between grade k and k+1
    bands = [Band(grade=grades[0], min=cuts[0])]
    bands += [Band(grade=g, min=cuts[i], max=cuts[i - 1]) for i, g in enumerate(grades[1:-1], start=1)]
    bands.append(Band(grade=grades[-1], max=cuts[-1]))
    return bands
