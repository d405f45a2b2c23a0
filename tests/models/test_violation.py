"""The violation model keeps the scikit-learn contract and explains what it ranks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from models.violation import ViolationModel


def planted(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Risk rises with complaints and in industry 52; `noise` carries nothing."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "complaints_365d": rng.poisson(1.0, n).astype(float),
            "industry_code": rng.choice(["52", "62", "13"], n),
            "noise": rng.normal(size=n),
        }
    )
    X.loc[rng.random(n) < 0.1, "complaints_365d"] = np.nan
    logit = -2 + 0.9 * X["complaints_365d"].fillna(0) + 1.2 * (X["industry_code"] == "52")
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int).to_numpy()
    return X, y


def test_fit_returns_self_and_params_round_trip_through_clone() -> None:
    X, y = planted(2000, 0)
    model = ViolationModel(num_leaves=7, max_rounds=50)
    assert model.fit(X, y) is model
    assert clone(model).get_params() == model.get_params()
    assert not hasattr(clone(model), "booster_")


def test_it_ranks_the_planted_risk_and_calibrates_on_the_later_fold() -> None:
    X, y = planted(4000, 1)
    Xv, yv = planted(2000, 2)
    Xt, yt = planted(2000, 3)
    model = ViolationModel().fit(X, y, eval_set=(Xv, yv, None))
    p = model.predict_proba(Xt)[:, 1]
    assert model.best_iteration_ < model.max_rounds, "early stopping should stop before the cap"
    assert p.min() >= 0 and p.max() <= 1
    assert abs(p.mean() - yt.mean()) < 0.03, "calibrated probabilities should match the base rate"
    assert model.feature_importance().index[-1] == "noise"


def test_contributions_add_up_to_the_log_odds_and_unseen_categories_are_missing() -> None:
    X, y = planted(1500, 4)
    model = ViolationModel(max_rounds=40).fit(X, y)
    new = X.head(5).assign(industry_code=["99", "52", None, "62", "13"])
    contrib = model.contributions(new)
    np.testing.assert_allclose(contrib.sum(axis=1), model.decision_function(new), rtol=1e-6, atol=1e-6)


def test_a_missing_column_and_a_bad_calibration_say_what_was_expected() -> None:
    X, y = planted(500, 5)
    model = ViolationModel(max_rounds=10).fit(X, y)
    with pytest.raises(KeyError, match="needs 1 columns"):
        model.decision_function(X.drop(columns="noise"))
    with pytest.raises(ValueError, match="sigmoid, isotonic or none"):
        ViolationModel(calibration="magic").fit(X, y, eval_set=(X, y, None))
