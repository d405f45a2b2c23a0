"""Issue 23, defect 13: a link among the extracts that leads outside the raw folder is refused.

The raw folder is what departments deliver; a link there to /etc/passwd must not be read, and
its target's content must never reach the lake (bronze, quarantine, reports)."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.entity_id import uscc_check_char
from pipelines.ingest.flow import SourceResult, ingest_all
from pipelines.lake import current_version
from pipelines.settings import load_settings
from tests.factories import registration_row, write_csv

VALID = "91440604MA4UJ2KX1" + uscc_check_char("91440604MA4UJ2KX1")
SECRET = "root:x:0:0:SECRET-OUTSIDE-RAW:/root:/bin/bash"


def _ingest(home: Path) -> SourceResult:
    return ingest_all(load_settings(data_home=home), sources=["registration"]).sources[0]


def _secret_file(tmp_path: Path) -> Path:
    secret = tmp_path / "etc" / "passwd"
    secret.parent.mkdir()
    # Shaped like an extract, so that nothing but the link check could stop it being read.
    secret.write_text("统一社会信用代码,企业名称\n" + f"{SECRET},x\n" * 3, encoding="utf-8")
    return secret


def _lake_holds(home: Path, text: str) -> list[Path]:
    return [p for p in (home / "lake").rglob("*") if p.is_file() and text.encode() in p.read_bytes()]


def test_a_link_to_a_file_outside_the_raw_folder_is_refused_unread(tmp_path: Path, data_home: Path) -> None:
    write_csv(data_home, "registration", [registration_row(VALID)])
    (data_home / "raw" / "registration" / "part-00001.csv").symlink_to(_secret_file(tmp_path))
    result = _ingest(data_home)
    assert not result.ok and "part-00001.csv" in str(result.failure) and "outside the raw folder" in str(result.failure)
    assert any("refused" in f for f in result.unreadable_files)
    assert result.rows_in == result.rows_accepted + result.rows_quarantined == 1
    assert _lake_holds(data_home, "SECRET-OUTSIDE-RAW") == []
    assert current_version(data_home / "lake" / "bronze" / "registration") is None  # the source failed


def test_a_source_folder_linked_outside_the_raw_folder_is_refused(tmp_path: Path, data_home: Path) -> None:
    _secret_file(tmp_path)
    (data_home / "raw").mkdir(parents=True)
    (data_home / "raw" / "registration").symlink_to(tmp_path / "etc", target_is_directory=True)
    result = _ingest(data_home)
    assert not result.ok and "outside the raw folder" in str(result.failure)
    assert result.rows_in == 0 and _lake_holds(data_home, "SECRET-OUTSIDE-RAW") == []


@pytest.mark.parametrize("kind", ["broken", "folder"])
def test_a_link_to_no_file_is_reported_not_skipped(data_home: Path, kind: str) -> None:
    write_csv(data_home, "registration", [registration_row(VALID)])
    link = data_home / "raw" / "registration" / "part-00001.csv"
    target = data_home / "raw" / ("missing.csv" if kind == "broken" else "some_folder")
    if kind == "folder":
        target.mkdir()
    link.symlink_to(target)
    result = _ingest(data_home)
    assert not result.ok and "part-00001.csv" in str(result.failure)


def test_a_link_inside_the_raw_folder_is_read(data_home: Path) -> None:
    written = write_csv(data_home, "registration", [registration_row(VALID)])
    archived = data_home / "raw" / "archive" / "registration.csv"
    archived.parent.mkdir()
    written.rename(archived)
    written.symlink_to(archived)
    result = _ingest(data_home)
    assert result.ok and result.rows_accepted == 1
