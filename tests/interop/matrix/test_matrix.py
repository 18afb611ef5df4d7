"""How the matrix judges a cell and writes its report (the full run is `make interop-matrix`)."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.interop.matrix import report
from tests.interop.matrix.cells import Cell, Transport, combine, run_case
from tests.interop.matrix.chat import CLIENTS, STEPS
from tests.interop.matrix.outcomes import Note, Outcome, failure_reason
from tests.interop.matrix.peers import (
    CASES,
    KnownFailure,
    Peer,
    go_peer,
    node_peer,
    not_applicable,
    python_peer,
)

REPO = Path(__file__).resolve().parents[3]


# ---- reading a failed client's output ----------------------------------------------------


def test_reference_client_fatal_line_loses_its_log_prefix() -> None:
    stderr = (
        "2026/12/02 01:39:21 INFO: [core] something\n"
        "2026/12/02 01:39:21 FATAL: [interop] /TestService/EmptyCall RPC failed: "
        "rpc error: code = Unavailable desc = connection refused\n"
    )
    assert failure_reason(stderr, "", 1) == (
        "/TestService/EmptyCall RPC failed: rpc error: code = Unavailable desc = connection refused"
    )


def test_our_client_fail_line_loses_its_prefix() -> None:
    reason = failure_reason("FAIL large_unary: UnaryCall: payload of 3 bytes, want 4\n", "", 1)
    assert reason == "UnaryCall: payload of 3 bytes, want 4"


def test_a_client_killed_at_its_timeout_says_so() -> None:
    assert failure_reason("", "", None) == "timed out (last output: no output)"


def test_a_silent_failure_gives_its_status() -> None:
    assert failure_reason("", "\n", 3) == "exited with status 3 and no output"


def test_a_long_reason_is_one_short_line() -> None:
    reason = failure_reason("FAIL x: " + "word " * 200 + "\n", "", 1)
    assert "\n" not in reason and len(reason) <= 240 and reason.endswith("…")


# ---- what applies -------------------------------------------------------------------------


def test_the_servers_missing_feature_is_named_before_the_clients() -> None:
    go, py = go_peer(Path("/ref"), "v1.85.0"), python_peer("1.85.1")
    limit = not_applicable(py, go, "server_compressed_unary")
    assert limit is not None and "grpc-go" in limit.reason
    assert (
        not_applicable(go, py, "client_compressed_unary")
        == py.server_lacks["client_compressed_unary"]
    )
    assert not_applicable(py, py, "server_compressed_unary") is None
    assert not_applicable(go, go, "large_unary") is None


def test_every_limit_has_an_upstream_link() -> None:
    for peer in (go_peer(Path("/ref"), "v1.85.0"), python_peer("1.85.1"), node_peer("1.14.7")):
        notes = [*peer.client_lacks.values(), *peer.server_lacks.values()]
        notes += [k.note for known in peer.client_known.values() for k in known]
        assert notes
        for note in notes:
            assert note.link.startswith("https://github.com/grpc/"), note


def test_peers_start_alike() -> None:
    go, py = go_peer(Path("/ref"), "v1.85.0"), python_peer("1.85.1")
    go_args = go.client_argv(1234, "ping_pong", Path("/ca.pem"))
    py_args = py.client_argv(1234, "ping_pong", Path("/ca.pem"))
    js_args = node_peer("1.14.7").client_argv(1234, "ping_pong", Path("/ca.pem"))
    assert go_args[0] == "/ref/client"
    assert go_args[1:] == py_args[4:] == js_args[2:]
    assert "--server_host_override=localhost" in go_args
    assert (
        go.server_argv(9, Path("c"), Path("k"))[1:] == py.server_argv(9, Path("c"), Path("k"))[4:]
    )


# ---- judging one run, with a stand-in client and server -----------------------------------


@dataclass
class _StandInProc:
    returncode: int | None = None
    lines: list[str] = field(default_factory=list)
    stderr_lines: list[str] = field(default_factory=list)


@dataclass
class _StandInServer:
    peer: Peer
    port: int = 1
    transport: Transport = field(default_factory=lambda: Transport("plaintext"))
    proc: _StandInProc = field(default_factory=_StandInProc)

    def exit_summary(self) -> str:
        return "status 9, last output: boom"


def _client(script: str, known: tuple[KnownFailure, ...] = ()) -> Peer:
    """A client peer that runs `script` (whatever arguments it is given)."""
    return Peer(
        key="stand-in",
        title="stand-in",
        client_command=(sys.executable, "-c", script),
        server_command=(),
        client_known={"empty_unary": known} if known else {},
    )


def _run(client: Peer, case: str = "empty_unary", timeout: float = 30) -> Outcome:
    server = _StandInServer(python_peer("1.85.1"))
    return run_case(client, server, case, timeout)  # type: ignore[arg-type]


def test_exit_0_is_a_pass() -> None:
    assert _run(_client("print('PASS')")).status == "pass"


def test_a_failure_keeps_its_reason() -> None:
    outcome = _run(_client("import sys; sys.exit('FAIL empty_unary: nope')"))
    assert outcome.status == "fail"
    assert outcome.notes == (Note("nope"),)


def test_a_recognised_failure_is_known_and_so_is_a_pass() -> None:
    known = (KnownFailure(r"INTERNAL", Note("upstream race", "https://example.invalid/1")),)
    hit = _run(_client("import sys; sys.exit('FAIL x: ended with INTERNAL')", known))
    assert hit.status == "known" and hit.notes == (known[0].note,)
    assert "ended with INTERNAL" in hit.detail
    passed = _run(_client("pass", known))
    assert passed.status == "known" and passed.detail == "passed"
    other = _run(_client("import sys; sys.exit('FAIL x: ended with UNKNOWN')", known))
    assert other.status == "fail"


def test_a_hung_client_is_killed_at_the_timeout() -> None:
    outcome = _run(_client("import time; print('started', flush=True); time.sleep(60)"), timeout=2)
    assert outcome.status == "fail"
    assert outcome.notes[0].reason == "timed out (last output: started)"


def test_a_case_the_server_lacks_is_not_run() -> None:
    outcome = _run(_client("raise SystemExit(1)"), case="client_compressed_unary")
    assert outcome.status == "n/a"


def test_a_server_that_died_is_named_in_the_failure() -> None:
    server = _StandInServer(python_peer("1.85.1"), proc=_StandInProc(returncode=9))
    outcome = run_case(
        _client("raise SystemExit('FAIL x: UNAVAILABLE')"), server, "empty_unary", 30
    )  # type: ignore[arg-type]
    assert (
        outcome.notes[0].reason
        == "UNAVAILABLE (the server had exited: status 9, last output: boom)"
    )


def test_repeated_runs_fail_when_any_failed() -> None:
    runs = [Outcome("pass"), Outcome("fail", (Note("x"),), detail="x"), Outcome("pass")]
    combined = combine(runs)
    assert combined.status == "fail" and combined.detail == "failed 1 of 3 runs: x"
    assert combine([Outcome("pass")] * 3).status == "pass"


# ---- the report ---------------------------------------------------------------------------


def _matrix(case_outcome: Outcome, chat_outcome: Outcome | None = None) -> report.Matrix:
    peers = [go_peer(Path("/ref"), "v1.85.0"), python_peer("1.85.1")]
    cells = {
        Cell(t, c.key, s.key, case): case_outcome if case == "large_unary" else Outcome("pass")
        for t in ("plaintext", "TLS")
        for c in peers
        for s in peers
        for case in CASES
    }
    chat = {
        t: {
            (client.key, step): chat_outcome or Outcome("pass")
            for client in CLIENTS
            for step in STEPS
        }
        for t in ("plaintext", "TLS")
    }
    return report.Matrix(peers, ["plaintext", "TLS"], cells, chat)


def test_pairings_put_the_control_last() -> None:
    assert _matrix(Outcome("pass")).pairings() == [
        ("go", "py"),
        ("py", "go"),
        ("py", "py"),
        ("go", "go"),
    ]


def test_with_two_of_ours_each_meets_the_other_both_ways() -> None:
    peers = [go_peer(Path("/ref"), "v1.85.0"), python_peer("1.85.1"), node_peer("1.14.7")]
    matrix = report.Matrix(peers, ["plaintext"], {}, {})
    assert matrix.pairings() == [
        ("go", "py"),
        ("go", "js"),
        ("py", "go"),
        ("js", "go"),
        ("py", "js"),
        ("js", "py"),
        ("py", "py"),
        ("js", "js"),
        ("go", "go"),
    ]


def test_notes_are_numbered_once_each_and_cells_point_at_them() -> None:
    limit = Note("no such feature", "https://github.com/grpc/grpc/issues/1")
    text = report.render(_matrix(Outcome("n/a", (limit,)), Outcome("fail", (Note("lost|it"),))))
    assert "| `large_unary` | n/a [1] | n/a [1] | n/a [1] | n/a [1] |" in text
    assert "| Go client | fail [2] | fail [2] | fail [2] | fail [2] |" in text
    assert "1. no such feature (https://github.com/grpc/grpc/issues/1)" in text
    assert "2. lost\\|it" in text  # a pipe would end the table cell
    assert text.count("1. no such feature") == 1


def test_the_report_does_not_change_with_timing() -> None:
    fast = _matrix(Outcome("pass", seconds=0.1, detail="passed"))
    slow = _matrix(Outcome("pass", seconds=9.0, detail="passed"))
    assert report.render(fast) == report.render(slow)


def test_summary_counts_each_pairing_and_the_chat() -> None:
    text = report.summary(_matrix(Outcome("known", (Note("r", "l"),))), "interop/results/m.md")
    assert "| go → py | 17 pass, 1 known | 17 pass, 1 known |" in text
    assert "| go → go (control) | 17 pass, 1 known | 17 pass, 1 known |" in text
    assert "| chat clients → Go chat server | 16 pass | 16 pass |" in text
    assert "[interop/results/m.md](interop/results/m.md)" in text


def test_closing_line_counts_what_this_run_saw() -> None:
    matrix = _matrix(Outcome("known", detail="failed as upstream describes: x"))
    # 4 known cells hit their issue in each transport: skipped, not passed, not failed.
    assert report.closing_line(matrix) == "matrix: 168 passed, 0 failed, 8 skipped"
    assert not matrix.failed
    assert _matrix(Outcome("fail", (Note("x"),))).failed


def test_readme_block_is_replaced_between_its_markers(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# T\n\n{report.README_START}\nold\n{report.README_END}\n\nrest\n")
    assert report.update_readme(readme, "new table")
    assert readme.read_text() == (
        f"# T\n\n{report.README_START}\nnew table\n{report.README_END}\n\nrest\n"
    )
    assert not report.update_readme(readme, "new table")


def test_a_readme_without_markers_is_an_error(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# T\n")
    with pytest.raises(ValueError, match="interop-matrix:start"):
        report.update_readme(readme, "x")


# ---- pins -----------------------------------------------------------------------------------


def test_reference_binaries_are_the_grpc_go_release_in_go_mod() -> None:
    go_mod = (REPO / "go.mod").read_text()
    makefile = (REPO / "Makefile").read_text()
    required = re.search(r"^\s*google\.golang\.org/grpc (v\S+)", go_mod, re.MULTILINE)
    pinned = re.search(r"^GRPC_GO_VERSION := (\S+)$", makefile, re.MULTILINE)
    assert required and pinned
    assert pinned[1] == required[1]
