"""The candidate features, declared per source: counts, value aggregates and category counts over
every window, recency, and keyword counts in complaint texts. `generic_features()` expands the
declarations below into `Feature`s; `features.domain` adds the hand-written ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir

from features.spec import WINDOWS, Dimension, Feature, window_label, window_words

RowFilter = Callable[[ir.Table], ir.BooleanValue]

AGG_WORDS = {
    "sum": ("合计", "total"),
    "mean": ("平均", "mean"),
    "max": ("最大", "maximum"),
    "min": ("最小", "minimum"),
    "std": ("标准差", "standard deviation"),
    "zero": ("为零的记录数", "zero records"),
}


@dataclass(frozen=True)
class Value:
    column: str
    zh: str
    en: str
    unit: str
    aggs: tuple[str, ...] = ("sum", "mean", "max", "min", "std", "zero")
    direction: int = 0


@dataclass(frozen=True)
class Category:
    column: str
    levels: dict[str, str]  # raw value -> ASCII slug used in feature names
    directions: dict[str, int] = field(default_factory=dict)
    sum_of: str | None = None  # also sum this value column per level
    words_zh: dict[str, str] = field(default_factory=dict)  # raw value -> how a description says it


@dataclass(frozen=True)
class SourceFeatures:
    source: str
    # The date windows look back over: the event date, or for monthly bills and declarations the
    # knowledge date (a bill is known 5-7 weeks after its month starts, so windows on the billing
    # month would leave the recent windows empty by construction).
    date: str
    zh: str
    en: str
    dimension: Dimension
    direction: int  # of the plain record count
    values: tuple[Value, ...] = ()
    categories: tuple[Category, ...] = ()
    keywords: dict[str, str] = field(default_factory=dict)  # text word -> slug (complaints)
    text_column: str | None = None


MONEY = ("sum", "mean", "max", "min", "std")

SOURCES: tuple[SourceFeatures, ...] = (
    SourceFeatures(
        "electricity",
        "knowledge_date",
        "用电记录",
        "electricity bills",
        "activity",
        0,
        values=(Value("kwh", "用电量", "electricity use", "kWh", direction=-1),),
    ),
    SourceFeatures(
        "water",
        "knowledge_date",
        "用水记录",
        "water bills",
        "activity",
        0,
        values=(Value("tons", "用水量", "water use", "t", direction=-1),),
    ),
    SourceFeatures(
        "gas",
        "knowledge_date",
        "用气记录",
        "gas bills",
        "activity",
        0,
        values=(Value("cubic_meters", "用气量", "gas use", "m³", direction=-1),),
    ),
    SourceFeatures(
        "social_insurance",
        "knowledge_date",
        "社保缴纳记录",
        "social-insurance months",
        "activity",
        -1,
        values=(Value("insured_headcount", "参保人数", "insured headcount", "persons", direction=-1),),
    ),
    SourceFeatures(
        "tax_payments",
        "knowledge_date",
        "纳税申报记录",
        "tax declarations",
        "activity",
        -1,
        values=(Value("amount_yuan", "纳税额", "tax paid", "yuan", direction=-1),),
        categories=(
            Category(
                "tax_type",
                {
                    "增值税": "vat",
                    "城市维护建设税": "urban_tax",
                    "教育费附加": "edu_surcharge",
                    "个人所得税": "iit",
                    "企业所得税": "cit",
                },
                sum_of="amount_yuan",
            ),
        ),
    ),
    SourceFeatures(
        "annual_reports",
        "submitted_date",
        "年度报告",
        "annual reports",
        "operating_status",
        -1,
        values=(
            Value("employees", "年报从业人数", "employees reported", "persons", direction=-1),
            Value("revenue_wan", "年报营业收入", "revenue reported", "10k yuan", direction=-1),
        ),
        categories=(Category(
                "filed_on_time",
                {"true": "on_time", "false": "late"},
                {"on_time": -1, "late": 1},
                words_zh={"true": "按时报送", "false": "逾期报送"},
            ),),
    ),
    SourceFeatures(
        "registration_changes",
        "change_date",
        "登记变更",
        "registration changes",
        "operating_status",
        1,
        categories=(
            Category(
                "change_item",
                {
                    "法定代表人变更": "legal_rep",
                    "住所变更": "address",
                    "经营范围变更": "scope",
                    "注册资本变更": "capital",
                    "登记状态变更": "status",
                },
                {"legal_rep": 1, "address": 1},
            ),
        ),
    ),
    SourceFeatures(
        "licences",
        "issue_date",
        "行政许可",
        "licences",
        "operating_status",
        0,
        categories=(
            Category(
                "licence_type",
                {
                    "食品经营许可证": "food_trade",
                    "食品生产许可证": "food_prod",
                    "药品生产许可证": "drug_prod",
                    "医疗机构执业许可证": "clinic",
                    "道路运输经营许可证": "transport",
                },
            ),
        ),
    ),
    SourceFeatures(
        "penalties",
        "decision_date",
        "行政处罚",
        "administrative penalties",
        "supervision_history",
        1,
        values=(Value("fine_yuan", "罚没金额", "fines", "yuan", MONEY, 1),),
        categories=(
            Category("penalty_kind", {"罚款": "fine", "警告": "warning"}, {"fine": 1, "warning": 1}),
            Category(
                "violation_type",
                {
                    "违反《中华人民共和国食品安全法》": "food_safety_law",
                    "违反《中华人民共和国产品质量法》": "product_quality_law",
                    "违反《中华人民共和国广告法》": "advertising_law",
                },
                {"food_safety_law": 1, "product_quality_law": 1, "advertising_law": 1},
            ),
        ),
    ),
    SourceFeatures(
        "abnormal_list",
        "listed_date",
        "列入经营异常名录",
        "abnormal-operations listings",
        "credit",
        1,
        categories=(
            Category(
                "reason",
                {
                    "未按照《企业信息公示暂行条例》规定的期限公示年度报告": "no_annual_report",
                    "通过登记的住所或者经营场所无法联系": "unreachable",
                },
                {"no_annual_report": 1, "unreachable": 1},
            ),
        ),
    ),
    SourceFeatures(
        "serious_dishonesty", "listed_date", "列入严重违法失信名单", "serious-dishonesty listings", "credit", 1
    ),
    SourceFeatures(
        "inspections",
        "inspection_date",
        "抽查检查",
        "inspections",
        "supervision_history",
        0,
        categories=(
            Category("inspection_type", {"双随机抽查": "random", "投诉举报核查": "complaint"}),
            Category(
                "violation_found",
                {"true": "found", "false": "clean"},
                {"found": 1, "clean": -1},
                words_zh={"true": "发现问题", "false": "未发现问题"},
            ),
            Category(
                "result",
                {
                    "未发现问题": "no_problem",
                    "发现问题已责令改正": "corrected",
                    "发现问题待后续处理": "pending",
                    "未按规定公示": "not_disclosed",
                    "不配合检查情节严重": "obstructed",
                    "通过登记的住所（经营场所）无法联系": "unreachable",
                    "未发现开展本次抽查涉及的经营活动": "no_activity",
                },
                {
                    "no_problem": -1,
                    "corrected": 1,
                    "pending": 1,
                    "not_disclosed": 1,
                    "obstructed": 1,
                    "unreachable": 1,
                    "no_activity": 1,
                },
            ),
        ),
    ),
    SourceFeatures(
        "complaints",
        "received_date",
        "投诉举报",
        "complaints",
        "complaints",
        1,
        categories=(
            Category(
                "category",
                {
                    "食品安全": "food_safety",
                    "产品质量": "product_quality",
                    "预付卡消费": "prepaid_card",
                    "价格收费": "pricing",
                    "虚假宣传": "false_advertising",
                    "服务质量": "service",
                    "计量": "metrology",
                    "合同纠纷": "contract",
                },
                {"food_safety": 1, "prepaid_card": 1, "false_advertising": 1},
            ),
            Category(
                "channel",
                {
                    "12315热线": "hotline_12315",
                    "全国12315平台": "platform_12315",
                    "12345热线": "hotline_12345",
                    "来信来访": "letters",
                },
            ),
        ),
        keywords={
            "关门": "closed_shop",
            "退款": "refund",
            "过期": "expired",
            "腹泻": "illness",
            "虚假": "false_claim",
            "无法": "cannot",
        },
        text_column="text",
    ),
    SourceFeatures(
        "tax_credit",
        "published_date",
        "纳税信用评价",
        "tax credit evaluations",
        "credit",
        0,
        categories=(
            Category(
                "credit_grade", {"A": "a", "B": "b", "M": "m", "C": "c", "D": "d"}, {"a": -1, "b": -1, "c": 1, "d": 1}
            ),
        ),
    ),
    SourceFeatures(
        "court_enforcement",
        "filed_date",
        "被执行案件",
        "court enforcement cases",
        "credit",
        1,
        values=(Value("amount_yuan", "执行标的", "amount enforced", "yuan", MONEY, 1),),
    ),
    SourceFeatures(
        "honours",
        "awarded_date",
        "荣誉表彰",
        "honours",
        "credit",
        -1,
        categories=(
            Category(
                "honour",
                {
                    "守合同重信用企业": "contract_keeping",
                    "广东省诚信示范企业": "integrity_model",
                    "放心消费承诺单位": "consumer_pledge",
                    "质量信用A级企业": "quality_a",
                },
                {"contract_keeping": -1, "integrity_model": -1, "consumer_pledge": -1, "quality_a": -1},
            ),
        ),
    ),
    SourceFeatures(
        "quality_sampling",
        "sampling_date",
        "产品质量抽检",
        "product-quality samplings",
        "supervision_history",
        0,
        categories=(Category("result", {"合格": "passed", "不合格": "failed"}, {"passed": -1, "failed": 1}),),
    ),
    SourceFeatures(
        "equity_pledges",
        "registration_date",
        "股权出质",
        "equity pledges",
        "credit",
        1,
        values=(Value("pledged_amount_wan", "出质股权数额", "pledged equity", "10k yuan", MONEY, 1),),
    ),
)


def _in_window(t: ir.Table, date: str, as_of: ir.DateScalar, window: int | None) -> ir.BooleanValue:
    """Dated before the as-of date and, for a window, no more than `window` days before it."""
    before = t[date] < as_of
    if window is None:
        return before
    return before & (t[date] >= as_of - ibis.interval(days=window))


def _count(date: str, window: int | None, extra: RowFilter | None = None):
    def build(t: ir.Table, as_of: ir.DateScalar) -> ir.Value:
        cond = _in_window(t, date, as_of, window)
        if extra is not None:
            cond = cond & extra(t)
        return t.count(where=cond)

    return build


def _agg(date: str, window: int | None, column: str, agg: str, extra: RowFilter | None = None):
    def build(t: ir.Table, as_of: ir.DateScalar) -> ir.Value:
        cond = _in_window(t, date, as_of, window)
        if extra is not None:
            cond = cond & extra(t)
        col = t[column]
        if agg == "zero":
            return t.count(where=cond & (col == 0))
        return getattr(col, agg)(where=cond)

    return build


def _equals(column: str, raw: str):
    if raw in ("true", "false"):
        return lambda t: t[column] == (raw == "true")
    return lambda t: t[column] == raw


def _contains(column: str, word: str):
    return lambda t: t[column].contains(word)


def _since(date: str, how: str):
    def build(t: ir.Table, as_of: ir.DateScalar) -> ir.Value:
        edge = t[date].max() if how == "last" else t[date].min()
        return as_of.delta(edge, unit="day")

    return build


def generic_features() -> list[Feature]:
    out: list[Feature] = []
    for s in SOURCES:
        out.append(
            Feature(
                f"{s.source}_days_since_last",
                s.source,
                f"距最近一次{s.zh}的天数",
                f"days since the last of the {s.en}",
                "days",
                None,
                s.dimension,
                0,
                aggregate=_since(s.date, "last"),
            )
        )
        out.append(
            Feature(
                f"{s.source}_days_since_first",
                s.source,
                f"距首次{s.zh}的天数",
                f"days since the first of the {s.en}",
                "days",
                None,
                s.dimension,
                0,
                aggregate=_since(s.date, "first"),
            )
        )
        for w in WINDOWS:
            wz, we = window_words(w)
            wl = window_label(w)
            out.append(
                Feature(
                    f"{s.source}_count_{wl}",
                    s.source,
                    f"{wz}{s.zh}条数",
                    f"{s.en}, {we} (count)",
                    "records",
                    w,
                    s.dimension,
                    s.direction,
                    aggregate=_count(s.date, w),
                )
            )
            for v in s.values:
                for agg in v.aggs:
                    az, ae = AGG_WORDS[agg]
                    unit = "records" if agg == "zero" else v.unit
                    direction = 0 if agg in ("std", "zero") else v.direction
                    out.append(
                        Feature(
                            f"{s.source}_{v.column}_{agg}_{wl}",
                            s.source,
                            f"{wz}{v.zh}{az}",
                            f"{v.en}, {ae}, {we}",
                            unit,
                            w,
                            s.dimension,
                            direction,
                            aggregate=_agg(s.date, w, v.column, agg),
                        )
                    )
            for c in s.categories:
                for raw, slug in c.levels.items():
                    d = c.directions.get(slug, 0)
                    out.append(
                        Feature(
                            f"{s.source}_{c.column}_{slug}_count_{wl}",
                            s.source,
                            f"{wz}{s.zh}（{c.words_zh.get(raw, raw)}）条数",
                            f"{s.en} with {c.column} = {slug}, {we} (count)",
                            "records",
                            w,
                            s.dimension,
                            d,
                            aggregate=_count(s.date, w, _equals(c.column, raw)),
                        )
                    )
                    if c.sum_of:
                        out.append(
                            Feature(
                                f"{s.source}_{c.column}_{slug}_{c.sum_of}_sum_{wl}",
                                s.source,
                                f"{wz}{raw}合计",
                                f"{c.sum_of} of {slug}, {we} (sum)",
                                "yuan",
                                w,
                                s.dimension,
                                -1,
                                aggregate=_agg(s.date, w, c.sum_of, "sum", _equals(c.column, raw)),
                            )
                        )
            if s.text_column:
                for word, slug in s.keywords.items():
                    out.append(
                        Feature(
                            f"{s.source}_text_{slug}_count_{wl}",
                            s.source,
                            f"{wz}内容含“{word}”的{s.zh}条数",
                            f"{s.en} mentioning '{slug}', {we} (count)",
                            "records",
                            w,
                            s.dimension,
                            1,
                            aggregate=_count(s.date, w, _contains(s.text_column, word)),
                        )
                    )
    return out
