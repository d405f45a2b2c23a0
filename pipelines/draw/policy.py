"""What the regulator chooses for a draw: the policy, the capacity and the inspector rules.

Typed and validated before anything runs (`extra="forbid"`), frozen so a plan cannot change them
after the commitment, and JSON-serialisable so the plan folder stores them beside the inputs.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

CREDIT_CLASSES = ("A", "B", "C", "D")
# Henan 2021 (the province's class ratios): A 1%, B 2%, C 10%, D 30%. Only the ratios between classes matter once
# the capacity fixes the total (see design.class_weights).
HENAN_2021_RATIOS = {"A": 0.01, "B": 0.02, "C": 0.10, "D": 0.30}
# The synthetic city's three inspection items and the expertise each needs (government.EXPERTISE).
DEFAULT_ITEM_EXPERTISE = {
    "食品经营行为检查": "食品安全",
    "产品质量监督检查": "产品质量",
    "企业公示信息情况检查": "登记注册",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Boost(_Frozen):
    """Multiply the selection weight of one complaint hotspot (district × industry) by `factor`.

    `None` in `district` or `industry_code` matches every value, so a boost may cover a whole
    district or an industry across the city."""

    district: str | None = None
    industry_code: str | None = None
    factor: float = Field(gt=0, description="multiplier on the weight before scaling (> 1 favours the hotspot)")


class DrawPolicy(_Frozen):
    """How inclusion probabilities are derived from credit classes and risk scores.

    - `class_ratio`: π ∝ the ratio of the entity's credit class, scaled to the capacity;
    - `risk`: π ∝ risk ** `risk_exponent`;
    - `blend`: π = (1 − `blend_weight`) · π_class + `blend_weight` · π_risk, both computed under the
      same capacity, floor and cap, so the blend inherits all three.
    Every variant keeps floor ≤ π ≤ cap (no credit class is exempt from sampling)."""

    kind: Literal["class_ratio", "risk", "blend"] = "blend"
    item: str = Field("企业公示信息情况检查", description="inspection item (检查事项) when the list has no item column")
    class_ratios: dict[str, float] = Field(default_factory=lambda: dict(HENAN_2021_RATIOS))
    risk_exponent: float = Field(1.0, ge=0, description="0 = uniform, 1 = proportional to risk")
    floor: float = Field(0.0, ge=0, le=1, description="minimum inclusion probability of every listed entity")
    cap: float = Field(1.0, gt=0, le=1, description="maximum inclusion probability")
    blend_weight: float = Field(0.5, ge=0, le=1, description="λ: weight of the risk-proportional design in a blend")
    exclude_inspected_months: int | None = Field(
        None, ge=1, description="entities inspected within this many months before the as-of date are excluded"
    )
    boosts: tuple[Boost, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> DrawPolicy:
        if self.floor > self.cap:
            raise ValueError(f"floor {self.floor} must not exceed cap {self.cap}")
        if set(self.class_ratios) != set(CREDIT_CLASSES):
            raise ValueError(f"class_ratios must give exactly {CREDIT_CLASSES}, got {sorted(self.class_ratios)}")
        zero = [c for c, r in self.class_ratios.items() if not r > 0]
        if zero:  # 国市监信发〔2022〕6号: no class is exempt from sampling
            raise ValueError(f"class_ratios must be > 0 for every class, got {zero} ≤ 0")
        return self


class Capacity(_Frozen):
    """How many inspections: in total, and optionally per district (the strata).

    Without `per_district` the whole list is one stratum; with it, every district on the list
    needs a capacity and they must add up to `total`."""

    total: int = Field(ge=0)
    per_district: dict[str, int] | None = None

    @model_validator(mode="after")
    def _adds_up(self) -> Capacity:
        if self.per_district is not None:
            negative = {d: k for d, k in self.per_district.items() if k < 0}
            if negative:
                raise ValueError(f"per-district capacities must be ≥ 0, got {negative}")
            if sum(self.per_district.values()) != self.total:
                raise ValueError(
                    f"per-district capacities add up to {sum(self.per_district.values())}, expected total {self.total}"
                )
        return self

    def strata(self) -> dict[str, int] | None:
        return None if self.per_district is None else dict(sorted(self.per_district.items()))


class AssignmentRules(_Frozen):
    """The rules every inspector assignment obeys (行政处罚法 art. 42–43, local 所所交叉)."""

    per_task: int = Field(2, ge=2, description="inspectors per inspection (at least two, art. 42)")
    workload_cap: int = Field(ge=1, description="maximum inspections per inspector in this plan")
    same_district: bool = Field(True, description="inspectors come from the entity's district bureau")
    item_expertise: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_ITEM_EXPERTISE))
