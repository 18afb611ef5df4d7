"""Our copy of gRPC's interop protos matches what grpc-go's reference peers are built from.

The reference client and server carry their own generated code; ours is generated from
proto/polychat/grpc_testing/. Only the file paths differ (so that the Python package is
polychat.grpc_testing): every message, field name, number and type, enum and service must
be the same, or a peer would misread the other on the wire.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from google.protobuf import descriptor_pb2
from polychat.grpc_testing import empty_pb2, messages_pb2, test_pb2

REPO = Path(__file__).resolve().parents[2]
OUR_PREFIX = "polychat/grpc_testing/"
REFERENCE_PREFIX = "grpc/testing/"


def _reference() -> dict[str, descriptor_pb2.FileDescriptorProto]:
    out = subprocess.run(
        ["go", "run", "./tools/grpctestingref"], cwd=REPO, check=True, capture_output=True
    ).stdout
    files = descriptor_pb2.FileDescriptorSet.FromString(out).file
    return {f.name: f for f in files}


def _without_json_names(proto: descriptor_pb2.FileDescriptorProto) -> None:
    """Drop json_name: derived from the field name, filled in by Go's descriptors only."""

    def strip(messages: object) -> None:
        for message in messages:  # type: ignore[attr-defined]
            for field in message.field:
                field.ClearField("json_name")
            strip(message.nested_type)

    strip(proto.message_type)


def _ours(module: object) -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto()
    module.DESCRIPTOR.CopyToProto(proto)  # type: ignore[attr-defined]
    # Where the file lives is not on the wire; say it as the reference does.
    proto.name = proto.name.replace(OUR_PREFIX, REFERENCE_PREFIX)
    deps = [d.replace(OUR_PREFIX, REFERENCE_PREFIX) for d in proto.dependency]
    del proto.dependency[:]
    proto.dependency.extend(deps)
    return proto


def test_our_interop_protos_equal_the_reference() -> None:
    reference = _reference()
    for module in (empty_pb2, messages_pb2, test_pb2):
        ours = _ours(module)
        assert ours.name in reference, f"grpc-go has no {ours.name}"
        theirs = reference[ours.name]
        _without_json_names(ours)
        _without_json_names(theirs)
        assert ours.package == theirs.package == "grpc.testing"
        # Field by field first, for a readable failure; then the whole file.
        assert [m.name for m in ours.message_type] == [m.name for m in theirs.message_type]
        for mine, other in zip(ours.message_type, theirs.message_type, strict=True):
            assert [(f.name, f.number, f.type) for f in mine.field] == [
                (f.name, f.number, f.type) for f in other.field
            ], mine.name
        assert ours == theirs, ours.name
