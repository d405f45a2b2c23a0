"""Label policies: which inspected rows train, with which target and weight."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.labels import COMPLAINT, RANDOM_DRAW, LabelPolicy, training_labels


@pytest.fixture
def frame() -> pd.DataFrame:
    # Row 0 never inspected; 1 random draw (pi 0.02, found); 2 complaint check (found);
    # 3 random draw (pi 0.05, clean) and a later complaint check that found something.
    return pd.DataFrame(
        {
            "violation_found": [None, 1, 1, 1],
            "first_inspection_type": [None, RANDOM_DRAW, COMPLAINT, RANDOM_DRAW],
            "random_draw_found": [None, 1, None, 0],
            "inclusion_probability": [None, 0.02, None, 0.05],
        }
    )


def test_naive_takes_every_inspected_row_unweighted(frame: pd.DataFrame) -> None:
    got = training_labels(frame, LabelPolicy.NAIVE)
    assert got.rows.tolist() == [1, 2, 3]
    assert got.target.tolist() == [1, 1, 1] and got.weight.tolist() == [1, 1, 1]


def test_random_ipw_keeps_random_draws_with_their_own_outcome_and_weight(frame: pd.DataFrame) -> None:
    got = training_labels(frame, LabelPolicy.RANDOM_IPW)
    assert got.rows.tolist() == [1, 3]
    # Row 3's random draw found nothing, even though a complaint check later did.
    assert got.target.tolist() == [1, 0]
    np.testing.assert_allclose(got.weight, [50.0, 20.0])


def test_complaint_rows_weigh_a_share_of_a_typical_random_row(frame: pd.DataFrame) -> None:
    got = training_labels(frame, LabelPolicy.RANDOM_IPW_COMPLAINTS, complaint_weight=0.5)
    assert got.rows.tolist() == [1, 2, 3]
    np.testing.assert_allclose(got.weight, [50.0, 0.5 * 35.0, 20.0])
