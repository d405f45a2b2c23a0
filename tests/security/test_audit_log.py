"""Threat: someone with write access to the operational database edits or deletes audit rows to
change who did what, or what public value was used (issue 23, defect 15); a typed name carries
terminal escapes or markup into what an auditor reads (defect 9)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, text, update
from typer.testing import CliRunner

from pipelines.audit_chain import GENESIS, row_hash, verify_chain
from pipelines.cli import app
from pipelines.opsdb import OpsStore, audit_table, default_url
from pipelines.textsafe import printable

runner = CliRunner(env={"TERMINAL_WIDTH": "200", "COLUMNS": "200"})
DRAW = ("--as-of", "2025-07-01", "--item", "SJ-GS", "--capacity", "6", "--floor", "0.05")
PV = "2025-07-05 双色球 03 11 17 22 28 31 + 09"


def cli(home: Path, *args: str) -> tuple[int, dict]:
    result = runner.invoke(app, ["--json", "--data-home", str(home), *args])
    if result.stdout.strip().startswith("{"):
        return result.exit_code, json.loads(result.stdout)
    return result.exit_code, {"output": result.output}


@pytest.fixture
def drawn_home(plan_home: Path) -> tuple[Path, str]:
    code, out = cli(plan_home, "plan", "draw", *DRAW, "--public-value", PV, "--actor", "张科长")
    assert code == 0, out
    assert cli(plan_home, "plan", "verify", out["plan_id"], "--actor", "审计员")[0] == 0
    return plan_home, out["plan_id"]


def events(home: Path) -> list[dict]:
    return OpsStore(default_url(home)).audit_log()


def edit(home: Path, statement) -> None:  # type: ignore[no-untyped-def]
    with create_engine(default_url(home)).begin() as con:
        con.execute(statement)


def test_an_untouched_log_verifies_and_names_its_head(drawn_home: tuple[Path, str]) -> None:
    home, _ = drawn_home
    code, out = cli(home, "audit", "verify")
    assert code == 0 and out["ok"] and out["rows"] == len(events(home)) == 4
    assert out["head"] == events(home)[-1]["row_hash"]


def test_defect_15_an_edited_actor_is_named(drawn_home: tuple[Path, str]) -> None:
    home, plan_id = drawn_home
    target = events(home)[0]["event_id"]
    edit(home, update(audit_table).where(audit_table.c.event_id == target).values(actor="别人"))
    code, out = cli(home, "audit", "verify")
    assert code == 1 and out["first_broken"] == target and "row edited" in out["reason"]
    code, out = cli(home, "plan", "audit", plan_id)
    assert code == 1 and not out["audit_chain"]["ok"]
    code, report = cli(home, "plan", "verify", plan_id)
    assert code == 1 and report["differences"][0].startswith("audit log: hash chain broken")


def test_defect_15_an_edited_public_value_is_named_even_with_its_hash_recomputed(drawn_home: tuple[Path, str]) -> None:
    home, plan_id = drawn_home
    draw = next(e for e in events(home) if e["action"] == "draw")
    forged = {**draw["detail"], "public_value": "another value"}
    forged_hash = row_hash(draw["prev_hash"], draw["at"], draw["actor"], draw["action"], draw["plan_id"], forged)
    edit(home, update(audit_table).where(audit_table.c.event_id == draw["event_id"])
         .values(detail=forged, row_hash=forged_hash))  # fmt: skip
    code, out = cli(home, "audit", "verify")
    assert code == 1 and out["first_broken"] == draw["event_id"] + 1 and "link broken" in out["reason"]


def test_defect_15_a_deleted_verify_row_is_named(drawn_home: tuple[Path, str]) -> None:
    home, plan_id = drawn_home
    assert cli(home, "plan", "status", plan_id)[0] == 0
    code, _ = cli(home, "plan", "verify", plan_id, "--actor", "审计员")  # a second verify, then a later row
    verify_row = [e for e in events(home) if e["action"] == "verify"][0]
    edit(home, delete(audit_table).where(audit_table.c.event_id == verify_row["event_id"]))
    code, out = cli(home, "audit", "verify")
    assert code == 1 and out["first_broken"] == verify_row["event_id"] + 1


def test_defect_15_rows_cut_from_the_end_show_against_the_head(drawn_home: tuple[Path, str]) -> None:
    home, _ = drawn_home
    last = events(home)[-1]["event_id"]
    edit(home, delete(audit_table).where(audit_table.c.event_id == last))
    code, out = cli(home, "audit", "verify")
    assert code == 1 and "rows were removed from the end" in out["reason"]


def test_the_chain_checker_agrees_with_a_plain_recomputation() -> None:
    at = dt.datetime(2025, 7, 1, 8, 0, tzinfo=dt.UTC)
    first = row_hash(GENESIS, at, "a", "commit", "P", {"x": 1})
    rows = [
        {"event_id": 1, "prev_hash": GENESIS, "row_hash": first, "at": at, "actor": "a", "action": "commit",
         "plan_id": "P", "detail": {"x": 1}},
        {"event_id": 2, "prev_hash": first, "at": at.replace(tzinfo=None), "actor": "b", "action": "draw",
         "plan_id": "P", "detail": {"y": [1, "二"]},
         "row_hash": row_hash(first, at.replace(tzinfo=None), "b", "draw", "P", {"y": [1, "二"]})},
    ]  # fmt: skip
    assert verify_chain(rows, (2, rows[1]["row_hash"])).ok  # naive UTC (SQLite) and aware times hash alike
    rows[0]["detail"] = {"x": 2}
    assert verify_chain(rows).first_broken == 1


def test_a_database_from_before_the_chain_is_chained_on_first_open(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ops.sqlite'}"
    with create_engine(url).begin() as con:
        con.execute(text("CREATE TABLE audit_log (event_id INTEGER PRIMARY KEY AUTOINCREMENT, at DATETIME NOT NULL, "
                         "actor VARCHAR(100) NOT NULL, action VARCHAR(32) NOT NULL, plan_id VARCHAR(64), "
                         "detail JSON NOT NULL)"))  # fmt: skip
        con.execute(text("INSERT INTO audit_log (at, actor, action, plan_id, detail) VALUES "
                         "('2025-07-01 08:00:00.000000', '张', 'commit', 'P', '{\"c\": 1}')"))  # fmt: skip
    ops = OpsStore(url)
    assert [e["action"] for e in ops.audit_log()] == ["commit", "audit chain started"]
    assert ops.verify_audit_chain().ok
    ops.audit("李", "verify", "P", {})
    assert OpsStore(url).verify_audit_chain().rows == 3


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("\x1b[2J\x1b[1;1H张科长", "control characters U+001B"),
        ("审计员\u202e", "control characters U+202E"),  # right-to-left override: reorders what is shown
        ("张" * 10_000, "--actor expected at most 100 characters, got 10,000"),
    ],
)
def test_defect_9_an_actor_with_escapes_or_too_long_is_refused(plan_home: Path, actor: str, expected: str) -> None:
    code, out = cli(plan_home, "plan", "commit", *DRAW, "--actor", actor)
    assert code == 2 and expected in out["output"]
    assert "\x1b" not in out["output"] and events(plan_home) == []


def test_defect_9_a_public_value_with_escapes_is_refused(plan_home: Path) -> None:
    code, out = cli(plan_home, "plan", "draw", *DRAW, "--public-value", "v\x1b]0;pwned\x07", "--actor", "张")
    assert code == 2 and "U+001B" in out["output"] and "\x1b" not in out["output"]


def test_defect_9_stored_text_is_printed_inert(drawn_home: tuple[Path, str]) -> None:
    """Rows written before the check (or by another program) are shown with escapes visible and
    rich markup as text."""
    home, plan_id = drawn_home
    first = events(home)[0]["event_id"]
    edit(home, update(audit_table).where(audit_table.c.event_id == first).values(actor="\x1b[31m[bold]假冒[/bold]"))
    result = runner.invoke(app, ["--data-home", str(home), "plan", "audit", plan_id])
    assert "\x1b" not in result.output
    assert "\\x1b[31m[bold]假冒[/bold]" in result.output  # shown as typed, not obeyed
    assert printable("a\x07b[red]") == "a\\x07b\\[red]"
