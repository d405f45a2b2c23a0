"""Reason codes read like a regulator's sentence and keep their signs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.explain import reason_codes, value_text

CATALOGUE = {
    "complaints_count_365d": {"zh": "近365天投诉举报条数", "en": "complaints, 365 days", "unit": "records",
                              "dimension": "complaints"},
    "paid_in_ratio": {"zh": "实缴占认缴比例", "en": "paid-in share", "unit": "ratio", "dimension": "credit"},
    "on_abnormal_list": {"zh": "是否列入经营异常名录", "en": "on the abnormal list", "unit": "flag"},
}


def test_top_contributions_in_words_largest_first() -> None:
    contrib = pd.Series({"complaints_count_365d": 0.21, "paid_in_ratio": -0.35, "on_abnormal_list": 0.05,
                         "expected_value": -1.6})
    values = pd.Series({"complaints_count_365d": 7.0, "paid_in_ratio": 0.0, "on_abnormal_list": 1})
    lines = reason_codes(contrib, values, CATALOGUE, top=2)
    assert [line["feature"] for line in lines] == ["paid_in_ratio", "complaints_count_365d"]
    assert lines[1]["text"] == "近365天投诉举报条数：7条 (+0.21)"
    assert lines[0]["text"].endswith("(-0.35)") and lines[0]["contribution"] < 0


def test_values_are_written_as_people_read_them() -> None:
    assert value_text(np.nan, "records") == "无记录"
    assert value_text(1, "flag") == "是" and value_text(0, "flag") == "否"
    assert value_text(2.5, "10k yuan") == "2.50万元"
    assert value_text("52", "category") == "52"
