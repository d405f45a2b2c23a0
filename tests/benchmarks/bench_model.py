"""Training, scoring and reason-code timings on a profiled city (issue 4's budgets).

    .venv/bin/python tests/benchmarks/bench_model.py --data-home /tmp/bench1m [--repeats 3] [--explain-rows 50000]

Needs profiles and labels at as-of dates that allow three walk-forward folds (e.g. half-yearly
2023-01-01 .. 2025-07-01 with the 180-day horizon). Measures, in one run:
  - `regulens train`'s flow (ranking, factor curve, final model, evaluation) and MLflow logging;
  - scoring every registered enterprise on the holdout date (read, predict, write Parquet);
  - reason codes for `--explain-rows` enterprises: LightGBM's pred_contrib against shap's
    TreeExplainer on the same booster and rows (median of `--repeats`), and how far they differ.
Peak memory is the process's max RSS (resource.getrusage), reported once at the end.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path

import numpy as np
import shap

from pipelines.modelling.data import load_frame
from pipelines.modelling.scoring import score
from pipelines.modelling.tracking import load_catalogue, log_training
from pipelines.modelling.train import TrainOptions, train
from pipelines.settings import load_settings


def timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-home", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--explain-rows", type=int, default=50_000)
    parser.add_argument("--folds", type=int, default=3, help="walk-forward folds (fewer when fewer dates exist)")
    parser.add_argument("--no-all-candidates", action="store_true", help="skip the all-candidate holdout model")
    args = parser.parse_args()
    settings = load_settings(None, data_home=args.data_home)
    figures: dict[str, object] = {}

    started = time.perf_counter()
    options = TrainOptions(n_folds=args.folds, compare_all_candidates=not args.no_all_candidates)
    result = train(settings, options, progress=lambda m: print(f"  {time.perf_counter() - started:6.0f}s {m}"))
    figures["train_seconds"] = round(time.perf_counter() - started, 1)
    figures["train_breakdown_seconds"] = {k: round(v, 1) for k, v in result.seconds.items()}
    holdout = load_frame(settings, [result.holdout_fold.test], 180, columns=result.factors)
    figures["holdout_enterprises"] = len(holdout)
    figures["holdout_auc"] = round(float(result.report.ranking.set_index("scorer").loc["model", "auc"]), 3)
    started = time.perf_counter()
    logged = log_training(settings, result, holdout[result.factors], load_catalogue(settings))
    figures["mlflow_log_seconds"] = round(time.perf_counter() - started, 1)

    seconds, out = timed(lambda: score(settings, result.holdout_fold.test, logged["model_version"]), args.repeats)
    figures["score_all_seconds_median"] = round(seconds, 2)
    figures["scored_enterprises"] = out["enterprises"]  # type: ignore[index]

    rows = holdout[result.factors].sample(min(args.explain_rows, len(holdout)), random_state=0)
    model = result.model
    prepared = model._prepare(rows)
    t_lgb, contrib = timed(lambda: model.contributions(rows), args.repeats)
    explainer = shap.TreeExplainer(model.booster_)
    t_shap, values = timed(lambda: explainer.shap_values(prepared), args.repeats)
    lgb_values = contrib.drop(columns="expected_value").to_numpy()  # type: ignore[union-attr]
    figures["reason_rows"] = len(rows)
    figures["pred_contrib_seconds_median"] = round(t_lgb, 2)
    figures["tree_explainer_seconds_median"] = round(t_shap, 2)
    figures["tree_explainer_over_pred_contrib"] = round(t_shap / t_lgb, 2)
    figures["max_abs_difference"] = float(np.max(np.abs(np.asarray(values) - lgb_values)))
    figures["peak_rss_gib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
