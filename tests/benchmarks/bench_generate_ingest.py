"""Generation, ingestion and (optionally) the profile: time, rows/s and peak memory per step.

Run on demand, not in CI:
    .venv/bin/python tests/benchmarks/bench_generate_ingest.py --enterprises 100000 --data-home /tmp/bench100k
    # issue 3's budget, ingest + profile, on an already generated city:
    .venv/bin/python tests/benchmarks/bench_generate_ingest.py --enterprises 1000000 --data-home /tmp/bench1m \\
        --skip-generate --profile-as-of 2024-07-01 --workers 1 --workers 2

Each step is one `regulens` command in a child process. Its peak memory is sampled over the whole
process tree (the ingest workers included, as PSS) every second: the most the step held at once.
`--workers` may be given several times: the ingest then runs once per value, in the given order,
and the profile after the last one. Prints one JSON object per step; BENCHMARKS.md records the
figures with the machine they ran on.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import threading
import time

import psutil


def tree_memory(proc: psutil.Process) -> int:
    """Proportional set size (PSS) summed over the process and its workers: pages a forked worker
    still shares with its parent count once, split between them (a sum of RSS would count them
    in every process)."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):  # a worker that just exited
            total += p.memory_full_info().pss
    return total


def run_step(args: list[str], env: dict[str, str] | None = None) -> dict[str, object]:
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines", "--json", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})},
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        watched = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                peak = max(peak, tree_memory(watched))
            except psutil.Error:
                return
            done.wait(1.0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"step {args} failed ({proc.returncode}):\n{stderr[-3000:]}")
    summary = json.loads(stdout.strip().splitlines()[-1])
    return {"seconds": round(seconds, 1), "peak_mib": round(peak / 2**20), "summary": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--enterprises", type=int, required=True)
    parser.add_argument("--data-home", required=True)
    parser.add_argument("--seed", type=int, default=20240117)
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-generate", action="store_true", help="ingest an already generated city")
    parser.add_argument(
        "--workers", type=int, action="append", help="ingest.workers (repeatable; default: the settings' auto)"
    )
    parser.add_argument("--profile-as-of", help="also build the profile for this as-of date after the ingest")
    opts = parser.parse_args()
    machine = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "load_average_at_start": os.getloadavg(),
    }
    print(json.dumps({"machine": machine}), flush=True)
    if not opts.skip_generate:
        generate(opts)
    if opts.skip_ingest:
        return
    ingest_seconds = 0.0
    for workers in opts.workers or [None]:
        ingest_seconds = ingest(opts, workers)
    if opts.profile_as_of:
        profile_seconds = profile(opts)
        print(
            json.dumps(
                {
                    "step": "ingest + profile",
                    "seconds": round(ingest_seconds + profile_seconds, 1),
                    "minutes": round((ingest_seconds + profile_seconds) / 60, 1),
                    "budget_minutes": 30,
                }
            ),
            flush=True,
        )


def generate(opts: argparse.Namespace) -> None:
    gen = run_step(
        ["--data-home", opts.data_home, "generate", "--enterprises", str(opts.enterprises), "--seed", str(opts.seed)]
    )
    rows = gen["summary"]["rows_total"]  # type: ignore[index]
    report = {
        "step": "generate",
        "enterprises": opts.enterprises,
        "rows": rows,
        "seconds": gen["seconds"],
        "rows_per_second": round(rows / gen["seconds"]),  # type: ignore[operator]
        "peak_mib": gen["peak_mib"],
    }
    print(json.dumps(report), flush=True)


def ingest(opts: argparse.Namespace, workers: int | None) -> float:
    env = {"REGULENS_INGEST__WORKERS": str(workers)} if workers is not None else None
    ing = run_step(["--data-home", opts.data_home, "ingest"], env)
    s = ing["summary"]
    rows_in = s["rows_accepted"] + s["rows_quarantined"]  # type: ignore[index]
    report = {
        "step": "ingest",
        "enterprises": opts.enterprises,
        "workers": workers if workers is not None else "auto",
        "rows": rows_in,
        "seconds": ing["seconds"],
        "rows_per_second": round(rows_in / ing["seconds"]),  # type: ignore[operator]
        "quarantined": s["rows_quarantined"],  # type: ignore[index]
        "failed_sources": [x["source"] for x in s["sources"] if not x["ok"]],  # type: ignore[index]
        "peak_mib": ing["peak_mib"],
    }
    print(json.dumps(report), flush=True)
    return float(ing["seconds"])  # type: ignore[arg-type]


def profile(opts: argparse.Namespace) -> float:
    prof = run_step(["--data-home", opts.data_home, "profile", "--as-of", opts.profile_as_of])
    report = {
        "step": "profile",
        "as_of": opts.profile_as_of,
        "seconds": prof["seconds"],
        "peak_mib": prof["peak_mib"],
        "summary": prof["summary"],
    }
    print(json.dumps(report, default=str), flush=True)
    return float(prof["seconds"])  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
