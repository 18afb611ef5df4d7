"""What one cell of the matrix came to: pass, fail, not applicable, or a known upstream issue."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Status = Literal["pass", "fail", "n/a", "known"]

# How much of a failure's message a cell keeps: one line, short enough for a table's note.
MAX_REASON = 240

# grpc-go's logger starts each line with a date and time, then the severity and component.
_GO_LOG_PREFIX = re.compile(
    r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:\.\d+)? (?:FATAL|ERROR): (?:\[\w+\] )?"
)
_PY_FAIL_PREFIX = re.compile(r"^FAIL \S+: ")


@dataclass(frozen=True)
class Note:
    """Why a cell is not a plain pass, and the upstream issue that explains it (if any)."""

    reason: str
    link: str = ""


@dataclass(frozen=True)
class Outcome:
    """A cell's result, the notes that explain it, and what this run saw (for the console).

    A "known" cell is one an upstream issue can make fail in a recognised way; it is shown
    as known whether or not this run hit the issue, so the saved matrix reads the same from
    run to run, and `detail` says what happened this time.
    """

    status: Status
    notes: tuple[Note, ...] = ()
    seconds: float = 0.0
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "fail"


def one_line(text: str) -> str:
    """`text` on one line, without runs of whitespace, cut to MAX_REASON characters."""
    line = " ".join(text.split())
    return line if len(line) <= MAX_REASON else line[: MAX_REASON - 1] + "…"


def failure_reason(stderr: str, stdout: str, returncode: int | None) -> str:
    """The one line that says why a client failed: its last line of output, prefixes off.

    Both the reference client (`logger.Fatalf`) and ours (`FAIL case: why`) end with that
    line; a client killed at its timeout (`returncode` None) or that printed nothing is
    described by how it ended.
    """
    lines = [line for line in (stderr + "\n" + stdout).splitlines() if line.strip()]
    if returncode is None:
        last = lines[-1] if lines else "no output"
        return one_line(f"timed out (last output: {last})")
    if not lines:
        return f"exited with status {returncode} and no output"
    last = _GO_LOG_PREFIX.sub("", lines[-1].strip())
    last = _PY_FAIL_PREFIX.sub("", last)
    return one_line(last)
