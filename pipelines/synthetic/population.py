"""Enterprises of the synthetic city and their hidden violation propensity.

Each enterprise has observable attributes (type, industry, capital, contribution method, address)
and hidden ones: a compliance disposition `z`, a shell-company flag and the month its activity
collapses (utilities and headcount fall to zero while it stays registered). The violation
log-odds combine these with interactions; only evaluation code ever sees them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.entity_id import make_usccs
from pipelines.synthetic.spec import CitySpec, weights


@dataclass(frozen=True)
class Timeline:
    """Monthly grid of the city's history: month m starts at `start + m months`."""

    start: np.datetime64  # first day of the first month
    n_months: int

    @property
    def month_starts(self) -> np.ndarray:
        first = self.start.astype("datetime64[M]")
        return (first + np.arange(self.n_months + 1)).astype("datetime64[D]")

    @property
    def n_quarters(self) -> int:
        return self.n_months // 3

    def day_of(self, months: np.ndarray, frac: np.ndarray) -> np.ndarray:
        """A date inside month `months`, `frac` of the way through it (0 <= frac < 1)."""
        starts = self.month_starts
        lengths = (starts[months + 1] - starts[months]).astype(int)
        return starts[months] + (frac * lengths).astype(int)


# Weights of the hidden violation log-odds. Kept together so the ground truth is easy to audit;
# `regulens generate` writes them, with the calibrated intercept, to ground_truth/logit.json.
LOGIT = {
    "industry_and_type": 1.0,  # scales the city spec's industry and enterprise-type risks
    "z": 0.9,  # compliance disposition
    "noncash": 0.5,  # non-cash contribution, scaled by the method's own risk
    "low_paid": 0.6,  # paid-in below 20% of subscribed capital
    "noncash_x_low_paid": 0.5,
    "shell": 0.9,
    "shell_x_young": 0.6,
    "young": 0.5,  # under two years old
    "shared_address": 0.3,
    "collapsed": 1.4,  # registered but no activity
    "recent_penalty": 0.4,  # within the last year: repeat offenders
}


EXIT_DELAY_MONTHS = 6  # no firm deregisters in its first six months


