"""Tiny inline lists, rosters and plan arguments shared by the draw tests (plain builders, not fixtures)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from pipelines.draw.policy import AssignmentRules, Capacity, DrawPolicy


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
