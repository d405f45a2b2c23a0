"""Selection bias, measured: the same training flow under each label policy, scored against the
synthetic city's ground truth on the holdout (which no policy sees).

    .venv/bin/python tests/benchmarks/bench_label_policy.py [--data-home data]

Prints one row per policy: holdout AUC on random-draw labels (weighted 1/pi), the Spearman
correlation of the score with the true propensity, and the true hit rate and oracle ratio at 5%.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from models.labels import LabelPolicy
from pipelines.modelling.train import TrainOptions, train
from pipelines.settings import load_settings

VARIANTS = [
    (LabelPolicy.NAIVE, 1.0),
    (LabelPolicy.RANDOM_IPW, 1.0),
    (LabelPolicy.RANDOM_IPW_COMPLAINTS, 0.1),
    (LabelPolicy.RANDOM_IPW_COMPLAINTS, 0.25),
    (LabelPolicy.RANDOM_IPW_COMPLAINTS, 1.0),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-home", type=Path, default=Path("data"))
    args = parser.parse_args()
    settings = load_settings(None, data_home=args.data_home)
    rows = []
    for policy, weight in VARIANTS:
        started = time.perf_counter()
        result = train(settings, TrainOptions(label_policy=policy, complaint_weight=weight, curve=()))
        ranking = result.report.ranking.set_index("scorer")
        cap = result.report.capacity
        at5 = cap[(cap["scorer"] == "model") & (cap["capacity"] == 0.05)].iloc[0]
        rows.append({
            "policy": policy.value, "complaint_weight": weight,
            "holdout_auc": round(float(ranking.loc["model", "auc"]), 3),
            "truth_spearman": round(float(ranking.loc["model", "truth_spearman"]), 3),
            "true_hit_rate_5pct": round(float(at5["true_hit_rate"]), 3),
            "oracle_ratio_5pct": round(float(at5["oracle_ratio"]), 3),
            "seconds": round(time.perf_counter() - started, 1),
        })
        print(json.dumps(rows[-1]), flush=True)


if __name__ == "__main__":
    main()
