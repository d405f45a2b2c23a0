"""Verifiable randomness: a commitment to the plan's inputs, and the seed it yields.

Protocol (commit, then reveal):
1. Before the draw, the canonical inputs (the eligible list with every entity's π, the exclusions,
   the inspector roster and conflicts, the policy, capacity and rules, the model and scorecard
   versions) are hashed into `commitment` = SHA-256 of a manifest, and the commitment is published.
2. A public value nobody controls is fixed afterwards (a lottery result, a value a notary enters).
3. seed = SHA-256(commitment ‖ public value) read as a 256-bit big-endian integer; it seeds
   PCG64, which draws the targets stratum by stratum and then the inspectors.
Whoever holds the inputs can recompute the commitment and the seed and re-run the draw; since the
public value came after the commitment, nobody could have tuned the inputs to the seed.

Canonical form of a table (rows in the order the draw uses: sorted by key). Each column is
encoded on its own and hashed with SHA-256:
- numbers: IEEE-754 float64, big-endian, −0.0 written as 0.0, every NaN as the same quiet NaN;
- dates: "YYYY-MM-DD", missing as the empty string, then as text;
- text: UTF-8, values joined by U+001F (unit separator), which no value may contain.
A table's entry in the manifest lists its row count and (name, kind, digest) for each column in
a fixed order. The manifest is JSON with sorted keys, no spaces, UTF-8 (not ASCII-escaped).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

SCHEME = "regulens-draw-commitment/1"
SEPARATOR = "\x1f"
CANONICAL_NAN = np.frombuffer(b"\x7f\xf8\x00\x00\x00\x00\x00\x00", dtype=">f8")[0]


class CanonicalFormError(ValueError):
    """A value cannot be written in the canonical form (e.g. text holding the separator)."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def column_digest(values: pd.Series) -> tuple[str, str]:
    """(kind, SHA-256 hex) of one column in its canonical encoding (see the module docstring)."""
    name = str(values.name)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        days = pa.array(values.to_numpy(dtype="datetime64[D]"), from_pandas=True)  # NaT → null
        text = pc.fill_null(pc.strftime(days.cast(pa.timestamp("s")), format="%Y-%m-%d"), "")
        return "date", _sha256(_text_bytes(text, name))
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        x = values.to_numpy(dtype=np.float64) + 0.0  # −0.0 + 0.0 = +0.0
        x = np.where(np.isnan(x), CANONICAL_NAN, x).astype(">f8")
        return "float64", _sha256(x.tobytes())
    return "text", _sha256(_text_bytes(pa.Array.from_pandas(values.astype(str)), name))


def _text_bytes(values: pa.Array, name: str) -> bytes:
    """UTF-8 values joined by U+001F, built in Arrow (no Python loop over the rows)."""
    text = values.cast(pa.large_string())
    if len(text) and pc.sum(pc.count_substring(text, SEPARATOR)).as_py():
        raise CanonicalFormError(f"column {name!r}: text expected without U+001F, found it in some value")
    whole = pa.LargeListArray.from_arrays(pa.array([0, len(text)], pa.int64()), text)
    return pc.binary_join(whole, pa.scalar(SEPARATOR, pa.large_string()))[0].as_buffer().to_pybytes()


def table_digest(frame: pd.DataFrame) -> dict[str, Any]:
    """The manifest entry of one table: its rows and each column's (name, kind, digest)."""
    return {
        "rows": len(frame),
        "columns": [[str(col), *column_digest(frame[col].rename(str(col)))] for col in frame.columns],
    }


def canonical_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def manifest(tables: dict[str, pd.DataFrame], settings: dict[str, Any]) -> dict[str, Any]:
    """The document the commitment hashes: the scheme, the settings and every table's digest."""
    return {"scheme": SCHEME, "settings": settings, "tables": {name: table_digest(f) for name, f in tables.items()}}


def commit(document: dict[str, Any]) -> str:
    """The commitment: SHA-256 hex of the canonical manifest."""
    return _sha256(canonical_json(document))


def derive_seed(commitment: str, public_value: str) -> int:
    """seed = SHA-256(commitment ‖ public value) as a 256-bit big-endian integer.

    The commitment is 64 hex characters, so the concatenation cannot be split two ways."""
    if len(commitment) != 64 or any(c not in "0123456789abcdef" for c in commitment):
        raise ValueError(f"commitment expected 64 lowercase hex characters, got {commitment!r}")
    if not public_value.strip():
        raise ValueError("public value expected a non-empty string (e.g. the lottery draw), got an empty one")
    digest = hashlib.sha256(commitment.encode("ascii") + public_value.encode("utf-8")).digest()
    return int.from_bytes(digest, "big")
