"""`regulens grade`: credit grades for every enterprise, and fitting the learned scorecard.

Grades land in `lake/grades/<card>/as_of=YYYY-MM-DD/<run>/grades.parquet` (`<card>` is `default`
for the configured scorecard, `learned` for the current learned one, else the YAML file's stem),
published atomically; each row records the scorecard version that produced it. A fitted learned
scorecard lands in `scorecards/learned/<run>/` under the data home (learned.yaml + fit.json),
published the same way.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.metrics import roc_auc_score

from features.profile import all_features
from features.spec import Feature
from models.scorecard.engine import Scorecard, with_labels
from models.scorecard.learned import CANDIDATES, LearnedScorecard
from models.scorecard.ratios import read_ratio_tables
from models.scorecard.schema import read_spec, write_spec
from pipelines.lake import current_version, new_version, publish_version
from pipelines.profiles.flow import labels_dir, read_profile
from pipelines.settings import Settings
from pipelines.storage import write_parquet_atomic, write_text_atomic


def enterprise_catalogue() -> dict[str, Feature]:
    return {f.name: f for f in all_features()}


def learned_dir(settings: Settings) -> Path:
    return settings.data_home / "scorecards" / "learned"


def resolve_scorecard(settings: Settings, path: Path | None, learned: bool) -> tuple[str, Path]:
    """(card name, YAML path): the configured default, the current learned card, or a given file."""
    if learned:
        version = current_version(learned_dir(settings))
        if version is None:
            raise FileNotFoundError("no learned scorecard yet; run `regulens grade fit --train-as-of DATE` first")
        return "learned", version / "learned.yaml"
    if path is None:
        return "default", settings.grading.scorecard
    return path.stem, path


def load_scorecard(path: Path) -> Scorecard:
    """The scorecard at `path`, its features checked against the profile catalogue."""
    catalogue = enterprise_catalogue()
    return Scorecard(with_labels(read_spec(path, catalogue), catalogue))


def read_features(settings: Settings, as_of: dt.date, columns: list[str]) -> pd.DataFrame:
    """Only the profile columns a scorecard reads (plus uscc), for speed."""
    return pd.read_parquet(read_profile(settings, as_of), columns=["uscc", *columns])


@dataclass
class GradeResult:
    as_of: dt.date
    card: str
    version: str
    enterprises: int
    graded: int
    excluded: int
    by_grade: dict[str, int]
    overrides: dict[str, int]
    ratio_table: str
    expected_draws: dict[str, tuple[float, float]]
    path: Path
    mean_score: float

    def to_json(self) -> dict[str, object]:
        return {
            "as_of": self.as_of.isoformat(),
            "scorecard": self.card,
            "scorecard_version": self.version,
            "enterprises": self.enterprises,
            "graded": self.graded,
            "excluded": self.excluded,
            "by_grade": self.by_grade,
            "share_by_grade": {g: round(n / max(self.graded, 1), 4) for g, n in self.by_grade.items()},
            "overrides": self.overrides,
            "ratio_table": self.ratio_table,
            "expected_draws": {g: [round(lo, 1), round(hi, 1)] for g, (lo, hi) in self.expected_draws.items()},
            "mean_score": round(self.mean_score, 2),
            "path": str(self.path),
        }


def grade_enterprises(
    settings: Settings, as_of: dt.date, scorecard: Path | None = None, learned: bool = False
) -> GradeResult:
    """Score and grade every enterprise in the profile as of `as_of`; write and publish the grades."""
    card, path = resolve_scorecard(settings, scorecard, learned)
    model = load_scorecard(path)
    tables = read_ratio_tables(settings.grading.ratios)
    ratio_table = tables.table(settings.grading.ratio_table)
    ratio_table.check_grades(model.spec.grades)
    frame = read_features(settings, as_of, model.spec.features)
    grades = model.score(frame)
    grades.insert(1, "as_of", as_of)
    out_dir = settings.lake_dir / "grades" / card / f"as_of={as_of.isoformat()}"
    run = new_version()
    out = out_dir / run / "grades.parquet"
    write_parquet_atomic(pa.Table.from_pandas(grades, preserve_index=False), out)
    publish_version(out_dir, run)
    graded = grades[~grades["excluded"]]
    by_grade = {g: int((graded["grade"] == g).sum()) for g in model.spec.grades}
    return GradeResult(
        as_of=as_of,
        card=card,
        version=model.spec.version,
        enterprises=len(grades),
        graded=len(graded),
        excluded=int(grades["excluded"].sum()),
        by_grade=by_grade,
        overrides={str(k): int(v) for k, v in grades["override"].value_counts().items()},
        ratio_table=settings.grading.ratio_table,
        expected_draws=ratio_table.expected_draws(by_grade),
        path=out,
        mean_score=float(graded["score"].mean()) if len(graded) else float("nan"),
    )


def read_grades(settings: Settings, as_of: dt.date, card: str = "default") -> pd.DataFrame:
    root = settings.lake_dir / "grades"
    cards = root.iterdir() if root.is_dir() else iter([])
    graded = sorted(d.name for d in cards if d.is_dir() and not d.name.startswith((".", "_")))
    if graded and card not in graded:
        raise FileNotFoundError(
            f"no grades from a card named {card!r}; expected one of: {', '.join(graded)}"
            " (`regulens grade --as-of DATE [--learned]` writes them)"
        )
    version = current_version(root / card / f"as_of={as_of.isoformat()}")
    if version is None:
        raise FileNotFoundError(f"no {card} grades for as-of {as_of}; run `regulens grade --as-of {as_of}` first")
    return pd.read_parquet(version / "grades.parquet")


def enterprise_grade(settings: Settings, uscc: str, as_of: dt.date, card: str = "default") -> dict[str, Any]:
    """One enterprise's stored grade (serialisable): score, grade, sub-scores, override, reason lines."""
    grades = read_grades(settings, as_of, card)
    row = grades[grades["uscc"] == uscc]
    if row.empty:
        raise LookupError(f"no enterprise {uscc!r} in the {card} grades as of {as_of}")
    doc: dict[str, Any] = {str(k): _plain(v) for k, v in row.iloc[0].to_dict().items() if k != "reasons"}
    doc["as_of"] = as_of.isoformat()
    reasons = row.iloc[0].get("reasons")
    doc["reasons"] = [] if reasons is None else [dict(r) for r in reasons]
    return doc


