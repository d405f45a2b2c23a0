"""The operational database of the plan cycle: plans, tasks, results and the audit log.

SQLAlchemy 2 Core, so the same code runs on the default SQLite file under the data home
(`ops/ops.sqlite`) and on PostgreSQL given its URL (`plan.db_url`, e.g.
`REGULENS_PLAN__DB_URL=postgresql+psycopg://...`). The plan folder under `lake/plans/` is the
immutable record of a draw; the database holds what changes afterwards (state, results) and who
did what. Every state change and its audit row are written in one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
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
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from pipelines.audit_chain import GENESIS, ChainReport, row_hash, verify_chain
from pipelines.draw.lifecycle import PlanState, TransitionRefused, check_actor, check_transition
from pipelines.storage import sql_engine

metadata = MetaData()
plans_table = Table(
    "plans",
    metadata,
    Column("plan_id", String(64), primary_key=True),
    Column("state", String(16), nullable=False, index=True),
    Column("as_of", Date, nullable=False),
    Column("item_code", String(32), nullable=False),
    Column("item", String(100), nullable=False),
    Column("commitment", String(64), nullable=False, unique=True),
    Column("public_value", String(500)),
    Column("seed", String(64)),
    Column("capacity", Integer, nullable=False),
    Column("listed", Integer, nullable=False),
    Column("expected_hit_rate", Float),
    Column("list_mean_risk", Float),
    Column("versions", JSON, nullable=False),
    Column("folder", String(1000)),
    Column("committed_at", DateTime(timezone=True), nullable=False),
    Column("drawn_at", DateTime(timezone=True)),
    Column("published_on", Date),
    Column("notice", String(1000)),
)
tasks_table = Table(
    "tasks",
    metadata,
    Column("task_id", String(80), primary_key=True),
    Column("plan_id", String(64), ForeignKey("plans.plan_id"), nullable=False, index=True),
    Column("uscc", String(18), nullable=False),
    Column("name", String(200), nullable=False),
    Column("district", String(50), nullable=False),
    Column("town", String(50), nullable=False),
    Column("item", String(100), nullable=False),
    Column("stratum", String(50), nullable=False),
    Column("pi", Float, nullable=False),
    Column("risk", Float, nullable=False),
    Column("inspectors", JSON, nullable=False),
)
results_table = Table(
    "results",
    metadata,
    Column("task_id", String(80), ForeignKey("tasks.task_id"), primary_key=True),
    Column("plan_id", String(64), ForeignKey("plans.plan_id"), nullable=False, index=True),
    Column("category", String(100), nullable=False),
    Column("found", Boolean, nullable=False),
    Column("inspection_date", Date, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(100), nullable=False),
)
audit_table = Table(
    "audit_log",
    metadata,
    Column("event_id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(32), nullable=False),
    Column("plan_id", String(64), index=True),
    Column("detail", JSON, nullable=False),
    Column("prev_hash", String(64)),  # the hash chain (pipelines.audit_chain)
    Column("row_hash", String(64)),
)
audit_head_table = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True),  # one row, id 1: writers lock it, so the chain never forks
    Column("rows", Integer, nullable=False),
    Column("head", String(64), nullable=False),
)


def default_url(data_home: Path) -> str:
    return f"sqlite:///{(data_home / 'ops' / 'ops.sqlite').resolve()}"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class OpsStore:
    """Plans, tasks, results and the audit log in one SQL database."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = sql_engine(url)
        metadata.create_all(self.engine)
        _start_chain(self.engine)

    # --- plans -------------------------------------------------------------------------------
    def add_plan(self, row: dict[str, Any], actor: str, detail: dict[str, Any]) -> None:
        """A committed plan (state drafted) and its audit row."""
        with self.engine.begin() as con:
            con.execute(insert(plans_table).values(**row, state=PlanState.DRAFTED.value))
            _audit(con, actor, "commit", row["plan_id"], detail)

    def plan(self, plan_id: str) -> dict[str, Any]:
        with self.engine.connect() as con:
            row = con.execute(select(plans_table).where(plans_table.c.plan_id == plan_id)).mappings().first()
        if row is None:
            raise LookupError(f"no plan {plan_id!r} in the operational database; `regulens plan list` lists them")
        return dict(row)

    def has_plan(self, plan_id: str) -> bool:
        with self.engine.connect() as con:
            found = con.execute(select(plans_table.c.plan_id).where(plans_table.c.plan_id == plan_id)).first()
        return found is not None

    def plans(self) -> list[dict[str, Any]]:
        with self.engine.connect() as con:
            rows = con.execute(select(plans_table).order_by(plans_table.c.committed_at)).mappings().all()
        return [dict(r) for r in rows]

    def mark_drawn(
        self, plan_id: str, changes: dict[str, Any], tasks: Sequence[dict[str, Any]], actor: str, detail: dict[str, Any]
    ) -> None:
        with self.engine.begin() as con:
            _move(con, plan_id, PlanState.DRAWN, changes)
            if tasks:
                con.execute(insert(tasks_table), [{**t, "plan_id": plan_id} for t in tasks])
            _audit(con, actor, "draw", plan_id, detail)

    def start_draw(self, plan_id: str, public_value: str, actor: str) -> None:
        """Record the public value before anything is drawn ("draw started"), atomically with the
        check that the plan is drafted and that no other public value was started for it: one
        commitment gets one public value, so a draw cannot be tried again with another."""
        with self.engine.begin() as con:
            _lock_chain(con)
            row = con.execute(select(plans_table).where(plans_table.c.plan_id == plan_id)).mappings().first()
            if row is None:
                raise LookupError(f"no plan {plan_id!r} in the operational database; `regulens plan list` lists them")
            started = _started_values(con, plan_id)
            if row["state"] != PlanState.DRAFTED.value:
                drawn = f" with public value {row['public_value']!r}" if row["public_value"] else ""
                raise TransitionRefused(
                    f"plan {plan_id} is {row['state']}{drawn}; a drawn plan is final and is not drawn again"
                )
            other = [v for v in started if v != public_value]
            if other:
                raise TransitionRefused(
                    f"plan {plan_id}: its draw was started with public value {other[0]!r}; one commitment gets one "
                    f"public value, so it is not drawn with {public_value!r}. Run the draw again with {other[0]!r}, "
                    f"or withdraw the plan with a reason (`regulens plan withdraw`) and commit anew"
                )
            _audit(con, actor, "draw started", plan_id, {"public_value": public_value})

    def started_values(self, plan_id: str) -> list[str]:
        """The public values of the plan's "draw started" rows, oldest first, without repeats."""
        with self.engine.connect() as con:
            return _started_values(con, plan_id)

    def mark_withdrawn(self, plan_id: str, actor: str, detail: dict[str, Any]) -> None:
        with self.engine.begin() as con:
            _move(con, plan_id, PlanState.WITHDRAWN, {})
            _audit(con, actor, "withdraw", plan_id, detail)

    def mark_published(self, plan_id: str, on: dt.date, notice: str, actor: str, detail: dict[str, Any]) -> None:
        with self.engine.begin() as con:
            _move(con, plan_id, PlanState.PUBLISHED, {"published_on": on, "notice": notice})
            _audit(con, actor, "publish", plan_id, detail)

    # --- tasks and results ---------------------------------------------------------------------
    def tasks(self, plan_id: str) -> list[dict[str, Any]]:
        query = select(tasks_table).where(tasks_table.c.plan_id == plan_id).order_by(tasks_table.c.task_id)
        with self.engine.connect() as con:
            return [dict(r) for r in con.execute(query).mappings()]

    def results(self, plan_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as con:
            return _results(con, plan_id)

    def record_results(
        self,
        plan_id: str,
        rows: Iterable[dict[str, Any]],
        actor: str,
        then: Callable[[list[dict[str, Any]]], None] | None = None,
    ) -> int:
        """Insert results (validated by the caller) and move the plan to `recording`, atomically.

        `then` receives every result of the plan, the new ones included, before the commit: a file
        derived from them (the feedback labels) is written there, and if that fails nothing is stored."""
        rows = [{**r, "plan_id": plan_id, "actor": actor, "recorded_at": now()} for r in rows]
        with self.engine.begin() as con:
            _move(con, plan_id, PlanState.RECORDING, {})
            con.execute(insert(results_table), rows)
            detail = {"results": [{k: str(r[k]) for k in ("task_id", "category", "inspection_date")} for r in rows]}
            _audit(con, actor, "record", plan_id, detail)
            if then is not None:
                then(_results(con, plan_id))
        return len(rows)

    # --- audit ---------------------------------------------------------------------------------
    def audit(self, actor: str, action: str, plan_id: str | None, detail: dict[str, Any]) -> None:
        with self.engine.begin() as con:
            _audit(con, actor, action, plan_id, detail)

    def audit_log(self, plan_id: str | None = None) -> list[dict[str, Any]]:
        query = select(audit_table).order_by(audit_table.c.event_id)
        if plan_id is not None:
            query = query.where(audit_table.c.plan_id == plan_id)
        with self.engine.connect() as con:
            return [dict(r) for r in con.execute(query).mappings()]

    def verify_audit_chain(self) -> ChainReport:
        """Walk the whole log's hash chain and compare its end with the head table."""
        with self.engine.connect() as con:
            rows = [dict(r) for r in con.execute(select(audit_table).order_by(audit_table.c.event_id)).mappings()]
            head = con.execute(select(audit_head_table).where(audit_head_table.c.id == 1)).mappings().first()
            return verify_chain(rows, None if head is None else (int(head["rows"]), str(head["head"])))


def _move(con: Connection, plan_id: str, target: PlanState, changes: dict[str, Any]) -> None:
    """Check the transition against the table and apply it with `changes` (inside the caller's transaction)."""
    row = con.execute(select(plans_table.c.state).where(plans_table.c.plan_id == plan_id)).first()
    if row is None:
        raise LookupError(f"no plan {plan_id!r} in the operational database; `regulens plan list` lists them")
    check_transition(PlanState(row[0]), target, plan_id)
    con.execute(update(plans_table).where(plans_table.c.plan_id == plan_id).values(state=target.value, **changes))


def _started_values(con: Connection, plan_id: str) -> list[str]:
    query = select(audit_table.c.detail).where(audit_table.c.plan_id == plan_id, audit_table.c.action == "draw started")
    values = [str(d.get("public_value", "")) for (d,) in con.execute(query.order_by(audit_table.c.event_id))]
    return list(dict.fromkeys(values))


def _results(con: Connection, plan_id: str) -> list[dict[str, Any]]:
    query = select(results_table).where(results_table.c.plan_id == plan_id).order_by(results_table.c.task_id)
    return [dict(r) for r in con.execute(query).mappings()]


def _audit(con: Connection, actor: str, action: str, plan_id: str | None, detail: dict[str, Any]) -> None:
    """Append one row, chained to the last. The head row is updated first: that takes the write
    lock (SQLite) or the row lock (PostgreSQL), so two writers cannot chain to the same row."""
    actor = check_actor(actor, plan_id or "")  # every row of the audit log says who
    _lock_chain(con)
    rows, prev = con.execute(select(audit_head_table.c.rows, audit_head_table.c.head)).one()
    at = now()
    detail = json.loads(json.dumps(detail, default=str))  # hashed as the database will hand it back
    digest = row_hash(prev, at, actor, action, plan_id, detail)
    values = {"at": at, "actor": actor, "action": action, "plan_id": plan_id, "detail": detail}
    con.execute(insert(audit_table).values(**values, prev_hash=prev, row_hash=digest))
    con.execute(update(audit_head_table).where(audit_head_table.c.id == 1).values(rows=rows + 1, head=digest))


def _lock_chain(con: Connection) -> None:
    """A no-op update of the head row: it takes the lock that serialises writers of the log."""
    con.execute(update(audit_head_table).where(audit_head_table.c.id == 1).values(rows=audit_head_table.c.rows))


def _start_chain(engine: Engine) -> None:
    """Create the head row; a database from before the chain gets its columns and its rows chained
    in event order, followed by a row that says so (their earlier history cannot be vouched for)."""
    with engine.begin() as con:
        columns = {c["name"] for c in inspect(con).get_columns("audit_log")}
        if "row_hash" not in columns:
            con.execute(text("ALTER TABLE audit_log ADD COLUMN prev_hash VARCHAR(64)"))
            con.execute(text("ALTER TABLE audit_log ADD COLUMN row_hash VARCHAR(64)"))
        if con.execute(select(audit_head_table.c.id)).first() is not None:
            return
        try:
            with con.begin_nested():
                con.execute(insert(audit_head_table).values(id=1, rows=0, head=GENESIS))
        except IntegrityError:
            return  # another process started the chain at the same moment
        old = con.execute(select(audit_table).order_by(audit_table.c.event_id)).mappings().all()
        prev = GENESIS
        for row in old:
            digest = row_hash(prev, row["at"], row["actor"], row["action"], row["plan_id"], row["detail"])
            chained = audit_table.update().where(audit_table.c.event_id == row["event_id"])
            con.execute(chained.values(prev_hash=prev, row_hash=digest))
            prev = digest
        con.execute(update(audit_head_table).where(audit_head_table.c.id == 1).values(rows=len(old), head=prev))
        if old:
            _audit(con, "regulens", "audit chain started", None, {"rows_chained_at_upgrade": len(old)})
