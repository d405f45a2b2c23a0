"""Sampling ratios per credit class (双随机抽查比例), read from `data/scorecards/ratios.yaml`.

A ratio is the share of a class's entities to draw in a campaign, as a range [min, max] (a single
published figure has min == max). The draw itself is not here; this is the configuration it reads,
checked against the grades a scorecard can produce.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from models.scorecard.schema import ScorecardError


class Ratio(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min: float = Field(ge=0, le=1, description="smallest share of the class to draw")
    max: float = Field(ge=0, le=1, description="largest share of the class to draw")

    @model_validator(mode="after")
    def _ordered(self) -> Ratio:
        if self.min > self.max:
            raise ValueError(f"ratio min {self.min} is above max {self.max}")
        return self


class RatioTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(description="where the figures come from")
    ratios: dict[str, Ratio] = Field(min_length=1, description="grade -> ratio")

    def check_grades(self, grades: list[str]) -> None:
        """Every grade the scorecard gives needs a ratio: no class is exempt from sampling."""
        absent = [g for g in grades if g not in self.ratios]
        if absent:
            raise ScorecardError(f"ratio table lacks grade(s) {absent}; expected a ratio for each of {grades}")

    def expected_draws(self, counts: Mapping[str, int]) -> dict[str, tuple[float, float]]:
        """For entity counts per grade, the (fewest, most) entities to draw under this table."""
        return {g: (n * self.ratios[g].min, n * self.ratios[g].max) for g, n in counts.items() if g in self.ratios}


class RatioTables(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tables: dict[str, RatioTable] = Field(min_length=1)

    def table(self, name: str) -> RatioTable:
        if name not in self.tables:
            raise ScorecardError(f"no ratio table {name!r}; expected one of {sorted(self.tables)}")
        return self.tables[name]


def read_ratio_tables(path: Path) -> RatioTables:
    try:
        return RatioTables.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (ValidationError, yaml.YAMLError) as error:
        raise ScorecardError(f"{path}: {error}") from error
