"""The synthetic city's spec (`data/city/<city>.yaml`), typed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class District(_Strict):
    name: str
    short: str
    code: str = Field(pattern=r"^\d{6}$")
    weight: float = Field(gt=0)
    towns: list[str]


class Industry(_Strict):
    code: str
    name: str
    weight: float = Field(gt=0)
    risk: float
    words: list[str]


class EnterpriseType(_Strict):
    name: str
    code: str = Field(pattern=r"^9[123]$")
    weight: float = Field(gt=0)
    suffix: str
    risk: float


class ContributionMethod(_Strict):
    name: str
    weight: float = Field(gt=0)
    risk: float


class SharedAddresses(_Strict):
    count: int = Field(gt=0)
    share_of_companies: float = Field(ge=0, le=1)


class CitySpec(_Strict):
    city: str
    province_prefix: str
    districts: list[District]
    industries: list[Industry]
    enterprise_types: list[EnterpriseType]
    contribution_methods: list[ContributionMethod]
    shared_addresses: SharedAddresses
    surnames: str
    given_chars: str
    trade_chars: str
    roads: list[str]

    @classmethod
    def load(cls, path: Path) -> CitySpec:
        with path.open(encoding="utf-8") as fh:
            return cls.model_validate(yaml.safe_load(fh))

    def towns(self) -> list[tuple[int, str]]:
        """Every (district index, town) pair, in spec order; a town has one supervision station."""
        return [(d, town) for d, dist in enumerate(self.districts) for town in dist.towns]


def weights(items: list[District] | list[Industry] | list[EnterpriseType] | list[ContributionMethod]) -> np.ndarray:
    """Normalised sampling weights of spec items."""
    w = np.array([item.weight for item in items], dtype=float)
    return w / w.sum()
