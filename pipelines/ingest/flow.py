"""`regulens ingest`: every department extract, validated against its contract.

For each source: read each file as text, cast to the contract's types, compute the derived
checks, run the GX suite, then split rows into bronze (accepted) and quarantine (with every
reason and the raw text). rows in = rows accepted + rows quarantined, per source, always.
Bronze and quarantine are written as new versions and published only when the source is done.
"""

from __future__ import annotations

import gzip
import json
import multiprocessing
import os
import shutil
import sys
import zlib
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.ingest.contracts import Contract, bronze_schema, load_contracts
from pipelines.ingest.linking import NameAddressIndex
from pipelines.ingest.normalise import UnreadableExtract, cast_to_contract, read_extract
from pipelines.ingest.quarantine import QUARANTINE_SCHEMA, quarantined_rows
from pipelines.ingest.validate import (
    EntityDates,
    KeyMemory,
    build_data_docs,
    derive_checks,
    gx_context,
    gx_failures,
)
from pipelines.lake import current_version, new_version, publish_version
from pipelines.settings import Settings
from pipelines.storage import write_parquet_atomic, write_text_atomic

Progress = Callable[[int, int], None]


@dataclass
class SourceResult:
    source: str
    files: int = 0
    rows_in: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    unreadable_files: list[str] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)
    extra_columns: list[str] = field(default_factory=list)
    failure: str | None = None
    linked_by_name_address: int = 0
    # A fall in rows below ingest.min_row_ratio of the published version that the operator
    # accepted (--accept-drop): the counts, the version replaced and who accepted it.
    accepted_drop: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


@dataclass
class IngestResult:
    run_id: str
    sources: list[SourceResult]
    report_dir: Path
    data_docs: Path

    @property
    def rows_accepted(self) -> int:
        return sum(s.rows_accepted for s in self.sources)

    @property
    def rows_quarantined(self) -> int:
        return sum(s.rows_quarantined for s in self.sources)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "rows_accepted": self.rows_accepted,
            "rows_quarantined": self.rows_quarantined,
            "report_dir": str(self.report_dir),
            "data_docs": str(self.data_docs),
            "sources": [{**asdict(s), "ok": s.ok} for s in self.sources],
        }


@dataclass(frozen=True)
class DropAcceptance:
    """Sources the operator allows to publish with fewer rows than ingest.min_row_ratio of their
    published version (`regulens ingest --accept-drop SOURCE --actor NAME`), and who does so."""

    sources: frozenset[str] = frozenset()
    actor: str = ""


