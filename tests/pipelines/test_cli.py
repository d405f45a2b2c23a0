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


def test_a_mistyped_data_home_is_refused_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "dta"
    for command in (["plan", "list"], ["model", "list"], ["score"]):
        result = runner.invoke(app, ["--data-home", str(missing), *command])
        assert result.exit_code == 2 and "does not exist; expected a data home" in result.output, command
    assert not missing.exists()
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    result = runner.invoke(app, ["--data-home", str(a_file), "model", "list"])
    assert result.exit_code == 2 and "is a file; expected the data home folder" in result.output


@pytest.mark.parametrize(
    ("text", "said"), [("a: [1,\n", "while parsing"), ("just words\n", "expected a mapping of settings")]
)
def test_a_settings_file_that_is_not_a_mapping_exits_2(tmp_path: Path, text: str, said: str) -> None:
    config = tmp_path / "regulens.yaml"
    config.write_text(text)
    result = runner.invoke(app, ["--config", str(config), "--data-home", str(tmp_path), "model", "list"])
    assert result.exit_code == 2 and "bad settings" in result.output and said in result.output


def test_the_entry_point_turns_a_folder_it_cannot_write_into_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import pipelines.cli as cli

    def refused() -> None:
        raise PermissionError(13, "Permission denied", "/srv/regulens/lake/scores")

    monkeypatch.setattr(cli, "app", refused)
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    assert stopped.value.code == 2
    said = capsys.readouterr().err
    assert said.strip() == "cannot read or write /srv/regulens/lake/scores: Permission denied"


def test_the_entry_point_turns_a_database_it_cannot_use_into_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    from sqlalchemy.exc import OperationalError

    import pipelines.cli as cli

    def read_only() -> None:
        cause = sqlite3.OperationalError("attempt to write a readonly database")
        raise OperationalError("INSERT INTO audit ...", {}, cause)

    monkeypatch.setattr(cli, "app", read_only)
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    assert stopped.value.code == 2
    assert capsys.readouterr().err.strip() == "cannot use the database: attempt to write a readonly database"
