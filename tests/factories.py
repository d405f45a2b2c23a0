"""Small builders shared by the tests: settings under a temporary data home, tiny extracts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from pipelines.ingest.contracts import Contract, load_contract
from pipelines.settings import PROJECT_ROOT, Settings, load_settings

CONTRACTS = PROJECT_ROOT / "data" / "contracts"


def settings_for(data_home: Path, enterprises: int = 1_000, seed: int = 7, **generate: object) -> Settings:
    return load_settings(
        data_home=data_home, generate={"enterprises": enterprises, "seed": seed, "government_bodies": 200, **generate}
    )


def contract(source: str) -> Contract:
    return load_contract(CONTRACTS / f"{source}.json")


def write_csv(data_home: Path, source: str, rows: list[dict[str, object]], name: str = "part-00000.csv") -> Path:
    """Write rows (canonical column names) as the department would: Chinese headers, CSV."""
    headers = {c.name: c.header for c in contract(source).meta.columns}
    path = data_home / "raw" / source / name
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).rename(columns=headers).to_csv(path, index=False)
    return path


def registration_row(uscc: str = "91440604MA4UJ2KX1Q", **overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "uscc": uscc,
        "name": "佛山市禅城区恒达五金有限公司",
        "enterprise_type": "有限责任公司(自然人独资)",
        "industry_code": "33",
        "industry_name": "金属制品业",
        "district": "禅城区",
        "town": "祖庙街道",
        "address": "佛山市禅城区祖庙街道季华路1号101室",
        "legal_representative": "陈伟",
        "established_date": "2019-05-01",
        "registered_capital_wan": 100.0,
        "status": "存续",
        "knowledge_date": "2019-05-01",
    }
    row.update(overrides)
    return row


def copy_city(src: Path, dst: Path) -> Path:
    shutil.copytree(src / "raw", dst / "raw")
    return dst
