"""The scikit-learn contract, shared by both scorecards: __init__ only stores its parameters,
fit returns self, learned state ends in an underscore and exists only after fit."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

from models.scorecard.engine import Scorecard
from models.scorecard.learned import LearnedScorecard
from tests.models.scorecard.test_engine import SPEC, frame
from tests.models.scorecard.test_learned import CATALOGUE, TRENDS, city

Fit = Callable[[Any], Any]


def declarative() -> tuple[Scorecard, Fit]:
    return Scorecard(SPEC, id_columns=("uscc",)), lambda model: model.fit(frame())


def learned() -> tuple[LearnedScorecard, Fit]:
    X, y = city(600, seed=5)
    return LearnedScorecard(candidates=TRENDS, version="c", min_iv=0.0), lambda model: model.fit(X, y, CATALOGUE)


@pytest.mark.parametrize("make", [declarative, learned], ids=["declarative", "learned"])
def test_scorecards_keep_the_scikit_learn_contract(make: Callable[[], tuple[Any, Fit]]) -> None:
    model, fit = make()
    params = [p for p in inspect.signature(type(model).__init__).parameters if p != "self"]

    assert set(vars(model)) == set(params)  # __init__ stored its parameters and nothing else
    assert not [a for a in vars(model) if a.endswith("_")]

    assert fit(model) is model
    assert [a for a in vars(model) if a.endswith("_") and not a.startswith("_")]
