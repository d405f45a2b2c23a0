"""Write a jurisdiction's data contracts from one short YAML description of its sources.

A contract is a Great Expectations suite with a `meta.regulens` block (see `contracts.py`). Writing
those JSON files by hand is long and error-prone, so a jurisdiction describes its sources once:

```yaml
department: Chicago Department of Public Health
sources:
  inspections:
    description: canvass food inspections and their results
    format: csv
    files: inspections.csv.gz        # glob under the raw folder
    entity_key: license
    knowledge_date: inspection_date
    event_date: inspection_date
    primary_key: [inspection_id]
    columns:
      - {name: inspection_id, header: Inspection_ID, type: int}
      - {name: results, header: Results, type: string}
    expect:
      - {column: results, in_set: [Pass, Fail, Pass w/ Conditions]}
      - {column: latitude, between: [41.6, 42.1]}
```

and `regulens contracts build SPEC --out DIR` writes one contract per source. Every required
column gets a not-null expectation, every contract the knowledge-date and duplicate-key checks,
and `expect` adds value sets and ranges. The JSON files are what ingestion reads and what gets
committed and reviewed.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from pipelines.ingest.contracts import ContractMeta, load_contract
from pipelines.storage import write_text_atomic

UNIQUE_REASON = "主键重复 / duplicate primary key (first occurrence kept)"
FUTURE_REASON = "入库日期晚于数据提取日期 / knowledge date after the extract date (in the future)"


def build_contracts(spec_path: Path, out_dir: Path) -> list[Path]:
    """Write `<out_dir>/<source>.json` for every source in the spec; returns the paths written.

    Every contract is built and checked (as `load_contract` will read it) before any is written,
    so a spec with a mistake leaves the contracts folder as it was."""
    try:
        spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ValueError(f"{spec_path}: cannot read the sources spec: {err}") from err
    if not isinstance(spec, dict) or not isinstance(spec.get("sources"), dict):
        raise ValueError(f"{spec_path}: expected a mapping with `department` and `sources`")
    suites = {}
    for source, body in spec["sources"].items():
        if not isinstance(body, dict):
            raise ValueError(f"{spec_path}: source {source!r} must be a mapping of its settings, got {body!r}")
        try:
            suites[source] = contract_suite(source, {"department": spec.get("department", ""), **body})
        except ValidationError as err:
            raise ValueError(f"{spec_path}: source {source!r} is not a valid contract: {err}") from err
    with tempfile.TemporaryDirectory() as scratch:
        for source, suite in suites.items():
            trial = Path(scratch) / f"{source}.json"
            trial.write_text(json.dumps(suite, ensure_ascii=False), encoding="utf-8")
            load_contract(trial)
    written = []
    for source, suite in suites.items():
        path = out_dir / f"{source}.json"
        write_text_atomic(json.dumps(suite, ensure_ascii=False, indent=1) + "\n", path)
        written.append(path)
    return written


def contract_suite(source: str, body: dict[str, Any]) -> dict[str, Any]:
    """The GX suite (with its `meta.regulens` block) for one source's description."""
    body = dict(body)
    expect = body.pop("expect", []) or []
    meta = ContractMeta.model_validate({"source": source, **body})
    declared = {c.name for c in meta.columns}
    expectations: list[dict[str, Any]] = []
    for col in meta.columns:
        if col.required:
            reason = f"{col.header}（{col.name}）为空 / required value missing"
            expectations.append(_expectation("expect_column_values_to_not_be_null", col.name, reason))
    for rule in expect:
        if not isinstance(rule, dict):
            raise ValueError(f"{source}: each `expect` rule is a mapping (column, in_set|between|regex), got {rule!r}")
        if rule.get("column") not in declared:
            raise ValueError(f"{source}: `expect` names column {rule.get('column')!r}, which is not one of its columns")
        expectations.append(_rule(source, rule))
    if meta.knowledge_date is not None:
        expectations.append(
            _expectation("expect_column_values_to_be_in_set", "knowledge_date__not_in_future", FUTURE_REASON, [True])
        )
    expectations.append(
        _expectation("expect_column_values_to_be_in_set", "primary_key__first_occurrence", UNIQUE_REASON, [True])
    )
    return {"name": source, "expectations": expectations, "meta": {"regulens": meta.model_dump()}}


def _rule(source: str, rule: dict[str, Any]) -> dict[str, Any]:
    column = rule.get("column")
    if not column:
        raise ValueError(f"{source}: every `expect` rule needs a `column`, got {rule}")
    if "in_set" in rule:
        values = list(rule["in_set"])
        reason = f"{column} 不在允许值 {values} 中 / not an allowed value"
        return _expectation("expect_column_values_to_be_in_set", column, reason, values)
    if "between" in rule:
        if not isinstance(rule["between"], list) or len(rule["between"]) != 2:
            raise ValueError(f"{source}: `between` on {column} needs [low, high], got {rule['between']!r}")
        low, high = rule["between"]
        reason = f"{column} 超出范围 [{low}, {high}] / outside the allowed range"
        body = _expectation("expect_column_values_to_be_between", column, reason)
        body["kwargs"].update(min_value=low, max_value=high)
        return body
    if "regex" in rule:
        reason = f"{column} 格式不符 {rule['regex']} / does not match the expected format"
        body = _expectation("expect_column_values_to_match_regex", column, reason)
        body["kwargs"]["regex"] = rule["regex"]
        return body
    raise ValueError(f"{source}: an `expect` rule needs in_set, between or regex, got {rule}")


def _expectation(kind: str, column: str, reason: str, value_set: list[Any] | None = None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"column": column}
    if value_set is not None:
        kwargs["value_set"] = value_set
    return {"type": kind, "kwargs": kwargs, "meta": {"reason": reason}}