def ingest_all(
    settings: Settings,
    sources: list[str] | None = None,
    progress: Progress | None = None,
    accept: DropAcceptance | None = None,
) -> IngestResult:
    accept = accept or DropAcceptance()
    contracts = load_contracts(settings.contracts_dir)
    unknown = sorted((set(sources or []) | accept.sources) - set(contracts))
    if unknown:
        raise FileNotFoundError(f"no contract for source(s) {unknown}; known sources: {sorted(contracts)}")
    if accept.sources and not accept.actor.strip():
        raise ValueError(
            f"accepting a drop in rows of {sorted(accept.sources)} needs an actor (who accepts it),"
            f" got {accept.actor!r}"
        )
    if not settings.raw_dir.is_dir():
        raise FileNotFoundError(f"no extracts under {settings.raw_dir}; run `regulens generate` first")
    order = sorted(set(sources or contracts), key=lambda s: (s != "registration", s))  # as reported
    lake = _Lake(settings.lake_dir, new_version())
    gx_context(lake.gx_root)  # the GX project exists before any worker opens it
    done: dict[str, SourceResult] = {}
    validations: list[Any] = []  # GX validation result ids, for the data docs

    def finished(result: SourceResult, ids: list[Any]) -> None:
        done[result.source] = result
        validations.extend(ids)
        if progress:
            progress(len(done), len(order))

    # Registration first: the other sources are checked against the enterprises it lists.
    if "registration" in order:
        result, accepted, ids = _ingest_source(settings, contracts["registration"], lake, None, accept)
        finished(result, ids)
        # A registration extract that failed its check is not published: keep checking the
        # other sources against the previous good one.
        registry = accepted if result.ok else _load_registry(lake.bronze / "registration")
    else:
        registry = _load_registry(lake.bronze / "registration")
    rest = [s for s in order if s != "registration"]
    workers = _worker_count(settings, rest, contracts)
    if workers == 1:
        for source in rest:
            result, _, ids = _ingest_source(settings, contracts[source], lake, registry, accept)
            finished(result, ids)
    else:
        # Largest extracts first, so that no worker is left with a big one at the end.
        rest.sort(key=lambda s: _extract_bytes(settings, contracts[s]), reverse=True)
        # On Linux, forked workers start at once with everything imported (Arrow re-creates its
        # thread pools after a fork); elsewhere they are spawned.
        method = "fork" if sys.platform == "linux" else "spawn"
        pool = ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context(method), initializer=_share, initargs=(registry,)
        )
        try:
            futures = [pool.submit(_ingest_shared, settings, contracts[s], lake, accept) for s in rest]
            for future in as_completed(futures):
                result, ids = future.result()
                finished(result, ids)
        except BaseException:
            # As in one process, the run stops at the first source that raised: the sources not
            # started yet are not ingested (published versions of finished ones stay in use).
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown()

    build_data_docs(lake.gx_root, validations)
    reports = settings.lake_dir / "reports"
    report_dir = reports / "ingest" / lake.run_id
    out = IngestResult(
        run_id=lake.run_id,
        sources=[done[s] for s in order],
        report_dir=report_dir,
        data_docs=lake.gx_root / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html",
    )
    text = json.dumps(out.to_json(), ensure_ascii=False, indent=2, default=str)
    write_text_atomic(text, report_dir / "summary.json")
    write_text_atomic(text, reports / "ingest" / "latest.json")
    return out


@dataclass(frozen=True)
class _Lake:
    """Where one ingest run writes: new bronze and quarantine versions, and GX's reports."""

    lake_dir: Path
    run_id: str

    @property
    def bronze(self) -> Path:
        return self.lake_dir / "bronze"

    @property
    def quarantine(self) -> Path:
        return self.lake_dir / "quarantine"

    @property
    def gx_root(self) -> Path:
        return self.lake_dir / "reports" / "gx"


def _worker_count(settings: Settings, sources: list[str], contracts: dict[str, Contract]) -> int:
    """`ingest.workers`, or with 0 (auto) one process per core once the extracts are big enough
    to repay the workers' start and memory (each holds the registration rows and its own file)."""
    wanted = settings.ingest.workers
    if wanted == 0:
        big = sum(_extract_bytes(settings, contracts[s]) for s in sources) >= settings.ingest.parallel_from_mib << 20
        wanted = len(os.sched_getaffinity(0)) if big else 1
    return max(1, min(wanted, len(sources)))


def _extract_files(settings: Settings, contract: Contract) -> list[Path]:
    """The source's extracts: the contract's `files` glob, else every file in its folder. Links
    are listed too, even broken ones, so that `_refusal` can report them rather than skip them."""
    return sorted(p for p in settings.raw_dir.glob(_pattern(contract)) if p.is_file() or p.is_symlink())


def _refusal(path: Path, raw_dir: Path) -> str | None:
    """Why an extract is not read, or None. The raw folder is what departments deliver; a link
    there (the file's or a folder's on its path) to anywhere else, e.g. /etc/passwd, would copy
    that file into the lake and the quarantine. A link to nothing, or to what is not a file, is
    refused too."""
    root = raw_dir.resolve()
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError) as err:  # a broken link, or a loop of links
        return f"a link that leads to no file ({err.__class__.__name__}: {err})"
    if not target.is_relative_to(root):
        return f"a link to {target}, outside the raw folder {root}; expected a file inside it"
    if not target.is_file():
        return f"a link to {target}, which is not a regular file"
    return None


