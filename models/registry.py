"""The model registry (MLflow, SQLite under the data home) and the promotion gate.

A trained model is registered as a new version and takes the `challenger` alias; only the gate
moves `champion`. The gate scores the champion and the challenger on the *same* holdout (the
challenger's) and refuses, with the reasons, when the challenger
  - does not beat the champion on the gate metric (weighted AUC on random-draw labels) by at
    least `min_improvement`, or
  - fails the fairness check: more groups flagged by the 80% rule than the champion has (a new
    model must not be less fair than the one in use), or more than `max_fairness_flags` when set.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
from mlflow import MlflowClient

MODEL_NAME = "regulens-violation"
EXPERIMENT = "regulens-violation"
CHAMPION, CHALLENGER = "champion", "challenger"


def tracking_uri(mlflow_dir: Path) -> str:
    mlflow_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{mlflow_dir.resolve() / 'mlflow.db'}"


# The columns of MLflow's SQLite store that hold an absolute artifact path.
ARTIFACT_COLUMNS = (
    ("experiments", "artifact_location"),
    ("runs", "artifact_uri"),
    ("logged_models", "artifact_location"),
    ("model_versions", "storage_location"),
)


def follow_moved_home(mlflow_dir: Path) -> str | None:
    """Re-point a copied or moved data home's MLflow store at its own artifact folder.

    MLflow records artifact locations as absolute paths. A data home that was copied (say, for a
    notebook experiment) would otherwise keep reading, and writing, the original's artifacts.
    When the store's experiment points at another `.../artifacts` folder and this home has its
    own, every recorded path is rewritten from the old prefix to the new one in one SQLite
    transaction. Returns the old prefix, or None when nothing had to change.
    """
    db = mlflow_dir / "mlflow.db"
    if not db.is_file():
        return None
    here = (mlflow_dir.resolve() / "artifacts").as_uri()
    with closing(sqlite3.connect(db)) as con:
        tables = {name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "experiments" not in tables:
            return None  # not set up yet: MLflow creates its tables on first use
        row = con.execute("SELECT artifact_location FROM experiments WHERE name = ?", (EXPERIMENT,)).fetchone()
        recorded = row[0] if row else None
        if recorded is None or recorded == here or not recorded.startswith("file://"):
            return None
        if not recorded.endswith("/artifacts"):
            return None  # an artifact store someone chose on purpose: leave it alone
        if not (mlflow_dir / "artifacts").is_dir():
            raise FileNotFoundError(
                f"{db} records its model artifacts under {recorded}, and {mlflow_dir / 'artifacts'} does not exist: "
                "copy the whole mlflow folder of the data home, not only mlflow.db"
            )
        with con:  # one transaction: all paths move, or none
            for table, column in ARTIFACT_COLUMNS:
                if table not in tables:
                    continue
                con.execute(
                    f"UPDATE {table} SET {column} = ? || substr({column}, ?) "
                    f"WHERE {column} = ? OR substr({column}, 1, ?) = ?",
                    (here, len(recorded) + 1, recorded, len(recorded) + 1, recorded + "/"),
                )
    return recorded


def connect(mlflow_dir: Path) -> MlflowClient:
    """Point MLflow at the data home's SQLite store and artifact folder; create the experiment."""
    follow_moved_home(mlflow_dir)
    uri = tracking_uri(mlflow_dir)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient(uri, uri)
    if client.get_experiment_by_name(EXPERIMENT) is None:
        client.create_experiment(EXPERIMENT, artifact_location=(mlflow_dir.resolve() / "artifacts").as_uri())
    mlflow.set_experiment(EXPERIMENT)
    return client


def version_by_alias(client: MlflowClient, alias: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(MODEL_NAME, alias).version)
    except mlflow.exceptions.MlflowException:
        return None


@dataclass
class GateDecision:
    promote: bool
    challenger: dict[str, float]
    champion: dict[str, float] | None
    reasons: list[str] = field(default_factory=list)
    challenger_version: str = ""
    champion_version: str | None = None


def gate(
    challenger: dict[str, float],
    champion: dict[str, float] | None,
    metric: str = "auc",
    min_improvement: float = 0.0,
    max_fairness_flags: int | None = None,
) -> GateDecision:
    """Decide a promotion from both models' figures on the same holdout (`metric`, `fairness_flags`)."""
    reasons = []
    flags = int(challenger["fairness_flags"])
    if max_fairness_flags is not None and flags > max_fairness_flags:
        reasons.append(f"fairness: {flags} groups flagged by the 80% rule, the limit is {max_fairness_flags}")
    if champion is not None:
        if not challenger[metric] >= champion[metric] + min_improvement:
            reasons.append(
                f"{metric} {challenger[metric]:.4f} does not beat the champion's {champion[metric]:.4f}"
                + (f" by {min_improvement}" if min_improvement else "")
                + " on the same holdout"
            )
        if flags > int(champion["fairness_flags"]):
            reasons.append(
                f"fairness: {flags} groups flagged by the 80% rule against the champion's "
                f"{int(champion['fairness_flags'])} on the same holdout"
            )
    return GateDecision(not reasons, challenger, champion, reasons)


def decide(
    client: MlflowClient,
    challenger_version: str,
    champion_version: str | None,
    figures: dict[str, float],
    champion_figures: dict[str, float] | None,
    min_improvement: float = 0.0,
    max_fairness_flags: int | None = None,
    tags: dict[str, str] | None = None,
) -> GateDecision:
    """Run the gate on both models' figures, tag the decision (and `tags`) on the challenger's
    version, and move `champion` to it only if the gate passes."""
    decision = gate(figures, champion_figures, min_improvement=min_improvement, max_fairness_flags=max_fairness_flags)
    decision.challenger_version, decision.champion_version = challenger_version, champion_version
    verdict = "promoted" if decision.promote else "refused: " + "; ".join(decision.reasons)
    client.set_model_version_tag(MODEL_NAME, challenger_version, "promotion_decision", verdict[:5000])
    for key, value in (tags or {}).items():
        client.set_model_version_tag(MODEL_NAME, challenger_version, key, value)
    if decision.promote:
        client.set_registered_model_alias(MODEL_NAME, CHAMPION, challenger_version)
        client.delete_registered_model_alias(MODEL_NAME, CHALLENGER)
    return decision
