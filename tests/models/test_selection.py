"""The short list: importance averaged over folds, near-duplicates skipped, stability reported."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.selection import rank_candidates, short_list


def test_ranking_averages_gain_shares_over_folds() -> None:
    folds = [pd.Series({"a": 6.0, "b": 3.0, "c": 1.0}), pd.Series({"a": 1.0, "b": 8.0, "c": 1.0})]
    ranking = rank_candidates(folds)
    assert ranking.importance.index.tolist() == ["b", "a", "c"]
    assert ranking.importance["b"] == pytest.approx((0.3 + 0.8) / 2)


def test_near_duplicates_do_not_take_two_places() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=500)
    X = pd.DataFrame({"complaints_90d": base, "complaints_180d": base * 2 + 0.01 * rng.normal(size=500),
                      "penalties": rng.normal(size=500), "industry": rng.choice(["a", "b"], 500)})
    ranking = rank_candidates([pd.Series({"complaints_90d": 5.0, "complaints_180d": 4.0, "penalties": 2.0,
                                          "industry": 1.0})])
    assert short_list(ranking, X, 3) == ["complaints_90d", "penalties", "industry"]


def test_candidates_never_split_on_do_not_enter_and_stability_counts_agreement() -> None:
    folds = [pd.Series({"a": 5.0, "b": 1.0, "z": 0.0}), pd.Series({"a": 4.0, "b": 2.0, "z": 0.0})]
    ranking = rank_candidates(folds)
    X = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [4.0, 1, 3, 2], "z": [0.0, 0, 0, 0]})
    assert short_list(ranking, X, 3) == ["a", "b"]
    assert ranking.stability(["a"]) == 1.0
    with pytest.raises(ValueError, match="k >= 1"):
        short_list(ranking, X, 0)
