"""Government-body integrity features: point in time, resolution and repair."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from features.integrity import integrity_features, integrity_profile, open_signals

D = dt.date
BODY, OTHER = "114406040752019238", "124406050000000001"
BODIES = pd.DataFrame(
    {"body_uscc": [BODY, OTHER], "body_name": ["甲局", "乙中心"], "knowledge_date": [D(2020, 1, 1), D(2020, 1, 1)]}
)


def signals(*rows: tuple[str, str, dt.date, dt.date, float, dt.date | None]) -> pd.DataFrame:
    cols = ["body_uscc", "signal_type", "signal_date", "knowledge_date", "amount_yuan", "resolved_date"]
    return pd.DataFrame(rows, columns=cols)


SIGNALS = signals(
    (BODY, "拖欠中小企业账款", D(2024, 3, 1), D(2024, 3, 5), 200_000.0, None),
    (BODY, "失信被执行人", D(2024, 5, 1), D(2024, 5, 2), 50_000.0, D(2024, 9, 1)),
    (BODY, "行政诉讼败诉", D(2024, 12, 20), D(2025, 1, 3), 1_000.0, None),  # known only after 2025-01-01
)


def test_open_signals_respect_knowledge_date_and_resolution() -> None:
    before = open_signals(SIGNALS, D(2024, 6, 1))
    after = open_signals(SIGNALS, D(2025, 1, 1))

    assert sorted(before["signal_type"]) == ["失信被执行人", "拖欠中小企业账款"]
    assert list(after["signal_type"]) == ["拖欠中小企业账款"]  # resolved 09-01; the lawsuit is not known yet


def test_profile_counts_per_type_amounts_and_zero_for_quiet_bodies() -> None:
    p = integrity_profile(BODIES, SIGNALS, D(2025, 1, 1)).set_index("body_uscc")

    assert p.loc[BODY, "signals_open_now"] == 1 and p.loc[BODY, "sme_arrears_open_now"] == 1
    assert p.loc[BODY, "sme_arrears_open_amount_yuan"] == 200_000
    assert p.loc[BODY, "court_debtor_open_now"] == 0 and p.loc[BODY, "court_debtor_count_730d"] == 1
    assert p.loc[BODY, "lost_lawsuit_count_730d"] == 0
    assert (p.loc[OTHER, [f.name for f in integrity_features()]] == 0).all()
    assert list(p.columns[:1]) == ["as_of"] and set(p.columns[1:]) == {f.name for f in integrity_features()}


def test_a_repair_closes_the_signal_from_the_closing_day_on() -> None:
    repaired = pd.DataFrame(
        {
            "body_uscc": [BODY],
            "signal_type": ["拖欠中小企业账款"],
            "signal_date": [pd.Timestamp(D(2024, 3, 1))],
            "repaired_on": [pd.Timestamp(D(2024, 10, 15))],
        }
    )

    before = integrity_profile(BODIES, SIGNALS, D(2024, 10, 15), repaired).set_index("body_uscc")
    after = integrity_profile(BODIES, SIGNALS, D(2024, 10, 16), repaired).set_index("body_uscc")

    assert before.loc[BODY, "sme_arrears_open_now"] == 1 and before.loc[BODY, "signals_repaired_count"] == 0
    assert after.loc[BODY, "sme_arrears_open_now"] == 0 and after.loc[BODY, "signals_repaired_count"] == 1
    assert after.loc[BODY, "sme_arrears_count_730d"] == 1  # history is kept
