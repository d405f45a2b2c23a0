import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.entity_id import uscc_valid_mask
from pipelines.ingest.contracts import load_contracts
from pipelines.synthetic.flow import generate_city
from pipelines.synthetic.spec import CitySpec
from tests.factories import settings_for

TARGET = 0.176


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "MANIFEST.json"
    }


def test_same_seed_gives_the_same_city_and_another_seed_does_not(tmp_path: Path) -> None:
    a = settings_for(tmp_path / "a", enterprises=400, seed=3)
    b = settings_for(tmp_path / "b", enterprises=400, seed=3)
    c = settings_for(tmp_path / "c", enterprises=400, seed=4)
    for s in (a, b, c):
        generate_city(s)
    assert _digest(a.raw_dir) == _digest(b.raw_dir)
    assert _digest(a.ground_truth_dir) == _digest(b.ground_truth_dir)
    assert _digest(a.raw_dir) != _digest(c.raw_dir)


def test_every_contracted_source_is_written_with_at_least_four_years(small_city) -> None:
    settings, summary = small_city
    contracts = load_contracts(settings.contracts_dir)
    assert set(summary.rows_by_source) == set(contracts)
    assert len(contracts) >= 16
    for source, contract in contracts.items():
        if source in ("inspectors", "government_bodies"):
            continue  # rosters: one row per person / body
        if contract.meta.format == "csv":
            frame = pd.concat(pd.read_csv(p, dtype=str) for p in (settings.raw_dir / source).glob("*.csv"))
        else:
            frame = pd.read_parquet(settings.raw_dir / source)
        header = contract.meta.column(contract.meta.knowledge_date).header
        dates = pd.to_datetime(frame[header], errors="coerce")
        assert (dates.max() - dates.min()).days >= 4 * 365, source


def test_registration_codes_are_valid_and_unique(small_city) -> None:
    settings, summary = small_city
    reg = pd.read_csv(settings.raw_dir / "registration" / "part-00000.csv", dtype=str)
    codes = reg["统一社会信用代码"].dropna()
    valid = uscc_valid_mask(codes.to_numpy(dtype=object))
    defects = pd.read_parquet(settings.ground_truth_dir / "defects")
    bad_in_file = defects[
        (defects["file"] == "registration/part-00000.csv") & (defects["kind"] == "bad_check_character")
    ]
    assert (~valid).sum() == len(bad_in_file)
    truth = pd.read_parquet(settings.ground_truth_dir / "enterprises")
    assert truth["uscc"].is_unique and len(truth) == summary.enterprises


def test_city_has_districts_individual_businesses_and_shared_addresses(small_city) -> None:
    settings, _ = small_city
    reg = pd.concat(pd.read_csv(p, dtype=str) for p in (settings.raw_dir / "registration").glob("*.csv"))
    assert set(reg["所属区"].dropna()) == {"禅城区", "南海区", "顺德区", "高明区", "三水区"}
    assert (reg["企业类型"] == "个体工商户").mean() > 0.4
    shared = reg["住所"].str.replace(r"之\d+室?$", "", regex=True).value_counts()
    assert shared.iloc[0] >= 5  # a 集中登记地 hosts many firms


def test_complaint_texts_are_chinese(small_city) -> None:
    settings, _ = small_city
    complaints = pd.read_csv(next((settings.raw_dir / "complaints").glob("*.csv")), dtype=str)
    texts = complaints["投诉内容"].dropna()
    assert len(texts) > 100
    assert texts.str.contains(r"[\u4e00-\u9fff]{4,}").mean() > 0.99


def test_uniform_random_inspection_finds_a_violation_about_176_in_1000(small_city) -> None:
    """On the ground truth: inspect a uniform random sample of active enterprise-quarters with random
    inspector pairs; the share that finds a violation is Foshan's 17.6% +- 2 points."""
    settings, _ = small_city
    truth = pd.read_parquet(settings.ground_truth_dir / "violations")
    detection = pd.read_parquet(settings.ground_truth_dir / "inspectors")["detection_rate"].to_numpy()
    rng = np.random.default_rng(0)
    sample = truth.iloc[rng.choice(len(truth), size=min(len(truth), 40_000), replace=False)]
    pair = detection[rng.integers(0, len(detection), (len(sample), 2))].mean(axis=1)
    found = sample["violating"].to_numpy() & (rng.random(len(sample)) < pair)
    assert abs(found.mean() - TARGET) < 0.02


@pytest.mark.slow
def test_recorded_random_draws_find_violations_at_foshans_rate(tmp_path: Path) -> None:
    """The observed labels of the historical uniform draws (20,000 firms, ~7,000 draws) agree too."""
    settings = settings_for(tmp_path, enterprises=20_000, seed=5, defect_rate=0.0)
    generate_city(settings)
    inspections = pd.read_parquet(settings.raw_dir / "inspections")
    drawn = inspections[inspections["inspection_type"] == "双随机抽查"]
    assert len(drawn) > 5_000
    assert abs(drawn["violation_found"].mean() - TARGET) < 0.02
    assert drawn["inclusion_probability"].between(0, 1).all()
    # Complaint-triggered checks are not random: they find far more, the selection bias models must handle.
    triggered = inspections[inspections["inspection_type"] == "投诉举报核查"]
    assert triggered["violation_found"].mean() > 2 * drawn["violation_found"].mean()


def test_the_ground_truth_records_the_log_odds_weights_it_was_generated_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ground_truth/logit.json holds the weights and intercept; the Bayes-bound benchmark reads the
    disposition's weight from it, so it must be the weight the propensities carry."""
    import json

    from pipelines.synthetic.population import LOGIT

    usual = settings_for(tmp_path / "usual", enterprises=400, seed=3)
    summary = generate_city(usual)
    recorded = json.loads((usual.ground_truth_dir / "logit.json").read_text(encoding="utf-8"))
    assert recorded == {"weights": LOGIT, "intercept": summary.intercept}

    # The same city without the hidden disposition and without the spec's industry and type risks.
    monkeypatch.setitem(LOGIT, "z", 0.0)
    monkeypatch.setitem(LOGIT, "industry_and_type", 0.0)
    without = settings_for(tmp_path / "without", enterprises=400, seed=3)
    generate_city(without)
    weights = json.loads((without.ground_truth_dir / "logit.json").read_text(encoding="utf-8"))["weights"]
    assert weights["z"] == 0.0 and weights["industry_and_type"] == 0.0
    a = pd.read_parquet(usual.ground_truth_dir / "enterprises")
    b = pd.read_parquet(without.ground_truth_dir / "enterprises")
    assert a["uscc"].tolist() == b["uscc"].tolist()
    spec = CitySpec.load(usual.city_spec)
    industry_and_type = (
        np.array([i.risk for i in spec.industries])[a["industry_idx"]]
        + np.array([t.risk for t in spec.enterprise_types])[a["type_idx"]]
    )
    usual_weights = recorded["weights"]
    expected = usual_weights["z"] * a["z"] + usual_weights["industry_and_type"] * industry_and_type
    np.testing.assert_allclose(a["static_logit"] - b["static_logit"], expected, atol=1e-9)
