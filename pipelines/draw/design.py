"""Inclusion probabilities: how likely each listed entity is to be drawn, exactly.

In every stratum (a district, or the whole list) the probabilities π satisfy
    Σ π = capacity of the stratum,   floor ≤ π ≤ cap,
and away from the bounds they are proportional to a weight w: the credit class's ratio, or
risk ** exponent, times any hotspot boost. The solution is π = clip(c · w, floor, cap) with the one
scale c that makes the sum come out right.

Why this form. The textbook recipe is iterative capping: scale w to the capacity, fix the units
above the cap at the cap, rescale the rest, repeat; its fixed point is min(cap, c · w). The floor is
handled the same way (iterative flooring) rather than by mixing with the uniform design: mixing
π = (1 − α) π_w + α n/N lifts the small probabilities but also flattens every contrast between
risky and safe firms, while flooring moves only the units at the floor and keeps π ∝ w for all the
others. Here the fixed point is computed directly: f(c) = Σ clip(c · w, floor, cap) is continuous,
non-decreasing and piecewise linear with breakpoints floor/w and cap/w, so one sort finds the
segment where f(c) = n and one division gives c (no iteration count to tune, no tolerance).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.draw.eligible import DrawInputError, split_exclusions
from pipelines.draw.policy import Boost, Capacity, DrawPolicy

WHOLE_LIST = "全市"  # the single stratum when capacities are not given per district


class InfeasibleDesignError(ValueError):
    """The capacity cannot be met within the floor and the cap; the message says what was expected."""


@dataclass(frozen=True)
class Design:
    """The inclusion probabilities of one plan.

    `frame`: the kept list (eligible columns + `stratum`, `weight` = the entity's share of its
    stratum's selection weight, `pi`), sorted by stratum then uscc; `excluded`: uscc, district,
    reason; `strata`: one row per stratum (eligible, capacity, Σπ, smallest and largest π, how
    many sit at the floor and at the cap)."""

    frame: pd.DataFrame
    excluded: pd.DataFrame
    strata: pd.DataFrame


def bounded_proportional(
    weights: np.ndarray, n: float, floor: float, cap: float, stratum: str = WHOLE_LIST
) -> np.ndarray:
    """π = clip(c · w, floor, cap) with Σ π = n (weights ≥ 0; probabilities, unitless).

    Only ratios of weights matter; a weight below 1e-300 of the largest counts as 0 (it could
    never leave the floor in floating point anyway)."""
    w = np.asarray(weights, dtype=np.float64)
    top = float(w.max()) if len(w) else 0.0
    w = np.where(w > top * 1e-300, w / top, 0.0) if top > 0 else np.zeros_like(w)
    size, positive = len(w), w > 0
    lowest = size * floor
    highest = cap * int(positive.sum()) + floor * int((~positive).sum())
    _check_feasible(stratum, n, size, int(positive.sum()), floor, cap, lowest, highest)
    if n >= highest:  # c = ∞: every weighted unit at the cap
        return np.where(positive, cap, floor)
    if n <= lowest:  # c = 0: every unit at the floor
        return np.full(size, floor)
    c = _scale(np.sort(w[positive])[::-1], n - floor * int((~positive).sum()), floor, cap)
    pi = np.clip(c * w, floor, cap)
    return _settle_sum(pi, n, floor, cap)


def _check_feasible(
    stratum: str, n: float, size: int, weighted: int, floor: float, cap: float, lowest: float, highest: float
) -> None:
    if n > highest + 1e-9:
        hint = "" if weighted == size else f" ({size - weighted} have weight 0 and stay at the floor {floor})"
        raise InfeasibleDesignError(
            f"stratum {stratum}: capacity {n:g} expected at most {highest:g} = {weighted} weighted entities × "
            f"cap {cap:g}{hint}; raise the cap, lower the capacity or widen the list"
        )
    if n < lowest - 1e-9:
        raise InfeasibleDesignError(
            f"stratum {stratum}: capacity {n:g} expected at least {lowest:g} = {size} eligible × floor {floor:g}; "
            f"lower the floor or raise the capacity"
        )


def _scale(w_desc: np.ndarray, n: float, floor: float, cap: float) -> float:
    """The c solving Σ clip(c · w, floor, cap) = n, for positive weights sorted in descending order.

    With w descending, the units above the floor at scale c are the first #(floor/w ≤ c) and those
    at the cap the first #(cap/w ≤ c), so f at every breakpoint comes from one pass of sums. The
    interior mass is a difference of sums taken from the small end, so capped giants cannot
    swamp it by cancellation."""
    size = len(w_desc)
    from_small = np.concatenate(([0.0], np.cumsum(w_desc[::-1])))  # from_small[j]: the j smallest

    def interior_mass(above: np.ndarray, capped: np.ndarray) -> np.ndarray:
        return from_small[size - capped] - from_small[size - above]

    to_floor, to_cap = floor / w_desc, cap / w_desc  # both ascending

    def counts(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.searchsorted(to_floor, c, side="right"), np.searchsorted(to_cap, c, side="right")

    breaks = np.unique(np.concatenate((to_floor, to_cap)))
    above, capped = counts(breaks)
    at_breaks = floor * (size - above) + cap * capped + breaks * interior_mass(above, capped)
    k = int(np.searchsorted(at_breaks, n, side="left"))
    if k < len(breaks) and at_breaks[k] == n:
        return float(breaks[k])
    # f is linear on (breaks[k-1], breaks[k]) with the sets fixed as just right of breaks[k-1].
    a, b = int(above[k - 1]), int(capped[k - 1])
    free = float(w_desc[b:a][::-1].sum())
    if free <= 0:  # a flat stretch (every unit at a bound) that rounding put just below n
        return float(breaks[k - 1])
    return (n - floor * (size - a) - cap * b) / free


def _settle_sum(pi: np.ndarray, n: float, floor: float, cap: float) -> np.ndarray:
    """Put the last floating-point residual of Σπ − n on the interior units (about 1e-12)."""
    interior = (pi > floor) & (pi < cap)
    mass = pi[interior].sum()
    if mass > 0:
        pi[interior] *= 1 + (n - pi.sum()) / mass
    return pi


def selection_weights(frame: pd.DataFrame, policy: DrawPolicy) -> tuple[np.ndarray, np.ndarray]:
    """(class weight, risk weight) per row, both times the hotspot boosts (unitless)."""
    boost = np.ones(len(frame))
    for b in policy.boosts:
        boost[boost_hits(frame, b)] *= b.factor
    by_class = frame["credit_class"].map(policy.class_ratios).to_numpy(dtype=np.float64)
    by_risk = frame["risk"].to_numpy(dtype=np.float64) ** policy.risk_exponent
    return by_class * boost, by_risk * boost


def boost_hits(frame: pd.DataFrame, boost: Boost) -> np.ndarray:
    """Which rows a hotspot boost covers (district and industry code; None matches every value)."""
    hit = np.ones(len(frame), dtype=bool)
    if boost.district is not None:
        hit &= (frame["district"] == boost.district).to_numpy()
    if boost.industry_code is not None:
        hit &= (frame["industry_code"] == boost.industry_code).to_numpy()
    return hit


def check_boosts(frame: pd.DataFrame, policy: DrawPolicy) -> None:
    """Refuse boosts that cover no entity of the list (a misspelt district, an industry out of the
    item's scope): they would be committed with the plan, and a commitment cannot be taken back."""
    idle = [f"{b.district or ''}:{b.industry_code or ''}" for b in policy.boosts if not boost_hits(frame, b).any()]
    if idle:
        raise DrawInputError(
            f"boost {', '.join(idle)} matches no firm on the list; expected DISTRICT[:INDUSTRY] with a district "
            f"of {sorted(set(frame['district']))} and an industry code of {sorted(set(frame['industry_code']))}"
        )


def stratum_probabilities(
    by_class: np.ndarray, by_risk: np.ndarray, n: int, policy: DrawPolicy, stratum: str
) -> tuple[np.ndarray, np.ndarray]:
    """(π, selection weight) for one stratum under the policy.

    The selection weight is the entity's share of the stratum's weight (it sums to 1): away from
    the floor and the cap, π is proportional to it under `class_ratio` and `risk`.
    A blend mixes the two bounded designs, not the weights: each part sums to n within
    [floor, cap], so their convex combination does too, and λ reads as "the share of the
    capacity allocated by risk"."""
    lam = {"class_ratio": 0.0, "risk": 1.0, "blend": policy.blend_weight}[policy.kind]
    parts = []
    if lam < 1:
        parts.append((1 - lam) * bounded_proportional(by_class, n, policy.floor, policy.cap, stratum))
    if lam > 0:
        parts.append(lam * bounded_proportional(by_risk, n, policy.floor, policy.cap, stratum))
    weight = (1 - lam) * by_class / max(by_class.sum(), 1e-300) + lam * by_risk / max(by_risk.sum(), 1e-300)
    return np.clip(np.sum(parts, axis=0), policy.floor, policy.cap), weight


def inclusion_probabilities(eligible: pd.DataFrame, policy: DrawPolicy, capacity: Capacity, as_of: dt.date) -> Design:
    """The design of one plan: exclusions applied, then π per stratum (see the module docstring).

    `eligible` is a normalised list (`eligible.normalise_eligible`)."""
    kept, excluded = split_exclusions(eligible, policy, as_of)
    targets = capacity.strata()
    if targets is None:
        kept = kept.assign(stratum=WHOLE_LIST)
        targets = {WHOLE_LIST: capacity.total}
    else:
        kept = kept.assign(stratum=kept["district"].to_numpy(dtype=object))
        _check_strata(kept, targets)
    if not kept["uscc"].is_monotonic_increasing:
        raise DrawInputError("eligible list: expected a normalised list sorted by uscc (normalise_eligible)")
    # A stable sort on the stratum alone keeps uscc order within each stratum.
    codes, _ = pd.factorize(kept["stratum"], sort=True)
    kept = kept.iloc[np.argsort(codes, kind="stable")].reset_index(drop=True)
    by_class, by_risk = selection_weights(kept, policy)
    pi, weight = np.zeros(len(kept)), np.zeros(len(kept))
    rows = kept.groupby("stratum", sort=True).indices
    for stratum, n in targets.items():
        idx = rows.get(stratum, np.array([], dtype=np.int64))
        pi[idx], weight[idx] = stratum_probabilities(by_class[idx], by_risk[idx], n, policy, stratum)
    frame = kept.assign(weight=weight, pi=pi)
    return Design(frame=frame, excluded=excluded, strata=_strata_summary(frame, targets, policy))


def _check_strata(kept: pd.DataFrame, targets: dict[str, int]) -> None:
    unplanned = sorted(set(kept["stratum"]) - set(targets))
    if unplanned:
        raise InfeasibleDesignError(
            f"districts {unplanned} are on the list but have no capacity; expected a capacity for every "
            f"district (0 is allowed only if the floor is 0)"
        )


def _strata_summary(frame: pd.DataFrame, targets: dict[str, int], policy: DrawPolicy) -> pd.DataFrame:
    groups = frame.groupby("stratum", sort=True)["pi"]
    eps = 1e-12
    summary = pd.DataFrame(
        {
            "eligible": groups.size(),
            "sum_pi": groups.sum(),
            "min_pi": groups.min(),
            "max_pi": groups.max(),
            "at_floor": groups.apply(lambda s: int((s <= policy.floor + eps).sum())),
            "at_cap": groups.apply(lambda s: int((s >= policy.cap - eps).sum())),
        }
    ).reindex(list(targets))
    summary.insert(1, "capacity", list(targets.values()))
    return (
        summary.fillna({"eligible": 0, "sum_pi": 0.0, "at_floor": 0, "at_cap": 0}).rename_axis("stratum").reset_index()
    )
