"""What a service tells the runner about itself."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import grpc

from pykit.config import Reader, Setting
from pykit.tls import ClientTLS, ServerTLS
from pyservices.logger.writers import process_write_key

Cleanup = Callable[[], Awaitable[None]]
# Where an option is read from: one setting, or settings of which at most one may be set.
OptionSource = Setting[Any] | tuple[Setting[Any], ...]


class Options(Protocol):
    """A service's own options: a frozen dataclass whose defaults are the documented ones.

    SETTINGS maps each field to the setting (flag and variable) it is read from, or to the
    settings that give it in different ways (a key file, the key itself), of which at most one
    may be set.
    """

    SETTINGS: ClassVar[Mapping[str, OptionSource]]

    def __init__(self, **values: Any) -> None: ...


OptionsT = TypeVar("OptionsT", bound=Options)

# Called once the server is built and before it starts: registers the servicer(s) with the
# service's options and returns an async cleanup to run after the server stopped (close
# databases, flush queues), or None.
Register = Callable[[grpc.aio.Server, "Settings", OptionsT], Awaitable[Cleanup | None]]


def read_options(kind: type[OptionsT], reader: Reader) -> OptionsT:
    """Options of type `kind`, each field from its setting; pykit.config.ConfigError if bad."""
    return kind(**{name: _read(reader, source) for name, source in kind.SETTINGS.items()})


def _read(reader: Reader, source: OptionSource) -> Any:
    return reader.get_one_of(source) if isinstance(source, tuple) else reader.get(source)


def settings_of(source: OptionSource) -> tuple[Setting[Any], ...]:
    """The settings an option is read from."""
    return source if isinstance(source, tuple) else (source,)


@dataclass(frozen=True)
class NoOptions:
    """The options of a service that has none of its own."""

    SETTINGS: ClassVar[Mapping[str, OptionSource]] = {}


@dataclass(frozen=True)
class Settings:
    """Runtime settings shared by every service in one process."""

    data_dir: Path
    # Addresses of the other services, for those that call each other
    # (AuthService calls LoggerService).
    addresses: dict[str, str]
    max_message_bytes: int
    # TLS for every server in the process (None: plaintext).
    server_tls: ServerTLS | None = None
    # How services reach each other (AuthService -> LoggerService): from POLYCHAT_TLS_CA,
    # POLYCHAT_TLS_CLIENT_CERT and POLYCHAT_TLS_CLIENT_KEY; plaintext by default.
    client_tls: ClientTLS = field(default_factory=ClientTLS)
    # Called once a database of the service is found removed or replaced (the
    # runner sets it for each service it starts: health turns NOT_SERVING).
    on_store_lost: Callable[[], None] | None = None
    # The key LoggerService takes events with and AuthService sends (LOGGER_WRITE_KEY, read at
    # start); by default the process's own random key, so services in one process agree.
    logger_write_key: str = field(default_factory=process_write_key)


@dataclass(frozen=True)
class ServiceSpec(Generic[OptionsT]):
    """One gRPC service the runner can start on a port of its own."""

    # Short name used on the command line: `python -m pyservices NAME`.
    name: str
    # Fully-qualified gRPC service names, for health and reflection.
    service_names: tuple[str, ...]
    default_port: int
    register: Register[OptionsT]
    # The service's own options (e.g. a size limit); read once when the process starts.
    options: type[OptionsT] = NoOptions  # type: ignore[assignment]

    @property
    def env_var(self) -> str:
        """The environment variable that overrides the listen address."""
        return f"{self.name.upper()}_ADDR"

    @property
    def default_address(self) -> str:
        return f"[::]:{self.default_port}"
