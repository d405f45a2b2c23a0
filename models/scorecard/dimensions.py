"""Shenzhen's five scorecard dimensions (深市监规〔2021〕3号) and which profile sources feed each.

Used to place the learned scorecard's indicators in the same dimensions as the hand-made one, so
the two read alike and their sub-scores can be compared.
"""

from __future__ import annotations

from collections.abc import Mapping

from features.spec import Feature

# id -> (zh, en, profile sources)
SHENZHEN_DIMENSIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "operations_changes": (
        "经营与变更",
        "operations and registration changes",
        (
            "registration",
            "registration_changes",
            "annual_reports",
            "electricity",
            "water",
            "gas",
            "social_insurance",
            "tax_payments",
        ),
    ),
    "registration_licensing": ("登记与许可", "registration and licensing", ("licences", "shareholders")),
    "penalties_lists": (
        "处罚与负面名单",
        "penalties and negative lists",
        ("penalties", "abnormal_list", "serious_dishonesty", "court_enforcement", "quality_sampling", "equity_pledges"),
    ),
    "cases_complaints": ("案件与投诉举报", "cases, complaints and reports", ("complaints", "inspections")),
    "evaluation_honours": ("评价与表彰", "evaluations and honours", ("honours", "tax_credit")),
}


def dimension_of(feature: str, catalogue: Mapping[str, Feature]) -> str:
    """The Shenzhen dimension id of a profile feature, from its source."""
    source = catalogue[feature].source
    for dim_id, (_, _, sources) in SHENZHEN_DIMENSIONS.items():
        if source in sources:
            return dim_id
    raise KeyError(f"feature {feature!r} comes from source {source!r}, which no Shenzhen dimension lists")