def exit_hazard(type_code: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Monthly chance of deregistering: individual businesses (92) twice companies'; a higher `z`
    (a worse disposition) exits sooner."""
    return np.where(type_code == "92", 0.008, 0.004) * np.exp(0.3 * z)


def collapse_probability(shell: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Chance that a firm's activity collapses at some point while it stays registered."""
    return 0.06 + 0.25 * shell + 0.04 * (z > 1)


def _unique_bodies(global_index: np.ndarray) -> np.ndarray:
    """Eight-digit organisation-code bodies, unique per index: an affine bijection mod 10**8."""
    return (global_index.astype(np.int64) * 48_271_129 + 7_919_311) % 100_000_000


def draw_enterprises(
    rng: np.random.Generator, spec: CitySpec, first_index: int, n: int, timeline: Timeline
) -> pd.DataFrame:
    """`n` enterprises with global indices first_index.. : observable and hidden attributes."""
    idx = np.arange(first_index, first_index + n)
    district = rng.choice(len(spec.districts), size=n, p=weights(spec.districts))
    towns_of = [np.array(d.towns) for d in spec.districts]
    town = np.array([towns_of[d][rng.integers(len(towns_of[d]))] for d in district], dtype=object)
    industry = rng.choice(len(spec.industries), size=n, p=weights(spec.industries))
    etype = rng.choice(len(spec.enterprise_types), size=n, p=weights(spec.enterprise_types))
    type_code = np.array([spec.enterprise_types[t].code for t in etype])
    is_company = type_code == "91"
    division = np.array([spec.districts[d].code for d in district])
    uscc = make_usccs(type_code, division, _unique_bodies(idx))

    # Establishment: 70% predate the window (stock), 30% enter during it.
    months_before = np.minimum(rng.exponential(60.0, size=n), 300).astype(int) + 1
    entry_month = rng.integers(0, timeline.n_months, size=n)
    stock = rng.random(n) < 0.7
    est_month = np.where(stock, -months_before, entry_month)  # month index relative to start
    est_date = (timeline.start.astype("datetime64[M]") + est_month).astype("datetime64[D]") + rng.integers(0, 28, n)

    z = rng.normal(size=n)
    shared = is_company & (rng.random(n) < spec.shared_addresses.share_of_companies)
    shell = is_company & (rng.random(n) < np.where(shared, 0.35, 0.04))
    method = np.where(
        is_company, rng.choice(len(spec.contribution_methods), size=n, p=weights(spec.contribution_methods)), -1
    )
    method = np.where(shell & (rng.random(n) < 0.4), rng.integers(1, len(spec.contribution_methods), n), method)
    method_risk = np.array([m.risk for m in spec.contribution_methods] + [0.0])[method]
    capital = np.round(np.exp(rng.normal(np.where(is_company, 4.6, 2.3), 1.0)), 1)  # 万元, subscribed
    paid_ratio = np.where(is_company, rng.beta(np.where(shell, 0.6, 2.0), 1.5), 1.0)
    paid_ratio = np.where(is_company & (rng.random(n) < 0.25), 0.0, paid_ratio)  # 认缴 not yet paid
    scale = np.exp(rng.normal(np.where(is_company, 1.0, 0.0), 0.8))  # activity scale

    # Exit (注销) and collapse, as month indices; n_months means "never within the window".
    first_active = np.maximum(est_month, 0)
    exit_month = first_active + rng.geometric(np.clip(exit_hazard(type_code, z), 1e-4, 1)) + EXIT_DELAY_MONTHS
    exit_month = np.where(exit_month < timeline.n_months, exit_month, timeline.n_months)
    collapses = rng.random(n) < collapse_probability(shell, z)
    span = np.maximum(exit_month - first_active, 1)
    collapse_month = np.where(collapses, first_active + (rng.random(n) * span).astype(int), timeline.n_months)
    collapse_month = np.minimum(collapse_month, exit_month)
    # Long-unreachable firms are revoked (吊销) 30 months after they collapse.
    revoked = collapses & (collapse_month + 30 < exit_month) & (rng.random(n) < 0.3)
    exit_month = np.where(revoked, collapse_month + 30, exit_month)

    return pd.DataFrame(
        {
            "gidx": idx,
            "uscc": uscc,
            "type_idx": etype,
            "type_code": type_code,
            "industry_idx": industry,
            "district_idx": district,
            "town": town,
            "est_month": est_month,
            "est_date": est_date,
            "exit_month": exit_month,
            "exit_kind": np.where(revoked, "revoked", "deregistered"),
            "collapse_month": collapse_month,
            "z": z,
            "shell": shell,
            "shared_address": shared,
            "method_idx": method,
            "method_risk": method_risk,
            "capital_wan": capital,
            "paid_ratio": paid_ratio,
            "scale": scale,
        }
    )


def static_logit(pop: pd.DataFrame, spec: CitySpec) -> np.ndarray:
    """The time-invariant part of the violation log-odds (without the calibrated intercept)."""
    ind_risk = np.array([i.risk for i in spec.industries])[pop["industry_idx"]]
    type_risk = np.array([t.risk for t in spec.enterprise_types])[pop["type_idx"]]
    noncash = pop["method_risk"].to_numpy()
    low_paid = (pop["type_code"].to_numpy() == "91") & (pop["paid_ratio"].to_numpy() < 0.2)
    return (
        LOGIT["industry_and_type"] * (ind_risk + type_risk)
        + LOGIT["z"] * pop["z"].to_numpy()
        + LOGIT["noncash"] * noncash / 0.6
        + LOGIT["low_paid"] * low_paid
        + LOGIT["noncash_x_low_paid"] * (noncash > 0) * low_paid
        + LOGIT["shell"] * pop["shell"].to_numpy()
        + LOGIT["shared_address"] * pop["shared_address"].to_numpy()
    )


def quarter_state(pop: pd.DataFrame, timeline: Timeline) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per enterprise and quarter: active (registered), collapsed, and young (< 2 years old)."""
    q_start = np.arange(timeline.n_quarters) * 3
    est = pop["est_month"].to_numpy()[:, None]
    active = (est <= q_start[None, :]) & (pop["exit_month"].to_numpy()[:, None] > q_start[None, :])
    collapsed = pop["collapse_month"].to_numpy()[:, None] <= q_start[None, :]
    young = (q_start[None, :] - est) < 24
    return active, collapsed & active, young


def dynamic_logit(pop: pd.DataFrame, timeline: Timeline, recent_penalty: np.ndarray) -> np.ndarray:
    """Time-varying part of the log-odds, enterprise x quarter."""
    _, collapsed, young = quarter_state(pop, timeline)
    shell = pop["shell"].to_numpy()[:, None]
    return (
        LOGIT["collapsed"] * collapsed
        + LOGIT["young"] * young
        + LOGIT["shell_x_young"] * (shell & young)
        + LOGIT["recent_penalty"] * recent_penalty
    )


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def calibrate_intercept(logits: np.ndarray, active: np.ndarray, detection: float, target: float) -> float:
    """Intercept b such that a uniform random inspection finds a violation `target` of the time.

    A random inspection of an active enterprise finds one with probability p * detection,
    so we solve mean(sigmoid(b + logit)) * detection = target by bisection.
    """
    x = logits[active]
    lo, hi = -15.0, 15.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if sigmoid(mid + x).mean() * detection < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2
