"""The two engines behind one Ibis definition: DuckDB over Parquet (default) and Spark."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.types as ir

from pipelines.lake import current_version

Engine = Literal["duckdb", "spark"]
# The sources a profile reads; rosters and government bodies have their own consumers.
PROFILE_SOURCES = (
    "registration",
    "registration_changes",
    "shareholders",
    "annual_reports",
    "licences",
    "penalties",
    "abnormal_list",
    "serious_dishonesty",
    "inspections",
    "complaints",
    "tax_credit",
    "tax_payments",
    "social_insurance",
    "electricity",
    "water",
    "gas",
    "court_enforcement",
    "honours",
    "quality_sampling",
    "equity_pledges",
)


def duckdb_config(
    threads: int | None = None, memory_gib: float | None = None, spill_dir: Path | None = None
) -> dict[str, str]:
    """DuckDB settings: `memory_gib` caps its buffer manager (default: 80% of the machine) and
    `spill_dir` is where it spills (default: `.tmp` in the working directory)."""
    config = {}
    if threads:
        config["threads"] = str(int(threads))
    if memory_gib:
        config["memory_limit"] = f"{int(memory_gib * 1024)}MiB"
    if spill_dir is not None:
        spill_dir.mkdir(parents=True, exist_ok=True)
        config["temp_directory"] = spill_dir.as_posix()
    return config


def connect(
    engine: Engine, threads: int | None = None, memory_gib: float | None = None, spill_dir: Path | None = None
) -> Any:
    """A connection for the engine; on DuckDB with the settings of `duckdb_config`."""
    if engine == "duckdb":
        return ibis.duckdb.connect(**duckdb_config(threads, memory_gib, spill_dir))
    if engine == "spark":
        return ibis.pyspark.connect(spark_session())
    raise ValueError(f"engine must be 'duckdb' or 'spark', got {engine!r}")


def spark_session() -> Any:
    """A local Spark session (one per process), UTC, quiet, without the web UI."""
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("regulens")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.memory", "4g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def bronze_tables(con: Any, bronze: Path, engine: Engine) -> dict[str, ir.Table]:
    """The current version of each profile source, as Ibis tables on this connection."""
    tables = {}
    for source in PROFILE_SOURCES:
        version = current_version(bronze / source)
        if version is None:
            raise FileNotFoundError(f"{bronze / source} has no published version; run `regulens ingest` first")
        path = str(version / "*.parquet") if engine == "duckdb" else str(version)
        tables[source] = con.read_parquet(path, table_name=f"bronze_{source}")
    return tables
