"""`regulens generate`: the synthetic city, chunk by chunk, streamed to disk.

Memory is bounded by the chunk size: each chunk of enterprises is simulated over the whole
window and its rows are written as one part file per source before the next chunk starts.
The output replaces the previous city only once it is complete (see `storage.replace_dir`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.ingest.contracts import load_contracts
from pipelines.settings import Settings
from pipelines.storage import replace_dir, staging_dir
from pipelines.synthetic import activity, government, registry
from pipelines.synthetic.extracts import inject_defects, to_raw_frame, write_extract
from pipelines.synthetic.population import (
    LOGIT,
    Timeline,
    calibrate_intercept,
    draw_enterprises,
    dynamic_logit,
    quarter_state,
    static_logit,
)
from pipelines.synthetic.spec import CitySpec
from pipelines.synthetic.supervision import Roster, simulate_history
from pipelines.synthetic.texts import enterprise_names, person_names, shared_address_pool, street_addresses

Progress = Callable[[int, int], None]


@dataclass
class GenerateSummary:
    enterprises: int
    seed: int
    rows_by_source: dict[str, int] = field(default_factory=dict)
    defects_injected: int = 0
    intercept: float = 0.0
    raw_dir: str = ""

    @property
    def total_rows(self) -> int:
        return sum(self.rows_by_source.values())


def timeline_of(settings: Settings) -> Timeline:
    g = settings.generate
    months = (g.end_year - g.start_year + 1) * 12
    return Timeline(start=np.datetime64(f"{g.start_year}-01-01"), n_months=months)


def generate_city(settings: Settings, progress: Progress | None = None) -> GenerateSummary:
    g = settings.generate
    spec = CitySpec.load(settings.city_spec)
    contracts = load_contracts(settings.contracts_dir)
    timeline = timeline_of(settings)
    extract_date = np.datetime64(settings.extract_date)
    root = np.random.default_rng([g.seed, 0])

    roster_frame, roster = government.roster(root, spec, g.inspectors or max(60, g.enterprises // 400))
    shared_pool = shared_address_pool(root, spec)
    bodies, signals, body_truth = government.government_bodies(root, spec, g.government_bodies, timeline)
    intercept = _calibrate(spec, timeline, roster, g.seed, g.target_random_hit_rate)

    summary = GenerateSummary(enterprises=g.enterprises, seed=g.seed, intercept=intercept)
    with staging_dir(settings.raw_dir) as raw_dir, staging_dir(settings.ground_truth_dir) as truth_dir:

        def emit(source: str, frame: pd.DataFrame, part: int, rng: np.random.Generator) -> None:
            contract = contracts[source]
            frame = frame[frame["knowledge_date"].to_numpy().astype("datetime64[D]") <= extract_date]
            frame = frame.drop_duplicates(contract.meta.primary_key).reset_index(drop=True)
            raw = to_raw_frame(frame, contract)
            if contract.meta.format == "csv" and g.defect_rate > 0:
                raw, defects = inject_defects(rng, raw, contract, g.defect_rate, extract_date)
                if len(defects):
                    defects.insert(0, "file", f"{source}/part-{part:05d}.csv")
                    defects.insert(0, "source", source)
                    _append(truth_dir / "defects", part, defects)
                    summary.defects_injected += len(defects)
            ext = "csv" if contract.meta.format == "csv" else "parquet"
            write_extract(raw, contract, raw_dir / source / f"part-{part:05d}.{ext}")
            summary.rows_by_source[source] = summary.rows_by_source.get(source, 0) + len(raw)

        emit("inspectors", roster_frame, 0, root)
        emit("government_bodies", bodies, 0, root)
        emit("integrity_signals", signals, 0, root)
        _append(truth_dir / "government_bodies", 0, body_truth)
        _append(
            truth_dir / "inspectors", 0, pd.DataFrame({"inspector_id": roster.ids, "detection_rate": roster.detection})
        )

        n_chunks = -(-g.enterprises // g.chunk_size)
        for part in range(n_chunks):
            rng = np.random.default_rng([g.seed, part + 1])
            first = part * g.chunk_size
            pop = draw_enterprises(rng, spec, first, min(g.chunk_size, g.enterprises - first), timeline)
            for source, frame in _chunk_sources(
                rng, spec, pop, timeline, roster, shared_pool, intercept, truth_dir, part
            ):
                emit(source, frame, part, rng)
            if progress:
                progress(part + 1, n_chunks)

        manifest = {
            "seed": g.seed,
            "enterprises": g.enterprises,
            "extract_date": settings.extract_date.isoformat(),
            "window": [f"{g.start_year}-01-01", f"{g.end_year}-12-31"],
            "intercept": intercept,
            "rows_by_source": summary.rows_by_source,
            "settings": settings.model_dump(mode="json"),
        }
        (raw_dir / "MANIFEST.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        weights = {"weights": LOGIT, "intercept": intercept}
        (truth_dir / "logit.json").write_text(json.dumps(weights, indent=2), encoding="utf-8")
    replace_dir(raw_dir, settings.raw_dir)
    replace_dir(truth_dir, settings.ground_truth_dir)
    summary.raw_dir = str(settings.raw_dir)
    return summary


def _chunk_sources(
    rng: np.random.Generator,
    spec: CitySpec,
    pop: pd.DataFrame,
    timeline: Timeline,
    roster: Roster,
    shared_pool: np.ndarray,
    intercept: float,
    truth_dir: Path,
    part: int,
):
    """Every source's rows for one chunk of enterprises, in a fixed order (determinism)."""
    industry_code = np.array([spec.industries[i].code for i in pop["industry_idx"]])
    names = enterprise_names(rng, spec, pop)
    addresses = street_addresses(rng, spec, pop, shared_pool)
    static = static_logit(pop, spec)
    history = simulate_history(rng, spec, pop, names, addresses, static, intercept, timeline, roster)
    _append(truth_dir / "violations", part, history.truth)
    _append(truth_dir / "enterprises", part, pop.drop(columns=["est_date"]).assign(static_logit=static))

    yield (
        "registration",
        registry.registration(pop, spec, names, addresses, person_names(rng, spec, len(pop)), timeline),
    )
    yield "shareholders", registry.shareholders(rng, pop, spec)
    yield "registration_changes", registry.changes(rng, pop, spec, timeline)
    yield "licences", registry.licences(rng, pop, industry_code, timeline)
    reports, abnormal, grades = activity.annual_reports_and_grades(rng, pop, timeline)
    unreachable = history.inspections[history.inspections["result"].str.startswith("通过登记的住所")]
    abnormal = pd.concat(
        [
            abnormal,
            pd.DataFrame(
                {
                    "uscc": unreachable["uscc"],
                    "listed_date": unreachable["knowledge_date"] + pd.Timedelta(days=10),
                    "knowledge_date": unreachable["knowledge_date"] + pd.Timedelta(days=10),
                    "reason": "通过登记的住所或者经营场所无法联系",
                    "removed_date": pd.NaT,
                    "listing_authority": "佛山市市场监督管理局",
                }
            ),
        ],
        ignore_index=True,
    )
    yield "annual_reports", reports
    yield "abnormal_list", abnormal
    yield "tax_credit", grades
    yield "serious_dishonesty", registry.serious_dishonesty(rng, pop, timeline, abnormal, history.penalties)
    yield "penalties", history.penalties
    yield "inspections", history.inspections
    complaints = history.complaints
    complaints.insert(0, "complaint_id", [f"TS{part:04d}{i:07d}" for i in range(len(complaints))])
    _append(truth_dir / "complaint_entities", part, complaints[["complaint_id", "true_uscc"]])
    yield "complaints", complaints.drop(columns="true_uscc")
    yield from activity.utilities(rng, pop, timeline, industry_code).items()
    yield from activity.tax_and_headcount(rng, pop, timeline).items()
    by_quarter = history.truth.pivot_table(index="uscc", columns="quarter", values="propensity", fill_value=0.0)
    quarters = pd.DatetimeIndex(timeline.month_starts[:-1:3])
    propensity = by_quarter.reindex(index=pop["uscc"], columns=quarters).fillna(0.0).to_numpy()
    yield from registry.rare_events(rng, pop, timeline, industry_code, propensity).items()
    yield "inspector_conflicts", government.conflicts(rng, pop, roster.ids, timeline)


def _calibrate(spec: CitySpec, timeline: Timeline, roster: Roster, seed: int, target: float) -> float:
    """Solve the intercept on a pilot population drawn from its own stream of the seed."""
    rng = np.random.default_rng([seed, 10**9])
    pilot = draw_enterprises(rng, spec, 0, 20_000, timeline)
    active, _, _ = quarter_state(pilot, timeline)
    logits = static_logit(pilot, spec)[:, None] + dynamic_logit(pilot, timeline, np.zeros(active.shape, bool))
    return calibrate_intercept(logits, active, float(roster.detection.mean()), target)


def _append(directory: Path, part: int, frame: pd.DataFrame) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    existing = sorted(directory.glob(f"part-{part:05d}*.parquet"))
    frame.to_parquet(directory / f"part-{part:05d}-{len(existing):02d}.parquet", index=False)
