"""The quarantine: every row a source rejected, with the reasons and its raw text.

One Parquet part per extract file, under `lake/quarantine/<source>/<run>/`, published with the
run's bronze version (CURRENT of both names the same run).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa

from pipelines.ingest.normalise import RawBatch

QUARANTINE_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("file", pa.string()),
        ("row", pa.int64()),  # the record's number in the file, from 0 (bronze's `_source_row`)
        ("line", pa.int64()),  # the line of the file it starts on, from 1; null for Parquet
        ("reason", pa.string()),
        ("raw", pa.string()),
    ]
)


def quarantined_rows(source: str, file: str, batch: RawBatch, bad: np.ndarray, reasons: pd.Series) -> pd.DataFrame:
    """The file's rejected rows and malformed lines in file order: the row number, the line, every
    reason, and the raw text as JSON (a malformed line's as {"_line": text})."""
    rows = batch.frame[bad]
    if batch.extras is not None:  # the raw text is the whole record, not only the contract's columns
        rows = pd.concat([rows, batch.extras[bad]], axis=1)
    frame = pd.DataFrame(
        {
            "row": rows.index.to_numpy(dtype="int64"),
            "line": np.nan if batch.lines is None else batch.lines[bad].astype("float64"),
            "reason": reasons[bad].to_numpy(dtype=object),
            "raw": [json.dumps(r, ensure_ascii=False, default=str) for r in rows.to_dict(orient="records")],
        }
    )
    lines = batch.malformed
    malformed = pd.DataFrame(
        {
            "row": lines["row"].to_numpy(dtype="int64"),
            "line": lines["line"].to_numpy(dtype="float64"),
            "reason": lines["reason"].to_numpy(dtype=object),
            "raw": [json.dumps({"_line": t}, ensure_ascii=False) for t in lines["text"]],
        }
    )
    out = pd.concat([frame, malformed], ignore_index=True).sort_values("row", kind="stable")
    out["line"] = out["line"].astype("Int64")
    out["reason"] = out["reason"].str.rstrip("; ")
    return out.assign(source=source, file=file)[QUARANTINE_SCHEMA.names]
