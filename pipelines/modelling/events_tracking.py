"""Recording an event-keyed training run: the scores and the benchmark in the lake, and an MLflow
run (parameters, fold AUCs, benchmark figures, tables, the gain plot, the model registered as
`challenger` in the jurisdiction's own registry)."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mlflow  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402

from models.registry import MODEL_NAME, connect  # noqa: E402
from pipelines.lake import new_version, publish_version  # noqa: E402
from pipelines.modelling.benchmark import BenchmarkReport, gain_figure  # noqa: E402
from pipelines.modelling.events import EventTrainResult  # noqa: E402
from pipelines.modelling.run_owner import owner_tags  # noqa: E402
from pipelines.modelling.tracking import code_version, log_tables, register_challenger  # noqa: E402
from pipelines.settings import Settings  # noqa: E402
from pipelines.storage import write_parquet_atomic, write_text_atomic  # noqa: E402


def save_event_scores(settings: Settings, result: EventTrainResult) -> Path:
    """`lake/scores/events/<run>/scores.parquet`: every event on or after the cut-off, published."""
    run = new_version()
    table_dir = settings.lake_dir / "scores" / "events"
    path = table_dir / run / "scores.parquet"
    write_parquet_atomic(pa.Table.from_pandas(result.scores, preserve_index=False), path)
    publish_version(table_dir, run)
    return path


def save_benchmark(settings: Settings, report: BenchmarkReport, options: dict) -> Path:
    """`lake/reports/benchmark/latest.json` (and a dated copy): the table and the options."""
    body = {
        "benchmark": report.name, "options": options, "label_agreement": report.label_agreement,
        "missing_scores": report.missing_scores, "table": report.table.to_dict(orient="records"),
    }
    text = json.dumps(body, ensure_ascii=False, indent=2, default=str)
    folder = settings.lake_dir / "reports" / "benchmark"
    write_text_atomic(text, folder / f"{new_version()}.json")
    write_text_atomic(text, folder / "latest.json")
    return folder / "latest.json"


def log_event_training(settings: Settings, result: EventTrainResult, report: BenchmarkReport | None) -> dict:
    client = connect(settings.data_home / "mlflow")
    with mlflow.start_run(run_name=f"train-events-before-{result.options.cutoff}", tags=owner_tags()) as run:
        mlflow.log_params({**result.options.describe(), "jurisdiction": settings.jurisdiction,
                           "factors_used": len(result.factors), "code_version": code_version(),
                           **{f"rows_{k}": v for k, v in result.rows.items()}})
        mlflow.log_metric("cv_auc", result.cv_auc)
        for fold in result.folds:
            if np.isfinite(fold.auc):
                mlflow.log_metric(f"fold_auc_{fold.test_start}", fold.auc)
        mlflow.log_dict({"factors": result.factors}, "factors.json")
        importance = result.model.feature_importance().rename("gain_share").reset_index()
        log_tables({"importance": importance})
        if report is not None:
            table = report.table.set_index("scorer")
            ours = table.iloc[0]
            for metric in ("auc", "first_half_share", "days_earlier"):
                mlflow.log_metric(metric, float(ours[metric]))
                mlflow.log_metric(f"benchmark_{metric}", float(table.iloc[1][metric]))
            log_tables({"benchmark": report.table})
            figure = gain_figure(report)
            mlflow.log_figure(figure, "plots/gain_curve.png")
            plt.close(figure)
        version = register_challenger(client, result.model, {"cutoff": result.options.cutoff.isoformat()})
        return {"run_id": run.info.run_id, "model_version": version, "model_uri": f"models:/{MODEL_NAME}/{version}"}


def benchmark_frame(report: BenchmarkReport) -> pd.DataFrame:
    """The benchmark table rounded for printing."""
    shown = report.table.round({"base_rate": 3, "auc": 3, "first_half_share": 3, "days_earlier": 2})
    return shown.astype({"rows": int})
