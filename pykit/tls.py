"""TLS settings for servers and clients: PEM files read and checked once, at start-up.

Server (the runner, every service in the process): `--tls-cert` and `--tls-key` turn TLS on,
`--tls-client-ca` also requires and verifies client certificates (mutual TLS).
Client (every Python client): `--ca` (TLS, trusting that CA), `--cert`/`--key` (a client
certificate, for mutual TLS), `--tls` (TLS, trusting the system's roots).

Files are checked with the standard library's `ssl` module before gRPC sees them, so a
missing file, a file that is not PEM, or a key that does not belong to its certificate is one
readable line (`TLSConfigError`) instead of a handshake failure later.
"""

from __future__ import annotations

import os
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import grpc

SERVER_CERT_ENV = "POLYCHAT_TLS_CERT"
SERVER_KEY_ENV = "POLYCHAT_TLS_KEY"
SERVER_CLIENT_CA_ENV = "POLYCHAT_TLS_CLIENT_CA"
CLIENT_CA_ENV = "POLYCHAT_TLS_CA"
CLIENT_CERT_ENV = "POLYCHAT_TLS_CLIENT_CERT"
CLIENT_KEY_ENV = "POLYCHAT_TLS_CLIENT_KEY"


class TLSConfigError(Exception):
    """A TLS file is missing, unreadable or unusable; the message is one line for a person."""


def _no_password() -> bytes:
    # An encrypted key would otherwise make `ssl` prompt on the terminal; gRPC cannot use one.
    return b""


def _read(path: Path, what: str, flag: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise TLSConfigError(f"cannot read {what} {path} ({flag}): {err.strerror}") from None
    if b"-----BEGIN " not in data:
        raise TLSConfigError(f"{what} {path} ({flag}) is not a PEM file")
    return data


def _check_ca(path: Path, flag: str) -> bytes:
    data = _read(path, "CA certificate", flag)
    try:
        ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, ValueError) as err:
        raise TLSConfigError(
            f"CA certificate {path} ({flag}) holds no usable certificate: {_ssl_reason(err)}"
        ) from None
    return data


def _check_pair(cert: Path, key: Path, flags: str) -> tuple[bytes, bytes]:
    cert_pem = _read(cert, "certificate", flags.split("/")[0])
    key_pem = _read(key, "private key", flags.split("/")[-1])
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(cert, key, password=_no_password)
    except (ssl.SSLError, ValueError) as err:
        raise TLSConfigError(
            f"certificate {cert} and key {key} ({flags}) cannot be used together: "
            f"{_ssl_reason(err)} (is the key unencrypted PEM, and the certificate's own?)"
        ) from None
    return cert_pem, key_pem


def _ssl_reason(err: Exception) -> str:
    reason = getattr(err, "reason", None)
    return str(reason or err).replace("_", " ").lower()


def _path(value: object) -> Path | None:
    if value is None or value == "":
        return None
    return Path(str(value)).expanduser()


@dataclass(frozen=True)
class ServerTLS:
    """A server's certificate chain and key, and (mutual TLS) the CA its clients must have."""

    cert_pem: bytes
    key_pem: bytes
    client_ca_pem: bytes | None = None

    @property
    def mutual(self) -> bool:
        return self.client_ca_pem is not None

    @classmethod
    def load(
        cls, cert: Path | str | None, key: Path | str | None, client_ca: Path | str | None
    ) -> ServerTLS | None:
        """None when TLS is off (neither cert nor key); TLSConfigError for a bad setup."""
        cert_path, key_path, ca_path = _path(cert), _path(key), _path(client_ca)
        if cert_path is None and key_path is None:
            if ca_path is not None:
                raise TLSConfigError(
                    "--tls-client-ca needs --tls-cert and --tls-key: mutual TLS is TLS first"
                )
            return None
        if cert_path is None or key_path is None:
            missing = "--tls-cert" if cert_path is None else "--tls-key"
            raise TLSConfigError(
                f"TLS needs both --tls-cert and --tls-key; {missing} "
                f"({SERVER_CERT_ENV if cert_path is None else SERVER_KEY_ENV}) is not set"
            )
        cert_pem, key_pem = _check_pair(cert_path, key_path, "--tls-cert/--tls-key")
        ca_pem = _check_ca(ca_path, "--tls-client-ca") if ca_path is not None else None
        return cls(cert_pem, key_pem, ca_pem)

    def credentials(self) -> grpc.ServerCredentials:
        return grpc.ssl_server_credentials(
            [(self.key_pem, self.cert_pem)],
            root_certificates=self.client_ca_pem,
            require_client_auth=self.client_ca_pem is not None,
        )


