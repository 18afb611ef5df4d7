"""Base images made on this machine, standing in for golang:1.26 and python:3.11-slim.

No image registry is reachable from the development and CI machines, only Debian's
package archive. So the tests make the base images the Dockerfile's build arguments
select from Debian's own packages: `debootstrap --variant=minbase bookworm` with python3
and python3-venv (Python 3.11, as in python:3.11-slim), imported with `podman import`;
the Go image is the same file system with this machine's Go toolchain added.

Both trust the CA certificates this machine trusts, so that pip and the go command
inside a build reach the package registries the way the host does. They are kept in the
tests' storage and made again only when missing (or when the host's Go changes).
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from deploy.tests.podman import COMMAND_TIMEOUT, Podman

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
PYTHON_IMAGE = f"localhost/polychat-test/python:{SUITE}"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# Left out of the file system: what a slim image leaves out too.
PRUNED = (
    "var/cache/apt/archives",
    "var/lib/apt/lists",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
)
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class BaseImages:
    """The build arguments that select the locally made base images."""

    go: str
    python: str

    def build_args(self) -> dict[str, str]:
        return {"GO_IMAGE": self.go, "PYTHON_IMAGE": self.python}


def host_go() -> tuple[str, Path]:
    """The host's Go version (e.g. go1.26.8) and its GOROOT."""
    version, goroot = subprocess.run(
        ["go", "env", "GOVERSION", "GOROOT"], capture_output=True, text=True, check=True
    ).stdout.split()
    return version, Path(goroot)


def ensure(podman: Podman) -> BaseImages:
    """Make whichever base image is missing; return the names of both."""
    version, goroot = host_go()
    go_image = f"localhost/polychat-test/golang:{version.removeprefix('go')}"
    missing = [name for name in (PYTHON_IMAGE, go_image) if not podman.image_exists(name)]
    if missing:
        rootfs = _rootfs_archive(podman.cache)
        if PYTHON_IMAGE in missing:
            _import(podman, rootfs, None, PYTHON_IMAGE)
        if go_image in missing:
            _import(podman, rootfs, goroot, go_image)
    return BaseImages(go=go_image, python=PYTHON_IMAGE)


def _rootfs_archive(cache: Path) -> Path:
    """A tar of Debian minbase with python3 and python3-venv, made once per cache folder."""
    archive = cache / f"debian-{SUITE}-python3.tar"
    if archive.exists():
        return archive
    work = cache / "rootfs"
    shutil.rmtree(work, ignore_errors=True)
    argv = [
        "debootstrap",
        "--variant=minbase",
        "--include=python3,python3-venv",
        SUITE,
        str(work),
        MIRROR,
    ]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(argv)} failed with exit status {result.returncode}\n"
            f"{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    for pruned in PRUNED:
        shutil.rmtree(work / pruned, ignore_errors=True)
    shutil.copyfile(HOST_CA_BUNDLE, work / HOST_CA_BUNDLE.relative_to("/"))
    partial = archive.with_suffix(".partial")
    with tarfile.open(partial, "w") as tar:
        tar.add(work, arcname=".")
    partial.rename(archive)
    shutil.rmtree(work)
    return archive


def _import(podman: Podman, rootfs: Path, goroot: Path | None, name: str) -> None:
    """`podman import` the file system (plus Go at /usr/local/go) as image `name`."""
    if goroot is None:
        # As in python:3.11-slim; pip in a build trusts the machine's CA bundle.
        changes = [
            f"ENV PATH={PATH}",
            f"ENV PIP_CERT={HOST_CA_BUNDLE}",
            'CMD ["python3"]',
        ]
        source = rootfs
    else:
        # As in golang:1.26: the toolchain at /usr/local/go, GOPATH /go.
        changes = [
            f"ENV PATH=/usr/local/go/bin:/go/bin:{PATH}",
            "ENV GOPATH=/go",
            "ENV GOTOOLCHAIN=local",
            "WORKDIR /go",
        ]
        source = rootfs.with_name(f"{name.rsplit('/', 1)[-1].replace(':', '-')}.tar")
        shutil.copyfile(rootfs, source)
        with tarfile.open(source, "a") as tar:
            tar.add(goroot, arcname="usr/local/go", filter=_without_tests)
    try:
        args = [arg for change in changes for arg in ("--change", change)]
        podman.run("import", *args, str(source), name)
    finally:
        if source != rootfs:
            source.unlink()


def _without_tests(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    """The Go toolchain without its own test suite, which no build reads."""
    return None if info.name == "usr/local/go/test" else info
