"""Government integrity (政务诚信) features: one row per government body as of a date.

Signals (`integrity_signals`): listed as a court-judgment debtor (失信被执行人), arrears owed to
SMEs (拖欠中小企业账款), broken investment-promotion commitments (招商引资承诺未兑现), lost
administrative lawsuits (行政诉讼败诉), administrative penalties (受到行政处罚). Point in time: only
signals known strictly before the as-of date count. A signal is *open* until it is resolved in the
source (`resolved_date`) or its breach is confirmed fixed by closing a rectification case
(信用修复, `repaired_on`), whichever comes first.

Small tables (thousands of bodies), so plain pandas rather than the profile's Ibis expressions.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from features.spec import Feature

KEY = ["body_uscc", "signal_type", "signal_date"]
# signal type -> (slug, English)
SIGNAL_TYPES: dict[str, tuple[str, str]] = {
    "失信被执行人": ("court_debtor", "listed as a court-judgment debtor"),
    "拖欠中小企业账款": ("sme_arrears", "arrears owed to SMEs"),
    "招商引资承诺未兑现": ("broken_promise", "broken investment-promotion commitments"),
    "行政诉讼败诉": ("lost_lawsuit", "lost administrative lawsuits"),
    "受到行政处罚": ("penalty", "administrative penalties"),
}
RECENT_DAYS = 730


def _f(name: str, zh: str, en: str, unit: str, window: int | None) -> Feature:
    return Feature(name, "integrity_signals", zh, en, unit, window, "credit", 1)


def integrity_features() -> list[Feature]:
    """The catalogue of government-body features (names, descriptions, units, windows)."""
    out = [
        _f("signals_open_now", "当前未整改的失信线索数", "integrity signals still open", "records", None),
        _f(
            "sme_arrears_open_amount_yuan",
            "当前未清偿的拖欠中小企业账款金额",
            "amount of SME arrears still open",
            "yuan",
            None,
        ),
        _f("signals_repaired_count", "已信用修复的失信线索数", "signals repaired by a closed case", "records", None),
    ]
    for zh, (slug, en) in SIGNAL_TYPES.items():
        out.append(_f(f"{slug}_open_now", f"当前未整改的{zh}线索数", f"{en}: still open", "records", None))
        out.append(
            _f(
                f"{slug}_count_{RECENT_DAYS}d",
                f"近{RECENT_DAYS}天{zh}线索数",
                f"{en} in the last {RECENT_DAYS} days",
                "records",
                RECENT_DAYS,
            )
        )
    return out


def open_signals(signals: pd.DataFrame, as_of: dt.date, repaired: pd.DataFrame | None = None) -> pd.DataFrame:
    """Signals known before `as_of` and neither resolved nor repaired before it, with `repaired_on`."""
    signals, cutoff = _dated(signals, "signal_date", "knowledge_date", "resolved_date"), pd.Timestamp(as_of)
    known = _with_repairs(signals[signals["knowledge_date"] < cutoff], repaired)
    still = known["resolved_date"].isna() | (known["resolved_date"] >= cutoff)
    not_repaired = known["repaired_on"].isna() | (known["repaired_on"] >= cutoff)
    return known[still & not_repaired]


def integrity_profile(
    bodies: pd.DataFrame, signals: pd.DataFrame, as_of: dt.date, repaired: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per body known before `as_of`: `body_uscc`, `as_of`, then every integrity feature."""
    cutoff = pd.Timestamp(as_of)
    bodies = _dated(bodies, "knowledge_date")
    signals = _dated(signals, "signal_date", "knowledge_date", "resolved_date")
    out = bodies.loc[bodies["knowledge_date"] < cutoff, ["body_uscc"]].drop_duplicates().set_index("body_uscc")
    known = _with_repairs(signals[signals["knowledge_date"] < cutoff], repaired)
    still_open = open_signals(signals, as_of, repaired)
    recent = known[known["signal_date"] >= cutoff - pd.Timedelta(days=RECENT_DAYS)]
    out["signals_open_now"] = still_open.groupby("body_uscc").size()
    arrears = still_open[still_open["signal_type"] == "拖欠中小企业账款"]
    out["sme_arrears_open_amount_yuan"] = arrears.groupby("body_uscc")["amount_yuan"].sum()
    repaired_now = known["repaired_on"].notna() & (known["repaired_on"] < cutoff)
    out["signals_repaired_count"] = known[repaired_now].groupby("body_uscc").size()
    for zh, (slug, _) in SIGNAL_TYPES.items():
        out[f"{slug}_open_now"] = still_open[still_open["signal_type"] == zh].groupby("body_uscc").size()
        out[f"{slug}_count_{RECENT_DAYS}d"] = recent[recent["signal_type"] == zh].groupby("body_uscc").size()
    out = out.fillna(0)  # no signal is zero signals
    out.insert(0, "as_of", as_of)
    return out.reset_index()


def _dated(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """The frame with these date columns as datetime64 (bronze stores dates as date objects)."""
    return frame.assign(**{c: pd.to_datetime(frame[c]) for c in columns})


def _with_repairs(signals: pd.DataFrame, repaired: pd.DataFrame | None) -> pd.DataFrame:
    """Signals with the date their breach was confirmed fixed by a closed case (`repaired_on`, or NaT)."""
    if repaired is None or repaired.empty:
        return signals.assign(repaired_on=pd.Series(pd.NaT, index=signals.index, dtype="datetime64[ns]"))
    first = repaired.groupby(KEY, as_index=False)["repaired_on"].min()
    first["repaired_on"] = pd.to_datetime(first["repaired_on"])
    return signals.merge(first, on=KEY, how="left")