def _plain(value: Any) -> Any:
    """A JSON-ready Python value from a pandas/NumPy scalar (NA -> None)."""
    if value is pd.NA or value is None:
        return None
    return value.item() if isinstance(value, np.generic) else value


def labelled(settings: Settings, as_of: dt.date, horizon_days: int, extra: list[str] | None = None) -> pd.DataFrame:
    """The profile rows of enterprises inspected in the horizon, with `violation_found`: the
    learned card's candidates, the default card's override features, and `extra` columns."""
    version = current_version(labels_dir(settings, as_of, horizon_days))
    if version is None:
        raise FileNotFoundError(f"no labels for as-of {as_of} (h={horizon_days}); run `regulens profile` first")
    labels = pd.read_parquet(version / "labels.parquet", columns=["uscc", "violation_found"])
    columns = [*CANDIDATES, *_override_features(settings)]
    profile = read_features(settings, as_of, columns + [c for c in extra or [] if c not in columns])
    return profile.merge(labels, on="uscc", how="inner")


def _override_features(settings: Settings) -> list[str]:
    spec = read_spec(settings.grading.scorecard)
    return [o.when.feature for o in spec.overrides if o.when.feature not in CANDIDATES]


@dataclass
class FitResult:
    train_as_of: list[dt.date]
    rows: int
    violation_rate: float
    features: list[dict[str, object]]
    version: str
    path: Path
    auc: dict[str, float] = field(default_factory=dict)  # as-of -> AUC of the exported card's score
    auc_default: dict[str, float] = field(default_factory=dict)  # the same for the configured default card

    def to_json(self) -> dict[str, object]:
        return {
            "train_as_of": [d.isoformat() for d in self.train_as_of],
            "rows": self.rows,
            "violation_rate": round(self.violation_rate, 4),
            "features": self.features,
            "scorecard_version": self.version,
            "path": str(self.path),
            "auc": self.auc,
            "auc_default": self.auc_default,
        }


def fit_learned(
    settings: Settings, train_as_of: list[dt.date], holdout_as_of: list[dt.date], horizon_days: int = 180
) -> FitResult:
    """Fit the WoE scorecard on the labelled enterprises of the training dates; export, publish, evaluate.

    Bands are cut on the whole profile of the latest training date; overrides are the default card's.
    AUC on each holdout date is that of the exported YAML scored by the engine (higher score = lower risk).
    """
    train = pd.concat([labelled(settings, d, horizon_days) for d in train_as_of], ignore_index=True)
    default = read_spec(settings.grading.scorecard)
    run = new_version()
    catalogue = enterprise_catalogue()
    population = read_features(settings, max(train_as_of), list(CANDIDATES))
    model = LearnedScorecard(version=f"learned-{run}", overrides=default.overrides)
    model.fit(train, train["violation_found"], catalogue, population=population)
    out = learned_dir(settings) / run
    write_spec(model.spec_, out / "learned.yaml")
    card, default_card = Scorecard(model.spec_), load_scorecard(settings.grading.scorecard)
    holdouts = {d.isoformat(): labelled(settings, d, horizon_days, default.features) for d in holdout_as_of}
    result = FitResult(
        train_as_of=train_as_of,
        rows=len(train),
        violation_rate=float(train["violation_found"].mean()),
        features=model.binning_summary(),
        version=model.spec_.version,
        path=out / "learned.yaml",
        auc={"train": _auc(card, train), **{d: _auc(card, h) for d, h in holdouts.items()}},
        auc_default={d: _auc(default_card, h) for d, h in holdouts.items()},
    )
    # What made the card, for auditors: the candidates and their trends, the fitting parameters.
    made_by = {
        "candidates": dict(CANDIDATES),
        "params": {k: v for k, v in vars(model).items() if not k.endswith("_") and k != "overrides"},
    }
    record = {**result.to_json(), "horizon_days": horizon_days, **made_by}
    write_text_atomic(json.dumps(record, ensure_ascii=False, indent=1, default=str), out / "fit.json")
    publish_version(learned_dir(settings), run)
    return result


def _auc(card: Scorecard, frame: pd.DataFrame) -> float:
    """AUC of the score for finding a violation (a low score should mean a violation)."""
    y = frame["violation_found"].to_numpy()
    if len(np.unique(y)) < 2:
        return float("nan")
    return round(float(roc_auc_score(y, -card.total(frame))), 4)
