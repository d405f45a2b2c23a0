from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from pipelines.draw.design import bounded_proportional
from pipelines.draw.sample import UNIT, SampleSizeError, draw_targets, quantise, rng_from_seed, systematic_pps

Sampler = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def population(size: int = 30, n: int = 8, certain: bool = True) -> np.ndarray:
    """A skewed 30-unit population: large π, floored small π, and (if `certain`) one unit with π = 1."""
    w = np.random.default_rng(5).random(size) ** 3
    if certain:
        w[0] = 100.0
    return bounded_proportional(w, n, floor=0.02, cap=1.0 if certain else 0.9)


def inclusion_counts(sampler: Sampler, pi: np.ndarray, draws: int) -> np.ndarray:
    counts = np.zeros(len(pi))
    for seed in range(draws):
        counts[sampler(pi, rng_from_seed(seed))] += 1
    return counts


def worst_z(counts: np.ndarray, pi: np.ndarray, draws: int) -> float:
    """Largest per-unit binomial z-score of the inclusion counts against π (certain units must be exact)."""
    var = draws * pi * (1 - pi)
    sure = var == 0
    if (counts[sure] != draws * pi[sure]).any():
        return np.inf
    return float(np.max(np.abs(counts[~sure] - draws * pi[~sure]) / np.sqrt(var[~sure])))


def bonferroni_bound(units: int, family_alpha: float = 0.001) -> float:
    """Two-sided z a unit must stay under so that the whole population passes with 1 − family_alpha."""
    return float(norm.isf(family_alpha / (2 * units)))


def pps_with_replacement(pi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = round(pi.sum())
    return np.unique(rng.choice(len(pi), size=n, replace=True, p=pi / pi.sum()))


def sequential_without_replacement(pi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = round(pi.sum())
    return rng.choice(len(pi), size=n, replace=False, p=pi / pi.sum())


def test_inclusion_frequencies_match_pi() -> None:
    pi, draws = population(), 4_000
    z = worst_z(inclusion_counts(systematic_pps, pi, draws), pi, draws)
    assert z < bonferroni_bound(len(pi)), f"worst z {z:.2f}"


@pytest.mark.parametrize("wrong", [pps_with_replacement, sequential_without_replacement])
def test_the_frequency_check_catches_a_wrong_design(wrong: Sampler) -> None:
    # No certainty unit here: the wrong designs must be caught by the z-scores, not by missing a sure unit.
    pi, draws = population(certain=False), 4_000
    z = worst_z(inclusion_counts(wrong, pi, draws), pi, draws)
    assert z > bonferroni_bound(len(pi)), f"a wrong design passed with worst z {z:.2f}"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(1e-6, 1.0), min_size=1, max_size=80), st.floats(0.0, 1.0), st.integers(0, 2**64))
def test_the_sample_has_exactly_the_capacity(weights: list[float], share: float, seed: int) -> None:
    w = np.array(weights)
    n = round(share * len(w))
    pi = bounded_proportional(w, n, floor=0.0, cap=1.0)
    chosen = systematic_pps(pi, rng_from_seed(seed))
    assert len(chosen) == n == len(set(chosen.tolist()))
    assert set(np.flatnonzero(pi >= 1.0).tolist()) <= set(chosen.tolist())  # certainty units always in
    assert not set(np.flatnonzero(pi == 0.0).tolist()) & set(chosen.tolist())


def test_the_same_seed_gives_the_same_sample() -> None:
    pi = population()
    first, again, other = (systematic_pps(pi, rng_from_seed(s)) for s in (2**200 + 1, 2**200 + 1, 2**200 + 2))
    assert first.tolist() == again.tolist()
    assert first.tolist() != other.tolist()


def test_quantised_probabilities_add_up_exactly() -> None:
    pi = population(30, 8)
    m = quantise(pi, 8)
    assert int(m.sum()) == 8 * UNIT
    assert np.abs(m / UNIT - pi).max() < 1e-11
    assert m[0] == UNIT


def test_a_fractional_total_is_refused() -> None:
    with pytest.raises(SampleSizeError, match="expected a whole number"):
        systematic_pps(np.array([0.5, 0.7]), rng_from_seed(1))


def test_a_probability_above_one_is_refused() -> None:
    with pytest.raises(SampleSizeError, match=r"expected within \[0, 1\]"):
        systematic_pps(np.array([1.5, 0.5]), rng_from_seed(1))


def test_each_stratum_gets_its_own_sample_size() -> None:
    frame = pd.DataFrame(
        {
            "uscc": [f"U{i}" for i in range(10)],
            "stratum": ["甲"] * 4 + ["乙"] * 6,
            "pi": [0.5] * 4 + [0.5] * 6,
        }
    )
    drawn = draw_targets(frame, rng_from_seed(3))
    assert drawn["stratum"].value_counts().to_dict() == {"甲": 2, "乙": 3}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 30), st.floats(0.0, 1.0)), min_size=1, max_size=5), st.integers(0, 2**32))
def test_every_stratum_gets_exactly_its_capacity(strata: list[tuple[int, float]], seed: int) -> None:
    rng = np.random.default_rng(seed)
    parts, capacity = [], {}
    for h, (size, share) in enumerate(strata):
        n = int(share * size * 0.9)  # within what the cap allows
        capacity[f"S{h}"] = n
        pi = bounded_proportional(rng.random(size) + 0.01, n, floor=0.0, cap=0.9)
        parts.append(pd.DataFrame({"uscc": [f"S{h}-{i:03d}" for i in range(size)], "stratum": f"S{h}", "pi": pi}))
    drawn = draw_targets(pd.concat(parts, ignore_index=True), rng_from_seed(seed))
    assert {s: int((drawn["stratum"] == s).sum()) for s in capacity} == capacity
    assert drawn["uscc"].is_unique
