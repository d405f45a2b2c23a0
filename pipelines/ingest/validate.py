"""Row-level validation of a typed batch against its contract's Great Expectations suite.

GX checks columns; some rules need context GX cannot see (the GB 32100 check character, the
extract date, keys seen in earlier files, the enterprise's establishment date). Those are
computed here as boolean `<column>__<rule>` columns, and the suite's expectations check them,
so every rule is declared in the contract and reported in the same data docs.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.entity_id import uscc_valid_mask
from pipelines.ingest.contracts import Contract


@dataclass
class KeyMemory:
    """Hashes of primary keys already seen on rows that parsed and passed the derived checks."""

    seen: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.uint64))

    def first_occurrence(self, keys: pd.DataFrame) -> np.ndarray:
        hashes = key_hashes(keys)
        order = np.argsort(hashes, kind="stable")
        ordered = hashes[order]  # sorted lookups are cache-friendly
        seen_before = np.zeros(len(hashes), dtype=bool)
        if len(self.seen):
            pos = np.minimum(np.searchsorted(self.seen, ordered), len(self.seen) - 1)
            seen_before[order] = self.seen[pos] == ordered
        repeat = np.zeros(len(hashes), dtype=bool)  # a later row of this file with an earlier row's key
        repeat[order[1:]] = ordered[1:] == ordered[:-1]
        # Both parts are sorted, so the stable sort (timsort) merges them in linear time.
        self.seen = np.sort(np.concatenate([self.seen, ordered[~repeat[order]]]), kind="stable")
        return ~repeat & ~seen_before


def key_hashes(keys: pd.DataFrame) -> np.ndarray:
    """One 64-bit hash per row of a (multi-column) key, the same for equal keys in any file.

    Text columns repeat heavily (a credit code per monthly record), so each distinct value is
    hashed once and the hashes are spread back by position.
    """
    combined: np.ndarray = np.zeros(len(keys), dtype=np.uint64)
    for _, column in keys.items():
        hashes: np.ndarray
        if column.dtype == object or isinstance(column.dtype, pd.StringDtype):
            positions, distinct = pd.factorize(column, use_na_sentinel=False)
            hashes = pd.util.hash_array(np.asarray(distinct, dtype=object))[positions]
        else:
            hashes = pd.util.hash_pandas_object(column, index=False).to_numpy()
        # Multiply by a prime and mix in the next column (uint64 arithmetic wraps).
        combined = combined * np.uint64(1_000_003) ^ hashes
    return combined


@dataclass
class EntityDates:
    """Establishment date per credit code, from the registration extract."""

    established: pd.Series  # index uscc -> datetime64

    def lookup(self, positions: np.ndarray, distinct: pd.Index) -> tuple[np.ndarray, pd.Series]:
        """For factorised codes: whether each is a registered entity, and its establishment date."""
        where = self.established.index.get_indexer(distinct)  # registration keys are unique
        known = np.append(where >= 0, True)[positions]  # a missing code (-1) is not unknown
        dates = np.append(self.established.to_numpy(), np.datetime64("NaT"))  # [-1]: not registered
        est = np.append(dates[where], np.datetime64("NaT"))
        return known, pd.Series(est[positions], dtype=self.established.dtype)


def derive_checks(
    typed: pd.DataFrame,
    contract: Contract,
    extract_date: dt.date,
    keys: KeyMemory,
    entities: EntityDates | None,
    parsed: np.ndarray | None = None,
) -> pd.DataFrame:
    """The boolean columns the suite's expectations refer to (True = the row passes).

    The duplicate-key check comes last and looks only at rows that parsed (`parsed`) and passed
    the other derived checks: a rejected row must not block a later, valid copy of its key.
    """
    meta = contract.meta
    out = pd.DataFrame(index=typed.index)
    # Codes repeat across a source's rows: each distinct code is checked and looked up once.
    factorised = {c.name: pd.factorize(typed[c.name]) for c in meta.columns if c.type == "uscc" and c.name in typed}
    for name, (positions, distinct) in factorised.items():
        valid = np.append(uscc_valid_mask(np.asarray(distinct, dtype=object)), True)  # missing passes
        out[f"{name}__check_character_ok"] = valid[positions]
    if meta.knowledge_date is not None:
        known = typed[meta.knowledge_date]
        out["knowledge_date__not_in_future"] = (known.isna() | (known <= pd.Timestamp(extract_date))).to_numpy()
    if entities is not None and meta.entity_key == "uscc":
        positions, distinct = factorised.get("uscc") or pd.factorize(typed["uscc"])
        registered, est = entities.lookup(positions, pd.Index(distinct))
        if meta.source != "registration":
            out["uscc__known_entity"] = registered
        if meta.event_date:
            est.index = typed.index
            event = typed[meta.event_date]
            if meta.event_month:  # monthly records are dated to the first of the month
                est = est.dt.to_period("M").dt.to_timestamp()
            out[f"{meta.event_date}__after_establishment"] = (event.isna() | est.isna() | (event >= est)).to_numpy()
    eligible = out.all(axis=1).to_numpy() & (parsed if parsed is not None else True)
    first = np.ones(len(typed), dtype=bool)
    first[eligible] = keys.first_occurrence(typed.loc[eligible, meta.primary_key])
    out["primary_key__first_occurrence"] = first
    return out


def gx_failures(frame: pd.DataFrame, contract: Contract, report_root: Path) -> tuple[pd.Series, list[Any]]:
    """Run the contract's suite through a GX checkpoint; per row, the reasons it failed.

    Returns the reasons (index-aligned with `frame`, "" where the row passed) and the ids of the
    suite and the validation results for the data docs; both are stored in the file-backed
    context under `report_root`. Expectations on a derived column that this batch lacks are
    skipped (e.g. the establishment check when registration was not ingested).

    The checkpoint runs in a fresh in-memory context: a context keeps every batch it has
    validated, which at city scale grows without bound, and an in-memory one shares no
    configuration file with the other ingest processes. Only the suite and the results are
    written to the file-backed context, each to a file of its own.
    """
    import great_expectations as gx
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    name = contract.source
    expectations = [e for e in contract.suite["expectations"] if e["kwargs"].get("column") in frame.columns]
    context = _quiet(gx.get_context(mode="ephemeral"))
    suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=expectations))
    batch_def = (
        context.data_sources.add_pandas("regulens")
        .add_dataframe_asset(name)
        .add_batch_definition_whole_dataframe("whole")
    )
    validation = context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch_def, suite=suite))
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=f"ingest-{name}",
            validation_definitions=[validation],
            # Data docs are built once per run (`build_data_docs`), not after every slice.
            actions=[],
            result_format={"result_format": "COMPLETE"},
        )
    )
    positional = _numpy_dtypes(frame.reset_index(drop=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = checkpoint.run(batch_parameters={"dataframe": positional})
    reasons = np.full(len(frame), "", dtype=object)
    for run in result.run_results.values():
        for res in run.results:
            if res.success:
                continue
            failed = res.result.get("unexpected_index_list") or []
            rows = np.asarray(
                [i if isinstance(i, int | np.integer) else i.get("index") for i in failed], dtype=np.int64
            )
            reason = res.expectation_config.meta.get("reason") or res.expectation_config.type
            if len(rows):
                reasons[rows] = reasons[rows] + reason + "; "
            elif res.exception_info and res.exception_info.get("raised_exception"):
                raise RuntimeError(
                    f"{name}: expectation {res.expectation_config.type} could not run: "
                    f"{res.exception_info.get('exception_message')}"
                )
    store = gx_context(report_root)
    store.suites.add_or_update(gx.ExpectationSuite(name=name, expectations=expectations))
    for key, res in result.run_results.items():
        store.validation_results_store.set(key, escaped_for_docs(res))
    suite_id = ExpectationSuiteIdentifier(name=name)  # its data docs page is rebuilt too
    return pd.Series(reasons, index=frame.index), [suite_id, *result.run_results]


def escaped_for_docs(run: Any) -> Any:
    """The validation result with every text it reports from the data HTML-escaped, in place.

    GX's data docs put unexpected values into the page as they are: a district of
    `<script>…</script>` in an extract would run in the browser of whoever opens the report.
    Only what came from the extract (the `result` and the exception of each expectation) is
    escaped, after the reasons have been read from it; the suite comes from the contract.
    """
    for res in run.results:
        res.result = _escape_strings(res.result)
        res.exception_info = _escape_strings(res.exception_info)
    return run


def _escape_strings(value: Any) -> Any:
    """`value` with each string in it (not dictionary keys, which GX names) HTML-escaped."""
    if isinstance(value, str):
        return html.escape(value, quote=True)
    if isinstance(value, dict):
        return {k: _escape_strings(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_escape_strings(v) for v in value]
    return value


def _numpy_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with nullable numbers as float64 (NaN for missing) for GX.

    GX compares numpy numbers vectorised but calls a Python function per value for pandas'
    nullable Int64/Float64 (`expect_column_values_to_be_between`: 1.2 s per million rows).
    """
    masked = {
        str(name): col.astype("float64")
        for name, col in frame.items()
        if isinstance(col.dtype, pd.Int64Dtype | pd.Float64Dtype)
    }
    return frame.assign(**masked) if masked else frame


