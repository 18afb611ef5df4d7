"""Several chat servers on a real 3-node NATS cluster, with real clients as processes.

The NATS servers are nats-server built from the release go.mod pins; the chat servers join
them with -nats-url and keep the chat's stream and buckets on all three (-nats-replicas 3).
Clients reach a chat server, or several through a multi-address `ipv4:` target, by gRPC's
own name resolution. Every wait ends on an event: a line printed, a message received, a
process ending, a server answering.
"""

from __future__ import annotations

import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from pykit.testing.ports import free_port
from tests.interop.conftest import REPO, ChatServer, Processes
from tests.interop.harness import Proc
from tests.interop.rawchat import HISTORY_END, HISTORY_START, SYSTEM, TEXT, RawMember, join

# How long a client may take to notice its server is gone and to be back on another: its
# reconnect backoff (1 s, then 1.6 s, ...) plus a 3-node JetStream cluster electing leaders.
BACK_TIMEOUT = 45.0


@pytest.fixture(scope="session")
def nats_server_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """nats-server, the release go.mod pins (as `make run-cluster` installs it)."""
    out = tmp_path_factory.mktemp("nats") / "nats-server"
    subprocess.run(
        ["go", "build", "-o", str(out), "github.com/nats-io/nats-server/v2"], cwd=REPO, check=True
    )
    return out


class NatsCluster:
    """Three nats-server processes with JetStream, routed to each other on loopback."""

    def __init__(self, procs: Processes, binary: Path, store: Path) -> None:
        self.procs, self.binary, self.store = procs, binary, store
        # Nodes are stopped and started again on their ports: ports no outgoing
        # connection can take meanwhile.
        self.ports = [free_port() for _ in range(3)]
        self.cluster_ports = [free_port() for _ in range(3)]
        self.nodes: list[Proc | None] = [None, None, None]
        for i in range(3):
            self.start(i)

    @property
    def urls(self) -> str:
        return ",".join(f"nats://127.0.0.1:{p}" for p in self.ports)

    def start(self, i: int) -> None:
        """Start node i on its ports and its store (kept across a stop)."""
        routes = ",".join(f"nats://127.0.0.1:{p}" for p in self.cluster_ports)
        cluster = f"nats://127.0.0.1:{self.cluster_ports[i]}"
        argv = [
            str(self.binary), "-n", f"nats-{i}", "-a", "127.0.0.1", "-p", str(self.ports[i]),
            "-js", "-sd", str(self.store / f"nats-{i}"),
            "--cluster_name", "polychat", "--cluster", cluster, "--routes", routes,
        ]  # fmt: skip
        self.nodes[i] = self.procs.start(f"nats-{i}", argv)

    def stop(self, i: int, sig: int = signal.SIGTERM) -> None:
        node = self.nodes[i]
        assert node is not None
        node.signal(sig)
        node.wait()
        self.nodes[i] = None


class Cluster:
    """A NATS cluster and three chat servers on it."""

    def __init__(self, procs: Processes, nats: NatsCluster) -> None:
        self.nats = nats
        flags = ["-nats-url", nats.urls, "-nats-replicas", "3", "-node-ttl", "2s"]
        self.chat = [procs.server(*flags, data_dir=procs.tmp_path / f"chat-{i}") for i in range(3)]

    def target(self, *servers: ChatServer) -> str:
        """The gRPC target naming servers, the first of them tried first."""
        return "ipv4:" + ",".join(s.address for s in servers)


@pytest.fixture
def cluster(procs: Processes, nats_server_bin: Path, tmp_path: Path) -> Iterator[Cluster]:
    yield Cluster(procs, NatsCluster(procs, nats_server_bin, tmp_path / "nats"))


def serving_again(server: ChatServer) -> None:
    """Wait until the chat server's health says SERVING (it says NOT_SERVING without NATS)."""
    with grpc.insecure_channel(server.address) as channel:
        updates = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service="chat.ChatService"), timeout=BACK_TIMEOUT
        )
        for update in updates:
            if update.status == health_pb2.HealthCheckResponse.SERVING:
                updates.cancel()
                return
    raise AssertionError(f"{server.address}: the health watch ended before SERVING")


def welcomed(proc: Proc, name: str) -> None:
    proc.expect(rf"\*\*\* Welcome, {re.escape(name)}! You are in room general\.$")


def raw_welcome(member: RawMember, name: str) -> RawMember:
    member.welcome = member.expect(SYSTEM, f"Welcome, {name}! You are in room general.")
    return member


def next_text(member: RawMember, timeout: float = BACK_TIMEOUT) -> tuple[str, str]:
    """The next text member receives (user, message), past any notices."""
    while (msg := member.next(timeout)).kind != TEXT:
        pass
    return msg.user, msg.message


def count(proc: Proc, line: str) -> int:
    return sum(got == line for got in proc.lines)


def go_and_python(procs: Processes, a: ChatServer, b: ChatServer) -> tuple[Proc, Proc]:
    """Alice with the Go client on a and Bob with the Python client on b, each in the other's
    sight."""
    alice = procs.chat_client("go", a, "Alice", "general")
    welcomed(alice, "Alice")
    bob = procs.chat_client("py", b, "Bob", "general")
    welcomed(bob, "Bob")
    alice.expect(r">>> Bob joined the room$")
    return alice, bob


