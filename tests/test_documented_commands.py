"""The `go run FILE.go` commands the README and docs give build as written.

`go run client/main.go` compiles that one file, not its folder: a command whose package main
spreads over several files fails with "undefined: ..." for whoever follows the README, while
`go build ./client` (and every Go test) still passes.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GO_RUN_FILE = re.compile(r"go run ((?:[\w.-]+/)*[\w.-]+\.go)\b")


def documented_go_files() -> set[str]:
    texts = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    texts += sorted((REPO / "scripts").glob("*.sh"))
    return {m[1] for path in texts for m in GO_RUN_FILE.finditer(path.read_text())}


def test_every_documented_go_run_file_builds_alone(tmp_path: Path) -> None:
    files = documented_go_files()
    assert {"server/main.go", "client/main.go"} <= files
    for name in sorted(files):
        built = subprocess.run(
            ["go", "build", "-o", str(tmp_path / "bin"), name],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert built.returncode == 0, f"go run {name}: {built.stderr}"
