"""Writing department extracts as departments export them, with a few realistic defects.

CSV extracts use the department's Chinese headers (from the source's contract); Parquet
extracts use the contract's raw column names. A small share of CSV rows gets the defects real
extracts have (bad check characters, impossible dates, duplicates, blank keys); every injected
defect is listed in the ground truth so the ingestion tests can check each one is caught.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from features.entity_id import USCC_ALPHABET
from pipelines.ingest.contracts import Contract

DEFECT_KINDS = (
    "bad_check_character",
    "unparseable_date",
    "future_knowledge_date",
    "before_establishment",
    "duplicate_row",
    "missing_key",
)


def to_raw_frame(frame: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """Order columns as the contract lists them; CSV extracts render dates as ISO text."""
    out = {}
    for col in contract.meta.columns:
        values = frame[col.name]
        if col.type == "date" and contract.meta.format == "csv":
            values = pd.to_datetime(values).dt.strftime("%Y-%m-%d")
        out[col.name] = values
    return pd.DataFrame(out)


def inject_defects(
    rng: np.random.Generator, raw: pd.DataFrame, contract: Contract, rate: float, extract_date: np.datetime64
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Corrupt about `rate` of the rows; returns the frame and a list of (row, kind)."""
    n = len(raw)
    k = rng.binomial(n, rate) if n else 0
    if k == 0:
        return raw, pd.DataFrame({"row": pd.Series(dtype=int), "kind": pd.Series(dtype=object)})
    raw = raw.copy()
    rows = rng.choice(n, size=k, replace=False)
    kinds = np.array(DEFECT_KINDS, dtype=object)[rng.integers(0, len(DEFECT_KINDS), k)]
    meta = contract.meta
    key = meta.entity_key
    dates = [c.name for c in meta.columns if c.type == "date" and c.required]
    for r, kind in zip(rows, kinds, strict=True):
        # Fall back to another defect where this one cannot apply (no code on the row, an optional
        # key, no event date), so every listed defect is one the contract must catch.
        has_code = key is not None and isinstance(raw[key].iat[r], str)
        if kind in ("bad_check_character", "missing_key", "before_establishment") and not has_code:
            kinds[rows == r] = kind = "future_knowledge_date"
        if kind == "missing_key" and not meta.column(str(key)).required:
            kinds[rows == r] = kind = "unparseable_date"
        if kind == "before_establishment" and not (meta.event_date and key == "uscc"):
            kinds[rows == r] = kind = "unparseable_date"
        if kind == "bad_check_character":
            code = str(raw.at[r, key])
            wrong = USCC_ALPHABET[(USCC_ALPHABET.index(code[17]) + 1 + int(rng.integers(30))) % 31]
            raw.at[r, key] = str(code)[:17] + wrong
        elif kind == "missing_key":
            raw.at[r, key] = None
        elif kind == "unparseable_date":
            raw.at[r, dates[int(rng.integers(len(dates)))]] = str(rng.choice(["2023-02-30", "不详", "20231301"]))
        elif kind == "future_knowledge_date":
            raw.at[r, meta.knowledge_date] = str(extract_date + int(rng.integers(30, 900)))
        elif kind == "before_establishment":
            raw.at[r, meta.event_date] = "1990-01-01"
    # A duplicate is placed right after its original, as a repeated export page would be.
    dup = rows[kinds == "duplicate_row"]
    source_row = np.concatenate([np.arange(n), dup])
    is_copy = np.concatenate([np.zeros(n, bool), np.ones(len(dup), bool)])
    order = np.lexsort((is_copy, source_row))
    position = np.empty(len(source_row), dtype=np.int64)
    position[order] = np.arange(len(source_row))
    raw = raw.iloc[source_row[order]].reset_index(drop=True)
    other = kinds != "duplicate_row"
    defects = pd.DataFrame(
        {
            "row": np.concatenate([position[rows[other]], position[n:]]),
            "kind": np.concatenate([kinds[other], kinds[~other]]),
        }
    )
    return raw, defects


def write_extract(raw: pd.DataFrame, contract: Contract, path: Path) -> None:
    """Write one part file: CSV with the department's headers, or Parquet."""
    path.parent.mkdir(parents=True, exist_ok=True)
    renamed = raw.rename(columns={c.name: c.header for c in contract.meta.columns})
    if contract.meta.format == "csv":
        table = pa.Table.from_pandas(
            renamed.astype(object).where(renamed.notna(), None).astype("string"), preserve_index=False
        )
        pacsv.write_csv(table, path)
    else:
        pq.write_table(pa.Table.from_pandas(renamed, preserve_index=False), path)
