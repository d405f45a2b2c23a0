"""Hand-written domain features: what a market-supervision officer looks at first.

Each group is a function from the point-in-time tables to one table keyed by `uscc`, plus the
`Feature`s describing its columns. Derived features (ratios, trends, the activity-collapse
flag, complaint rate relative to peers) are computed from the aggregated profile.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from features.spec import Feature

GRADE_SCORE = {"A": 5, "B": 4, "M": 3, "C": 2, "D": 1}
REGISTERED_FIELDS = ("district", "industry_code", "enterprise_type")


def _f(
    name: str, source: str, zh: str, en: str, unit: str, dimension: str, direction: int, categorical: bool = False
) -> Feature:
    return Feature(name, source, zh, en, unit, None, dimension, direction, categorical=categorical)  # type: ignore[arg-type]


def registration_features() -> list[Feature]:
    return [
        _f("firm_age_years", "registration", "成立年限", "firm age", "years", "operating_status", -1),
        _f(
            "registered_capital_wan",
            "registration",
            "注册资本",
            "registered capital",
            "10k yuan",
            "operating_status",
            0,
        ),
        _f(
            "is_individual_business",
            "registration",
            "是否个体工商户",
            "individual business (个体工商户)",
            "flag",
            "operating_status",
            0,
        ),
        _f(
            "is_registered",
            "registration",
            "截至该日是否存续",
            "still registered on the as-of date",
            "flag",
            "operating_status",
            0,
        ),
        _f(
            "firms_at_same_address",
            "registration",
            "同一登记地址的企业数",
            "firms registered at the same address",
            "firms",
            "operating_status",
            1,
        ),
        _f("district", "registration", "所属区", "district", "category", "operating_status", 0, True),
        _f(
            "industry_code",
            "registration",
            "行业代码（GB/T 4754）",
            "industry (GB/T 4754 division)",
            "category",
            "operating_status",
            0,
            True,
        ),
        _f("enterprise_type", "registration", "企业类型", "enterprise type", "category", "operating_status", 0, True),
    ]


def registration_table(t: dict[str, ir.Table], as_of: ir.DateScalar) -> ir.Table:
    """One row per enterprise established and known before the as-of date.

    The registration extract is a snapshot: capital, address, district and industry are today's
    values. The synthetic city never changes them after registration, so they are point-in-time
    here; a real jurisdiction whose changes extract carries before/after values must rebuild them
    as of the date (take the "before" value of the earliest change after it).
    """
    reg = t["registration"]
    reg = reg.filter(reg.established_date < as_of)
    changes = t["registration_changes"]
    ended = changes.filter((changes.change_item == "登记状态变更") & (changes.change_date < as_of))
    ended = ended.group_by(_k_end=ended.uscc).aggregate(_ended=ended.count())
    # 集中登记地: the address without its room number, counted over all firms known at the date.
    base_address = reg.address.re_replace(r"(之\d+室?|\d+室)$", "")
    reg = reg.mutate(_address_base=base_address)
    shared = reg.group_by(_k_addr=reg._address_base).aggregate(firms_at_same_address=reg.count())
    out = reg.left_join(ended, reg.uscc == ended._k_end).left_join(shared, reg._address_base == shared._k_addr)
    return out.select(
        uscc=out.uscc,
        district=out.district,
        industry_code=out.industry_code,
        enterprise_type=out.enterprise_type,
        firm_age_years=as_of.delta(out.established_date, unit="day").cast("float64") / 365.25,
        registered_capital_wan=out.registered_capital_wan,
        is_individual_business=out.uscc.startswith("92").cast("int64"),
        is_registered=out._ended.isnull().cast("int64"),
        firms_at_same_address=out.firms_at_same_address,
    )


def shareholder_features() -> list[Feature]:
    return [
        _f("shareholders_count", "shareholders", "股东人数", "shareholders", "persons", "credit", 0),
        _f(
            "subscribed_capital_wan_total",
            "shareholders",
            "认缴出资合计",
            "subscribed capital",
            "10k yuan",
            "credit",
            0,
        ),
        _f("paid_capital_wan_total", "shareholders", "实缴出资合计", "paid-in capital", "10k yuan", "credit", -1),
        _f("paid_in_ratio", "shareholders", "实缴占认缴比例", "paid-in / subscribed capital", "ratio", "credit", -1),
        _f(
            "noncash_contribution_share",
            "shareholders",
            "非货币出资占比",
            "share of capital subscribed in kind, IP or land",
            "ratio",
            "credit",
            1,
        ),
        _f(
            "has_noncash_contribution",
            "shareholders",
            "是否有非货币出资",
            "any non-cash contribution",
            "flag",
            "credit",
            1,
        ),
        _f(
            "unpaid_subscriptions_count",
            "shareholders",
            "未实缴的出资笔数",
            "subscriptions not yet paid in",
            "records",
            "credit",
            1,
        ),
        *[
            _f(
                f"contribution_{slug}_count",
                "shareholders",
                f"{zh}出资笔数",
                f"contributions in {en}",
                "records",
                "credit",
                1 if slug != "cash" else 0,
            )
            for zh, slug, en in (
                ("货币", "cash", "cash"),
                ("实物", "in_kind", "kind"),
                ("知识产权", "ip", "IP"),
                ("土地使用权", "land", "land-use rights"),
            )
        ],
    ]


def shareholder_table(t: dict[str, ir.Table], as_of: ir.DateScalar) -> ir.Table:
    s = t["shareholders"]
    noncash = s.contribution_method != "货币"
    agg = s.group_by(uscc=s.uscc).aggregate(
        shareholders_count=s.count(),
        subscribed_capital_wan_total=s.subscribed_wan.sum(),
        # The extract holds today's paid-in amount; only payments made before the date count.
        paid_capital_wan_total=s.paid_wan.sum(where=s.paid_date < as_of),
        _noncash_sub=s.subscribed_wan.sum(where=noncash),
        has_noncash_contribution=s.count(where=noncash),
        unpaid_subscriptions_count=s.count(where=s.paid_date.isnull() | (s.paid_date >= as_of)),
        contribution_cash_count=s.count(where=s.contribution_method == "货币"),
        contribution_in_kind_count=s.count(where=s.contribution_method == "实物"),
        contribution_ip_count=s.count(where=s.contribution_method == "知识产权"),
        contribution_land_count=s.count(where=s.contribution_method == "土地使用权"),
    )
    sub = agg.subscribed_capital_wan_total
    paid = agg.paid_capital_wan_total.fill_null(0)
    return agg.mutate(
        paid_capital_wan_total=paid,
        paid_in_ratio=ibis.ifelse(sub > 0, paid / sub, ibis.null()),
        noncash_contribution_share=ibis.ifelse(sub > 0, agg._noncash_sub / sub, ibis.null()),
        has_noncash_contribution=(agg.has_noncash_contribution > 0).cast("int64"),
    ).drop("_noncash_sub")


def status_features() -> list[Feature]:
    return [
        _f(
            "abnormal_listed_now",
            "abnormal_list",
            "当前在经营异常名录",
            "on the abnormal-operations list now",
            "flag",
            "credit",
            1,
        ),
        _f(
            "abnormal_removed_count",
            "abnormal_list",
            "已移出经营异常名录次数",
            "removals from the abnormal list",
            "records",
            "credit",
            0,
        ),
        _f(
            "serious_dishonesty_listed_now",
            "serious_dishonesty",
            "当前在严重违法失信名单",
            "on the serious-dishonesty list now",
            "flag",
            "credit",
            1,
        ),
        _f(
            "tax_credit_grade_latest",
            "tax_credit",
            "最近一次纳税信用等级",
            "latest tax credit grade",
            "grade",
            "credit",
            0,
            True,
        ),
        _f(
            "tax_credit_grade_latest_score",
            "tax_credit",
            "最近纳税信用等级分（A=5…D=1）",
            "latest tax credit grade as a score",
            "points",
            "credit",
            -1,
        ),
        _f(
            "licences_valid_now",
            "licences",
            "当前有效许可证数",
            "licences valid on the as-of date",
            "licences",
            "operating_status",
            0,
        ),
        _f(
            "licences_expired_count",
            "licences",
            "已过期许可证数",
            "licences expired before the as-of date",
            "licences",
            "operating_status",
            1,
        ),
        _f(
            "court_cases_open_now",
            "court_enforcement",
            "未结被执行案件数",
            "court enforcement cases still open",
            "cases",
            "credit",
            1,
        ),
        _f(
            "last_inspection_found_violation",
            "inspections",
            "最近一次检查是否发现问题",
            "the last inspection found a violation",
            "flag",
            "supervision_history",
            1,
        ),
        _f(
            "annual_report_latest_year",
            "annual_reports",
            "最近报送年报的年度",
            "latest annual report year filed",
            "year",
            "operating_status",
            0,
        ),
    ]


def status_tables(t: dict[str, ir.Table], as_of: ir.DateScalar) -> list[ir.Table]:
    ab = t["abnormal_list"]
    open_listing = ab.removed_date.isnull() | (ab.removed_date >= as_of)
    abnormal = ab.group_by(uscc=ab.uscc).aggregate(
        abnormal_listed_now=(ab.count(where=open_listing) > 0).cast("int64"),
        abnormal_removed_count=ab.count(where=~open_listing),
    )
    sd = t["serious_dishonesty"]
    serious = sd.group_by(uscc=sd.uscc).aggregate(
        serious_dishonesty_listed_now=(sd.count(where=sd.removed_date.isnull() | (sd.removed_date >= as_of)) > 0).cast(
            "int64"
        )
    )
    tc = t["tax_credit"]
    grade = tc.group_by(uscc=tc.uscc).aggregate(tax_credit_grade_latest=tc.credit_grade.argmax(tc.evaluation_year))
    grade = grade.mutate(
        tax_credit_grade_latest_score=grade.tax_credit_grade_latest.substitute(
            {k: v for k, v in GRADE_SCORE.items()}, else_=ibis.null()
        ).cast("float64")
    )
    li = t["licences"]
    licences = li.group_by(uscc=li.uscc).aggregate(
        licences_valid_now=li.count(where=li.expiry_date >= as_of),
        licences_expired_count=li.count(where=li.expiry_date < as_of),
    )
    ce = t["court_enforcement"]
    court = ce.group_by(uscc=ce.uscc).aggregate(
        court_cases_open_now=ce.count(where=ce.closed_date.isnull() | (ce.closed_date >= as_of))
    )
    ins = t["inspections"]
    # Order by date, then id, so that two inspections on one day resolve the same way on every engine.
    latest_key = ins.inspection_date.cast("string").concat(ins.inspection_id)
    last = ins.group_by(uscc=ins.uscc).aggregate(
        last_inspection_found_violation=ins.violation_found.cast("int64").argmax(latest_key)
    )
    ar = t["annual_reports"]
    reports = ar.group_by(uscc=ar.uscc).aggregate(annual_report_latest_year=ar.report_year.max())
    return [abnormal, serious, grade, licences, court, last, reports]
