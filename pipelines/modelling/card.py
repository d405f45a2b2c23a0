"""The model card: what the model is for, what it was trained on, how it does, where it is weak."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from pipelines.modelling.train import TrainResult


def _md(frame: pd.DataFrame) -> str:
    """A Markdown table without the optional `tabulate` dependency."""
    cols = list(frame.columns)
    lines = ["| " + " | ".join(map(str, cols)) + " |", "|" + "---|" * len(cols)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row) + " |")
    return "\n".join(lines)


def model_card(result: TrainResult, catalogue: dict[str, dict]) -> str:
    report, fold = result.report, result.holdout_fold
    factors = pd.DataFrame(
        [
            {"factor": f, "说明": catalogue.get(f, {}).get("zh", ""), "meaning": catalogue.get(f, {}).get("en", ""),
             "gain share": float(result.ranking.importance.get(f, 0.0))}
            for f in result.factors
        ]
    )
    cols = ["scorer", "capacity", "selected", "drawn_labels_in_selection", "hit_rate", "lift", "inspections_saved"]
    if report.has_truth:
        cols += ["true_hit_rate", "oracle_ratio"]
    capacity = report.capacity[cols]
    fairness = report.fairness[["attribute", "group", "enterprises", "drawn_negatives", "fpr", "disparity", "flagged"]]
    keep = ["enterprises", "selected_share", "hit_rate", "drawn_labels", "auc", "true_hit_rate"]
    breakdowns = "\n\n".join(
        _md(table[[table.columns[0], *[c for c in keep if c in table.columns]]])
        for table in report.breakdowns.values()
    )
    return f"""# Model card: Regulens violation model

**Intended use.** Rank the enterprises on an inspection list by the probability that an inspection
would find a violation, to set risk-weighted inclusion probabilities for the 双随机 draw. It is not
a finding of wrongdoing; every selection is still random and every score has reason codes.

**Training data.** Profiles and labels of as-of dates {', '.join(d.isoformat() for d in fold.train)};
early stopping and isotonic calibration on {fold.validation}; holdout {fold.test}
(horizon {result.options.horizon_days} days). Data snapshot `{result.snapshot.snapshot_id}`.
Label policy `{result.options.label_policy}` (random-draw labels weighted by 1/inclusion probability).

**Factors ({len(result.factors)} of {len(result.ranking.importance)} candidates, stability
{result.stability:.2f} = share of the list in every fold's own top {2 * len(result.factors)}).**

{_md(factors)}

**Metric against the number of factors** (walk-forward folds, weighted AUC on random-draw labels):

{_md(result.curve)}

**Holdout {fold.test}: hit rate at capacity** (hit rate and lift estimated from random-draw labels
weighted by 1/pi; `true_*` columns from the synthetic city's ground truth where it exists):

{_md(capacity)}

**Ranking on the holdout:**

{_md(report.ranking)}

**By group at 5% capacity** (selection made city-wide; hit rate from random-draw labels):

{breakdowns}

**Fairness (false-positive-rate parity at 5% capacity, 80% rule; groups with fewer than 30 drawn
non-violators are shown but not judged):**

{_md(fairness)}

**Limitations.** Labels exist only where an inspection looked; the few random-draw labels make
hit-rate estimates inside small selections noisy (see `drawn_labels_in_selection`). The model
learns from past supervision, so it is retrained as new random-draw results arrive.
"""
