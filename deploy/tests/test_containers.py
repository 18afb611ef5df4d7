"""The container images and compose.yaml, built and run with podman (`make test-containers`).

The two images are built from deploy/Dockerfile by podman-compose, on base images made
here from Debian's packages (see baseimages.py), and compose.yaml starts the whole
system. The machines that run this have no bridge networking to offer, so a compose
override (written below) puts every container on the host's network, on free loopback
ports, and maps every service name to 127.0.0.1: the services still call each other
by name (chat -> auth, auth -> logger), as they do on a compose network.

Then every container must report SERVING through its own health check (grpc_health_probe
inside the image), two clients on this machine sign in and chat through the chat server's
container, a file one shares in the room reaches the other byte for byte through
StreamingService's container, and what the services stored must outlive their containers.
Everything the tests started is taken down at the end, also when a step fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from polychat.logger.v1 import logger_pb2, logger_pb2_grpc

from deploy.tests import baseimages
from deploy.tests.podman import REPO, Podman, cache_dir, missing_tools
from pykit.testing.ports import free_port
from pyservices.registry import SPECS
from tests.interop.harness import Proc

# Building the images from cold caches takes minutes; every test includes the fixture's
# set-up in its time.
pytestmark = pytest.mark.timeout(3600)

PROJECT = "polychat-test"
PROJECT_LABEL = f"io.podman.compose.project={PROJECT}"
SERVICE_LABEL = "com.docker.compose.service"
SERVICES = ("chat", "file", "random", "auth", "logger", "streaming", "user")
# The profile "cluster": a NATS cluster and the chat nodes on it.
NATS = ("nats-1", "nats-2", "nats-3")
CHAT_NODES = ("chat-1", "chat-2", "chat-3")
CLUSTER = NATS + CHAT_NODES
SERVICES_IMAGE = "polychat/services"
CHAT_IMAGE = "polychat/chat-server"
NATS_IMAGE = "polychat/nats"
# A service is up well within this; a container that exits fails at once.
HEALTHY_WITHIN = 180.0
CLIENT_TIMEOUT = 30.0
# More than one of the 1 MiB chunks StreamingService sends a download in.
SHARED_FILE_BYTES = 2 * 1024 * 1024 + 17


@dataclass
class System:
    """The compose project as the tests run it."""

    podman: Podman
    compose_file: Path
    override_file: Path
    ports: dict[str, int]
    web_port: int

    def address(self, service: str) -> str:
        return f"127.0.0.1:{self.ports[service]}"

    def compose(self, *args: str, cluster: bool = False) -> subprocess.CompletedProcess[str]:
        """Run `podman-compose ARGS` on compose.yaml and the host-network override.

        With `cluster`, the profile "cluster" is on: its services can be named and are
        taken down too.
        """
        argv = [
            str(Path(sys.executable).with_name("podman-compose")),
            *(["--profile", "cluster"] if cluster else []),
            "--project-name",
            PROJECT,
            "--file",
            str(self.compose_file),
            "--file",
            str(self.override_file),
            *args,
        ]
        return self.podman.command(argv)

    def containers(self) -> dict[str, str]:
        """Container name by compose service, for the containers of this project."""
        return {
            found["Labels"][SERVICE_LABEL]: found["Names"][0]
            for found in self.podman.containers(PROJECT_LABEL)
        }

    def logs(self) -> str:
        parts = []
        for service, name in sorted(self.containers().items()):
            result = self.podman.run("logs", "--tail", "40", name, check=False)
            parts.append(f"--- {service} ({name})\n{result.stdout}{result.stderr}")
        return "\n".join(parts)

    def wait_healthy(self, services: tuple[str, ...] = SERVICES) -> None:
        """Wait until every service's container passes its image's or compose's health check."""
        deadline = time.monotonic() + HEALTHY_WITHIN
        containers = self.containers()
        assert set(services) <= set(containers), containers
        for service, name in containers.items():
            if service not in services:
                continue
            while True:
                state = self.podman.run("inspect", "--format", "{{.State.Status}}", name)
                if state.stdout.strip() != "running":
                    raise AssertionError(
                        f"the {service} container is {state.stdout.strip()}\n{self.logs()}"
                    )
                check = self.podman.run("healthcheck", "run", name, check=False)
                if check.returncode == 0:
                    break
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"the {service} container is not healthy within {HEALTHY_WITHIN:g}s: "
                        f"{check.stdout}{check.stderr}\n{self.logs()}"
                    )
                # The services are still starting: ask again shortly.
                time.sleep(0.5)

    def down(self, *, volumes: bool) -> None:
        """Stop and remove the project's containers (and volumes); fail if any is left."""
        # podman-compose never removes the anonymous volume the image's VOLUME gives a
        # service that mounts none (random); a new container would not get it back either.
        anonymous = [
            mount["Name"]
            for found in self.podman.containers(PROJECT_LABEL)
            for mount in self.podman.inspect_container(found["Id"])["Mounts"]
            if mount["Type"] == "volume" and not mount["Name"].startswith(f"{PROJECT}_")
        ]
        self.compose("down", "--timeout", "10", *(["--volumes"] if volumes else []), cluster=True)
        left = [found["Names"][0] for found in self.podman.containers(PROJECT_LABEL)]
        assert not left, f"containers left after down: {left}"
        if anonymous:
            self.podman.run("volume", "rm", "--force", *anonymous)
        if volumes:
            kept = self.podman.volumes(PROJECT_LABEL)
            assert not kept, f"volumes left after down --volumes: {kept}"

    def register(self, username: str, password: str) -> None:
        """Create an account with AuthService's client, run in the services image."""
        result = self.podman.run(
            "run",
            "--rm",
            "--interactive",
            "--no-healthcheck",
            "--network",
            "host",
            *host_aliases(),
            SERVICES_IMAGE,
            *("python", "-m", "pyservices.auth.client", "register"),
            *("--server", f"auth:{self.ports['auth']}", username),
            input=password + "\n",
        )
        assert f"({username})" in result.stdout, result.stdout

    def audit_details(self, event_type: str) -> list[str]:
        with grpc.insecure_channel(self.address("logger")) as channel:
            reply = logger_pb2_grpc.LoggerServiceStub(channel).QueryLogs(
                logger_pb2.QueryLogsRequest(event_type=event_type, limit=100), timeout=15
            )
        return [entry.details for entry in reply.entries]


