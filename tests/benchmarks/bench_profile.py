"""Profile build time, peak memory and rows/s, beside two references measured in the same run:

- pandas: a straightforward pandas implementation of a 20-feature subset (what a data scientist
  would write: read the columns, filter by knowledge date, group by, merge);
- floor: a bare DuckDB scan-and-group-by (count and one sum per enterprise) of the same rows.

Run on demand, on an ingested city (not in CI):
    .venv/bin/python tests/benchmarks/bench_profile.py --data-home /tmp/bench1m --as-of 2024-01-01 --repeats 1

Each measurement runs in its own child process, so its peak RSS (ru_maxrss) is its own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

PANDAS_SOURCES = ("electricity", "water", "complaints", "penalties", "inspections")


def step_regulens(home: Path, as_of: dt.date) -> int:
    from pipelines.profiles.flow import build_profiles
    from pipelines.settings import load_settings

    (result,) = build_profiles(load_settings(data_home=home), [as_of])
    return result.enterprises


def step_pandas(home: Path, as_of: dt.date) -> int:
    """20 features the way a notebook would compute them."""
    import pandas as pd

    from pipelines.lake import current_version

    def read(source: str, columns: list[str]) -> pd.DataFrame:
        frame = pd.read_parquet(current_version(home / "lake" / "bronze" / source), columns=columns)
        return frame[pd.to_datetime(frame["knowledge_date"]) < pd.Timestamp(as_of)]

    ts = pd.Timestamp(as_of)
    reg = read("registration", ["uscc", "established_date", "knowledge_date"])
    reg = reg[pd.to_datetime(reg["established_date"]) < ts][["uscc"]].set_index("uscc")
    parts = []
    for source, date, value in (("electricity", "billing_month", "kwh"), ("water", "billing_month", "tons")):
        f = read(source, ["uscc", date, "knowledge_date", value])
        d = pd.to_datetime(f[date])
        for w in (90, 365):
            g = f[d >= ts - pd.Timedelta(days=w)].groupby("uscc")[value]
            parts.append(g.sum().rename(f"{source}_{value}_sum_{w}d"))
            parts.append(g.mean().rename(f"{source}_{value}_mean_{w}d"))
        parts.append(f.groupby("uscc")[value].max().rename(f"{source}_{value}_max_all"))
        parts.append(f.groupby("uscc").size().rename(f"{source}_count_all"))
    c = read("complaints", ["entity_uscc", "received_date", "knowledge_date"]).dropna(subset=["entity_uscc"])
    cd = pd.to_datetime(c["received_date"])
    for w in (90, 365, 730):
        parts.append(c[cd >= ts - pd.Timedelta(days=w)].groupby("entity_uscc").size().rename(f"complaints_count_{w}d"))
    p = read("penalties", ["uscc", "decision_date", "knowledge_date", "fine_yuan"])
    parts.append(p.groupby("uscc").size().rename("penalties_count_all"))
    parts.append(p.groupby("uscc")["fine_yuan"].sum().rename("penalties_fine_sum_all"))
    i = read("inspections", ["uscc", "inspection_date", "knowledge_date", "violation_found"])
    parts.append(i.groupby("uscc").size().rename("inspections_count_all"))
    parts.append(i.groupby("uscc")["violation_found"].sum().rename("inspections_found_all"))
    last = pd.to_datetime(i.groupby("uscc")["inspection_date"].max())
    parts.append((ts - last).dt.days.rename("inspections_days_since_last"))
    out = reg.join(parts, how="left")
    assert out.shape[1] == 20, out.shape
    return len(out)


def step_floor(home: Path, as_of: dt.date) -> int:
    """A bare scan-and-group-by of every profile source: the floor any engine pays to read it."""
    import duckdb

    from pipelines.lake import current_version
    from pipelines.profiles.engines import PROFILE_SOURCES

    con = duckdb.connect()
    n = 0
    for source in PROFILE_SOURCES:
        key = "entity_uscc" if source == "complaints" else "uscc"
        glob = str(current_version(home / "lake" / "bronze" / source) / "*.parquet")
        n += len(
            con.execute(
                f"SELECT {key}, count(*), sum(_source_row) FROM read_parquet(?) "
                f"WHERE knowledge_date < ? GROUP BY {key}",
                [glob, as_of],
            ).fetchall()
        )
    return n


def source_rows(home: Path, sources: tuple[str, ...]) -> int:
    import duckdb

    from pipelines.lake import current_version

    con = duckdb.connect()
    return sum(
        con.execute(
            "SELECT count(*) FROM read_parquet(?)", [str(current_version(home / "lake" / "bronze" / s) / "*.parquet")]
        ).fetchone()[0]
        for s in sources
    )


def run_child(step: str, home: Path, as_of: dt.date) -> dict[str, float]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, "--child", step, "--data-home", str(home), "--as-of", as_of.isoformat()],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"{step} failed:\n{proc.stderr[-3000:]}")
    return {"seconds": seconds, **json.loads(proc.stdout.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-home", type=Path, required=True)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--child", choices=("regulens", "pandas", "floor"))
    opts = parser.parse_args()
    if opts.child:
        n = {"regulens": step_regulens, "pandas": step_pandas, "floor": step_floor}[opts.child](
            opts.data_home, opts.as_of
        )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"rows_out": n, "peak_rss_mib": round(peak)}))
        return
    from pipelines.profiles.engines import PROFILE_SOURCES

    all_rows = source_rows(opts.data_home, PROFILE_SOURCES)
    pandas_rows = source_rows(opts.data_home, ("registration", *PANDAS_SOURCES))
    results = {}
    for step in ("floor", "pandas", "regulens"):
        runs = [run_child(step, opts.data_home, opts.as_of) for _ in range(opts.repeats)]
        rows = pandas_rows if step == "pandas" else all_rows
        median = statistics.median(r["seconds"] for r in runs)
        results[step] = {
            "median_seconds": round(median, 1),
            "peak_rss_mib": max(r["peak_rss_mib"] for r in runs),
            "source_rows": rows,
            "rows_per_second": round(rows / median),
            "rows_out": runs[0]["rows_out"],
        }
        print(json.dumps({step: results[step]}), flush=True)
    floor = results["floor"]["rows_per_second"]
    print(json.dumps({"throughput_vs_floor": {k: round(v["rows_per_second"] / floor, 3) for k, v in results.items()}}))


if __name__ == "__main__":
    main()
