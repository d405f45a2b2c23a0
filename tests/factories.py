"""Small builders shared by the tests: settings under a temporary data home, tiny extracts."""

from __future__ import annotations

import json
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


def planted_lake(data_home: Path, dates: list[str], enterprises: int = 4_000, seed: int = 3) -> None:
    """Profiles, labels and a catalogue with a planted risk signal, written straight into the
    lake's layout: a fast, deterministic stand-in for the model tests where the small city's
    few random-draw labels (about 60 per date) would make any comparison a coin toss.

    Risk rises with `complaints_365d`, falls with `paid_in_ratio`, is higher in industry 52;
    ten `noise_*` columns carry nothing. Every enterprise is in a random draw with pi = 0.15.
    """
    import numpy as np

    from pipelines.lake import publish_version
    from pipelines.storage import write_text_atomic

    rng = np.random.default_rng(seed)
    uscc = [f"9144060{i:010d}X" for i in range(enterprises)]
    base = rng.normal(size=enterprises)
    catalogue = [
        {"name": "complaints_365d", "zh": "近365天投诉举报条数", "en": "complaints, 365 days", "unit": "records",
         "dimension": "complaints", "direction": 1},
        {"name": "paid_in_ratio", "zh": "实缴占认缴比例", "en": "paid-in share", "unit": "ratio",
         "dimension": "credit", "direction": -1},
        {"name": "district", "zh": "所属区", "en": "district", "unit": "category", "dimension": "operating_status",
         "direction": 0},
        {"name": "industry_code", "zh": "行业代码", "en": "industry", "unit": "category",
         "dimension": "operating_status", "direction": 0},
    ] + [{"name": f"noise_{i}", "zh": f"无关指标{i}", "en": f"noise {i}", "unit": "records", "dimension": "activity",
          "direction": 0} for i in range(10)]
    for n, as_of in enumerate(dates):
        profile = pd.DataFrame({"uscc": uscc, "as_of": pd.Timestamp(as_of).date(), "is_registered": 1})
        profile["complaints_365d"] = rng.poisson(np.exp(0.3 * base)).astype(float)
        profile["paid_in_ratio"] = rng.uniform(0, 1, enterprises)
        profile["district"] = rng.choice(["禅城区", "南海区", "顺德区"], enterprises)
        profile["industry_code"] = rng.choice(["52", "62", "13"], enterprises)
        for i in range(10):
            profile[f"noise_{i}"] = rng.normal(size=enterprises)
        logit = -2.0 + 0.8 * profile["complaints_365d"] - 1.5 * profile["paid_in_ratio"] + (
            profile["industry_code"] == "52"
        )
        found = (rng.random(enterprises) < 1 / (1 + np.exp(-logit))).astype("int64")
        drawn = rng.random(enterprises) < 0.15
        labels = pd.DataFrame({
            "uscc": np.array(uscc)[drawn], "inspections": 1, "violation_found": found[drawn],
            "first_inspection_type": "双随机抽查", "random_draw_found": found[drawn], "inclusion_probability": 0.15,
            "as_of": pd.Timestamp(as_of).date(), "horizon_days": 180,
        })
        run = f"20260101T000000Z-{n:06d}"
        for table, frame, name in (
            (data_home / "lake" / "profiles" / f"as_of={as_of}", profile, "profile.parquet"),
            (data_home / "lake" / "labels" / f"as_of={as_of}" / "h=180", labels, "labels.parquet"),
        ):
            (table / run).mkdir(parents=True, exist_ok=True)
            frame.to_parquet(table / run / name, index=False)
            publish_version(table, run)
    write_text_atomic(json.dumps(catalogue, ensure_ascii=False), data_home / "lake" / "profiles" / "catalogue.json")
