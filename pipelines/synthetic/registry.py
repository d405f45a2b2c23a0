"""Registry-side sources: registration, shareholders, changes, licences, pledges, courts,
honours, product-quality sampling and the serious-dishonesty list."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.synthetic.population import Timeline
from pipelines.synthetic.spec import CitySpec
from pipelines.synthetic.texts import person_names

LICENCES = {
    "13": "食品生产许可证",
    "14": "食品生产许可证",
    "15": "食品生产许可证",
    "52": "食品经营许可证",
    "62": "食品经营许可证",
    "27": "药品生产许可证",
    "84": "医疗机构执业许可证",
    "54": "道路运输经营许可证",
}
HONOURS = ["守合同重信用企业", "广东省诚信示范企业", "放心消费承诺单位", "质量信用A级企业"]


def _window_end(timeline: Timeline) -> np.datetime64:
    return timeline.month_starts[-1]


# The events that carry a trace of the hidden disposition `z`: yearly rates and chances.
def legal_rep_change_rate(shell: np.ndarray, z: np.ndarray) -> np.ndarray:
    return 0.05 * (1 + 6 * shell + 0.6 * (z > 1))


def court_case_rate(z: np.ndarray, collapsed_ever: np.ndarray) -> np.ndarray:
    return 0.02 * np.exp(0.7 * z + 1.5 * collapsed_ever)


def honour_rate(company: np.ndarray, z: np.ndarray, collapsed_ever: np.ndarray) -> np.ndarray:
    return company * 0.015 * np.exp(-0.8 * z) * ~collapsed_ever


def legacy_listing_probability(z: np.ndarray, est_month: np.ndarray) -> np.ndarray:
    """Chance that a firm established more than three years before the window starts was listed
    for false registration."""
    return 0.2 * ((z > 1.6) & (est_month < -36))


LEGACY_LISTING_REASON = "提交虚假材料或者采取其他欺诈手段隐瞒重要事实取得登记"


def sampling_quarter(days_since_window_start: np.ndarray) -> np.ndarray:
    """The quarter whose propensity a product sample reflects: 91-day blocks from the window start."""
    return days_since_window_start // 91


def quality_failure_probability(propensity: np.ndarray) -> np.ndarray:
    """A product sample fails more often at a firm that is more likely to be violating."""
    return 0.03 + 0.5 * propensity


def _events(
    rng: np.random.Generator, rate_per_year: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson events between per-row start and end dates: (row index, event date)."""
    years = np.maximum((end - start).astype(int), 0) / 365.25
    counts = rng.poisson(rate_per_year * years)
    rows = np.repeat(np.arange(len(counts)), counts)
    offset = (rng.random(len(rows)) * (end - start).astype(int)[rows]).astype(int)
    return rows, start[rows] + offset


# Registry events are drawn from two years before the window (or establishment) until exit.
EVENT_HISTORY_DAYS = 365 * 2


def _alive_span(pop: pd.DataFrame, timeline: Timeline) -> tuple[np.ndarray, np.ndarray]:
    starts = timeline.month_starts
    begin = np.maximum(pop["est_date"].to_numpy().astype("datetime64[D]"), starts[0] - EVENT_HISTORY_DAYS)
    end = starts[np.minimum(pop["exit_month"].to_numpy(), timeline.n_months)]
    return begin, np.maximum(end, begin)


def registration(
    pop: pd.DataFrame,
    spec: CitySpec,
    names: np.ndarray,
    addresses: np.ndarray,
    legal_rep: np.ndarray,
    timeline: Timeline,
) -> pd.DataFrame:
    ended = pop["exit_month"].to_numpy() < timeline.n_months
    status = np.where(ended, np.where(pop["exit_kind"].to_numpy() == "revoked", "吊销", "注销"), "存续")
    return pd.DataFrame(
        {
            "uscc": pop["uscc"],
            "name": names,
            "enterprise_type": [spec.enterprise_types[t].name for t in pop["type_idx"]],
            "industry_code": [spec.industries[i].code for i in pop["industry_idx"]],
            "industry_name": [spec.industries[i].name for i in pop["industry_idx"]],
            "district": [spec.districts[d].name for d in pop["district_idx"]],
            "town": pop["town"],
            "address": addresses,
            "legal_representative": legal_rep,
            "established_date": pop["est_date"],
            "registered_capital_wan": pop["capital_wan"],
            "status": status,
            "knowledge_date": pop["est_date"],
        }
    )


