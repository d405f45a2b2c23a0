"""Each kind of bad input gets a clear reason naming the source and column, is counted, and
nothing else in the batch is lost."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.entity_id import uscc_check_char
from pipelines.ingest.flow import SourceResult, ingest_all
from pipelines.lake import current_version
from pipelines.settings import load_settings
from tests.factories import registration_row, write_csv


def code(body: str) -> str:
    first17 = f"91440604{body:0>9}"[:17]
    return first17 + uscc_check_char(first17)


GOOD = [code(str(i) * 9) for i in range(1, 6)]


def _ingest(home: Path, sources: list[str], max_share: float = 0.05) -> dict[str, SourceResult]:
    settings = load_settings(data_home=home, ingest={"max_quarantine_share": max_share})
    return {s.source: s for s in ingest_all(settings, sources=sources).sources}


def _bronze(home: Path, source: str) -> pd.DataFrame:
    return pd.read_parquet(current_version(home / "lake" / "bronze" / source))


def _quarantine(home: Path, source: str) -> pd.DataFrame:
    return pd.read_parquet(current_version(home / "lake" / "quarantine" / source))


def _good_registrations(home: Path, extra: list[dict[str, object]] | None = None) -> None:
    rows = [registration_row(c, name=f"佛山市禅城区恒{i}五金有限公司") for i, c in enumerate(GOOD)]
    write_csv(home, "registration", rows + (extra or []))


def _roster(home: Path) -> None:
    write_csv(
        home,
        "inspectors",
        [
            {
                "inspector_id": "ZF440600001",
                "name": "陈伟",
                "station": "祖庙市场监督管理所",
                "station_town": "祖庙街道",
                "district": "禅城区",
                "expertise": "食品安全",
                "active_since": "2015-01-01",
                "knowledge_date": "2015-01-01",
            }
        ],
    )


def _assert_conserved(result: SourceResult) -> None:
    assert result.rows_in == result.rows_accepted + result.rows_quarantined


def test_missing_column_quarantines_that_file_only(data_home: Path) -> None:
    write_csv(data_home, "registration", [registration_row(c) for c in GOOD])
    frame = pd.read_csv(data_home / "raw" / "registration" / "part-00000.csv").drop(columns="成立日期")
    frame.to_csv(data_home / "raw" / "registration" / "part-00000.csv", index=False)
    _roster(data_home)
    results = _ingest(data_home, ["registration", "inspectors"])
    reg = results["registration"]
    assert not reg.ok and "registration" in reg.failure and "成立日期（established_date）" in reg.failure
    assert reg.rows_quarantined == 5 and reg.rows_accepted == 0
    assert "missing column" in next(iter(reg.reasons)) and next(iter(reg.reasons.values())) == 5
    assert results["inspectors"].ok and len(_bronze(data_home, "inspectors")) == 1
    _assert_conserved(reg)


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        (
            "registered_capital_wan",
            "一百万",
            "注册资本（万元）（registered_capital_wan）应为数值 / expected float, got '一百万'",
        ),
        ("established_date", "2023-02-30", "成立日期（established_date）应为日期 / expected date, got '2023-02-30'"),
        ("uscc", GOOD[0][:17] + ("0" if GOOD[0][17] != "0" else "1"), "wrong GB 32100 check character"),
        ("knowledge_date", "2031-01-01", "knowledge date after the extract date (in the future)"),
        ("status", "营业中", "status 取值不在允许范围 / value not allowed"),
        ("uscc", None, "统一社会信用代码（uscc）为空 / required value missing"),
    ],
)
def test_bad_value_quarantines_its_row_with_the_reason(
    data_home: Path, column: str, value: object, reason: str
) -> None:
    bad = {**registration_row(code("777777777")), column: value}
    _good_registrations(data_home, [bad])
    reg = _ingest(data_home, ["registration"], max_share=0.5)["registration"]
    assert reg.ok  # one bad row in six: below the failure threshold set here
    assert (reg.rows_accepted, reg.rows_quarantined) == (5, 1)
    q = _quarantine(data_home, "registration")
    assert q["row"].tolist() == [5] and reason in q["reason"].iat[0]
    assert reg.reasons and sum(reg.reasons.values()) >= 1
    assert set(_bronze(data_home, "registration")["uscc"]) == set(GOOD)


def test_duplicate_key_keeps_the_first_and_quarantines_the_copy(data_home: Path) -> None:
    _good_registrations(data_home, [registration_row(GOOD[2], name="重复的企业")])
    reg = _ingest(data_home, ["registration"], max_share=0.5)["registration"]
    q = _quarantine(data_home, "registration")
    assert reg.rows_quarantined == 1 and "duplicate primary key" in q["reason"].iat[0]
    assert "重复的企业" in q["raw"].iat[0]


def test_duplicate_key_across_files_of_one_source_is_caught(data_home: Path) -> None:
    _good_registrations(data_home)
    write_csv(data_home, "registration", [registration_row(GOOD[0])], name="part-00001.csv")
    reg = _ingest(data_home, ["registration"], max_share=0.5)["registration"]
    assert (reg.rows_accepted, reg.rows_quarantined) == (5, 1)


def test_record_dated_before_the_enterprise_existed_is_quarantined(data_home: Path) -> None:
    _good_registrations(data_home)
    penalty = {
        "uscc": GOOD[0],
        "knowledge_date": "2020-03-01",
        "violation_type": "违反《中华人民共和国广告法》",
        "penalty_kind": "罚款",
        "fine_yuan": 5000,
    }
    write_csv(
        data_home,
        "penalties",
        [
            {**penalty, "decision_date": "2020-02-01"},
            {**penalty, "decision_date": "2010-02-01"},
            {**penalty, "decision_date": "2020-02-02", "uscc": code("123123123")},
        ],
    )
    pen = _ingest(data_home, ["registration", "penalties"], max_share=1.0)["penalties"]
    q = _quarantine(data_home, "penalties").set_index("row")["reason"]
    assert pen.rows_accepted == 1
    assert "decision_date 早于企业成立日期 / dated before the enterprise existed" in q[1]
    assert "credit code not among the accepted registration rows" in q[2]


def test_with_no_registration_row_accepted_every_record_is_an_unknown_entity(data_home: Path) -> None:
    bad = GOOD[0][:-1] + ("0" if GOOD[0][-1] != "0" else "1")  # wrong check character
    write_csv(data_home, "registration", [registration_row(bad)])
    penalty = {
        "uscc": GOOD[0],
        "knowledge_date": "2020-03-01",
        "decision_date": "2020-02-01",
        "violation_type": "违反《中华人民共和国广告法》",
        "penalty_kind": "罚款",
        "fine_yuan": 5000,
    }
    write_csv(data_home, "penalties", [penalty])
    results = _ingest(data_home, ["registration", "penalties"], max_share=1.0)
    assert results["registration"].rows_accepted == 0
    pen = results["penalties"]
    assert (pen.rows_in, pen.rows_quarantined) == (1, 1)
    assert "credit code not among the accepted registration rows" in _quarantine(data_home, "penalties")["reason"][0]


@pytest.mark.parametrize(
    "payload",
    [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), b"<html><body>502 Bad Gateway</body></html>"],
)
def test_a_file_that_is_not_csv_is_kept_whole_and_the_rest_is_ingested(data_home: Path, payload: bytes) -> None:
    _good_registrations(data_home)
    (data_home / "raw" / "registration" / "part-00001.csv").write_bytes(payload)
    reg = _ingest(data_home, ["registration"])["registration"]
    assert not reg.ok and "registration" in reg.failure and "part-00001.csv" in reg.failure
    lines = payload.count(b"\n")
    assert reg.unreadable_files == [f"part-00001.csv ({lines} lines)"]
    assert reg.rows_accepted == 5
    # The source failed, so neither its bronze nor its quarantine is published; the run's
    # quarantine, which the failure names, keeps the file.
    quarantine = data_home / "lake" / "quarantine" / "registration"
    (kept,) = quarantine.glob("*/files/part-00001.csv")
    assert current_version(quarantine) is None and str(kept.parents[1]) in reg.failure
    assert kept.read_bytes() == payload


def test_full_width_codes_and_slashed_dates_are_normalised(data_home: Path) -> None:
    full_width = GOOD[0].translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    rows = [registration_row(full_width, established_date="2019/05/01")] + [registration_row(c) for c in GOOD[1:]]
    write_csv(data_home, "registration", rows)
    reg = _ingest(data_home, ["registration"])["registration"]
    bronze = _bronze(data_home, "registration")
    assert reg.rows_quarantined == 0
    assert GOOD[0] in set(bronze["uscc"]) and str(bronze["established_date"].iat[0]) == "2019-05-01"


def test_unknown_source_and_missing_extracts_are_reported(data_home: Path) -> None:
    settings = load_settings(data_home=data_home)
    with pytest.raises(FileNotFoundError, match="run `regulens generate` first"):
        ingest_all(settings)
    _good_registrations(data_home)
    with pytest.raises(FileNotFoundError, match="no contract for source"):
        ingest_all(settings, sources=["registrations"])
    missing = ingest_all(settings, sources=["penalties"]).sources[0]
    assert not missing.ok and "no extract files" in missing.failure


def test_a_source_that_fails_its_check_keeps_the_previous_bronze_version(data_home: Path) -> None:
    _good_registrations(data_home)
    _ingest(data_home, ["registration"])
    table = data_home / "lake" / "bronze" / "registration"
    quarantine = data_home / "lake" / "quarantine" / "registration"
    good = current_version(table)
    assert good is not None and current_version(quarantine) == quarantine / good.name
    (data_home / "raw" / "registration" / "part-00001.csv").write_bytes(b"\x00 broken export")
    reg = _ingest(data_home, ["registration"])["registration"]
    assert not reg.ok
    assert current_version(table) == good and len(_bronze(data_home, "registration")) == 5
    # The quarantine in use stays the one that goes with that bronze version; this run's is kept
    # in its own folder, which the failure names, so the reason can be read.
    assert current_version(quarantine) == quarantine / good.name
    (failed,) = [p for p in quarantine.iterdir() if p.is_dir() and p.name != good.name]
    assert str(failed) in reg.failure and (failed / "files" / "part-00001.csv").is_file()


def test_a_clean_copy_after_a_rejected_row_is_accepted(data_home: Path) -> None:
    rejected = {**registration_row(GOOD[0]), "established_date": "不详"}
    write_csv(data_home, "registration", [rejected] + [registration_row(c) for c in GOOD])
    reg = _ingest(data_home, ["registration"], max_share=0.5)["registration"]
    assert (reg.rows_accepted, reg.rows_quarantined) == (5, 1)
    assert "duplicate" not in _quarantine(data_home, "registration")["reason"].iat[0]
