"""A year of 双随机 cycles on the synthetic city under five draw policies, retraining in between.

Every cycle (a month), every policy inspects the same number of firms (a share of the list) and
records what the inspections found; the policy's model is then retrained on all of *its own*
recorded results so far, each weighted by 1/π of the design that drew it. Policies:

  uniform      π = n/N for every listed firm
  class_ratio  π ∝ the credit class's ratio (Henan 2021, A 1% B 2% C 10% D 30%), scaled to n
  risk         π ∝ model probability, floor ≤ π ≤ cap (every listed firm can be drawn)
  blend        λ = 0.5 of the class design + 0.5 of the risk design (design.stratum_probabilities)
  top_k        the n highest model scores, no floor: π = 1 for them, 0 for the rest

Outcome of an inspection. Firm i inspected in cycle t finds a violation iff u_ti < p_iq · d, where
p_iq is the firm's true propensity in the quarter q holding the cycle, d a detection rate (the
mean hidden inspector detection rate) and u_ti ~ U(0, 1) drawn once per cycle from the seed
(seed, t). The uniforms are shared by all policies (common random numbers): two policies that
inspect the same firm in the same cycle see the same result, so their differences come from whom
they inspect, not from the luck of the coin. The draws have their own seed per (policy, cycle).

Truth. The list's violation rate in cycle t is mean_i(p_iq · d) over the listed firms: the
expected share an inspection of a uniformly chosen listed firm finds. The Hájek estimate from a
floored design targets exactly that. Top-k has π = 0 for most firms, so it has no design-based
estimate; its sample hit rate is shown instead (it is not an estimate of the list's rate).

Models. Every policy starts from one model trained on the historical random-draw labels (1/π
weighted, early-stopped and calibrated on the latest labelled as-of date before the year). Between
cycles a policy's model is refitted from scratch on its own results only (not the history), with
a fixed number of rounds and the catalogue's monotone risk directions; the features of a result
are the profile at the latest as-of date on or before its month (profiles are quarterly, so a
firm's features, and top-k's choice, stay the same for the three months of a quarter). Simulated
inspections do not feed back into the profiles (e.g. `inspections_violation_found_found_count_all`
keeps its historical value).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import duckdb
import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from models.labels import LabelPolicy, training_labels
from models.violation import ViolationModel
from pipelines.draw.design import bounded_proportional, stratum_probabilities
from pipelines.draw.estimate import violation_rate
from pipelines.draw.policy import HENAN_2021_RATIOS, DrawPolicy
from pipelines.draw.sample import systematic_pps
from pipelines.grading import load_scorecard
from pipelines.modelling.data import available_as_of, load_catalogue, load_frame, risk_directions
from pipelines.modelling.report import grade_risk
from pipelines.settings import Settings

POLICIES = ("uniform", "class_ratio", "risk", "blend", "top_k")
FLOORED = ("uniform", "class_ratio", "risk", "blend")

Scorer = Callable[[pd.DataFrame], np.ndarray]  # features -> P(violation found), one per row
Fitter = Callable[[pd.DataFrame, np.ndarray, np.ndarray], Scorer]  # (X, y, weight) -> scorer


@dataclass(frozen=True)
class Cycle:
    """One inspection cycle's list: the features the model sees (the profile at the nearest
    earlier as-of date), each firm's credit grade, and its true chance that an inspection finds a
    violation (propensity × detection)."""

    label: str
    as_of: dt.date
    features: pd.DataFrame
    grade: np.ndarray
    hit_probability: np.ndarray
    ids: np.ndarray | None = None  # firm identifiers (uscc), to count distinct firms inspected

    def __post_init__(self) -> None:
        n = len(self.features)
        if len(self.grade) != n or len(self.hit_probability) != n:
            raise ValueError(
                f"cycle {self.label}: features, grade and hit_probability expected {n} rows each, got "
                f"{len(self.grade)} and {len(self.hit_probability)}"
            )
        bad = sorted({str(g) for g in self.grade} - set(HENAN_2021_RATIOS))
        if bad:
            raise ValueError(f"cycle {self.label}: grades expected in A-D, got {bad}")


@dataclass(frozen=True)
class SimulationConfig:
    capacity_share: float = 0.02  # inspections per cycle, as a share of the listed firms
    floor_share: float = 0.25  # floor = floor_share · n/N (risk and blend); a quarter of uniform
    cap: float = 0.5  # no firm above a coin flip per cycle
    blend_weight: float = 0.5
    risk_exponent: float = 1.0  # π ∝ probability ** exponent (risk and blend)
    class_ratios: dict[str, float] = field(default_factory=lambda: dict(HENAN_2021_RATIOS))
    policies: tuple[str, ...] = POLICIES
    seed: int = 20240117


def capacity_of(listed: int, share: float) -> int:
    """Inspections in a cycle: the share of the list, rounded, at least one."""
    return max(1, int(round(share * listed)))


def design_pi(
    policy: str, n: int, risk: np.ndarray, grade: np.ndarray, config: SimulationConfig
) -> np.ndarray:
    """Inclusion probabilities of one cycle's design, Σπ = n (top-k: 1 for the n top scores)."""
    size = len(risk)
    if policy == "uniform":
        return np.full(size, n / size)
    if policy == "top_k":
        return top_k_mask(risk, n).astype(np.float64)
    floor = config.floor_share * n / size
    by_class = np.array([config.class_ratios[str(g)] for g in grade], dtype=np.float64)
    if policy == "class_ratio":
        return bounded_proportional(by_class, n, 0.0, config.cap)
    if policy not in ("risk", "blend"):
        raise ValueError(f"policy expected one of {POLICIES}, got {policy!r}")
    draw_policy = DrawPolicy(
        kind=policy, class_ratios=config.class_ratios, floor=floor, cap=config.cap, blend_weight=config.blend_weight
    )
    by_risk = np.asarray(risk, dtype=np.float64) ** config.risk_exponent
    pi, _ = stratum_probabilities(by_class, by_risk, n, draw_policy, "sim")
    return pi


