"""Where the repository is, and where a run writes."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
# Raw loadgen and ghz output, server logs and the built binaries.
OUT = ROOT / "bench" / "out"
# latest.json, latest.md and latency.png.
RESULTS = ROOT / "bench" / "results"
# The Python that runs the bench also runs pyservices, bench/pybaseline.py and protoc.
PY = sys.executable
