"""Settings section for the 双随机 plan cycle (the `plan` field of `Settings`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

DRAW_CONFIG = Path(__file__).resolve().parents[1] / "data" / "draw"
CALENDARS = Path(__file__).resolve().parents[1] / "data" / "calendars"


class PlanSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: Path = Field(DRAW_CONFIG / "items.yaml", description="inspection items, their scope and result categories")
    calendar: Path = Field(CALENDARS / "china.yaml", description="working-day calendar for the publication deadline")
    db_url: str | None = Field(
        None, description="SQLAlchemy URL of the operational database; default sqlite:///<data_home>/ops/ops.sqlite"
    )
    publish_working_days: int = Field(20, ge=1, description="results are published within this many working days")
    authority: str = Field("佛山市市场监督管理局", description="the authority named in the public notice")
    grade_card: str = Field("default", description="which grades (lake/grades/<card>) give the credit classes")
    per_task: int = Field(2, ge=2, description="inspectors per inspection (at least two)")
    workload_cap: int = Field(40, ge=1, description="maximum inspections per inspector in one plan")
    same_district: bool = Field(False, description="inspectors come from the entity's district bureau")
