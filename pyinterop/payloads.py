"""Payloads as the interop cases define them: bodies of zeros of a given size."""

from __future__ import annotations

from polychat.grpc_testing import messages_pb2

COMPRESSABLE = messages_pb2.COMPRESSABLE


def zeros(size: int) -> messages_pb2.Payload:
    """A COMPRESSABLE payload whose body is `size` zero bytes."""
    return messages_pb2.Payload(type=COMPRESSABLE, body=bytes(size))


def describe(payload: messages_pb2.Payload) -> str:
    """How a payload differs from zeros, or "" when it is all zeros."""
    if payload.type != COMPRESSABLE:
        return f"payload type {payload.type}, want COMPRESSABLE"
    if payload.body.count(0) != len(payload.body):
        return "payload body is not all zeros"
    return ""
