"""Issue 23, defect 11: one value of megabytes must not make a whole extract unreadable.

Arrow read CSV in 1 MiB blocks and could not split a record of about 2 MiB or more across them,
so one 2 MB complaint text blocked all 4,968 complaints. Now the blocks grow to fit, and a value
over the field-size limit (`ingest.max_field_mib`) quarantines its own row with the reason."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from features.entity_id import uscc_check_char
from pipelines.ingest.flow import SourceResult, ingest_all
from pipelines.lake import current_version
from pipelines.settings import load_settings
from tests.factories import registration_row, write_csv

ROWS = 30  # one long row in 30 is under the 5% quarantine share that fails a source
LONG_AT = 20
LONG_ADDRESS = "佛山市禅城区" + "长" * 1_000_000  # 3 MB of UTF-8 in one value


def _code(i: int) -> str:
    body = f"91440604MA4UJ{i:04d}"
    return body + uscc_check_char(body)


def _extract(home: Path, damaged_line: bool = False) -> Path:
    rows = [registration_row(_code(i), name=f"佛山市禅城区恒{i}五金有限公司") for i in range(ROWS)]
    rows[LONG_AT]["address"] = LONG_ADDRESS
    path = write_csv(home, "registration", rows)
    if damaged_line:  # so that the file is also read the slow way, line by line
        with path.open("a", encoding="utf-8") as fh:
            fh.write("only,three,fields\n")
    return path


def _ingest(home: Path, **ingest: object) -> SourceResult:
    settings = load_settings(data_home=home, ingest=ingest)
    return ingest_all(settings, sources=["registration"]).sources[0]


def _published(home: Path, layer: str) -> pd.DataFrame:
    version = current_version(home / "lake" / layer / "registration")
    assert version is not None, f"no published {layer} version"
    return pd.read_parquet(version)


@pytest.mark.parametrize("damaged_line", [False, True], ids=["clean file", "file with a damaged line"])
def test_a_value_over_the_limit_quarantines_its_row_and_the_rest_is_ingested(
    data_home: Path, damaged_line: bool
) -> None:
    _extract(data_home, damaged_line)
    result = _ingest(data_home, max_quarantine_share=0.1)
    assert result.ok, result.failure
    assert (result.rows_in, result.rows_accepted) == (ROWS + damaged_line, ROWS - 1)
    assert result.rows_in == result.rows_accepted + result.rows_quarantined
    bronze = _published(data_home, "bronze")
    assert len(bronze) == ROWS - 1 and _code(LONG_AT) not in set(bronze["uscc"])
    quarantine = _published(data_home, "quarantine")
    long_row = quarantine[quarantine["row"] == LONG_AT].iloc[0]
    assert "ingest.max_field_mib" in long_row["reason"] and "住所" in long_row["reason"]
    assert json.loads(long_row["raw"])["address"] == LONG_ADDRESS  # kept whole, nothing lost


def test_a_long_value_within_the_limit_is_read(data_home: Path) -> None:
    _extract(data_home)
    result = _ingest(data_home, max_field_mib=4)
    assert result.ok and (result.rows_accepted, result.rows_quarantined) == (ROWS, 0)
    bronze = _published(data_home, "bronze")
    assert bronze.loc[bronze["uscc"] == _code(LONG_AT), "address"].item() == LONG_ADDRESS


def test_the_limit_is_in_bytes_and_a_value_at_it_is_kept(data_home: Path) -> None:
    limit = int(0.001 * (1 << 20))  # max_field_mib=0.001: 1,048 bytes
    at, over = ("佛" + "A" * (limit - 3 + extra) for extra in (0, 1))  # 佛 is 3 bytes in UTF-8
    write_csv(
        data_home, "registration", [registration_row(_code(0), address=at), registration_row(_code(1), address=over)]
    )
    result = _ingest(data_home, max_field_mib=0.001, max_quarantine_share=1.0)
    assert (result.rows_accepted, result.rows_quarantined) == (1, 1)
    quarantine = _published(data_home, "quarantine")
    assert quarantine["row"].tolist() == [1] and f"{limit + 1:,} bytes" in quarantine["reason"].item()
