"""The plan cycle on the demo city, end to end through the CLI, for the README's figures.

For each policy it draws a plan (capacity 200 as of 2025-07-01), records the ground truth's
violation of the drawn firms in the quarter after the as-of date as the inspection result (a
perfect inspector: the demo has no real inspections after 2025-07-01), and reads `plan status`:
expected hit rate, realised hit rate, the hit rate the design would find on average (Σ π·y / n,
exact, from the ground truth), Horvitz–Thompson / Hájek estimates with their 95% CI,
against the true violation rate of the listed firms. Evaluation only (it reads ground_truth/).

    REGULENS_DATA_HOME=/tmp/demo-home python tests/benchmarks/plan_cycle_demo.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

HOME = Path(os.environ.get("REGULENS_DATA_HOME", "data"))
GROUND_TRUTH = Path(os.environ.get("REGULENS_GROUND_TRUTH", HOME / "ground_truth"))
AS_OF, QUARTER = "2025-07-01", "2025-07-01"
POLICIES = {
    "uniform": ["--policy", "risk", "--exponent", "0"],
    "class ratios (Henan 2021)": ["--policy", "class"],
    "risk-proportional, floor 0.005": ["--policy", "risk", "--floor", "0.005"],
    "blend 50/50, floor 0.005": ["--policy", "blend", "--floor", "0.005"],
}


def regulens(*args: str) -> dict:
    out = subprocess.run(
        [str(Path(sys.executable).parent / "regulens"), "--json", *args], capture_output=True, text=True
    )
    if out.returncode != 0:
        raise SystemExit(f"regulens {' '.join(args)} failed ({out.returncode}): {out.stderr}{out.stdout}")
    return json.loads(out.stdout)


def main() -> None:
    truth = pd.read_parquet(GROUND_TRUTH / "violations")
    truth = truth[truth["quarter"] == pd.Timestamp(QUARTER)].set_index("uscc")["violating"]
    rows = []
    for k, (name, options) in enumerate(POLICIES.items()):
        drawn = regulens(
            "plan", "draw", "--as-of", AS_OF, "--item", "SJ-GS", "--capacity", "200", "--exclude-months", "6",
            *options, "--public-value", f"demo lottery {k}", "--actor", "demo",
        )  # fmt: skip
        folder = Path(drawn["folder"])
        tasks = pd.read_parquet(folder / "outputs" / "tasks.parquet")
        listed = pd.read_parquet(folder / "outputs" / "design.parquet")
        found = tasks["uscc"].map(truth).fillna(False).astype(bool)
        results = pd.DataFrame(
            {
                "task_id": tasks["task_id"],
                "result": found.map({True: "发现问题已责令改正", False: "未发现问题"}),
                "inspection_date": "2025-07-15",
            }
        )
        path = folder.parent.parent / f"demo-results-{k}.csv"
        results.to_csv(path, index=False)
        regulens("plan", "record", drawn["plan_id"], "--file", str(path), "--actor", "demo")
        status = regulens("plan", "status", drawn["plan_id"], "--on", "2025-07-20")
        est = status["estimate"]
        rows.append(
            {
                "policy": name,
                "expected hit rate": round(drawn["expected_hit_rate"], 3),
                "realised hit rate": round(est["realised_hit_rate"], 3),
                "Hájek (95% CI)": f"{est['hajek']:.3f} [{est['hajek_ci95'][0]:.3f}, {est['hajek_ci95'][1]:.3f}]",
                "HT (95% CI)": f"{est['ht']:.3f} [{est['ht_ci95'][0]:.3f}, {est['ht_ci95'][1]:.3f}]",
                # Exact expectation over all draws of this design: Σ π·y / n (y from the ground truth).
                "E[true hit rate] of the design": round(
                    float((listed["pi"] * listed["uscc"].map(truth).fillna(False)).sum() / listed["pi"].sum()), 3
                ),
                "true rate of the list": round(float(listed["uscc"].map(truth).fillna(False).mean()), 3),
                "list mean risk": round(drawn["list_mean_risk"], 3),
            }
        )
    print("| " + " | ".join(rows[0]) + " |")
    print("|" + "---|" * len(rows[0]))
    for row in rows:
        print("| " + " | ".join(str(v) for v in row.values()) + " |")


if __name__ == "__main__":
    main()