def _keep_file(path: Path, q_dir: Path) -> None:
    """Copy a rejected extract byte for byte to the run's quarantine (`files/`), atomically."""
    kept = q_dir / "files" / path.name
    kept.parent.mkdir(parents=True, exist_ok=True)
    tmp = kept.with_name(f".{kept.name}.tmp-{os.getpid()}")
    try:
        shutil.copy2(path, tmp)
        os.replace(tmp, kept)
    finally:
        tmp.unlink(missing_ok=True)


def _pattern(contract: Contract) -> str:
    return contract.meta.files or f"{contract.source}/*"


def _extract_bytes(settings: Settings, contract: Contract) -> int:
    files = _extract_files(settings, contract)
    return sum(p.stat().st_size for p in files if _refusal(p, settings.raw_dir) is None)


# A worker process's copy of the registration rows, sent once when the worker starts.
_shared_registry: pd.DataFrame | None = None


def _share(registry: pd.DataFrame | None) -> None:
    global _shared_registry
    _shared_registry = registry
    # A forked worker must not write into the parent's progress display (and its lock).
    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__


def _ingest_shared(
    settings: Settings, contract: Contract, lake: _Lake, accept: DropAcceptance
) -> tuple[SourceResult, list[Any]]:
    result, _, ids = _ingest_source(settings, contract, lake, _shared_registry, accept)
    return result, ids


