"""Operating activity: utilities, tax, social insurance, annual reports, tax credit grades.

Monthly series run from the month an enterprise is established (or the window's start) until it
exits. After the hidden collapse month, usage and headcount fall to (almost) zero while the firm
stays registered: the "activity collapse" that inspectors find as "无法联系".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.synthetic.population import Timeline, sigmoid

GAS_INDUSTRIES = ["13", "14", "15", "30", "62"]


def _monthly_cells(pop: pd.DataFrame, timeline: Timeline) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(enterprise row, month, months until collapse) for every month an enterprise is registered."""
    months = np.arange(timeline.n_months)
    est = pop["est_month"].to_numpy()[:, None]
    alive = (est <= months[None, :]) & (pop["exit_month"].to_numpy()[:, None] > months[None, :])
    rows, cols = np.nonzero(alive)
    to_collapse = pop["collapse_month"].to_numpy()[rows] - cols
    return rows, cols, to_collapse


def _level(rng: np.random.Generator, to_collapse: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Activity multiplier: seasonal, noisy, fading over the 4 months before a collapse, then ~0."""
    season = 1 + 0.15 * np.cos(2 * np.pi * (cols % 12 - 6) / 12)
    fade = np.clip(to_collapse / 4, 0.05, 1)
    level = season * fade * rng.lognormal(0, 0.2, len(cols))
    return np.where(to_collapse <= 0, rng.uniform(0, 0.004, len(cols)), level)


def utilities(
    rng: np.random.Generator, pop: pd.DataFrame, timeline: Timeline, industry_code: np.ndarray
) -> dict[str, pd.DataFrame]:
    rows, cols, to_collapse = _monthly_cells(pop, timeline)
    level = _level(rng, to_collapse, cols)
    scale = pop["scale"].to_numpy()[rows]
    company = pop["type_code"].to_numpy()[rows] == "91"
    month = timeline.month_starts[cols]
    billed = timeline.month_starts[cols + 1] + rng.integers(5, 20, len(cols))
    uscc = pop["uscc"].to_numpy()[rows]
    out = {
        "electricity": pd.DataFrame(
            {
                "uscc": uscc,
                "billing_month": month,
                "knowledge_date": billed,
                "kwh": np.round(scale * np.where(company, 4200, 900) * level, 1),
            }
        ),
        "water": pd.DataFrame(
            {
                "uscc": uscc,
                "billing_month": month,
                "knowledge_date": billed,
                "tons": np.round(scale * np.where(company, 160, 35) * level, 1),
            }
        ),
    }
    gas = np.isin(industry_code[rows], GAS_INDUSTRIES)
    out["gas"] = pd.DataFrame(
        {
            "uscc": uscc[gas],
            "billing_month": month[gas],
            "knowledge_date": billed[gas],
            "cubic_meters": np.round(scale[gas] * 380 * level[gas], 1),
        }
    )
    return out


def tax_and_headcount(rng: np.random.Generator, pop: pd.DataFrame, timeline: Timeline) -> dict[str, pd.DataFrame]:
    rows, cols, to_collapse = _monthly_cells(pop, timeline)
    level = _level(rng, to_collapse, cols)
    scale = pop["scale"].to_numpy()[rows]
    company = pop["type_code"].to_numpy()[rows] == "91"
    uscc = pop["uscc"].to_numpy()[rows]
    month = timeline.month_starts[cols]
    declared = timeline.month_starts[cols + 1] + rng.integers(10, 16, len(cols))
    vat = np.round(scale * np.where(company, 18000, 1500) * level * rng.lognormal(0, 0.3, len(cols)), 2)
    n = len(rows)
    insured = company | (pop["gidx"].to_numpy()[rows] % 10 < 3)  # 30% of individual businesses insure staff
    staff = np.maximum(1, np.round(scale * np.where(company, 9, 2))).astype(int)
    headcount = np.where(
        to_collapse <= 0, 0, np.round(staff * np.clip(to_collapse / 4, 0, 1) * rng.lognormal(0, 0.05, n))
    ).astype(int)
    # VAT and its two surcharges every month; withheld income tax where staff are insured;
    # corporate income tax prepaid quarterly by companies.
    quarterly = company & (cols % 3 == 2)
    pieces = [
        ("增值税", np.ones(n, bool), vat),
        ("城市维护建设税", np.ones(n, bool), np.round(vat * 0.07, 2)),
        ("教育费附加", np.ones(n, bool), np.round(vat * 0.03, 2)),
        ("个人所得税", insured, np.round(headcount * 95.0 * rng.lognormal(0, 0.2, n), 2)),
        ("企业所得税", quarterly, np.round(vat * 0.9, 2)),
    ]
    tax = pd.concat(
        [
            pd.DataFrame(
                {
                    "uscc": uscc[m],
                    "tax_period": month[m],
                    "knowledge_date": declared[m],
                    "tax_type": name,
                    "amount_yuan": amount[m],
                }
            )
            for name, m, amount in pieces
        ],
        ignore_index=True,
    )
    social = pd.DataFrame(
        {
            "uscc": uscc[insured],
            "contribution_month": month[insured],
            "knowledge_date": (timeline.month_starts[cols + 1] + 20)[insured],
            "insured_headcount": headcount[insured],
        }
    )
    return {"tax_payments": tax, "social_insurance": social}


# Tax credit grades cut a noisy score at these floors (D below the last).
GRADE_FLOORS = {"A": 1.6, "B": 0.2, "M": -0.8, "C": -1.8}
GRADE_NOISE = 0.6


# What departments see of the hidden disposition: VISIBLE_WEIGHT * z + VISIBLE_NOISE * N(0, 1),
# of variance 1 and correlation 0.6 with `z`.
VISIBLE_WEIGHT, VISIBLE_NOISE = 0.6, 0.8


def visible_disposition(z: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """What departments see of the hidden disposition (`noise` ~ N(0, 1))."""
    return VISIBLE_WEIGHT * z + VISIBLE_NOISE * noise


def on_time_probability(visible: np.ndarray, collapsed: np.ndarray, shell: np.ndarray) -> np.ndarray:
    """Chance of filing a year's annual report by the 30 June deadline."""
    return sigmoid(2.6 - 0.7 * visible - 2.2 * collapsed - 0.8 * shell)


def grade_score_mean(visible: np.ndarray, collapsed: np.ndarray, shell: np.ndarray) -> np.ndarray:
    """The tax credit score before its noise (GRADE_NOISE); GRADE_FLOORS turn it into a grade."""
    return 1.0 - 0.8 * visible - 1.6 * collapsed - 0.6 * shell


def annual_reports_and_grades(
    rng: np.random.Generator, pop: pd.DataFrame, timeline: Timeline
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Annual reports (filed Jan-Jun of the next year, or late), the resulting abnormal-list
    entries (未按规定报送年度报告) and tax credit grades (published each April)."""
    year0 = int(str(timeline.start.astype("datetime64[Y]")))
    reports, listings, grades = [], [], []
    shell = pop["shell"].to_numpy()
    # What departments see of the hidden disposition is diluted by a persistent firm-level trait,
    # so that averaging a firm's yearly grades does not reveal `z` (correlation 0.6, not ~0.95).
    visible = visible_disposition(pop["z"].to_numpy(), rng.normal(size=len(pop)))
    company = pop["type_code"].to_numpy() == "91"
    for y in range(timeline.n_months // 12):
        year_end = (y + 1) * 12  # month index of next January
        exists = (pop["est_month"].to_numpy() < year_end) & (pop["exit_month"].to_numpy() > year_end + 6)
        collapsed = pop["collapse_month"].to_numpy() < year_end
        on_time = exists & (rng.random(len(pop)) < on_time_probability(visible, collapsed, shell))
        late = exists & ~on_time & (rng.random(len(pop)) < 0.45)
        jan = np.datetime64(f"{year0 + y + 1}-01-01")
        filed = on_time | late
        submit = np.where(on_time, jan + rng.integers(0, 181, len(pop)), jan + 181 + rng.integers(10, 500, len(pop)))
        idx = np.flatnonzero(filed)
        staff = np.where(collapsed, 0, np.maximum(0, np.round(pop["scale"].to_numpy() * np.where(company, 9, 2))))
        reports.append(
            pd.DataFrame(
                {
                    "uscc": pop["uscc"].to_numpy()[idx],
                    "report_year": year0 + y,
                    "submitted_date": submit[idx],
                    "knowledge_date": submit[idx],
                    "employees": staff[idx].astype(int),
                    "revenue_wan": np.round(
                        np.where(collapsed, 0, pop["scale"].to_numpy() * np.where(company, 260, 25))[idx]
                        * rng.lognormal(0, 0.3, len(idx)),
                        1,
                    ),
                    "filed_on_time": on_time[idx],
                }
            )
        )
        missed = np.flatnonzero(exists & ~on_time)
        listed = jan + 181 + rng.integers(1, 15, len(missed))
        removed = np.where(late[missed], submit[missed] + rng.integers(3, 20, len(missed)), np.datetime64("NaT"))
        listings.append(
            pd.DataFrame(
                {
                    "uscc": pop["uscc"].to_numpy()[missed],
                    "listed_date": listed,
                    "knowledge_date": listed,
                    "reason": "未按照《企业信息公示暂行条例》规定的期限公示年度报告",
                    "removed_date": removed,
                    "listing_authority": "佛山市市场监督管理局",
                }
            )
        )
        score = grade_score_mean(visible, collapsed, shell) + rng.normal(0, GRADE_NOISE, len(pop))
        grade = np.select([score > lower for lower in GRADE_FLOORS.values()], list(GRADE_FLOORS), "D")
        young = pop["est_month"].to_numpy() > year_end - 12
        grade = np.where(young & (grade != "D"), "M", grade)  # new taxpayers are graded M
        # Graded if alive when grades are published (20 April): a later exit must not show here.
        graded = (pop["est_month"].to_numpy() < year_end) & (pop["exit_month"].to_numpy() > year_end + 3)
        g_idx = np.flatnonzero(graded & company)
        published = np.datetime64(f"{year0 + y + 1}-04-20")
        grades.append(
            pd.DataFrame(
                {
                    "uscc": pop["uscc"].to_numpy()[g_idx],
                    "evaluation_year": year0 + y,
                    "credit_grade": grade[g_idx],
                    "published_date": published,
                    "knowledge_date": published,
                }
            )
        )
    return (
        pd.concat(reports, ignore_index=True),
        pd.concat(listings, ignore_index=True),
        pd.concat(grades, ignore_index=True),
    )
