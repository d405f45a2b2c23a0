"""One typed settings object, loaded from `regulens.yaml` and `REGULENS_*` variables.

Precedence, highest first: explicit overrides (CLI flags), environment variables
(`REGULENS_DATA_HOME`, `REGULENS_GENERATE__SEED`, ...), the YAML file, the defaults below.
Every path lives under one data home.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, YamlConfigSettingsSource

from pipelines.settings_grading import GradingSettings, IntegritySettings
from pipelines.settings_plan import PlanSettings

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GenerateSettings(_Section):
    enterprises: int = Field(20_000, ge=100, description="number of enterprises in the synthetic city")
    seed: int = Field(20_240_117, ge=0)
    start_year: int = Field(2020, ge=1990)
    end_year: int = Field(2025, ge=1990)
    chunk_size: int = Field(25_000, ge=100, description="enterprises simulated and written at a time")
    inspectors: int = Field(0, ge=0, description="0 = one per 400 enterprises, at least 60")
    government_bodies: int = Field(3_000, ge=1)
    defect_rate: float = Field(0.001, ge=0, le=0.2, description="share of CSV rows given a realistic defect")
    target_random_hit_rate: float = Field(0.176, gt=0, lt=1, description="Foshan's pre-AI hit rate")

    @model_validator(mode="after")
    def _window(self) -> GenerateSettings:
        if self.end_year - self.start_year + 1 < 4:
            raise ValueError(f"the window must span at least 4 years, got {self.start_year}..{self.end_year}")
        return self


class IngestSettings(_Section):
    max_quarantine_share: float = Field(
        0.05, ge=0, le=1, description="a source whose quarantined share exceeds this fails the run (exit 1)"
    )
    link_threshold: float = Field(0.85, gt=0, le=1, description="minimum name+address match score to link")
    chunk_rows: int = Field(2_000_000, ge=1_000, description="rows validated at a time")
    workers: int = Field(
        0, ge=0, description="processes ingesting sources side by side after registration; 0 = auto, see below"
    )
    parallel_from_mib: int = Field(
        256, ge=0, description="with workers = 0: one process per core once the extracts reach this size, else 1"
    )
    max_field_mib: float = Field(
        1.0, gt=0, description="a CSV value longer than this (MiB) quarantines its row; the rest of the file is read"
    )
    min_row_ratio: float = Field(
        0.5,
        ge=0,
        le=1,
        description="a source whose accepted rows fall below this share of its published version's fails and keeps"
        " that version, unless `regulens ingest --accept-drop SOURCE` accepts the drop; 0 = no check",
    )


class ProfileSettings(_Section):
    duckdb_memory_gib: float = Field(
        0,
        ge=0,
        description="DuckDB's memory limit while building profiles, GiB; 0 = 40% of the machine's memory"
        " (at least 2). Above it DuckDB evicts and spills to <data_home>/lake/.duckdb_spill",
    )

    def memory_gib(self) -> float:
        if self.duckdb_memory_gib:
            return self.duckdb_memory_gib
        return round(max(2.0, 0.4 * machine_memory_gib()), 1)


def machine_memory_gib() -> float:
    """Physical memory, or the container's limit (cgroup v2 `memory.max`) when that is lower."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
    except OSError:
        limit = "max"
    if limit.isdigit():
        total = min(total, int(limit))
    return total / 2**30


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="REGULENS_",
        env_nested_delimiter="__",
        extra="forbid",
        yaml_file="regulens.yaml",
        yaml_file_encoding="utf-8",
    )

    data_home: Path = Path("data")
    jurisdiction: str = "foshan"
    city_spec: Path = PROJECT_ROOT / "data" / "city" / "foshan.yaml"
    contracts_dir: Path = PROJECT_ROOT / "data" / "contracts"
    extract_date: dt.date = Field(dt.date(2026, 1, 14), description="the day departments exported their extracts")
    raw_home: Path | None = Field(None, description="where the extracts are; default <data_home>/raw")
    # A jurisdiction whose labels are single inspections (not enterprises on as-of dates) describes
    # its event-keyed profile here; see features/events.py and data/jurisdictions/chicago/.
    profile_spec: Path | None = None
    generate: GenerateSettings = GenerateSettings()
    ingest: IngestSettings = IngestSettings()
    profile: ProfileSettings = ProfileSettings()
    grading: GradingSettings = GradingSettings()
    integrity: IntegritySettings = IntegritySettings()
    plan: PlanSettings = PlanSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, YamlConfigSettingsSource(settings_cls))

    @property
    def raw_dir(self) -> Path:
        """Department extracts, one folder per source unless a contract names its files."""
        return self.raw_home if self.raw_home is not None else self.data_home / "raw"

    @property
    def lake_dir(self) -> Path:
        return self.data_home / "lake"

    @property
    def ground_truth_dir(self) -> Path:
        """The synthetic city's hidden truth: read only by evaluation code."""
        return self.data_home / "ground_truth"


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Settings from `config` (default ./regulens.yaml if present), env and overrides."""
    if config is not None and not config.is_file():
        raise FileNotFoundError(f"settings file {config} does not exist")
    if config is not None:
        content = yaml.safe_load(config.read_text(encoding="utf-8"))
        if content is not None and not isinstance(content, dict):
            raise ValueError(f"{config}: expected a mapping of settings (key: value), not a {type(content).__name__}")
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if config is None:
        return Settings(**overrides)

    class _FromFile(Settings):
        model_config = SettingsConfigDict(yaml_file=str(config))

    settings = Settings.model_validate(_FromFile(**overrides).model_dump())
    # A jurisdiction's own files (contracts, extracts, profile spec) are named relative to its
    # settings file, so `--config data/jurisdictions/chicago/regulens.yaml` works from anywhere;
    # the data home (where output goes) stays relative to the working directory.
    base = config.resolve().parent
    relative = {
        name: base / path
        for name in JURISDICTION_PATHS
        if name not in overrides and (path := getattr(settings, name)) is not None and not path.is_absolute()
    }
    return settings.model_copy(update=relative)


JURISDICTION_PATHS = ("city_spec", "contracts_dir", "raw_home", "profile_spec")
