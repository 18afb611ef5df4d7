"""Podman as the container tests run it: as root, with runc, vfs storage and host networking.

Images and base images stay in a storage of the tests' own (under the cache folder), so a
second run on the same machine starts from what the first one built, and a machine's other
podman storage is never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CONTAINERS_CONF = HERE / "containers.conf"
# Where images are kept between runs; POLYCHAT_CONTAINERS_CACHE moves it.
CACHE_ENV = "POLYCHAT_CONTAINERS_CACHE"
# How long one podman command may take: a build of an image from cold caches is the longest.
COMMAND_TIMEOUT = 1200.0


def cache_dir() -> Path:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "polychat" / "containers"


def missing_tools() -> list[str]:
    """The programs the container tests need and this machine lacks."""
    wanted = ("podman", "runc", "debootstrap", "go")
    return [name for name in wanted if shutil.which(name) is None]


@dataclass
class Podman:
    """Runs podman (and podman-compose) with the tests' settings."""

    cache: Path
    env: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.cache.mkdir(parents=True, exist_ok=True)
        storage_conf = self.cache / "storage.conf"
        storage_conf.write_text(
            "[storage]\n"
            'driver = "vfs"\n'
            f'graphroot = "{self.cache / "storage"}"\n'
            f'runroot = "{self.cache / "run"}"\n'
        )
        self.env = {
            **os.environ,
            "CONTAINERS_CONF": str(CONTAINERS_CONF),
            "CONTAINERS_STORAGE_CONF": str(storage_conf),
            # The OCI image format has no HEALTHCHECK: build Docker-format images.
            "BUILDAH_FORMAT": "docker",
            # With vfs every cached step is a full copy of the image's files, far slower than
            # running the step again; the Dockerfile's cache mounts keep that fast.
            "BUILDAH_LAYERS": "false",
        }

    def run(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        timeout: float = COMMAND_TIMEOUT,
    ) -> subprocess.CompletedProcess[str]:
        """Run `podman ARGS`; with `check`, a failure raises with what podman printed."""
        return self.command(["podman", *args], input=input, check=check, timeout=timeout)

    def command(
        self,
        argv: list[str],
        *,
        input: str | None = None,
        check: bool = True,
        timeout: float = COMMAND_TIMEOUT,
    ) -> subprocess.CompletedProcess[str]:
        """Run `argv` (podman, podman-compose, podman import ...) with the tests' settings."""
        result = subprocess.run(
            argv,
            env=self.env,
            cwd=REPO,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(argv)} failed with exit status {result.returncode}\n"
                f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
            )
        return result

    def image_exists(self, name: str) -> bool:
        return self.run("image", "exists", name, check=False).returncode == 0

    def inspect_image(self, name: str) -> dict[str, Any]:
        return json.loads(self.run("image", "inspect", name).stdout)[0]

    def inspect_container(self, name: str) -> dict[str, Any]:
        return json.loads(self.run("container", "inspect", name).stdout)[0]

    def containers(self, label: str) -> list[dict[str, Any]]:
        """Every container, running or not, that carries `label` (KEY=VALUE)."""
        out = self.run("ps", "--all", "--filter", f"label={label}", "--format", "json").stdout
        return json.loads(out or "[]")

    def volumes(self, label: str) -> list[str]:
        out = self.run("volume", "ls", "--filter", f"label={label}", "--format", "json").stdout
        return [volume["Name"] for volume in json.loads(out or "[]")]
