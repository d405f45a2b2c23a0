"""`regulens train | model promote | score | explain` end to end with MLflow.

Most tests run on a planted lake (tests.factories.planted_lake): 600 random-draw labels per date
make the comparisons meaningful. One test trains on the small city's real profiles.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing

import mlflow
import pandas as pd
import pytest
from typer.testing import CliRunner

from models.labels import training_labels
from models.registry import ARTIFACT_COLUMNS, CHAMPION, MODEL_NAME, connect, follow_moved_home, version_by_alias
from models.violation import ViolationModel
from pipelines.cli import app
from pipelines.lake import current_version
from pipelines.modelling.data import load_frame
from pipelines.modelling.report import evaluate_holdout
from pipelines.modelling.scoring import load_model
from pipelines.modelling.tracking import load_catalogue, log_training
from pipelines.modelling.train import TrainOptions, train
from tests.conftest import HALF_YEARLY
from tests.factories import planted_lake, settings_for

pytestmark = pytest.mark.slow
runner = CliRunner(env={"TERMINAL_WIDTH": "200", "COLUMNS": "200"})


def run(settings, *args: str) -> tuple[int, dict]:
    result = runner.invoke(app, ["--json", "--data-home", str(settings.data_home), *args])
    return result.exit_code, (json.loads(result.stdout) if result.stdout.strip().startswith("{") else {})


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    settings = settings_for(tmp_path_factory.mktemp("planted"))
    planted_lake(settings.data_home, HALF_YEARLY)
    code, before = run(settings, "score")
    assert code == 2, "scoring without a registered model is a usage error"
    code, summary = run(settings, "train", "--factors", "8")
    assert code == 0, summary
    return settings, summary


def test_train_registers_a_challenger_with_its_evidence(trained) -> None:
    settings, summary = trained
    assert len(summary["factors"]) == 8 and summary["holdout_as_of"] == "2025-07-01"
    assert {"complaints_365d", "paid_in_ratio", "industry_code"} <= set(summary["factors"][:4]), "the planted risk"
    assert 0 <= summary["stability"] <= 1
    assert summary["factor_curve"][0]["factors"] == 14, "the curve starts at every candidate"
    assert summary["headline_at_5pct"]["auc"] > 0.7
    client = connect(settings.data_home / "mlflow")
    assert version_by_alias(client, "challenger") == summary["model_version"]
    artifacts = settings.data_home / "mlflow" / "artifacts"
    names = {p.name for p in artifacts.rglob("*")}
    expected = {"model_card.md", "calibration.png", "lift.png", "shap_summary.png", "fairness.csv", "snapshot.json"}
    assert expected <= names
    card = next(artifacts.rglob("model_card.md")).read_text(encoding="utf-8")
    assert "Fairness" in card and summary["factors"][0] in card


def test_promote_score_and_explain(trained) -> None:
    settings, summary = trained
    code, promoted = run(settings, "model", "promote")
    assert code == 0 and promoted["promoted"], promoted
    code, scored = run(settings, "score", "--as-of", "2025-07-01")
    assert code == 0 and scored["model_version"] == summary["model_version"]
    scores = pd.read_parquet(current_version(settings.lake_dir / "scores" / "as_of=2025-07-01"))
    assert sorted(scores["rank"]) == list(range(1, len(scores) + 1))
    assert scores["percentile"].between(0, 100).all() and scores["probability"].between(0, 1).all()
    top = scores.sort_values("rank").iloc[0]
    assert top["percentile"] == 100.0
    code, why = run(settings, "explain", top["uscc"], "--as-of", "2025-07-01", "--top", "5")
    assert code == 0 and len(why["reasons"]) == 5
    assert all(r["text"].endswith(f"({r['contribution']:+.2f})") for r in why["reasons"])
    total = why["base_log_odds"] + sum(r["contribution"] for r in why["reasons"]) + why["other_contribution"]
    assert total == pytest.approx(why["log_odds"], abs=1e-6)
    assert abs(why["reasons"][0]["contribution"]) >= abs(why["reasons"][-1]["contribution"])
    assert set(why["values"]) == set(summary["factors"])
    assert why["reasons"][0]["feature"] in {"complaints_365d", "paid_in_ratio", "industry_code"}
    code, _ = run(settings, "explain", "91440000000000000X", "--as-of", "2025-07-01")
    assert code == 2


def test_the_gate_refuses_a_deliberately_worse_challenger(trained) -> None:
    settings, _ = trained
    client = connect(settings.data_home / "mlflow")
    champion = version_by_alias(client, CHAMPION)
    assert champion is not None
    # The same flow, then the model swapped for one trained on inverted labels: it ranks the
    # violators last, so on the same holdout it must lose to the champion.
    options = TrainOptions(factors=8, curve=())
    result = train(settings, options)
    fold = result.holdout_fold
    rows = load_frame(settings, list(fold.train), options.horizon_days, labelled_only=True)
    valid = load_frame(settings, [fold.validation], options.horizon_days, labelled_only=True)
    lt, lv = training_labels(rows, options.label_policy), training_labels(valid, options.label_policy)
    worse = ViolationModel(seed=options.seed).fit(
        rows.iloc[lt.rows][result.factors], 1 - lt.target, lt.weight,
        eval_set=(valid.iloc[lv.rows][result.factors], 1 - lv.target, lv.weight),
    )
    holdout = load_frame(settings, [fold.test], options.horizon_days)
    result.model = worse
    result.report = evaluate_holdout(settings, holdout, fold.test, options.horizon_days, worse)
    logged = log_training(settings, result, holdout[result.factors], load_catalogue(settings))
    code, decision = run(settings, "model", "promote")
    assert code == 1 and not decision["promoted"]
    assert any("does not beat the champion" in r for r in decision["reasons"]), decision["reasons"]
    assert decision["challenger"]["auc"] < decision["champion"]["auc"]
    assert version_by_alias(client, CHAMPION) == champion, "a refused promotion leaves the champion in place"
    tags = client.get_model_version(MODEL_NAME, logged["model_version"]).tags
    assert tags["promotion_decision"].startswith("refused")
    code, listed = run(settings, "model", "list")
    assert code == 0 and len(listed["versions"]) == 2
    assert listed["versions"][0]["aliases"] == ["champion"] and listed["versions"][1]["aliases"] == ["challenger"]


def test_bad_arguments_exit_2(trained) -> None:
    settings, _ = trained
    code, _ = run(settings, "train", "--label-policy", "magic")
    assert code == 2
    code, _ = run(settings, "score", "--as-of", "2025-13-01")
    assert code == 2
    for loose in ("20250701", "2025-07-01junk"):  # strict YYYY-MM-DD, as every other --as-of
        refused = runner.invoke(app, ["--data-home", str(settings.data_home), "explain", "X", "--as-of", loose])
        assert refused.exit_code == 2 and "expected a date like 2025-07-01" in refused.output, refused.output
    home = ["--data-home", str(settings.data_home)]
    refused = runner.invoke(app, [*home, "train", "--before", "2024-01-01"])
    assert refused.exit_code == 2 and "only for event-keyed jurisdictions" in refused.output
    refused = runner.invoke(app, [*home, "compare", "--horizon", "90"])
    assert refused.exit_code == 2 and "no labels for a 90-day horizon on the profiled dates" in refused.output


def test_train_runs_on_the_small_citys_real_profiles(profiled_city) -> None:
    # Only about 60 random-draw labels per date: this checks the flow, not the model's accuracy.
    code, summary = run(profiled_city, "train", "--factors", "6")
    assert code == 0, summary
    assert len(summary["factors"]) == 6 and summary["factor_curve"][0]["factors"] > 1000


def test_a_copied_data_home_reads_and_writes_its_own_artifacts(trained, tmp_path) -> None:
    settings, summary = trained
    copy = settings_for(tmp_path / "copy")
    shutil.copytree(settings.data_home, copy.data_home)
    original = settings.data_home / "mlflow" / "artifacts"
    hidden = original.with_name("artifacts-hidden")
    original.rename(hidden)  # the copy must not need the original's folder
    try:
        model, version = load_model(copy, summary["model_version"])
        assert version == summary["model_version"] and model.feature_names_ == summary["factors"]
        connect(copy.data_home / "mlflow")
        with mlflow.start_run() as run:  # a new run in the copy, as a notebook experiment would log
            mlflow.log_text("written by the copy", "probe.txt")
        assert (copy.data_home / "mlflow" / "artifacts" / run.info.run_id / "artifacts" / "probe.txt").is_file()
        here, there = ((h / "mlflow").resolve().as_uri() for h in (copy.data_home, settings.data_home))
        with closing(sqlite3.connect(copy.data_home / "mlflow" / "mlflow.db")) as stored:
            for table, column in ARTIFACT_COLUMNS:
                paths = [row[0] for row in stored.execute(f"SELECT {column} FROM {table}")]
                assert any(p.startswith(here) for p in paths), table
                assert not any(p.startswith(there) for p in paths), table
        assert not original.exists(), "nothing was written to the original's artifact folder"
    finally:
        hidden.rename(original)
    assert follow_moved_home(settings.data_home / "mlflow") is None, "the original's own store is left alone"


def test_a_copy_without_its_artifacts_folder_says_so(trained, tmp_path) -> None:
    settings, summary = trained
    home = tmp_path / "half"
    (home / "mlflow").mkdir(parents=True)
    shutil.copy2(settings.data_home / "mlflow" / "mlflow.db", home / "mlflow" / "mlflow.db")
    with pytest.raises(FileNotFoundError, match="copy the whole mlflow folder"):
        follow_moved_home(home / "mlflow")
    (home / "mlflow" / "mlflow.db").write_bytes(b"")  # not set up yet: left to MLflow
    assert follow_moved_home(home / "mlflow") is None