def host_aliases() -> list[str]:
    """--add-host for every service name: on the host network they all are 127.0.0.1."""
    return [arg for name in SERVICES for arg in ("--add-host", f"{name}:127.0.0.1")]


def host_network_override(ports: dict[str, int], web_port: int, build_args: dict[str, str]) -> dict:
    """compose.yaml's services on the host network, each on a free loopback port.

    `ports` has one for every service and chat node, and NAME-routes for each NATS node's
    cluster port.
    """
    services: dict[str, dict] = {}
    routes = ",".join(f"nats://{node}:{ports[node + '-routes']}" for node in NATS)
    nats_urls = ",".join(f"nats://{node}:{ports[node]}" for node in NATS)
    for name in SERVICES + CLUSTER:
        listen = f"127.0.0.1:{ports[name]}"
        metrics = f"127.0.0.1:{free_port()}"
        service: dict = {
            "network_mode": "host",
            "extra_hosts": [f"{other}:127.0.0.1" for other in SERVICES + CLUSTER],
            "build": {"args": build_args},
        }
        if name in NATS:
            # compose.yaml's command, on this node's own ports.
            service["command"] = [
                f"--name={name}", "--jetstream", "--store_dir=/data", "--cluster_name=polychat",
                "--addr=127.0.0.1", f"--port={ports[name]}",
                f"--cluster=nats://127.0.0.1:{ports[name + '-routes']}", f"--routes={routes}",
            ]  # fmt: skip
        elif name in CHAT_NODES:
            service["environment"] = {
                "CHAT_ADDR": listen,
                "CHAT_WEB_ADDR": f"127.0.0.1:{free_port()}",
                "CHAT_METRICS_ADDR": metrics,
                "CHAT_AUTH_SERVER": f"auth:{ports['auth']}",
                "CHAT_NATS_URL": nats_urls,
            }
            service["healthcheck"] = {
                "test": ["CMD", "/usr/local/bin/grpc_health_probe", f"-addr={listen}"]
            }
        elif name == "chat":
            service["environment"] = {
                "CHAT_ADDR": listen,
                "CHAT_WEB_ADDR": f"127.0.0.1:{web_port}",
                "CHAT_METRICS_ADDR": metrics,
                "CHAT_AUTH_SERVER": f"auth:{ports['auth']}",
            }
            # The image's own check dials the default port; scratch has no shell to read
            # CHAT_ADDR, so the port goes here, as compose.yaml would do for another port.
            service["healthcheck"] = {
                "test": ["CMD", "/usr/local/bin/grpc_health_probe", f"-addr={listen}"]
            }
        else:
            service["environment"] = {
                SPECS[name].env_var: listen,
                "SERVICES_METRICS_ADDR": metrics,
            }
            if name == "auth":
                service["environment"]["AUTH_LOGGER_SERVER"] = f"logger:{ports['logger']}"
        services[name] = service
    return {"services": services}


