"""The year simulation's invariants on a tiny planted population (numpy/pandas only, no lake)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from pipelines.simulation import (
    FLOORED,
    POLICIES,
    Cycle,
    SimulationConfig,
    capacity_of,
    design_pi,
    draw,
    ranking_quality,
    simulate,
    summarise,
)

N = 400


def planted_cycle(seed: int = 3, label: str = "2025-01") -> Cycle:
    """A list whose one feature `x` tracks the true hit probability, graded A-D by x's quartiles."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=N)
    hit = 1.0 / (1.0 + np.exp(-(x * 1.5 - 1.8)))
    grade = np.array(["A", "B", "C", "D"])[np.digitize(x, np.quantile(x, [0.4, 0.75, 0.92]))]
    return Cycle(label, dt.date(2025, 1, 1), pd.DataFrame({"x": x}), grade, hit)


def by_x(X: pd.DataFrame) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-X["x"].to_numpy()))


def test_every_policy_inspects_exactly_the_capacity() -> None:
    # Arrange
    cycles = [planted_cycle(s, f"c{s}") for s in range(3)]
    config = SimulationConfig(capacity_share=0.05)

    # Act
    results = simulate(cycles, by_x, lambda X, y, w: by_x, config)

    # Assert
    assert len(results) == len(POLICIES) * len(cycles)
    assert (results["inspected"] == capacity_of(N, 0.05)).all()
    assert (results.loc[results["policy"].isin(FLOORED), "min_pi"] > 0).all()


@pytest.mark.parametrize("policy", FLOORED)
def test_horvitz_thompson_list_rate_is_unbiased_for_floored_designs(policy: str) -> None:
    # Arrange: fresh coins and a fresh draw per repetition, the design fixed.
    cycle = planted_cycle()
    n, reps = capacity_of(N, 0.05), 3000
    pi = design_pi(policy, n, by_x(cycle.features), cycle.grade, SimulationConfig(capacity_share=0.05))
    rng = np.random.default_rng(7)

    # Act
    estimates = np.empty(reps)
    for r in range(reps):
        found = rng.random(N) < cycle.hit_probability
        chosen = draw(pi, rng)
        estimates[r] = (found[chosen] / pi[chosen]).sum() / N

    # Assert: within 4 standard errors of the mean over the repetitions.
    truth = cycle.hit_probability.mean()
    assert abs(estimates.mean() - truth) < 4 * estimates.std() / np.sqrt(reps)
    assert np.isclose(pi.sum(), n) and pi.min() > 0


def test_top_k_sample_rate_is_biased_where_the_ht_estimate_is_not() -> None:
    # The negative control: the unweighted hit rate of the top-k sample overstates the list's rate.
    cycle = planted_cycle()
    n = capacity_of(N, 0.05)
    pi = design_pi("top_k", n, by_x(cycle.features), cycle.grade, SimulationConfig(capacity_share=0.05))
    assert cycle.hit_probability[pi == 1].mean() > 2 * cycle.hit_probability.mean()


def test_top_k_labels_never_include_firms_below_the_cutoff() -> None:
    # Arrange: a spy fitter that records what each retraining of top-k sees.
    cycles = [planted_cycle(s, f"c{s}") for s in range(3)]
    seen: list[pd.DataFrame] = []

    def spy(X: pd.DataFrame, y: np.ndarray, w: np.ndarray):  # type: ignore[no-untyped-def]
        seen.append(X)
        assert np.allclose(w, 1.0)  # π = 1 for every top-k label
        return by_x

    config = SimulationConfig(capacity_share=0.05, policies=("top_k",))

    # Act
    simulate(cycles, by_x, spy, config)

    # Assert: every label of cycle c lies at or above that cycle's k-th highest score.
    n = capacity_of(N, 0.05)
    for retrain, X in enumerate(seen):
        for c in range(retrain + 1):
            cutoff = np.sort(cycles[c].features["x"].to_numpy())[::-1][n - 1]
            part = X.iloc[c * n : (c + 1) * n]
            assert (part["x"] >= cutoff).all()
    assert len(seen) == len(cycles) - 1


def test_design_rejects_an_unknown_policy() -> None:
    cycle = planted_cycle()
    with pytest.raises(ValueError, match="policy expected one of"):
        design_pi("lottery", 10, by_x(cycle.features), cycle.grade, SimulationConfig())


def test_cycle_rejects_a_grade_outside_a_to_d() -> None:
    with pytest.raises(ValueError, match="grades expected in A-D"):
        Cycle("c", dt.date(2025, 1, 1), pd.DataFrame({"x": [0.0]}), np.array(["E"]), np.array([0.1]))


def test_ranking_quality_of_the_truth_itself_is_perfect_and_of_its_reverse_is_not() -> None:
    truth = planted_cycle().hit_probability
    assert ranking_quality(truth, truth, 20) == {"spearman": pytest.approx(1.0), "oracle_ratio": pytest.approx(1.0)}
    reverse = ranking_quality(-truth, truth, 20)
    assert reverse["spearman"] == pytest.approx(-1.0) and reverse["oracle_ratio"] < 0.2


def test_summary_puts_uniform_at_zero_reduction_and_risk_ahead_on_a_good_model() -> None:
    cycles = [planted_cycle(s, f"c{s}") for s in range(4)]
    summary = summarise(simulate(cycles, by_x, lambda X, y, w: by_x, SimulationConfig(capacity_share=0.1)))
    row = summary.set_index("policy")
    assert row.loc["uniform", "reduction_vs_uniform"] == pytest.approx(0.0)
    assert row.loc["top_k", "hit_rate"] > row.loc["risk", "hit_rate"] > row.loc["uniform", "hit_rate"]


def test_expected_hit_rate_of_uniform_is_the_list_rate_and_rises_with_targeting() -> None:
    cycle = planted_cycle()
    results = simulate([cycle], by_x, lambda X, y, w: by_x, SimulationConfig(capacity_share=0.05))
    row = results.set_index("policy")["expected_hit_rate"]
    assert row["uniform"] == pytest.approx(cycle.hit_probability.mean())
    assert row["top_k"] > row["risk"] > row["uniform"]
