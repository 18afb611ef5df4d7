"""compose.yaml's profile "cluster", read as podman-compose reads it: a 3-node NATS cluster
with JetStream and three chat nodes on it, none of it started without the profile; and the
secrets every chat server and service needs, without which nothing starts.

These checks need no container engine; test_containers.py runs the profile.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.tests.podman import REPO

NATS = ("nats-1", "nats-2", "nats-3")
CHAT_NODES = ("chat-1", "chat-2", "chat-3")
CLUSTER = NATS + CHAT_NODES
KEYS = {
    "LOGGER_WRITE_KEY": "a-key-for-the-check",
    "CHAT_FILE_KEY": "a-file-key-for-the-check-0123456",
}


def compose_config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`podman-compose config` of compose.yaml with the profile on, in the environment `env`."""
    return subprocess.run(
        [
            str(Path(sys.executable).with_name("podman-compose")),
            *("--profile", "cluster", "--file", str(REPO / "compose.yaml"), "config"),
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def compose_file() -> dict[str, Any]:
    return yaml.safe_load((REPO / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def resolved() -> dict[str, Any]:
    """compose.yaml with the profile on, merged and interpolated by podman-compose."""
    result = compose_config({**os.environ, **KEYS})
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)["services"]


def flags(command: list[str]) -> dict[str, str]:
    """`--name=value` and bare `--flag` arguments as a mapping (bare ones map to "")."""
    found = {}
    for arg in command:
        name, _, value = arg.partition("=")
        found[name] = value
    return found


def test_the_cluster_services_start_only_with_the_profile() -> None:
    services = compose_file()["services"]
    assert set(CLUSTER) <= set(services)
    for name, service in services.items():
        expected = ["cluster"] if name in CLUSTER else None
        assert service.get("profiles") == expected, name
        if name not in CLUSTER:
            assert not set(service.get("depends_on", [])) & set(CLUSTER), name


def test_three_nats_nodes_with_jetstream_route_to_each_other(resolved: dict[str, Any]) -> None:
    routes = ",".join(f"nats://{node}:6222" for node in NATS)
    volumes = set()
    for node in NATS:
        service = resolved[node]
        assert service["image"] == "polychat/nats"
        assert service["build"]["target"] == "nats"
        args = flags(service["command"])
        assert args["--name"] == node
        assert "--jetstream" in args and args["--store_dir"] == "/data"
        assert args["--cluster_name"] == "polychat"
        assert args["--cluster"] == "nats://0.0.0.0:6222"
        assert args["--routes"] == routes
        (volume,) = service["volumes"]
        assert volume.endswith(":/data"), volume
        volumes.add(volume)
    assert len(volumes) == len(NATS), volumes


def test_three_chat_nodes_keep_everything_on_all_three(resolved: dict[str, Any]) -> None:
    urls = ",".join(f"nats://{node}:4222" for node in NATS)
    published = []
    for node in CHAT_NODES:
        service = resolved[node]
        assert service["image"] == "polychat/chat-server"
        env = service["environment"]
        assert env["CHAT_NATS_URL"] == urls
        assert str(env["CHAT_NATS_REPLICAS"]) == "3"
        assert env["CHAT_AUTH_SERVER"] == "auth:50054"
        assert set(NATS) | {"auth"} <= set(service["depends_on"])
        assert "volumes" not in service  # no store of its own: it is all in NATS
        published += [str(port).split(":")[0] for port in service["ports"]]
    # The profile's ports clash with none of the others.
    others = [
        str(port).split(":")[0]
        for name, service in resolved.items()
        if name not in CHAT_NODES
        for port in service.get("ports", [])
    ]
    assert len(set(published)) == len(published) == 6, published
    assert not set(published) & set(others)


def test_every_chat_server_and_streaming_service_get_the_file_key(
    resolved: dict[str, Any],
) -> None:
    key = KEYS["CHAT_FILE_KEY"]
    for name in ("chat", *CHAT_NODES):
        assert resolved[name]["environment"]["CHAT_FILE_KEY"] == key, name
    assert resolved["streaming"]["environment"]["STREAMING_FILE_KEY"] == key
    # Only they: a secret goes where it is needed.
    holders = {
        name
        for name, service in resolved.items()
        if key in (service.get("environment") or {}).values()
    }
    assert holders == {"chat", *CHAT_NODES, "streaming"}


@pytest.mark.parametrize("missing", sorted(KEYS))
def test_nothing_starts_without_a_key(missing: str) -> None:
    env = {name: value for name, value in {**os.environ, **KEYS}.items() if name != missing}
    result = compose_config(env)
    assert result.returncode != 0
    assert f"required variable {missing} is missing a value: set {missing} to" in result.stderr
