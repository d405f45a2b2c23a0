"""The Chicago benchmark: every training configuration tried, its cross-validated AUC on the folds
before 2014-09-02 (what chose the default) and its figures on the City's 1,637 Test rows (which
chose nothing), beside the City's own score; and the pipeline's step times.

    .venv/bin/python tests/benchmarks/bench_chicago.py [--data-home data/chicago] [--repeats 3]

Needs `regulens --config data/jurisdictions/chicago/regulens.yaml ingest` first; rebuilds the
event profile itself (timed). Prints a Markdown table for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from pathlib import Path

from features.events import event_features
from pipelines.modelling.benchmark import compare_with_benchmark
from pipelines.modelling.events import load_events, options_from_spec, train_events
from pipelines.profiles.events_flow import build_event_profile, event_spec
from pipelines.settings import PROJECT_ROOT, load_settings

CONFIG = PROJECT_ROOT / "data" / "jurisdictions" / "chicago" / "regulens.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=3, help="profile builds timed (median reported)")
    args = parser.parse_args()
    settings = load_settings(CONFIG, data_home=args.data_home)
    spec = event_spec(settings)
    profile_times = []
    for _ in range(args.repeats):
        profile_times.append(build_event_profile(settings).seconds)
    print(f"event profile: median {statistics.median(profile_times):.1f} s over {args.repeats} builds "
          f"({', '.join(f'{t:.1f}' for t in profile_times)})")

    default = options_from_spec(spec)
    by_source: dict[str, list[str]] = {}
    for f in event_features(spec):
        by_source.setdefault(f.source, []).append(f.name)
    kept_out = default.exclude_sources
    variants = {
        "default (the spec: monotone, no nearby counts or weather, 12 factors)": default,
        "every family, every candidate": dataclasses.replace(default, exclude_sources=(), factors=None),
        "every family, every candidate, no monotone constraints": dataclasses.replace(
            default, exclude_sources=(), factors=None, monotone=False),
        "every family, 12 factors": dataclasses.replace(default, exclude_sources=()),
        "default without monotone constraints": dataclasses.replace(default, monotone=False),
        "default, every remaining candidate (no short list)": dataclasses.replace(default, factors=None),
        "default + nearby counts (no weather)": dataclasses.replace(
            default, exclude_sources=tuple(s for s in kept_out if s == "weather")),
        "default, trained on retail food establishments only": dataclasses.replace(
            default, population=("licences_license_description", "Retail Food Establishment")),
        "default, no refit on the validation window": dataclasses.replace(default, refit=False),
        "default, 3 folds": dataclasses.replace(default, n_folds=3),
        "default, 15 leaves": dataclasses.replace(default, model_params=(("num_leaves", 15),)),
        "default without the sanitarian": dataclasses.replace(default, exclude=("sanitarians_sanitarian",)),
    }
    labels = None
    rows = []
    for name, options in variants.items():
        started = time.perf_counter()
        result = train_events(settings, options)
        seconds = time.perf_counter() - started
        if labels is None:
            labels = load_events(settings, spec)[[spec.events.id, spec.label.name]]
        report = compare_with_benchmark(settings, spec, result.scores, labels)
        ours = report.table.iloc[0]
        rows.append((name, result.cv_auc, ours["auc"], ours["first_half_share"], ours["days_earlier"],
                     len(result.factors), seconds))
        print(f"  {name}: cv {result.cv_auc:.3f} test {ours['auc']:.3f}", flush=True)
    city = report.table.iloc[1]
    print("\n| configuration | CV AUC (folds before 2014-09-02) | Test AUC | critical in first half | days earlier"
          " | factors | train s |")
    print("|---|---|---|---|---|---|---|")
    for name, cv, auc, half, days, k, s in rows:
        print(f"| {name} | {cv:.3f} | {auc:.3f} | {half:.1%} | {days:.2f} | {k} | {s:.0f} |")
    print(f"| City of Chicago model (2014), its `score` | | {city['auc']:.3f} | {city['first_half_share']:.1%} | "
          f"{city['days_earlier']:.2f} | | |")


if __name__ == "__main__":
    main()
