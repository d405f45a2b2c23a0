"""The threat model's tests: an adversary with write access to files, a clumsy operator, a hostile
department extract. Each test names the defect it guards against (issue 23's numbering)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pipelines.draw.factories import tiny_plan_home

AS_OF = "2025-07-01"


@pytest.fixture
def plan_home(tmp_path: Path) -> Path:
    """A data home with what the plan cycle reads (24 firms, 12 inspectors) at AS_OF."""
    return tiny_plan_home(tmp_path / "home", AS_OF)
