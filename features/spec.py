"""What a feature is: a name that explains it, a description in Chinese and English, a unit, a
window, a dimension of the enterprise file (一户一档) and the direction in which it means risk.

A feature's value is an Ibis expression, so one definition runs on DuckDB and on Spark.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import ibis.expr.types as ir

Dimension = Literal["credit", "operating_status", "activity", "supervision_history", "complaints"]
DIMENSIONS: tuple[Dimension, ...] = ("credit", "operating_status", "activity", "supervision_history", "complaints")
DIMENSION_NAMES = {
    "credit": "信用状况 / credit",
    "operating_status": "经营状态 / operating status",
    "activity": "经营活跃度 / activity",
    "supervision_history": "监管历史 / supervision history",
    "complaints": "投诉举报 / complaints",
}

# Look-back windows in days; None is "all time before the as-of date".
WINDOWS: tuple[int | None, ...] = (30, 90, 180, 365, 730, None)


def window_label(window: int | None) -> str:
    return "all" if window is None else f"{window}d"


def window_words(window: int | None) -> tuple[str, str]:
    """('近365天', 'in the last 365 days') or ('历史累计', 'all time')."""
    if window is None:
        return "历史累计", "all time"
    return f"近{window}天", f"in the last {window} days"


@dataclass(frozen=True)
class Feature:
    """One candidate feature.

    `aggregate` builds the value from a source table already restricted to rows known before the
    as-of date (`rows`), given the as-of date as an Ibis literal; it is None for features computed
    from other features after aggregation (`derive`).
    """

    name: str
    source: str
    zh: str
    en: str
    unit: str
    window: int | None
    dimension: Dimension
    direction: int  # +1 higher means riskier, -1 safer, 0 no stated direction
    aggregate: Callable[[ir.Table, ir.DateScalar], ir.Value] | None = None
    derive: Callable[[ir.Table], ir.Value] | None = None
    categorical: bool = False

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "source": self.source,
            "zh": self.zh,
            "en": self.en,
            "unit": self.unit,
            "window": window_label(self.window),
            "dimension": self.dimension,
            "direction": self.direction,
            "categorical": self.categorical,
        }
