from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.draw.design import InfeasibleDesignError, bounded_proportional, inclusion_probabilities
from pipelines.draw.eligible import DrawInputError, normalise_eligible
from pipelines.draw.policy import Boost, Capacity, DrawPolicy
from tests.pipelines.draw.factories import eligible_frame

AS_OF = dt.date(2025, 7, 1)


def iterative_capping(w: np.ndarray, n: float, cap: float) -> np.ndarray:
    """The textbook loop: fix the units over the cap, rescale the rest, repeat."""
    fixed = np.zeros(len(w), dtype=bool)
    while True:
        pi = np.where(fixed, cap, w * (n - cap * fixed.sum()) / w[~fixed].sum())
        over = ~fixed & (pi > cap)
        if not over.any():
            return pi
        fixed |= over


def clip_by_bisection(w: np.ndarray, n: float, floor: float, cap: float) -> np.ndarray:
    lo, hi = 0.0, 1e12
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.clip(mid * w, floor, cap).sum() < n else (lo, mid)
    return np.clip(hi * w, floor, cap)


def test_matches_the_iterative_capping_loop() -> None:
    w = np.array([10.0, 5.0, 1.0, 1.0, 0.5, 0.2, 0.1])
    pi = bounded_proportional(w, 3, floor=0.0, cap=0.8)
    np.testing.assert_allclose(pi, iterative_capping(w, 3, 0.8), atol=1e-12)
    assert pi[:2].tolist() == [0.8, 0.8]


def test_floor_and_cap_match_a_bisection() -> None:
    w = np.array([10.0, 5.0, 1.0, 1.0, 0.5, 0.2, 0.1, 0.0])
    pi = bounded_proportional(w, 3, floor=0.1, cap=0.9)
    np.testing.assert_allclose(pi, clip_by_bisection(w, 3, 0.1, 0.9), atol=1e-9)
    assert pi[-1] == 0.1  # weight 0 still has the floor


@st.composite
def feasible_designs(draw: st.DrawFn) -> tuple[np.ndarray, int, float, float]:
    size = draw(st.integers(1, 60))
    w = np.array(draw(st.lists(st.one_of(st.just(0.0), st.floats(1e-9, 1e3)), min_size=size, max_size=size)))
    floor = draw(st.sampled_from([0.0, 0.001, 0.02, 0.1]))
    cap = draw(st.sampled_from([1.0, 0.9, 0.5, 0.25]))
    lowest = size * floor
    highest = cap * int((w > 0).sum()) + floor * int((w == 0).sum())
    if np.ceil(lowest) > np.floor(highest):
        return w, 0, 0.0, 1.0
    return w, draw(st.integers(int(np.ceil(lowest)), int(np.floor(highest)))), floor, cap


@settings(max_examples=300, deadline=None)
@given(feasible_designs())
def test_probabilities_sum_to_capacity_within_bounds(case: tuple[np.ndarray, int, float, float]) -> None:
    w, n, floor, cap = case
    pi = bounded_proportional(w, n, floor, cap)
    assert abs(pi.sum() - n) < 1e-9
    assert pi.min() >= floor - 1e-12
    assert pi.max() <= cap + 1e-12
    interior = (pi > floor + 1e-9) & (pi < cap - 1e-9)
    if interior.sum() >= 2:  # away from the bounds, π ∝ w
        ratio = pi[interior] / w[interior]
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-9)


@settings(max_examples=100, deadline=None)
@given(
    st.integers(8, 40),
    st.sampled_from(["class_ratio", "risk", "blend"]),
    st.floats(0.0, 0.2),
    st.floats(0.5, 1.0),
    st.data(),
)
def test_every_stratum_sums_to_its_capacity(n: int, kind: str, floor: float, cap: float, data: st.DataObject) -> None:
    frame = normalise_eligible(eligible_frame(n), DrawPolicy())
    sizes = frame["district"].value_counts().to_dict()
    per_district = {
        d: data.draw(st.integers(int(np.ceil(k * floor)), int(np.floor(k * cap))), label=d) for d, k in sizes.items()
    }
    policy = DrawPolicy(kind=kind, floor=floor, cap=cap)  # type: ignore[arg-type]
    design = inclusion_probabilities(
        frame, policy, Capacity(total=sum(per_district.values()), per_district=per_district), AS_OF
    )
    sums = design.frame.groupby("stratum")["pi"].sum()
    for district, target in per_district.items():
        assert abs(sums[district] - target) < 1e-9
    assert design.frame["pi"].between(floor - 1e-12, cap + 1e-12).all()


