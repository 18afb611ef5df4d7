"""Who may write to the audit log, and how a writer is named in each record.

LoggerService stores what its writers tell it, so the log is only worth trusting if the
writers are known. A LogEvent is accepted from:

- a client with a verified certificate (mutual TLS), recorded as `cert:<common name>`. With
  `LOGGER_WRITERS` (`--logger-writers`, a comma-separated list of certificate names) only
  those names may write; without it, any certificate the client CA signed may;
- a client that sends the shared write key in the `logger-write-key` metadata, recorded as
  `key:<name>`, where the name is what the writer sends in `logger-writer` (AuthService sends
  `auth`); the name is the key holder's word, the key is the proof.

Anything else is UNAUTHENTICATED (no credential, or a wrong key) or PERMISSION_DENIED (a
certificate that is not on the list).

The key is `LOGGER_WRITE_KEY`, read from the environment only (a flag would show it in `ps`)
by `python -m pyservices` at start and by the logger client. LoggerService accepts it and
AuthService's outbox sends it, both from `Settings.logger_write_key`, a setting of the whole
process. When it is not set, the process uses a random key of its own: services started
together (`python -m pyservices`, as `make run` does) share it, so AuthService's audit events
arrive with no set-up, while a process outside cannot write until the operator sets the same
`LOGGER_WRITE_KEY` on both sides (or uses mutual TLS).
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
from collections.abc import Collection, Mapping, Sequence

import grpc

WRITE_KEY_ENV = "LOGGER_WRITE_KEY"
WRITERS_ENV = "LOGGER_WRITERS"
KEY_METADATA = "logger-write-key"
NAME_METADATA = "logger-writer"
UNNAMED = "unnamed"

NAME_RE = re.compile(r"[A-Za-z0-9_.:@-]{1,64}")
MAX_CERT_NAME_CHARS = 128

_process_key: str | None = None


def process_write_key() -> str:
    """This process's own random write key, made on first use."""
    global _process_key  # one key per process, shared by the services in it
    if _process_key is None:
        _process_key = secrets.token_urlsafe(32)
    return _process_key


def configured_write_key(environ: Mapping[str, str] = os.environ) -> str | None:
    """LOGGER_WRITE_KEY, or None when it is unset or empty."""
    return environ.get(WRITE_KEY_ENV, "").strip() or None


def write_metadata(name: str, key: str) -> tuple[tuple[str, str], ...]:
    """The metadata a writer sends with LogEvent: the write key and its own name."""
    return ((KEY_METADATA, key), (NAME_METADATA, name))


def parse_writers(text: str) -> frozenset[str]:
    """A `LOGGER_WRITERS` value: certificate names separated by commas."""
    return frozenset(name.strip() for name in text.split(",") if name.strip())


class Refusal(Exception):
    """A LogEvent from a writer the logger does not know."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _first(values: Sequence[bytes] | None) -> str:
    if not values:
        return ""
    return values[0].decode("utf-8", errors="replace")[:MAX_CERT_NAME_CHARS]


def certificate_name(context: grpc.aio.ServicerContext) -> str:
    """The verified client certificate's common name (else its first SAN), or ''."""
    auth = context.auth_context() or {}
    return _first(auth.get("x509_common_name")) or _first(auth.get("x509_subject_alternative_name"))


class WriterCheck:
    """Decides who sent a LogEvent, or refuses it."""

    def __init__(self, key: str, allowed_certificates: Collection[str] = ()) -> None:
        self.key = key.encode()
        self.allowed = frozenset(allowed_certificates)

    def writer(self, certificate: str, metadata: Mapping[str, str]) -> str:
        """The writer's name for the record; Refusal if it is not a known writer."""
        if certificate and (not self.allowed or certificate in self.allowed):
            return f"cert:{certificate}"
        sent_key = metadata.get(KEY_METADATA)
        if sent_key is not None and hmac.compare_digest(sent_key.encode(), self.key):
            name = metadata.get(NAME_METADATA) or UNNAMED
            if not NAME_RE.fullmatch(name):
                raise Refusal(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"{NAME_METADATA} metadata must be 1-64 letters, digits or '_.:@-'",
                )
            return f"key:{name}"
        if certificate:
            raise Refusal(
                grpc.StatusCode.PERMISSION_DENIED,
                f"client certificate {certificate!r} may not write to the audit log:"
                f" it is not in {WRITERS_ENV}",
            )
        if sent_key is not None:
            raise Refusal(
                grpc.StatusCode.UNAUTHENTICATED,
                f"the write key in {KEY_METADATA} is not the logger's ({WRITE_KEY_ENV})",
            )
        raise Refusal(
            grpc.StatusCode.UNAUTHENTICATED,
            f"only known writers may log events: send the logger's write key ({WRITE_KEY_ENV})"
            f" in {KEY_METADATA} metadata, or a client certificate (mutual TLS)",
        )

    def check(self, context: grpc.aio.ServicerContext) -> str:
        metadata = {k: v for k, v in context.invocation_metadata() or () if isinstance(v, str)}
        return self.writer(certificate_name(context), metadata)
