"""File grants and receipts, as the chat server signs and checks them (server/filegrant).

A token is `v1.<payload>.<mac>`: payload the unpadded base64url of the
claims' JSON, mac the base64url HMAC-SHA-256 of `v1.<payload>` under the key
both services read, from a file or from the environment. The chat server grants uploads and
downloads; this service checks them and signs the receipt of an upload.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

UPLOAD = "upload"
DOWNLOAD = "download"
RECEIPT = "receipt"
LIFETIME_SECONDS = 60
MIN_KEY_BYTES = 32
_VERSION = "v1"


class GrantError(Exception):
    """The token grants nothing; the message says why, for a person."""


class Malformed(GrantError):
    pass


class BadSignature(GrantError):
    pass


class Expired(GrantError):
    pass


class WrongKind(GrantError):
    pass


@dataclass(frozen=True)
class Claims:
    """What a token says; the JSON names are the fields' names.

    `acct` and `quota` are an upload grant's: the chat server's account the
    file counts against (`u.…` a signed-in user, `a.…` a client address) and
    its file quota in bytes (0: none). They are optional, written only when
    set, as Go's `omitempty` does: a grant without them (an older chat
    server's) checks, and holds the upload to no per-account quota.
    """

    epoch: str
    exp: int
    file: int
    kind: str
    name: str
    room: str
    sha256: str
    size: int
    user: str
    acct: str = ""
    quota: int = 0


_FIELDS: dict[str, type] = {
    "epoch": str,
    "exp": int,
    "file": int,
    "kind": str,
    "name": str,
    "room": str,
    "sha256": str,
    "size": int,
    "user": str,
}
# Optional claims and the value a token without them means.
_OPTIONAL: dict[str, tuple[type, object]] = {"acct": (str, ""), "quota": (int, 0)}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or "=" in text:
        raise Malformed("not a valid file grant")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise Malformed("not a valid file grant") from None


class Key:
    """Signs and checks tokens under one secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_KEY_BYTES:
            raise ValueError(
                f"the file key is {len(secret)} bytes; it needs at least {MIN_KEY_BYTES}"
                " (e.g. `openssl rand -hex 32`)"
            )
        self._secret = bytes(secret)

    def __repr__(self) -> str:
        return "Key(secret)"  # never the secret, wherever a Key is printed or logged

    @classmethod
    def from_text(cls, text: str) -> Key:
        """The key `text` (an environment variable's value) without surrounding whitespace."""
        return cls(os.fsencode(text).strip())

    @classmethod
    def from_file(cls, path: Path) -> Key:
        """The key in `path`: its contents without surrounding whitespace."""
        try:
            data = path.read_bytes()
        except OSError as err:
            raise ValueError(f"cannot read the file key {path}: {err.strerror}") from None
        try:
            return cls(data.strip())
        except ValueError as err:
            raise ValueError(f"file key {path}: {err}") from None

    def _mac(self, signed: str) -> bytes:
        return hmac.new(self._secret, signed.encode("ascii"), hashlib.sha256).digest()

    def sign(self, claims: Claims) -> str:
        fields = asdict(claims)
        for field, (_, default) in _OPTIONAL.items():
            if fields[field] == default:
                del fields[field]  # as Go leaves out an empty `omitempty` claim
        data = json.dumps(fields, sort_keys=True, separators=(",", ":"))
        signed = f"{_VERSION}.{_b64(data.encode('utf-8'))}"
        return f"{signed}.{_b64(self._mac(signed))}"

    def verify(self, token: str, kind: str, now: float | None = None) -> Claims:
        """The claims of `token`, or GrantError saying why it grants nothing."""
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != _VERSION or not token.isascii():
            raise Malformed("not a valid file grant")
        mac = _unb64(parts[2])
        if not hmac.compare_digest(mac, self._mac(f"{parts[0]}.{parts[1]}")):
            raise BadSignature(
                "the file grant's signature does not match: it was altered or made with another key"
            )
        try:
            raw = json.loads(_unb64(parts[1]))
        except (ValueError, UnicodeDecodeError):
            raise Malformed("not a valid file grant") from None
        if not isinstance(raw, dict):
            raise Malformed("not a valid file grant")
        values = {}
        for field, typ in _FIELDS.items():
            value = raw.get(field)
            if not isinstance(value, typ) or isinstance(value, bool):
                raise Malformed("not a valid file grant")
            values[field] = value
        for field, (typ, default) in _OPTIONAL.items():
            value = raw.get(field, default)
            if not isinstance(value, typ) or isinstance(value, bool):
                raise Malformed("not a valid file grant")
            values[field] = value
        if values["quota"] < 0:
            raise Malformed("not a valid file grant")
        claims = Claims(**values)
        if claims.kind != kind:
            raise WrongKind(f"the file grant is of the wrong kind: {claims.kind!r}, not {kind!r}")
        if (time.time() if now is None else now) >= claims.exp:
            raise Expired("the file grant has expired; ask the chat server for a new one")
        return claims
