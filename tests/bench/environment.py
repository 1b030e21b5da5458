"""The line every benchmark prints under its table: machine, Python, Redis version, date."""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "cpu"


def describe(redis_version: str) -> str:
    """One sentence naming where and when the figures were measured."""
    return (
        f"Machine: {platform.machine()}, {os.cpu_count()} cores ({cpu_model()}), Python "
        f"{platform.python_version()}; Redis {redis_version} on loopback; "
        f"{dt.date.today().isoformat()}."
    )
