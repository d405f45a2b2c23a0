"""From a thousand candidate factors to a short list that is stable across folds.

1. Each walk-forward fold fits the model on every candidate; a candidate's importance is its
   share of the fold's total split gain, averaged over the folds (a factor that matters in one
   period only ranks lower than one that matters in all).
2. Walking down that ranking, a candidate joins the short list unless it is nearly the same
   measurement as one already on it (|Spearman rho| above `max_correlation` on training rows):
   the 90- and 180-day complaint counts should not take two of a dozen places.
3. Stability is reported as the share of the short list that is in every fold's own top 2k.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Ranking:
    """Mean gain share per candidate (descending) and each fold's own ranking."""

    importance: pd.Series
    per_fold: list[pd.Series]

    def stability(self, short_list: list[str]) -> float:
        """Share of `short_list` that every fold ranks within its own top 2 x len(short_list)."""
        if not short_list:
            return float("nan")
        k = 2 * len(short_list)
        in_all = set.intersection(*(set(f.index[:k]) for f in self.per_fold))
        return len(in_all & set(short_list)) / len(short_list)


def rank_candidates(fold_importances: list[pd.Series]) -> Ranking:
    """Average each fold's gain shares; candidates a fold never split on count as 0 there."""
    if not fold_importances:
        raise ValueError("ranking candidates needs at least one fold's importances")
    shares = [imp / imp.sum() if imp.sum() > 0 else imp for imp in fold_importances]
    table = pd.concat(shares, axis=1).fillna(0.0)
    per_fold = [s.sort_values(ascending=False) for s in shares]
    return Ranking(table.mean(axis=1).sort_values(ascending=False, kind="stable"), per_fold)


def short_list(
    ranking: Ranking, X: pd.DataFrame, k: int, max_correlation: float = 0.85, sample: int = 20_000, seed: int = 0
) -> list[str]:
    """The top `k` candidates by mean importance, skipping near-duplicates of those already kept.

    Candidates with zero importance in every fold never enter. Correlation is Spearman on up to
    `sample` training rows; categorical columns are never considered duplicates of numbers.
    """
    if k < 1:
        raise ValueError(f"the short list needs k >= 1 factors, got {k}")
    rows = X.sample(min(sample, len(X)), random_state=seed) if len(X) > sample else X
    kept: list[str] = []
    ranks: dict[str, np.ndarray] = {}
    for name, importance in ranking.importance.items():
        if len(kept) == k or importance <= 0:
            break
        col = rows[str(name)]
        if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)):
            kept.append(str(name))
            continue
        r = col.astype(float).rank().to_numpy()
        if any(_abs_corr(r, ranks[other]) > max_correlation for other in ranks):
            continue
        ranks[str(name)] = r
        kept.append(str(name))
    return kept


def _abs_corr(a: np.ndarray, b: np.ndarray) -> float:
    """|Pearson| of two rank vectors over rows where both are present (0 when undefined)."""
    both = ~(np.isnan(a) | np.isnan(b))
    if both.sum() < 3:
        return 0.0
    x, y = a[both], b[both]
    if x.std() == 0 or y.std() == 0:
        return 0.0
    return float(abs(np.corrcoef(x, y)[0, 1]))
