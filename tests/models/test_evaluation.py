"""Holdout figures against hand computation on a ten-row list."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.evaluation import Holdout, calibration_curve, capacity_table, hajek_rate, ranking_metrics, top_share
from models.fairness import fairness_table


@pytest.fixture
def holdout() -> Holdout:
    # Ten enterprises; four were drawn: rows 0 (pi .5, found), 1 (pi .25, clean), 5 (pi .5, found), 8 (pi .25, clean).
    y = [1, 0, None, None, None, 1, None, None, 0, None]
    pi = [0.5, 0.25, None, None, None, 0.5, None, None, 0.25, None]
    truth = [0.9, 0.8, 0.7, 0.1, 0.1, 0.6, 0.2, 0.1, 0.1, 0.3]
    return Holdout(pd.DataFrame({"uscc": list("abcdefghij"), "y": y, "pi": pi, "truth": truth,
                                 "district": ["东", "东", "东", "东", "东", "西", "西", "西", "西", "西"]}))


def test_top_share_breaks_ties_by_position() -> None:
    assert top_share(np.array([1.0, 3.0, 3.0, 0.0]), 0.5).tolist() == [False, True, True, False]
    assert top_share(np.array([1.0, 1.0, 1.0, 1.0]), 0.25).tolist() == [True, False, False, False]


def test_hajek_rate_weights_each_drawn_unit_by_one_over_pi() -> None:
    # Found units stand for 2 each, clean ones for 4 each: 4 / 12.
    assert hajek_rate(np.array([1.0, 0.0, 1.0, 0.0]), np.array([0.5, 0.25, 0.5, 0.25])) == pytest.approx(1 / 3)


def test_capacity_table_against_hand_computation(holdout: Holdout) -> None:
    score = np.arange(10, 0, -1, dtype=float)  # ranks rows 0..9 in order
    row = capacity_table(holdout, score, (0.2,)).iloc[0]
    # Top 20% = rows 0, 1: drawn both; hit = 2 / (2 + 4); list rate = 4 / 12; recall = 2 / 4.
    assert row["selected"] == 2 and row["drawn_labels_in_selection"] == 2
    assert row["hit_rate"] == pytest.approx(1 / 3)
    assert row["random_hit_rate"] == pytest.approx(1 / 3)
    assert row["recall"] == pytest.approx(0.5)
    assert row["lift"] == pytest.approx(1.0) and row["inspections_saved"] == pytest.approx(0.0)
    # Truth: selected mean (0.9 + 0.8) / 2; oracle picks the same two; uniform mean 0.39.
    assert row["true_hit_rate"] == pytest.approx(0.85) and row["oracle_ratio"] == pytest.approx(1.0)
    assert row["true_inspections_saved"] == pytest.approx(1 - 0.39 / 0.85)


def test_a_worse_ranking_has_a_lower_oracle_ratio(holdout: Holdout) -> None:
    reversed_score = np.arange(10, dtype=float)
    row = capacity_table(holdout, reversed_score, (0.2,)).iloc[0]
    assert row["true_hit_rate"] == pytest.approx((0.1 + 0.3) / 2)
    assert row["oracle_ratio"] == pytest.approx(0.2 / 0.85)


def test_ranking_metrics_use_weighted_drawn_labels(holdout: Holdout) -> None:
    perfect = np.array([4, 1, 0, 0, 0, 3, 0, 0, 2, 0], dtype=float)
    assert ranking_metrics(holdout, perfect)["auc"] == pytest.approx(1.0)
    assert ranking_metrics(holdout, -perfect)["auc"] == pytest.approx(0.0)
    assert ranking_metrics(holdout, perfect)["drawn_labels"] == 4


def test_calibration_curve_bins_by_prediction() -> None:
    curve = calibration_curve(np.array([0, 0, 1, 1.0]), np.array([0.1, 0.2, 0.7, 0.9]), np.ones(4), bins=2)
    assert curve["observed"].tolist() == [0.0, 1.0]
    assert curve["mean_predicted"].tolist() == pytest.approx([0.15, 0.8])


def test_fairness_flags_a_group_whose_false_positive_rate_breaks_the_80_percent_rule(holdout: Holdout) -> None:
    # Select rows 1 and 8, both clean: FPR(东) = 4/4 of its drawn non-violators, FPR(西) = 4/4 too.
    score = np.array([0, 5, 0, 0, 0, 0, 0, 0, 5, 0], dtype=float)
    table = fairness_table(holdout, score, ("district",), capacity=0.2, min_negatives=1).set_index("group")
    assert table.loc["东", "fpr"] == pytest.approx(1.0) and table.loc["西", "fpr"] == pytest.approx(1.0)
    assert not table["flagged"].any()
    # Now select row 1 only among the clean ones: 西's FPR drops to 0 -> flagged against 东 (the reference).
    score = np.array([0, 5, 0, 0, 0, 4, 0, 0, 0, 0], dtype=float)
    table = fairness_table(holdout, score, ("district",), capacity=0.2, min_negatives=1).set_index("group")
    assert table.loc["西", "disparity"] == pytest.approx(0.0) and bool(table.loc["西", "flagged"])
    # With a support threshold above what the groups have, nothing is judged and nothing flagged.
    table = fairness_table(holdout, score, ("district",), capacity=0.2, min_negatives=5)
    assert not table["judged"].any() and not table["flagged"].any()
