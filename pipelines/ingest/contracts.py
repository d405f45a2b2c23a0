"""Data contracts: one Great Expectations suite per source, in `data/contracts/<source>.json`.

The suite's `meta.regulens` block holds what GX does not: the file format, the raw header of
each column, its type, the entity key, the knowledge date and the primary key. A new
jurisdiction adds a source by adding such a file, not by editing code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, ValidationError

ColumnType = Literal["string", "uscc", "date", "int", "float", "bool"]


class ContractError(ValueError):
    """A contract file is missing or malformed."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnSpec(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    header: str  # the column's name in the department's file
    type: ColumnType
    required: bool = True
    description: str = ""


class NameAddressLink(_Strict):
    """Rows without an entity key are linked by name + address matching on these columns."""

    name_column: str
    address_column: str


class ContractMeta(_Strict):
    source: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    department: str
    format: Literal["csv", "parquet"]
    description: str
    entity_key: str | None  # the entity's key column (a `uscc` credit code, a licence number), or None
    # When the row became known; None for records joined to an event that dates them (an
    # inspector assignment is known when its inspection is).
    knowledge_date: str | None
    primary_key: list[str]
    columns: list[ColumnSpec]
    # Records dated before the entity existed are impossible; `event_month` compares months only
    # (monthly bills are dated to the first of a month a firm may have opened in).
    event_date: str | None = None
    event_month: bool = False
    link: NameAddressLink | None = None
    # Where the extract files are, as a glob under the raw folder; default `<source>/*`.
    files: str | None = None

    def column(self, name: str) -> ColumnSpec:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)


class Contract(_Strict):
    meta: ContractMeta
    suite: dict[str, Any]  # the Great Expectations suite, as stored

    @property
    def source(self) -> str:
        return self.meta.source

    @property
    def headers(self) -> dict[str, str]:
        """Raw header -> canonical column name."""
        return {c.header: c.name for c in self.meta.columns}


ARROW_TYPES = {
    "string": pa.string(),
    "uscc": pa.string(),
    "date": pa.date32(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
}
PROVENANCE = [pa.field("_source_file", pa.string()), pa.field("_source_row", pa.int64())]
LINK_FIELDS = [
    pa.field("entity_uscc", pa.string()),
    pa.field("link_method", pa.string()),
    pa.field("link_confidence", pa.float64()),
]


def bronze_schema(contract: Contract) -> pa.Schema:
    """The Arrow schema of a source's bronze table: contract columns, provenance, link columns."""
    fields = [pa.field(c.name, ARROW_TYPES[c.type]) for c in contract.meta.columns]
    return pa.schema(fields + PROVENANCE + (LINK_FIELDS if contract.meta.link else []))


def load_contract(path: Path) -> Contract:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ContractError(f"{path}: cannot read the contract: {err}") from err
    try:
        meta = ContractMeta.model_validate(raw.get("meta", {}).get("regulens"))
    except ValidationError as err:
        raise ContractError(f"{path}: meta.regulens is not a valid contract: {err}") from err
    names = {c.name for c in meta.columns}
    for needed in [meta.knowledge_date, *meta.primary_key, meta.entity_key, meta.event_date]:
        if needed is not None and needed not in names:
            raise ContractError(f"{path}: {needed!r} is named in the contract but is not one of its columns")
    if meta.source != path.stem:
        raise ContractError(f"{path}: meta.regulens.source is {meta.source!r}, expected the file name {path.stem!r}")
    return Contract(meta=meta, suite=raw)


def load_contracts(directory: Path) -> dict[str, Contract]:
    """Every contract in a directory, by source name, in a stable order."""
    paths = sorted(directory.glob("*.json"))
    if not paths:
        raise ContractError(f"{directory}: no contracts (*.json) found")
    return {p.stem: load_contract(p) for p in paths}
