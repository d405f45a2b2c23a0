"""notebooks/chicago.ipynb runs top to bottom on the real Chicago data (a fresh data home)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.settings import PROJECT_ROOT
from tests.notebooks.test_notebooks import run_notebook

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def test_chicago_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = PROJECT_ROOT / "data" / "jurisdictions" / "chicago" / "regulens.yaml"
    run_notebook("chicago", tmp_path / "home", tmp_path, monkeypatch, CONFIG=str(config))
    assert (tmp_path / "home" / "lake" / "profiles" / "events" / "CURRENT").is_file()
