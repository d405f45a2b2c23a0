"""Reason codes for N enterprise-dates: LightGBM's pred_contrib against shap's TreeExplainer.

    .venv/bin/python tests/benchmarks/bench_explain.py [--data-home data] [--model 2] [--rows 50000]

Both run on the registered model's booster and the same rows (profiles of the latest as-of
dates until N rows); medians of --repeats runs, and the largest absolute difference between them.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import shap

from pipelines.modelling.data import available_as_of, load_frame
from pipelines.modelling.scoring import load_model
from pipelines.settings import load_settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-home", type=Path, default=Path("data"))
    parser.add_argument("--model", default="champion")
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    settings = load_settings(None, data_home=args.data_home)
    model, version = load_model(settings, args.model)
    dates = available_as_of(settings, 180)[::-1]
    frames, rows = [], 0
    for d in dates:
        frames.append(load_frame(settings, [d], 180, columns=model.feature_names_)[model.feature_names_])
        rows += len(frames[-1])
        if rows >= args.rows:
            break
    X = __import__("pandas").concat(frames).head(args.rows)

    def median(fn):
        times, out = [], None
        for _ in range(args.repeats):
            started = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - started)
        return statistics.median(times), out

    t_lgb, contrib = median(lambda: model.contributions(X))
    prepared = model._prepare(X)
    explainer = shap.TreeExplainer(model.booster_)
    t_shap, values = median(lambda: explainer.shap_values(prepared))
    diff = float(np.max(np.abs(np.asarray(values) - contrib.drop(columns="expected_value").to_numpy())))
    print(f"model v{version}, {len(X):,} rows x {len(model.feature_names_)} factors: pred_contrib {t_lgb:.2f} s, "
          f"TreeExplainer {t_shap:.2f} s (ratio {t_shap / t_lgb:.2f}), max |difference| {diff:.2e}")


if __name__ == "__main__":
    main()
