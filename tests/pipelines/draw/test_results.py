"""Reading results back: dates are YYYY-MM-DD and nothing else; a results file keeps the cells' text."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from pipelines.draw.results import ResultError, parse_day, read_result_file


def test_a_day_is_read_only_when_written_yyyy_mm_dd() -> None:
    assert parse_day(" 2025-08-01 ") == dt.date(2025, 8, 1)
    for text in ("2025-08-01junk", "20250801", "2025-8-1", "2025/08/01", "2025-02-30", "2025-W31-5", ""):
        with pytest.raises(ValueError, match="expected a date YYYY-MM-DD"):
            parse_day(text)


def test_an_xlsx_date_cell_reads_as_its_day_and_numbers_as_integers(tmp_path: Path) -> None:
    path = tmp_path / "results.xlsx"
    frame = pd.DataFrame(
        {"任务编号": [1, 2], "检查结果": ["未发现问题", None], "检查日期": [dt.datetime(2025, 7, 9), None]}
    )
    frame.to_excel(path, index=False)
    read = read_result_file(path)
    assert read.loc[0, ["task_id", "result", "inspection_date"]].tolist() == ["1", "未发现问题", "2025-07-09"]
    assert read.loc[1, ["result", "inspection_date"]].isna().all()


def test_a_csv_without_the_result_column_names_what_it_found(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("任务编号,结果\n1,未发现问题\n", encoding="utf-8")
    with pytest.raises(ResultError, match=r"no column result \(检查结果\) among \['任务编号', '结果'\]"):
        read_result_file(path)


def test_a_trailing_comma_does_not_shift_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "results.csv"
    path.write_text("task_id,result,inspection_date\n1,未发现问题,2025-08-01,\n", encoding="utf-8")

    frame = read_result_file(path)

    assert frame[["task_id", "result", "inspection_date"]].iloc[0].tolist() == ["1", "未发现问题", "2025-08-01"]
