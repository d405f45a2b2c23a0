"""`regulens profile` and `regulens profile show` on the small city."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from features.spec import DIMENSIONS
from pipelines.cli import app
from pipelines.lake import current_version
from pipelines.settings import ProfileSettings, machine_memory_gib

runner = CliRunner(env={"TERMINAL_WIDTH": "200", "COLUMNS": "200"})


@pytest.fixture(scope="module")
def built(ingested_city):
    settings, _ = ingested_city
    result = runner.invoke(
        app,
        ["--json", "--data-home", str(settings.data_home), "profile", "--as-of", "2023-01-01", "--as-of", "2024-01-01"],
    )
    assert result.exit_code == 0, result.output
    return settings, json.loads(result.stdout)


def test_profiles_and_labels_are_stored_per_as_of_date(built) -> None:
    settings, summary = built
    assert [p["as_of"] for p in summary["profiles"]] == ["2023-01-01", "2024-01-01"]
    for p in summary["profiles"]:
        assert p["features"] >= 1000 and p["enterprises"] > 1000 and p["labelled"] > 0
        stored = pd.read_parquet(current_version(settings.lake_dir / "profiles" / f"as_of={p['as_of']}"))
        assert len(stored) == p["enterprises"] and (stored["as_of"].astype(str) == p["as_of"]).all()
        labels = pd.read_parquet(current_version(settings.lake_dir / "labels" / f"as_of={p['as_of']}" / "h=180"))
        assert len(labels) == p["labelled"]
        # Labelled firms missing from the profile were established after the as-of date.
        reg = pd.read_parquet(current_version(settings.lake_dir / "bronze" / "registration")).set_index("uscc")
        newcomers = set(labels["uscc"]) - set(stored["uscc"])
        assert all(str(reg.at[u, "established_date"]) >= p["as_of"] for u in newcomers)
    catalogue = json.loads((settings.lake_dir / "profiles" / "catalogue.json").read_text(encoding="utf-8"))
    assert len(catalogue) >= 1000 and {"zh", "en", "unit", "window", "dimension"} <= set(catalogue[0])


def test_show_prints_the_enterprise_file_as_of_a_date(built) -> None:
    settings, _ = built
    profile = pd.read_parquet(current_version(settings.lake_dir / "profiles" / "as_of=2024-01-01"))
    uscc = profile.sort_values("complaints_count_all").iloc[-1]["uscc"]
    result = runner.invoke(
        app, ["--json", "--data-home", str(settings.data_home), "profile", "show", uscc, "--as-of", "2024-01-01"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["items"] >= 400 and [d["dimension"] for d in doc["dimensions"]] == list(DIMENSIONS)
    assert all(0 <= d["subscore"] <= 100 for d in doc["dimensions"])
    events = doc["timeline"]
    assert any(e["source"] == "complaints" for e in events)
    assert all(e["date"] < "2024-01-01" for e in events)
    human = runner.invoke(
        app, ["--data-home", str(settings.data_home), "profile", "show", uscc, "--as-of", "2024-01-01"]
    )
    assert human.exit_code == 0 and "一户一档" in human.stdout


def test_show_of_an_unknown_code_or_date_exits_2(built) -> None:
    settings, _ = built
    home = str(settings.data_home)
    assert runner.invoke(app, ["--data-home", home, "profile", "show", "NOPE", "--as-of", "2024-01-01"]).exit_code == 2
    assert runner.invoke(app, ["--data-home", home, "profile", "show", "X", "--as-of", "2019-01-01"]).exit_code == 2
    assert runner.invoke(app, ["--data-home", home, "profile", "--as-of", "yesterday"]).exit_code == 2
    assert runner.invoke(app, ["--data-home", home, "profile"]).exit_code == 2
    late = runner.invoke(app, ["--data-home", home, "profile", "--as-of", "2025-12-01"])
    assert late.exit_code == 2 and "runs past the extract date" in late.output


def test_duckdb_is_capped_and_spills_under_the_data_home(ingested_city, tmp_path, monkeypatch) -> None:
    import pipelines.profiles.flow as flow

    settings, _ = ingested_city
    shutil.copytree(settings.lake_dir / "bronze", tmp_path / "lake" / "bronze")  # the shared city stays as is
    capped = settings.model_copy(update={"data_home": tmp_path, "profile": ProfileSettings(duckdb_memory_gib=1.5)})
    seen: dict[str, str] = {}
    real = flow.connect

    def spy(engine, **options):
        con = real(engine, **options)
        query = "select current_setting('memory_limit'), current_setting('temp_directory')"
        seen["memory"], seen["spill"] = con.raw_sql(query).fetchone()
        return con

    monkeypatch.setattr(flow, "connect", spy)
    (result,) = flow.build_profiles(capped, [dt.date(2023, 1, 1)])
    assert result.enterprises > 0
    assert seen == {"memory": "1.5 GiB", "spill": str(tmp_path / "lake" / ".duckdb_spill")}
    # Unset, the cap is 40% of the machine's (or the container's) memory, never under 2 GiB.
    assert ProfileSettings().memory_gib() == pytest.approx(max(2.0, 0.4 * machine_memory_gib()), abs=0.05)
