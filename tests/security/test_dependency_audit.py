"""Issue 23, defect 16: a dependency audit that could not reach any vulnerability database said
"No known vulnerabilities found" (pip-audit skips each package it cannot look up and exits 0).
`make audit` (.ci/audit.py) must never call such a run clean. Canned pip-audit reports, no network."""

from __future__ import annotations

import importlib.util
import json
import shlex
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_audit() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ci_audit", ROOT / ".ci" / "audit.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


audit = load_audit()
LOCK = "numpy==2.3.1\n    # via regulens\npandas==3.0.0\nPyYAML==6.0.2\n"


def dep(name: str, version: str, *vulns: dict) -> dict:
    return {"name": name, "version": version, "vulns": list(vulns)}


def skipped(name: str, version: str) -> dict:  # exactly what pip-audit 2.10 wrote from this machine
    return {"name": name, "skip_reason": f"Dependency not found on PyPI and could not be audited: {name} ({version})"}


CVE = {"id": "PYSEC-2099-1", "fix_versions": ["3.0.1"], "aliases": ["CVE-2099-0001"], "description": "x"}
REPORTS = {
    "every package skipped": ({"dependencies": [skipped("numpy", "2.3.1"), skipped("pandas", "3.0.0"),
                                                skipped("pyyaml", "6.0.2")], "fixes": []}, audit.NOT_AUDITED),
    "one package skipped": ({"dependencies": [dep("numpy", "2.3.1"), skipped("pandas", "3.0.0"),
                                              dep("pyyaml", "6.0.2")], "fixes": []}, audit.NOT_AUDITED),
    "a package missing": ({"dependencies": [dep("numpy", "2.3.1"), dep("pandas", "3.0.0")]}, audit.NOT_AUDITED),
    "an empty report": ({"dependencies": []}, audit.NOT_AUDITED),
    "no report at all": ({}, audit.NOT_AUDITED),
    "skipped and vulnerable": ({"dependencies": [dep("numpy", "2.3.1"), dep("pandas", "3.0.0", CVE),
                                                 skipped("pyyaml", "6.0.2")]}, audit.NOT_AUDITED),
    "vulnerable": ({"dependencies": [dep("numpy", "2.3.1"), dep("pandas", "3.0.0", CVE),
                                     dep("PyYAML", "6.0.2")]}, audit.VULNERABLE),
    "clean": ({"dependencies": [dep("numpy", "2.3.1"), dep("pandas", "3.0.0"), dep("PyYAML", "6.0.2")]},
              audit.CLEAN),
}


@pytest.mark.parametrize("case", list(REPORTS))
def test_a_run_is_clean_only_when_every_pinned_package_was_audited(case: str, tmp_path: Path) -> None:
    report, expected = REPORTS[case]
    (tmp_path / "requirements.lock").write_text(LOCK, encoding="utf-8")
    (tmp_path / "report.json").write_text(json.dumps(report), encoding="utf-8")
    code = audit.main(["--lock", str(tmp_path / "requirements.lock"), "--judge", str(tmp_path / "report.json")])
    assert code == expected
    message = audit.judge(report, audit.pinned(tmp_path / "requirements.lock"))[1]
    if expected == audit.NOT_AUDITED:
        assert message.startswith("NOT AUDITED") and "NOT a clean result" in message
        assert "no known vulnerabilities" not in message.lower()
    if "vulnerable" in case:
        assert "VULNERABLE pandas==3.0.0: PYSEC-2099-1 (CVE-2099-0001); fixed in 3.0.1" in message


FAKE_PIP_AUDIT = """
import json, sys
args = sys.argv[1:]
out = args[args.index("--output") + 1]
names = [line.split("==")[0] for line in open(args[args.index("-r") + 1]) if "==" in line]
json.dump({"dependencies": [{"name": n, "skip_reason": "Dependency not found on PyPI"} for n in names], "fixes": []},
          open(out, "w"))
print("No known vulnerabilities found")
"""


def test_make_audit_fails_loudly_when_pip_audit_skipped_everything_and_said_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The run path: a pip-audit that exits 0 saying "No known vulnerabilities found" after skipping all."""
    (tmp_path / "requirements.lock").write_text(LOCK, encoding="utf-8")
    (tmp_path / "fake_pip_audit.py").write_text(FAKE_PIP_AUDIT, encoding="utf-8")
    command = shlex.join([sys.executable, str(tmp_path / "fake_pip_audit.py")])
    assert audit.main(["--lock", str(tmp_path / "requirements.lock"), "--pip-audit", command]) == audit.NOT_AUDITED
    err = capsys.readouterr().err
    assert "NOT AUDITED: 3 of 3 pinned packages were skipped" in err
    # And a pip-audit that cannot start, or writes no report, is not clean either.
    assert audit.main(["--lock", str(tmp_path / "requirements.lock"), "--pip-audit", "/nonexistent/pip-audit"]) == 3
    assert audit.main(["--lock", str(tmp_path / "requirements.lock"), "--pip-audit", "true"]) == audit.NOT_AUDITED
    assert "NOT AUDITED: pip-audit produced no report" in capsys.readouterr().err


def test_the_lock_is_read_whole() -> None:
    pins = audit.pinned(ROOT / "requirements.lock")
    assert len(pins) == sum(1 for line in (ROOT / "requirements.lock").read_text().splitlines() if "==" in line
                            and not line.lstrip().startswith("#"))
    assert pins["pandas"] and pins["pyyaml"] and "defusedcsv" in pins
