#!/usr/bin/env python3
"""`make audit`: known vulnerabilities in requirements.lock, through pip-audit, judged strictly.

pip-audit prints "No known vulnerabilities found" and exits 0 even when it could not look a
single package up (each one is only "skipped", e.g. when PyPI's per-version JSON API or OSV cannot
be reached). This wrapper reads pip-audit's JSON report and calls a run clean only when every
pinned package of the lock was audited and none has a known vulnerability.

Exit codes: 0 every package audited, none vulnerable; 1 vulnerabilities found (listed);
3 not audited: the service could not be reached, pip-audit failed, or any package was skipped
(never reported as clean); 2 usage.

    python .ci/audit.py [--lock requirements.lock] [--service pypi|osv] [--pip-audit "CMD"]
    python .ci/audit.py --judge report.json [--lock requirements.lock]   # judge a saved report
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

CLEAN, VULNERABLE, USAGE, NOT_AUDITED = 0, 1, 2, 3
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;#]+)", re.MULTILINE)
DEFAULT_PIP_AUDIT = "pip-audit"


def canonical(name: object) -> str:
    return re.sub(r"[-_.]+", "-", str(name)).lower()


def pinned(lock: Path) -> dict[str, str]:
    """name (normalised) -> version of every `name==version` line of the lock."""
    return {canonical(m[1]): m[3] for m in PIN.finditer(lock.read_text(encoding="utf-8"))}


def judge(report: dict, expected: dict[str, str]) -> tuple[int, str]:
    """The exit code and the message for one pip-audit JSON report of the lock `expected`."""
    dependencies = report.get("dependencies")
    if not isinstance(dependencies, list):
        return NOT_AUDITED, "NOT AUDITED: pip-audit's report has no list of dependencies; it is NOT a clean result"
    skipped = [d for d in dependencies if d.get("skip_reason")]
    audited = {canonical(d.get("name", "")) for d in dependencies if not d.get("skip_reason")}
    missing = sorted(set(expected) - audited - {canonical(d.get("name", "")) for d in skipped})
    lines = []
    if skipped or missing or not audited:
        lines.append(
            f"NOT AUDITED: {len(skipped)} of {len(expected)} pinned packages were skipped and {len(missing)} are "
            f"missing from the report; only {len(audited)} were checked. This run says nothing about them: "
            "it is NOT a clean result (is the vulnerability service reachable from here?)"
        )
        lines += [f"  skipped {d.get('name')}: {d.get('skip_reason')}" for d in skipped[:10]]
        lines += [f"  ... and {len(skipped) - 10} more skipped"] if len(skipped) > 10 else []
        lines += [f"  missing from the report: {', '.join(missing[:10])}"] if missing else []
    vulnerable = [d for d in dependencies if d.get("vulns")]
    for d in vulnerable:
        for v in d["vulns"]:
            fixes = ", ".join(v.get("fix_versions") or []) or "no fixed version"
            aliases = ", ".join(v.get("aliases") or [])
            lines.append(f"VULNERABLE {d['name']}=={d.get('version')}: {v.get('id')}"
                         + (f" ({aliases})" if aliases else "") + f"; fixed in {fixes}")
    if skipped or missing or not audited:
        return NOT_AUDITED, "\n".join(lines)
    if vulnerable:
        count = sum(len(d["vulns"]) for d in vulnerable)
        return VULNERABLE, "\n".join([*lines, f"{count} known vulnerabilities in {len(vulnerable)} of "
                                      f"{len(audited)} audited packages"])
    return CLEAN, f"all {len(audited)} pinned packages audited; no known vulnerabilities"


def run_pip_audit(command: str, lock: Path, service: str) -> tuple[dict | None, str]:
    """pip-audit's JSON report of the lock (None if it wrote none) and its stderr."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        argv = [*shlex.split(command), "-r", str(lock), "--vulnerability-service", service, "--no-deps",
                "--disable-pip", "--format", "json", "--output", str(out), "--progress-spinner", "off"]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
        except (OSError, subprocess.TimeoutExpired) as error:
            return None, f"{argv[0]}: {error}"
        report = json.loads(out.read_text(encoding="utf-8")) if out.is_file() and out.stat().st_size else None
        return report, done.stderr.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--lock", type=Path, default=Path("requirements.lock"))
    parser.add_argument("--service", choices=("pypi", "osv"), default="pypi")
    parser.add_argument("--pip-audit", default=DEFAULT_PIP_AUDIT, help="the command that runs pip-audit")
    parser.add_argument("--judge", type=Path, help="judge this saved pip-audit JSON report instead of running it")
    args = parser.parse_args(argv)
    if not args.lock.is_file():
        print(f"audit: no lock file {args.lock}", file=sys.stderr)
        return USAGE
    expected = pinned(args.lock)
    if args.judge is not None:
        report: dict | None = json.loads(args.judge.read_text(encoding="utf-8"))
        stderr = ""
    else:
        report, stderr = run_pip_audit(args.pip_audit, args.lock, args.service)
    if report is None:
        print(f"NOT AUDITED: pip-audit produced no report ({args.service} service)\n{stderr[-2000:]}", file=sys.stderr)
        return NOT_AUDITED
    code, message = judge(report, expected)
    print(message, file=sys.stderr if code else sys.stdout)
    return code


if __name__ == "__main__":
    sys.exit(main())
