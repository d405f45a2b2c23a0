"""The inspector roster (执法检查人员名录库), declared conflicts, and government bodies with
their integrity signals (政务诚信)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.entity_id import make_usccs
from pipelines.synthetic.population import Timeline, sigmoid
from pipelines.synthetic.spec import CitySpec
from pipelines.synthetic.supervision import Roster
from pipelines.synthetic.texts import person_names

EXPERTISE = ["食品安全", "特种设备", "产品质量", "广告监管", "价格监管", "登记注册", "计量"]
# Registration authority + category of government bodies' credit codes (GB 32100, 机构编制 etc.).
BODY_TYPES = [("机关", "11", 0.25), ("事业单位", "12", 0.35), ("居民委员会", "54", 0.15), ("村民委员会", "54", 0.25)]
SIGNALS = ["失信被执行人", "拖欠中小企业账款", "招商引资承诺未兑现", "行政诉讼败诉", "受到行政处罚"]


def roster(rng: np.random.Generator, spec: CitySpec, n_inspectors: int) -> tuple[pd.DataFrame, Roster]:
    """Inspectors spread over the stations (one per town), each with expertise and a hidden
    detection rate: some inspectors find what others miss."""
    towns = spec.towns()
    station = np.arange(n_inspectors) % len(towns)  # every station staffed
    rng.shuffle(station)
    district_idx = np.array([towns[s][0] for s in station])
    town = np.array([towns[s][1] for s in station], dtype=object)
    ids = np.array([f"ZF44060{i:05d}" for i in range(n_inspectors)], dtype=object)
    detection = rng.beta(14, 2, n_inspectors)
    expertise = [
        "；".join(sorted(rng.choice(EXPERTISE, size=rng.integers(1, 4), replace=False))) for _ in range(n_inspectors)
    ]
    since = np.datetime64("2008-01-01") + rng.integers(0, 4000, n_inspectors)
    frame = pd.DataFrame(
        {
            "inspector_id": ids,
            "name": person_names(rng, spec, n_inspectors),
            "station": [t.replace("街道", "").replace("镇", "") + "市场监督管理所" for t in town],
            "station_town": town,
            "district": [spec.districts[d].name for d in district_idx],
            "expertise": expertise,
            "active_since": since,
            "knowledge_date": since,
        }
    )
    return frame, Roster(ids=ids, town=town, district_idx=district_idx, detection=detection)


def conflicts(
    rng: np.random.Generator, pop: pd.DataFrame, inspector_ids: np.ndarray, timeline: Timeline
) -> pd.DataFrame:
    """Declared conflicts of interest (回避声明): about one per 150 enterprises."""
    k = max(1, len(pop) // 150)
    date = timeline.month_starts[0] + rng.integers(0, timeline.n_months * 30, k)
    return pd.DataFrame(
        {
            "inspector_id": inspector_ids[rng.integers(0, len(inspector_ids), k)],
            "uscc": pop["uscc"].to_numpy()[rng.integers(0, len(pop), k)],
            "relation": np.array(["近亲属持股", "曾在该企业任职", "近亲属任职", "其他利害关系"], dtype=object)[
                rng.integers(0, 4, k)
            ],
            "declared_date": date,
            "knowledge_date": date,
        }
    )


def government_bodies(
    rng: np.random.Generator, spec: CitySpec, n_bodies: int, timeline: Timeline
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Bodies, their integrity signals, and the hidden integrity risk (ground truth)."""
    kind = rng.choice(len(BODY_TYPES), size=n_bodies, p=[t[2] for t in BODY_TYPES])
    district = rng.integers(0, len(spec.districts), n_bodies)
    codes = make_usccs(
        np.array([BODY_TYPES[k][1] for k in kind]),
        np.array([spec.districts[d].code for d in district]),
        (np.arange(n_bodies) * 7_368_787 + 12_345) % 100_000_000,
    )
    town = [spec.districts[d].towns[rng.integers(len(spec.districts[d].towns))] for d in district]
    label = {"机关": "局", "事业单位": "中心", "居民委员会": "社区居民委员会", "村民委员会": "村民委员会"}
    names = [
        f"{spec.districts[d].name}{t}{spec.trade_chars[i % len(spec.trade_chars)]}{i}号{label[BODY_TYPES[k][0]]}"
        for i, (d, t, k) in enumerate(zip(district, town, kind, strict=True))
    ]
    bodies = pd.DataFrame(
        {
            "body_uscc": codes,
            "body_name": names,
            "body_type": [BODY_TYPES[k][0] for k in kind],
            "district": [spec.districts[d].name for d in district],
            "town": town,
            "knowledge_date": timeline.month_starts[0],
        }
    )
    risk = rng.normal(-1.0, 1.0, n_bodies)
    counts = rng.poisson(2.0 * sigmoid(risk) * timeline.n_months / 12)
    rows = np.repeat(np.arange(n_bodies), counts)
    date = timeline.month_starts[0] + rng.integers(0, timeline.n_months * 30, len(rows))
    resolved = np.where(rng.random(len(rows)) < 0.6, date + rng.integers(20, 300, len(rows)), np.datetime64("NaT"))
    signals = pd.DataFrame(
        {
            "body_uscc": codes[rows],
            "signal_type": np.array(SIGNALS, dtype=object)[rng.integers(0, len(SIGNALS), len(rows))],
            "signal_date": date,
            "knowledge_date": date + rng.integers(0, 15, len(rows)),
            "amount_yuan": np.round(np.exp(rng.normal(11, 1.2, len(rows))), -2),
            "resolved_date": resolved,
        }
    )
    truth = pd.DataFrame({"body_uscc": codes, "integrity_risk": risk})
    return bodies, signals, truth
