"""Where rectification cases, their every transition, and each scan's scores are kept.

SQLAlchemy 2 Core over three tables, so the same code runs on the default SQLite file under the
data home and on PostgreSQL given its URL (`integrity.db_url`). Cases are rows that change state;
transitions are append-only rows (the audit trail); scans are append-only per (as-of, body).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection

from models.integrity.cases import Case, CaseState, Transition, move
from pipelines.storage import sql_engine

metadata = MetaData()
cases_table = Table(
    "integrity_cases",
    metadata,
    Column("case_id", String(64), primary_key=True),
    Column("body_uscc", String(18), nullable=False, index=True),
    Column("body_name", String(200), nullable=False),
    Column("opened_on", Date, nullable=False),
    Column("deadline", Date, nullable=False),
    Column("warning", String(32), nullable=False),
    Column("score", Float, nullable=False),
    Column("scorecard_version", String(100), nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("signal_keys", JSON, nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("closed_on", Date),
)
events_table = Table(
    "integrity_case_events",
    metadata,
    Column("event_id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(64), ForeignKey("integrity_cases.case_id"), nullable=False, index=True),
    Column("from_state", String(16)),
    Column("to_state", String(16), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("note", String(2000), nullable=False),
)
scores_table = Table(
    "integrity_scores",
    metadata,
    Column("as_of", Date, primary_key=True),
    Column("body_uscc", String(18), primary_key=True),
    Column("score", Float, nullable=False),
    Column("grade", String(32), nullable=False),
    Column("scorecard_version", String(100), nullable=False),
    Column("reasons", JSON, nullable=False),
)


def default_url(data_home: Path) -> str:
    return f"sqlite:///{(data_home / 'integrity' / 'integrity.sqlite').resolve()}"


class CaseStore:
    """Cases, transitions and scan scores in one SQL database."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = sql_engine(url)
        metadata.create_all(self.engine)

    # --- cases -------------------------------------------------------------------------------
    def add_cases(self, cases: Iterable[Case]) -> int:
        n = 0
        with self.engine.begin() as con:
            for case in cases:
                con.execute(insert(cases_table).values(**_case_row(case)))
                for step in case.history:
                    _insert_step(con, case.case_id, step)
                n += 1
        return n

    def get(self, case_id: str) -> Case:
        with self.engine.connect() as con:
            row = con.execute(select(cases_table).where(cases_table.c.case_id == case_id)).mappings().first()
            if row is None:
                raise LookupError(f"no case {case_id!r}; `regulens integrity cases` lists them")
            return _case(row, _history(con, [case_id])[case_id])

    def cases(self, body_uscc: str | None = None, states: Iterable[CaseState] | None = None) -> list[Case]:
        query = select(cases_table).order_by(cases_table.c.opened_on, cases_table.c.case_id)
        if body_uscc is not None:
            query = query.where(cases_table.c.body_uscc == body_uscc)
        if states is not None:
            query = query.where(cases_table.c.state.in_([s.value for s in states]))
        with self.engine.connect() as con:
            rows = con.execute(query).mappings().all()
            history = _history(con, [r["case_id"] for r in rows])
        return [_case(r, history.get(r["case_id"], [])) for r in rows]

    def transition(self, case_id: str, target: CaseState, actor: str, at: dt.datetime, note: str = "") -> Case:
        """Move a case (refused moves raise `TransitionRefused`) and store the step, in one transaction."""
        moved = move(self.get(case_id), target, actor, at, note)
        self.save_step(moved)
        return moved

    def save_step(self, moved: Case) -> None:
        """Persist a case's new state and its last history entry."""
        with self.engine.begin() as con:
            con.execute(
                update(cases_table)
                .where(cases_table.c.case_id == moved.case_id)
                .values(state=moved.state.value, closed_on=moved.closed_on)
            )
            _insert_step(con, moved.case_id, moved.history[-1])

    def bodies_with_open_case(self) -> set[str]:
        query = select(cases_table.c.body_uscc).where(cases_table.c.state != CaseState.CLOSED.value)
        with self.engine.connect() as con:
            return {r[0] for r in con.execute(query)}

    def repairs(self) -> pd.DataFrame:
        """Signals repaired by a closed case: body_uscc, signal_type, signal_date, repaired_on (closing day)."""
        rows = [
            {"body_uscc": b, "signal_type": t, "signal_date": pd.Timestamp(d), "repaired_on": pd.Timestamp(closed)}
            for c in self.cases(states=[CaseState.CLOSED])
            if (closed := c.closed_on) is not None
            for b, t, d in c.signal_keys
        ]
        return pd.DataFrame(rows, columns=["body_uscc", "signal_type", "signal_date", "repaired_on"])

    # --- scan scores ---------------------------------------------------------------------------
    def record_scores(self, as_of: dt.date, scored: pd.DataFrame) -> None:
        """Keep this scan's score per body (a re-run of the same as-of date replaces it)."""
        rows = [
            {
                "as_of": as_of,
                "body_uscc": r["body_uscc"],
                "score": float(r["score"]),
                "grade": str(r["grade"]),
                "scorecard_version": str(r["scorecard_version"]),
                "reasons": [x["text"] for x in r["reasons"]],
            }
            for r in scored.to_dict("records")
        ]
        with self.engine.begin() as con:
            con.execute(scores_table.delete().where(scores_table.c.as_of == as_of))
            if rows:
                con.execute(insert(scores_table), rows)

    def scores(self, body_uscc: str) -> list[dict[str, Any]]:
        query = select(scores_table).where(scores_table.c.body_uscc == body_uscc).order_by(scores_table.c.as_of)
        with self.engine.connect() as con:
            return [{**r, "as_of": r["as_of"].isoformat()} for r in con.execute(query).mappings()]


def _case_row(case: Case) -> dict[str, Any]:
    row = case.model_dump(mode="json", exclude={"history"})
    row.update(opened_on=case.opened_on, deadline=case.deadline, closed_on=case.closed_on, state=case.state.value)
    return row


def _insert_step(con: Connection, case_id: str, step: Transition) -> None:
    con.execute(
        insert(events_table).values(
            case_id=case_id,
            from_state=None if step.from_state is None else step.from_state.value,
            to_state=step.to_state.value,
            at=step.at,
            actor=step.actor,
            note=step.note,
        )
    )


def _history(con: Connection, case_ids: list[str]) -> dict[str, list[Transition]]:
    out: dict[str, list[Transition]] = {c: [] for c in case_ids}
    if not case_ids:
        return out
    query = select(events_table).where(events_table.c.case_id.in_(case_ids)).order_by(events_table.c.event_id)
    for r in con.execute(query).mappings():
        at = r["at"] if r["at"].tzinfo else r["at"].replace(tzinfo=dt.UTC)  # SQLite drops the zone
        out[r["case_id"]].append(
            Transition(from_state=r["from_state"], to_state=r["to_state"], at=at, actor=r["actor"], note=r["note"])
        )
    return out


def _case(row: Any, history: list[Transition]) -> Case:
    return Case.model_validate({**row, "history": history})
