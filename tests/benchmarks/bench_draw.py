"""Drawing a plan for the 1,000,000-enterprise city: π, commitment, sample, inspectors.

A synthetic eligible list in the city's districts, towns and industries (risk ~ Beta(1.2, 6),
credit classes from noisy risk quantiles, 6% inspected in the last year with their two
inspectors), the roster from the synthetic generator, one declared conflict per 150 entities.
Policy: blend λ = 0.5 of Henan class ratios and risk, floor 0.01, cap 0.9, six-month exclusion,
one complaint hotspot boost; capacity split over the districts by list size; two inspectors per
task, workload cap 150 (--workload-cap), same district, expertise per item.

Run on demand (not in CI):
    .venv/bin/python tests/benchmarks/bench_draw.py --entities 1000000 --inspectors 3000 --capacity 50000 --repeats 5

Prints the median (and min, max) of each stage over the repeats, in seconds, then one JSON line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.draw.commitment import commit, manifest
from pipelines.draw.design import inclusion_probabilities
from pipelines.draw.inspectors import assign_inspectors
from pipelines.draw.plan import PlanInputs, committed_tables, draw_plan, plan_id_for, write_plan
from pipelines.draw.policy import AssignmentRules, Boost, Capacity, DrawPolicy
from pipelines.draw.sample import draw_targets, rng_from_seed
from pipelines.settings import PROJECT_ROOT
from pipelines.synthetic import government
from pipelines.synthetic.spec import CitySpec, weights
from pipelines.synthetic.supervision import inspection_item

AS_OF = dt.date(2025, 7, 1)


def synthetic_list(n: int, spec: CitySpec, roster_ids: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    towns = spec.towns()
    district_of_town = np.array([d for d, _ in towns])
    town_w = np.array([weights(spec.districts)[d] / len(spec.districts[d].towns) for d, _ in towns])
    town = rng.choice(len(towns), size=n, p=town_w / town_w.sum())
    industry = np.array([i.code for i in spec.industries])[
        rng.choice(len(spec.industries), n, p=weights(spec.industries))
    ]
    risk = rng.beta(1.2, 6.0, n)
    noisy = risk + rng.normal(0, 0.05, n)
    credit = np.array(list("ABCD"))[np.searchsorted(np.quantile(noisy, [0.45, 0.80, 0.95]), noisy)]
    inspected = rng.random(n) < 0.06
    last = np.where(inspected, np.datetime64(AS_OF) - rng.integers(1, 365, n), np.datetime64("NaT"))
    pair = roster_ids[rng.integers(0, len(roster_ids), (n, 2))]
    return pd.DataFrame(
        {
            "uscc": pd.Series(np.arange(n)).astype(str).str.zfill(10).radd("91440600MA"),
            "name": pd.Series(np.arange(n)).astype(str).radd("测试企业"),
            "risk": risk,
            "credit_class": credit,
            "district": np.array([d.name for d in spec.districts], dtype=object)[district_of_town[town]],
            "town": np.array([t for _, t in towns], dtype=object)[town],
            "industry_code": industry,
            "item": inspection_item(industry),
            "last_inspected": pd.to_datetime(last),
            "last_inspectors": np.where(inspected, pair[:, 0] + ";" + pair[:, 1], ""),
        }
    )


def split_capacity(counts: pd.Series, total: int) -> dict[str, int]:
    """Largest remainders: capacity per district in proportion to its list size."""
    share = counts / counts.sum() * total
    base = np.floor(share).astype(int)
    extra = (share - base).sort_values(ascending=False).index[: total - int(base.sum())]
    base[extra] += 1
    return {str(k): int(v) for k, v in base.items()}


POLICY = DrawPolicy(
    kind="blend",
    floor=0.01,
    cap=0.9,
    exclude_inspected_months=6,
    boosts=(Boost(district="南海区", industry_code="52", factor=2.0),),
)
VERSIONS = {"model": "bench", "scorecard": "bench"}


def capacity_for(raw: pd.DataFrame, total: int) -> Capacity:
    """The capacity split over districts by the size of their list after the six-month exclusion."""
    kept = raw["last_inspected"].isna() | (raw["last_inspected"] < pd.Timestamp("2025-01-01"))
    return Capacity(total=total, per_district=split_capacity(raw.loc[kept, "district"].value_counts(), total))


def timed(stages: dict[str, list[float]], name: str, start: float) -> float:
    now = time.perf_counter()
    stages.setdefault(name, []).append(now - start)
    return now


def run_once(
    raw: pd.DataFrame, roster: pd.DataFrame, conflicts: pd.DataFrame, capacity: int, workload_cap: int, repeat: int
) -> dict[str, float]:
    """One draw, stage by stage (the steps `draw_plan` takes), in seconds."""
    stages: dict[str, list[float]] = {}
    rules = AssignmentRules(workload_cap=workload_cap)
    t = time.perf_counter()
    inputs = PlanInputs.build(raw, roster, conflicts, POLICY, capacity_for(raw, capacity), rules, AS_OF, VERSIONS)
    t = timed(stages, "normalise inputs", t)
    design = inclusion_probabilities(inputs.eligible, inputs.policy, inputs.capacity, inputs.as_of)
    t = timed(stages, "inclusion probabilities", t)
    commitment = commit(manifest(committed_tables(inputs, design), inputs.settings()))
    t = timed(stages, "commitment (SHA-256)", t)
    rng = rng_from_seed(repeat)
    drawn = draw_targets(design.frame, rng)
    t = timed(stages, "sample (systematic πps)", t)
    plan_id = plan_id_for(AS_OF, commitment)
    drawn.insert(0, "task_id", [f"{plan_id}-{k + 1:06d}" for k in range(len(drawn))])
    result = assign_inspectors(drawn, inputs.roster, inputs.conflicts, inputs.rules, rng)
    timed(stages, "inspectors", t)
    assert len(drawn) == capacity and not result.infeasible, (len(drawn), result.infeasible[:3])
    out = {k: v[0] for k, v in stages.items()}
    out["max load"], out["excluded"] = float(result.loads.max()), float(len(design.excluded))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entities", type=int, default=1_000_000)
    parser.add_argument("--inspectors", type=int, default=3_000)
    parser.add_argument("--capacity", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workload-cap", type=int, default=150, help="maximum tasks per inspector in the plan")
    args = parser.parse_args()
    rng = np.random.default_rng(20250701)
    spec = CitySpec.load(PROJECT_ROOT / "data" / "city" / "foshan.yaml")
    roster, _ = government.roster(rng, spec, args.inspectors)
    raw = synthetic_list(args.entities, spec, roster["inspector_id"].to_numpy(dtype=object), rng)
    conflicts = pd.DataFrame(
        {
            "inspector_id": roster["inspector_id"]
            .sample(args.entities // 150, replace=True, random_state=1)
            .to_numpy(),
            "uscc": raw["uscc"].sample(args.entities // 150, random_state=2).to_numpy(),
        }
    )
    runs = [run_once(raw, roster, conflicts, args.capacity, args.workload_cap, r) for r in range(args.repeats)]
    plan = None
    for run in runs:  # the same work through the public flow, Plan object included
        start = time.perf_counter()
        plan = draw_plan(
            raw,
            roster,
            conflicts,
            POLICY,
            capacity_for(raw, args.capacity),
            "bench",
            VERSIONS,
            as_of=AS_OF,
            rules=AssignmentRules(workload_cap=args.workload_cap),
        )
        run["draw_plan end to end"] = time.perf_counter() - start
    assert plan is not None
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        write_plan(plan, Path(tmp))
        written = time.perf_counter() - start
    timing = [k for k in runs[0] if k not in ("max load", "excluded", "draw_plan end to end")]
    for run in runs:
        run["total"] = sum(run[k] for k in timing)
    print(
        f"{args.entities:,} entities, {args.inspectors:,} inspectors, capacity {args.capacity:,}, "
        f"{runs[0]['excluded']:,.0f} excluded, max load {runs[0]['max load']:.0f}; seconds over {args.repeats} runs:"
    )
    summary = {}
    for key in [*timing, "total", "draw_plan end to end"]:
        values = [r[key] for r in runs]
        summary[key] = statistics.median(values)
        print(f"  {key:28s} median {statistics.median(values):7.2f}   min {min(values):7.2f}   max {max(values):7.2f}")
    print(f"  write_plan (Parquet, CSV, Excel; once, outside the budget) {written:7.2f}")
    print(
        json.dumps(
            {
                "entities": args.entities,
                "inspectors": args.inspectors,
                "capacity": args.capacity,
                "median_s": summary,
                "write_plan_s": written,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
