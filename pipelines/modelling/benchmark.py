"""Our score beside someone else's, on the same rows: the jurisdiction's benchmark (profile spec's
`benchmark` block; for Chicago, the City's own model on its 1,637 pilot inspections).

The benchmark source is ingested like any other (it has a contract) but read only here. The
label compared on is the benchmark's own (`criticalFound` for Chicago); the table also says how
often it agrees with the label the profile recomputed from the events.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.events import EventProfileSpec
from models.schedule import schedule_metrics
from pipelines.lake import current_version
from pipelines.settings import Settings


@dataclass
class BenchmarkReport:
    name: str
    table: pd.DataFrame  # one row per scorer: rows, base_rate, auc, first_half_share, days_earlier
    rows: pd.DataFrame  # the compared rows: id, date, label, both scores
    label_agreement: float
    missing_scores: int


def benchmark_rows(settings: Settings, spec: EventProfileSpec) -> pd.DataFrame:
    """The benchmark's rows (flagged), with its label and its score, by event id."""
    b = spec.benchmark
    if b is None:
        raise ValueError(f"{settings.profile_spec} has no `benchmark` block")
    version = current_version(settings.lake_dir / "bronze" / b.source)
    if version is None:
        raise FileNotFoundError(f"bronze source {b.source!r} has no published version; run `regulens ingest` first")
    frame = pd.read_parquet(version, columns=[b.id, b.rows, b.score, b.label])
    frame = frame[frame[b.rows].fillna(False).astype(bool)]
    return frame.rename(columns={b.id: spec.events.id, b.score: "benchmark_score", b.label: "benchmark_label"})


def compare_with_benchmark(
    settings: Settings, spec: EventProfileSpec, scores: pd.DataFrame, labels: pd.DataFrame, scorer: str = "regulens"
) -> BenchmarkReport:
    """Metrics of `scores` (event id, as_of, score) and of the benchmark's score on the benchmark's
    rows. Rows we did not score are counted and reported, never silently dropped from its side."""
    rows = benchmark_rows(settings, spec)
    key = spec.events.id
    merged = rows.merge(scores[[key, "as_of", "score"]], on=key, how="left")
    merged = merged.merge(labels[[key, spec.label.name]], on=key, how="left")
    # A row either side did not score cannot be compared; it is counted and reported, not hidden.
    scored = merged["score"].notna() & merged["benchmark_score"].notna() & merged["benchmark_label"].notna()
    missing = int((~scored).sum())
    if not scored.any():
        raise ValueError(f"none of the {len(merged):,} benchmark rows has both scores; is the cut-off after them?")
    compared = merged[scored].sort_values(["as_of", key], kind="stable").reset_index(drop=True)
    found = compared["benchmark_label"].to_numpy(dtype=int)
    agreement = float((compared[spec.label.name].to_numpy() == found).mean())
    table = pd.DataFrame(
        [
            {"scorer": scorer, **schedule_metrics(compared["as_of"], found, compared["score"].to_numpy())},
            {"scorer": spec.benchmark.name if spec.benchmark else "benchmark",
             **schedule_metrics(compared["as_of"], found, compared["benchmark_score"].to_numpy())},
            {"scorer": "schedule order (as inspected)",
             **schedule_metrics(compared["as_of"], found, -np.arange(len(compared), dtype=float))},
        ]
    )
    return BenchmarkReport(spec.benchmark.name if spec.benchmark else "", table, compared, agreement, missing)


def gain_curve(report: BenchmarkReport) -> pd.DataFrame:
    """Cumulative share of the violations found against the share of the schedule worked through,
    for our score, the benchmark's and the schedule as inspected (the City's evaluation plot)."""
    found = report.rows["benchmark_label"].to_numpy(dtype=int)
    orders = {
        report.table["scorer"].iloc[0]: report.rows["score"].to_numpy(dtype=float),
        report.name: report.rows["benchmark_score"].to_numpy(dtype=float),
        "schedule order (as inspected)": -np.arange(len(found), dtype=float),
    }
    out = {"share_inspected": np.arange(1, len(found) + 1) / len(found)}
    for name, score in orders.items():
        ranked = found[np.argsort(-score, kind="stable")]
        out[name] = np.cumsum(ranked) / max(found.sum(), 1)
    return pd.DataFrame(out)


def gain_figure(report: BenchmarkReport):  # -> matplotlib Figure
    import matplotlib.pyplot as plt

    curve = gain_curve(report)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name in curve.columns[1:]:
        ax.plot(curve["share_inspected"], curve[name], label=name)
    ax.axvline(0.5, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("share of the schedule inspected, in score order")
    ax.set_ylabel("share of inspections with a critical violation found")
    ax.set_title(f"{len(curve):,} inspections, {int(report.rows['benchmark_label'].sum())} with a critical violation")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig
