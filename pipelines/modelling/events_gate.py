"""`regulens model promote` for an event-keyed jurisdiction: the same gate as the city's
(`models.registry.gate`), on the events from the challenger's cut-off on.

Both models score the same events (every inspection on or after the later of the two models'
cut-offs, so neither has trained on them); the gate metric is the ROC AUC there, and the fairness check counts the
groups of `training.fairness_groups` flagged by the 80% rule among the events ranked in the first
`training.fairness_capacity` share. Every event is an observed outcome (no sampling design), so
each carries inclusion probability 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from models.evaluation import Holdout
from models.fairness import fairness_table
from models.registry import CHALLENGER, MODEL_NAME, GateDecision, decide
from models.violation import ViolationModel
from pipelines.modelling.events import load_events
from pipelines.modelling.scoring import contenders, load_model
from pipelines.profiles.events_flow import event_spec
from pipelines.settings import Settings


def event_figures(model: ViolationModel, events: pd.DataFrame, label: str, groups: list[str],
                  capacity: float) -> dict[str, float]:
    """The gate's figures for one model on the held-out events: AUC and flagged groups."""
    missing = [c for c in model.feature_names_ if c not in events.columns]
    if missing:
        raise ValueError(f"the model uses factors the current profile does not have: {missing}; "
                         "rebuild the profile it was trained on, or train a new challenger")
    score = model.decision_function(events[model.feature_names_])
    y = events[label].to_numpy(dtype=float)
    figures = {"auc": float(roc_auc_score(y, score)) if 0 < y.sum() < len(y) else float("nan"), "fairness_flags": 0.0}
    if groups:
        holdout = Holdout(events[groups].assign(y=y, pi=1.0))
        table = fairness_table(holdout, score, groups=tuple(groups), capacity=capacity)
        figures["fairness_flags"] = float(table["flagged"].sum())
    return figures


def promote_events(
    settings: Settings, challenger_ref: str = CHALLENGER, min_improvement: float = 0.0,
    max_fairness_flags: int | None = None,
) -> GateDecision:
    spec = event_spec(settings)
    client, challenger, challenger_version, entry, champion_version = contenders(settings, challenger_ref)
    tags = entry.tags
    if "cutoff" not in tags:
        raise ValueError(f"version {challenger_version} was not trained on events (no `cutoff` tag)")
    # Compare on events neither model trained on: from the later of the two cut-offs.
    cutoff = tags["cutoff"]
    if champion_version is not None:
        champion_cutoff = client.get_model_version(MODEL_NAME, champion_version).tags.get("cutoff")
        if champion_cutoff is None:
            raise ValueError(f"the champion (version {champion_version}) was not trained on events (no `cutoff` tag)")
        cutoff = max(cutoff, champion_cutoff)
    frame = load_events(settings, spec)
    held_out = frame[frame["as_of"] >= pd.Timestamp(cutoff)]
    if held_out.empty or held_out[spec.label.name].nunique() < 2:
        raise ValueError(f"no events with both outcomes on or after the cut-off {cutoff} to compare on")
    groups, capacity = list(spec.training.fairness_groups), spec.training.fairness_capacity
    figures = event_figures(challenger, held_out, spec.label.name, groups, capacity)
    if not np.isfinite(figures["auc"]):
        raise ValueError("the challenger's AUC on the held-out events is undefined")
    champion_figures = None
    if champion_version is not None:
        champion, _ = load_model(settings, champion_version)
        champion_figures = event_figures(champion, held_out, spec.label.name, groups, capacity)
    return decide(client, challenger_version, champion_version, figures, champion_figures, min_improvement,
                  max_fairness_flags, tags={"gate_events": f"{len(held_out)} from {cutoff}"})
