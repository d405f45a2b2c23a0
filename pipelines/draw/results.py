"""Inspection results as the bureau hands them back: a results file read strictly, and dates.

The file is a CSV (UTF-8, or GBK/GB18030 as a Chinese Excel saves "CSV (逗号分隔)") or an Excel
workbook (.xlsx, first sheet), e.g. the exported task list 任务清单.xlsx with 检查结果 and 检查日期
filled in. Columns: task_id, result, inspection_date, or the Chinese headers 任务编号, 检查结果,
检查日期; other columns are ignored. Dates are YYYY-MM-DD and nothing else (an Excel date cell is
read as its day). A file that cannot be read raises ResultError naming the accepted formats."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

RESULT_ALIASES = {"任务编号": "task_id", "检查结果": "result", "检查日期": "inspection_date", "date": "inspection_date"}
FORMATS = (
    "a CSV (UTF-8 or GBK) or an Excel .xlsx with columns task_id, result[, inspection_date] "
    "(or 任务编号, 检查结果[, 检查日期])"
)
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
ZIP, OLE = b"PK\x03\x04", b"\xd0\xcf\x11\xe0"  # the first bytes of an .xlsx and of an old .xls


class ResultError(ValueError):
    """A recorded result does not fit the plan (unknown task, category, date); says what was expected."""


def parse_day(text: str) -> dt.date:
    """A day written YYYY-MM-DD, with nothing before or after it (`2025-08-01junk` is refused)."""
    if not ISO_DAY.fullmatch(text.strip()):
        raise ValueError(f"expected a date YYYY-MM-DD, got {text!r}")
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError as error:  # 2025-02-30
        raise ValueError(f"expected a date YYYY-MM-DD, got {text!r} ({error})") from error


def read_result_file(path: Path) -> pd.DataFrame:
    """The file's task_id, result and inspection_date columns as text (inspection_date None if absent)."""
    if path.is_dir():
        raise ResultError(f"{path} is a folder; expected a results file: {FORMATS}")
    with path.open("rb") as file:
        head = file.read(4)
    if not head:
        raise ResultError(f"{path} is empty; expected {FORMATS}")
    if head == OLE:
        raise ResultError(f"{path} is an old Excel .xls; save it as .xlsx or CSV: expected {FORMATS}")
    frame = _read_excel(path) if head == ZIP else _read_csv(path)
    found = [str(c).strip() for c in frame.columns]
    frame = frame.set_axis(found, axis=1).rename(columns=RESULT_ALIASES)
    missing = [f"{c} ({zh})" for c, zh in (("task_id", "任务编号"), ("result", "检查结果")) if c not in frame.columns]
    if missing:
        raise ResultError(f"{path}: no column {' or '.join(missing)} among {found[:10]}; expected {FORMATS}")
    if "inspection_date" not in frame.columns:
        frame["inspection_date"] = None
    return frame


def _read_csv(path: Path) -> pd.DataFrame:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ResultError(f"{path} is neither UTF-8 nor GBK text nor an .xlsx; expected {FORMATS}")
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, index_col=False)  # a trailing comma does not shift columns
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as error:
        raise ResultError(f"{path}: not a readable CSV ({str(error).strip()}); expected {FORMATS}") from error


def _read_excel(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_excel(path, sheet_name=0, dtype=object, engine="openpyxl")
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise ResultError(f"{path}: not a readable .xlsx ({error}); expected {FORMATS}") from error
    return frame.map(_cell_text)


def _cell_text(value: Any) -> Any:
    """An Excel cell as the text a CSV would hold: a date cell as its day, 17.0 as 17, blanks kept."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
