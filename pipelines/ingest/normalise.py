"""Reading an extract and casting it to its contract's types, keeping every failure's reason.

Nothing here drops a row: a value that does not parse becomes null and the row gets a reason,
so the caller can quarantine it with the raw text intact.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.ingest.contracts import ColumnSpec, Contract
from pipelines.ingest.csv_records import MALFORMED_COLUMNS, MAX_FIELD_BYTES, UnreadableExtract, read_csv_records

DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日")
TRUE_WORDS = {"true", "1", "是", "t", "yes"}
FALSE_WORDS = {"false", "0", "否", "f", "no"}
NON_FINITE_WORDS = {"nan", "inf", "infinity"}


@dataclass
class RawBatch:
    """One extract file as text, with canonical column names (missing columns absent).

    The frame's index is each record's number in the file, from 0; CSV records that could not be
    split into the header's columns are not in it but in `malformed`, numbered in the same
    sequence."""

    frame: pd.DataFrame  # CSV: every value text or missing; Parquet: columns in their native types
    missing_columns: list[ColumnSpec]
    extra_columns: list[str]
    lines: np.ndarray | None  # per row, the line of the file it starts on (from 1); CSV only
    notes: pd.Series | None  # per row, "" or "; "-terminated reasons found reading it (not UTF-8,
    # NUL); None if there are none
    malformed: pd.DataFrame  # CSV lines that are not a record: row, line, reason, text
    extras: pd.DataFrame | None = None  # the columns the contract does not name, for the quarantine's
    # raw text (a file whose header is not the contract's has only these)


def read_extract(path: Path, contract: Contract, max_field_bytes: int = MAX_FIELD_BYTES) -> RawBatch:
    """Read a CSV or Parquet extract as strings under the contract's column names; a CSV record
    with a value longer than `max_field_bytes` is noted for the quarantine."""
    try:
        if contract.meta.format == "csv":
            records = read_csv_records(path, contract, max_field_bytes)
            table, rows, lines = records.table, records.rows, records.lines
            notes, malformed = records.notes, records.malformed
        else:
            table = pq.read_table(path)
            rows, lines, notes = np.arange(table.num_rows), None, None
            malformed = pd.DataFrame(columns=MALFORMED_COLUMNS)  # Parquet has no lines to damage
    except UnreadableExtract as err:
        raise UnreadableExtract(f"{contract.source}: {err}") from err
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as err:
        raise UnreadableExtract(
            f"{contract.source}: {path.name} is not a readable {contract.meta.format.upper()} file: {err}"
        ) from err
    frame = table.to_pandas()
    if not np.array_equal(rows, np.arange(len(rows))):  # a clean file keeps its RangeIndex
        frame.index = pd.Index(rows, dtype="int64")
    frame = frame.rename(columns=contract.headers)
    missing = [c for c in contract.meta.columns if c.name not in frame.columns]
    extra = [str(c) for c in frame.columns if c not in {col.name for col in contract.meta.columns}]
    # CSV columns arrive as text; Parquet columns keep their native types (cast checks them too).
    # The index is the file's: a header with none of the contract's columns still has its rows.
    values = pd.DataFrame(
        {c.name: frame[c.name] for c in contract.meta.columns if c.name in frame.columns}, index=frame.index
    )
    return RawBatch(
        frame=values,
        missing_columns=missing,
        extra_columns=extra,
        lines=lines,
        notes=None if notes is None else pd.Series(notes, index=frame.index, dtype=object),
        malformed=malformed,
        extras=frame.loc[:, ~frame.columns.isin(list(values.columns))] if extra else None,
    )


@dataclass
class TypedBatch:
    frame: pd.DataFrame  # typed columns
    reasons: pd.Series  # per row: "" or "; "-joined parse failures


def cast_to_contract(raw: pd.DataFrame, contract: Contract) -> TypedBatch:
    """Normalise and cast each column; a value that fails to parse is null plus a reason."""
    reasons = pd.Series([""] * len(raw), index=raw.index, dtype=object)
    typed: dict[str, pd.Series] = {}
    for col in contract.meta.columns:
        if col.name not in raw.columns:
            continue
        text = raw[col.name]
        expected = f"{col.header}（{col.name}）应为{_TYPE_WORDS[col.type]} / expected {col.type}"
        finite = f"{col.header}（{col.name}）应为有限数值 / expected a finite number"
        native = _native(text, col)
        if native is not None:
            typed[col.name] = native
            if col.type == "float":  # Parquet can hold infinities; bronze and features must not
                infinite = pd.Series(np.isinf(native.to_numpy(dtype="float64", na_value=0.0)), index=text.index)
                typed[col.name] = native.where(~infinite)
                _add_reason(reasons, infinite, text, finite)
            continue
        cleaned = _clean(text, col)
        if col.type in ("int", "float"):
            value, bad, infinite = _cast_number(cleaned, col)
            _add_reason(reasons, infinite, text, finite)
        else:
            value, bad = _cast(cleaned, col)
        typed[col.name] = value
        _add_reason(reasons, bad, text, expected)
    return TypedBatch(frame=pd.DataFrame(typed, index=raw.index), reasons=reasons)


def _add_reason(reasons: pd.Series, bad: pd.Series, text: pd.Series, expected: str) -> None:
    """Append "<expected>, got '<value>'; " to the reasons of the rows in `bad`."""
    if bad.any():
        shown = text[bad].astype(str).str.slice(0, 40)
        reasons[bad] = reasons[bad] + f"{expected}, got '" + shown + "'; "


_TYPE_WORDS = {
    "string": "文本",
    "uscc": "统一社会信用代码",
    "date": "日期",
    "int": "整数",
    "float": "数值",
    "bool": "是/否",
}


def _native(values: pd.Series, col: ColumnSpec) -> pd.Series | None:
    """A Parquet column that already has the contract's type, as is; None if it needs casting."""
    if col.type == "date" and pd.api.types.is_datetime64_any_dtype(values):
        return values.astype("datetime64[s]")
    if col.type == "float" and pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("Float64")
    if col.type == "int" and pd.api.types.is_integer_dtype(values):
        return values.astype("Int64")
    if col.type == "bool" and pd.api.types.is_bool_dtype(values):
        return values.astype("boolean")
    return None


