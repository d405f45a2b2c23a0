"""Shared fixtures: one small synthetic city per test session, generated and ingested once."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.ingest.flow import IngestResult, ingest_all
from pipelines.settings import Settings
from pipelines.synthetic.flow import GenerateSummary, generate_city
from tests.factories import settings_for

SMALL_CITY = 3_000


@pytest.fixture(scope="session")
def small_city(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, GenerateSummary]:
    settings = settings_for(
        tmp_path_factory.mktemp("city"), enterprises=SMALL_CITY, seed=11, chunk_size=1_000, defect_rate=0.004
    )
    return settings, generate_city(settings)


@pytest.fixture(scope="session")
def ingested_city(small_city: tuple[Settings, GenerateSummary]) -> tuple[Settings, IngestResult]:
    settings, _ = small_city
    return settings, ingest_all(settings)


@pytest.fixture
def data_home(tmp_path: Path) -> Path:
    return tmp_path / "home"


# Half-yearly as-of dates: the fewest that give three walk-forward folds and a holdout (2025-07-01).
HALF_YEARLY = [f"{y}-{m:02d}-01" for y in (2023, 2024, 2025) for m in (1, 7)]


@pytest.fixture(scope="session")
def profiled_city(ingested_city: tuple[Settings, IngestResult]) -> Settings:
    """The small city with profiles and labels at every half-yearly as-of date."""
    import datetime as dt

    from pipelines.profiles.flow import build_profiles

    settings, _ = ingested_city
    build_profiles(settings, [dt.date.fromisoformat(d) for d in HALF_YEARLY])
    return settings
