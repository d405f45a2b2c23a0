"""A plan's lifecycle: an enum and the table of allowed transitions.

```
drafted (inputs committed, commitment published) → drawn (public value entered, targets and inspectors drawn)
drafted → withdrawn (with a reason in the audit log; only then may the item and as-of date be committed again)
drawn → recording (the first result is recorded)
recording → recording (more results)
recording → published (every task has a result; the public notice 一公开 is out)
published is final: a late correction is a new notice, outside this cycle
```
A one-step draw (commitment and public value given together) passes through `drafted` in the
same transaction, so the audit log always shows both steps.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum


class PlanState(StrEnum):
    DRAFTED = "drafted"
    DRAWN = "drawn"
    RECORDING = "recording"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


ALLOWED: dict[PlanState, frozenset[PlanState]] = {
    PlanState.DRAFTED: frozenset({PlanState.DRAWN, PlanState.WITHDRAWN}),
    PlanState.DRAWN: frozenset({PlanState.RECORDING}),
    PlanState.RECORDING: frozenset({PlanState.RECORDING, PlanState.PUBLISHED}),
    PlanState.PUBLISHED: frozenset(),
    PlanState.WITHDRAWN: frozenset(),
}

STATE_ZH = {
    PlanState.DRAFTED: "已承诺（待抽取）",
    PlanState.DRAWN: "已抽取",
    PlanState.RECORDING: "结果录入中",
    PlanState.PUBLISHED: "已公示",
    PlanState.WITHDRAWN: "已撤回",
}
MAX_ACTOR = 100  # the audit log's column width
MAX_FREE_TEXT = 500  # public values and withdrawal reasons


class TransitionRefused(ValueError):
    """The move is not in the allowed-transition table; the message names what is allowed."""


def check_transition(current: PlanState, target: PlanState, plan_id: str = "") -> None:
    if target not in ALLOWED[current]:
        allowed = sorted(s.value for s in ALLOWED[current]) or ["nothing (final state)"]
        raise TransitionRefused(
            f"plan {plan_id} is {current.value}; it cannot become {target.value} (allowed from {current.value}: "
            f"{', '.join(allowed)})"
        )


def check_actor(actor: str, plan_id: str = "") -> str:
    """The actor of a step, trimmed; refused if blank, because the audit log must say who did it."""
    where = f"plan {plan_id}: " if plan_id else ""
    if not actor.strip():
        raise TransitionRefused(f"{where}every step needs an actor (--actor NAME: who does it), got {actor!r}")
    return check_free_text(actor, "--actor", MAX_ACTOR, where)


def check_free_text(value: str, what: str, limit: int, where: str = "") -> str:
    """Typed text that the audit log stores and terminals print: trimmed, at most `limit` characters,
    and no control characters (an escape sequence in a name could rewrite what an auditor sees)."""
    value = value.strip()
    if len(value) > limit:
        raise TransitionRefused(f"{where}{what} expected at most {limit} characters, got {len(value):,}")
    bad = sorted({f"U+{ord(c):04X}" for c in value if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")})
    if bad:
        raise TransitionRefused(f"{where}{what} expected printable text, got control characters {', '.join(bad)}")
    return value
