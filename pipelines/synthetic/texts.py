"""Chinese names, addresses and complaint texts for the synthetic city."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.synthetic.spec import CitySpec


def _pick(rng: np.random.Generator, pool: str | list[str], n: int) -> np.ndarray:
    items = np.array(list(pool) if isinstance(pool, str) else pool, dtype=object)
    return items[rng.integers(0, len(items), size=n)]


def person_names(rng: np.random.Generator, spec: CitySpec, n: int) -> np.ndarray:
    """Two- or three-character personal names."""
    surname = _pick(rng, spec.surnames, n)
    given = _pick(rng, spec.given_chars, n) + np.where(rng.random(n) < 0.7, _pick(rng, spec.given_chars, n), "")
    return surname + given


def enterprise_names(rng: np.random.Generator, spec: CitySpec, pop: pd.DataFrame) -> np.ndarray:
    """Registered names: 佛山市南海区恒达五金有限公司, or for 个体工商户 禅城区陈记餐饮店."""
    n = len(pop)
    trade = _pick(rng, spec.trade_chars, n) + _pick(rng, spec.trade_chars, n)
    words = np.array(
        [spec.industries[i].words[rng.integers(len(spec.industries[i].words))] for i in pop["industry_idx"]],
        dtype=object,
    )
    suffix = np.array([spec.enterprise_types[t].suffix for t in pop["type_idx"]], dtype=object)
    district = np.array([spec.districts[d].name for d in pop["district_idx"]], dtype=object)
    individual = pop["type_code"].to_numpy() == "92"
    # Individual businesses often carry the owner's surname: 陈记.
    trade = np.where(individual & (rng.random(n) < 0.4), _pick(rng, spec.surnames, n) + "记", trade)
    prefix = np.where(individual, district, spec.city + district)
    # A third trade character makes most names unique, as the registry requires in a district.
    third = np.where(rng.random(n) < 0.6, _pick(rng, spec.trade_chars, n), "")
    return prefix + trade + third + words + suffix


def street_addresses(
    rng: np.random.Generator, spec: CitySpec, pop: pd.DataFrame, shared_pool: np.ndarray
) -> np.ndarray:
    """Registered addresses; firms flagged `shared_address` get one of the few shared ones."""
    n = len(pop)
    district = np.array([spec.districts[d].name for d in pop["district_idx"]], dtype=object)
    road = _pick(rng, spec.roads, n)
    number = rng.integers(1, 400, size=n).astype(str)
    room = rng.integers(101, 2800, size=n).astype(str)
    own = spec.city + district + pop["town"].to_numpy() + road + number + "号" + room + "室"
    shared_pick = shared_pool[rng.integers(0, len(shared_pool), size=n)] + "之" + room
    return np.where(pop["shared_address"].to_numpy(), shared_pick, own)


def shared_address_pool(rng: np.random.Generator, spec: CitySpec) -> np.ndarray:
    """The city's 集中登记地 (business-secretary hosting addresses)."""
    k = spec.shared_addresses.count
    d = rng.integers(0, len(spec.districts), size=k)
    return np.array(
        [
            f"{spec.city}{spec.districts[di].name}{spec.districts[di].towns[0]}"
            f"{spec.roads[rng.integers(len(spec.roads))]}{rng.integers(1, 200)}号{rng.integers(1, 30)}座"
            for di in d
        ],
        dtype=object,
    )


COMPLAINT_CATEGORIES = ["食品安全", "产品质量", "预付卡消费", "价格收费", "虚假宣传", "服务质量", "计量", "合同纠纷"]

_TEMPLATES = {
    "食品安全": [
        "消费者反映在{shop}就餐后出现腹泻呕吐症状，怀疑食材不新鲜，要求商家赔偿。",
        "投诉{shop}售卖的{item}已过保质期，商家拒绝退换。",
        "反映{shop}后厨卫生状况差，有老鼠出没，请求监管部门检查。",
    ],
    "产品质量": [
        "消费者在{shop}购买的{item}使用不到一周即损坏，商家推诿不予维修。",
        "反映{shop}销售的{item}无中文标识、无合格证明。",
    ],
    "预付卡消费": [
        "消费者在{shop}办理会员卡充值{amount}元，现商家关门停业，无法退款。",
        "{shop}突然停止营业，预付卡余额{amount}元无法使用，要求退还。",
    ],
    "价格收费": ["{shop}明码标价与实际收费不符，多收取费用{amount}元。", "反映{shop}结账时存在价格欺诈行为。"],
    "虚假宣传": ["{shop}宣传{item}具有治疗功效，涉嫌虚假宣传。", "举报{shop}在网络平台发布虚假促销信息，原价虚高。"],
    "服务质量": [
        "消费者反映{shop}服务态度恶劣，未按约定提供服务。",
        "在{shop}接受服务后效果与承诺严重不符，要求退款。",
    ],
    "计量": ["消费者反映在{shop}购买{item}短斤少两。", "举报{shop}使用的电子秤疑似作弊。"],
    "合同纠纷": [
        "消费者与{shop}签订合同后，商家未按期交付{item}，要求解除合同。",
        "{shop}拒不履行退货承诺，双方产生纠纷。",
    ],
}
_ITEMS = ["月饼", "食用油", "电热水壶", "儿童玩具", "护肤品", "保健食品", "家具", "手机", "陶瓷砖", "猪肉", "空调"]


def complaint_texts(rng: np.random.Generator, shop_names: np.ndarray, categories: np.ndarray) -> np.ndarray:
    """One free-text complaint per row, in the words a 12315 operator would record."""
    out = np.empty(len(shop_names), dtype=object)
    items = _pick(rng, _ITEMS, len(shop_names))
    amounts = rng.integers(2, 200, size=len(shop_names)) * 100
    for i, (shop, cat) in enumerate(zip(shop_names, categories, strict=True)):
        options = _TEMPLATES[cat]
        out[i] = options[rng.integers(len(options))].format(shop=shop, item=items[i], amount=amounts[i])
    return out


def short_shop_name(full_names: np.ndarray, spec: CitySpec) -> np.ndarray:
    """How a consumer names a shop: without the city, district and legal-form words."""
    prefixes = [spec.city + d.name for d in spec.districts] + [d.name for d in spec.districts]
    suffixes = sorted({t.suffix for t in spec.enterprise_types}, key=len, reverse=True)
    out = np.empty(len(full_names), dtype=object)
    for i, name in enumerate(full_names):
        for p in prefixes:
            if name.startswith(p):
                name = name[len(p) :]
                break
        for s in suffixes:
            if name.endswith(s) and len(name) > len(s) + 2:
                name = name[: -len(s)]
                break
        out[i] = name
    return out
