"""The matrix as Markdown: the full report (interop/results/) and the README's summary.

Cells read `pass`, `fail [n]`, `n/a [n]` or `known [n]`, where `[n]` points at a numbered
note under the tables (one line, and the upstream issue when there is one). Nothing in the
report depends on timing or on the machine, so a run with the same results writes the same
file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.interop.matrix.cells import Cell
from tests.interop.matrix.chat import CLIENTS, STEPS
from tests.interop.matrix.outcomes import Note, Outcome
from tests.interop.matrix.peers import CASES, Peer

README_START = "<!-- interop-matrix:start -->"
README_END = "<!-- interop-matrix:end -->"
DESCRIPTIONS = "https://github.com/grpc/grpc/blob/master/doc/interop-test-descriptions.md"


@dataclass(frozen=True)
class Matrix:
    """Everything one run found."""

    peers: Sequence[Peer]
    transports: Sequence[str]
    cells: Mapping[Cell, Outcome]
    chat: Mapping[str, Mapping[tuple[str, str], Outcome]]  # transport -> (client, step)
    problems: Sequence[str] = ()

    def pairings(self) -> list[tuple[str, str]]:
        """(client, server) pairs: the reference against each of ours both ways, ours against
        each other, each of ours against itself, and the reference against itself last.

        The first peer is the reference; the reference with itself is the control pairing,
        which says whether a failure is the reference's own.
        """
        reference, ours = self.peers[0].key, [p.key for p in self.peers[1:]]
        return [
            *((reference, o) for o in ours),
            *((o, reference) for o in ours),
            *((a, b) for a in ours for b in ours if a != b),
            *((o, o) for o in ours),
            (reference, reference),
        ]

    def label(self, client: str, server: str) -> str:
        """`client → server`, marked when it is the control pairing."""
        control = client == server == self.peers[0].key
        return f"{client} → {server}" + (" (control)" if control else "")

    def outcomes(self) -> list[Outcome]:
        chat = [o for results in self.chat.values() for o in results.values()]
        return [*self.cells.values(), *chat]

    @property
    def failed(self) -> bool:
        return bool(self.problems) or any(o.failed for o in self.outcomes())


class _Notes:
    """Numbered notes, one per distinct (reason, link), in order of first use."""

    def __init__(self) -> None:
        self.numbers: dict[Note, int] = {}

    def cell(self, outcome: Outcome) -> str:
        if outcome.status == "pass":
            return "pass"
        refs = ", ".join(str(self._number(note)) for note in outcome.notes)
        return f"{outcome.status} [{refs}]" if refs else outcome.status

    def _number(self, note: Note) -> int:
        return self.numbers.setdefault(note, len(self.numbers) + 1)

    def lines(self) -> list[str]:
        out = []
        for note, number in self.numbers.items():
            link = f" ({note.link})" if note.link else ""
            out.append(f"{number}. {_escape(note.reason)}{link}")
        return out


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def render(matrix: Matrix) -> str:
    """The full report."""
    notes = _Notes()
    pairings = matrix.pairings()
    out = [
        "# Interop matrix",
        "",
        f"gRPC's own interop test cases ([descriptions]({DESCRIPTIONS})), each client against "
        "each server (`client → server`), in plaintext and over TLS; then every chat client "
        "against the Go chat server. Written by `make interop-matrix`; "
        "[docs/interop.md](../../docs/interop.md) says how to read it.",
        "",
    ]
    out += [f"- `{p.key}`: {p.title}" for p in matrix.peers] + [""]
    for transport in matrix.transports:
        out += [f"## gRPC interop cases, {transport}", ""]
        header = ["case"] + [matrix.label(c, s) for c, s in pairings]
        out += [_row(header), _row(["---"] * len(header))]
        for case in CASES:
            row = [f"`{case}`"]
            for client, server in pairings:
                row.append(notes.cell(matrix.cells[Cell(transport, client, server, case)]))
            out.append(_row(row))
        out.append("")
    for transport, results in matrix.chat.items():
        out += [f"## Chat clients against the Go chat server, {transport}", ""]
        header = ["client", *STEPS]
        out += [_row(header), _row(["---"] * len(header))]
        for client in CLIENTS:
            out.append(_row([client.title, *(notes.cell(results[(client.key, s)]) for s in STEPS)]))
        out.append("")
    if matrix.problems:
        out += ["## Server problems", "", *(f"- {_escape(p)}" for p in matrix.problems), ""]
    if notes.numbers:
        out += ["## Notes", "", *notes.lines(), ""]
    return "\n".join(out)


def _counts(outcomes: Sequence[Outcome]) -> str:
    order = ("pass", "known", "n/a", "fail")
    found = {status: sum(1 for o in outcomes if o.status == status) for status in order}
    return ", ".join(f"{found[s]} {s}" for s in order if found[s]) or "none"


def summary(matrix: Matrix, report_path: str) -> str:
    """The README's short version: counts per pairing and transport."""
    header = ["client → server", *matrix.transports]
    out = [_row(header), _row(["---"] * len(header))]
    for client, server in matrix.pairings():
        row = [matrix.label(client, server)]
        for transport in matrix.transports:
            row.append(
                _counts(
                    [
                        o
                        for cell, o in matrix.cells.items()
                        if (cell.transport, cell.client, cell.server) == (transport, client, server)
                    ]
                )
            )
        out.append(_row(row))
    chat_row = ["chat clients → Go chat server"]
    for transport in matrix.transports:
        chat_row.append(_counts(list(matrix.chat.get(transport, {}).values())))
    out.append(_row(chat_row))
    out += [
        "",
        "`go` is grpc-go's reference interop client or server, `py` Polychat's Python one "
        "(`python -m pyinterop`), `js` its Node.js one on grpc-js (`jsinterop/`). "
        "Every case, note and upstream issue: "
        f"[{report_path}]({report_path}).",
    ]
    return "\n".join(out)


def update_readme(readme: Path, text: str) -> bool:
    """Put `text` between the README's interop-matrix markers; True when the file changed."""
    current = readme.read_text()
    pattern = re.compile(re.escape(README_START) + r".*?" + re.escape(README_END), re.DOTALL)
    if not pattern.search(current):
        raise ValueError(f"{readme} has no {README_START} ... {README_END} block")
    updated = pattern.sub(lambda _: f"{README_START}\n{text}\n{README_END}", current)
    if updated == current:
        return False
    readme.write_text(updated)
    return True


def closing_line(matrix: Matrix) -> str:
    """`matrix: N passed, N failed, N skipped`, counting what this run actually saw.

    A known cell counts as passed when it passed this time and as skipped when it hit its
    upstream issue; not applicable cells are skipped.
    """
    outcomes = matrix.outcomes()
    failed = sum(1 for o in outcomes if o.failed) + len(matrix.problems)
    passed = sum(
        1 for o in outcomes if o.status == "pass" or (o.status == "known" and o.detail == "passed")
    )
    skipped = len(outcomes) - passed - sum(1 for o in outcomes if o.failed)
    return f"matrix: {passed} passed, {failed} failed, {skipped} skipped"