@contextmanager
def explained(system: System) -> Iterator[None]:
    """A failed check shows what the containers logged."""
    try:
        yield
    except AssertionError as err:
        raise AssertionError(f"{err}\n\ncontainer logs:\n{system.logs()}") from None


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    missing = missing_tools()
    if missing:
        pytest.fail(
            f"the container tests need {', '.join(missing)}: "
            "apt-get install podman runc debootstrap (and Go, see the README)"
        )
    if os.geteuid() != 0:
        pytest.fail("the container tests run podman as root (see docs/containers.md)")
    podman = Podman(cache_dir())
    # compose.yaml requires the key LoggerService and AuthService share, and the one the chat
    # servers and StreamingService share.
    podman.env["LOGGER_WRITE_KEY"] = secrets.token_hex(32)
    podman.env["CHAT_FILE_KEY"] = secrets.token_hex(32)
    base = baseimages.ensure(podman)
    ports = {name: free_port() for name in SERVICES + CLUSTER}
    ports |= {f"{node}-routes": free_port() for node in NATS}
    web_port = free_port()
    override_file = tmp_path_factory.mktemp("compose") / "compose.host-network.json"
    override = host_network_override(ports, web_port, base.build_args())
    override_file.write_text(json.dumps(override))
    system = System(
        podman=podman,
        compose_file=REPO / "compose.yaml",
        override_file=override_file,
        ports=ports,
        web_port=web_port,
    )
    # What an interrupted earlier run may have left.
    system.down(volumes=True)
    try:
        # One build per image: podman-compose builds an image once for every service
        # that names it, all at the same time.
        system.compose("build", "chat")
        system.compose("build", "file")
        # The images these builds replaced.
        podman.run("image", "prune", "--force")
        system.compose("up", "--detach")
        system.wait_healthy()
        yield system
    finally:
        system.down(volumes=True)


@pytest.fixture(scope="module")
def go_client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bin") / "chat-client"
    subprocess.run(["go", "build", "-o", str(out), "./client"], cwd=REPO, check=True)
    return out


@pytest.fixture
def clients() -> Iterator[list[Proc]]:
    """Client processes started by a test; killed if still running at its end."""
    started: list[Proc] = []
    yield started
    for proc in started:
        proc.stop()


def sign_in(clients: list[Proc], argv: list[str], name: str, password: str) -> Proc:
    """Start a chat client that signs in as `name`, and wait for its welcome."""
    proc = Proc(f"client {name}", argv, cwd=REPO)
    clients.append(proc)
    proc.send(password)
    proc.expect(rf"\*\*\* Welcome, {re.escape(name)}! You are in room general\.", timeout=30)
    return proc


def go_client_argv(system: System, go_client: Path, name: str, chat: str = "chat") -> list[str]:
    return [
        str(go_client),
        *("-login", "-auth-server", system.address("auth")),
        *("-streaming-server", system.address("streaming")),
        *(name, "general", system.address(chat)),
    ]


