"""Labels: did an inspection in (as_of, as_of + horizon] find a violation?

Worked example: as_of 2024-07-01, horizon 180 days -> inspections dated 2024-07-02 .. 2024-12-28
count (the as-of day itself belongs to the features' side: features use records known strictly
before it, labels look strictly after it). An enterprise with no inspection in the window has no
label (inspected = 0): labels exist only where someone looked, which is the selection bias the
training step corrects with the recorded inclusion probabilities.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir


def label_window(as_of: dt.date, horizon_days: int) -> tuple[dt.date, dt.date]:
    """First and last inspection dates that count for this as-of date."""
    return as_of + dt.timedelta(days=1), as_of + dt.timedelta(days=horizon_days)


def labels_expr(inspections: ir.Table, as_of: dt.date, horizon_days: int) -> ir.Table:
    """One row per inspected enterprise: found, the first inspection's type, the random draw's
    inclusion probability (null when the enterprise was not in a random draw in the window)."""
    first, last = label_window(as_of, horizon_days)
    t = inspections.filter((inspections.inspection_date >= first) & (inspections.inspection_date <= last))
    order_key = t.inspection_date.cast("string").concat(t.inspection_id)
    random = t.inspection_type == "双随机抽查"
    out = t.group_by(uscc=t.uscc).aggregate(
        inspections=t.count(),
        violation_found=t.violation_found.cast("int64").max(),
        first_inspection_type=t.inspection_type.argmin(order_key),
        random_draw_found=t.violation_found.cast("int64").max(where=random),
        inclusion_probability=t.inclusion_probability.max(where=random),
    )
    return out.mutate(as_of=ibis.literal(as_of, type="date"), horizon_days=ibis.literal(horizon_days))
