"""Horvitz–Thompson and Hájek estimates against a hand-computed example, and unbiasedness by simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipelines.draw.design import inclusion_probabilities
from pipelines.draw.eligible import normalise_eligible
from pipelines.draw.estimate import Z_95, violation_rate
from pipelines.draw.policy import Capacity, DrawPolicy
from pipelines.draw.sample import draw_targets
from tests.pipelines.draw.factories import AS_OF, eligible_frame


def test_hand_computed_example() -> None:
    # N = 10 listed, 4 inspected with π = .2 .5 .5 .8 and results 1 0 1 1.
    # HT total = 1/.2 + 0 + 1/.5 + 1/.8 = 5 + 2 + 1.25 = 8.25 -> rate 0.825.
    # v(total) = 4/3 · Σ (z − 8.25/4)² with z = 5, 0, 2, 1.25: 4/3 · 13.546875 = 18.0625.
    # Hájek: N̂ = 5 + 2 + 2 + 1.25 = 10.25, rate = 8.25 / 10.25 = 33/41.
    # residual z = (y − 33/41)/π = (8/41)/.2, (−33/41)/.5, (8/41)/.5, (8/41)/.8 = 40/41, −66/41, 16/41, 10/41
    # (they sum to 0), so v = 4/3 · (1600 + 4356 + 256 + 100)/41² = 4/3 · 6312/1681; se = √v / 10.25.
    est = violation_rate(np.array([True, False, True, True]), np.array([0.2, 0.5, 0.5, 0.8]), listed=10)
    assert est.inspected == 4 and est.violations == 3 and est.realised_hit_rate == 0.75
    assert est.ht == pytest.approx(0.825)
    assert est.ht_se == pytest.approx(math.sqrt(18.0625) / 10)
    assert est.hajek == pytest.approx(33 / 41)
    assert est.hajek_se == pytest.approx(math.sqrt(4 / 3 * 6312 / 1681) / 10.25)
    low, high = est.ht_ci
    assert low == pytest.approx(0.825 - Z_95 * math.sqrt(18.0625) / 10)
    assert high == pytest.approx(0.825 + Z_95 * math.sqrt(18.0625) / 10)
    assert est.hajek_ci[1] <= 1.0


def test_strata_add_their_variances_and_lonely_strata_are_counted() -> None:
    found = np.array([1, 0, 1, 0, 1], dtype=bool)
    pi = np.array([0.5, 0.5, 0.25, 0.25, 0.1])
    est = violation_rate(found, pi, listed=30, strata=np.array(["a", "a", "b", "b", "c"]))
    # stratum a: z = 2, 0 -> 2·(1 + 1) = 4; b: z = 4, 0 -> 2·(4 + 4) = 16; c has one unit (no term).
    assert est.ht == pytest.approx((2 + 4 + 10) / 30)
    assert est.ht_se == pytest.approx(math.sqrt(20) / 30)
    assert est.strata_without_variance == 1


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="in \\(0, 1\\]"):
        violation_rate(np.array([True]), np.array([0.0]), listed=3)
    with pytest.raises(ValueError, match="nothing to estimate"):
        violation_rate(np.array([], dtype=bool), np.array([]), listed=3)
    with pytest.raises(ValueError, match="listed"):
        violation_rate(np.array([True, False]), np.array([0.5, 0.5]), listed=1)


def test_ht_is_unbiased_over_repeated_draws_from_a_risk_weighted_design() -> None:
    """Over many systematic πps samples the HT mean matches the true rate, although the drawn
    units' raw hit rate is far above it (the design favours risky units)."""
    policy = DrawPolicy(kind="risk", floor=0.02, cap=0.9)
    frame = normalise_eligible(eligible_frame(200), policy)
    design = inclusion_probabilities(frame, policy, Capacity(total=30), AS_OF)
    truth = design.frame
    rng = np.random.default_rng(7)
    violates = dict(zip(truth["uscc"], rng.random(len(truth)) < truth["risk"], strict=True))
    true_rate = float(np.mean(list(violates.values())))
    ht, raw = [], []
    for _ in range(400):
        drawn = draw_targets(design.frame, rng)
        found = drawn["uscc"].map(violates).to_numpy(dtype=bool)
        est = violation_rate(found, drawn["pi"].to_numpy(), listed=len(design.frame))
        ht.append(est.ht)
        raw.append(est.realised_hit_rate)
    se_of_mean = float(np.std(ht)) / math.sqrt(len(ht))
    assert abs(np.mean(ht) - true_rate) < 4 * se_of_mean
    assert np.mean(raw) > true_rate + 0.05
