"""The learned WoE scorecard: exported to YAML and re-read, the engine gives optbinning's points exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.profile import all_features
from models.scorecard.engine import Scorecard
from models.scorecard.learned import LearnedScorecard, Trend, bands_from_shares
from models.scorecard.schema import read_spec, write_spec

CATALOGUE = {f.name: f for f in all_features()}
TRENDS: dict[str, Trend] = {
    "penalties_count_all": "ascending",
    "paid_in_ratio": "descending",
    "firm_age_years": "auto",
    "complaints_count_365d": "ascending",
}


def city(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Firms whose violation odds rise with penalties and complaints and fall with paid-in capital."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "uscc": [f"u{i}" for i in range(n)],
            "penalties_count_all": rng.poisson(0.4, n),
            "paid_in_ratio": np.where(rng.random(n) < 0.3, np.nan, rng.random(n)),
            "firm_age_years": rng.gamma(2.0, 4.0, n),
            "complaints_count_365d": rng.poisson(0.8, n),
        }
    )
    logit = -0.5 + 0.9 * X["penalties_count_all"] + 0.5 * X["complaints_count_365d"] - X["paid_in_ratio"].fillna(0.3)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


@pytest.fixture(scope="module")
def fitted() -> LearnedScorecard:
    X, y = city(3_000, seed=1)
    return LearnedScorecard(candidates=TRENDS, version="learned-test", min_iv=0.0).fit(X, y, CATALOGUE)


def test_exported_yaml_reread_scores_exactly_like_optbinning(fitted: LearnedScorecard, tmp_path: Path) -> None:
    # New firms, with missing values and values beyond every training range.
    X, _ = city(2_000, seed=2)
    X.loc[:9, "penalties_count_all"] = 50
    X.loc[10:19, "firm_age_years"] = np.nan
    X.loc[20:29, "complaints_count_365d"] = -1
    # Values exactly on a cut point: both sides must put them in the bin to the right ([a, b)).
    X = X.astype({f: "float64" for f in TRENDS})
    for k, (_, ind) in enumerate(fitted.spec_.indicators):
        for j, edge in enumerate(ind.edges or []):
            X.loc[100 + 10 * k + j, ind.feature] = edge

    write_spec(fitted.spec_, tmp_path / "learned.yaml")
    engine = Scorecard(read_spec(tmp_path / "learned.yaml", CATALOGUE))

    # Exact: optbinning rounds every bin's points to an integer (rounding=True) and so does the
    # YAML; both sides then add integers. No tolerance is needed or allowed.
    assert np.array_equal(engine.total(X), fitted.score_points(X))
    assert np.all(engine.total(X) == np.round(engine.total(X)))


def test_monotonic_trends_hold_in_the_exported_points(fitted: LearnedScorecard) -> None:
    indicators = {i.feature: i for _, i in fitted.spec_.indicators}

    penalties = indicators["penalties_count_all"].points or []
    paid_in = indicators["paid_in_ratio"].points or []

    assert len(penalties) >= 2 and all(a >= b for a, b in zip(penalties, penalties[1:], strict=False))  # more = worse
    assert len(paid_in) >= 2 and all(a <= b for a, b in zip(paid_in, paid_in[1:], strict=False))  # more = better


def test_riskier_firms_score_lower(fitted: LearnedScorecard) -> None:
    X, y = city(2_000, seed=3)

    scores = Scorecard(fitted.spec_).total(X)

    assert scores[y == 1].mean() < scores[y == 0].mean()


def test_exported_card_is_placed_in_shenzhen_dimensions(fitted: LearnedScorecard) -> None:
    dims = {d.id: [i.feature for i in d.indicators] for d in fitted.spec_.dimensions}

    assert "penalties_count_all" in dims["penalties_lists"]
    assert "complaints_count_365d" in dims["cases_complaints"]
    assert fitted.spec_.version == "learned-test"


def test_bands_from_shares_split_the_population_and_tile_the_line() -> None:
    scores = np.arange(1000, dtype=float)

    bands = bands_from_shares(scores, {"A": 0.4, "B": 0.4, "C": 0.15, "D": 0.05})

    assert [(b.grade, b.min, b.max) for b in bands] == [
        ("A", 600.0, None),
        ("B", 200.0, 600.0),
        ("C", 50.0, 200.0),
        ("D", None, 50.0),
    ]


def test_bands_stay_ordered_when_scores_tie() -> None:
    bands = bands_from_shares(np.full(100, 500.0), {"A": 0.5, "B": 0.3, "D": 0.2})

    cuts = [b.min for b in bands[:-1]]
    assert cuts == sorted(cuts, reverse=True) and len(set(cuts)) == len(cuts)
