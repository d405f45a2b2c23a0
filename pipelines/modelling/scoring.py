"""`regulens score`, `regulens explain` and `regulens model promote`: using registered models.

Scores land in `lake/scores/as_of=YYYY-MM-DD/<run>/scores.parquet` (published atomically), one
row per registered enterprise: probability, log-odds, rank (1 = highest risk), percentile
(100 = highest risk) and the model name and version that produced them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

import duckdb
import mlflow.sklearn
import numpy as np
import pandas as pd
import pyarrow as pa

from models.explain import reason_codes
from models.registry import CHALLENGER, CHAMPION, MODEL_NAME, GateDecision, connect, decide, version_by_alias
from models.violation import ViolationModel
from pipelines.lake import current_version, new_version, publish_version
from pipelines.modelling.data import load_frame
from pipelines.modelling.report import evaluate_holdout
from pipelines.modelling.tracking import load_catalogue
from pipelines.profiles.flow import read_profile
from pipelines.settings import Settings
from pipelines.storage import write_parquet_atomic


def load_model(settings: Settings, ref: str = CHAMPION) -> tuple[ViolationModel, str]:
    """A registered model by alias (champion, challenger) or version number, and its version."""
    client = connect(settings.data_home / "mlflow")
    version = ref if ref.isdigit() else version_by_alias(client, ref)
    if version is None:
        raise LookupError(
            f"no model has the alias {ref!r}; run `regulens train` (gives `challenger`), then `regulens model promote`"
        )
    try:
        model = mlflow.sklearn.load_model(f"models:/{MODEL_NAME}/{version}")
    except mlflow.exceptions.MlflowException as error:
        raise LookupError(f"model version {version} of {MODEL_NAME} is not registered") from error
    return model, version


class Contenders(NamedTuple):
    """What a promotion compares: the challenger, its registry entry, the champion's version."""

    client: Any  # the MLflow client of the data home's registry
    challenger: ViolationModel
    challenger_version: str
    challenger_entry: Any  # its ModelVersion: tags and run id
    champion_version: str | None


def contenders(settings: Settings, challenger_ref: str = CHALLENGER) -> Contenders:
    """The challenger (alias or version) and the current champion; a challenger that already is
    the champion is refused."""
    client = connect(settings.data_home / "mlflow")
    challenger, challenger_version = load_model(settings, challenger_ref)
    champion_version = version_by_alias(client, CHAMPION)
    if champion_version == challenger_version:
        raise ValueError(f"version {challenger_version} is already the champion")
    entry = client.get_model_version(MODEL_NAME, challenger_version)
    return Contenders(client, challenger, challenger_version, entry, champion_version)


def score(settings: Settings, as_of: dt.date, ref: str = CHAMPION) -> dict[str, Any]:
    model, version = load_model(settings, ref)
    profile = read_profile(settings, as_of)
    cols = ", ".join(f'"{c}"' for c in ["uscc", *model.feature_names_])
    frame = duckdb.execute(f"SELECT {cols} FROM read_parquet('{profile}') WHERE is_registered = 1 ORDER BY uscc").df()
    log_odds = model.decision_function(frame)
    probability = model.predict_proba(frame)[:, 1]
    rank = pd.Series(log_odds).rank(ascending=False, method="first").astype("int64").to_numpy()
    out = pd.DataFrame(
        {
            "uscc": frame["uscc"],
            "as_of": as_of,
            "probability": probability,
            "log_odds": log_odds,
            "rank": rank,
            "percentile": 100.0 * (1.0 - (rank - 1) / len(rank)),
            "model_name": MODEL_NAME,
            "model_version": version,
        }
    )
    table_dir = settings.lake_dir / "scores" / f"as_of={as_of.isoformat()}"
    run = new_version()
    path = table_dir / run / "scores.parquet"
    write_parquet_atomic(pa.Table.from_pandas(out, preserve_index=False), path)
    publish_version(table_dir, run)
    return {"as_of": as_of.isoformat(), "enterprises": len(out), "model_version": version, "path": str(path),
            "mean_probability": float(np.mean(probability))}


def explain(settings: Settings, uscc: str, as_of: dt.date, ref: str = CHAMPION, top: int = 8) -> dict[str, Any]:
    """Reason codes for one enterprise, plus its values of every factor the model uses."""
    model, version = load_model(settings, ref)
    profile = read_profile(settings, as_of)
    cols = ", ".join(f'"{c}"' for c in ["uscc", *model.feature_names_])
    row = duckdb.execute(f"SELECT {cols} FROM read_parquet('{profile}') WHERE uscc = ?", [uscc]).df()
    if row.empty:
        raise LookupError(f"{uscc} has no profile on {as_of}; check the code or profile that date")
    catalogue = load_catalogue(settings)
    contrib = model.contributions(row[model.feature_names_]).iloc[0]
    values = row.iloc[0]
    reasons = reason_codes(contrib, values, catalogue, top)
    shown = sum(r["contribution"] for r in reasons)
    return {
        "uscc": uscc,
        "as_of": as_of.isoformat(),
        "model_version": version,
        "probability": float(model.predict_proba(row)[0, 1]),
        "log_odds": float(model.decision_function(row)[0]),
        "base_log_odds": float(contrib["expected_value"]),
        "reasons": reasons,
        # base + reasons + other = log-odds: what the unshown factors add together.
        "other_contribution": float(contrib.drop("expected_value").sum() - shown),
        "values": {f: (None if pd.isna(values[f]) else values[f]) for f in model.feature_names_},
    }


def promote(
    settings: Settings, challenger_ref: str = CHALLENGER, min_improvement: float = 0.0,
    max_fairness_flags: int | None = None,
) -> GateDecision:
    """Score the champion and the challenger on the challenger's holdout; move `champion` only
    if the gate passes. The decision and its reasons are tagged on the challenger's version."""
    client, challenger, challenger_version, entry, champion_version = contenders(settings, challenger_ref)
    as_of = dt.date.fromisoformat(entry.tags["holdout_as_of"])
    run_id = entry.run_id
    horizon = int(client.get_run(str(run_id)).data.params["option.horizon_days"])
    if current_version(settings.lake_dir / "profiles" / f"as_of={as_of}") is None:
        raise FileNotFoundError(f"the challenger's holdout {as_of} has no profile; rebuild it to compare")
    frame = load_frame(settings, [as_of], horizon)
    figures = evaluate_holdout(settings, frame, as_of, horizon, challenger).headline()
    champion_figures = None
    if champion_version is not None:
        champion, _ = load_model(settings, champion_version)
        champion_figures = evaluate_holdout(settings, frame, as_of, horizon, champion).headline()
    return decide(client, challenger_version, champion_version, figures, champion_figures, min_improvement,
                  max_fairness_flags)
