"""Grants and receipts check as the chat server's do: server/filegrant/testdata/vectors.json."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import replace
from pathlib import Path

import pytest

from pyservices.streaming.grants import (
    DOWNLOAD,
    RECEIPT,
    UPLOAD,
    BadSignature,
    Claims,
    Expired,
    Key,
    Malformed,
    WrongKind,
)

VECTORS = Path(__file__).parents[3] / "server" / "filegrant" / "testdata" / "vectors.json"
ERRORS = {"malformed": Malformed, "signature": BadSignature, "expired": Expired, "kind": WrongKind}


def _vectors() -> dict:
    return json.loads(VECTORS.read_text())


@pytest.mark.parametrize("case", _vectors()["cases"], ids=lambda c: c["name"])
def test_vectors_check_as_in_go(case: dict) -> None:
    vectors = _vectors()
    key = Key(vectors["key"].encode())
    if "want" in case:
        claims = key.verify(case["token"], case["kind"], now=vectors["now"])
        assert claims == Claims(**case["want"])
        if claims.name.isascii() and claims.room.isascii() and claims.user.isascii():
            # The same bytes as Go's: what this side signs checks there.
            assert key.sign(claims) == case["token"]
    else:
        with pytest.raises(ERRORS[case["error"]]):
            key.verify(case["token"], case["kind"], now=vectors["now"])


def test_signed_here_checks_here_and_expires() -> None:
    key = Key(b"k" * 32)
    claims = Claims("e", 160, 3, RECEIPT, "ü.txt", "r", "ab" * 32, 5, "Zoë")
    assert key.verify(key.sign(claims), RECEIPT, now=100) == claims
    with pytest.raises(Expired):
        key.verify(key.sign(claims), RECEIPT, now=160)
    with pytest.raises(WrongKind):
        key.verify(key.sign(claims), DOWNLOAD, now=100)
    with pytest.raises(BadSignature):
        Key(b"x" * 32).verify(key.sign(claims), RECEIPT, now=100)
    with pytest.raises(Malformed):
        key.verify(key.sign(replace(claims, name="a")) + "x=", RECEIPT, now=100)


def test_key_file(tmp_path: Path) -> None:
    short = tmp_path / "short"
    short.write_text("abc\n")
    with pytest.raises(ValueError, match="at least 32"):
        Key.from_file(short)
    good = tmp_path / "good"
    good.write_text("x" * 32 + "\n")
    token = Key.from_file(good).sign(Claims("e", 10, 1, DOWNLOAD, "a", "r", "", 0, "u"))
    assert Key(b"x" * 32).verify(token, DOWNLOAD, now=0).file == 1
    with pytest.raises(ValueError, match="cannot read"):
        Key.from_file(tmp_path / "missing")


def test_key_text_as_in_the_environment() -> None:
    secret = "an-environment-file-key-0123456789abcdef"
    key = Key.from_text(f"  {secret}\n")
    token = key.sign(Claims("e", 10, 1, DOWNLOAD, "a", "r", "", 0, "u"))
    assert Key(secret.encode()).verify(token, DOWNLOAD, now=0).file == 1
    # The vectors' key, which Go's tests sign with, read as the variable would hold it.
    vectors = _vectors()
    good = next(c for c in vectors["cases"] if "want" in c)
    assert Key.from_text(vectors["key"]).verify(good["token"], good["kind"], now=vectors["now"])
    with pytest.raises(ValueError, match="is 12 bytes; it needs at least 32"):
        Key.from_text(" short-secret ")
    with pytest.raises(ValueError, match="is 0 bytes"):
        Key.from_text("  ")


def test_a_key_never_shows_its_secret() -> None:
    key = Key(b"hidden-" * 5)
    assert "hidden" not in f"{key!r} {key} {[key]}"


def _payload(token: str) -> dict:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _signed(key: Key, payload: dict) -> str:
    data = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    signed = f"v1.{data}"
    mac = hmac.new(key._secret, signed.encode(), hashlib.sha256).digest()
    return f"{signed}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def test_the_account_and_quota_are_optional_claims() -> None:
    key = Key(b"k" * 32)
    plain = Claims("e", 160, 3, UPLOAD, "a.txt", "r", "", 5, "Zoë")
    # Without them, a grant reads as an older chat server's: no account, no quota.
    assert (plain.acct, plain.quota) == ("", 0)
    assert "acct" not in _payload(key.sign(plain)) and "quota" not in _payload(key.sign(plain))
    full = replace(plain, acct="a._MTAuMC4wLjc", quota=1 << 30)
    payload = _payload(key.sign(full))
    assert (payload["acct"], payload["quota"]) == ("a._MTAuMC4wLjc", 1 << 30)
    assert key.verify(key.sign(full), UPLOAD, now=100) == full


@pytest.mark.parametrize(
    "changes", [{"acct": 7}, {"quota": "1"}, {"quota": True}, {"quota": -1}, {"acct": None}]
)
def test_an_account_or_quota_of_the_wrong_kind_is_malformed(changes: dict) -> None:
    key = Key(b"k" * 32)
    payload = _payload(key.sign(Claims("e", 160, 3, UPLOAD, "a.txt", "r", "", 5, "u")))
    with pytest.raises(Malformed):
        key.verify(_signed(key, payload | changes), UPLOAD, now=100)
