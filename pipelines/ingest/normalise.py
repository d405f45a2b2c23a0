"""Reading an extract and casting it to its contract's types, keeping every failure's reason.

Nothing here drops a row: a value that does not parse becomes null and the row gets a reason,
so the caller can quarantine it with the raw text intact.
"""

from __future__ import annotations

import csv
import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pipelines.ingest.contracts import ColumnSpec, Contract

DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日")
TRUE_WORDS = {"true", "1", "是", "t", "yes"}
FALSE_WORDS = {"false", "0", "否", "f", "no"}


class UnreadableExtract(ValueError):
    """The file cannot be read as the format its contract declares."""


@dataclass
class RawBatch:
    """One extract file as text, with canonical column names (missing columns absent)."""

    frame: pd.DataFrame  # CSV: every value text or missing; Parquet: columns in their native types
    missing_columns: list[ColumnSpec]
    extra_columns: list[str]


def read_extract(path: Path, contract: Contract) -> RawBatch:
    """Read a CSV or Parquet extract as strings under the contract's column names."""
    try:
        table = _read_csv(path) if contract.meta.format == "csv" else pq.read_table(path)
    except UnreadableExtract as err:
        raise UnreadableExtract(f"{contract.source}: {err}") from err
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as err:
        raise UnreadableExtract(
            f"{contract.source}: {path.name} is not a readable {contract.meta.format.upper()} file: {err}"
        ) from err
    frame = table.to_pandas()
    headers = contract.headers
    known = [h for h in frame.columns if h in headers]
    if contract.meta.format == "csv" and not known and len(frame.columns) <= 1:
        raise UnreadableExtract(
            f"{contract.source}: {path.name} is not a CSV file with the contract's headers "
            f"(found columns {list(frame.columns)[:5]})"
        )
    frame = frame.rename(columns=headers)
    missing = [c for c in contract.meta.columns if c.name not in frame.columns]
    extra = [str(c) for c in frame.columns if c not in {col.name for col in contract.meta.columns}]
    # CSV columns arrive as text; Parquet columns keep their native types (cast checks them too).
    values = pd.DataFrame({c.name: frame[c.name] for c in contract.meta.columns if c.name in frame.columns})
    return RawBatch(frame=values, missing_columns=missing, extra_columns=extra)


def _read_csv(path: Path) -> pa.Table:
    # A gzip extract (`.csv.gz`) is checked on its decompressed text; Arrow decompresses by suffix.
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            head = fh.read(4096)
    except (gzip.BadGzipFile, zlib.error, EOFError) as err:
        raise UnreadableExtract(f"{path.name} is not a readable gzip file: {err}") from err
    if b"\x00" in head:
        raise UnreadableExtract(f"{path.name} contains binary data (NUL bytes)")
    first_line = head.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace")
    names = next(csv.reader([first_line]), [])
    # Every column as text: the contract, not the CSV reader, decides types.
    convert = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names},
        strings_can_be_null=True,
        null_values=[""],
        quoted_strings_can_be_null=True,
    )
    # Complaint texts may hold line breaks inside quotes, as 12315 exports do.
    parse = pacsv.ParseOptions(newlines_in_values=True)
    return pacsv.read_csv(
        path, read_options=pacsv.ReadOptions(encoding="utf-8"), parse_options=parse, convert_options=convert
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
        native = _native(text, col)
        if native is not None:
            typed[col.name] = native
            continue
        cleaned = _clean(text, col)
        value, bad = _cast(cleaned, col)
        typed[col.name] = value
        if bad.any():
            shown = text[bad].astype(str).str.slice(0, 40)
            reasons[bad] = (
                reasons[bad]
                + f"{col.header}（{col.name}）应为{_TYPE_WORDS[col.type]} / expected {col.type}, got '"
                + shown
                + "'; "
            )
    return TypedBatch(frame=pd.DataFrame(typed, index=raw.index), reasons=reasons)


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
    if col.type in ("int", "float"):
        value = pd.to_numeric(text, errors="coerce")
        bad = present & value.isna()
        if col.type == "int":
            frac = value.notna() & (value != np.floor(value.fillna(0)))
            bad |= frac
            value = value.where(~frac).astype("Int64")
        return value.astype("Float64") if col.type == "float" else value, bad
    lowered = text.str.lower()
    value = pd.Series(pd.NA, index=text.index, dtype="boolean")
    value[lowered.isin(TRUE_WORDS)] = True
    value[lowered.isin(FALSE_WORDS)] = False
    return value, present & value.isna()
