"""The supervision history, quarter by quarter: violations, complaints, inspections, penalties.

Quarter q: every active enterprise violates with its propensity; violators draw more complaints;
a uniform random draw (Poisson sampling with a known inclusion probability) and complaint-
triggered checks inspect some of them; two inspectors find a violation with their own detection
rates; found violations may lead to a penalty, which raises next year's propensity.
Complaint-triggered checks are not random, so the observed labels carry real selection bias.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.synthetic.population import LOGIT, Timeline, dynamic_logit, quarter_state, sigmoid
from pipelines.synthetic.spec import CitySpec
from pipelines.synthetic.texts import COMPLAINT_CATEGORIES, complaint_texts, short_shop_name

# Inclusion probability of the uniform random draw, per quarter, by year of the window.
RANDOM_DRAW_RATE_BY_YEAR = (0.020, 0.018, 0.016, 0.015, 0.014, 0.013)
CONSUMER_FACING = {"14", "52", "62", "80", "84", "13", "15"}
FOUND_RESULTS = ("发现问题已责令改正", "发现问题待后续处理", "未按规定公示", "不配合检查情节严重")
FOUND_WEIGHTS = (0.6, 0.25, 0.1, 0.05)
UNREACHABLE = "通过登记的住所（经营场所）无法联系"
NO_ACTIVITY = "未发现开展本次抽查涉及的经营活动"
CLEAN = "未发现问题"


@dataclass(frozen=True)
class Roster:
    """The inspector roster as arrays: station town, district and hidden detection rate."""

    ids: np.ndarray
    town: np.ndarray
    district_idx: np.ndarray
    detection: np.ndarray


@dataclass
class History:
    truth: pd.DataFrame
    inspections: pd.DataFrame
    complaints: pd.DataFrame
    penalties: pd.DataFrame


def inspection_item(industry_code: np.ndarray) -> np.ndarray:
    food = np.isin(industry_code, ["13", "14", "15", "52", "62"])
    goods = np.isin(industry_code, ["18", "21", "30", "33", "38", "27"])
    return np.where(food, "食品经营行为检查", np.where(goods, "产品质量监督检查", "企业公示信息情况检查"))


def draw_inspector_pairs(
    rng: np.random.Generator, roster: Roster, district: np.ndarray, town: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Two distinct inspectors per inspection, from the firm's district but not its own station."""
    n = len(district)
    picks = np.full((n, 2), -1, dtype=np.int64)
    by_district = [np.flatnonzero(roster.district_idx == d) for d in range(int(roster.district_idx.max()) + 1)]
    for slot in range(2):
        todo = np.arange(n)
        for _ in range(50):
            if len(todo) == 0:
                break
            cand = np.array([by_district[d][rng.integers(len(by_district[d]))] for d in district[todo]])
            ok = (roster.town[cand] != town[todo]) & (cand != picks[todo, 0])
            picks[todo[ok], slot] = cand[ok]
            todo = todo[~ok]
        if len(todo):  # a district with one station: fall back to any other station in the city
            others = [np.flatnonzero(roster.town != t) for t in town[todo]]
            picks[todo, slot] = [o[rng.integers(len(o))] for o in others]
    return picks[:, 0], picks[:, 1]


