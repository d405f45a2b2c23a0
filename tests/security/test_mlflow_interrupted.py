"""Issue 23, defect 14: a training process killed mid-run (SIGKILL about 4 s after "evaluating on
the holdout") left its MLflow run RUNNING for ever. The next start closes such runs as FAILED,
and leaves the run of a live process alone."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import mlflow
import pytest
from typer.testing import CliRunner

from models.registry import EXPERIMENT, connect
from pipelines.cli import app
from pipelines.modelling.run_owner import CLOSED, HOST, PID, PID_START, close_interrupted_runs, owner_tags

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner(env={"TERMINAL_WIDTH": "200", "COLUMNS": "200"})

# The child starts a run as the trainers do (tags=owner_tags()), says its id, then waits to be killed.
CHILD = """
import sys, time
from pathlib import Path
import mlflow
from models.registry import connect
from pipelines.modelling.run_owner import owner_tags
connect(Path(sys.argv[1]))
run = mlflow.start_run(run_name="train-2025-07-01", tags=owner_tags())
print(run.info.run_id, flush=True)
time.sleep(600)
"""


def killed_run(mlflow_dir: Path) -> str:
    """The id of a run whose process was killed with SIGKILL after starting it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(mlflow_dir)], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(child.stdout.readline() if child.stdout else ""), daemon=True).start()
    try:
        run_id = lines.get(timeout=120).strip()
        assert run_id, child.stderr.read() if child.stderr else "the child said nothing"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    return run_id


def status(client: mlflow.MlflowClient, run_id: str) -> str:
    return client.get_run(run_id).info.status


@pytest.mark.slow  # about 7 s: the child imports MLflow
def test_a_killed_training_run_is_closed_as_failed_and_a_live_one_is_not(tmp_path: Path) -> None:
    home = tmp_path / "home"
    client = connect(home / "mlflow")
    experiment = client.get_experiment_by_name(EXPERIMENT).experiment_id
    live = client.create_run(experiment, tags=owner_tags(), run_name="train-live").info.run_id
    dead = killed_run(home / "mlflow")
    assert status(client, dead) == "RUNNING"  # what the kill leaves behind

    result = runner.invoke(app, ["--json", "--data-home", str(home), "model", "list"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["interrupted_runs_closed"] == [dead]

    assert status(client, dead) == "FAILED"
    why = client.get_run(dead).data.tags[CLOSED]
    assert why.startswith("interrupted: process ") and "`regulens model list`" in why
    assert client.get_run(dead).info.end_time is not None
    assert status(client, live) == "RUNNING"  # this process is alive: its run is not touched
    assert close_interrupted_runs(client, "regulens train") == []  # nothing left to close


def test_only_runs_of_dead_processes_on_this_host_are_closed(tmp_path: Path) -> None:
    client = connect(tmp_path / "mlflow")
    experiment = client.get_experiment_by_name(EXPERIMENT).experiment_id
    mine = owner_tags()
    assert mine[PID] == str(os.getpid()) and PID_START in mine  # Linux: the start time guards against pid reuse

    def run(**tags: str) -> str:
        return client.create_run(experiment, tags=tags).info.run_id

    live = run(**mine)
    reused = run(**{**mine, PID_START: "1"})  # this pid, but a process that started at another time
    gone = run(**{**mine, PID: str(2**22 + 1)})  # above any pid Linux hands out
    elsewhere = run(**{**mine, HOST: "another-host", PID: str(2**22 + 1)})
    untagged = run()
    finished = run(**{**mine, PID: str(2**22 + 1)})
    client.set_terminated(finished, "FINISHED")

    closed = close_interrupted_runs(client, "regulens train")
    assert sorted(closed) == sorted([reused, gone])
    assert {r: status(client, r) for r in (live, reused, gone, elsewhere, untagged, finished)} == {
        live: "RUNNING", reused: "FAILED", gone: "FAILED", elsewhere: "RUNNING", untagged: "RUNNING",
        finished: "FINISHED",
    }
    assert "`regulens train`" in client.get_run(gone).data.tags[CLOSED]


@pytest.mark.parametrize("module", ["pipelines/modelling/tracking.py", "pipelines/modelling/events_tracking.py"])
def test_every_training_run_is_started_with_its_owner(module: str) -> None:
    source = (ROOT / module).read_text(encoding="utf-8")
    starts = source.count("mlflow.start_run(")
    assert starts and source.count("tags=owner_tags()") == starts
