"""How far can a model on these profiles get towards the oracle? Issue 4's 0.9 target, measured.

    .venv/bin/python tests/benchmarks/bench_oracle_ceiling.py [--data-home data] [--model-ref champion]
        [--test-date DATE]

On `regulens train`'s holdout fold (same training, validation and test dates), every variant is
scored on the test date's registered enterprises against the synthetic city's ground truth:
the oracle ratio at 5% (true hit rate of the top 5% / that of the top 5% by the truth) and the
Spearman correlation with the true propensity. The variants give the model more than a
regulator has, one step at a time, so the gap to 0.9 can be split into its causes:

  labels as recorded   random-draw labels weighted 1/pi (what `regulens train` uses)
  + complaint outlook  the same, plus an auxiliary feature: a Poisson LightGBM fitted on every
                       enterprise to the complaints linked to it in the label window (labels
                       every enterprise has), predicted out of time
  + nine outlooks      the same for nine kinds of record that every enterprise can have in the
                       label window (RECORDS_AHEAD), each its own Poisson LightGBM on every candidate
  two-stage            every inspected row, complaint checks too, given the complaints ahead;
                       scored by averaging over the outlook (see two_stage below)
  every firm labelled  as if every enterprise had been inspected on every training date, with a
                       violation drawn from its true propensity (binary labels, no selection)
  fitted to the truth  a regression on the true propensity itself: the features' own ceiling

`--test-date` measures on an earlier as-of date instead, with the fold `regulens train` would build
for it. The short list was chosen on folds that tested on the dates just before the holdout, so
on those dates the 12-factor rows are slightly flattered; comparisons between rows still hold.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import duckdb
import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.stats import poisson, spearmanr

from models.evaluation import top_share
from models.labels import training_labels
from models.splits import fold_for, walk_forward
from models.violation import ViolationModel
from pipelines.lake import table_glob
from pipelines.modelling.data import available_as_of, ground_truth, load_catalogue, load_frame, risk_directions
from pipelines.modelling.scoring import load_model
from pipelines.modelling.train import TrainOptions, candidate_columns, fit_fold
from pipelines.settings import Settings, load_settings

SHARE = 0.05


# Records every enterprise can have in a label window, not only the inspected ones:
# name -> (bronze table, entity column, which rows count, risk direction of the count).
RECORDS_AHEAD = {
    "complaints": ("complaints", "entity_uscc", "TRUE", 1),
    "abnormal_listings": ("abnormal_list", "uscc", "TRUE", 1),
    "court_cases": ("court_enforcement", "uscc", "TRUE", 1),
    "failed_samples": ("quality_sampling", "uscc", "result <> '合格'", 1),
    "legal_rep_changes": ("registration_changes", "uscc", "change_item = '法定代表人变更'", 1),
    "late_reports": ("annual_reports", "uscc", "NOT filed_on_time", 1),
    "tax_grades_cd": ("tax_credit", "uscc", "credit_grade IN ('C', 'D')", 1),
    "tax_grades_a": ("tax_credit", "uscc", "credit_grade = 'A'", -1),
    "honours": ("honours", "uscc", "TRUE", -1),
}


def records_ahead(settings: Settings, dates: list[dt.date], horizon_days: int) -> pd.DataFrame:
    """Per enterprise and as-of date, how many of each RECORDS_AHEAD kind have a knowledge date in
    (as_of, as_of + horizon]; columns `ahead_<name>`, zero where there are none."""
    counts = []
    for name, (table, entity, condition, _) in RECORDS_AHEAD.items():
        try:
            files = table_glob(settings.lake_dir / "bronze" / table)
        except FileNotFoundError as error:
            raise SystemExit(f"{error} (`regulens ingest`)") from error
        sql = f"""
            WITH a AS (SELECT unnest(?::DATE[]) AS as_of)
            SELECT t.{entity} AS uscc, a.as_of, count(*) AS ahead_{name}
            FROM read_parquet('{files}') t, a
            WHERE t.{entity} IS NOT NULL AND ({condition})
              AND t.knowledge_date > a.as_of AND t.knowledge_date <= a.as_of + INTERVAL {horizon_days} DAY
            GROUP BY ALL"""
        counts.append(duckdb.execute(sql, [dates]).df().set_index(["uscc", "as_of"]))
    out = pd.concat(counts, axis=1).fillna(0.0).reset_index()
    out["as_of"] = pd.to_datetime(out["as_of"]).dt.date
    return out


def lgb_matrix(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    x = frame[columns].copy()
    for c in columns:
        if not pd.api.types.is_numeric_dtype(x[c]):
            x[c] = x[c].astype("category")
    return x


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-home", type=Path, default=Path("data"))
    parser.add_argument("--model-ref", default="champion", help="registered model whose short list is used")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--test-date", type=dt.date.fromisoformat, default=None,
                        help="an earlier profiled as-of date to measure on (default: the holdout)")
    args = parser.parse_args()
    settings = load_settings(None, data_home=args.data_home)
    catalogue = load_catalogue(settings)
    # `regulens train`'s options, each outlook held to the risk direction of its records.
    outlooks = {f"outlook_{name}": direction for name, (*_, direction) in RECORDS_AHEAD.items()}
    options = TrainOptions(directions=risk_directions(catalogue) | outlooks)
    horizon = options.horizon_days
    profiled = available_as_of(settings, horizon)
    _, fold = walk_forward(profiled, horizon, options.n_folds)
    if args.test_date is not None:
        earlier = fold_for(profiled, args.test_date, horizon) if args.test_date in profiled else None
        if earlier is None:
            raise SystemExit(f"--test-date {args.test_date}: expected a profiled as-of date with enough earlier "
                             f"dates for a fold; profiled: {', '.join(d.isoformat() for d in profiled)}")
        fold = earlier
    dates = sorted({*fold.train, fold.validation, fold.test})
    frame = load_frame(settings, dates, horizon)
    frame = frame.merge(records_ahead(settings, dates, horizon), on=["uscc", "as_of"], how="left")
    ahead = [f"ahead_{name}" for name in RECORDS_AHEAD]
    truth = np.zeros(len(frame))
    for d in dates:
        known = ground_truth(settings, d, horizon)
        if known is None:
            raise SystemExit(f"{args.data_home}: no ground truth for {d}; this benchmark needs the synthetic city")
        rows = (frame["as_of"] == d).to_numpy()
        truth[rows] = frame.loc[rows, "uscc"].map(known).fillna(0.0).to_numpy()
    rng = np.random.default_rng(args.seed)
    extra = pd.DataFrame(
        {
            **{column: frame.pop(column).fillna(0.0) for column in ahead},
            "truth": truth,
            "drawn_from_truth": (rng.random(len(frame)) < truth).astype(float),
            **dict.fromkeys(outlooks, np.nan),  # the auxiliary models' predictions, filled in below
        },
        index=frame.index,
    )
    frame = pd.concat([frame, extra], axis=1).copy()  # one block per dtype, not one per column

    candidates = candidate_columns(frame, catalogue)
    factors = load_model(settings, args.model_ref)[0].feature_names_
    train = frame[frame["as_of"].isin(fold.train)]
    valid = frame[frame["as_of"] == fold.validation]
    test = frame[frame["as_of"] == fold.test]
    truth = test["truth"].to_numpy()
    print(json.dumps({"fold": fold.describe(), "test_enterprises": len(test), "factors": len(factors),
                      "candidates": len(candidates)}), flush=True)

    def report(variant: str, columns: list[str], labels: int, score: np.ndarray, started: float) -> None:
        chosen, oracle = top_share(score, SHARE), top_share(truth, SHARE)
        print(json.dumps({
            "variant": variant, "columns": len(columns), "training_labels": labels,
            "oracle_ratio_5pct": round(float(truth[chosen].mean() / truth[oracle].mean()), 3),
            "truth_spearman": round(float(spearmanr(score, truth).statistic), 3),
            "seconds": round(time.perf_counter() - started, 1),
        }), flush=True)

    def recorded(variant: str, columns: list[str]) -> None:
        started = time.perf_counter()
        model = fit_fold(frame, fold, columns, options)[0]  # exactly as `regulens train` fits a fold
        labels = len(training_labels(train, options.label_policy).rows)
        # From `frame`, not `test`: the outlook columns are filled in on `frame` after the split.
        report(variant, columns, labels, model.decision_function(frame.loc[test.index, columns]), started)

    def every_firm(variant: str, columns: list[str]) -> None:
        started = time.perf_counter()
        monotone = {c: options.directions.get(c, 0) for c in columns} if options.directions else None
        model = ViolationModel(seed=options.seed, monotone=monotone).fit(
            train[columns], train["drawn_from_truth"].to_numpy(), None,
            eval_set=(valid[columns], valid["drawn_from_truth"].to_numpy(), None),
        )
        report(variant, columns, len(train), model.decision_function(test[columns]), started)

    def two_stage(variant: str, columns: list[str]) -> None:
        """Every inspected row, random draw or complaint check. Which firms a complaint check picks
        depends only on the complaints in each quarter, so given the complaints ahead the inspected
        rows are roughly a fair sample (roughly: `ahead_complaints` counts the linked complaints over
        the whole window). Stage 2 learns P(found | factors, complaints ahead) on all of them
        (unweighted), and scoring averages it over the outlook's Poisson for the complaints ahead."""
        started = time.perf_counter()
        with_ahead = [*columns, "ahead_complaints"]
        monotone = {c: options.directions.get(c, 0) for c in columns} | {"ahead_complaints": 1}
        tr, va = train[train["violation_found"].notna()], valid[valid["violation_found"].notna()]
        stage2 = ViolationModel(seed=options.seed, monotone=monotone).fit(
            tr[with_ahead], tr["violation_found"].to_numpy(dtype=float), None,
            eval_set=(va[with_ahead], va["violation_found"].to_numpy(dtype=float), None),
        )
        mu = frame.loc[test.index, "outlook_complaints"].to_numpy()
        x, score, most = test[with_ahead].copy(), np.zeros(len(test)), 12
        for k in range(most + 1):
            x["ahead_complaints"] = float(k)
            chance = poisson.pmf(k, mu) if k < most else poisson.sf(most - 1, mu)
            score += chance * stage2.predict_proba(x)[:, 1]
        report(variant, with_ahead, len(tr), score, started)

    def booster(objective: str, target: str) -> lgb.Booster:
        params = {"objective": objective, "learning_rate": 0.1, "num_leaves": 31, "min_child_samples": 50,
                  "feature_fraction": 0.2, "max_bin": 63, "seed": options.seed, "num_threads": 2, "verbose": -1}
        return lgb.train(
            params, lgb.Dataset(lgb_matrix(train, candidates), train[target]), 600,
            valid_sets=[lgb.Dataset(lgb_matrix(valid, candidates), valid[target])],
            callbacks=[lgb.early_stopping(30, verbose=False)],
        )

    recorded("12 factors, labels as recorded (regulens train)", factors)
    recorded("all candidates, labels as recorded", candidates)
    started = time.perf_counter()
    frame["outlook_complaints"] = booster("poisson", "ahead_complaints").predict(lgb_matrix(frame, candidates))
    report("complaint outlook alone (auxiliary model)", candidates, len(train),
           frame.loc[test.index, "outlook_complaints"].to_numpy(), started)
    recorded("12 factors + complaint outlook, labels as recorded", [*factors, "outlook_complaints"])
    started = time.perf_counter()
    for name in RECORDS_AHEAD:
        if name != "complaints":
            frame[f"outlook_{name}"] = booster("poisson", f"ahead_{name}").predict(lgb_matrix(frame, candidates))
    print(json.dumps({"other_eight_outlooks_fitted_seconds": round(time.perf_counter() - started, 1)}), flush=True)
    recorded("12 factors + nine outlooks, labels as recorded", [*factors, *outlooks])
    two_stage("12 factors, two-stage: every inspected row given the complaints ahead", factors)
    every_firm("12 factors, every firm labelled from the truth", factors)
    every_firm("all candidates, every firm labelled from the truth", candidates)
    started = time.perf_counter()
    report("all candidates, fitted to the true propensity", candidates, len(train),
           booster("regression", "truth").predict(lgb_matrix(test, candidates)), started)


if __name__ == "__main__":
    main()
