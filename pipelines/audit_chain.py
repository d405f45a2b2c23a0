"""The audit log's hash chain: every row carries the hash of the row before it.

    row_hash = SHA-256( canonical JSON of {prev_hash, at, actor, action, plan_id, detail} )
    prev_hash of the first row = GENESIS (64 zeros)

Editing any field of a row changes its hash, so its own `row_hash` no longer matches; rewriting
that too breaks the next row's `prev_hash`. Deleting or reordering rows breaks a link. The head
(the last row's hash and the row count) is also kept in a one-row table; only an anchor held
outside the database (a published head, the hash printed by `regulens audit verify`) also shows
that the newest rows were cut off together with the head. Pure functions: the database code is
in `pipelines.opsdb`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical_time(at: dt.datetime) -> str:
    """UTC, microseconds, no offset suffix: SQLite hands back naive UTC, PostgreSQL an aware value."""
    if at.tzinfo is not None:
        at = at.astimezone(dt.UTC).replace(tzinfo=None)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f")


def row_hash(prev_hash: str, at: dt.datetime, actor: str, action: str, plan_id: str | None, detail: Any) -> str:
    body = {
        "prev_hash": prev_hash,
        "at": canonical_time(at),
        "actor": actor,
        "action": action,
        "plan_id": plan_id,
        "detail": detail,
    }
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    """`first_broken`: the event id of the first row that does not chain (None when intact)."""

    rows: int
    head: str
    first_broken: int | None
    reason: str

    @property
    def ok(self) -> bool:
        return self.first_broken is None and not self.reason

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rows": self.rows,
            "head": self.head,
            "first_broken": self.first_broken,
            "reason": self.reason,
        }


def verify_chain(rows: Iterable[Mapping[str, Any]], head: tuple[int, str] | None = None) -> ChainReport:
    """Walk the rows in event order; name the first whose link or own hash does not hold.

    `head` is (row count, last hash) from the head table: rows cut off the end of the log show there."""
    expected_prev, count = GENESIS, 0
    for row in rows:
        count += 1
        if row["prev_hash"] != expected_prev:
            why = "a row before it was deleted, inserted or reordered" if row["prev_hash"] else "the row has no hash"
            reason = f"event {row['event_id']}: link broken ({why})"
            return ChainReport(count, expected_prev, int(row["event_id"]), reason)
        own = row_hash(row["prev_hash"], row["at"], row["actor"], row["action"], row["plan_id"], row["detail"])
        if own != row["row_hash"]:
            reason = (
                f"event {row['event_id']}: row edited (its fields hash to {own[:12]}…, "
                f"stored {str(row['row_hash'])[:12]}…)"
            )
            return ChainReport(count, expected_prev, int(row["event_id"]), reason)
        expected_prev = own
    if head is not None and head != (count, expected_prev):
        reason = (
            f"the head table records {head[0]} row(s) ending in {head[1][:12]}…, the log has {count} ending in "
            f"{expected_prev[:12]}…: rows were removed from the end, or the head was rewritten"
        )
        return ChainReport(count, expected_prev, None, reason)
    return ChainReport(count, expected_prev, None, "")
