"""Who meets whom in the interop matrix, and what each peer cannot do (with the upstream why).

A peer is one implementation of gRPC's interop client and server: grpc-go's reference
binaries (`go`), Polychat's Python ones (`py`, `python -m pyinterop`) or its Node.js ones
(`js`, `jsinterop/` on @grpc/grpc-js). Every client runs
every case against every server; a cell is not applicable when the server lacks the feature
the case needs or the client lacks the case, and a known upstream issue lets a case fail in
one recognised way without failing the run.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tests.interop.matrix.outcomes import Note

# The cases of gRPC's interop test descriptions that two peers on one machine can run: the
# rest need Google Cloud credentials, a caching proxy, xDS, ORCA or a soak budget.
CASES = (
    "empty_unary",
    "large_unary",
    "client_compressed_unary",
    "server_compressed_unary",
    "client_streaming",
    "client_compressed_streaming",
    "server_streaming",
    "server_compressed_streaming",
    "ping_pong",
    "empty_stream",
    "timeout_on_sleeping_server",
    "cancel_after_begin",
    "cancel_after_first_response",
    "status_code_and_message",
    "special_status_message",
    "custom_metadata",
    "unimplemented_method",
    "unimplemented_service",
)

CLIENT_COMPRESSION = ("client_compressed_unary", "client_compressed_streaming")
SERVER_COMPRESSION = ("server_compressed_unary", "server_compressed_streaming")

GO_COMPRESSION_ISSUE = "https://github.com/grpc/grpc-go/issues/1357"
GRPC_JS_SERVER_COMPRESSION_ISSUE = "https://github.com/grpc/grpc-node/issues/1823"
GRPCIO_SERVER_COMPRESSION_ISSUE = "https://github.com/grpc/grpc/issues/20932"
GRPCIO_CLIENT_COMPRESSION_NOTE = "https://github.com/grpc/grpc/pull/21809"
DEADLINE_RACE_ISSUE = "https://github.com/grpc/grpc/issues/15745"


@dataclass(frozen=True)
class KnownFailure:
    """A failure of one case that an upstream issue explains: recognised by its message."""

    pattern: str  # searched in the failure's one-line reason
    note: Note

    def matches(self, reason: str) -> bool:
        return re.search(self.pattern, reason) is not None


@dataclass(frozen=True)
class Peer:
    """One implementation: how to start its client and server, and what it lacks."""

    key: str
    title: str
    client_command: tuple[str, ...]
    server_command: tuple[str, ...]
    # Cases its client does not have, and features its server does not offer, per case.
    client_lacks: Mapping[str, Note] = field(default_factory=dict)
    server_lacks: Mapping[str, Note] = field(default_factory=dict)
    # Failures of its client that an upstream issue explains, per case.
    client_known: Mapping[str, tuple[KnownFailure, ...]] = field(default_factory=dict)

    def client_argv(self, port: int, case: str, ca: Path | None) -> list[str]:
        """The client's command line for `case` against 127.0.0.1:`port` (TLS with `ca`)."""
        argv = [
            *self.client_command,
            "--server_host=127.0.0.1",
            f"--server_port={port}",
            f"--test_case={case}",
        ]
        if ca is not None:
            # The server's certificate names localhost, not the address dialled: the
            # override is what the client checks the certificate against.
            argv += [
                "--use_tls=true",
                "--use_test_ca=true",
                f"--ca_file={ca}",
                "--server_host_override=localhost",
            ]
        return argv

    def server_argv(self, port: int, cert: Path | None, key: Path | None) -> list[str]:
        """The server's command line for `port` (TLS with `cert` and `key`)."""
        argv = [*self.server_command, f"--port={port}"]
        if cert is not None and key is not None:
            argv += ["--use_tls=true", f"--tls_cert_file={cert}", f"--tls_key_file={key}"]
        return argv


def _each(cases: tuple[str, ...], limit: Note) -> dict[str, Note]:
    return dict.fromkeys(cases, limit)