def pair_detection(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The chance that two inspectors together find a violation that is there: their mean rate."""
    return (first + second) / 2


def complaint_rate(industry_code: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """A firm's complaint exposure: consumer-facing trades far more, bigger firms somewhat more."""
    return np.where(np.isin(industry_code, list(CONSUMER_FACING)), 0.9, 0.12) * scale**0.3


def complaint_mean(rate: np.ndarray, violating: np.ndarray) -> np.ndarray:
    """Expected complaints in a quarter: violators are complained about 17 times as often."""
    return rate * (0.05 + 0.8 * violating)


def simulate_history(
    rng: np.random.Generator,
    spec: CitySpec,
    pop: pd.DataFrame,
    names: np.ndarray,
    addresses: np.ndarray,
    static: np.ndarray,
    intercept: float,
    timeline: Timeline,
    roster: Roster,
) -> History:
    n, n_q = len(pop), timeline.n_quarters
    active, collapsed, _ = quarter_state(pop, timeline)
    industry_code = np.array([spec.industries[i].code for i in pop["industry_idx"]])
    rate = complaint_rate(industry_code, pop["scale"].to_numpy())
    recent_penalty = np.zeros((n, n_q), dtype=bool)
    base = dynamic_logit(pop, timeline, np.zeros((n, n_q), dtype=bool)) + static[:, None] + intercept
    starts = timeline.month_starts
    est_date = pop["est_date"].to_numpy().astype("datetime64[D]")

    truth_parts, insp_parts, comp_parts, pen_parts = [], [], [], []
    for q in range(n_q):
        act = active[:, q]
        propensity = sigmoid(base[:, q] + LOGIT["recent_penalty"] * recent_penalty[:, q])
        violating = act & (rng.random(n) < propensity)
        truth_parts.append(
            pd.DataFrame(
                {
                    "uscc": pop["uscc"].to_numpy()[act],
                    "quarter": starts[q * 3],
                    "propensity": propensity[act],
                    "violating": violating[act],
                }
            )
        )
        q_start, q_len = starts[q * 3], int((starts[q * 3 + 3] - starts[q * 3]).astype(int))

        # Complaints: violators are complained about far more often.
        counts = np.where(act, rng.poisson(complaint_mean(rate, violating)), 0)
        who = np.repeat(np.arange(n), counts)
        if len(who):
            comp_parts.append(
                _complaints(
                    rng,
                    spec,
                    pop,
                    names,
                    addresses,
                    who,
                    collapsed[who, q],
                    np.maximum(q_start + rng.integers(0, q_len, len(who)), est_date[who]),
                )
            )

        # Inspections: the uniform random draw, then complaint-triggered checks.
        pi = RANDOM_DRAW_RATE_BY_YEAR[min(q // 4, len(RANDOM_DRAW_RATE_BY_YEAR) - 1)]
        drawn = act & (rng.random(n) < pi)
        triggered = act & ~drawn & (rng.random(n) < 1 - 0.7**counts)
        idx = np.concatenate([np.flatnonzero(drawn), np.flatnonzero(triggered)])
        if len(idx) == 0:
            continue
        kind = np.array(["双随机抽查"] * int(drawn.sum()) + ["投诉举报核查"] * int(triggered.sum()), dtype=object)
        incl = np.concatenate([np.full(int(drawn.sum()), pi), np.full(int(triggered.sum()), np.nan)])
        first, second = draw_inspector_pairs(
            rng, roster, pop["district_idx"].to_numpy()[idx], pop["town"].to_numpy()[idx]
        )
        detect = pair_detection(roster.detection[first], roster.detection[second])
        found = violating[idx] & (rng.random(len(idx)) < detect)
        is_collapsed = collapsed[idx, q]
        result = np.where(
            found,
            np.array(FOUND_RESULTS, dtype=object)[rng.choice(len(FOUND_RESULTS), size=len(idx), p=FOUND_WEIGHTS)],
            CLEAN,
        )
        result = np.where(is_collapsed, np.where(found, UNREACHABLE, NO_ACTIVITY), result)
        # Never before the firm existed: a firm is active from the quarter it was established in.
        date = np.maximum(q_start + rng.integers(0, q_len, len(idx)), est_date[idx])
        insp_parts.append(
            pd.DataFrame(
                {
                    "uscc": pop["uscc"].to_numpy()[idx],
                    "inspection_date": date,
                    "knowledge_date": date + rng.integers(1, 15, len(idx)),
                    "inspection_type": kind,
                    "inspection_item": inspection_item(industry_code[idx]),
                    "inclusion_probability": incl,
                    "inspector_1": roster.ids[first],
                    "inspector_2": roster.ids[second],
                    "result": result,
                    "violation_found": found,
                }
            )
        )
        punished = idx[found & ~is_collapsed & (rng.random(len(idx)) < 0.45)]
        if len(punished):
            pen_parts.append(_penalties(rng, pop, punished, date[np.isin(idx, punished)], industry_code))
            recent_penalty[punished, q + 1 : q + 5] = True

    inspections = pd.concat(insp_parts, ignore_index=True)
    inspections.insert(0, "inspection_id", [f"JC{pop['gidx'].iat[0]:07d}-{i:06d}" for i in range(len(inspections))])
    return History(
        truth=pd.concat(truth_parts, ignore_index=True),
        inspections=inspections,
        complaints=pd.concat(comp_parts, ignore_index=True) if comp_parts else pd.DataFrame(),
        penalties=pd.concat(pen_parts, ignore_index=True) if pen_parts else pd.DataFrame(),
    )


def _complaints(
    rng: np.random.Generator,
    spec: CitySpec,
    pop: pd.DataFrame,
    names: np.ndarray,
    addresses: np.ndarray,
    who: np.ndarray,
    collapsed: np.ndarray,
    date: np.ndarray,
) -> pd.DataFrame:
    k = len(who)
    category = np.array(COMPLAINT_CATEGORIES, dtype=object)[rng.integers(0, len(COMPLAINT_CATEGORIES), k)]
    category = np.where(collapsed & (rng.random(k) < 0.6), "预付卡消费", category)  # the shop vanished
    shop = short_shop_name(names[who], spec)
    # 40% of complainants quote the credit code; the rest name the shop and where it is.
    with_code = rng.random(k) < 0.4
    address = addresses[who]
    address = np.where(rng.random(k) < 0.5, [a.removeprefix(spec.city) for a in address], address)
    return pd.DataFrame(
        {
            "uscc": np.where(with_code, pop["uscc"].to_numpy()[who], None),
            "true_uscc": pop["uscc"].to_numpy()[who],  # ground truth only: split off before writing
            "received_date": date,
            "knowledge_date": date,
            "shop_name": shop,
            "shop_address": address,
            "category": category,
            "text": complaint_texts(rng, shop, category),
            "channel": np.array(["12315热线", "全国12315平台", "12345热线", "来信来访"], dtype=object)[
                rng.integers(0, 4, k)
            ],
        }
    )


def _penalties(
    rng: np.random.Generator, pop: pd.DataFrame, who: np.ndarray, found_date: np.ndarray, industry_code: np.ndarray
) -> pd.DataFrame:
    k = len(who)
    decision = found_date + rng.integers(20, 120, k)
    kinds = np.where(
        np.isin(industry_code[who], ["13", "14", "15", "52", "62"]),
        "违反《中华人民共和国食品安全法》",
        "违反《中华人民共和国产品质量法》",
    )
    kinds = np.where(rng.random(k) < 0.3, "违反《中华人民共和国广告法》", kinds)
    return pd.DataFrame(
        {
            "uscc": pop["uscc"].to_numpy()[who],
            "decision_date": decision,
            "knowledge_date": decision + rng.integers(1, 20, k),  # publicity within 20 working days
            "violation_type": kinds,
            "penalty_kind": np.where(rng.random(k) < 0.8, "罚款", "警告"),
            "fine_yuan": np.round(np.exp(rng.normal(8.5, 1.2, k)), -2),
        }
    )