def shareholders(rng: np.random.Generator, pop: pd.DataFrame, spec: CitySpec) -> pd.DataFrame:
    company = np.flatnonzero(pop["type_code"].to_numpy() == "91")
    k = rng.integers(1, 4, len(company))
    rows = np.repeat(company, k)
    first = np.concatenate([[True], rows[1:] != rows[:-1]]) if len(rows) else np.array([], bool)
    share = rng.dirichlet(np.ones(3), len(company))
    frac = np.concatenate([share[i, :kk] / share[i, :kk].sum() for i, kk in enumerate(k)]) if len(k) else np.array([])
    methods = np.array([m.name for m in spec.contribution_methods], dtype=object)
    method = np.where(first, methods[np.maximum(pop["method_idx"].to_numpy()[rows], 0)], "货币")
    subscribed = np.round(pop["capital_wan"].to_numpy()[rows] * frac, 2)
    est = pop["est_date"].to_numpy().astype("datetime64[D]")[rows]
    paid = np.round(subscribed * pop["paid_ratio"].to_numpy()[rows], 2)
    return pd.DataFrame(
        {
            "uscc": pop["uscc"].to_numpy()[rows],
            "shareholder_name": person_names(rng, spec, len(rows)),
            "contribution_method": method,
            "subscribed_wan": subscribed,
            "paid_wan": paid,
            "subscribed_date": est,
            "paid_date": np.where(paid > 0, est + rng.integers(0, 720, len(rows)), np.datetime64("NaT")),
            "knowledge_date": est,
        }
    )


def changes(rng: np.random.Generator, pop: pd.DataFrame, spec: CitySpec, timeline: Timeline) -> pd.DataFrame:
    begin, end = _alive_span(pop, timeline)
    shell, z = pop["shell"].to_numpy(), pop["z"].to_numpy()
    parts = []
    for item, rate in (
        ("法定代表人变更", legal_rep_change_rate(shell, z)),
        ("住所变更", 0.06 * (1 + 4 * shell)),
        ("经营范围变更", 0.08 + 0 * z),
        ("注册资本变更", 0.02 * (1 + 2 * shell)),
    ):
        rows, date = _events(rng, rate, begin, end)
        after = (
            person_names(rng, spec, len(rows))
            if item == "法定代表人变更"
            else np.array([f"变更后{item[:-2]}"] * len(rows), dtype=object)
        )
        parts.append(
            pd.DataFrame(
                {
                    "uscc": pop["uscc"].to_numpy()[rows],
                    "change_date": date,
                    "knowledge_date": date,
                    "change_item": item,
                    "after_value": after,
                }
            )
        )
    ended = np.flatnonzero(pop["exit_month"].to_numpy() < timeline.n_months)
    exit_date = timeline.month_starts[pop["exit_month"].to_numpy()[ended]] + rng.integers(0, 28, len(ended))
    kind = np.where(pop["exit_kind"].to_numpy()[ended] == "revoked", "吊销", "注销")
    parts.append(
        pd.DataFrame(
            {
                "uscc": pop["uscc"].to_numpy()[ended],
                "change_date": exit_date,
                "knowledge_date": exit_date,
                "change_item": "登记状态变更",
                "after_value": kind,
            }
        )
    )
    return pd.concat(parts, ignore_index=True)


def licences(
    rng: np.random.Generator, pop: pd.DataFrame, industry_code: np.ndarray, timeline: Timeline
) -> pd.DataFrame:
    kinds = np.array([LICENCES.get(c, "") for c in industry_code], dtype=object)
    rows = np.flatnonzero(kinds != "")
    begin, end = _alive_span(pop, timeline)
    parts, issue = [], begin[rows] + rng.integers(0, 60, len(rows))
    for renewal in range(4):  # five-year licences, renewed unless the firm collapsed
        keep = issue < end[rows]
        if not keep.any():
            break
        r, d = rows[keep], issue[keep]
        parts.append(
            pd.DataFrame(
                {
                    "uscc": pop["uscc"].to_numpy()[r],
                    "licence_no": [f"JY{g:09d}{renewal}" for g in pop["gidx"].to_numpy()[r]],
                    "licence_type": kinds[r],
                    "issue_date": d,
                    "expiry_date": d + 5 * 365,
                    "knowledge_date": d,
                }
            )
        )
        rows, issue = r, d + 5 * 365 - rng.integers(0, 30, len(r))
    return pd.concat(parts, ignore_index=True)


