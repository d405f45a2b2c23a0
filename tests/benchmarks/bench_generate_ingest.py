"""Generation and ingestion throughput (rows/s) and peak memory, at a given city size.

Run on demand, not in CI:
    .venv/bin/python tests/benchmarks/bench_generate_ingest.py --enterprises 100000 --data-home /tmp/bench100k

Each step runs in its own child process so that its peak resident memory (ru_maxrss) is its own.
Prints one JSON object per step; BENCHMARKS.md records the figures with the machine they ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time


def run_step(args: list[str]) -> dict[str, object]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines", "--json", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # max over children so far
    if proc.returncode not in (0, 1):
        raise SystemExit(f"step {args} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"seconds": round(seconds, 1), "peak_rss_mib_max_so_far": round(peak_kib / 1024), "summary": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--enterprises", type=int, required=True)
    parser.add_argument("--data-home", required=True)
    parser.add_argument("--seed", type=int, default=20240117)
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-generate", action="store_true", help="ingest an already generated city")
    opts = parser.parse_args()
    machine = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }
    print(json.dumps({"machine": machine}), flush=True)
    if opts.skip_generate:
        return ingest_only(opts)
    gen = run_step(
        ["--data-home", opts.data_home, "generate", "--enterprises", str(opts.enterprises), "--seed", str(opts.seed)]
    )
    rows = gen["summary"]["rows_total"]  # type: ignore[index]
    print(
        json.dumps(
            {
                "step": "generate",
                "enterprises": opts.enterprises,
                "rows": rows,
                "seconds": gen["seconds"],
                "rows_per_second": round(rows / gen["seconds"]),
                "peak_rss_mib": gen["peak_rss_mib_max_so_far"],
            }
        ),
        flush=True,
    )
    if opts.skip_ingest:
        return
    ingest_only(opts)


def ingest_only(opts: argparse.Namespace) -> None:
    ing = run_step(["--data-home", opts.data_home, "ingest"])
    s = ing["summary"]
    rows_in = s["rows_accepted"] + s["rows_quarantined"]  # type: ignore[index]
    print(
        json.dumps(
            {
                "step": "ingest",
                "enterprises": opts.enterprises,
                "rows": rows_in,
                "seconds": ing["seconds"],
                "rows_per_second": round(rows_in / ing["seconds"]),
                "quarantined": s["rows_quarantined"],  # type: ignore[index]
                "peak_rss_mib_max_of_both_steps": ing["peak_rss_mib_max_so_far"],
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