def py_client_argv(system: System, name: str, chat: str = "chat") -> list[str]:
    return [
        sys.executable,
        "pyclient/client.py",
        *("--login", "--auth-server", system.address("auth")),
        *("--streaming-server", system.address("streaming")),
        *(name, "general", system.address(chat)),
    ]


def password_of(name: str) -> str:
    return f"{name}'s long password"


def new_account_on_go_client(
    system: System, clients: list[Proc], go_client: Path, name: str, chat: str = "chat"
) -> Proc:
    """Register `name` with AuthService, then sign in as it with the Go client on `chat`."""
    system.register(name, password_of(name))
    argv = go_client_argv(system, go_client, name, chat)
    return sign_in(clients, argv, name, password_of(name))


def new_account_on_py_client(
    system: System, clients: list[Proc], name: str, chat: str = "chat"
) -> Proc:
    """Register `name` with AuthService, then sign in as it with the Python client on `chat`."""
    system.register(name, password_of(name))
    return sign_in(clients, py_client_argv(system, name, chat), name, password_of(name))


def share_and_get(sender: Proc, sender_name: str, getter: Proc, folder: Path) -> None:
    """`sender` shares a file in the room (/send), `getter` downloads it (/get): the same bytes.

    The chat server grants both transfers; the bytes go between the clients and
    StreamingService's container, which checks the grants with the same key.
    """
    original = folder / "shared.bin"
    original.write_bytes(os.urandom(SHARED_FILE_BYTES))
    digest = hashlib.sha256(original.read_bytes()).hexdigest()
    notice = rf"^{sender_name} shared shared\.bin \(2\.1 MB, sha256 {digest[:8]}…\) — /get (\d+)$"
    sender.send(f"/send {original}")
    sender.expect(notice, timeout=CLIENT_TIMEOUT)
    found = re.search(notice, getter.expect(notice, timeout=CLIENT_TIMEOUT))
    assert found is not None
    dest = folder / "downloads"
    dest.mkdir()
    getter.send(f"/get {found.group(1)} {dest}")
    saved = re.escape(str(dest / "shared.bin"))
    getter.expect(rf"\*\*\* Saved {saved} \(2\.1 MB, SHA-256 verified\)$", timeout=CLIENT_TIMEOUT)
    assert (dest / "shared.bin").read_bytes() == original.read_bytes()


def test_images_run_as_a_user_other_than_root(system: System) -> None:
    for image in (CHAT_IMAGE, SERVICES_IMAGE):
        config = system.podman.inspect_image(image)["Config"]
        assert config["User"] == "65532:65532", (image, config["User"])
        assert "/data" in config["Volumes"], (image, config)


def test_every_service_answers_its_health_check_from_the_host(system: System) -> None:
    # wait_healthy ran grpc_health_probe inside every container; this asks from outside,
    # for each gRPC service by its full name, through the port compose published.
    names = {"chat": ("chat.ChatService",)} | {n: SPECS[n].service_names for n in SPECS}
    with explained(system):
        for service in SERVICES:
            with grpc.insecure_channel(system.address(service)) as channel:
                stub = health_pb2_grpc.HealthStub(channel)
                for full_name in ("", *names[service]):
                    reply = stub.Check(health_pb2.HealthCheckRequest(service=full_name), timeout=15)
                    assert reply.status == health_pb2.HealthCheckResponse.SERVING, (
                        service,
                        full_name,
                    )


def test_the_chat_page_is_served_from_the_chat_server_container(system: System) -> None:
    # The page is built into the binary: the static image needs no other file for it.
    with explained(system):
        url = f"http://127.0.0.1:{system.web_port}/"
        with urllib.request.urlopen(url, timeout=15) as reply:
            assert reply.status == 200
            assert reply.headers.get_content_type() == "text/html"
            assert "<html" in reply.read().decode("utf-8", "replace").lower()


