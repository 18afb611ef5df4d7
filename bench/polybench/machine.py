"""What a run ran on: CPU, memory, kernel, Go, grpc-go, Python and grpcio."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import re
import subprocess
from pathlib import Path
from typing import Any

from .paths import ROOT


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine(command: str) -> dict[str, Any]:
    """The machine section of the results; command is the one the report says made it."""
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    go = subprocess.run(["go", "version"], capture_output=True, text=True, check=False).stdout
    grpc_go = re.search(r"google.golang.org/grpc (v\S+)", (ROOT / "go.mod").read_text())
    import grpc

    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "kernel": platform.release(),
        "go": go.strip().removeprefix("go version "),
        "grpc_go": grpc_go.group(1) if grpc_go else None,
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command,
        "load_average_start": load_average(),
    }
