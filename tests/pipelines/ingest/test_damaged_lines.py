"""A damaged line in a CSV extract costs that line only: it is quarantined with its line number
and reason, every other row is ingested, and records keep their numbers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.entity_id import uscc_check_char
from pipelines.ingest.flow import SourceResult, ingest_all
from pipelines.ingest.normalise import cast_to_contract, read_extract
from pipelines.lake import current_version
from pipelines.settings import load_settings
from tests.factories import contract, registration_row, write_csv


def code(body: str) -> str:
    first17 = f"91440604{body:0>9}"[:17]
    return first17 + uscc_check_char(first17)


GOOD = [code(str(i) * 9) for i in range(1, 6)]
DAMAGED = code("777777777")


def _ingest(home: Path) -> SourceResult:
    settings = load_settings(data_home=home, ingest={"max_quarantine_share": 0.5})
    return ingest_all(settings, sources=["registration"]).sources[0]


def _latest(home: Path, layer: str) -> pd.DataFrame:
    return pd.read_parquet(current_version(home / "lake" / layer / "registration"))


def _write_with_damaged_line(home: Path, damage: Callable[[bytes], bytes]) -> None:
    """Six registrations; the second (row 1, line 3 of the file) is damaged."""
    rows = [registration_row(c) for c in [GOOD[0], DAMAGED, *GOOD[1:]]]
    path = write_csv(home, "registration", rows)
    lines = path.read_bytes().split(b"\n")
    assert DAMAGED.encode() in lines[2]
    lines[2] = damage(lines[2])
    path.write_bytes(b"\n".join(lines))


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda line: line + b",EXTRA", "字段数不符 / expected 13 fields, got 14"),
        (lambda line: line.rsplit(b",", 1)[0], "字段数不符 / expected 13 fields, got 12"),
        # The status opens a quote it never closes; in this unquoted file it would run to the end.
        (lambda line: line.replace(",存续,".encode(), ',"存续,'.encode()), "a quote left open runs on"),
        (lambda line: line.decode().encode("gbk"), "not valid UTF-8"),
        (lambda line: line.replace("季华路".encode(), "季华\x00路".encode()), "contains a NUL byte"),
    ],
    ids=["extra_field", "missing_field", "open_quote", "gbk_bytes", "nul_byte"],
)
def test_a_damaged_line_is_quarantined_and_every_other_row_ingested(
    data_home: Path, damage: Callable[[bytes], bytes], reason: str
) -> None:
    _write_with_damaged_line(data_home, damage)
    reg = _ingest(data_home)
    assert reg.ok, reg.failure
    assert (reg.rows_in, reg.rows_accepted, reg.rows_quarantined) == (6, 5, 1)
    q = _latest(data_home, "quarantine")
    assert (q["row"].tolist(), q["line"].tolist()) == ([1], [3])
    assert reason in q["reason"].iat[0]
    assert DAMAGED in q["raw"].iat[0] or "\\x" in q["raw"].iat[0]  # the raw text is kept
    bronze = _latest(data_home, "bronze")
    assert set(bronze["uscc"]) == set(GOOD) and bronze["_source_row"].tolist() == [0, 2, 3, 4, 5]


def test_a_quote_left_open_in_free_text_does_not_swallow_the_lines_after_it(data_home: Path) -> None:
    # The address is the last column and this file quotes nothing: Arrow alone would read lines
    # 3 to the end as one record whose address runs on over the other rows.
    _write_with_damaged_line(data_home, lambda line: line)
    path = data_home / "raw" / "registration" / "part-00000.csv"
    frame = pd.read_csv(path, dtype=str)
    address = frame.pop("住所")
    frame.insert(len(frame.columns), "住所", address)
    frame.loc[1, "住所"] = '"' + frame.loc[1, "住所"]
    path.write_text(frame.to_csv(index=False, quoting=3), encoding="utf-8")  # QUOTE_NONE
    reg = _ingest(data_home)
    assert (reg.rows_in, reg.rows_accepted, reg.rows_quarantined) == (6, 5, 1)
    q = _latest(data_home, "quarantine")
    assert (q["row"].tolist(), q["line"].tolist()) == ([1], [3])
    assert "a quote left open runs on" in q["reason"].iat[0]


def test_quarantine_and_bronze_versions_move_together(data_home: Path) -> None:
    _write_with_damaged_line(data_home, lambda line: line + b",EXTRA")
    _ingest(data_home)
    lake = data_home / "lake"
    bronze, quarantine = (
        current_version(lake / "bronze" / "registration"),
        current_version(lake / "quarantine" / "registration"),
    )
    assert bronze is not None and quarantine is not None and bronze.name == quarantine.name


@pytest.mark.parametrize("blank_line", [False, True], ids=["clean_read", "line_by_line_read"])
def test_quarantine_gives_the_line_in_the_file(data_home: Path, blank_line: bool) -> None:
    rows = [
        registration_row(GOOD[0]),
        registration_row(GOOD[1], address="佛山市禅城区祖庙街道\n季华路1号101室"),  # two lines, quoted
        registration_row(GOOD[2], established_date="不详"),
    ]
    path = write_csv(data_home, "registration", rows)
    if blank_line:
        lines = path.read_bytes().split(b"\n")
        path.write_bytes(b"\n".join([*lines[:2], b"", *lines[2:]]))
    reg = _ingest(data_home)
    q = _latest(data_home, "quarantine")
    # header 1, first row 2, [blank], second row over two lines, third row after them
    assert reg.rows_quarantined == 1 and q["row"].tolist() == [2]
    assert q["line"].tolist() == [6 if blank_line else 5]
    assert _latest(data_home, "bronze")["_source_row"].tolist() == [0, 1]


@pytest.mark.parametrize("value", ["1e400", "inf", "-Infinity", "nan"])
def test_a_number_that_is_not_finite_is_quarantined(data_home: Path, value: str) -> None:
    rows = [registration_row(c) for c in GOOD] + [registration_row(DAMAGED, registered_capital_wan=value)]
    write_csv(data_home, "registration", rows)
    reg = _ingest(data_home)
    assert (reg.rows_accepted, reg.rows_quarantined) == (5, 1)
    q = _latest(data_home, "quarantine")
    assert f"（registered_capital_wan）应为有限数值 / expected a finite number, got '{value}'" in q["reason"].iat[0]
    assert np.isfinite(_latest(data_home, "bronze")["registered_capital_wan"]).all()


def test_integers_that_overflow_are_rejected_not_wrapped() -> None:
    reports = contract("annual_reports")
    raw = pd.DataFrame({"employees": ["12", "1e400", "99999999999999999999", "inf"]}, dtype=object)
    typed = cast_to_contract(raw, reports)
    assert typed.frame["employees"].tolist()[0] == 12 and typed.frame["employees"].iloc[1:].isna().all()
    assert typed.reasons.iat[0] == ""
    assert "expected a finite number" in typed.reasons.iat[1] and "expected a finite number" in typed.reasons.iat[3]
    assert "expected int" in typed.reasons.iat[2]


def test_an_infinity_in_a_parquet_float_column_is_rejected() -> None:
    raw = pd.DataFrame({"registered_capital_wan": [100.0, np.inf]})
    typed = cast_to_contract(raw, contract("registration"))
    assert typed.reasons.iat[0] == "" and "expected a finite number" in typed.reasons.iat[1]
    assert typed.frame["registered_capital_wan"].isna().tolist() == [False, True]


def test_a_clean_file_is_read_in_one_arrow_pass(data_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.ingest import csv_records

    rows = [registration_row(c) for c in GOOD]
    rows[1]["address"] = "佛山市禅城区\n祖庙街道"  # a line break in free text is not damage
    path = write_csv(data_home, "registration", rows)

    def no_line_by_line(*args: object) -> None:
        raise AssertionError("a clean file went line by line")

    monkeypatch.setattr(csv_records, "_read_damaged", no_line_by_line)
    batch = read_extract(path, contract("registration"))
    assert batch.frame.index.tolist() == [0, 1, 2, 3, 4] and batch.lines.tolist() == [2, 3, 5, 6, 7]
    assert batch.malformed.empty and batch.notes is None


def test_a_file_with_old_mac_line_endings_fails_as_a_whole_with_a_reason(data_home: Path) -> None:
    path = write_csv(data_home, "registration", [registration_row(c) for c in GOOD])
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r"))

    result = _ingest(data_home)

    assert not result.ok and result.failure is not None and "not a CSV header" in result.failure