def build_data_docs(report_root: Path, validations: list[Any]) -> None:
    """Render the data docs pages of these validation results and the site's index, once."""
    unique = list(dict.fromkeys(validations))  # a source's suite id comes with each of its slices
    if unique:
        gx_context(report_root).build_data_docs(resource_identifiers=unique)


@functools.cache
def gx_context(report_root: Path) -> Any:
    """The file-backed GX context under the lake's reports folder, one per process: suites,
    validation results and data docs accumulate there."""
    import great_expectations as gx

    report_root.mkdir(parents=True, exist_ok=True)
    context = _quiet(gx.get_context(mode="file", project_root_dir=str(report_root)))
    # The index page reads every validation result it lists, and results accumulate run after
    # run (about 900 per ingest of a million-enterprise city): list the newest ones only. Every
    # result keeps its own page.
    for name, site in (context.variables.data_docs_sites or {}).items():
        index = dict(site.get("site_index_builder") or {"class_name": "DefaultSiteIndexBuilder"})
        if index.get("validation_results_limit") != DATA_DOCS_INDEX_LIMIT:
            index["validation_results_limit"] = DATA_DOCS_INDEX_LIMIT
            context.update_data_docs_site(name, {**site, "site_index_builder": index})
    return context


DATA_DOCS_INDEX_LIMIT = 1_000


def _quiet(context: Any) -> Any:
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return context
