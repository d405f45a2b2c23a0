"""Issue 23, defect 12: a file whose header is not the contract's keeps its rows in the accounting.

Its records are counted (rows in = accepted + quarantined), quarantined with the reason and their
text, and the file is kept byte for byte under the run's quarantine `files/`."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pipelines.ingest.flow import ingest_all
from pipelines.settings import load_settings
from tests.factories import registration_row, write_csv

CODES = ["91440604MA4UJ2KX1Q", "91440604MA4UJ2KX2Q", "91440604MA4UJ2KX3Q"]


def _with_header(path: Path, header: str) -> bytes:
    """The extract with its header line replaced; the file's new bytes."""
    lines = path.read_bytes().split(b"\n", 1)
    data = header.encode("utf-8") + b"\n" + lines[1]
    path.write_bytes(data)
    return data


@pytest.mark.parametrize(
    "header",
    [
        # As many columns as the data, none of them the contract's (an export in another layout).
        ",".join(f"column_{i}" for i in range(13)),
        # Fewer columns than the data: every record also has the wrong number of fields.
        "foo,bar",
    ],
)
def test_a_file_with_a_wrong_header_counts_and_keeps_its_rows(data_home: Path, header: str) -> None:
    path = write_csv(data_home, "registration", [registration_row(c) for c in CODES])
    data = _with_header(path, header)
    result = ingest_all(load_settings(data_home=data_home), sources=["registration"]).sources[0]
    assert (result.rows_in, result.rows_accepted, result.rows_quarantined) == (3, 0, 3)
    assert not result.ok and "all 3 rows quarantined" in str(result.failure)
    quarantine = data_home / "lake" / "quarantine" / "registration"
    (kept,) = quarantine.glob("*/files/part-00000.csv")
    assert kept.read_bytes() == data
    rows = pd.read_parquet(kept.parents[1] / "part-00000.parquet")
    assert len(rows) == 3 and rows["row"].tolist() == [0, 1, 2]
    # Each quarantined row carries its own text, whatever the header called its columns.
    for code, raw in zip(CODES, rows["raw"], strict=True):
        assert code in "".join(str(v) for v in json.loads(raw).values())
