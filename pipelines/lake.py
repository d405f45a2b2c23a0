"""The lake's versioned tables: `lake/<layer>/<table>/<version>/part-*.parquet` plus a
`CURRENT` file naming the version readers see. A run writes a new version and then replaces
`CURRENT` atomically, so a failed or interrupted run leaves the previous good version in use."""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from pathlib import Path

from pipelines.storage import write_text_atomic

KEEP_VERSIONS = 2


def new_version() -> str:
    """A version name that sorts by creation time: UTC timestamp plus a random suffix."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def current_version(table_dir: Path) -> Path | None:
    pointer = table_dir / "CURRENT"
    if not pointer.is_file():
        return None
    version = table_dir / pointer.read_text(encoding="utf-8").strip()
    return version if version.is_dir() else None


def publish_version(table_dir: Path, version: str) -> None:
    """Point readers at `version`, then remove versions older than the last KEEP_VERSIONS."""
    write_text_atomic(version + "\n", table_dir / "CURRENT")
    versions = sorted(p for p in table_dir.iterdir() if p.is_dir())
    for old in versions[:-KEEP_VERSIONS]:
        if old.name != version:
            shutil.rmtree(old, ignore_errors=True)


def table_glob(table_dir: Path) -> str:
    """A glob of the current version's Parquet files, for DuckDB's read_parquet."""
    version = current_version(table_dir)
    if version is None:
        raise FileNotFoundError(f"{table_dir} has no published version; run the step that writes it first")
    return str(version / "*.parquet")
