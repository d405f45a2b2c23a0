"""Logging a training run to MLflow: parameters, the data snapshot, the short list, every metric
and table, the plots, the model card, and the model itself as a new registered version."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from collections.abc import Mapping

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mlflow  # noqa: E402
import mlflow.sklearn  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shap  # noqa: E402
from mlflow import MlflowClient  # noqa: E402

from models.registry import CHALLENGER, MODEL_NAME, connect  # noqa: E402
from pipelines.modelling.card import model_card  # noqa: E402
from pipelines.modelling.data import load_catalogue  # noqa: E402,F401  (re-exported for callers)
from pipelines.modelling.run_owner import owner_tags  # noqa: E402
from pipelines.modelling.train import TrainResult  # noqa: E402
from pipelines.settings import Settings  # noqa: E402
from pipelines.spreadsheets import csv_text  # noqa: E402

# MLflow 3 stores scikit-learn models with skops, which loads only the types named as trusted.
TRUSTED_TYPES = ["collections.OrderedDict", "lightgbm.basic.Booster", "models.violation.ViolationModel"]


def code_version() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def log_training(settings: Settings, result: TrainResult, holdout_X: pd.DataFrame, catalogue: dict[str, dict]) -> dict:
    """One MLflow run for `result`; registers the model and gives it the `challenger` alias."""
    client = connect(settings.data_home / "mlflow")
    report = result.report
    # Tagged with this process at creation, so that a killed run is closed by the next start (run_owner).
    with mlflow.start_run(run_name=f"train-{result.holdout_fold.test}", tags=owner_tags()) as run:
        mlflow.log_params(
            {
                **{f"option.{k}": v for k, v in dataclasses.asdict(result.options).items() if k != "directions"},
                **{f"lgb.{k}": v for k, v in result.model.lgb_params().items()},
                "best_iteration": result.model.best_iteration_,
                "holdout_as_of": result.holdout_fold.test.isoformat(),
                "snapshot_id": result.snapshot.snapshot_id,
                "factors": len(result.factors),
            }
        )
        mlflow.set_tags({"snapshot_id": result.snapshot.snapshot_id, "code_version": code_version()})
        mlflow.log_metrics({k: v for k, v in report.headline().items() if np.isfinite(v)})
        for row in report.capacity.to_dict(orient="records"):
            for name in ("hit_rate", "recall", "lift", "inspections_saved", "true_hit_rate", "oracle_ratio"):
                value = float(row.get(name, float("nan")))
                if np.isfinite(value):
                    pct = int(round(float(row["capacity"]) * 100))
                    mlflow.log_metric(f"{row['scorer']}.{name}.at_{pct}pct", value)
        mlflow.log_metric("short_list_stability", result.stability)
        mlflow.log_dict(
            {"versions": result.snapshot.versions, "folds": [f.describe() for f in result.folds],
             "holdout": result.holdout_fold.describe(), "settings": json.loads(settings.model_dump_json())},
            "data/snapshot.json",
        )
        mlflow.log_dict({"factors": result.factors, "descriptions": {f: catalogue.get(f, {}) for f in result.factors}},
                        "short_list.json")
        tables = {"capacity": report.capacity, "ranking": report.ranking, "calibration": report.calibration,
                  "fairness": report.fairness, "factor_curve": result.curve,
                  "importance": result.ranking.importance.head(100).rename("gain_share").reset_index()}
        tables.update({f"breakdown_{k}": v for k, v in report.breakdowns.items()})
        log_tables(tables)
        for name, figure in plots(result, holdout_X).items():
            mlflow.log_figure(figure, f"plots/{name}.png")
            plt.close(figure)
        mlflow.log_text(model_card(result, catalogue), "model_card.md")
        version = register_challenger(client, result.model, {"holdout_as_of": result.holdout_fold.test.isoformat()})
        return {"run_id": run.info.run_id, "model_version": version, "model_uri": f"models:/{MODEL_NAME}/{version}"}


def log_tables(tables: Mapping[str, pd.DataFrame]) -> None:
    """Each table as the active run's artifact `tables/<name>.csv`. District, industry and group
    names come from department extracts, so text that would start a formula is neutralised."""
    for name, table in tables.items():
        mlflow.log_text(csv_text(table), f"tables/{name}.csv")


def register_challenger(client: MlflowClient, model: object, tags: dict[str, str]) -> str:
    """Log `model` to the active run, register it as a new version with the `challenger` alias and
    these tags (what the gate reads later); returns the version."""
    info = mlflow.sklearn.log_model(model, name="model", registered_model_name=MODEL_NAME,
                                    skops_trusted_types=TRUSTED_TYPES)
    version = str(info.registered_model_version)
    client.set_registered_model_alias(MODEL_NAME, CHALLENGER, version)
    for key, value in tags.items():
        client.set_model_version_tag(MODEL_NAME, version, key, value)
    return version


def plots(result: TrainResult, holdout_X: pd.DataFrame) -> dict[str, plt.Figure]:
    report = result.report
    out = {}
    fig, ax = plt.subplots(figsize=(5, 5))
    cal = report.calibration
    ax.plot([0, cal["mean_predicted"].max()], [0, cal["mean_predicted"].max()], ls=":", c="grey")
    ax.plot(cal["mean_predicted"], cal["observed"], marker="o")
    ax.set(xlabel="predicted violation probability", ylabel="observed (random draws, weighted 1/pi)",
           title=f"Calibration, holdout {report.as_of}")
    out["calibration"] = fig

    fig, ax = plt.subplots(figsize=(6, 4))
    column = "true_hit_rate" if report.has_truth else "hit_rate"
    for scorer, rows in report.capacity.groupby("scorer", sort=False):
        ax.plot(rows["capacity"] * 100, rows[column], marker="o", label=scorer)
    ax.set(xlabel="capacity (% of enterprises inspected)", ylabel=column.replace("_", " "),
           title="Hit rate at capacity")
    ax.legend(fontsize=8)
    out["lift"] = fig

    sample = holdout_X.sample(min(5000, len(holdout_X)), random_state=0)
    contrib = result.model.contributions(sample).drop(columns="expected_value")
    coded = result.model._prepare(sample).apply(lambda c: c.cat.codes if hasattr(c, "cat") else c)
    shap.summary_plot(contrib.to_numpy(), coded, show=False, max_display=len(result.factors))
    out["shap_summary"] = plt.gcf()
    top = contrib.abs().mean().sort_values(ascending=False).index[:3]
    for name in top:
        shap.dependence_plot(name, contrib.to_numpy(), coded, interaction_index=None, show=False)
        out[f"shap_dependence_{name}"] = plt.gcf()
    return out