def rare_events(
    rng: np.random.Generator, pop: pd.DataFrame, timeline: Timeline, industry_code: np.ndarray, propensity: np.ndarray
) -> dict[str, pd.DataFrame]:
    """Equity pledges, court enforcement, honours and product-quality sampling."""
    begin, end = _alive_span(pop, timeline)
    begin = np.maximum(begin, timeline.month_starts[0])
    z, shell = pop["z"].to_numpy(), pop["shell"].to_numpy()
    company = pop["type_code"].to_numpy() == "91"
    uscc = pop["uscc"].to_numpy()
    collapsed_ever = pop["collapse_month"].to_numpy() < timeline.n_months
    first = int(pop["gidx"].to_numpy()[0])  # case numbers are unique across chunks
    out = {}
    r, d = _events(rng, company * 0.01 * (1 + 3 * shell), begin, end)
    out["equity_pledges"] = pd.DataFrame(
        {
            "uscc": uscc[r],
            "registration_date": d,
            "knowledge_date": d,
            "pledgee": "佛山农村商业银行股份有限公司",
            "pledged_amount_wan": np.round(pop["capital_wan"].to_numpy()[r] * 0.5, 2),
        }
    )
    r, d = _events(rng, court_case_rate(z, collapsed_ever), begin, end)
    closed = np.where(rng.random(len(r)) < 0.6, d + rng.integers(30, 400, len(r)), np.datetime64("NaT"))
    out["court_enforcement"] = pd.DataFrame(
        {
            "uscc": uscc[r],
            "case_no": [f"({str(x)[:4]})粤06执{first * 10 + i}号" for i, x in enumerate(d)],
            "filed_date": d,
            "knowledge_date": d + rng.integers(1, 10, len(r)),
            "amount_yuan": np.round(np.exp(rng.normal(10, 1.3, len(r))), -1),
            "closed_date": closed,
        }
    )
    r, d = _events(rng, honour_rate(company, z, collapsed_ever), begin, end)
    out["honours"] = pd.DataFrame(
        {
            "uscc": uscc[r],
            "honour": np.array(HONOURS, dtype=object)[rng.integers(0, 4, len(r))],
            "awarded_date": d,
            "knowledge_date": d,
            "awarding_body": "佛山市市场监督管理局",
        }
    )
    goods = np.isin(industry_code, ["13", "14", "15", "18", "21", "30", "33", "38", "27", "52"])
    r, d = _events(rng, goods * 0.08, begin, end)
    quarter = np.clip(sampling_quarter((d - timeline.month_starts[0]).astype(int)), 0, propensity.shape[1] - 1)
    failed = rng.random(len(r)) < quality_failure_probability(propensity[r, quarter])
    out["quality_sampling"] = pd.DataFrame(
        {
            "uscc": uscc[r],
            "sampling_date": d,
            "knowledge_date": d + rng.integers(20, 60, len(r)),
            "product": np.array(["食品", "日用品", "电器", "建材", "服装"], dtype=object)[rng.integers(0, 5, len(r))],
            "result": np.where(failed, "不合格", "合格"),
        }
    )
    return out


def serious_dishonesty(
    rng: np.random.Generator, pop: pd.DataFrame, timeline: Timeline, abnormal: pd.DataFrame, penalties: pd.DataFrame
) -> pd.DataFrame:
    """Three years on the abnormal list without removal, or a heavy penalty, puts a firm on the list;
    some older firms were listed before the window began (and stay listed)."""
    stuck = abnormal[abnormal["removed_date"].isna()]
    listed = stuck["listed_date"].to_numpy().astype("datetime64[D]") + 3 * 365
    a = pd.DataFrame(
        {
            "uscc": stuck["uscc"].to_numpy(),
            "listed_date": listed,
            "knowledge_date": listed,
            "reason": "被列入经营异常名录届满3年仍未履行相关义务",
        }
    )
    heavy = penalties[penalties["fine_yuan"] > 200_000] if len(penalties) else penalties
    b = pd.DataFrame(
        {
            "uscc": heavy.get("uscc", pd.Series(dtype=object)).to_numpy(),
            "listed_date": heavy.get("decision_date", pd.Series(dtype="datetime64[ns]")).to_numpy(),
            "knowledge_date": heavy.get("knowledge_date", pd.Series(dtype="datetime64[ns]")).to_numpy(),
            "reason": "因严重违法行为受到较重行政处罚",
        }
    )
    begin, _ = _alive_span(pop, timeline)
    chance = legacy_listing_probability(pop["z"].to_numpy(), pop["est_month"].to_numpy())
    legacy = np.flatnonzero(rng.random(len(pop)) < chance)
    when = begin[legacy] + rng.integers(0, 3 * 365, len(legacy))
    c = pd.DataFrame(
        {
            "uscc": pop["uscc"].to_numpy()[legacy],
            "listed_date": when,
            "knowledge_date": when,
            "reason": LEGACY_LISTING_REASON,
        }
    )
    out = pd.concat([c, a, b], ignore_index=True).drop_duplicates("uscc")
    out["removed_date"] = np.datetime64("NaT")
    return out