def test_class_ratios_keep_their_proportions() -> None:
    frame = normalise_eligible(eligible_frame(40, districts=("禅城区",)), DrawPolicy())
    design = inclusion_probabilities(frame, DrawPolicy(kind="class_ratio"), Capacity(total=4), AS_OF)
    by_class = design.frame.groupby("credit_class")["pi"].agg(["min", "max"])
    assert (by_class["min"] == by_class["max"]).all()  # one probability per class
    assert by_class.loc["D", "min"] / by_class.loc["A", "min"] == pytest.approx(30.0)


def test_a_blend_is_the_mixture_of_its_two_designs() -> None:
    frame = normalise_eligible(eligible_frame(20), DrawPolicy())
    capacity = Capacity(total=5)
    pis = {
        kind: inclusion_probabilities(frame, DrawPolicy(kind=kind, floor=0.05, blend_weight=0.3), capacity, AS_OF)  # type: ignore[arg-type]
        .frame["pi"]
        .to_numpy()
        for kind in ("class_ratio", "risk", "blend")
    }
    np.testing.assert_allclose(pis["blend"], 0.7 * pis["class_ratio"] + 0.3 * pis["risk"], atol=1e-12)


def test_a_boost_raises_the_hotspot() -> None:
    frame = normalise_eligible(eligible_frame(24), DrawPolicy())
    plain = inclusion_probabilities(frame, DrawPolicy(kind="risk"), Capacity(total=4), AS_OF).frame
    boosted = inclusion_probabilities(
        frame,
        DrawPolicy(kind="risk", boosts=(Boost(district="禅城区", industry_code="52", factor=3.0),)),
        Capacity(total=4),
        AS_OF,
    ).frame
    hot = ((plain["district"] == "禅城区") & (plain["industry_code"] == "52")).to_numpy()
    assert (boosted["pi"].to_numpy()[hot] > plain["pi"].to_numpy()[hot]).all()
    assert (boosted["pi"].to_numpy()[~hot] < plain["pi"].to_numpy()[~hot]).all()


def test_recently_inspected_are_excluded_with_the_reason() -> None:
    raw = eligible_frame(4)
    raw["last_inspected"] = pd.to_datetime(["2025-01-01", "2024-12-31", "2025-06-30", None])
    frame = normalise_eligible(raw, DrawPolicy())
    design = inclusion_probabilities(frame, DrawPolicy(exclude_inspected_months=6), Capacity(total=1), AS_OF)
    assert sorted(design.excluded["uscc"]) == ["91440600TEST000000", "91440600TEST000002"]
    assert design.excluded["reason"].iat[0] == "inspected on 2025-01-01, within 6 months before 2025-07-01"
    assert len(design.frame) == 2


def test_a_last_inspection_after_as_of_is_refused() -> None:
    raw = eligible_frame(2)
    raw["last_inspected"] = pd.to_datetime(["2025-07-01", None])
    with pytest.raises(DrawInputError, match="expected before as_of 2025-07-01"):
        inclusion_probabilities(normalise_eligible(raw, DrawPolicy()), DrawPolicy(), Capacity(total=1), AS_OF)


@pytest.mark.parametrize(
    ("policy", "capacity", "message"),
    [
        (DrawPolicy(cap=0.5), Capacity(total=7), "capacity 7 expected at most 6 = 12 weighted entities × cap 0.5"),
        (DrawPolicy(floor=0.5), Capacity(total=5), "capacity 5 expected at least 6 = 12 eligible × floor 0.5"),
        (
            DrawPolicy(),
            Capacity(total=2, per_district={"禅城区": 2}),
            r"districts \['南海区'\] are on the list but have no capacity",
        ),
    ],
)
def test_infeasible_capacities_say_what_was_expected(policy: DrawPolicy, capacity: Capacity, message: str) -> None:
    frame = normalise_eligible(eligible_frame(12, districts=("禅城区", "南海区")), policy)
    if capacity.per_district is None:
        frame = frame.assign(district="禅城区")
    with pytest.raises(InfeasibleDesignError, match=message):
        inclusion_probabilities(frame, policy, capacity, AS_OF)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("risk", 1.5, "risk expected a probability"),
        ("credit_class", "E", "credit_class expected one of"),
        ("uscc", "91440600TEST000000", "uscc expected unique"),
    ],
)
def test_a_bad_list_is_refused(column: str, value: object, message: str) -> None:
    raw = eligible_frame(3)
    raw.loc[1, column] = value
    with pytest.raises(DrawInputError, match=message):
        normalise_eligible(raw, DrawPolicy())


def test_policy_refuses_an_exempt_class() -> None:
    with pytest.raises(ValueError, match="must be > 0 for every class"):
        DrawPolicy(class_ratios={"A": 0.0, "B": 0.02, "C": 0.1, "D": 0.3})
