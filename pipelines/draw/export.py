"""The task list for the inspectors and the bureau: CSV and Excel with Chinese headers.

Credit classes, risk scores and inclusion probabilities stay internal (国市监信发〔2022〕6号:
classes are not published), so the export carries only what an inspection team needs."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from pipelines.spreadsheets import write_csv, write_excel

HEADERS = {
    "task_id": "任务编号",
    "uscc": "统一社会信用代码",
    "name": "企业名称",
    "district": "所属区",
    "town": "所属镇街",
    "item": "检查事项",
}
INFO_HEADERS = {
    "plan_id": "计划编号",
    "as_of": "名录日期",
    "commitment": "承诺值",
    "public_value": "公开随机值",
    "seed": "随机种子",
}


def task_list(tasks: pd.DataFrame) -> pd.DataFrame:
    """The export frame: the HEADERS columns then 检查人员1 .. 检查人员k, in task order."""
    slots = sorted((c for c in tasks.columns if c.startswith("inspector_")), key=lambda c: int(c.split("_")[1]))
    out = tasks.loc[:, [*HEADERS, *slots]].astype(str)
    return out.rename(columns={**HEADERS, **{s: f"检查人员{s.split('_')[1]}" for s in slots}})


def write_task_csv(tasks: pd.DataFrame, path: Path) -> None:
    """UTF-8 with a byte-order mark, so that Excel opens the Chinese headers correctly; text that
    would start a formula is neutralised (pipelines.spreadsheets)."""
    write_csv(task_list(tasks), path)


def write_task_excel(tasks: pd.DataFrame, info: Mapping[str, object], path: Path) -> None:
    """Sheet 抽查任务 (the list) and sheet 计划信息 (plan id, commitment, public value, seed)."""
    facts = pd.DataFrame(
        {"项目": [INFO_HEADERS[k] for k in INFO_HEADERS], "内容": [str(info[k]) for k in INFO_HEADERS]}
    )
    write_excel({"抽查任务": task_list(tasks), "计划信息": facts}, path)
