"""The inspection-object list (检查对象名录库) as the draw reads it, and its exclusions.

The list arrives from scoring as a plain frame, one row per entity:

| column | meaning |
|---|---|
| uscc | unified social credit code (the key; unique) |
| name | enterprise name (optional, for the task list) |
| risk | violation probability from the model, in [0, 1] |
| credit_class | credit-risk class A (low) .. D (high) from the scorecard |
| district, town, industry_code | where the entity is and what it does (GB/T 4754 division) |
| item | inspection item (optional; the policy's item otherwise) |
| last_inspected | date of the last inspection known before the as-of date (missing if never) |
| last_inspectors | inspector ids of that inspection, joined by ";" ("" if never) |
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from pipelines.draw.policy import CREDIT_CLASSES, DrawPolicy

REQUIRED = ("uscc", "risk", "credit_class", "district", "town", "industry_code")
TEXT_COLUMNS = ("uscc", "name", "credit_class", "district", "town", "industry_code", "item", "last_inspectors")
COLUMNS = (*TEXT_COLUMNS[:-1], "risk", "last_inspected", "last_inspectors")
INSPECTOR_SEPARATOR = ";"


class DrawInputError(ValueError):
    """An input of the draw does not meet its contract; the message says what was expected."""


def normalise_eligible(frame: pd.DataFrame, policy: DrawPolicy) -> pd.DataFrame:
    """The list with every column of the contract, canonical types, sorted by uscc.

    Sorting makes the draw independent of the row order it arrived in: the same list in any
    order gives the same commitment and the same sample."""
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise DrawInputError(f"eligible list: missing column(s) {missing}, expected at least {list(REQUIRED)}")
    out = pd.DataFrame(index=frame.index)
    for col in TEXT_COLUMNS:
        default = policy.item if col == "item" else ""
        values = frame[col] if col in frame.columns else pd.Series(default, index=frame.index)
        out[col] = values.fillna(default).astype(str)
    out["risk"] = pd.to_numeric(frame["risk"], errors="coerce").astype("float64")
    last = frame["last_inspected"] if "last_inspected" in frame.columns else pd.Series(pd.NaT, index=frame.index)
    out["last_inspected"] = pd.to_datetime(last).astype("datetime64[s]")
    out = out.sort_values("uscc", kind="stable").reset_index(drop=True)
    _check_eligible(out)
    return out.loc[:, list(COLUMNS)]


def _check_eligible(frame: pd.DataFrame) -> None:
    n = len(frame)
    dup = frame["uscc"].duplicated(keep=False)
    if dup.any():
        raise DrawInputError(
            f"eligible list: uscc expected unique, got {int(dup.sum())} of {n} rows sharing a code "
            f"(e.g. {frame.loc[dup, 'uscc'].iat[0]})"
        )
    risk = frame["risk"].to_numpy()
    bad = ~((risk >= 0) & (risk <= 1))  # NaN fails both comparisons
    if bad.any():
        raise DrawInputError(
            f"eligible list: risk expected a probability in [0, 1], got {risk[bad][:3]} in {int(bad.sum())} of {n} rows"
        )
    classes = ~frame["credit_class"].isin(CREDIT_CLASSES)
    if classes.any():
        raise DrawInputError(
            f"eligible list: credit_class expected one of {CREDIT_CLASSES}, got "
            f"{sorted(set(frame.loc[classes, 'credit_class']))[:5]} in {int(classes.sum())} of {n} rows"
        )
    blank = (frame[["uscc", "district", "town"]] == "").any(axis=1)
    if blank.any():
        raise DrawInputError(
            f"eligible list: uscc, district and town expected non-empty, blank in {int(blank.sum())} of {n} rows"
        )


def split_exclusions(frame: pd.DataFrame, policy: DrawPolicy, as_of: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(kept, excluded): entities inspected within `exclude_inspected_months` before as_of are
    spared this cycle; each excluded row keeps its reason.

    Worked example: as_of 2025-07-01, 6 months → cutoff 2025-01-01. Last inspected 2025-01-01 ..
    2025-06-30 → excluded; 2024-12-31 or never → kept. A last inspection on or after as_of
    cannot be known at as_of and is refused (it would leak the future into the draw)."""
    last = frame["last_inspected"]
    as_of_ts = pd.Timestamp(as_of)
    future = last >= as_of_ts
    if future.any():
        raise DrawInputError(
            f"eligible list: last_inspected expected before as_of {as_of}, got {last[future].max().date()} "
            f"in {int(future.sum())} rows"
        )
    if policy.exclude_inspected_months is None:
        return frame, _excluded_frame(frame.iloc[:0], np.array([], dtype=object))
    cutoff = as_of_ts - pd.DateOffset(months=policy.exclude_inspected_months)
    recent = (last >= cutoff).to_numpy(dtype=bool)
    dropped = frame.loc[recent]
    dates = dropped["last_inspected"].dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
    reason = "inspected on " + dates + f", within {policy.exclude_inspected_months} months before {as_of.isoformat()}"
    return frame.loc[~recent].reset_index(drop=True), _excluded_frame(dropped, reason)


def _excluded_frame(rows: pd.DataFrame, reason: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "uscc": rows["uscc"].to_numpy(dtype=object),
            "district": rows["district"].to_numpy(dtype=object),
            "reason": np.asarray(reason, dtype=object),
        }
    )


def last_inspection_facts(inspections: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Per entity, the last inspection known before as_of: `uscc`, `last_inspected`, `last_inspectors`.

    Reads the bronze `inspections` source (uscc, inspection_date, knowledge_date, inspector_1,
    inspector_2); only rows whose knowledge date is before as_of count (point in time)."""
    known = inspections.loc[pd.to_datetime(inspections["knowledge_date"]) < pd.Timestamp(as_of)]
    last = known.sort_values(["uscc", "inspection_date"], kind="stable").drop_duplicates("uscc", keep="last")
    ids = last[["inspector_1", "inspector_2"]].fillna("").astype(str)
    return pd.DataFrame(
        {
            "uscc": last["uscc"].astype(str).to_numpy(dtype=object),
            "last_inspected": pd.to_datetime(last["inspection_date"]).astype("datetime64[s]").to_numpy(),
            "last_inspectors": (ids["inspector_1"] + INSPECTOR_SEPARATOR + ids["inspector_2"])
            .str.strip(INSPECTOR_SEPARATOR)
            .to_numpy(dtype=object),
        }
    )
