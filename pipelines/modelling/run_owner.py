"""MLflow runs left RUNNING by a training process that was killed, and closing them as FAILED.

A run killed mid-way (SIGKILL, the machine's OOM killer, a closed terminal) never reaches
`mlflow.end_run`, so it stays RUNNING for ever. Every training run is therefore tagged when it is
created with the host, the process id, the process's start time (Linux: /proc/<pid>/stat, so a
reused pid is not mistaken for the trainer) and the wall-clock start. The next `regulens train`
(and `regulens model list`) closes every RUNNING run whose process is gone from this host: status
FAILED, with a tag saying why and which command found it. A run whose process is alive, a run of
another host, and a run without these tags (made before them, or by hand) are left alone.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow import MlflowClient

HOST, PID, PID_START, STARTED_AT = "regulens.host", "regulens.pid", "regulens.pid_start", "regulens.started_at"
CLOSED = "regulens.closed"


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat), or None
    when there is no such live process (gone, a zombie) or no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # the command name, in brackets, may hold spaces
    if fields[0] in ("Z", "X"):  # killed and not yet reaped: dead all the same
        return None
    return fields[19]


def owner_tags() -> dict[str, str]:
    """Tags for a run this process starts: who is running it."""
    tags = {HOST: socket.gethostname(), PID: str(os.getpid()), STARTED_AT: _utc_now().isoformat(timespec="seconds")}
    start = process_start(os.getpid())
    if start is not None:
        tags[PID_START] = start
    return tags


def process_alive(pid: int, start: str | None) -> bool:
    """Is process `pid` (started at `start` ticks, when known) still running on this host?"""
    if Path("/proc/self/stat").is_file():
        now = process_start(pid)
        return now is not None and (start is None or now == start)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def close_interrupted_runs(client: MlflowClient, found_by: str) -> list[str]:
    """Set every RUNNING run whose training process is gone from this host to FAILED, tagged with
    why and by which command; returns their run ids. Runs of live processes, of other hosts and
    without owner tags are not touched."""
    host = socket.gethostname()
    experiments = [e.experiment_id for e in client.search_experiments()]
    if not experiments:
        return []
    closed: list[str] = []
    token = None
    while True:
        page = client.search_runs(experiments, "attributes.status = 'RUNNING'", max_results=1000, page_token=token)
        for run in page:
            tags = run.data.tags
            if tags.get(HOST) != host or not tags.get(PID, "").isdigit():
                continue
            pid = int(tags[PID])
            if process_alive(pid, tags.get(PID_START)):
                continue
            when = _utc_now()
            client.set_tag(
                run.info.run_id,
                CLOSED,
                f"interrupted: process {pid} on {host} (started {tags.get(STARTED_AT, '?')}) ended without "
                f"finishing the run; marked FAILED by `{found_by}` at {when.isoformat(timespec='seconds')}",
            )
            client.set_terminated(run.info.run_id, status="FAILED", end_time=int(when.timestamp() * 1000))
            closed.append(run.info.run_id)
        token = page.token
        if not token:
            return closed


__all__ = ["CLOSED", "HOST", "PID", "PID_START", "STARTED_AT", "close_interrupted_runs", "owner_tags", "process_alive"]
