"""The best any model could do on the synthetic city: issue 4's 0.9-of-oracle target against a Bayes bound.

    .venv/bin/python tests/benchmarks/bench_bayes_bound.py [--data-home data] [--as-of 2025-07-01]

The oracle ranks enterprises by their true violation propensity over the label window. Most of
that propensity's spread comes from a hidden compliance disposition `z` that no department
records; departments record only its traces. This benchmark asks how close to the oracle an
estimator can get that is given far more than a regulator has:

  - the generator's own formulas (pipelines.synthetic), and
  - every hidden state except `z`: shell flag, activity scale, collapse and exit months,
    inspectors' detection rates, and the non-`z` part of every quarter's log-odds.

It reads the published records (the bronze lake, knowledge date before the as-of date) exactly as
the generator wrote them, computes each enterprise's posterior of `z` on a grid, and ranks by the
posterior mean of its propensity over the label window. Each row adds one channel of records:

  prior only                  no record of `z` at all
  complaints + inspections    each past quarter: complaints ~ Poisson, inspection found / clean,
                              mixed over "violating that quarter or not"; complaints are matched to
                              their true enterprise (ground truth), linked or not
  filings + tax grades        annual reports on time or not and yearly tax credit grades, which
                              see `z` only through the department-visible disposition (corr 0.6)
  direct traces               court cases, honours, legal-representative changes, the listing for
                              false registration, product samples, whether activity collapses,
                              survival so far
  all published records       all of the above: the bound
  + true violation history    every past quarter's true violating flag (no department has it)

The oracle ratio at 5% is the true hit rate of the top 5% over the oracle's, on the enterprises
registered on the as-of date, as in `regulens train`'s report and bench_oracle_ceiling.py.

Where the bound is not exact it errs upwards, so "no model can do better" stays true:
- the non-`z` log-odds of the window's second quarter include a repeat-offender penalty that an
  inspection inside the window may impose (about 120 of 14,000 firms); a regulator on the as-of
  date could not know it. A review that modelled it instead measured the bound 0.001 to 0.003 lower.
- it ranks the enterprises of the ground truth registered on the as-of date (14,080 on
  2025-07-01); the profile the model is scored on has 14,158 (firms deregistered in July, and a
  few whose exit record was quarantined), a difference of 4 firms in the top 5%.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from scipy.stats import norm, poisson

from models.evaluation import top_share
from pipelines.lake import table_glob
from pipelines.settings import Settings, load_settings
from pipelines.synthetic.activity import (
    GRADE_FLOORS,
    GRADE_NOISE,
    VISIBLE_NOISE,
    VISIBLE_WEIGHT,
    grade_score_mean,
    on_time_probability,
)
from pipelines.synthetic.flow import timeline_of
from pipelines.synthetic.population import EXIT_DELAY_MONTHS, LOGIT, collapse_probability, exit_hazard, sigmoid
from pipelines.synthetic.registry import (
    EVENT_HISTORY_DAYS,
    LEGACY_LISTING_REASON,
    court_case_rate,
    honour_rate,
    legacy_listing_probability,
    legal_rep_change_rate,
    quality_failure_probability,
    sampling_quarter,
)
from pipelines.synthetic.spec import CitySpec
from pipelines.synthetic.supervision import complaint_mean, complaint_rate, pair_detection

SHARE = 0.05
GRID = np.linspace(-5.0, 5.0, 201)  # values of z
VISIBLE_GRID = np.linspace(-5.0, 5.0, 121)  # values of the department-visible disposition
TINY = 1e-300


def truth_table(settings: Settings, name: str) -> pd.DataFrame:
    return duckdb.execute(f"SELECT * FROM read_parquet('{settings.ground_truth_dir / name}/*.parquet')").df()


def generated_weights(settings: Settings) -> tuple[dict[str, float], str]:
    """The log-odds weights the city was generated with, and where they come from: the city's
    ground_truth/logit.json, or, for a city generated before that file existed, the code's LOGIT
    (right only if the weights have not changed since)."""
    path = settings.ground_truth_dir / "logit.json"
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))["weights"], str(path)
    return dict(LOGIT), "pipelines.synthetic.population.LOGIT (the city has no ground_truth/logit.json)"


def bronze(settings: Settings, source: str, where: str, as_of: dt.date) -> pd.DataFrame:
    """A bronze table's rows known before the as-of date."""
    try:
        files = table_glob(settings.lake_dir / "bronze" / source)
    except FileNotFoundError as error:
        raise SystemExit(f"{error} (`regulens ingest`)") from error
    sql = f"SELECT * FROM read_parquet('{files}') WHERE knowledge_date < ? AND ({where})"
    return duckdb.execute(sql, [as_of]).df()