@dataclass(frozen=True)
class ClientTLS:
    """How a client reaches a server: plaintext (`enabled` False), TLS, or mutual TLS."""

    enabled: bool = False
    ca_pem: bytes | None = None  # None with TLS on: the system's roots
    cert_pem: bytes | None = None
    key_pem: bytes | None = None

    @classmethod
    def load(
        cls,
        ca: Path | str | None = None,
        cert: Path | str | None = None,
        key: Path | str | None = None,
        system_roots: bool = False,
    ) -> ClientTLS:
        """A CA or a client certificate turns TLS on; `system_roots` turns it on without a CA."""
        ca_path, cert_path, key_path = _path(ca), _path(cert), _path(key)
        if (cert_path is None) != (key_path is None):
            missing = "--cert" if cert_path is None else "--key"
            raise TLSConfigError(
                f"a client certificate needs both --cert and --key; {missing} "
                f"({CLIENT_CERT_ENV if cert_path is None else CLIENT_KEY_ENV}) is not set"
            )
        enabled = system_roots or ca_path is not None or cert_path is not None
        if not enabled:
            return cls()
        ca_pem = _check_ca(ca_path, "--ca") if ca_path is not None else None
        cert_pem = key_pem = None
        if cert_path is not None and key_path is not None:
            cert_pem, key_pem = _check_pair(cert_path, key_path, "--cert/--key")
        return cls(True, ca_pem, cert_pem, key_pem)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ClientTLS:
        """POLYCHAT_TLS_CA, POLYCHAT_TLS_CLIENT_CERT, POLYCHAT_TLS_CLIENT_KEY (unset: plaintext)."""
        env = os.environ if environ is None else environ
        return cls.load(env.get(CLIENT_CA_ENV), env.get(CLIENT_CERT_ENV), env.get(CLIENT_KEY_ENV))

    @property
    def mutual(self) -> bool:
        return self.cert_pem is not None

    def credentials(self) -> grpc.ChannelCredentials | None:
        if not self.enabled:
            return None
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca_pem, private_key=self.key_pem, certificate_chain=self.cert_pem
        )


_LAST_ERROR = re.compile(r"^failed to connect to all addresses; last error: (?:[A-Z_]+: )?")
_VERIFY = re.compile(r"CERTIFICATE_VERIFY_FAILED:?\s*([^:]*)")


def explain_unavailable(details: str, tls: bool) -> str:
    """Say in words why a connection failed when TLS is involved; other details unchanged.

    gRPC reports every connection failure as UNAVAILABLE with the transport's last error; for
    the usual TLS mistakes (wrong CA, TLS against a plaintext server, a server that wants a
    client certificate) that error is cryptic, so it gets a sentence a person can act on.
    """
    reason = _LAST_ERROR.sub("", details).strip()
    lowered = reason.lower()
    if "certificate_verify_failed" in lowered:
        match = _VERIFY.search(reason)
        why = match[1].strip() if match and match[1].strip() else "certificate verify failed"
        return (
            f"TLS handshake failed: the server's certificate is not trusted ({why}); "
            "is --ca (POLYCHAT_TLS_CA) the CA that signed it?"
        )
    if "wrong_version_number" in lowered:
        return (
            "TLS handshake failed: the server does not speak TLS "
            "(leave out --ca/--tls, or start the server with --tls-cert and --tls-key)"
        )
    if "peer name" in lowered and "not in peer certificate" in lowered:
        return f"TLS handshake failed: the certificate is not for this host name ({reason})"
    if "handshake" in lowered:
        return f"TLS handshake failed: {reason}"
    # A server that requires a client certificate may drop the handshake in a
    # way the client sees as a socket closed, a reset, or garbled TLS data.
    if any(s in lowered for s in ("socket closed", "connection reset", "tsi_data_corrupted")):
        if tls:
            return (
                "TLS handshake failed: the server closed the connection (does it require a "
                "client certificate signed by a CA it trusts? see --cert and --key)"
            )
        return (
            "the server closed the connection (does it require TLS? "
            "see --ca, --tls and POLYCHAT_TLS_CA)"
        )
    return details