def test_clients_sign_in_and_chat_through_the_containers(
    system: System, go_client: Path, clients: list[Proc]
) -> None:
    with explained(system):
        alice = new_account_on_go_client(system, clients, go_client, "alice")
        # The demo account AuthService makes on its first start.
        bob = sign_in(clients, py_client_argv(system, "user1"), "user1", "password1")
        alice.expect(r">>> user1 joined the room$", timeout=CLIENT_TIMEOUT)
        alice.send("hello from the Go client")
        bob.expect(r"^\[alice\]: hello from the Go client$", timeout=CLIENT_TIMEOUT)
        bob.send("hello from the Python client")
        alice.expect(r"^\[user1\]: hello from the Python client$", timeout=CLIENT_TIMEOUT)
        alice.send("/quit")
        assert alice.wait(timeout=CLIENT_TIMEOUT) == 0
        bob.expect(r">>> alice left the room$", timeout=CLIENT_TIMEOUT)
        # AuthService, in its container, recorded both sign-ins with LoggerService in its
        # own, reaching it by the name `logger`; it hands events over after answering.
        deadline = time.monotonic() + CLIENT_TIMEOUT
        wanted = {"User 'alice' logged in", "User 'user1' logged in"}
        while not wanted <= set(system.audit_details("SESSION_STARTED")):
            assert time.monotonic() < deadline, system.audit_details("SESSION_STARTED")
            time.sleep(0.2)


def test_a_file_shared_in_a_room_arrives_byte_for_byte(
    system: System, go_client: Path, clients: list[Proc], tmp_path: Path
) -> None:
    with explained(system):
        erin = new_account_on_go_client(system, clients, go_client, "erin")
        fay = new_account_on_py_client(system, clients, "fay")
        erin.expect(r">>> fay joined the room$", timeout=CLIENT_TIMEOUT)
        share_and_get(erin, "erin", fay, tmp_path)


def test_stored_data_outlives_the_containers(
    system: System, go_client: Path, clients: list[Proc]
) -> None:
    with explained(system):
        carol = new_account_on_go_client(system, clients, go_client, "carol")
        carol.send("kept in a volume")
        carol.send("/quit")
        assert carol.wait(timeout=CLIENT_TIMEOUT) == 0
        # New containers from the same images, on the same volumes.
        system.down(volumes=False)
        system.compose("up", "--detach")
        system.wait_healthy()
        # carol's account (auth.db) and the room's history (chat.db) are still there.
        again = sign_in(clients, py_client_argv(system, "carol"), "carol", password_of("carol"))
        again.expect(r"kept in a volume$", timeout=CLIENT_TIMEOUT)


def test_the_cluster_profile_chats_across_three_nodes(
    system: System, go_client: Path, clients: list[Proc], tmp_path: Path
) -> None:
    """compose.yaml's profile "cluster": 3 NATS nodes and 3 chat nodes on them, next to the rest."""
    system.compose("build", "nats-1", cluster=True)
    system.podman.run("image", "prune", "--force")
    config = system.podman.inspect_image(NATS_IMAGE)["Config"]
    assert config["User"] == "65532:65532", config["User"]
    system.compose("up", "--detach", *CLUSTER, cluster=True)
    with explained(system):
        system.wait_healthy(CHAT_NODES)
        first, last = CHAT_NODES[0], CHAT_NODES[-1]
        dan = new_account_on_go_client(system, clients, go_client, "dan", first)
        pia = sign_in(clients, py_client_argv(system, "user1", last), "user1", "password1")
        dan.expect(r">>> user1 joined the room$", timeout=CLIENT_TIMEOUT)
        dan.send(f"hello from {first}")
        pia.expect(rf"^\[dan\]: hello from {first}$", timeout=CLIENT_TIMEOUT)
        pia.send(f"hello from {last}")
        dan.expect(rf"^\[user1\]: hello from {last}$", timeout=CLIENT_TIMEOUT)
        # A file offered on one node and asked for on another: every node has the key.
        share_and_get(dan, "dan", pia, tmp_path)
        # The room's stream is kept on all three NATS nodes.
        started = system.podman.run("logs", system.containers()[first])
        logs = started.stdout + started.stderr
        assert re.search(r'msg="chat node of a cluster" .*replicas=3', logs), logs[-2000:]