def top_k_mask(score: np.ndarray, k: int) -> np.ndarray:
    """The k highest scores (ties broken by position, so the choice is deterministic)."""
    order = np.lexsort((np.arange(len(score)), -np.asarray(score, dtype=float)))
    mask = np.zeros(len(score), dtype=bool)
    mask[order[:k]] = True
    return mask


def draw(pi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Positions inspected: random systematic πps (a 0/1 π, as top-k's, selects exactly its 1s)."""
    return systematic_pps(pi, rng)


def ranking_quality(score: np.ndarray, truth: np.ndarray, n: int) -> dict[str, float]:
    """How well the model ranks the whole list against the truth: Spearman's ρ, and the oracle
    ratio at capacity n (true hits in the model's top n ÷ true hits in the truth's top n)."""
    rho = float(spearmanr(score, truth).statistic)
    oracle = float(np.sort(truth)[::-1][:n].sum())
    return {"spearman": rho, "oracle_ratio": float(truth[top_k_mask(score, n)].sum()) / oracle if oracle else np.nan}


def outcome_uniforms(seed: int, cycle: int, size: int) -> np.ndarray:
    """The cycle's shared coin flips u_ti (common random numbers across policies)."""
    return np.random.default_rng([seed, cycle, 0]).random(size)


def draw_rng(seed: int, policy: str, cycle: int) -> np.random.Generator:
    return np.random.default_rng([seed, cycle, 1 + POLICIES.index(policy)])


@dataclass
class _Recorded:
    """A policy's recorded results so far: features, found (0/1) and 1/π of each inspection."""

    features: list[pd.DataFrame] = field(default_factory=list)
    found: list[np.ndarray] = field(default_factory=list)
    weight: list[np.ndarray] = field(default_factory=list)

    def add(self, features: pd.DataFrame, found: np.ndarray, pi: np.ndarray) -> None:
        self.features.append(features)
        self.found.append(found.astype(np.float64))
        self.weight.append(1.0 / pi)

    def training_set(self) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        return (
            pd.concat(self.features, ignore_index=True),
            np.concatenate(self.found),
            np.concatenate(self.weight),
        )


@dataclass(frozen=True)
class CycleResult:
    policy: str
    cycle: int
    label: str
    as_of: str
    listed: int
    inspected: int
    violations: int
    hit_rate: float
    expected_hit_rate: float  # Σ π · true hit probability / n: the design's hit rate without the coins' luck
    truth_rate: float
    hajek: float  # NaN for top-k (no design-based estimate)
    hajek_lo: float
    hajek_hi: float
    covered: bool | None
    spearman: float
    oracle_ratio: float
    min_pi: float
    new_firms: int  # inspected firms this policy had not inspected in an earlier cycle
    model_rows: int  # labels the model used in this cycle was trained on (0 = the initial model)

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def simulate(
    cycles: Sequence[Cycle],
    initial: Scorer,
    fit: Fitter,
    config: SimulationConfig,
    on_cycle: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Run every policy through the cycles; one row (CycleResult) per policy and cycle.

    Every policy starts from `initial`; after each cycle (but the last) its scorer is replaced
    by `fit` on all of its own recorded results, weighted by 1/π. A training set with one class
    only keeps the previous scorer (LightGBM cannot learn from it)."""
    scorers: dict[str, Scorer] = {p: initial for p in config.policies}
    trained_on = dict.fromkeys(config.policies, 0)
    recorded = {p: _Recorded() for p in config.policies}
    inspected_before: dict[str, set[object]] = {p: set() for p in config.policies}
    rows = []
    for t, cycle in enumerate(cycles):
        size = len(cycle.features)
        n = capacity_of(size, config.capacity_share)
        found_if_inspected = outcome_uniforms(config.seed, t, size) < cycle.hit_probability
        truth_rate = float(np.mean(cycle.hit_probability))
        for policy in config.policies:
            risk = np.asarray(scorers[policy](cycle.features), dtype=np.float64)
            pi = design_pi(policy, n, risk, cycle.grade, config)
            chosen = draw(pi, draw_rng(config.seed, policy, t))
            found = found_if_inspected[chosen]
            ids = set((cycle.ids if cycle.ids is not None else np.arange(size))[chosen].tolist())
            new = len(ids - inspected_before[policy])
            inspected_before[policy] |= ids
            rows.append(_result(policy, t, cycle, found, pi, chosen, truth_rate, risk, n, new, trained_on[policy]))
            recorded[policy].add(cycle.features.iloc[chosen], found, pi[chosen])
            if t + 1 < len(cycles):
                X, y, w = recorded[policy].training_set()
                if y.min() < y.max():
                    scorers[policy], trained_on[policy] = fit(X, y, w), len(y)
        if on_cycle is not None:
            on_cycle(cycle.label)
    return pd.DataFrame([r.to_json() for r in rows])


def _result(
    policy: str,
    t: int,
    cycle: Cycle,
    found: np.ndarray,
    pi: np.ndarray,
    chosen: np.ndarray,
    truth_rate: float,
    risk: np.ndarray,
    n: int,
    new: int,
    model_rows: int,
) -> CycleResult:
    hajek, lo, hi, covered = np.nan, np.nan, np.nan, None
    if policy in FLOORED:
        est = violation_rate(found, pi[chosen], len(pi))
        hajek, (lo, hi) = est.hajek, est.hajek_ci
        covered = bool(lo <= truth_rate <= hi)
    quality = ranking_quality(risk, cycle.hit_probability, n)
    return CycleResult(
        policy=policy,
        cycle=t + 1,
        label=cycle.label,
        as_of=cycle.as_of.isoformat(),
        listed=len(pi),
        inspected=len(chosen),
        violations=int(found.sum()),
        hit_rate=float(found.mean()) if len(found) else np.nan,
        expected_hit_rate=float(pi @ cycle.hit_probability / pi.sum()),
        truth_rate=truth_rate,
        hajek=float(hajek),
        hajek_lo=float(lo),
        hajek_hi=float(hi),
        covered=covered,
        spearman=quality["spearman"],
        oracle_ratio=quality["oracle_ratio"],
        min_pi=float(pi.min()),
        new_firms=new,
        model_rows=model_rows,
    )


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """One row per policy over the year: inspections, violations, hit rate, the inspections needed
    to find as many violations as uniform random did (at the policy's yearly hit rate) and the
    reduction that means, CI coverage of the truth, and the model's ranking quality first → last."""
    by = results.groupby("policy", sort=False)
    out = pd.DataFrame(
        {
            "inspections": by["inspected"].sum(),
            "violations": by["violations"].sum(),
            "expected_hit_rate": by["expected_hit_rate"].mean(),
            "spearman_first": by["spearman"].first(),
            "spearman_last": by["spearman"].last(),
            "oracle_first": by["oracle_ratio"].first(),
            "oracle_last": by["oracle_ratio"].last(),
            "ci_covered": by["covered"].apply(lambda s: int(s.dropna().astype(bool).sum()) if s.notna().any() else -1),
            "cycles": by.size(),
            "distinct_firms": by["new_firms"].sum(),
            "mean_abs_error": results.assign(err=(results["hajek"] - results["truth_rate"]).abs())
            .groupby("policy", sort=False)["err"]
            .mean(),
        }
    )
    out["hit_rate"] = out["violations"] / out["inspections"]
    if "uniform" in out.index:
        target = float(out["violations"].to_dict()["uniform"])
        out["needed_for_uniform_violations"] = target / out["hit_rate"]
        uniform_inspections = float(out["inspections"].to_dict()["uniform"])
        out["reduction_vs_uniform"] = 1.0 - out["needed_for_uniform_violations"] / uniform_inspections
    return out.reset_index()


# --- The demo city from the lake ---------------------------------------------------------------

FACTORS = (
    "noncash_contribution_share",
    "industry_code",
    "inspections_violation_found_found_count_all",
    "annual_reports_revenue_wan_std_all",
    "tax_payments_days_since_first",
    "complaints_days_since_last",
    "tax_payments_amount_yuan_mean_ratio_365d_730d",
    "registration_changes_change_item_legal_rep_count_all",
    "activity_collapse",
    "paid_capital_wan_total",
    "social_insurance_insured_headcount_std_730d",
    "complaints_count_all",
)
HORIZON_DAYS = 180
RETRAIN_ROUNDS = 200  # no later labels to early-stop on inside the year: a fixed, modest count
# One LightGBM thread: on small training sets two OpenMP threads were ~1000x slower on the 2-core box.


def month_starts(start: dt.date, count: int) -> list[dt.date]:
    return [dt.date(start.year + (start.month - 1 + k) // 12, (start.month - 1 + k) % 12 + 1, 1) for k in range(count)]


def quarter_of(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def load_city(
    settings: Settings, start: dt.date, months: int, detection: float | None = None, factors: Sequence[str] = FACTORS
) -> tuple[list[Cycle], pd.DataFrame, float]:
    """(cycles, historical labelled frame, detection rate) for a year starting at `start`.

    Each month's list is the registered firms of the latest profiled as-of date on or before it;
    the history is every as-of date whose 180-day label window ends before `start` (so the
    initial model never sees the simulated months). A listed firm without a ground-truth row in
    the quarter (it left the register after the as-of date) has propensity 0."""
    dates = available_as_of(settings, HORIZON_DAYS)
    history = [d for d in dates if d + dt.timedelta(days=HORIZON_DAYS) <= start]
    if len(history) < 2:
        raise ValueError(f"simulation from {start}: expected at least 2 labelled as-of dates before it, got {history}")
    card = load_scorecard(settings.grading.scorecard)
    columns = list(dict.fromkeys([*factors, *card.spec.features]))
    labelled = load_frame(settings, history, HORIZON_DAYS, labelled_only=True, columns=list(factors))
    if detection is None:
        rates = pd.read_parquet(settings.ground_truth_dir / "inspectors", columns=["detection_rate"])
        detection = float(rates["detection_rate"].mean())
    truth = duckdb.execute(
        f"SELECT uscc, quarter, propensity FROM read_parquet('{settings.ground_truth_dir / 'violations'}/*.parquet') "
        f"WHERE quarter >= TIMESTAMP '{quarter_of(start)}'"
    ).df()
    truth["quarter"] = pd.to_datetime(truth["quarter"]).dt.date
    lists: dict[dt.date, tuple[pd.DataFrame, np.ndarray]] = {}
    cycles = []
    for month in month_starts(start, months):
        as_of = max((d for d in dates if d <= month), default=None)
        if as_of is None:
            raise ValueError(f"no profile on or before {month}")
        if as_of not in lists:
            frame = load_frame(settings, [as_of], HORIZON_DAYS, columns=columns)
            lists[as_of] = (frame, grade_risk(card, frame)[0])
        frame, grades = lists[as_of]
        q = truth[truth["quarter"] == quarter_of(month)].set_index("uscc")["propensity"]
        if q.empty:
            raise ValueError(f"no ground truth for the quarter of {month}")
        p = frame["uscc"].map(q).fillna(0.0).to_numpy(dtype=np.float64)
        label = month.strftime("%Y-%m")
        cycles.append(Cycle(label, as_of, frame[list(factors)], grades, p * detection, frame["uscc"].to_numpy()))
    return cycles, labelled, detection


def monotone_directions(settings: Settings, factors: Sequence[str] = FACTORS) -> dict[str, int]:
    """Each factor's catalogue risk direction (+1 more is riskier), as the trained model uses."""
    return risk_directions(load_catalogue(settings), factors)


def initial_model(
    labelled: pd.DataFrame, monotone: dict[str, int], factors: Sequence[str] = FACTORS, seed: int = 20240117
) -> ViolationModel:
    """The model every policy starts from: random-draw labels weighted by 1/π (RANDOM_IPW) of the
    historical as-of dates, early-stopped and calibrated on the latest of them."""
    last = max(labelled["as_of"])
    train_rows, valid_rows = labelled[labelled["as_of"] < last], labelled[labelled["as_of"] == last]
    lt = training_labels(train_rows, LabelPolicy.RANDOM_IPW)
    lv = training_labels(valid_rows, LabelPolicy.RANDOM_IPW)
    cols = list(factors)
    return ViolationModel(seed=seed, monotone=monotone, num_threads=1).fit(
        train_rows.iloc[lt.rows][cols],
        lt.target,
        lt.weight,
        eval_set=(valid_rows.iloc[lv.rows][cols], lv.target, lv.weight),
    )


def model_fitter(monotone: dict[str, int], seed: int = 20240117, rounds: int = RETRAIN_ROUNDS) -> Fitter:
    """Retraining between cycles: the same model, on a policy's own results weighted by 1/π."""

    def fit(X: pd.DataFrame, y: np.ndarray, weight: np.ndarray) -> Scorer:
        model = ViolationModel(seed=seed, monotone=monotone, max_rounds=rounds, num_threads=1).fit(X, y, weight)
        return probability(model)

    return fit


def probability(model: ViolationModel) -> Scorer:
    return lambda X: model.predict_proba(X)[:, 1]
