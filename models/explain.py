"""Reason codes: the factors that pushed one enterprise's score up or down, in a regulator's words.

Contributions are TreeSHAP values on the model's log-odds scale (LightGBM's `pred_contrib`,
chosen over shap's TreeExplainer by measurement, see BENCHMARKS.md: identical values, the
same time for 50,000 rows, and no second library on the path that serves auditors).
They add up, with the base value, to the enterprise's log-odds; the calibration after it is
monotone, so they explain the ranking exactly. A line reads like "近365天投诉举报条数：7条 (+0.21)".
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

UNITS_ZH = {"records": "条", "days": "天", "years": "年", "year": "年", "persons": "人", "10k yuan": "万元",
            "yuan": "元", "kWh": "千瓦时", "t": "吨", "m³": "立方米", "licences": "张", "firms": "户", "cases": "件",
            "points": "分"}


def value_text(value: Any, unit: str) -> str:
    """A feature value as a regulator reads it: 无记录 for missing, integers without decimals."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "无记录"
    if unit == "flag":
        return "是" if value else "否"
    if isinstance(value, float) and unit == "ratio":
        return f"{value:.0%}"
    if isinstance(value, float):
        return (f"{value:.0f}" if value.is_integer() else f"{value:.2f}") + UNITS_ZH.get(unit, "")
    return str(value) + UNITS_ZH.get(unit, "")


def reason_codes(
    contributions: pd.Series, values: pd.Series, catalogue: dict[str, dict], top: int = 8
) -> list[dict[str, Any]]:
    """The `top` largest signed contributions (base value excluded), largest magnitude first."""
    signed = contributions.drop(labels="expected_value", errors="ignore")
    order = signed.abs().sort_values(ascending=False, kind="stable").index[:top]
    lines = []
    for name in order:
        info = catalogue.get(str(name), {})
        zh = info.get("zh", str(name))
        value = values.get(name)
        text = f"{zh}：{value_text(value, info.get('unit', ''))} ({signed[name]:+.2f})"
        lines.append(
            {
                "feature": str(name),
                "zh": zh,
                "en": info.get("en", ""),
                "dimension": info.get("dimension", ""),
                "value": None if value is None or pd.isna(value) else value,
                "contribution": float(signed[name]),
                "text": text,
            }
        )
    return lines
