"""Named crash points for the kill tests: with `REGULENS_FAULT=<point>` set, the process kills
itself (SIGKILL, as `kill -9` would) when it reaches that point, so a test can stop a command
between any two of its writes without relying on timing. Unset, a point does nothing."""

from __future__ import annotations

import os
import signal

ENV = "REGULENS_FAULT"


def fault_point(name: str) -> None:
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
