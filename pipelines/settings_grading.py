"""Settings sections for credit grading and the 政务诚信 monitor (fields of `Settings`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

SCORECARDS = Path(__file__).resolve().parents[1] / "data" / "scorecards"
CALENDARS = Path(__file__).resolve().parents[1] / "data" / "calendars"


class GradingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scorecard: Path = Field(SCORECARDS / "enterprise_default.yaml", description="the enterprise scorecard YAML")
    ratios: Path = Field(SCORECARDS / "ratios.yaml", description="sampling-ratio tables per credit class")
    ratio_table: str = Field("henan_2021", description="which table of `ratios` applies")


class IntegritySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scorecard: Path = Field(SCORECARDS / "integrity_default.yaml", description="the government-body scorecard YAML")
    calendar: Path = Field(CALENDARS / "china.yaml", description="working-day calendar for case deadlines")
    db_url: str | None = Field(
        None, description="SQLAlchemy URL of the case store; default sqlite:///<data_home>/integrity/integrity.sqlite"
    )
    deadline_working_days: dict[str, PositiveInt] = Field(
        {"orange": 30, "red": 15},
        description="warning grade -> working days to rectify; grades not listed open no case",
    )