def quarter_start(dates: pd.Series) -> pd.Series:
    d = pd.to_datetime(dates)
    return d.dt.to_period("Q").dt.start_time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-home", type=Path, default=Path("data"))
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2025, 7, 1))
    parser.add_argument("--horizon-days", type=int, default=180)
    args = parser.parse_args()
    if args.as_of.day != 1 or args.as_of.month not in (1, 4, 7, 10):
        parser.error(f"--as-of must be the first day of a quarter (the city's truth is quarterly), got {args.as_of}")
    started = time.perf_counter()
    settings = load_settings(None, data_home=args.data_home)
    if not (settings.ground_truth_dir / "violations").is_dir():
        raise SystemExit(f"{args.data_home}: no ground truth; this benchmark needs the synthetic city")
    spec = CitySpec.load(settings.city_spec)
    timeline = timeline_of(settings)
    as_of, end = pd.Timestamp(args.as_of), pd.Timestamp(args.as_of + dt.timedelta(days=args.horizon_days))

    # --- what the estimator is given: the truth's quarters, less z --------------------------------
    quarters = truth_table(settings, "violations")
    ahead = quarters[(quarters["quarter"] >= as_of) & (quarters["quarter"] < end)]
    if ahead.empty:
        raise SystemExit(f"no ground truth in the label window after {args.as_of}")
    # The enterprises registered on the as-of date, as in the profile that the model scores.
    year0 = int(str(timeline.start.astype("datetime64[Y]")))
    months_now = (as_of.year - year0) * 12 + as_of.month - 1
    ent = truth_table(settings, "enterprises").set_index("uscc")
    ent = ent[(ent["est_month"] < months_now) & (ent["exit_month"] > months_now) & ent.index.isin(ahead["uscc"])]
    firms = pd.Index(ent.index)
    quarters = quarters[quarters["uscc"].isin(firms)].reset_index(drop=True)
    ahead = ahead[ahead["uscc"].isin(firms)]
    row = firms.get_indexer(quarters["uscc"])
    z_true = ent["z"].to_numpy()[row]
    prop = quarters["propensity"].to_numpy()
    weights, weights_source = generated_weights(settings)
    z_weight = weights["z"]
    rest = np.log(prop / (1 - prop)) - z_weight * z_true  # every part of the log-odds but z
    p = sigmoid(rest[:, None] + z_weight * GRID[None, :])  # quarter x grid: propensity given z
    past = (quarters["quarter"] < as_of).to_numpy()
    window = ~past & (quarters["quarter"] < end).to_numpy()

    def per_firm(loglik: np.ndarray, rows: np.ndarray) -> np.ndarray:
        out = np.zeros((len(firms), len(GRID)))
        np.add.at(out, rows, loglik)
        return out

    # --- complaints and inspections, quarter by quarter --------------------------------------------
    links = truth_table(settings, "complaint_entities")
    complaints = bronze(settings, "complaints", "received_date IS NOT NULL", args.as_of)
    complaints = complaints.merge(links, on="complaint_id")
    complaints = complaints[complaints["true_uscc"].isin(firms)]
    key = pd.MultiIndex.from_arrays([quarters["uscc"], quarters["quarter"]])
    counts = (
        complaints.groupby(["true_uscc", quarter_start(complaints["received_date"])])
        .size()
        .reindex(key, fill_value=0)
        .to_numpy()
    )
    industry = np.array([i.code for i in spec.industries])[ent["industry_idx"].to_numpy()]
    rate = complaint_rate(industry, ent["scale"].to_numpy())[row]
    seen_if = {v: poisson.pmf(counts, complaint_mean(rate, np.full(len(rate), v))) for v in (0, 1)}
    detection = truth_table(settings, "inspectors").set_index("inspector_id")["detection_rate"]
    insp = bronze(settings, "inspections", "inspection_date IS NOT NULL", args.as_of)
    insp = insp[insp["uscc"].isin(firms)].copy()
    d = pair_detection(*(detection.reindex(insp[c]).to_numpy() for c in ("inspector_1", "inspector_2")))
    found = insp["violation_found"].astype(bool).to_numpy()
    insp["if_violating"], insp["if_clean"] = np.where(found, d, 1 - d), np.where(found, 0.0, 1.0)
    outcome = (
        insp.groupby(["uscc", quarter_start(insp["inspection_date"])])[["if_violating", "if_clean"]]
        .prod()
        .reindex(key, fill_value=1.0)
    )
    mixture = (
        p * (seen_if[1] * outcome["if_violating"].to_numpy())[:, None]
        + (1 - p) * (seen_if[0] * outcome["if_clean"].to_numpy())[:, None]
    )
    complaints_inspections = per_firm(np.log(np.maximum(mixture[past], TINY)), row[past])
    violated = quarters["violating"].to_numpy()[:, None]
    true_history = per_firm(np.log(np.where(violated, p, 1 - p))[past], row[past])

    # --- annual-report filing and tax credit grades, through the visible disposition ----------------
    shell = ent["shell"].to_numpy().astype(float)
    est, exit_m, collapse_m = (ent[c].to_numpy() for c in ("est_month", "exit_month", "collapse_month"))
    company = ent["type_code"].to_numpy() == "91"
    on_time = bronze(settings, "annual_reports", "filed_on_time", args.as_of)
    grades = bronze(settings, "tax_credit", "credit_grade IS NOT NULL", args.as_of)
    grades = grades.drop_duplicates(["uscc", "evaluation_year"])
    visible = np.zeros((len(firms), len(VISIBLE_GRID)))
    v = VISIBLE_GRID[None, :]
    floors = {**GRADE_FLOORS, "D": -np.inf}
    ceilings = dict(zip(floors, [np.inf, *GRADE_FLOORS.values()], strict=True))
    for y in range(timeline.n_months // 12):
        year_end = (y + 1) * 12
        if pd.Timestamp(f"{year0 + y + 1}-07-01") > as_of:  # the filing deadline has not passed yet
            break
        collapsed = (collapse_m < year_end).astype(float)[:, None]
        expected = (est < year_end) & (exit_m > year_end + 6)
        filed = firms.isin(on_time.loc[on_time["report_year"] == year0 + y, "uscc"])
        pf = on_time_probability(v, collapsed, shell[:, None])
        visible += np.where(expected[:, None], np.log(np.where(filed[:, None], pf, 1 - pf)), 0.0)
        year = grades[grades["evaluation_year"] == year0 + y].set_index("uscc")["credit_grade"].reindex(firms)
        graded = company & (est < year_end) & (exit_m > year_end + 3) & year.notna().to_numpy()
        grade = year.fillna("D").to_numpy()
        lo = np.array([floors[g] for g in grade])
        hi = np.array([ceilings[g] for g in grade])
        young_m = (est > year_end - 12) & (grade == "M")  # new taxpayers are graded M unless D
        lo, hi = np.where(young_m, GRADE_FLOORS["C"], lo), np.where(young_m, np.inf, hi)
        mu = grade_score_mean(v, collapsed, shell[:, None])
        chance = norm.cdf((hi[:, None] - mu) / GRADE_NOISE) - norm.cdf((lo[:, None] - mu) / GRADE_NOISE)
        visible += np.where(graded[:, None], np.log(np.maximum(chance, TINY)), 0.0)
    # visible = VISIBLE_WEIGHT z + VISIBLE_NOISE e: from a likelihood over the visible grid to one over z
    kernel = norm.pdf((VISIBLE_GRID[:, None] - VISIBLE_WEIGHT * GRID[None, :]) / VISIBLE_NOISE)
    filings_grades = np.log(np.maximum(np.exp(visible - visible.max(1, keepdims=True)) @ kernel, TINY))

    # --- direct traces of z ------------------------------------------------------------------------
    z = GRID[None, :]
    # A firm that never collapses carries its exit month as its collapse month.
    collapses = collapse_m < exit_m
    pc = collapse_probability(shell[:, None], z)
    direct = np.log(np.where(collapses[:, None], pc, 1 - pc))
    survived = np.maximum(months_now - np.maximum(est, 0) - EXIT_DELAY_MONTHS, 0)  # exit = start + geometric + delay
    direct += survived[:, None] * np.log1p(-np.minimum(exit_hazard(ent["type_code"].to_numpy()[:, None], z), 0.99))
    starts = timeline.month_starts
    registered = bronze(settings, "registration", "established_date IS NOT NULL", args.as_of)
    established = registered.drop_duplicates("uscc").set_index("uscc")["established_date"].reindex(firms)
    month_only = (timeline.start.astype("datetime64[M]") + est).astype("datetime64[D]") + 14
    est_day = np.where(established.isna(), month_only, established.to_numpy().astype("datetime64[D]"))

    def exposure_years(earliest: np.datetime64) -> np.ndarray:
        """Years alive from max(established, earliest) to min(exit, as-of): the generator's event span."""
        begin = np.maximum(est_day, earliest)
        alive_end = np.maximum(starts[np.minimum(exit_m, timeline.n_months)], begin)
        return np.maximum((np.minimum(alive_end, np.datetime64(args.as_of)) - begin).astype(int), 0)[:, None] / 365.25

    def poisson_trace(source: str, where: str, yearly: np.ndarray, years: np.ndarray) -> np.ndarray:
        seen = bronze(settings, source, where, args.as_of)
        n = np.bincount(firms.get_indexer(seen.loc[seen["uscc"].isin(firms), "uscc"]), minlength=len(firms))
        mean = yearly * years
        return np.where(mean > 0, n[:, None] * np.log(mean + TINY) - mean, 0.0)

    # The generator's `collapsed_ever` (collapse month inside the window) also marks firms that exit in it.
    collapsed_ever = (collapse_m < timeline.n_months)[:, None]
    since_window = exposure_years(starts[0])  # court cases and honours start with the window
    direct += poisson_trace("court_enforcement", "TRUE", court_case_rate(z, collapsed_ever), since_window)
    direct += poisson_trace("honours", "TRUE", honour_rate(company[:, None], z, collapsed_ever), since_window)
    legal_rep = "change_item = '法定代表人变更'"
    direct += poisson_trace(
        "registration_changes",
        legal_rep,
        legal_rep_change_rate(shell[:, None], z),
        exposure_years(starts[0] - EVENT_HISTORY_DAYS),
    )
    listed = bronze(settings, "serious_dishonesty", f"reason = '{LEGACY_LISTING_REASON}'", args.as_of)
    chance = legacy_listing_probability(z, est[:, None])
    was_listed = firms.isin(listed["uscc"])[:, None]
    direct += np.log(np.maximum(np.where(was_listed, chance, 1 - chance), TINY))
    samples = bronze(settings, "quality_sampling", "sampling_date IS NOT NULL", args.as_of)
    samples = samples[samples["uscc"].isin(firms)]
    q = np.clip(sampling_quarter((pd.to_datetime(samples["sampling_date"]) - pd.Timestamp(starts[0])).dt.days), 0, None)
    at = key.get_indexer(pd.MultiIndex.from_arrays([samples["uscc"], pd.to_datetime(starts[q.to_numpy() * 3])]))
    failed = (samples["result"] == "不合格").to_numpy()[at >= 0]
    pfail = quality_failure_probability(p[at[at >= 0]])
    direct += per_firm(np.log(np.where(failed[:, None], pfail, 1 - pfail)), firms.get_indexer(samples["uscc"])[at >= 0])

    # --- rank by the posterior mean propensity over the label window --------------------------------
    n_window = np.bincount(row[window], minlength=len(firms))
    ahead_given_z = per_firm(p[window], row[window]) / np.maximum(n_window, 1)[:, None]
    truth = ahead.groupby("uscc")["propensity"].mean().reindex(firms).to_numpy()
    oracle = truth[top_share(truth, SHARE)].mean()
    prior = -0.5 * GRID[None, :] ** 2

    def report(variant: str, loglik: np.ndarray | float) -> None:
        post = prior + loglik
        w = np.exp(post - post.max(1, keepdims=True))
        score = (w * ahead_given_z).sum(1) / w.sum(1)
        print(
            json.dumps(
                {
                    "variant": variant,
                    "oracle_ratio_5pct": round(float(truth[top_share(score, SHARE)].mean() / oracle), 3),
                },
                ensure_ascii=False,
            ),
            flush=True,
        )

    published = complaints_inspections + filings_grades + direct
    print(
        json.dumps(
            {
                "as_of": str(args.as_of),
                "horizon_days": args.horizon_days,
                "enterprises": len(firms),
                "complaints": len(complaints),
                "inspections": len(insp),
                "samples": len(samples),
                "z_weight": z_weight,
                "weights_source": weights_source,
            }
        ),
        flush=True,
    )
    report("prior only (every hidden state but z)", 0.0)
    report("complaints + inspections", complaints_inspections)
    report("filings + tax grades", filings_grades)
    report("direct traces", direct)
    report("all published records (the bound)", published)
    report("true violation history instead of complaints + inspections", filings_grades + direct + true_history)
    print(json.dumps({"seconds": round(time.perf_counter() - started, 1)}), flush=True)


if __name__ == "__main__":
    main()
