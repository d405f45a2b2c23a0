"""Tiny inline lists, rosters and plan arguments shared by the draw tests (plain builders, not fixtures)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.draw.policy import AssignmentRules, Capacity, DrawPolicy
from pipelines.lake import publish_version


def eligible_frame(n: int = 12, districts: tuple[str, ...] = ("禅城区", "南海区")) -> pd.DataFrame:
    """n entities spread over the districts, two towns each, classes A..D and risks in (0, 1)."""
    rows = []
    for i in range(n):
        district = districts[i % len(districts)]
        rows.append(
            {
                "uscc": f"91440600TEST{i:06d}",
                "name": f"测试企业{i}",
                "risk": round(0.05 + 0.9 * ((i * 37) % 100) / 100, 4),
                "credit_class": "ABCD"[i % 4],
                "district": district,
                "town": f"{district}{'甲乙'[(i // len(districts)) % 2]}街道",
                "industry_code": ("52", "33", "72")[i % 3],
                "last_inspected": pd.NaT,
                "last_inspectors": "",
            }
        )
    return pd.DataFrame(rows)


def roster_frame(districts: tuple[str, ...] = ("禅城区", "南海区"), per_town: int = 3) -> pd.DataFrame:
    """per_town inspectors at each town's station, all with 登记注册 expertise, some with 食品安全."""
    rows = []
    for district in districts:
        for town in "甲乙":
            for k in range(per_town):
                rows.append(
                    {
                        "inspector_id": f"ZF{len(rows):04d}",
                        "station_town": f"{district}{town}街道",
                        "district": district,
                        "expertise": "登记注册；食品安全" if k % 2 == 0 else "登记注册",
                    }
                )
    return pd.DataFrame(rows)


AS_OF = dt.date(2025, 7, 1)
VERSIONS = {"model": "violation-lgbm@3", "scorecard": "credit-yaml@2025.1"}


def plan_arguments(n: int = 40) -> dict[str, Any]:
    """Keyword arguments of a small feasible `draw_plan` over two districts."""
    eligible = eligible_frame(n)
    eligible.loc[0, "last_inspected"] = pd.Timestamp("2025-05-01")
    eligible.loc[0, "last_inspectors"] = "ZF0001;ZF0002"
    roster = roster_frame(per_town=4)
    return {
        "eligible": eligible,
        "roster": roster,
        "conflicts": pd.DataFrame(
            {"inspector_id": ["ZF0004"], "uscc": [eligible["uscc"].iat[2]], "relation": ["近亲属持股"]}
        ),
        "policy": DrawPolicy(kind="blend", floor=0.05, cap=0.9, exclude_inspected_months=3),
        "capacity": Capacity(total=10, per_district={"禅城区": 5, "南海区": 5}),
        "versions": VERSIONS,
        "as_of": AS_OF,
        "rules": AssignmentRules(workload_cap=10),
    }


def _publish(table_dir: Path, frame: pd.DataFrame, name: str) -> None:
    (table_dir / "run1").mkdir(parents=True)
    frame.to_parquet(table_dir / "run1" / name, index=False)
    publish_version(table_dir, "run1")


def tiny_plan_home(home: Path, as_of: str, firms: pd.DataFrame | None = None) -> Path:
    """A data home holding just what the plan cycle reads: bronze registration, inspections, roster
    and conflicts, and scores and grades at `as_of` (24 firms, 12 inspectors by default)."""
    firms = eligible_frame(24) if firms is None else firms
    known = pd.Timestamp("2025-01-02")
    bronze = {
        "registration": firms[["uscc", "name", "district", "town", "industry_code"]].assign(
            enterprise_type="有限责任公司", knowledge_date=known
        ),
        "inspections": pd.DataFrame(
            {
                "uscc": [firms["uscc"].iat[0]],
                "inspection_date": [pd.Timestamp("2024-03-01")],
                "knowledge_date": [pd.Timestamp("2024-03-02")],
                "inspector_1": ["ZF0000"],
                "inspector_2": ["ZF0001"],
            }
        ),
        "inspectors": roster_frame().assign(knowledge_date=known),
        "inspector_conflicts": pd.DataFrame(
            {
                "inspector_id": ["ZF0003"],
                "uscc": [firms["uscc"].iat[2]],
                "relation": ["近亲属"],
                "knowledge_date": known,
            }
        ),
    }
    for source, frame in bronze.items():
        _publish(home / "lake" / "bronze" / source, frame, "part-0.parquet")
    scores = firms[["uscc"]].assign(probability=firms["risk"], model_name="test-model", model_version="1")
    grades = firms[["uscc"]].assign(grade=firms["credit_class"], excluded=False, scorecard_version="card@1")
    _publish(home / "lake" / "scores" / f"as_of={as_of}", scores, "scores.parquet")
    _publish(home / "lake" / "grades" / "default" / f"as_of={as_of}", grades, "grades.parquet")
    return home