def _ingest_source(
    settings: Settings,
    contract: Contract,
    lake: _Lake,
    registry: pd.DataFrame | None,
    accept: DropAcceptance,
) -> tuple[SourceResult, pd.DataFrame | None, list[Any]]:
    """One source, file by file: the result, the accepted rows if it is registration, and the
    ids of its GX validation results."""
    source = contract.source
    run_id, bronze, quarantine, gx_root = lake.run_id, lake.bronze, lake.quarantine, lake.gx_root
    validations: list[Any] = []
    result = SourceResult(source=source)
    files = _extract_files(settings, contract)
    if not files:
        result.failure = f"{source}: no extract files matching {settings.raw_dir / _pattern(contract)}"
        return result, None, validations
    entities = None
    index = None
    if registry is not None:
        entities = EntityDates(registry.set_index("uscc")["established_date"])
        if contract.meta.link is not None:
            index = NameAddressIndex(registry)
    keys, reasons = KeyMemory(), Counter[str]()
    out_dir, q_dir = bronze / source / run_id, quarantine / source / run_id
    accepted_parts: list[pd.DataFrame] = []
    keep_in_memory = source == "registration" or contract.meta.link is not None
    for n_file, path in enumerate(files):
        result.files += 1
        refused = _refusal(path, settings.raw_dir)
        if refused is not None:
            # Not read and not copied: the link's target may be any file on the machine.
            result.unreadable_files.append(f"{path.name} (refused: {refused})")
            result.failure = f"{source}: {path.name}: {refused}"
            reasons[f"refused file: {refused}"] += 1
            continue
        try:
            batch = read_extract(path, contract, int(settings.ingest.max_field_mib * (1 << 20)))
        except UnreadableExtract as err:
            # The file is kept byte for byte in the quarantine; nothing in it is lost.
            _keep_file(path, q_dir)
            # Its rows cannot be counted by parsing; the line count says how much is waiting there.
            lines = _line_count(path)
            result.unreadable_files.append(f"{path.name} ({lines} lines)")
            result.failure = str(err)
            reasons[f"unreadable file: {err}"] += 1
            continue
        result.extra_columns = sorted(set(result.extra_columns) | set(batch.extra_columns))
        raw = batch.frame
        result.rows_in += len(raw) + len(batch.malformed)
        if batch.missing_columns:
            missing = ", ".join(f"{c.header}（{c.name}）" for c in batch.missing_columns)
            why = f"缺少列 / missing column(s): {missing}"
            row_reasons = pd.Series(why + "; ", index=raw.index, dtype=object)
            if batch.notes is not None:
                row_reasons = batch.notes + row_reasons
            bad = np.ones(len(raw), dtype=bool)
            records = len(raw) + len(batch.malformed)
            result.failure = f"{source}: {path.name}: {why}, all {records} rows quarantined (file kept whole)"
            _keep_file(path, q_dir)  # the rows' text under a header that is not the contract's
            accepted = pd.DataFrame(columns=[c.name for c in contract.meta.columns])
        else:
            typed = cast_to_contract(raw, contract)
            # What reading found (bytes that are not UTF-8, NUL) rejects a row as a parse failure does.
            read_and_cast = typed.reasons if batch.notes is None else batch.notes + typed.reasons
            parsed = (read_and_cast == "").to_numpy()
            checks = derive_checks(typed.frame, contract, settings.extract_date, keys, entities, parsed)
            gx_reasons, ids = _validate_in_slices(
                pd.concat([typed.frame, checks], axis=1), contract, gx_root, settings.ingest.chunk_rows
            )
            validations.extend(ids)
            bad = ~parsed | (gx_reasons != "").to_numpy()
            row_reasons = pd.Series("", index=raw.index, dtype=object)
            row_reasons[bad] = read_and_cast[bad] + gx_reasons[bad]
            accepted = typed.frame[~bad].copy()
            accepted["_source_file"] = path.name
            accepted["_source_row"] = accepted.index.to_numpy()
        quarantined = quarantined_rows(source, path.name, batch, bad, row_reasons)
        for text in quarantined["reason"]:
            for reason in filter(None, (r.strip() for r in text.split(";"))):
                reasons[reason] += 1
        q_table = pa.Table.from_pandas(quarantined, schema=QUARANTINE_SCHEMA, preserve_index=False)
        write_parquet_atomic(q_table, q_dir / f"part-{n_file:05d}.parquet")
        result.rows_quarantined += len(quarantined)
        result.rows_accepted += len(accepted)
        if contract.meta.link is not None and len(accepted):
            accepted = _link(accepted, contract, index, settings.ingest.link_threshold)
            result.linked_by_name_address += int((accepted["link_method"] == "name_address").sum())
        if len(accepted) or n_file == 0:
            schema = bronze_schema(contract)
            table = (
                pa.Table.from_pandas(accepted, schema=schema, preserve_index=False)
                if len(accepted)
                else schema.empty_table()
            )
            write_parquet_atomic(table, out_dir / f"part-{n_file:05d}.parquet")
        if keep_in_memory:
            accepted_parts.append(accepted)
    assert result.rows_in == result.rows_accepted + result.rows_quarantined, "conservation rule broken"
    result.reasons = dict(reasons.most_common())
    share = result.rows_quarantined / result.rows_in if result.rows_in else 0.0
    if result.failure is None and share > settings.ingest.max_quarantine_share:
        result.failure = (
            f"{source}: quarantined {share:.1%} of rows, above the {settings.ingest.max_quarantine_share:.1%}"
            " the settings allow (ingest.max_quarantine_share)"
        )
    if result.ok:
        _check_row_drop(settings, result, bronze / source, run_id, accept)
    # A source that failed its check keeps its previous bronze version in use, and the quarantine
    # that goes with it: CURRENT of both names the same run. This run's rejected rows stay
    # readable in its own folder, which the failure names.
    if result.ok:
        if out_dir.is_dir():
            publish_version(bronze / source, run_id)
        if q_dir.is_dir():
            publish_version(quarantine / source, run_id)
    elif q_dir.is_dir():
        result.failure = f"{result.failure} (this run's quarantine, not published: {q_dir})"
    registry_frame = (
        pd.concat(accepted_parts, ignore_index=True) if source == "registration" and accepted_parts else None
    )
    return result, registry_frame, validations


