"""`regulens integrity` on the small city: scan, list, move (allowed and refused), show, overdue, repair."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app

runner = CliRunner(env={"TERMINAL_WIDTH": "200", "COLUMNS": "200"})


@pytest.fixture
def home(ingested_city, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    settings, _ = ingested_city
    monkeypatch.setenv("REGULENS_INTEGRITY__DB_URL", f"sqlite:///{tmp_path / 'cases.sqlite'}")
    return settings.data_home


def run(home: Path, *args: str) -> tuple[int, dict]:
    result = runner.invoke(app, ["--json", "--data-home", str(home), "integrity", *args])
    return result.exit_code, (json.loads(result.stdout) if result.exit_code == 0 else {"output": result.output})


def test_scan_opens_cases_for_warnings_and_a_case_runs_its_lifecycle(home: Path) -> None:
    code, scan = run(home, "scan", "--as-of", "2024-01-01")
    assert code == 0, scan
    assert scan["bodies"] == sum(scan["by_grade"].values()) > 0
    warned = scan["by_grade"]["orange"] + scan["by_grade"]["red"]
    assert scan["cases_opened"] == warned > 0

    code, listed = run(home, "cases")
    assert code == 0 and listed["count"] == warned and listed["by_state"] == {"opened": warned}
    case = listed["cases"][0]
    assert case["deadline"] > "2024-01-01" and case["reasons"] and case["signal_keys"]

    refused = runner.invoke(
        app, ["--data-home", str(home), "integrity", "move", case["case_id"], "--to", "closed", "--actor", "王科长"]
    )
    assert refused.exit_code == 2 and "opened -> closed is not an allowed transition" in refused.output

    for target, day in (("notified", "2024-01-03"), ("rectifying", "2024-01-10"), ("closed", "2024-01-20")):
        code, moved = run(home, "move", case["case_id"], "--to", target, "--actor", "王科长", "--on", day)
        assert code == 0, moved
    assert [h["to_state"] for h in moved["case"]["history"]] == ["opened", "notified", "rectifying", "closed"]

    # Rescanning after the repair: the body's triggering signals are repaired, not counted against it.
    code, rescan = run(home, "scan", "--as-of", "2024-02-01")
    assert code == 0 and case["body_uscc"] not in [c.split("-", 1)[1] for c in rescan["opened"]]
    code, doc = run(home, "show", case["body_uscc"])
    assert code == 0
    repaired = [s for s in doc["signals"] if s["status"] == "repaired"]
    assert len(repaired) == len(case["signal_keys"]) and all(s["repaired_on"] == "2024-01-20" for s in repaired)
    assert [s["as_of"] for s in doc["scores"]] == ["2024-01-01", "2024-02-01"]
    assert doc["scores"][1]["score"] > doc["scores"][0]["score"]
    assert doc["cases"][0]["state"] == "closed" and doc["cases"][0]["closed_on"] == "2024-01-20"


def test_overdue_detection_then_marking(home: Path) -> None:
    code, scan = run(home, "scan", "--as-of", "2024-01-01")
    assert code == 0 and scan["cases_opened"] > 0

    code, early = run(home, "cases", "--overdue-as-of", "2024-01-05")
    code, late = run(home, "cases", "--overdue-as-of", "2024-06-01")
    assert early["count"] == 0 and late["count"] == scan["cases_opened"]  # detection only, read-only
    assert late["by_state"] == {"opened": scan["cases_opened"]}

    code, rescan = run(home, "scan", "--as-of", "2024-06-01")
    assert code == 0 and rescan["cases_marked_overdue"] == scan["cases_opened"]
    code, after = run(home, "cases", "--overdue-as-of", "2024-06-01")
    assert after["by_state"] == {"overdue": scan["cases_opened"]}


def test_bad_moves_and_unknown_things_exit_2(home: Path) -> None:
    run(home, "scan", "--as-of", "2024-01-01")
    code, listed = run(home, "cases")
    case_id = listed["cases"][0]["case_id"]

    assert run(home, "move", case_id, "--to", "archived", "--actor", "x")[0] == 2
    assert run(home, "move", "ZW-nope", "--to", "notified", "--actor", "x")[0] == 2
    assert run(home, "show", "110000000000000000")[0] == 2


def test_dates_out_of_order_or_in_the_future_are_refused(home: Path) -> None:
    code, out = run(home, "scan", "--as-of", "2099-01-01")
    assert code == 2 and "is after today" in out["output"]
    assert run(home, "cases")[1]["count"] == 0  # the refused scan opened nothing

    run(home, "scan", "--as-of", "2024-01-01")
    case_id = run(home, "cases")[1]["cases"][0]["case_id"]
    code, out = run(home, "move", case_id, "--to", "notified", "--actor", "王科长", "--on", "2099-01-01")
    assert code == 2 and "is after today" in out["output"]
    code, out = run(home, "move", case_id, "--to", "notified", "--actor", "王科长", "--on", "2023-12-01")
    assert code == 2 and "is before its last step (2024-01-01)" in out["output"]
    code, moved = run(home, "move", case_id, "--to", "notified", "--actor", "王科长", "--on", "2024-01-03")
    assert code == 0 and [h["to_state"] for h in moved["case"]["history"]] == ["opened", "notified"]


def test_a_deadline_for_a_grade_the_scorecard_lacks_exits_2(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGULENS_INTEGRITY__DEADLINE_WORKING_DAYS", '{"purple": 5}')

    code, out = run(home, "scan", "--as-of", "2024-01-01")

    assert code == 2 and "names grade(s) ['purple']; expected some of" in out["output"]
