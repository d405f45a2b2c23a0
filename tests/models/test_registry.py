"""The promotion gate's decision, on the figures of two models on the same holdout."""

from __future__ import annotations

from models.registry import gate

GOOD = {"auc": 0.70, "fairness_flags": 1}


def test_a_better_and_no_less_fair_challenger_is_promoted() -> None:
    decision = gate({"auc": 0.72, "fairness_flags": 1}, GOOD)
    assert decision.promote and decision.reasons == []


def test_a_worse_challenger_is_refused_with_the_figures() -> None:
    decision = gate({"auc": 0.65, "fairness_flags": 0}, GOOD)
    assert not decision.promote
    assert decision.reasons == ["auc 0.6500 does not beat the champion's 0.7000 on the same holdout"]


def test_a_less_fair_challenger_is_refused_even_when_more_accurate() -> None:
    decision = gate({"auc": 0.80, "fairness_flags": 3}, GOOD)
    assert not decision.promote and "fairness: 3 groups flagged" in decision.reasons[0]


def test_the_first_model_passes_unless_an_absolute_fairness_limit_is_set() -> None:
    assert gate({"auc": 0.6, "fairness_flags": 2}, None).promote
    refused = gate({"auc": 0.6, "fairness_flags": 2}, None, max_fairness_flags=0)
    assert not refused.promote and "the limit is 0" in refused.reasons[0]


def test_a_required_improvement_is_applied() -> None:
    assert not gate({"auc": 0.705, "fairness_flags": 1}, GOOD, min_improvement=0.01).promote