def _check_row_drop(
    settings: Settings, result: SourceResult, table_dir: Path, run_id: str, accept: DropAcceptance
) -> None:
    """Fail the source if its rows fell below ingest.min_row_ratio of the published version's
    (a header-only extract would publish an empty table), unless the operator accepted the drop:
    then the audit log records who, before the new version is published."""
    published = current_version(table_dir)
    if published is None:
        return
    previous = sum(pq.ParquetFile(part).metadata.num_rows for part in published.glob("*.parquet"))
    ratio = settings.ingest.min_row_ratio
    if previous == 0 or result.rows_accepted >= ratio * previous:
        return
    source = result.source
    counts = (
        f"{result.rows_accepted:,} rows accepted against {previous:,} in the published version {published.name}"
        f" ({result.rows_accepted / previous:.1%}), below the {ratio:.0%} of ingest.min_row_ratio"
    )
    if source not in accept.sources:
        result.failure = (
            f"{source}: {counts}; the published version stays in use. If the drop is real, run again with"
            f" --accept-drop {source} --actor NAME"
        )
        return
    result.accepted_drop = {
        "rows": result.rows_accepted,
        "previous_rows": previous,
        "previous_version": published.name,
        "min_row_ratio": ratio,
        "actor": accept.actor.strip(),
    }
    detail = {"source": source, "run_id": run_id, **result.accepted_drop}
    from pipelines.opsdb import OpsStore, default_url  # the database only when a drop is accepted

    OpsStore(settings.plan.db_url or default_url(settings.data_home)).audit(
        accept.actor, "ingest accept-drop", None, detail
    )


def _validate_in_slices(
    frame: pd.DataFrame, contract: Contract, gx_root: Path, rows: int
) -> tuple[pd.Series, list[Any]]:
    """GX reasons per row, validating at most `rows` rows at a time, and the ids for the data
    docs. Each slice is one GX validation result; they share one folder, so the data docs list
    every slice."""
    parts, ids = [], []
    for start in range(0, max(len(frame), 1), rows):
        reasons, slice_ids = gx_failures(frame.iloc[start : start + rows], contract, gx_root)
        parts.append(reasons)
        ids.extend(slice_ids)
    return pd.concat(parts), ids


def _link(accepted: pd.DataFrame, contract: Contract, index: NameAddressIndex | None, threshold: float) -> pd.DataFrame:
    link = contract.meta.link
    assert link is not None and contract.meta.entity_key is not None
    key = contract.meta.entity_key
    has_code = accepted[key].notna()
    accepted["entity_uscc"] = accepted[key]
    accepted["link_method"] = pd.Series("credit_code", index=accepted.index, dtype=object).where(has_code, None)
    accepted["link_confidence"] = has_code.astype(float).where(has_code, float("nan"))
    todo = accepted[~has_code]
    if len(todo) and index is not None:  # no registry yet: rows without a code stay unlinked
        links = index.link(todo, link.name_column, link.address_column, threshold)
        found = links["linked_uscc"].notna()
        accepted.loc[todo.index, "entity_uscc"] = links["linked_uscc"]
        accepted.loc[todo.index[found.to_numpy()], "link_method"] = "name_address"
        accepted.loc[todo.index, "link_confidence"] = links["link_confidence"]
    return accepted


def _load_registry(table_dir: Path) -> pd.DataFrame | None:
    version = current_version(table_dir)
    if version is None:
        return None
    registry = pd.read_parquet(version, columns=["uscc", "name", "address", "established_date"])
    # Parquet stores a date; the checks compare timestamps, as in the freshly cast registration.
    registry["established_date"] = pd.to_datetime(registry["established_date"]).astype("datetime64[s]")
    return registry


def _line_count(path: Path) -> int:
    """Lines in an extract, decompressing a gzip one as far as it goes (a truncated file's count
    is of what could be read)."""
    if path.suffix != ".gz":
        return path.read_bytes().count(b"\n")
    count = 0
    try:
        with gzip.open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                count += block.count(b"\n")
    except (OSError, EOFError, zlib.error):
        pass
    return count
