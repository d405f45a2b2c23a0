"""Ingesting the small synthetic city: conservation, every injected defect caught, linking."""

import json

import pandas as pd

from pipelines.ingest.flow import ingest_all
from pipelines.lake import current_version
from pipelines.synthetic.extracts import DEFECT_KINDS


def test_rows_in_equals_accepted_plus_quarantined_for_every_source(ingested_city) -> None:
    settings, result = ingested_city
    assert len(result.sources) >= 16
    for s in result.sources:
        assert s.rows_in == s.rows_accepted + s.rows_quarantined, s.source
        assert s.ok, (s.source, s.failure)
        bronze = pd.read_parquet(current_version(settings.lake_dir / "bronze" / s.source))
        assert len(bronze) == s.rows_accepted
        if s.rows_quarantined:
            quarantined = pd.read_parquet(current_version(settings.lake_dir / "quarantine" / s.source))
            assert len(quarantined) == s.rows_quarantined
            assert quarantined["reason"].str.len().gt(0).all()


def test_every_injected_defect_is_quarantined_with_its_reason(ingested_city) -> None:
    settings, _ = ingested_city
    defects = pd.read_parquet(settings.ground_truth_dir / "defects")
    assert set(defects["kind"]) == set(DEFECT_KINDS)
    quarantined = pd.concat(
        pd.read_parquet(current_version(settings.lake_dir / "quarantine" / src)) for src in defects["source"].unique()
    )
    quarantined["file"] = quarantined["source"] + "/" + quarantined["file"]
    found = defects.merge(quarantined, on=["source", "file", "row"], how="left")
    assert found["reason"].notna().all(), found[found["reason"].isna()]
    expected_words = {
        "bad_check_character": "check character",
        "unparseable_date": "expected date",
        "future_knowledge_date": "in the future",
        "before_establishment": "before the enterprise",
        "duplicate_row": "duplicate primary key",
        "missing_key": "required value missing",
    }
    for kind, word in expected_words.items():
        rows = found[found["kind"] == kind]
        assert rows["reason"].str.contains(word).all(), (kind, rows["reason"].tolist()[:3])


def test_quarantine_keeps_the_raw_text_of_each_row(ingested_city) -> None:
    settings, _ = ingested_city
    q = pd.read_parquet(current_version(settings.lake_dir / "quarantine" / "registration"))
    raw = json.loads(q["raw"].iat[0])
    assert {"uscc", "name", "established_date"} <= set(raw)


def test_complaints_without_a_code_are_linked_by_name_and_address(ingested_city) -> None:
    settings, result = ingested_city
    complaints = pd.read_parquet(current_version(settings.lake_dir / "bronze" / "complaints"))
    truth = pd.read_parquet(settings.ground_truth_dir / "complaint_entities")
    merged = complaints.merge(truth, on="complaint_id")
    by_name = merged[merged["uscc"].isna()]
    linked = by_name[by_name["link_method"] == "name_address"]
    precision = (linked["entity_uscc"] == linked["true_uscc"]).mean()
    recall = (by_name["entity_uscc"] == by_name["true_uscc"]).mean()
    assert precision > 0.97 and recall > 0.6, (precision, recall)
    assert linked["link_confidence"].between(settings.ingest.link_threshold, 1).all()
    coded = merged[merged["uscc"].notna()]
    assert (coded["link_method"] == "credit_code").all() and (coded["link_confidence"] == 1).all()


def test_reports_are_written_as_json_and_gx_data_docs(ingested_city) -> None:
    settings, result = ingested_city
    summary = json.loads((result.report_dir / "summary.json").read_text(encoding="utf-8"))
    assert {s["source"] for s in summary["sources"]} == {s.source for s in result.sources}
    assert result.data_docs.is_file()
    assert "registration" in result.data_docs.read_text(encoding="utf-8")


def test_sources_ingested_by_worker_processes_match_the_serial_run(ingested_city, tmp_path) -> None:
    settings, serial = ingested_city
    parallel_settings = settings.model_copy(
        update={
            "data_home": tmp_path,
            "raw_home": settings.raw_dir,
            "ingest": settings.ingest.model_copy(update={"workers": 2}),
        }
    )
    parallel = ingest_all(parallel_settings)

    def summary(result):
        return [(s.source, s.rows_accepted, s.rows_quarantined, s.reasons, s.failure) for s in result.sources]

    assert summary(parallel) == summary(serial)
    for source in ("registration", "complaints", "electricity"):
        a = pd.read_parquet(current_version(settings.lake_dir / "bronze" / source))
        b = pd.read_parquet(current_version(parallel_settings.lake_dir / "bronze" / source))
        pd.testing.assert_frame_equal(a, b)
    # Every worker's GX results reach the one data docs site.
    assert "electricity" in parallel.data_docs.read_text(encoding="utf-8")
    assert (parallel.data_docs.parent / "expectations" / "electricity.html").is_file()

    # One source on its own is checked against the registration published above (read back
    # from bronze): the same rows pass, including the monthly records' establishment check.
    alone = ingest_all(parallel_settings, sources=["electricity"])
    assert summary(alone) == [x for x in summary(serial) if x[0] == "electricity"]