def go_peer(reference: Path, version: str) -> Peer:
    """grpc-go's reference interop client and server, installed into `reference`."""
    compression = Note(
        f"grpc-go {version}'s interop client and server have no compression cases "
        "(neither CompressedRequest nor CompressedResponse)",
        GO_COMPRESSION_ISSUE,
    )
    # DoCancelAfterBegin cancels, then half-closes: CloseSend writes END_STREAM without
    # looking at the context, whose cancellation another goroutine acts on. A server that
    # answers the half-closed call before that goroutine runs gets its OK read as the result.
    cancel_race = (
        KnownFailure(
            r"CloseAndRecv\(\) got error code 0, want 1",
            Note(
                f"grpc-go {version}'s client half-closes a cancelled call, and reads the "
                "server's answer to it when that comes before its own cancellation takes effect",
                f"https://github.com/grpc/grpc-go/blob/{version}/interop/test_utils.go",
            ),
        ),
    )
    return Peer(
        key="go",
        title=f"grpc-go {version} reference interop client and server",
        client_command=(str(reference / "client"),),
        server_command=(str(reference / "server"),),
        client_lacks=_each(CLIENT_COMPRESSION + SERVER_COMPRESSION, compression),
        server_lacks=_each(CLIENT_COMPRESSION + SERVER_COMPRESSION, compression),
        client_known={"cancel_after_begin": cancel_race},
    )


def python_peer(grpcio_version: str) -> Peer:
    """Polychat's Python interop client and server (`python -m pyinterop`)."""
    server_cannot_tell = Note(
        "a grpcio server cannot tell whether a request arrived compressed "
        "(CompressedRequest): grpcio exposes neither the message flag nor grpc-encoding",
        GRPCIO_SERVER_COMPRESSION_ISSUE,
    )
    client_cannot = Note(
        "a grpcio client cannot clear compression for one message of a stream, and no "
        "server here checks that requests arrived compressed",
        GRPCIO_CLIENT_COMPRESSION_NOTE,
    )
    # The case's deadline is 1 s on a 2 s sleep, so the write no longer races it; but a
    # grpc-go server ends a call past its deadline with RST_STREAM(CANCEL) and no status,
    # and when that arrives before grpcio's own deadline timer fires, grpcio says CANCELLED.
    deadline_race = (
        KnownFailure(
            r"CANCELLED.*RST_STREAM",
            Note(
                "a server's RST_STREAM(CANCEL) at the deadline can reach grpcio before its "
                "own deadline timer fires, which then reports CANCELLED",
                DEADLINE_RACE_ISSUE,
            ),
        ),
    )
    return Peer(
        key="py",
        title=f"Polychat's Python interop client and server (grpcio {grpcio_version})",
        client_command=(sys.executable, "-m", "pyinterop", "client"),
        server_command=(sys.executable, "-m", "pyinterop", "server"),
        client_lacks=_each(CLIENT_COMPRESSION, client_cannot),
        server_lacks=_each(CLIENT_COMPRESSION, server_cannot_tell),
        client_known={"timeout_on_sleeping_server": deadline_race},
    )


def node_peer(grpc_js_version: str) -> Peer:
    """Polychat's Node.js interop client and server on @grpc/grpc-js (`jsinterop/`)."""
    no_server_compression = Note(
        "a grpc-js server has no per-call response compression and cannot tell whether a "
        "request arrived compressed",
        GRPC_JS_SERVER_COMPRESSION_ISSUE,
    )
    no_client_compression = Note(
        "a grpc-js client cannot compress one message of a call and not another, and no "
        "server here checks that requests arrived compressed",
        GRPC_JS_SERVER_COMPRESSION_ISSUE,
    )
    return Peer(
        key="js",
        title=f"Polychat's Node.js interop client and server (@grpc/grpc-js {grpc_js_version})",
        client_command=("node", "jsinterop/client.js"),
        server_command=("node", "jsinterop/server.js"),
        client_lacks=_each(CLIENT_COMPRESSION, no_client_compression),
        server_lacks=_each(CLIENT_COMPRESSION + SERVER_COMPRESSION, no_server_compression),
    )


def not_applicable(client: Peer, server: Peer, case: str) -> Note | None:
    """Why `client` cannot run `case` against `server`, or None when it can.

    The server's missing feature is named first: it is the reason no client could pass.
    """
    return server.server_lacks.get(case) or client.client_lacks.get(case)


def known_failure(client: Peer, case: str, reason: str) -> KnownFailure | None:
    """The upstream issue that explains `client` failing `case` with `reason`, if any."""
    for known in client.client_known.get(case, ()):
        if known.matches(reason):
            return known
    return None
