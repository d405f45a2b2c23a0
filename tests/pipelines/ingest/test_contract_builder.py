"""Contracts written from a jurisdiction's sources.yaml, and the Chicago settings that point at them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.ingest.contract_builder import build_contracts
from pipelines.settings import PROJECT_ROOT, load_settings

CHICAGO = PROJECT_ROOT / "data" / "jurisdictions" / "chicago"
BODY = """    description: shops
    format: csv
    entity_key: null
    knowledge_date: null
    primary_key: [shop_id]
    columns:
      - {name: shop_id, header: ID, type: int}
"""


def test_committed_chicago_contracts_are_what_the_spec_builds(tmp_path: Path) -> None:
    written = build_contracts(CHICAGO / "sources.yaml", tmp_path)
    assert {p.name for p in written} == {p.name for p in (CHICAGO / "contracts").glob("*.json")}
    for path in written:
        committed = json.loads((CHICAGO / "contracts" / path.name).read_text(encoding="utf-8"))
        assert json.loads(path.read_text(encoding="utf-8")) == committed, f"rebuild {path.name}: it is stale"


def test_spec_rules_become_expectations(tmp_path: Path) -> None:
    spec = tmp_path / "sources.yaml"
    spec.write_text(
        """department: test
sources:
  shops:
    description: shops
    format: csv
    entity_key: shop_id
    knowledge_date: opened
    primary_key: [shop_id]
    columns:
      - {name: shop_id, header: ID, type: int}
      - {name: opened, header: Opened, type: date}
      - {name: kind, header: Kind, type: string, required: false}
    expect:
      - {column: kind, in_set: [bakery, butcher]}
      - {column: shop_id, between: [1, 999]}
""",
        encoding="utf-8",
    )
    (path,) = build_contracts(spec, tmp_path / "out")
    suite = json.loads(path.read_text(encoding="utf-8"))
    kinds = [(e["type"], e["kwargs"]["column"]) for e in suite["expectations"]]
    assert ("expect_column_values_to_not_be_null", "shop_id") in kinds
    assert ("expect_column_values_to_not_be_null", "kind") not in kinds  # optional column
    assert ("expect_column_values_to_be_in_set", "kind") in kinds
    assert ("expect_column_values_to_be_between", "shop_id") in kinds
    assert ("expect_column_values_to_be_in_set", "primary_key__first_occurrence") in kinds
    assert suite["meta"]["regulens"]["entity_key"] == "shop_id"


def test_spec_naming_an_unknown_column_fails_with_the_source(tmp_path: Path) -> None:
    spec = tmp_path / "sources.yaml"
    spec.write_text(
        """sources:
  shops:
    description: shops
    format: csv
    entity_key: shop_id
    knowledge_date: opened
    primary_key: [shop_id]
    columns:
      - {name: shop_id, header: ID, type: int}
""",
        encoding="utf-8",
    )
    with pytest.raises(Exception, match="opened"):
        build_contracts(spec, tmp_path / "out")


def test_rule_without_a_check_is_refused(tmp_path: Path) -> None:
    spec = tmp_path / "sources.yaml"
    spec.write_text("sources:\n  shops:\n" + BODY + "    expect:\n      - {column: shop_id}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="in_set, between or regex"):
        build_contracts(spec, tmp_path / "out")


def test_jurisdiction_paths_resolve_against_the_settings_file() -> None:
    settings = load_settings(CHICAGO / "regulens.yaml")
    assert settings.contracts_dir == CHICAGO / "contracts"
    assert settings.raw_dir == (CHICAGO / "../../realdata/chicago_food_inspections")
    assert (settings.raw_dir / "inspections.csv.gz").is_file()
    assert settings.profile_spec == CHICAGO / "profile.yaml"
    assert settings.data_home == Path("data/chicago")  # output stays relative to the working directory


def test_gzip_extracts_are_read_and_a_corrupt_one_is_unreadable(tmp_path: Path) -> None:
    import gzip

    from pipelines.ingest.contracts import load_contract
    from pipelines.ingest.normalise import UnreadableExtract, read_extract

    contract = load_contract(CHICAGO / "contracts" / "weather.json")
    good = tmp_path / "weather.csv.gz"
    good.write_bytes(gzip.compress(b"precipIntensity,temperatureMax,windSpeed,humidity,date\n0.0,50.1,3.2,0.5,2014-01-02\n"))
    batch = read_extract(good, contract)
    assert batch.frame.loc[0, "temperature_max"] == "50.1" and not batch.missing_columns
    bad = tmp_path / "broken.csv.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00 this is not a gzip stream")
    with pytest.raises(UnreadableExtract, match="broken.csv.gz"):
        read_extract(bad, contract)


@pytest.mark.parametrize(
    "sources, message",
    [
        ("  shops: null\n", "must be a mapping"),
        ("  shops:\n" + BODY + "    expect: [oops]\n", "mapping"),
        ("  shops:\n" + BODY + "    expect:\n      - {column: shop_id, between: [1]}\n", "needs \\[low, high\\]"),
        ("  shops:\n" + BODY + "    expect:\n      - {column: shop_idd, in_set: [1]}\n", "shop_idd"),
    ],
)
def test_a_bad_spec_writes_nothing(tmp_path: Path, sources: str, message: str) -> None:
    spec = tmp_path / "sources.yaml"
    good = "  bakeries:\n" + BODY.replace("shop_id", "bakery_id")
    spec.write_text("sources:\n" + good + sources, encoding="utf-8")
    out = tmp_path / "contracts"
    with pytest.raises(ValueError, match=message):
        build_contracts(spec, out)
    assert not out.exists() or not any(out.iterdir())  # not even the good source's contract
