"""`regulens grade` and `regulens grade fit` on the small city."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.grading import load_scorecard
from pipelines.lake import current_version

runner = CliRunner(env={"TERMINAL_WIDTH": "200", "COLUMNS": "200"})
DATES = ("2023-07-01", "2024-01-01", "2024-07-01")


@pytest.fixture(scope="module")
def profiled(profiled_city):
    """The shared small city, profiled half-yearly (DATES are among its as-of dates)."""
    return profiled_city


def invoke(settings, *args: str):
    return runner.invoke(app, ["--json", "--data-home", str(settings.data_home), *args])


def test_grade_every_enterprise_and_print_the_distribution(profiled) -> None:
    result = invoke(profiled, "grade", "--as-of", "2024-07-01")

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    grades = pd.read_parquet(current_version(profiled.lake_dir / "grades" / "default" / "as_of=2024-07-01"))
    profile = pd.read_parquet(current_version(profiled.lake_dir / "profiles" / "as_of=2024-07-01"))
    assert sorted(grades["uscc"]) == sorted(profile["uscc"])  # every enterprise, once
    assert summary["graded"] + summary["excluded"] == summary["enterprises"] == len(profile)
    assert sum(summary["by_grade"].values()) == summary["graded"]
    assert grades.loc[~grades["excluded"], "grade"].notna().all()
    assert (grades["scorecard_version"] == summary["scorecard_version"]).all()
    listed = profile.set_index("uscc")["serious_dishonesty_listed_now"].reindex(grades["uscc"]).to_numpy() == 1
    assert set(grades.loc[listed & ~grades["excluded"].to_numpy(), "grade"]) <= {"D"}
    shares = summary["share_by_grade"]
    assert shares["A"] + shares["B"] > 0.5 and shares["D"] < 0.2  # mostly A/B, few D


def test_grade_with_another_ratio_table_and_a_bad_scorecard(profiled, tmp_path) -> None:
    ok = invoke(profiled, "grade", "--as-of", "2024-07-01", "--ratios", "county_example")
    assert ok.exit_code == 0 and json.loads(ok.stdout)["ratio_table"] == "county_example"

    bad = tmp_path / "bad.yaml"
    bad.write_text("version: x\nname: x\ndimensions: []\nbands: []\n", encoding="utf-8")
    result = invoke(profiled, "grade", "--as-of", "2024-07-01", "--scorecard", str(bad))
    assert result.exit_code == 2 and "dimensions" in result.output

    missing = invoke(profiled, "grade", "--as-of", "2020-01-01")
    assert missing.exit_code == 2 and "regulens profile --as-of 2020-01-01" in missing.output


def test_fit_the_learned_card_then_grade_with_it(profiled) -> None:
    fit = invoke(
        profiled,
        "grade",
        "fit",
        "--train-as-of",
        "2023-07-01",
        "--train-as-of",
        "2024-01-01",
        "--holdout-as-of",
        "2024-07-01",
    )
    assert fit.exit_code == 0, fit.output
    summary = json.loads(fit.stdout)
    assert summary["features"] and 0.5 < summary["auc"]["2024-07-01"] <= 1
    card = load_scorecard(Path(summary["path"]))
    assert card.spec.version == summary["scorecard_version"]

    graded = invoke(profiled, "grade", "--as-of", "2024-07-01", "--learned")
    assert graded.exit_code == 0, graded.output
    grades = pd.read_parquet(current_version(profiled.lake_dir / "grades" / "learned" / "as_of=2024-07-01"))
    assert np.all(grades["scorecard_version"] == summary["scorecard_version"])


def test_holdout_must_come_after_training(profiled) -> None:
    result = invoke(profiled, "grade", "fit", "--train-as-of", "2024-01-01", "--holdout-as-of", "2023-07-01")

    assert result.exit_code == 2 and "after every training date" in result.output


def test_show_one_enterprise_grade_with_its_reasons(profiled) -> None:
    invoke(profiled, "grade", "--as-of", "2024-07-01")
    grades = pd.read_parquet(current_version(profiled.lake_dir / "grades" / "default" / "as_of=2024-07-01"))
    worst = grades[~grades["excluded"]].sort_values("score").iloc[0]

    result = invoke(profiled, "grade", "show", worst["uscc"], "--as-of", "2024-07-01")

    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["score"] == worst["score"] and doc["grade"] == worst["grade"]
    assert doc["reasons"] and all("扣" in r["text"] for r in doc["reasons"])
    missing = invoke(profiled, "grade", "show", "91440604000000000X", "--as-of", "2024-07-01")
    assert missing.exit_code == 2 and "no enterprise" in missing.output
    unknown = invoke(profiled, "grade", "show", worst["uscc"], "--as-of", "2024-07-01", "--card", "nonsense")
    assert unknown.exit_code == 2 and "card named 'nonsense'; expected one of: default" in unknown.output
