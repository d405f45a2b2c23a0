"""A year of monthly 双随机 cycles on the demo city under five policies (pipelines.simulation).

Run on demand (not in CI), after `make demo`:
    .venv/bin/python tests/benchmarks/simulate_year.py --data-home /work/main/data --cycles 12

Prints a Markdown table per cycle and a yearly summary, and writes both as JSON (--out).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import pandas as pd

from pipelines.settings import load_settings
from pipelines.simulation import (
    SimulationConfig,
    initial_model,
    load_city,
    model_fitter,
    monotone_directions,
    probability,
    simulate,
    summarise,
)

FOSHAN_REDUCTION = -0.83  # on-site inspections, Foshan 人工智能+双随机 (published figure)


def _pct(x: float) -> str:
    return "—" if pd.isna(x) else f"{100 * x:.1f}%"


def cycle_table(results: pd.DataFrame) -> str:
    lines = [
        "| policy | cycle | inspected | found | hit rate | Hájek list rate [95% CI] | truth "
        "| ρ (model vs truth) | oracle ratio |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for r in results.itertuples():
        est = "— (no design; π = 0 below the cut)" if pd.isna(r.hajek) else (
            f"{_pct(r.hajek)} [{_pct(r.hajek_lo)}, {_pct(r.hajek_hi)}]{'' if r.covered else ' ✗'}"
        )
        lines.append(
            f"| {r.policy} | {r.label} | {r.inspected} | {r.violations} | {_pct(r.hit_rate)} | {est} | "
            f"{_pct(r.truth_rate)} | {r.spearman:.3f} | {r.oracle_ratio:.3f} |"
        )
    return "\n".join(lines)


def summary_table(summary: pd.DataFrame) -> str:
    lines = [
        "| policy | inspections | distinct firms | violations found | hit rate | inspections for uniform's violations "
        "| vs uniform | CI covers truth | ρ first → last | oracle ratio first → last |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for r in summary.itertuples():
        cover = "n/a" if r.ci_covered < 0 else f"{r.ci_covered}/{r.cycles}"
        lines.append(
            f"| {r.policy} | {r.inspections} | {r.distinct_firms} | {r.violations} | {_pct(r.hit_rate)} | "
            f"{r.needed_for_uniform_violations:.0f} | {100 * -r.reduction_vs_uniform:+.0f}% | {cover} | "
            f"{r.spearman_first:.3f} → {r.spearman_last:.3f} | {r.oracle_first:.3f} → {r.oracle_last:.3f} |"
        )
    lines.append(f"| Foshan (reported) | | | | 17.6% → 86% | | {100 * FOSHAN_REDUCTION:+.0f}% | | | |")
    return "\n".join(lines)


def repeats_table(summaries: pd.DataFrame) -> str:
    """Mean ± sd over the repeats (seeds) of the yearly figures."""
    by = summaries.groupby("policy", sort=False)

    def ms(col: str, pct: bool = True) -> pd.Series:
        m, sd = by[col].mean(), by[col].std()
        return (
            (100 * m).map("{:.1f}".format) + " ± " + (100 * sd).map("{:.1f}".format) + "%"
            if pct else m.map("{:.3f}".format) + " ± " + sd.map("{:.3f}".format)
        )

    cover = by.apply(lambda g: f"{g['ci_covered'].sum()}/{g['cycles'].sum()}" if (g["ci_covered"] >= 0).all()
                     else "n/a", include_groups=False)
    cols = {
        "hit rate": ms("hit_rate"),
        "expected hit rate": ms("expected_hit_rate"),
        "vs uniform": ms("reduction_vs_uniform").str.replace("^", "−", regex=True),
        "CI covers truth": cover, "ρ last cycle": ms("spearman_last", False),
        "oracle ratio last cycle": ms("oracle_last", False), "distinct firms": by["distinct_firms"].mean().round(0),
    }
    lines = ["| policy | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for policy in by.groups:
        lines.append(f"| {policy} | " + " | ".join(str(c[policy]) for c in cols.values()) + " |")
    return "\n".join(lines)


def drift_table(all_results: pd.DataFrame, policies: tuple[str, ...] = ("uniform", "risk", "blend", "top_k")) -> str:
    """Mean over the repeats of the model's Spearman ρ with the truth, per cycle and policy."""
    rho = all_results.groupby(["label", "policy"])["spearman"].mean().unstack()[list(policies)]
    lines = ["| cycle | " + " | ".join(policies) + " |", "|---|" + "---:|" * len(policies)]
    for label, row in rho.iterrows():
        lines.append(f"| {label} | " + " | ".join(f"{row[p]:.3f}" for p in policies) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", type=Path, required=True)
    parser.add_argument("--cycles", type=int, default=12, help="monthly cycles")
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2024, 10, 1))
    parser.add_argument("--capacity-share", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=20240117)
    parser.add_argument("--repeats", type=int, default=1, help="seeds seed, seed+1, ...: coins, draws, retraining")
    parser.add_argument("--no-monotone", action="store_true", help="retrain without the catalogue's risk directions")
    parser.add_argument("--risk-exponent", type=float, default=1.0, help="π ∝ probability ** exponent")
    parser.add_argument("--out", type=Path, default=Path("simulate_year.json"))
    args = parser.parse_args()

    started = time.perf_counter()
    settings = load_settings(None, data_home=args.data_home)
    cycles, labelled, detection = load_city(settings, args.start, args.cycles)
    monotone = monotone_directions(settings)
    model = initial_model(labelled, monotone, seed=args.seed)
    loaded = time.perf_counter() - started
    runs, summaries = [], []
    for r in range(args.repeats):
        config = SimulationConfig(
            capacity_share=args.capacity_share, seed=args.seed + r, risk_exponent=args.risk_exponent
        )
        refit = model_fitter({} if args.no_monotone else monotone, seed=args.seed + r)
        run = simulate(cycles, probability(model), refit, config)
        runs.append(run.assign(repeat=r))
        summaries.append(summarise(run).assign(repeat=r))
        print(f"  repeat {r + 1}/{args.repeats} done ({time.perf_counter() - started:.0f} s)", flush=True)
    results, summary = runs[0], summaries[0]
    all_results, all_summaries = pd.concat(runs, ignore_index=True), pd.concat(summaries, ignore_index=True)
    seconds = time.perf_counter() - started

    print(f"\nStart {args.start}, {args.cycles} monthly cycles, capacity {100 * args.capacity_share:g}% of the list "
          f"per cycle, detection {detection:.3f} (mean hidden inspector rate), initial model on "
          f"{len(labelled)} labelled rows of {labelled['as_of'].nunique()} as-of dates; "
          f"risk π ∝ probability^{args.risk_exponent:g} (floor ¼ of uniform, cap 0.5), retraining "
          f"{'without' if args.no_monotone else 'with'} monotone risk directions; "
          f"load + initial model {loaded:.0f} s, total {seconds:.0f} s.\n")
    print(f"## Over the year (seed {args.seed})\n")
    print(summary_table(summary))
    if args.repeats > 1:
        print(f"\n## Over the year, mean ± sd over {args.repeats} seeds\n")
        print(repeats_table(all_summaries))
        print(f"\n## Drift: the model's Spearman ρ with the true propensity, mean over {args.repeats} seeds\n")
        print(drift_table(all_results))
    print(f"\n## Per cycle (seed {args.seed})\n")
    print(cycle_table(results))
    args.out.write_text(
        json.dumps(
            {
                "start": args.start.isoformat(), "cycles": args.cycles, "capacity_share": args.capacity_share,
                "seed": args.seed, "repeats": args.repeats, "risk_exponent": args.risk_exponent,
                "monotone_retraining": not args.no_monotone,
                "detection": detection, "seconds": seconds,
                "summary": all_summaries.to_dict(orient="records"),
                "per_cycle": all_results.to_dict(orient="records"),
            },
            ensure_ascii=False, indent=1, default=str,
        ),
        encoding="utf-8",
    )
    print(f"\nJSON: {args.out}")


if __name__ == "__main__":
    main()