def _clean(text: pd.Series, col: ColumnSpec) -> pd.Series:
    """Trimmed, empty as null; codes, dates and numbers also lose full-width forms
    ('９１４４…' -> '9144…'), while text keeps its Chinese punctuation."""
    values = text.astype("string").str.strip()
    if col.type != "string":
        # NFKC is slow per value; only the rare non-ASCII values need it.
        wide = ~values.str.isascii().fillna(True)
        if wide.any():
            values[wide] = values[wide].str.normalize("NFKC")
    if col.type == "uscc":
        values = values.str.upper()
    return values.where(values.str.len() > 0)


def _cast(text: pd.Series, col: ColumnSpec) -> tuple[pd.Series, pd.Series]:
    present = text.notna()
    if col.type in ("string", "uscc"):
        # Arrow-backed text (pandas' default `str`, NaN when missing, as bronze reads back):
        # factorising, hashing and GX's checks stay vectorised, unlike Python objects.
        return text.astype("str"), pd.Series(False, index=text.index)
    if col.type == "date":
        value = pd.Series(pd.NaT, index=text.index, dtype="datetime64[s]")
        for fmt in DATE_FORMATS:
            todo = present & value.isna()
            if not todo.any():
                break
            value[todo] = pd.to_datetime(text[todo], format=fmt, errors="coerce")
        return value, present & value.isna()
    lowered = text.str.lower()
    value = pd.Series(pd.NA, index=text.index, dtype="boolean")
    value[lowered.isin(TRUE_WORDS)] = True
    value[lowered.isin(FALSE_WORDS)] = False
    return value, present & value.isna()


def _cast_number(text: pd.Series, col: ColumnSpec) -> tuple[pd.Series, pd.Series, pd.Series]:
    """The numbers; the values that are not a number of the column's type (an integer column's
    fractions and values beyond 64 bits included); and those that are not finite ("inf", "nan",
    "1e400", which overflows to infinity): bronze, profiles and models need finite numbers."""
    present = text.notna()
    number = pd.to_numeric(text, errors="coerce")
    real = number.to_numpy(dtype="float64", na_value=np.nan)
    unparsed = present & number.isna()
    spelled = unparsed.copy()  # "nan" parses to missing; only the unparsed can be spelled out
    spelled[unparsed] = text[unparsed].str.lower().str.lstrip("+-").isin(NON_FINITE_WORDS).to_numpy(dtype=bool)
    infinite = spelled | (present & np.isinf(real))
    bad = unparsed & ~infinite
    if col.type == "float":
        return number.astype("Float64").where(~infinite), bad, infinite
    whole = np.isfinite(real) & (real == np.floor(real)) & (np.abs(real) < 2.0**63)
    bad |= present & number.notna() & ~infinite & ~whole
    return number.where(~(bad | infinite)).astype("Int64"), bad, infinite
