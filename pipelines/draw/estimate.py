"""Design-based estimates of the violation rate across the whole inspection-object list.

The draw stores every listed entity's inclusion probability π, so the inspected sample can speak
for the whole list (N entities), not only for the firms the model liked:

- Horvitz–Thompson: rate = (1/N) Σ_s y_i / π_i, unbiased for the list's violation rate.
- Hájek: rate = Σ_s y_i / π_i ÷ Σ_s 1 / π_i, the ratio form; slightly biased (O(1/n)) but usually
  far less variable, and it stays in [0, 1]. It is the headline figure.

Variance. A fixed-size πps design's exact variance needs joint inclusion probabilities π_ij,
which systematic sampling does not give in closed form. We use the standard with-replacement
(Hansen–Hurwitz) approximation, per stratum h (strata are drawn independently):

    v(t̂_h) = n_h / (n_h − 1) · Σ_{i∈s_h} (z_i − z̄_h)²,   z_i = y_i / π_i  (HT total)
    z_i = (y_i − R̂) / π_i                                    (Hájek, linearised)

summed over strata, then divided by N² (HT) or N̂² = (Σ 1/π)² (Hájek). It is conservative when
the sampling fraction is not small (it ignores the finite-population correction). A stratum with a
single inspected unit contributes no variance term; `strata_without_variance` counts them so the
interval is read with care. The 95% interval is the normal one, est ± 1.96 · se (Hájek's is clipped
to [0, 1]).

Units with π = 1 (certainty selections) have z_i = y_i and carry no sampling variance in truth;
the with-replacement formula still counts them, which is one more reason it is conservative.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

Z_95 = 1.959963984540054


@dataclass(frozen=True)
class RateEstimate:
    """Violation rate over the listed population, from the inspected sample."""

    listed: int  # N: entities on the list (the design frame, exclusions not counted)
    inspected: int  # n: units with a recorded result
    violations: int
    realised_hit_rate: float  # violations / inspected: what the inspectors saw
    ht: float
    ht_se: float
    hajek: float
    hajek_se: float
    strata_without_variance: int

    @property
    def ht_ci(self) -> tuple[float, float]:
        return (self.ht - Z_95 * self.ht_se, self.ht + Z_95 * self.ht_se)

    @property
    def hajek_ci(self) -> tuple[float, float]:
        return (max(0.0, self.hajek - Z_95 * self.hajek_se), min(1.0, self.hajek + Z_95 * self.hajek_se))

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ht_ci95": list(self.ht_ci), "hajek_ci95": list(self.hajek_ci)}


def violation_rate(found: np.ndarray, pi: np.ndarray, listed: int, strata: np.ndarray | None = None) -> RateEstimate:
    """Estimate the list's violation rate from inspected units' `found` (bool) and their `pi`.

    `listed` is N, the size of the list the sample was drawn from; `strata` (optional) gives each
    inspected unit's stratum (the draw's strata were sampled independently)."""
    y = np.asarray(found, dtype=np.float64)
    p = np.asarray(pi, dtype=np.float64)
    if y.shape != p.shape or y.ndim != 1:
        raise ValueError(f"found and pi expected as equal-length vectors, got shapes {y.shape} and {p.shape}")
    if len(y) == 0:
        raise ValueError("no inspected unit with a result: nothing to estimate from")
    if not ((p > 0) & (p <= 1)).all():
        raise ValueError(f"inclusion probabilities expected in (0, 1], got {p[~((p > 0) & (p <= 1))][:3]}")
    if listed < len(y):
        raise ValueError(f"listed expected >= inspected units ({len(y)}), got {listed}")
    s = np.zeros(len(y), dtype=np.int64) if strata is None else np.unique(np.asarray(strata), return_inverse=True)[1]
    w = 1.0 / p
    total = float((w * y).sum())
    n_hat = float(w.sum())
    hajek = total / n_hat
    v_ht, v_hajek, lonely = 0.0, 0.0, 0
    for h in np.unique(s):
        m = s == h
        if m.sum() < 2:
            lonely += 1
            continue
        v_ht += _wr_variance(w[m] * y[m])
        v_hajek += _wr_variance(w[m] * (y[m] - hajek))
    return RateEstimate(
        listed=int(listed),
        inspected=len(y),
        violations=int(y.sum()),
        realised_hit_rate=float(y.mean()),
        ht=total / listed,
        ht_se=float(np.sqrt(v_ht)) / listed,
        hajek=hajek,
        hajek_se=float(np.sqrt(v_hajek)) / n_hat,
        strata_without_variance=lonely,
    )


def _wr_variance(z: np.ndarray) -> float:
    """n / (n − 1) · Σ (z_i − z̄)²: the with-replacement variance of Σ z_i."""
    n = len(z)
    return float(n / (n - 1) * ((z - z.mean()) ** 2).sum())