def test_clients_on_different_nodes_share_rooms_names_and_history(
    procs: Processes, cluster: Cluster
) -> None:
    a, b, c = cluster.chat
    alice, bob = go_and_python(procs, a, b)

    bob.send("Hi Alice, from node B")
    alice.expect(r"^\[Bob\]: Hi Alice, from node B$")
    alice.send("Hi Bob, from node A")
    bob.expect(r"^\[Alice\]: Hi Bob, from node A$")

    # A member joining on the third node is shown what was said on the other two.
    carol = raw_welcome(join(c.address, "Carol"), "Carol")
    carol.expect(HISTORY_START)
    carol.expect_text("Bob", "Hi Alice, from node B")
    carol.expect_text("Alice", "Hi Bob, from node A")
    carol.expect(HISTORY_END)
    # Names are distinct across the nodes.
    raw_welcome(join(c.address, "alice"), "alice(2)")
    alice.expect(r">>> alice\(2\) joined the room$")


@pytest.mark.parametrize("kind", ["go", "py"])
def test_a_chat_node_killed_mid_conversation_loses_nothing(
    procs: Processes, cluster: Cluster, kind: str
) -> None:
    a, b, c = cluster.chat
    watcher = raw_welcome(join(c.address, "Watcher"), "Watcher")
    # Alice's client names all three servers: it is on A, the first that answers.
    alice = procs.chat_client(kind, cluster.target(a, b, c), "Alice", "general")
    welcomed(alice, "Alice")
    bob = procs.chat_client("go", b, "Bob", "general")
    welcomed(bob, "Bob")
    for i in range(3):
        alice.send(f"before {i}")
    for i in range(3):
        assert next_text(watcher) == ("Alice", f"before {i}")

    a.proc.signal(signal.SIGKILL)
    a.proc.wait()
    alice.send("typed while A was dying")
    bob.send("said while Alice moves")
    # Alice is back on B with her session: her name, and what she missed.
    alice.expect(r"\*\*\* Welcome back, Alice! You are in room general\.$", timeout=BACK_TIMEOUT)
    alice.expect(r"^\[Bob\]: said while Alice moves$")
    # The watcher, on C all along, gets both lines (in either order), then the next: none
    # was lost or shown twice.
    assert {next_text(watcher), next_text(watcher)} == {
        ("Alice", "typed while A was dying"),
        ("Bob", "said while Alice moves"),
    }
    alice.send("after")
    bob.expect(r"^\[Alice\]: after$")
    assert next_text(watcher) == ("Alice", "after")
    # Bob never saw her leave, and nobody got a line twice.
    assert not any("Alice left" in line for line in bob.lines)
    for i in range(3):
        assert count(bob, f"[Alice]: before {i}") == 1
    assert count(bob, "[Alice]: typed while A was dying") == 1
    assert count(alice, "[Bob]: said while Alice moves") == 1


def test_a_nats_node_killed_loses_nothing(procs: Processes, cluster: Cluster) -> None:
    a, b, c = cluster.chat
    alice, bob = go_and_python(procs, a, b)
    alice.send("one")
    bob.expect(r"^\[Alice\]: one$")

    cluster.nats.stop(0, signal.SIGKILL)
    for i in range(5):
        alice.send(f"with two NATS nodes {i}")
        bob.send(f"still here {i}")
    for i in range(5):
        bob.expect(rf"^\[Alice\]: with two NATS nodes {i}$", timeout=BACK_TIMEOUT)
        alice.expect(rf"^\[Bob\]: still here {i}$", timeout=BACK_TIMEOUT)
    # Everything is in the replicated history, once. (C may have been on the NATS node
    # killed: it says NOT_SERVING until it is on another.)
    serving_again(c)
    carol = raw_welcome(join(c.address, "Carol"), "Carol")
    carol.expect(HISTORY_START)
    seen = []
    while (msg := carol.next()).kind != HISTORY_END:
        seen.append((msg.user, msg.message))
    assert sorted(seen) == sorted(
        [("Alice", "one")]
        + [("Alice", f"with two NATS nodes {i}") for i in range(5)]
        + [("Bob", f"still here {i}") for i in range(5)]
    )


def test_chat_waits_for_nats_and_recovers_by_itself(procs: Processes, cluster: Cluster) -> None:
    a, b, _ = cluster.chat
    alice, bob = go_and_python(procs, a, b)

    for i in range(3):
        cluster.nats.stop(i)
    # Without NATS a chat server takes nobody in.
    late = join(a.address, "Late")
    err = late.wait_end()
    assert err is not None and err.code() == grpc.StatusCode.UNAVAILABLE
    assert "broker is unreachable" in (err.details() or "")
    bob.send("said without NATS")

    for i in range(3):
        cluster.nats.start(i)
    for server in (a, b):
        serving_again(server)
    # The line Bob typed goes out once NATS is back, once.
    alice.expect(r"^\[Bob\]: said without NATS$", timeout=BACK_TIMEOUT)
    alice.send("and we go on")
    bob.expect(r"^\[Alice\]: and we go on$", timeout=BACK_TIMEOUT)
    assert count(alice, "[Bob]: said without NATS") == 1


def test_make_installs_the_nats_server_release_go_mod_pins() -> None:
    go_mod = (REPO / "go.mod").read_text()
    makefile = (REPO / "Makefile").read_text()
    required = re.search(r"^\s*github\.com/nats-io/nats-server/v2 (v\S+)", go_mod, re.MULTILINE)
    pinned = re.search(r"^NATS_SERVER_VERSION := (\S+)$", makefile, re.MULTILINE)
    assert required and pinned
    assert pinned[1] == required[1]
