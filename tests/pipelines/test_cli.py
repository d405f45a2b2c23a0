"""The command line: exit codes 0 / 1 / 2, the JSON summary, settings precedence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.settings import load_settings

runner = CliRunner(env={"TERMINAL_WIDTH": "200", "COLUMNS": "200"})


def test_bad_arguments_exit_2_with_a_message(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--data-home", str(tmp_path), "generate", "--enterprises", "abc"])
    assert result.exit_code == 2 and "Invalid value for '--enterprises'" in result.output
    result = runner.invoke(app, ["--data-home", str(tmp_path), "generate", "--enterprises", "5"])
    assert result.exit_code == 2 and "100" in result.output


def test_bad_settings_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGULENS_GENERATE__DEFECT_RATE", "lots")
    result = runner.invoke(app, ["--data-home", str(tmp_path), "generate"])
    assert result.exit_code == 2 and "defect_rate" in result.output


def test_ingest_without_extracts_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--data-home", str(tmp_path), "ingest"])
    assert result.exit_code == 2 and "regulens generate" in result.output


def test_generate_then_ingest_with_json_summaries(tmp_path: Path) -> None:
    gen = runner.invoke(
        app, ["--json", "--data-home", str(tmp_path), "generate", "--enterprises", "300", "--seed", "2"]
    )
    assert gen.exit_code == 0, gen.output
    summary = json.loads(gen.stdout)
    assert summary["ok"] and summary["enterprises"] == 300 and summary["rows_total"] > 10_000
    ing = runner.invoke(
        app, ["--json", "--data-home", str(tmp_path), "ingest", "--source", "registration", "--source", "inspections"]
    )
    assert ing.exit_code == 0, ing.output
    report = json.loads(ing.stdout)
    assert [s["source"] for s in report["sources"]] == ["registration", "inspections"]
    for s in report["sources"]:
        assert s["rows_in"] == s["rows_accepted"] + s["rows_quarantined"]


def test_a_source_that_fails_its_check_exits_1(tmp_path: Path) -> None:
    runner.invoke(app, ["--data-home", str(tmp_path), "generate", "--enterprises", "300"])
    (tmp_path / "raw" / "registration" / "part-00001.csv").write_bytes(b"\x00\x01 not a csv")
    result = runner.invoke(app, ["--data-home", str(tmp_path), "ingest", "--source", "registration"])
    assert result.exit_code == 1
    assert "FAILED" in result.stdout and "sources that failed their check: registration" in result.stdout


def test_settings_precedence_flag_over_env_over_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "regulens.yaml"
    config.write_text("data_home: from-yaml\ngenerate:\n  seed: 1\n  enterprises: 500\n", encoding="utf-8")
    assert load_settings(config).generate.seed == 1
    monkeypatch.setenv("REGULENS_GENERATE__SEED", "2")
    settings = load_settings(config)
    assert settings.generate.seed == 2 and settings.generate.enterprises == 500
    assert settings.data_home == Path("from-yaml")
    assert load_settings(config, data_home=tmp_path).data_home == tmp_path


def test_unknown_settings_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "regulens.yaml"
    config.write_text("generate:\n  enterprise: 500\n", encoding="utf-8")  # typo: enterprises
    with pytest.raises(ValueError, match="enterprise"):
        load_settings(config)
    with pytest.raises(FileNotFoundError):
        load_settings(tmp_path / "missing.yaml")
