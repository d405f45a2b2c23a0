"""Issue 23, defect 10: an extract with far fewer rows than the published version is not
published unless an operator accepts the drop.

A header-only penalties extract was published as an empty table (425 rows to 0, `ok: true`), and
a header-only registration gave a profile of 0 enterprises. Now a source whose accepted rows fall
below `ingest.min_row_ratio` of its published version fails with the counts and keeps that
version; `regulens ingest --accept-drop SOURCE --actor NAME` publishes it, and the audit log and
the ingest summary record who accepted it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from features.entity_id import uscc_check_char
from pipelines.cli import app
from pipelines.ingest.flow import SourceResult, ingest_all
from pipelines.lake import current_version
from pipelines.opsdb import OpsStore, default_url
from pipelines.settings import load_settings
from tests.factories import registration_row, write_csv

runner = CliRunner(env={"TERMINAL_WIDTH": "200", "COLUMNS": "200"})
PUBLISHED = 4


def _code(i: int) -> str:
    body = f"91440604MA4UJ{i:04d}"
    return body + uscc_check_char(body)


def _registrations(home: Path, rows: int) -> None:
    """The registration extract with `rows` enterprises; 0 leaves the header line alone."""
    path = write_csv(home, "registration", [registration_row(_code(i)) for i in range(max(rows, 1))])
    if rows == 0:
        path.write_bytes(path.read_bytes().split(b"\n", 1)[0] + b"\n")


def _ingest(home: Path) -> SourceResult:
    return ingest_all(load_settings(data_home=home), sources=["registration"]).sources[0]


def _published_rows(home: Path) -> tuple[str, int]:
    version = current_version(home / "lake" / "bronze" / "registration")
    assert version is not None
    return version.name, len(pd.read_parquet(version))


@pytest.mark.parametrize(("rows", "ok"), [(2, True), (1, False), (0, False)])
def test_a_sharp_fall_in_rows_fails_with_the_counts_and_keeps_the_published_version(
    data_home: Path, rows: int, ok: bool
) -> None:
    _registrations(data_home, PUBLISHED)
    assert _ingest(data_home).ok
    before = _published_rows(data_home)
    _registrations(data_home, rows)
    result = _ingest(data_home)
    assert result.rows_in == result.rows_accepted == rows
    assert result.ok is ok  # half the rows is the default ingest.min_row_ratio (0.5): still published
    if ok:
        assert _published_rows(data_home)[1] == rows
    else:
        failure = str(result.failure)
        assert f"{rows:,} rows accepted against {PUBLISHED:,}" in failure and "ingest.min_row_ratio" in failure
        assert "--accept-drop registration" in failure
        assert _published_rows(data_home) == before


def test_the_operator_accepts_a_drop_with_a_flag_that_the_audit_log_records(data_home: Path) -> None:
    _registrations(data_home, PUBLISHED)
    assert _ingest(data_home).ok
    before = _published_rows(data_home)
    _registrations(data_home, 0)
    command = ["--json", "--data-home", str(data_home), "ingest", "--source", "registration"]

    refused = runner.invoke(app, command)
    assert refused.exit_code == 1, refused.output
    assert json.loads(refused.stdout)["sources"][0]["accepted_drop"] is None
    no_actor = runner.invoke(app, [*command, "--accept-drop", "registration"])
    assert no_actor.exit_code == 2 and "--actor" in no_actor.output
    assert _published_rows(data_home) == before

    accepted = runner.invoke(app, [*command, "--accept-drop", "registration", "--actor", "王科长"])
    assert accepted.exit_code == 0, accepted.output
    summary = json.loads(accepted.stdout)
    drop = summary["sources"][0]["accepted_drop"]
    assert drop["rows"] == 0 and drop["previous_rows"] == PUBLISHED and drop["actor"] == "王科长"
    assert drop["previous_version"] == before[0]
    on_disk = json.loads((Path(summary["report_dir"]) / "summary.json").read_text(encoding="utf-8"))
    assert on_disk["sources"][0]["accepted_drop"] == drop
    assert _published_rows(data_home)[1] == 0
    (entry,) = [e for e in OpsStore(default_url(data_home)).audit_log() if e["action"] == "ingest accept-drop"]
    assert entry["actor"] == "王科长" and entry["plan_id"] is None
    assert entry["detail"]["source"] == "registration" and entry["detail"]["previous_rows"] == PUBLISHED
    assert entry["detail"]["run_id"] == summary["run_id"]


def test_accepting_a_drop_of_an_unknown_source_exits_2(data_home: Path) -> None:
    _registrations(data_home, PUBLISHED)
    command = ["--data-home", str(data_home), "ingest", "--accept-drop", "registrations", "--actor", "王科长"]
    result = runner.invoke(app, command)
    assert result.exit_code == 2 and "no contract for source" in result.output
