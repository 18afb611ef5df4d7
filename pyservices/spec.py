"""What a service tells the runner about itself."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from pykit.tls import ClientTLS, ServerTLS

# Called once the server is built and before it starts: registers the
# servicer(s) and returns an async cleanup to run after the server stopped
# (close databases, flush queues), or None.
Register = Callable[[grpc.aio.Server, "Settings"], Awaitable[Callable[[], Awaitable[None]] | None]]


@dataclass(frozen=True)
class Settings:
    """Runtime settings shared by every service in one process."""

    data_dir: Path
    # Addresses of the other services, for those that call each other
    # (AuthService calls LoggerService).
    addresses: dict[str, str]
    max_message_bytes: int
    # Service-specific command-line options (argparse dest -> value), as added
    # by each ServiceSpec.add_arguments; empty when a service is started in-process.
    options: Mapping[str, object] = field(default_factory=dict)
    # TLS for every server in the process (None: plaintext).
    server_tls: ServerTLS | None = None
    # How services reach each other (AuthService -> LoggerService): from POLYCHAT_TLS_CA,
    # POLYCHAT_TLS_CLIENT_CERT and POLYCHAT_TLS_CLIENT_KEY; plaintext by default.
    client_tls: ClientTLS = field(default_factory=ClientTLS)


@dataclass(frozen=True)
class ServiceSpec:
    """One gRPC service the runner can start on a port of its own."""

    # Short name used on the command line: `python -m pyservices NAME`.
    name: str
    # Fully-qualified gRPC service names, for health and reflection.
    service_names: tuple[str, ...]
    default_port: int
    register: Register
    # Adds the service's own flags (e.g. a size limit) to the runner's parser.
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None

    @property
    def env_var(self) -> str:
        """The environment variable that overrides the listen address."""
        return f"{self.name.upper()}_ADDR"

    @property
    def default_address(self) -> str:
        return f"[::]:{self.default_port}"
